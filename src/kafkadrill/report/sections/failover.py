"""Failover: split writes and the divergent tail.

Formats the split_writes checker's figures only (report.json ``failover``); it computes no
figure. Absent when the run had no failover.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import Block, Heading, Note, Para, Table
from kafkadrill.report.format import checker, figures, fmt, fmt_s

CHECKER = "split_writes"


def _failover(r: Mapping[str, Any]) -> Mapping[str, Any]:
    f = r.get("failover")
    return f if isinstance(f, Mapping) else figures(r, CHECKER)


def _fence_text(fence: Mapping[str, Any]) -> str:
    status = fence.get("status")
    if status == "absent":
        return "the runbook did not fence the old primary"
    how = ", ".join(str(fence.get(k)) for k in ("method", "position") if fence.get(k))
    how = f" ({how})" if how else ""
    if status == "ok":
        return f"{fence.get('cluster')} fenced{how}, in effect from t = {fmt_s(fence.get('t'))}"
    if status == "fail":
        return f"the fence step failed{how}: the old primary was not fenced"
    return "the fence step started and never ended"


def _split_table(sw: Mapping[str, Any], dr: Any) -> Table:
    return Table(
        ["Figure", "Value"],
        [
            ["Split writes (acked by the old primary after the decision)", fmt(sw.get("count"))],
            [
                "First / last ack after the decision",
                f"{fmt_s(sw.get('first_ack_after_decision_s'))}"
                f" / {fmt_s(sw.get('last_ack_after_decision_s'))}",
            ],
            [f"Reached {dr} (in its final read)", fmt(sw.get("reached_dr"))],
            [f"Never reached {dr}", fmt(sw.get("not_reached_dr"))],
            ["Seen by a consumer", fmt(sw.get("seen_by_consumer"))],
            ["Acked through the fence (after it took effect)", fmt(sw.get("acked_through_fence"))],
            ["... of them sent after the fence", fmt(sw.get("sent_through_fence"))],
        ],
        numeric={1},
        compact=True,
    )


def _producer_table(per: Mapping[str, Any]) -> Table:
    return Table(
        [
            "Producer",
            "Split writes",
            "Straggler",
            "Redirected (t)",
            "Before its redirect",
            "After it",
        ],
        [
            [
                str(p),
                fmt(v.get("count")),
                fmt(v.get("straggler")),
                fmt_s(v.get("redirected_t")) if v.get("redirected_t") is not None else "never",
                fmt(v.get("before_redirect")),
                fmt(v.get("after_redirect")),
            ]
            for p, v in per.items()
            if isinstance(v, Mapping)
        ],
        numeric={1, 4, 5},
        compact=True,
    )


def _tail_table(tail: Mapping[str, Any], old: Any) -> Table:
    return Table(
        ["Figure", "Value"],
        [
            ["Divergent tail (acked by the old primary, not on DR)", fmt(tail.get("count"))],
            [f"Acked by {old} (the window)", fmt(tail.get("acked_on_old_primary"))],
            ["... acked before the decision (never replicated)", fmt(tail.get("before_decision"))],
            ["... acked after it (split writes not replicated)", fmt(tail.get("after_decision"))],
            [f"Still held by {old} (recoverable by id)", fmt(tail.get("held_on_old_primary"))],
            [f"Not held by {old}", fmt(tail.get("not_held_on_old_primary"))],
            ["In no final read at all (discarded)", fmt(tail.get("nowhere"))],
            [
                "First / last ack (t)",
                f"{fmt_s(tail.get('first_ack_t'))} / {fmt_s(tail.get('last_ack_t'))}",
            ],
        ],
        numeric={1},
        compact=True,
    )


def failover_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    fo = _failover(r)
    if not fo.get("applicable"):
        return []
    old, dr = fo.get("old_primary"), fo.get("dr")
    sw = fo.get("split_writes") if isinstance(fo.get("split_writes"), Mapping) else {}
    fence = fo.get("fence") if isinstance(fo.get("fence"), Mapping) else {}
    b: list[Block] = [Heading(2, "Failover: split writes and the divergent tail", "failover")]
    b.append(
        Para(
            f"Failover of {old} to {dr}, decided at t = {fmt_s(fo.get('decision_t'))}; "
            f"{_fence_text(fence)}. Split writes are writes {old} acknowledged after the "
            "decision; the divergent tail is what it acknowledged that the final read of "
            f"{dr} does not hold."
        )
    )
    b.append(_split_table(sw, dr))
    per = sw.get("per_producer") or {}
    if per:
        b.append(_producer_table(per))
    tail = fo.get("divergent_tail")
    if isinstance(tail, Mapping):
        b.append(_tail_table(tail, old))
    for note in checker(r, CHECKER).get("notes") or []:
        b.append(Note("info", str(note)))
    return b
