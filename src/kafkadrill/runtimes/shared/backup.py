"""Backups through Kafka Connect (seed 001: "backups with Kafka Connect sink connectors ...
with a higher RPO, hours to days depending on backup frequency"): the worker's and the sink
connector's settings, and the store the connector writes.

The sink is kafkadrill's own (`io.kafkadrill.backup.BackupSinkConnector`, compiled from
provision_data/backup by `kafkadrill setup`): no S3, HDFS or file sink that keeps keys,
headers, timestamps and partitions is served by the registries these machines reach, and the
seed's point is the backup *frequency*, which is Connect's, not the store's. It writes one JSON
line per record (topic, partition, offset, timestamp and its type, key, value and headers, the
bytes in base64) into a segment file per partition at each Connect offset flush, written to a
temporary name and renamed: a segment on disk is backed up, and a record still buffered when
its source dies is not. Connect commits the consumer offsets only after that flush.

The worker runs standalone (its offsets in a file of the store): a backup must not depend on
the cluster it backs up, which a distributed worker's internal topics would.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kafkadrill.runtimes.shared.connect import BYTES
from kafkadrill.topology import Backup

CONNECTOR = "kafkadrill-backup"
CONNECTOR_CLASS = "io.kafkadrill.backup.BackupSinkConnector"
_SEGMENT = re.compile(r"^(\d{20})-(\d{20})\.jsonl$")


def worker_props(
    backup: Backup, bootstrap: str, plugin_dir: Path, store: Path, rest_port: int
) -> dict[str, str]:
    """A standalone worker that reads `backup.source` through `bootstrap` and flushes every
    `backup.flush_seconds` (the backup frequency)."""
    return {
        "bootstrap.servers": bootstrap,
        "plugin.path": str(plugin_dir),
        "key.converter": BYTES,
        "value.converter": BYTES,
        "header.converter": BYTES,
        "offset.storage.file.filename": str(store / "worker.offsets"),
        "offset.flush.interval.ms": str(int(backup.flush_seconds * 1000)),
        "listeners": f"http://127.0.0.1:{rest_port}",
        "rest.advertised.host.name": "127.0.0.1",
        # Reads start at the beginning of each topic: the backup covers it from offset 0.
        "consumer.auto.offset.reset": "earliest",
        # A record that a read_uncommitted backup copied from an aborted transaction would be
        # restored as if it had been committed.
        "consumer.isolation.level": "read_committed",
    }


def connector_config(topics: list[str], store: Path) -> dict[str, str]:
    """The sink connector over exactly `topics` (the drill's run-scoped names)."""
    return {
        "connector.class": CONNECTOR_CLASS,
        "tasks.max": "1",
        "topics.regex": "|".join(re.escape(t) for t in topics) or "(?!)",
        "store.dir": str(store / "data"),
    }


def backed_up_topics(backup: Backup, topics: list[str]) -> list[str]:
    """The source's topics the backup covers: those matching `backup.topics`."""
    pattern = re.compile(backup.topics)
    return [t for t in topics if pattern.fullmatch(t)]


@dataclass(frozen=True)
class Segment:
    """One flushed segment: the offsets it holds and when it was written (wall ms)."""

    topic: str
    partition: int
    first: int
    last: int
    written_ms: int
    path: Path


def segments(store: Path) -> list[Segment]:
    """Every complete segment of the store, in (topic, partition, first offset) order; a
    temporary file (a flush cut short) is not one."""
    out: list[Segment] = []
    data = store / "data"
    if not data.is_dir():
        return out
    for topic_dir in sorted(p for p in data.iterdir() if p.is_dir()):
        for part_dir in sorted(p for p in topic_dir.iterdir() if p.is_dir()):
            if not part_dir.name.isdigit():
                continue
            for f in sorted(part_dir.iterdir()):
                m = _SEGMENT.match(f.name)
                if m is None:
                    continue
                out.append(
                    Segment(
                        topic_dir.name,
                        int(part_dir.name),
                        int(m.group(1)),
                        int(m.group(2)),
                        f.stat().st_mtime_ns // 1_000_000,
                        f,
                    )
                )
    return out


@dataclass(frozen=True)
class BackupRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int | None
    timestamp_type: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]


def _b64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def read_segment(seg: Segment) -> Iterator[BackupRecord]:
    """The records of one segment, in offset order (as the sink wrote them)."""
    with seg.path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            yield BackupRecord(
                r["topic"],
                int(r["partition"]),
                int(r["offset"]),
                r.get("ts"),
                r.get("ts_type") or "NoTimestampType",
                _b64(r.get("key")),
                _b64(r.get("value")),
                [(str(h[0]), _b64(h[1])) for h in r.get("headers") or []],
            )
