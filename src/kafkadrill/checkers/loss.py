"""Loss: acknowledged writes that the final read of the authoritative cluster never saw.

Jepsen's rule: a write is *lost* only if it was acked and never read after a final
heal-and-read-all; if that read did not complete, such writes are *unseen*, not lost.

Each lost write is attributed to a cause (`by_cause`), from the final read of the cluster that
acked it (its origin) and where that cluster's logs began when the read started:
- `never_replicated`: the origin still holds it; it never reached the cluster the service
  ended on (a failover before MirrorMaker 2 copied it);
- `expired_at_source`: the origin no longer holds it and its offset is below the partition's
  log start: deleted by the origin's retention (or a delete-records) before it was copied;
- `lost_at_origin`: the origin no longer holds it although its offset is at or above the log
  start: the origin itself lost it (an unclean leader election, acks=1 with a lost leader);
- `unattributed`: the origin was not read completely, its log starts were not recorded, or the
  ack carried no offset.
"""

from __future__ import annotations

import numpy as np

from kafkadrill.checkers._common import (
    Verdict,
    ack_rows,
    by_id,
    final_read,
    final_read_notes,
    first_fault_t,
    first_per_id,
    per_partition_counts,
    presence,
)
from kafkadrill.checkers.registry import checker
from kafkadrill.history import HistoryFrames
from kafkadrill.history.folds import final_read_events

NAME = "loss"


@checker("loss", order=10)
def check_loss(frames: HistoryFrames) -> Verdict:
    fr = final_read(frames)
    acked = first_per_id(frames.ok, frames)  # an id acked twice is still one message
    notes = final_read_notes(fr)
    figures: dict = {
        "acked": len(acked),
        "lost": None,
        "lost_bytes": None,
        "window_seconds": None,
        "unseen": None,
        "per_partition": {},
        "lost_ids": [],
        "authoritative": fr.authoritative,
        "authoritative_for": fr.authoritative_for,
        "final_read_complete": fr.auth_complete,
        "per_origin": {},
        "by_cause": None,
    }
    if not fr.present:
        return Verdict(NAME, "UNKNOWN", figures, [], notes)

    missing = acked[~fr.auth_seen[acked["id_code"].to_numpy()]]
    if not fr.auth_complete:
        # Not read is not lost: report them as unseen; zero unseen means nothing can be lost.
        figures["unseen"] = len(missing)
        if len(missing):
            figures["per_partition"] = per_partition_counts(missing)
            return Verdict(NAME, "UNKNOWN", figures, _sample(frames, missing), notes)
        figures.update(lost=0, lost_bytes=0, window_seconds=0.0)
        return Verdict(NAME, "PASS", figures, [], [*notes, "every acked id was read anyway"])

    lost = missing
    figures["per_origin"] = {
        str(c): {"acked": int(n), "lost": int((lost["cluster"] == c).sum())}
        for c, n in acked["cluster"].value_counts(sort=False).items()
        if n
    }
    size = by_id(frames, frames.invoke, "size", -1)[lost["id_code"].to_numpy()]
    if (size < 0).any():
        notes.append(f"{int((size < 0).sum())} lost ids have no send.invoke: size counted as 0")
    window = 0.0
    if len(lost):
        t = lost["t"].to_numpy()
        ff = first_fault_t(frames)
        # Data at risk from the earliest lost ack until the fault (or the last lost ack).
        window = float(max(ff if ff is not None else -np.inf, t.max()) - t.min())
    evidence = _sample(frames, lost)
    figures.update(
        lost=len(lost),
        lost_bytes=int(size[size > 0].sum()),
        window_seconds=window,
        unseen=0,
        per_partition=per_partition_counts(lost),
        lost_ids=evidence,
        by_cause=_causes(frames, lost, notes),
    )
    return Verdict(NAME, "PASS" if len(lost) == 0 else "FAIL", figures, evidence, notes)


CAUSES = ("never_replicated", "expired_at_source", "lost_at_origin", "unattributed")


def _causes(frames: HistoryFrames, lost, notes: list[str]) -> dict[str, int]:
    """Lost writes per cause (module docstring), from their origin's final read."""
    out = dict.fromkeys(CAUSES, 0)
    if not len(lost):
        return out
    fr = final_read(frames)
    starts = final_read_events(frames).log_start
    unread: set[str] = set()
    for origin, rows in lost.groupby("cluster", observed=True):
        origin = str(origin)
        if not fr.complete.get(origin, False):
            out["unattributed"] += len(rows)
            unread.add(origin)
            continue
        held = presence(frames, fr.records[(fr.records["cluster"] == origin).to_numpy()])
        on_origin = held[rows["id_code"].to_numpy()]
        out["never_replicated"] += int(on_origin.sum())
        gone = rows[~on_origin]
        log_start = starts.get(origin)
        offsets = gone["offset"].to_numpy()
        if log_start is None:
            out["unattributed"] += len(gone)
            unread.add(origin)
            continue
        keys = zip(gone["topic"], gone["partition"], strict=True)
        lo = np.array([log_start.get((str(t), int(p)), 0) for t, p in keys], dtype=np.int64)
        known = offsets >= 0
        out["expired_at_source"] += int((known & (offsets < lo)).sum())
        out["lost_at_origin"] += int((known & (offsets >= lo)).sum())
        out["unattributed"] += int((~known).sum())
    if unread:
        notes.append(
            f"cause of some lost writes unknown: the final read of {sorted(unread)} was "
            "incomplete or did not record where its logs began"
        )
    return out


def _sample(frames: HistoryFrames, rows) -> list[dict]:
    send_t = by_id(frames, frames.invoke, "t", np.nan)
    return [
        {**row, "send_t": float(send_t[code]) if np.isfinite(send_t[code]) else None}
        for code, row in ack_rows(frames, rows)
    ]
