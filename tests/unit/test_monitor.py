"""The replication-lag monitor thread never ends in a traceback (issue 19: one printed a raw
traceback after the history was closed)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from kafkadrill.drill import _monitor


class _Clock:
    """wait() returns False (keep going) `rounds` times, then True (stopped)."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds

    def wait(self, _event: Any, _interval: float) -> bool:
        self.rounds -= 1
        return self.rounds < 0


class _History:
    def __init__(self, closed: bool) -> None:
        self.closed = closed
        self.events: list[tuple[Any, dict[str, Any]]] = []

    def append(self, typ: Any, **fields: Any) -> None:
        if self.closed:
            raise AssertionError("appended to a closed history")
        self.events.append((typ, fields))


class _BrokenRuntime:
    def flows(self) -> list[Any]:
        raise ConnectionError("admin client gone")


def _drill(history: _History, rt: Any, rounds: int = 2) -> SimpleNamespace:
    return SimpleNamespace(
        clock=_Clock(rounds), stop_all=None, history=history, rt=rt, emit=lambda: None, plan=None
    )


def test_a_closed_history_stops_the_monitor_without_writing() -> None:
    history = _History(closed=True)
    _monitor(_drill(history, _BrokenRuntime()))  # type: ignore[arg-type]
    assert history.events == []


def test_a_sample_that_fails_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    history = _History(closed=False)
    with caplog.at_level(logging.WARNING, logger="kafkadrill.monitor"):
        _monitor(_drill(history, _BrokenRuntime()))  # type: ignore[arg-type]
    assert "admin client gone" in caplog.text
    assert history.events == []


class _Clients:
    def __init__(self, age: float | Exception | None) -> None:
        self.age = age
        self.asked: list[tuple[str, str]] = []

    def end_total(self, bootstrap: str, topic: str) -> int:
        if bootstrap == "primary" and isinstance(self.age, Exception):
            raise ConnectionError("primary is gone")
        return {"primary": 10, "dr": 7}[bootstrap]

    def newest_record_age(self, bootstrap: str, topic: str) -> float | None:
        self.asked.append((bootstrap, topic))
        if isinstance(self.age, Exception):
            raise self.age
        return self.age


class _Runtime:
    def __init__(self, clients: _Clients) -> None:
        from kafkadrill.topology import Flow

        self.clients = clients
        self._flow = Flow("primary", "dr")

    def flows(self) -> list[Any]:
        return [self._flow]

    def flow_alive(self, _flow: Any) -> bool:
        return True

    def bootstrap(self, cluster: str, from_site: str | None = None) -> str:
        return cluster


def _two_topics() -> SimpleNamespace:
    return SimpleNamespace(
        producers=[
            SimpleNamespace(topic=t, cluster="primary", txn_size=None)
            for t in ("orders", "payments")
        ]
    )


@pytest.mark.parametrize(
    ("age", "want"), [(1.23456, 1.235), (None, None), (RuntimeError("no such topic"), None)]
)
def test_heartbeat_age_rides_on_the_flows_first_probe(age: Any, want: float | None) -> None:
    from kafkadrill.drill import _lag_samples

    history, clients = _History(closed=False), _Clients(age)
    drill = SimpleNamespace(history=history, rt=_Runtime(clients), plan=_two_topics())
    _lag_samples(drill, heartbeats=True)  # type: ignore[arg-type]
    first, second = (fields for _typ, fields in history.events)
    assert clients.asked == [("dr", "primary.heartbeats")]  # once per flow, on its target
    assert first["topic"] == "orders" and first["heartbeat_age_s"] == want
    assert second["topic"] == "payments" and "heartbeat_age_s" not in second
    if isinstance(age, Exception):  # the source did not answer either: lag null, no raise
        assert first["lag"] is None
    else:
        assert (first["source_end"], first["target_end"], first["lag"]) == (10, 7, 3)
    _lag_samples(drill, heartbeats=False)  # type: ignore[arg-type]
    assert len(clients.asked) == 1 and all(
        "heartbeat_age_s" not in f for _t, f in history.events[2:]
    )


def test_the_monitor_reads_heartbeats_every_other_sample() -> None:
    history, clients = _History(closed=False), _Clients(2.0)
    drill = _drill(history, _Runtime(clients), rounds=5)
    drill.plan = _two_topics()
    _monitor(drill)  # type: ignore[arg-type]
    assert len(history.events) == 10 and len(clients.asked) == 3  # samples 0, 2, 4
