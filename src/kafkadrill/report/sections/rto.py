"""RTO: recovery by phase, recovery chart, runbook steps, per-group catch-up."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import (
    Badge,
    Block,
    Cell,
    Code,
    Gantt,
    Heading,
    Para,
    Table,
)
from kafkadrill.report.format import fmt_s, human, num

#: What each RTO phase measures. The recovery checker's names (``*_seconds``) are offsets from
#: the first fault ("milestones") except ``runbook_seconds`` (a duration); short names are
#: accepted for hand-written reports.
PHASE_HELP = {
    "detection_seconds": "first fault → first runbook step (outage detected)",
    "runbook_seconds": "first runbook step start → last runbook step end",
    "first_write_on_target_seconds": "first fault → first acknowledged write on the failover "
    "cluster",
    "first_read_on_target_seconds": "first fault → first record consumed on the failover cluster",
    "caught_up_seconds": "first fault → slowest redirected consumer group caught up",
    "detection": "fault → outage detected",
    "decision": "detection → decision to fail over",
    "failover": "failover steps (offset translation, redirects)",
    "first_write": "fault → first acknowledged write on the failover cluster",
    "first_read": "fault → first record consumed on the failover cluster",
    "caught_up": "fault → consumers caught up",
}
#: Phases that are offsets from the first fault: drawn as bars from 0 in the recovery chart.
MILESTONES = (
    "detection_seconds",
    "first_write_on_target_seconds",
    "first_read_on_target_seconds",
    "caught_up_seconds",
)


def _unavailability(rto: Mapping[str, Any]) -> Table:
    writers: Mapping[str, Any] = rto.get("write_unavailable_per_producer") or {}
    return Table(
        ["Figure", "Value"],
        [
            ["Writes unavailable", fmt_s(rto.get("write_unavailable_seconds"))],
            ["Reads unavailable", fmt_s(rto.get("read_unavailable_seconds"))],
            # Several writers: one region's can be down while another's keep the
            # overall figure near zero.
            *(
                [
                    f"Writes unavailable for {name} ({' → '.join(w['clusters'])})",
                    fmt_s(w["seconds"]),
                ]
                for name, w in sorted(writers.items())
                if len(writers) > 1
            ),
        ],
        numeric={1},
        compact=True,
    )


def _phase_table(phases: Mapping[str, Any]) -> list[Block]:
    numeric = {k: v for k, v in phases.items() if num(v) is not None or v is None}
    if not numeric:
        return []
    return [
        Table(
            ["Phase", "Seconds", "What it measures"],
            [
                [human(k.removesuffix("_seconds")), fmt_s(v), PHASE_HELP.get(k, "")]
                for k, v in numeric.items()
            ],
            numeric={1},
        )
    ]


def _chart_and_steps(phases: Mapping[str, Any]) -> list[Block]:
    """The recovery chart (milestones and runbook steps) and the runbook-step table."""
    b: list[Block] = []
    steps = phases.get("steps") if isinstance(phases.get("steps"), Mapping) else {}
    gantt = [
        (human(k.removesuffix("_seconds")), 0.0, float(phases[k]), "milestone")
        for k in MILESTONES
        if num(phases.get(k)) is not None
    ]
    step_rows: list[list[Cell]] = []
    for name, st in steps.items():
        if not isinstance(st, Mapping):
            continue
        since, dur = num(st.get("since_fault_seconds")), num(st.get("duration_seconds"))
        failed = st.get("status") not in ("ok", None)
        if since is not None:  # a bar's two ends, for drawing only
            gantt.append((str(name), since, since + (dur or 0.0), "fail" if failed else "step"))
        step_rows.append(
            [
                Code(str(name)),
                Badge("FAIL") if failed else str(st.get("status")),
                fmt_s(st.get("since_fault_seconds")),
                fmt_s(st.get("duration_seconds")),
            ]
        )
    if gantt:
        b.append(
            Para(
                "Recovery chart (seconds since the fault; grey bars run from the fault to a "
                "milestone, coloured bars are runbook steps):",
                "small",
            )
        )
        b.append(Gantt(sorted(gantt, key=lambda g: (g[1], g[2]))))
    if step_rows:
        b.append(Para("Runbook steps:"))
        b.append(
            Table(
                ["Step", "Status", "Started (s after fault)", "Duration"], step_rows, numeric={2, 3}
            )
        )
    return b


def _caught_up(phases: Mapping[str, Any]) -> list[Block]:
    per_group = phases.get("caught_up_per_group")
    if not isinstance(per_group, Mapping) or not per_group:
        return []
    return [
        Table(
            ["Group", "Caught up (s after fault)"],
            [[Code(str(g)), fmt_s(v) if v is not None else "never"] for g, v in per_group.items()],
            numeric={1},
            compact=True,
        )
    ]


def rto_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    rto = r.get("rto") or {}
    phases = rto.get("phases") or {}
    b: list[Block] = [Heading(2, "RTO: recovery by phase", "rto"), _unavailability(rto)]
    b += _phase_table(phases)
    b += _chart_and_steps(phases)
    b += _caught_up(phases)
    if not phases:
        b.append(Para("No RTO phases were recorded."))
    return b
