"""Findings of a failover's split writes and its fence, from the split_writes checker's figures
(docs/explanation/checkers.md, "split_writes")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafkadrill.checkers.findings.base import Finding, Report, one
from kafkadrill.checkers.findings.text import figures, fmt, num

__all__ = ["fence_did_not_hold", "principals_refused_on_dr", "split_writes"]

CHECKER = "split_writes"
OBJECTIVE = "max_split_writes"


def _objective(report: Report) -> Mapping[str, Any]:
    return next(
        (
            o
            for o in report.get("objectives") or []
            if isinstance(o, Mapping) and o.get("name") == OBJECTIVE
        ),
        {},
    )


def _producers(per: Mapping[str, Any]) -> str:
    """``p1 (straggler, 12), p0 (3)``: most split writes first."""
    rows = sorted(
        ((str(p), v) for p, v in per.items() if isinstance(v, Mapping)),
        key=lambda pv: (-(num(pv[1].get("count")) or 0), pv[0]),
    )
    return ", ".join(
        f"{p} ({'straggler, ' if v.get('straggler') else ''}{fmt(v.get('count'))})" for p, v in rows
    )


def split_writes(report: Report) -> list[Finding]:
    """Writes the old primary acknowledged after the decision: what they are, who made them,
    where they ended up; high when the scenario's max_split_writes objective failed."""
    figs = figures(report, CHECKER)
    sw = figs.get("split_writes")
    if not isinstance(sw, Mapping) or not num(sw.get("count")):
        return []
    old, dr = figs.get("old_primary"), figs.get("dr")
    obj = _objective(report)
    severity = {"FAIL": "high", "PASS": "info"}.get(str(obj.get("verdict")), "medium")
    missed = (
        f"Objective {OBJECTIVE} missed (target {fmt(obj.get('target'))}): "
        if obj.get("verdict") == "FAIL"
        else ""
    )
    where = (
        f"{fmt(sw.get('reached_dr'))} reached {dr}, "
        if sw.get("not_reached_dr") is not None
        else f"{fmt(sw.get('reached_dr'))} were seen on {dr} (its final read did not complete), "
    )
    text = (
        f"{missed}{fmt(sw.get('count'))} writes were acknowledged by {old} after the failover "
        f"decision (split writes), by {_producers(sw.get('per_producer') or {})}: {where}"
        f"{fmt(sw.get('seen_by_consumer'))} were seen by a consumer."
    )
    stragglers = sw.get("stragglers") or []
    move = (
        f" and make sure every producer takes the redirect (stragglers: {', '.join(stragglers)})"
        if stragglers
        else ""
    )
    return [
        one(
            severity,
            text,
            f"Fence {old} before redirecting producers (deny writes with ACLs or close its "
            f"client listeners){move}. Writes that never reached {dr} are the divergent tail: "
            "reconcile them by id before a failback, or they are lost or come back late.",
        )
    ]


def fence_did_not_hold(report: Report) -> list[Finding]:
    """Writes acknowledged by the fenced cluster after its fence took effect."""
    figs = figures(report, CHECKER)
    sw, fence = figs.get("split_writes"), figs.get("fence")
    if not (isinstance(sw, Mapping) and isinstance(fence, Mapping)):
        return []
    acked, sent = num(sw.get("acked_through_fence")), num(sw.get("sent_through_fence"))
    if not acked:
        return []
    how = f"{fence.get('method')}, {fence.get('position')}"
    cluster = fence.get("cluster") or figs.get("old_primary")
    if not sent:
        return [
            one(
                "info",
                f"{fmt(int(acked))} writes were acknowledged by {cluster} after its fence "
                f"({how}) took effect, all sent before it: in flight across the fence.",
                "Not a leak by themselves; count them as split writes and reconcile by id.",
            )
        ]
    return [
        one(
            "high",
            f"The fence of {cluster} ({how}) did not hold: {fmt(int(acked))} writes were "
            f"acknowledged through it after it took effect ({fmt(int(sent))} of them sent "
            "after it).",
            "Verify the fence where producers write, not only where the runbook applied it: "
            "ACLs need the authorizer on every broker and reach all brokers with a delay, an "
            "existing connection may keep producing; check the runbook's fence step detail.",
        )
    ]


def principals_refused_on_dr(report: Report) -> list[Finding]:
    """The authorization checker saw the application's principals refused on the failover's
    target: the DR plan moved the clients to a cluster that does not let them work."""
    after = figures(report, "authorization").get("after_failover")
    if not isinstance(after, Mapping):
        return []
    refused = int(num(after.get("refused_sends")) or 0)
    groups = [str(g) for g in after.get("groups_refused") or []]
    if not refused and not groups:
        return []
    target = after.get("target")
    never = after.get("first_ack_after_decision_s") is None
    what = []
    if refused:
        what.append(f"{fmt(refused)} sends" + (" (every write)" if never else ""))
    if groups:
        what.append(f"consumer group(s) {', '.join(groups)}")
    return [
        one(
            "high" if never or groups else "medium",
            f"After the failover, {target} refused the application's principals: "
            f"{' and '.join(what)} (authorization). MirrorMaker 2 syncs topic ACLs read-only "
            "and group ACLs not at all.",
            f"Create the application's ACLs on {target} before the clients move (a runbook "
            "step: runbooks.failover.grant_acls), or keep them in place there ahead of time; "
            "drill it again.",
        )
    ]
