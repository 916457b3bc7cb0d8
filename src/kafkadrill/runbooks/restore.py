"""Restore from a backup (topology.backup) as a failover step: every record of the backup's
segments written into the same topic and partition of the failover target, with its key,
value, headers and timestamp, in offset order (seed 001's backup-and-restore procedure).

What the restore could not bring back and how faithful it was are the backup checker's and the
final read's to judge; the step records what it did and how long it took.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kafkadrill.runbooks.steps import RunbookContext
from kafkadrill.runtimes.base import RunsBackup
from kafkadrill.runtimes.shared import backup as bk
from kafkadrill.workload.topic_copy import Record


def backup_records(store: Path) -> Iterator[tuple[str, Record]]:
    """Every record of the store's segments as (topic, record), per partition in offset order;
    a flush that failed half-way can leave a later segment overlapping an earlier one: each
    offset comes once. One segment in memory at a time."""
    last: dict[tuple[str, int], int] = {}
    for seg in bk.segments(store):  # (topic, partition, first offset) order
        for r in bk.read_segment(seg):
            if r.offset <= last.get((r.topic, r.partition), -1):
                continue
            last[(r.topic, r.partition)] = r.offset
            ts = int(r.timestamp) if r.timestamp is not None else 0
            # A null header value stays null.
            yield r.topic, Record(r.partition, r.offset, r.key, r.value, tuple(r.headers), ts)


def restore_backup(ctx: RunbookContext, target: str) -> dict[str, Any]:
    """Write the backup into `target` (its topics exist: the failover prepared them); returns
    the step's evidence."""
    rt = ctx.runtime
    if not isinstance(rt, RunsBackup) or rt.topology.backup is None:
        raise RuntimeError("no backup to restore (topology.backup is not set)")
    store = rt.backup_store()
    t0 = time.monotonic()
    segs = len(bk.segments(store))
    written = rt.clients.write_stream(rt.bootstrap(target), backup_records(store))
    return {
        "store": str(store),
        "segments": segs,
        "records": sum(written.values()),
        "per_topic": written,
        "seconds": round(time.monotonic() - t0, 3),
        "to": target,
    }
