"""Timeline: the notable moments of the run (built by checkers.timeline)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import (
    Block,
    Heading,
    Para,
    Table,
)
from kafkadrill.report.format import fmt, wall_text


def timeline_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    b: list[Block] = []
    b.append(Heading(2, "Timeline", "timeline"))
    tl = r.get("timeline") or []
    if tl:
        b.append(
            Table(
                ["t (s)", "UTC", "Kind", "Event"],
                [
                    [
                        fmt(row.get("t")) if row.get("t") is not None else "",
                        wall_text(row.get("wall")),
                        str(row.get("kind", "")),
                        str(row.get("text", "")),
                    ]
                    for row in tl
                ],
                numeric={0},
            )
        )
    else:
        b.append(Para("No timeline (empty history)."))
    return b
