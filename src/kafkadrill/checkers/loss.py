"""Loss: acknowledged writes that the final read of the authoritative cluster never saw.

Jepsen's rule: a write is *lost* only if it was acked and never read after a final
heal-and-read-all; if that read did not complete, such writes are *unseen*, not lost.
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
)
from kafkadrill.checkers.registry import checker
from kafkadrill.history import HistoryFrames

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
    )
    return Verdict(NAME, "PASS" if len(lost) == 0 else "FAIL", figures, evidence, notes)


def _sample(frames: HistoryFrames, rows) -> list[dict]:
    send_t = by_id(frames, frames.invoke, "t", np.nan)
    return [
        {**row, "send_t": float(send_t[code]) if np.isfinite(send_t[code]) else None}
        for code, row in ack_rows(frames, rows)
    ]
