"""Small produce/consume helpers for integration tests of the topology itself."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

QUIET = {"log_level": 0}


def produce(bootstrap: str, topic: str, records: list[dict[str, Any]]) -> None:
    p = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, **QUIET}
    )
    errors: list[str] = []
    for r in records:
        p.produce(
            topic,
            key=r["key"],
            value=r["value"],
            headers=r.get("headers"),
            timestamp=r.get("timestamp", 0),
            on_delivery=lambda e, _m: e and errors.append(str(e)),
        )
    assert p.flush(30) == 0, "produce did not finish in 30 s"
    assert not errors, errors


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4()}", **QUIET})
    try:
        md = c.list_topics(topic, timeout=10)
        parts = md.topics[topic].partitions if topic in md.topics else {}
        out = {}
        for p in parts:
            _lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            out[p] = hi
        return out
    finally:
        c.close()


def read_all(
    bootstrap: str,
    topic: str,
    expect: int,
    timeout: float = 60.0,
    keep: Callable[[Any], bool] = lambda _m: True,
) -> list[Any]:
    """Read `topic` from the beginning until `expect` records that `keep` accepts arrived, or
    `timeout` passed (the caller asserts on what came: a timeout is not an error here)."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"read-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "topic.metadata.refresh.interval.ms": 1000,
            **QUIET,
        }
    )
    out = []
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + timeout
        while len(out) < expect and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None and keep(m):
                out.append(m)
    finally:
        c.close()
    return out


def topic_exists(bootstrap: str, topic: str) -> bool:
    return (
        topic
        in AdminClient({"bootstrap.servers": bootstrap, **QUIET}).list_topics(timeout=10).topics
    )
