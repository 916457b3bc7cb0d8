"""Restore from a backup (topology.backup) as a failover step: every record of the backup's
segments written into the same topic and partition of the failover target, with its key,
value, headers and timestamp, in offset order (seed 001's backup-and-restore procedure).

What the restore could not bring back and how faithful it was are the backup checker's and the
final read's to judge; the step records what it did and how long it took.
"""

from __future__ import annotations

import time
from typing import Any

from kafkadrill.runbooks.steps import RunbookContext
from kafkadrill.runtimes.base import RunsBackup
from kafkadrill.runtimes.shared import backup as bk
from kafkadrill.workload.topic_copy import Record


def restore_backup(ctx: RunbookContext, target: str) -> dict[str, Any]:
    """Write the backup into `target` (its topics exist: the failover prepared them); returns
    the step's evidence."""
    rt = ctx.runtime
    if not isinstance(rt, RunsBackup) or rt.topology.backup is None:
        raise RuntimeError("no backup to restore (topology.backup is not set)")
    store = rt.backup_store()
    t0 = time.monotonic()
    segs = bk.segments(store)
    per_topic: dict[str, dict[int, list[Record]]] = {}
    for seg in segs:
        parts = per_topic.setdefault(seg.topic, {})
        for r in bk.read_segment(seg):
            parts.setdefault(r.partition, []).append(
                Record(
                    r.partition,
                    r.offset,
                    r.key,
                    r.value,
                    tuple(r.headers),  # a null header value stays null
                    int(r.timestamp) if r.timestamp is not None else 0,
                )
            )
    read_s = time.monotonic() - t0
    written: dict[str, int] = {}
    bootstrap = rt.bootstrap(target)
    for topic, parts in sorted(per_topic.items()):
        for p, recs in parts.items():
            # Offset order; a flush that failed half-way can leave a later segment overlapping
            # an earlier one: each offset is restored once.
            by_offset = {r.offset: r for r in recs}
            parts[p] = [by_offset[o] for o in sorted(by_offset)]
        written[topic] = rt.clients.write_topic(bootstrap, topic, parts)
    return {
        "store": str(store),
        "segments": len(segs),
        "records": sum(written.values()),
        "per_topic": written,
        "read_seconds": round(read_s, 3),
        "seconds": round(time.monotonic() - t0, 3),
        "to": target,
    }
