"""Indeterminate sends: timed-out / unknown outcomes (Jepsen's ``info``) and definite failures.

An unknown send may or may not have been written: it is never counted as loss or duplicate.
We report how many landed (found in the final read of the authoritative cluster). A *definite*
failure (send.fail) that landed anyway is an anomaly: the client lied.

Outcome per id, by precedence: ok > unknown > fail > no outcome (invoked, nothing recorded).
"""

from __future__ import annotations

import numpy as np

from kafkadrill.checkers._common import (
    SAMPLE,
    Verdict,
    final_read,
    final_read_notes,
    presence,
)
from kafkadrill.checkers.registry import checker
from kafkadrill.history import HistoryFrames

NAME = "unknown"


@checker("unknown", order=20)
def check_unknown(frames: HistoryFrames) -> Verdict:
    fr = final_read(frames)
    has_ok = presence(frames, frames.ok)
    has_unk = presence(frames, frames.unknown) & ~has_ok
    has_fail = presence(frames, frames.fail) & ~has_ok & ~has_unk
    no_outcome = presence(frames, frames.invoke) & ~has_ok & ~has_unk & ~has_fail
    indeterminate = has_unk | no_outcome
    seen = fr.auth_seen
    notes = final_read_notes(fr)
    figures: dict = {
        "unknown": int(indeterminate.sum()),
        "send_unknown": int(has_unk.sum()),
        "no_outcome": int(no_outcome.sum()),
        "unknown_landed": None,
        "unknown_not_landed": None,
        "failed": int(has_fail.sum()),
        "failed_but_landed": None,
    }
    if not fr.present:
        return Verdict(NAME, "UNKNOWN", figures, [], notes)
    landed = indeterminate & seen
    fbl = has_fail & seen
    figures.update(
        unknown_landed=int(landed.sum()),
        # With an incomplete final read, "not landed" may just be "not read yet".
        unknown_not_landed=int((indeterminate & ~seen).sum()) if fr.auth_complete else None,
        failed_but_landed=int(fbl.sum()),
    )
    evidence = [
        {"id": frames.id_text(int(c)), "anomaly": "failed_but_landed"}
        for c in np.flatnonzero(fbl)[:SAMPLE]
    ]
    if fbl.any():
        status = "FAIL"
    elif not fr.auth_complete and has_fail.any():
        status = "UNKNOWN"
    else:
        status = "PASS"
    return Verdict(NAME, status, figures, evidence, notes)
