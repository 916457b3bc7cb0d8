"""wait_replicated: equal ends end the wait; a transactional topic (whose copy never reaches
the source's end offsets: control records are not copied) also ends it when both ends stand
still, and only then."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafkadrill.runbooks.failover import wait_replicated, written_in_transactions
from kafkadrill.topology import Flow
from kafkadrill.workload.producer import ProducerSpec


class StepClock:
    """Each wait advances time by its length at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def wait(self, event: threading.Event, seconds: float) -> bool:
        self.now += seconds
        return event.is_set()

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Ends:
    """end_total per cluster, as a function of the clock."""

    clock: StepClock
    source: Callable[[float], int]
    target: Callable[[float], int]

    def end_total(self, bootstrap: str, topic: str) -> int:
        fn = self.source if bootstrap == "primary" else self.target
        return fn(self.clock.now)


@dataclass
class Rt:
    clients: Ends
    calls: list[Any] = field(default_factory=list)

    def bootstrap(self, cluster: str) -> str:
        return cluster


FLOW = Flow("primary", "dr")


def _run(source: Callable[[float], int], target: Callable[[float], int], **kw: Any) -> tuple:
    clock = StepClock()
    rt = Rt(Ends(clock, source, target))
    lag = wait_replicated(rt, FLOW, "orders", 60, clock, **kw)  # type: ignore[arg-type]
    return lag, clock.now


def test_equal_ends_end_the_wait_at_once() -> None:
    assert _run(lambda t: 100, lambda t: 100) == (0, 0.0)


def test_a_copy_catching_up_is_waited_for() -> None:
    lag, took = _run(lambda t: 100, lambda t: min(100, int(10 * t)))
    assert lag == 0 and took == 10.0


def test_without_still_for_a_constant_gap_waits_until_the_timeout() -> None:
    lag, took = _run(lambda t: 100, lambda t: 90)
    assert lag == 10 and took > 60


def test_still_ends_end_the_wait_for_a_transactional_topic() -> None:
    lag, took = _run(lambda t: 100, lambda t: 90, still_for=10.0)
    assert lag == 0 and took == 10.0


def test_a_moving_copy_is_never_taken_for_still() -> None:
    # The copy advances one record every 2 s and never catches the markers' gap.
    lag, took = _run(lambda t: 1000, lambda t: 500 + int(t // 2), still_for=10.0)
    assert lag > 0 and took > 60


def test_still_counts_from_the_last_change() -> None:
    lag, took = _run(lambda t: 100, lambda t: 90 if t >= 20 else int(4 * t), still_for=10.0)
    assert lag == 0 and took == 30.0


def test_transactional_topics_are_known_from_the_producers() -> None:
    plain = ProducerSpec(name="p0", cluster="primary", topic="orders", site="east")
    txn = ProducerSpec(name="p1", cluster="primary", topic="orders", site="east", txn_size=50)
    assert not written_in_transactions([plain], "orders")
    assert written_in_transactions([plain, txn], "orders")
    assert not written_in_transactions([txn], "payments")

    class Client:
        spec = txn

    assert written_in_transactions([Client()], "orders")
