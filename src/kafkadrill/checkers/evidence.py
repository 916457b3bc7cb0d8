"""The `evidence` block of report.json: what an exercise report for DORA / SOC 2 A1.3 /
ISO 22301 asks for, gathered from the history and the figures checkers already computed.

Who started the drill and who approved it, the hash of the plan that was approved (plan.txt),
the steady-state check, targets against measured RTO/RPO (the objectives' own figures, never
recomputed), the deviations (faults not verified, heals that failed, adapter calls that failed,
guards that tripped), and the outcome. Pure: history events + the report in, a dict out.

Checker-side (it judges: it caps the verdict) and runtime-free: it needs only the history and
the figures, so the report reads its output and imports no runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafkadrill.history import Ev
from kafkadrill.history.folds import run_bounds


def _first(events: list[dict[str, Any]], typ: str) -> dict[str, Any]:
    return next((e for e in events if e.get("type") == typ), {})


def _run_start(events: list[dict[str, Any]]) -> Mapping[str, Any]:
    return run_bounds(events).start or {}


def unverified_faults(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report.get("faults", []) if not f.get("verified")]


def verdict_limit(events: list[dict[str, Any]], report: dict[str, Any]) -> str | None:
    """Why this run's verdict cannot be PASS although its checkers passed, or None.

    On the external runtime a fault whose effect was not verified (e.g. a command with no
    `node_state` check) proves nothing: the drill is UNKNOWN, never PASS."""
    runtime = _run_start(events).get("runtime")
    if runtime != "external":
        return None
    bad = unverified_faults(report)
    if not bad:
        return None
    ids = ", ".join(f"{f.get('id')} {f.get('type')}" for f in bad)
    return f"fault(s) not verified to take effect: {ids}"


def evidence_block(events: list[dict[str, Any]], report: dict[str, Any]) -> dict[str, Any]:
    start = _run_start(events)
    approval = _first(events, Ev.RUN_APPROVAL)
    steady = [e for e in events if e.get("type") == Ev.STEADY_STATE]
    trips = [e for e in events if e.get("type") == Ev.GUARD_TRIP]
    execs = [e for e in events if e.get("type") == Ev.ADAPTER_EXEC]
    heals = [e for e in events if e.get("type") == Ev.FAULT_HEAL]
    deviations: list[str] = []
    for f in unverified_faults(report):
        deviations.append(
            f"fault {f.get('id')} {f.get('type')} on {f.get('target')} not verified: "
            f"{f.get('verify_detail')}"
        )
    for h in heals:
        if not h.get("ok"):
            deviations.append(f"heal of {h.get('fault_id')} failed: {h.get('detail')}")
    for f in report.get("faults", []):
        if f.get("healed_at") is None:
            deviations.append(f"fault {f.get('id')} {f.get('type')} has no recorded heal")
    for e in execs:
        if not e.get("ok"):
            deviations.append(
                f"{e.get('adapter')} {e.get('operation')} {e.get('target') or ''} failed: "
                f"{e.get('command')} (exit {e.get('exit')})"
            )
    for s in steady:
        if not s.get("ok"):
            bad = [c for c in s.get("checks", []) if not c.get("ok")]
            deviations.append(
                "steady state not met: "
                + "; ".join(f"{c.get('name')}: {c.get('detail')}" for c in bad)
            )
    for t in trips:
        deviations.append(f"guard {t.get('guard')} tripped: {t.get('reason')}")
    if report.get("error"):
        deviations.append(f"run error: {str(report['error']).splitlines()[0]}")
    aborted = trips or any(not s.get("ok") for s in steady)
    reason = None
    if trips:
        reason = str(trips[0].get("reason"))
    elif steady and not steady[-1].get("ok"):
        reason = "steady state not met before any fault"
    objectives = report.get("objectives", [])
    wanted = {"max_rto_seconds", "max_rpo_seconds", "max_lost", "max_read_unavailable_seconds"}
    rto, rpo = report.get("rto") or {}, report.get("rpo") or {}
    return {
        "operator": approval.get("operator"),
        "approved_by": approval.get("approved_by"),
        "confirmed": approval.get("confirmed"),
        "plan_sha256": approval.get("plan_sha256"),
        "plan_file": "plan.txt",
        "runtime": start.get("runtime"),
        "steady_state": steady[-1] if steady else None,
        "targets_vs_measured": [o for o in objectives if o.get("name") in wanted],
        "measured": {
            "write_unavailable_seconds": rto.get("write_unavailable_seconds"),
            "read_unavailable_seconds": rto.get("read_unavailable_seconds"),
            "lost": rpo.get("lost"),
            "rpo_window_seconds": rpo.get("window_seconds"),
        },
        "adapter_calls": len(execs),
        "deviations": deviations,
        "outcome": f"ABORTED: {reason}" if aborted else report.get("verdict"),
        "verdict": report.get("verdict"),
    }
