"""Indeterminate sends: timed-out / unknown outcomes (Jepsen's ``info``) and definite failures.

An unknown send may or may not have been written: it is never counted as loss or duplicate.
We report how many landed (found in the final read of the authoritative cluster). A *definite*
failure (send.fail) that landed anyway is an anomaly: the client lied.

Outcome per id, by precedence: ok > unknown > fail > no outcome (invoked, nothing recorded).

``unrecorded_landed``: records found in the final read whose send the history does not hold
(0 but for a workload worker that died mid-drill: the events it had not yet written died with
it). Neither judged lost nor duplicated: reported.

A message of an aborted transaction is a definite failure too (``history/transactions``), but
its record is in the log by design, marked aborted: a read_uncommitted read returns it, and
MirrorMaker 2 copies it. Found in the final read it is ``aborted_landed``, not a failed send
that landed; whether a reader should have seen it is the aborted_read checker's question.
"""

from __future__ import annotations

import numpy as np

from kafkadrill.checkers._common import (
    SAMPLE,
    FinalRead,
    Verdict,
    final_read,
    final_read_notes,
    presence,
)
from kafkadrill.checkers.registry import checker
from kafkadrill.history import HistoryFrames
from kafkadrill.history.transactions import TxnState, txn_state

NAME = "unknown"


def _landed_elsewhere(frames: HistoryFrames, fr: FinalRead, ids: np.ndarray) -> dict[str, int]:
    """Per non-authoritative cluster: indeterminate sends read there and not where they count.

    After a failover they sit on the old primary (sent before the redirect, outcome unknown)
    and come back with a failback that mirrors it: neither lost nor delivered yet."""
    out: dict[str, int] = {}
    for cluster in fr.clusters:
        if cluster == fr.authoritative or cluster in fr.authoritative_for.values():
            continue
        rows = fr.records[(fr.records["cluster"] == cluster).to_numpy()]
        n = int((presence(frames, rows) & ids).sum())
        if n:
            out[cluster] = n
    return out


@checker("unknown", order=20)
def check_unknown(frames: HistoryFrames) -> Verdict:
    fr = final_read(frames)
    has_ok = presence(frames, frames.ok)
    has_unk = presence(frames, frames.unknown) & ~has_ok
    has_fail = presence(frames, frames.fail) & ~has_ok & ~has_unk
    aborted = has_fail & (txn_state(frames) == TxnState.ABORTED)
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
        "aborted_landed": None,
        "unknown_landed_elsewhere": None,
        "unrecorded_landed": None,
    }
    if not fr.present:
        return Verdict(NAME, "UNKNOWN", figures, [], notes)
    landed = indeterminate & seen
    fbl = has_fail & ~aborted & seen
    figures.update(
        unknown_landed=int(landed.sum()),
        # With an incomplete final read, "not landed" may just be "not read yet".
        unknown_not_landed=int((indeterminate & ~seen).sum()) if fr.auth_complete else None,
        failed_but_landed=int(fbl.sum()),
        aborted_landed=int((aborted & seen).sum()),
        unknown_landed_elsewhere=_landed_elsewhere(frames, fr, indeterminate & ~seen),
        # Records of the workload whose send the history never recorded: a workload worker
        # that died took its last unwritten events with it (workload/workers.py).
        unrecorded_landed=int((seen & ~presence(frames, frames.invoke)).sum()),
    )
    evidence = [
        {"id": frames.id_text(int(c)), "anomaly": "failed_but_landed"}
        for c in np.flatnonzero(fbl)[:SAMPLE]
    ]
    if fbl.any():
        status = "FAIL"
    elif not fr.auth_complete and (has_fail & ~aborted).any():
        status = "UNKNOWN"
    else:
        status = "PASS"
    return Verdict(NAME, status, figures, evidence, notes)
