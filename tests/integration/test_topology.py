"""The local runtime, end to end: replication fidelity, cross-site cut, MM2 restart."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kafkadrill.runtimes.local.runtime import LocalRuntime

from .kafka_util import end_offsets, produce, read_all

pytestmark = pytest.mark.integration


def _records(n: int, tag: str) -> list[dict]:
    base_ts = int(time.time() * 1000) - 60_000  # distinct from "now" to prove it is preserved
    return [
        {
            "key": f"k{i % 7}".encode(),
            "value": f"{tag}-{i}".encode(),
            "headers": [("origin", b"east"), ("seq", str(i).encode())],
            "timestamp": base_ts + i,
        }
        for i in range(n)
    ]


def _wait_total(rt: LocalRuntime, topic: str, total: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    got = 0
    while time.monotonic() < deadline:
        got = sum(end_offsets(rt.bootstrap("dr"), topic).values())
        if got >= total:
            return got
        time.sleep(0.5)
    return got


def test_records_replicate_with_key_value_headers_timestamp(topology: LocalRuntime) -> None:
    tag = uuid.uuid4().hex[:8]
    sent = _records(50, tag)
    produce(topology.bootstrap("primary"), "orders", sent)
    seen: set[bytes] = set()

    def first_copy(m: Any) -> bool:  # MM2 is at-least-once: count each record once
        new = m.value().startswith(tag.encode()) and m.value() not in seen
        seen.add(m.value())
        return bool(new)

    # Stops as soon as all 50 are back (not after a fixed wait): the test waits for MM2 only.
    got = read_all(topology.bootstrap("dr"), "primary.orders", len(sent), 30, first_copy)
    by_value = {m.value(): m for m in got}
    assert len(by_value) == len(sent), f"{len(by_value)} of {len(sent)} replicated"
    for r in sent:
        m = by_value[r["value"]]
        assert m.key() == r["key"]
        assert m.timestamp()[1] == r["timestamp"]
        assert dict(m.headers() or []) == dict(r["headers"])


def test_cut_link_stops_replication_and_heal_resumes_it(topology: LocalRuntime) -> None:
    before = sum(end_offsets(topology.bootstrap("primary"), "orders").values())
    assert _wait_total(topology, "primary.orders", before) >= before
    cut = topology.link_cut("east", "west", "both")
    assert cut.paths, "the east<->west link has no paths"
    try:
        time.sleep(2)  # let in-flight MM2 fetches finish or fail
        dr_at_cut = sum(end_offsets(topology.bootstrap("dr"), "primary.orders").values())
        produce(topology.bootstrap("primary"), "orders", _records(100, "cut"))
        primary_after = sum(end_offsets(topology.bootstrap("primary"), "orders").values())
        time.sleep(8)
        dr_during = sum(end_offsets(topology.bootstrap("dr"), "primary.orders").values())
        assert primary_after == before + 100
        assert dr_during == dr_at_cut, "records crossed a cut link"
    finally:
        topology.link_restore(cut)
    assert _wait_total(topology, "primary.orders", primary_after, timeout=90) == primary_after


def test_mm2_killed_and_restarted_resumes(topology: LocalRuntime) -> None:
    topology.flow_kill()
    assert not topology.flow_alive()
    start = sum(end_offsets(topology.bootstrap("primary"), "orders").values())
    produce(topology.bootstrap("primary"), "orders", _records(40, "mm2"))
    time.sleep(2)
    topology.flow_start()
    # MM2 restarts from its last committed source offsets: nothing may be missing.
    assert _wait_total(topology, "primary.orders", start + 40, timeout=120) >= start + 40


def test_rewrite_topic_keeps_each_partitions_prefix_exactly(topology: LocalRuntime) -> None:
    """The failback's rebuild/truncate rewrite on real Kafka: the topic is recreated and holds
    exactly the records given, per partition, in order, with key, headers and timestamp."""
    topic = f"rewrite-{uuid.uuid4().hex[:8]}"
    boot = topology.bootstrap("primary")
    admin = AdminClient({"bootstrap.servers": boot, "log_level": 0})
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(timeout=30)
    sent = _records(60, topic)
    for i, r in enumerate(sent):
        r["partition"] = i % 3
    p = Producer({"bootstrap.servers": boot, "acks": "all", "log_level": 0})
    for r in sent:
        p.produce(
            topic,
            key=r["key"],
            value=r["value"],
            partition=r["partition"],
            headers=r["headers"],
            timestamp=r["timestamp"],
        )
    assert p.flush(30) == 0
    before = topology.clients.read_topic(boot, topic)
    assert [len(before[q]) for q in range(3)] == [20, 20, 20]
    keep = {0: before[0][:15], 1: before[1][:3], 2: []}  # a truncation per partition

    written = topology.clients.rewrite_topic(boot, topic, keep)

    after = topology.clients.read_topic(boot, topic)
    assert written == 18
    for q in range(3):
        got = [(r.key, r.value, r.headers, r.timestamp, r.partition) for r in after.get(q, [])]
        want = [(r.key, r.value, r.headers, r.timestamp, q) for r in keep[q]]
        assert got == want, f"partition {q}"
