"""Exercise evidence: what an auditor keeps (who ran and approved the drill, the approved plan's
hash, the steady-state check, targets against measured figures, every deviation, the outcome).

report.json carries it as `evidence` (checkers/evidence.py computes it); this section only
formats it, so the Markdown and HTML reports hold the same evidence as the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import Badge, Block, Bullets, Code, Heading, Para, Table
from kafkadrill.report.format import fmt


def _who(ev: Mapping[str, Any]) -> list[list[Any]]:
    sha = ev.get("plan_sha256")
    return [
        ["Operator", str(ev.get("operator") or "not recorded")],
        ["Approved by", str(ev.get("approved_by") or "not recorded")],
        ["Confirmed before start", "yes" if ev.get("confirmed") else "no"],
        ["Approved plan", Code(f"{ev.get('plan_file')} sha256 {sha}") if sha else "not recorded"],
        ["Runtime", str(ev.get("runtime") or "n/a")],
        ["Adapter calls", fmt(ev.get("adapter_calls"))],
        ["Outcome", str(ev.get("outcome") or "n/a")],
    ]


def _steady(ev: Mapping[str, Any]) -> list[Block]:
    steady = ev.get("steady_state")
    if not isinstance(steady, Mapping):
        return [Para("Steady state before the faults: not checked.")]
    checks = steady.get("checks") or []
    rows = [
        [str(c.get("name")), Badge("PASS" if c.get("ok") else "FAIL"), str(c.get("detail") or "")]
        for c in checks
    ]
    head = f"Steady state before the faults: {'met' if steady.get('ok') else 'NOT met'}."
    return [Para(head), *([Table(["Check", "Result", "Detail"], rows)] if rows else [])]


def _targets(ev: Mapping[str, Any]) -> list[Block]:
    rows = [
        [
            str(o.get("name")),
            fmt(o.get("target")),
            fmt(o.get("observed")),
            Badge(str(o.get("verdict"))),
        ]
        for o in ev.get("targets_vs_measured") or []
    ]
    if not rows:
        return []
    return [Table(["Target", "Objective", "Measured", "Verdict"], rows)]


def evidence_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    ev = r.get("evidence")
    if not isinstance(ev, Mapping):
        return []
    b: list[Block] = [Heading(2, "Exercise evidence", "evidence")]
    b.append(Table(["", ""], _who(ev), compact=True))
    b += _steady(ev)
    b += _targets(ev)
    if ev.get("verdict_limited_by"):
        b.append(Para(f"Verdict limited: {ev['verdict_limited_by']}."))
    deviations = [str(d) for d in ev.get("deviations") or []]
    b.append(Para("Deviations:" if deviations else "Deviations: none recorded."))
    if deviations:
        b.append(Bullets(deviations))
    return b
