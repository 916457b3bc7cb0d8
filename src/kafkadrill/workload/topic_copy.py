"""Whole-topic reads and rewrites, for the failback strategies that discard a divergent tail
(runbooks/failback.py): read a topic to its end offsets, and replace a topic by given records,
partition by partition and in order (key, value, headers, timestamp kept).

A rewritten partition starts at offset 0, so records copied without gaps keep their offsets:
what an offset-preserving truncation (Cluster Linking's truncate-and-restore) gives.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.workload import payload


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int  # ms

    @property
    def id(self) -> str | None:
        """The kafkadrill id the value carries (None for anyone else's record)."""
        dec = payload.decode(self.value)
        return None if dec is None else dec.id


def read_topic(conf: dict[str, Any], topic: str, timeout: float = 120.0) -> dict[int, list[Record]]:
    """Every record of `topic` up to the end offsets seen at start, by partition, in order."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    c = Consumer(
        {
            **conf,
            "group.id": f"kafkadrill-copy-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    try:
        md = c.list_topics(topic, timeout=15)
        if topic not in md.topics or md.topics[topic].error is not None:
            return {}
        parts = sorted(md.topics[topic].partitions)
        ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=15)[1] for p in parts}
        out: dict[int, list[Record]] = {p: [] for p in parts}
        todo = {p for p, hi in ends.items() if hi > 0}
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        deadline = time.monotonic() + timeout
        while todo:
            if time.monotonic() > deadline:
                raise TopologyError(f"reading {topic} did not reach its end in {timeout:.0f} s")
            for m in c.consume(1000, 0.5):
                if m.error() is not None or m.offset() >= ends[m.partition()]:
                    continue
                out[m.partition()].append(
                    Record(
                        m.partition(),
                        m.offset(),
                        m.key(),
                        m.value(),
                        tuple(m.headers() or ()),
                        m.timestamp()[1],
                    )
                )
                if m.offset() + 1 >= ends[m.partition()]:
                    todo.discard(m.partition())
        return out
    finally:
        c.close()


def recreate_topic(conf: dict[str, Any], topic: str, timeout: float = 60.0) -> None:
    """Delete `topic` and create it again, empty, with its partitions, RF and configs."""
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

    admin = AdminClient(conf)
    md = admin.list_topics(topic, timeout=15).topics.get(topic)
    if md is None or md.error is not None:
        raise TopologyError(f"cannot recreate {topic}: it does not exist")
    parts = len(md.partitions)
    rf = len(md.partitions[0].replicas)
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = admin.describe_configs([res])[res].result(timeout=15)
    config = {k: e.value for k, e in entries.items() if not e.is_default and e.value is not None}
    admin.delete_topics([topic], operation_timeout=30)[topic].result(timeout=40)
    deadline = time.monotonic() + timeout
    while True:  # deletion completes asynchronously; creation fails until it has
        try:
            new = NewTopic(topic, parts, rf, config=config)
            admin.create_topics([new])[topic].result(timeout=30)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise TopologyError(f"could not recreate {topic}: {exc}") from exc
            time.sleep(0.5)


def write_records(
    conf: dict[str, Any], topic: str, records: dict[int, list[Record]], timeout: float = 120.0
) -> int:
    """Produce `records` into the partitions they are keyed by, in order (idempotent, acks=all);
    -> written."""
    ordered = (
        (topic, r if r.partition == part else replace(r, partition=part))
        for part, recs in sorted(records.items())
        for r in recs
    )
    return write_stream(conf, ordered, timeout).get(topic, 0)


def write_stream(
    conf: dict[str, Any], records: Iterable[tuple[str, Record]], timeout: float = 120.0
) -> dict[str, int]:
    """Produce each (topic, record) into its topic and partition, in the order given, with one
    idempotent acks=all producer (memory bounded by its queue, not by the data); -> written per
    topic."""
    from confluent_kafka import Producer

    errors: list[Any] = []
    p = Producer({**conf, "acks": "all", "enable.idempotence": True, "linger.ms": 20})
    written: dict[str, int] = {}
    for topic, r in records:
        while True:
            try:
                p.produce(
                    topic,
                    value=r.value,
                    key=r.key,
                    partition=r.partition,
                    headers=list(r.headers),
                    timestamp=r.timestamp,
                    on_delivery=lambda e, _m: e and errors.append(e),
                )
                break
            except BufferError:
                p.poll(0.1)
        written[topic] = written.get(topic, 0) + 1
    left = p.flush(timeout)
    if left or errors:
        raise TopologyError(f"writing {sorted(written)}: {left} not delivered, errors {errors[:3]}")
    return written
