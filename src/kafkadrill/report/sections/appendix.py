"""Appendix A (every checker: status, figures, notes, evidence) and B (versions, files)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import (
    Block,
    Bullets,
    Cell,
    Code,
    Heading,
    Link,
    Note,
    Para,
    Table,
)
from kafkadrill.report.format import fmt
from kafkadrill.report.sections.common import status_of, version_rows

EVIDENCE_ROWS = 10


def _fig_cell(v: Any) -> Cell:
    text = fmt(v)
    if len(text) > 300:  # keep nested figure dumps readable; report.json has them whole
        text = text[:300] + " … (truncated; see report.json)"
    return Code(text) if isinstance(v, Mapping | list) else text


def appendix_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    b: list[Block] = []
    b.append(Heading(2, "Appendix A: checkers", "checkers"))
    b.append(
        Para(
            "Raw checker verdicts. The drill verdict comes from the objectives; a checker "
            "FAIL on an anomaly the scenario allows does not fail the drill. A checker "
            "that crashed or could not decide is UNKNOWN, never PASS."
        )
    )
    checkers = r.get("checkers") or {}
    if not checkers:
        b.append(Note("warn", "No checker results in this report."))
    for name, c in checkers.items():
        c = c if isinstance(c, Mapping) else {}
        status = status_of(c.get("status"))
        b.append(Heading(3, f"Checker {name}", f"checker-{name}", badge=status))
        if status == "UNKNOWN":
            b.append(
                Note(
                    "warn",
                    f"Checker {name} is UNKNOWN: it could not decide. This is "
                    "not a pass; the property it checks is unproven.",
                )
            )
        figs = c.get("figures") or {}
        if figs:
            b.append(
                Table(
                    ["Figure", "Value"],
                    [[Code(str(k)), _fig_cell(v)] for k, v in figs.items()],
                    compact=True,
                )
            )
        notes = [str(n) for n in c.get("notes") or []]
        if notes:
            b.append(Bullets(notes))
        ev = [e for e in c.get("evidence") or [] if isinstance(e, Mapping)]
        if ev:
            cols = list(dict.fromkeys(k for e in ev[:EVIDENCE_ROWS] for k in e))
            b.append(Para(f"Evidence ({min(len(ev), EVIDENCE_ROWS)} of {len(ev)} rows):"))
            b.append(Table(cols, [[fmt(e.get(k)) for k in cols] for e in ev[:EVIDENCE_ROWS]]))

    b.append(Heading(2, "Appendix B: environment and files", "environment"))
    topo = r.get("topology")
    if isinstance(topo, Mapping):
        if topo.get("reused"):
            b.append(
                Para(
                    f"Topology: kept from an earlier drill (drill {topo.get('drill')} on it, "
                    f"started by the run in {topo.get('started_in')}, where the nodes' logs "
                    f"are), after a verified reset ({fmt(topo.get('reset_seconds'))} s):"
                )
            )
            b.append(Bullets([str(x) for x in topo.get("reset") or []]))
        elif (r.get("versions") or {}).get("runtime") == "external":
            b.append(
                Para(
                    "Topology: the team's own clusters (external runtime); kafkadrill "
                    "started and stopped none of it."
                )
            )
        else:
            why = topo.get("why_fresh")
            b.append(Para("Topology: started for this drill" + (f" ({why})." if why else ".")))
    b.append(
        Table(
            ["Component", "Version"],
            [[k, Code(v)] for k, v in version_rows(r.get("versions") or {})],
            compact=True,
        )
    )
    files = r.get("report_files") or {}
    if files:
        b.append(
            Para(
                "Files in this run directory (integrity: MANIFEST.sha256, check with "
                "'sha256sum -c MANIFEST.sha256'):"
            )
        )
        b.append(
            Table(["File", "Contents"], [[Link(str(k), str(k)), str(v)] for k, v in files.items()])
        )
    return b
    return b
