"""The workload consumer's commit bookkeeping (pure logic, no Kafka).

Commits are asynchronous so that a redirect is never stuck behind a commit to a dead
coordinator (drills/test_region_failover.py proves that part on real clusters). What is checked
here: a result is recorded for the cluster it was sent to, offsets stay pending until a commit
covers them, and a result that arrives after a redirect changes nothing of the new client.
"""

from __future__ import annotations

import threading
from pathlib import Path

from confluent_kafka import KafkaError, TopicPartition

from kafkadrill.history import HistoryWriter, read_history
from kafkadrill.workload.consumer import ConsumerSpec, WorkloadConsumer


def _consumer(tmp_path: Path) -> tuple[WorkloadConsumer, HistoryWriter]:
    history = HistoryWriter(tmp_path / "history.jsonl", "run-1")
    spec = ConsumerSpec(
        name="billing-0", group="billing", cluster="primary", topic="orders", site="east"
    )
    return WorkloadConsumer(spec, history, lambda _c, _s: "127.0.0.1:1", threading.Event()), history


def _events(history: HistoryWriter, tmp_path: Path) -> list[dict]:
    history.close()
    return [e for e in read_history(tmp_path / "history.jsonl") if e["type"].startswith("commit")]


def test_a_commit_covers_only_what_it_sent(tmp_path: Path) -> None:
    c, history = _consumer(tmp_path)
    c._generation, c._in_flight = 1, True
    c._pending = {("orders", 0): 9, ("orders", 1): 20}  # partition 1 moved on after the send
    c._on_commit(
        1, "primary", None, [TopicPartition("orders", 0, 10), TopicPartition("orders", 1, 15)]
    )
    assert c._pending == {("orders", 1): 20}
    assert c._in_flight is False
    [ev] = _events(history, tmp_path)
    assert ev["type"] == "commit" and ev["cluster"] == "primary"
    assert ev["offsets"] == [["orders", 0, 10], ["orders", 1, 15]]


def test_a_failed_commit_keeps_its_offsets_pending(tmp_path: Path) -> None:
    c, history = _consumer(tmp_path)
    c._generation, c._in_flight = 1, True
    c._pending = {("orders", 0): 9}
    c._on_commit(1, "primary", KafkaError(KafkaError._TRANSPORT), [TopicPartition("orders", 0, 10)])
    assert c._pending == {("orders", 0): 9}
    assert c._in_flight is False
    [ev] = _events(history, tmp_path)
    assert ev["type"] == "commit.fail" and ev["cluster"] == "primary"


def test_a_result_after_a_redirect_is_recorded_for_the_old_cluster_only(tmp_path: Path) -> None:
    c, history = _consumer(tmp_path)
    c._generation, c._in_flight, c.cluster = 2, True, "dr"  # the new client's commit in flight
    c._pending = {("primary.orders", 0): 4}
    c._on_commit(1, "primary", None, [TopicPartition("orders", 0, 10)])
    assert c._in_flight is True
    assert c._pending == {("primary.orders", 0): 4}
    [ev] = _events(history, tmp_path)
    assert ev["cluster"] == "primary"
