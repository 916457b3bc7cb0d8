"""Aggregation completeness (active-active): every cluster the final read names as an
aggregate holds every acknowledged id of every origin, its own and the copies of the others'.

The union view the seeds describe (`orders` + `west.orders` read together) is complete only if
MM2 brought every acked write of the other side across. Per ``<origin>-><aggregate>`` pair:
acked ids of that origin (the cluster that acknowledged them) and how many of them the final
read of the aggregate cluster did not see, in any topic. Only a drill whose final read names
aggregates (``final_read.start.aggregates``, written when several clusters take writes) is
judged; for others ``applicable`` is false and the status PASS.

Union consumers (``workload.consumers[].union``, named in ``final_read.start.union_groups``)
are the seeds' union view as an application reads it: per group, the acked ids of every origin
it never received (``missing``), and how many of those its cluster did hold at the final read
(``missing_held``: the group's subscription or its reading lost them, not replication). A
group moved by a failover is judged on the cluster its last redirect names.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kafkadrill.checkers._common import (
    FinalRead,
    Verdict,
    acked_cluster_codes,
    consumer_receipts,
    final_read,
    final_read_notes,
    presence,
)
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames

NAME = "aggregation"


@checker("aggregation", order=100)
def check_aggregation(frames: HistoryFrames) -> Verdict:
    fr = final_read(frames)
    notes = final_read_notes(fr)
    applicable = bool(fr.aggregates or fr.union_groups)
    figures: dict[str, Any] = {"applicable": applicable, "pairs": {}, "missing": None}
    if not fr.present:
        return Verdict(NAME, "UNKNOWN", figures, [], notes)
    if not applicable:
        return Verdict(
            NAME, "PASS", figures, [], ["one origin and no union consumer: nothing to judge"]
        )
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
    if fr.union_groups:
        figures["union_groups"] = _union_groups(frames, fr, acked_by >= 0)
        for g, u in figures["union_groups"].items():
            if u["missing"] and status == "PASS":
                status = "FAIL"
            if u["missing"] and not fr.complete.get(u["cluster"], False):
                status = "UNKNOWN"
                notes.append(
                    f"the final read of {u['cluster']} did not complete: {g}'s missing "
                    "ids cannot be split into held and not replicated"
                )
    return Verdict(NAME, status, figures, [], notes)


def _union_groups(
    frames: HistoryFrames, fr: FinalRead, acked: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Per union group: acked ids (every origin), how many it received, missing, and of those
    how many its cluster held at the final read."""
    receipts = consumer_receipts(frames)
    # A group a failover runbook moved is judged on the cluster it ended on.
    moved = {
        str(e.get("group")): str(e.get("to_cluster"))
        for e in frames.of_type(Ev.REDIRECT)
        if e.get("role") == "consumer"
    }
    out: dict[str, dict[str, Any]] = {}
    for group, declared in sorted(fr.union_groups.items()):
        cluster = moved.get(group, declared)
        got = presence(frames, receipts[(receipts["group"] == group).to_numpy()])
        held = presence(frames, fr.records[(fr.records["cluster"] == cluster).to_numpy()])
        missing = acked & ~got
        out[group] = {
            "cluster": cluster,
            "acked": int(acked.sum()),
            "received": int((acked & got).sum()),
            "missing": int(missing.sum()),
            "missing_held": int((missing & held).sum()),
        }
    return out
