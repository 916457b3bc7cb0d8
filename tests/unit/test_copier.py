"""The copier without Kafka: its scenario key (defaults, rules, plan, the output topic in the
topology), the runtimes that refuse it, and one member's transaction loop and error
classification on stub clients (docs/howto/drill-transactions.md, "A copier")."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from kafkadrill.errors import ScenarioError, TopologyError
from kafkadrill.history import Ev
from kafkadrill.runtimes.external.plan import render_plan
from kafkadrill.runtimes.external.runtime import _prepare
from kafkadrill.runtimes.fake import FakeClients
from kafkadrill.scenario import Scenario, compile_plan
from kafkadrill.workload import txn_calls
from kafkadrill.workload.copier import Copier, CopierSpec, _Member

ROOT = Path(__file__).resolve().parents[2]


def scenario(copiers: list[dict[str, Any]], **workload: Any) -> Scenario:
    return Scenario.from_dict({"name": "x", "workload": {"copiers": copiers, **workload}})


def problem(copiers: list[dict[str, Any]], **workload: Any) -> str:
    with pytest.raises(ScenarioError) as e:
        scenario(copiers, **workload)
    return str(e.value)


# -- the scenario key ----------------------------------------------------------------------------


def test_defaults_resolve_to_the_workload_topic_and_the_producers_cluster() -> None:
    plan = compile_plan(scenario([{"group": "cp", "to_topic": "orders-copy", "count": 2}]))
    assert [(c.name, c.cluster, c.site, c.from_topic, c.to_topic) for c in plan.copiers] == [
        ("cp-0", "primary", "east", "orders", "orders-copy"),
        ("cp-1", "primary", "east", "orders", "orders-copy"),
    ]
    c = plan.copiers[0]
    assert (c.transaction_timeout_ms, c.max_batch) == (15000, 500)
    assert plan.derived_topics == ["orders-copy"]
    # Created on the copier's cluster as the input is (the runtime creates `topics`).
    topics = {t.name: t for t in plan.topology.cluster("primary").topics}
    assert (topics["orders-copy"].partitions, topics["orders-copy"].replication_factor) == (
        topics["orders"].partitions,
        topics["orders"].replication_factor,
    )
    assert topics["orders-copy"].config == topics["orders"].config
    assert not plan.topology.cluster("dr").topics


def test_plan_text_states_each_copier() -> None:
    plan = compile_plan(scenario([{"group": "cp", "to_topic": "orders-copy"}]))
    text = render_plan(plan, "local")
    assert "topic orders-copy on primary (3 partitions, rf 3)" in text
    assert "copier cp on primary: 1 member(s) copy orders (and its MM2 copies) to orders-copy " in (
        text
    )


def test_the_library_scenario_validates() -> None:
    from kafkadrill.scenario import load_scenario

    plan = compile_plan(load_scenario(ROOT / "scenarios" / "transactions-copier-leader-kill.yaml"))
    assert plan.derived_topics == ["orders-copy"]


@pytest.mark.parametrize(
    ("copier", "field", "says"),
    [
        ({"group": "cp", "to_topic": "orders"}, "to_topic", "workload topic 'orders'"),
        ({"group": "cp", "to_topic": "primary.orders"}, "to_topic", "replicated copy"),
        ({"group": "cp", "to_topic": "o2", "from_topic": "ordrs"}, "from_topic", "orders"),
        ({"group": "cp", "to_topic": "o2", "cluster": "west"}, "cluster", "unknown cluster"),
        ({"group": "cp", "to_topic": "o2", "site": "mars"}, "site", "unknown site"),
        ({"group": "billing", "to_topic": "o2"}, "group", "consumer group"),
    ],
)
def test_bad_copiers_are_refused_naming_the_field(
    copier: dict[str, Any], field: str, says: str
) -> None:
    text = problem([copier], consumers=[{"group": "billing"}])
    assert f"workload.copiers[0].{field}" in text and says in text, text


def test_output_read_by_a_consumer_group_or_a_second_copier_is_refused() -> None:
    text = problem(
        [{"group": "cp", "to_topic": "o2"}], consumers=[{"group": "all", "pattern": ".*"}]
    )
    assert "workload.copiers[0].to_topic" in text and "consumer group 'all'" in text
    text = problem([{"group": "a", "to_topic": "o2"}, {"group": "b", "to_topic": "o2"}])
    assert "written by another copier" in text
    text = problem([{"group": "a", "to_topic": "o2"}, {"group": "a", "to_topic": "o3"}])
    assert "workload.copiers[1].group" in text and "another copier" in text
    text = problem([{"group": "a", "to_topic": "o2"}, {"group": "b", "to_topic": "o3",
                                                        "from_topic": "o2"}])  # fmt: skip
    assert "workload.copiers[1].from_topic" in text and "a copier's output" in text


def test_the_fake_runtime_refuses_copiers() -> None:
    spec = CopierSpec("cp-0", "cp", "primary", "east", "orders", "orders-copy")
    with pytest.raises(TopologyError, match="does not model transactions"):
        FakeClients(None).copier(spec, None, None, "r", threading.Event())  # type: ignore[arg-type]


def test_the_external_runtime_refuses_copiers_before_anything_starts() -> None:
    plan = compile_plan(scenario([{"group": "cp", "to_topic": "orders-copy"}]))
    with pytest.raises(ScenarioError, match="does not run copiers") as e:
        _prepare(plan, "r", {}, {})
    assert e.value.field == "workload.copiers"


# -- one member on stub clients ------------------------------------------------------------------


class Msg:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self._t, self._p, self._o = topic, partition, offset

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._t

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def key(self) -> bytes:
        return b"k%d" % self._o

    def value(self) -> bytes:
        return b"kd1|r|p0|%d|0|" % self._o

    def headers(self) -> list[tuple[str, bytes]]:
        return [("kd-id", b"p0:%d" % self._o)]


class StubConsumer:
    def __init__(self, batch: list[Msg]) -> None:
        self.batch = batch
        self.seeks: list[Any] = []

    def consume(self, n: int, timeout: float) -> list[Msg]:
        out, self.batch = self.batch, []
        return out

    def assignment(self) -> list[Any]:
        from confluent_kafka import TopicPartition

        return [TopicPartition("orders", 0)]

    def committed(self, parts: list[Any], timeout: float) -> list[Any]:
        from confluent_kafka import TopicPartition

        return [TopicPartition("orders", 0, 3)]

    def seek(self, tp: Any) -> None:
        self.seeks.append((tp.topic, tp.partition, tp.offset))

    def consumer_group_metadata(self) -> str:
        return "meta"

    def close(self) -> None:
        pass


def err(code: int, **kw: bool) -> KafkaException:
    return KafkaException(KafkaError(code, "stub", **kw))


class Always(list):  # type: ignore[type-arg]
    """A failure queue that never runs out: the call fails every time."""

    def pop(self, index: int = -1) -> KafkaException:
        return self[0]  # type: ignore[no-any-return]


def timing_out() -> list[KafkaException]:
    return Always([err(KafkaError._TIMED_OUT, retriable=True)])


class StubProducer:
    def __init__(self, fail: dict[str, list[KafkaException]] | None = None) -> None:
        self.fail = fail or {}
        self.calls: list[str] = []
        self.produced: list[tuple[str, bytes, bytes, Any]] = []
        self.offsets: list[Any] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        queue = self.fail.get(name)
        if queue:
            raise queue.pop(0)

    def begin_transaction(self) -> None:
        self._call("begin")

    def produce(self, topic: str, value: bytes, key: bytes, headers: Any) -> None:
        self.produced.append((topic, key, value, headers))

    def poll(self, timeout: float) -> int:
        return 0

    def send_offsets_to_transaction(self, offsets: Any, meta: Any, timeout: float) -> None:
        self.offsets = [(tp.topic, tp.partition, tp.offset) for tp in offsets]
        self._call("offsets")

    def commit_transaction(self, timeout: float) -> None:
        self._call("commit")

    def abort_transaction(self, timeout: float) -> None:
        self._call("abort")

    def purge(self) -> None:
        pass


class Hist:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def append(self, type_: str, **fields: Any) -> None:
        self.events.append((type_, fields))


def member_run(producer: StubProducer) -> tuple[Copier, Hist, StubConsumer, Any]:
    hist = Hist()
    spec = CopierSpec("cp-0", "cp", "primary", "east", "orders", "orders-copy")
    c = Copier(spec, hist, lambda _c, _s: "b", "r", threading.Event())  # type: ignore[arg-type]
    consumer = StubConsumer([Msg("orders", 0, 3), Msg("orders", 0, 4), Msg("orders", 1, 7)])
    kept = c._one_transaction(_Member(consumer, producer))  # type: ignore[arg-type]
    return c, hist, consumer, kept


def test_a_batch_is_copied_with_its_offsets_in_one_transaction() -> None:
    p = StubProducer()
    c, hist, _consumer, kept = member_run(p)
    assert kept is not None and p.calls == ["begin", "offsets", "commit"]
    assert [x[0] for x in p.produced] == ["orders-copy"] * 3
    assert p.produced[0][1:] == (b"k3", b"kd1|r|p0|3|0|", [("kd-id", b"p0:3")])
    assert p.offsets == [("orders", 0, 5), ("orders", 1, 8)]  # next offset per partition
    (typ, ev), *_ = hist.events
    assert typ == Ev.COPY_TXN
    assert ev["ranges"] == [["orders", 0, 3, 4], ["orders", 1, 7, 7]]
    assert (ev["records"], ev["outcome"], ev["error"], ev["txn"]) == (3, "ok", None, 0)
    assert c.copied == 3


def test_an_abortable_error_aborts_and_rewinds_to_the_committed_offsets() -> None:
    p = StubProducer({"commit": [err(KafkaError._STATE, txn_requires_abort=True)]})
    c, hist, consumer, kept = member_run(p)
    assert kept is not None and p.calls[-1] == "abort"
    assert hist.events[0][1]["outcome"] == "fail"
    assert consumer.seeks == [("orders", 0, 3)]
    assert c.copied == 0


def test_a_commit_that_times_out_is_unknown_and_the_member_is_recreated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(txn_calls, "CALL_TIMEOUT_S", 0.05)
    p = StubProducer({"commit": timing_out()})
    _c, hist, _consumer, kept = member_run(p)
    assert kept is None
    assert (hist.events[0][1]["outcome"], hist.events[0][1]["error"]) == ("unknown", "_TIMED_OUT")


def test_a_fatal_error_before_the_commit_is_an_abort_and_a_new_member() -> None:
    p = StubProducer({"offsets": [err(KafkaError._FENCED, fatal=True)]})
    _c, hist, _consumer, kept = member_run(p)
    assert kept is None and "commit" not in p.calls
    assert hist.events[0][1]["outcome"] == "fail"


def test_a_stop_is_taken_within_a_slice_of_a_commit_that_hangs() -> None:
    p = StubProducer({"commit": timing_out()})
    hist = Hist()
    stop = threading.Event()
    spec = CopierSpec("cp-0", "cp", "primary", "east", "orders", "orders-copy")
    c = Copier(spec, hist, lambda _c, _s: "b", "r", stop)  # type: ignore[arg-type]
    stop.set()  # the stub's calls return at once: one slice, then the stop is seen
    c._one_transaction(_Member(StubConsumer([Msg("orders", 0, 0)]), p))  # type: ignore[arg-type]
    assert p.calls.count("commit") == 1 and hist.events[0][1]["outcome"] == "unknown"
