"""Aggregation completeness (active-active): every cluster the final read names as an
aggregate holds every acknowledged id of every origin, its own and the copies of the others'.

The union view the seeds describe (`orders` + `west.orders` read together) is complete only if
MM2 brought every acked write of the other side across. Per ``<origin>-><aggregate>`` pair:
acked ids of that origin (the cluster that acknowledged them) and how many of them the final
read of the aggregate cluster did not see, in any topic. Only a drill whose final read names
aggregates (``final_read.start.aggregates``, written for ``model: active-active``) is judged;
for others ``applicable`` is false and the status PASS.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kafkadrill.checkers._common import (
    Verdict,
    acked_cluster_codes,
    final_read,
    final_read_notes,
    presence,
)
from kafkadrill.history import HistoryFrames

NAME = "aggregation"


def check_aggregation(frames: HistoryFrames) -> Verdict:
    fr = final_read(frames)
    notes = final_read_notes(fr)
    figures: dict[str, Any] = {"applicable": bool(fr.aggregates), "pairs": {}, "missing": None}
    if not fr.present:
        return Verdict(NAME, "UNKNOWN", figures, [], notes)
    if not fr.aggregates:
        return Verdict(NAME, "PASS", figures, [], ["not an active-active drill: nothing to judge"])
    acked_by, categories = acked_cluster_codes(frames)
    space = list(categories)
    pairs: dict[str, dict[str, int]] = {}
    status = "PASS"
    for agg in fr.aggregates:
        here = presence(frames, fr.records[(fr.records["cluster"] == agg).to_numpy()])
        for ci, origin in enumerate(space):
            mine = acked_by == ci
            if not mine.any():
                continue
            missing = int((mine & ~here).sum())
            pairs[f"{origin}->{agg}"] = {"acked": int(mine.sum()), "missing": missing}
            if missing and status == "PASS":
                status = "FAIL"
        if not fr.complete.get(agg, False):
            status = "UNKNOWN"
            notes.append(f"the final read of {agg} did not complete: missing is not lost")
    figures["pairs"] = pairs
    figures["missing"] = int(np.sum([p["missing"] for p in pairs.values()]))
    return Verdict(NAME, status, figures, [], notes)
