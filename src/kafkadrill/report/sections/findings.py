"""Findings and suggested actions (derived by the checkers.findings rules, shown first)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import (
    Badge,
    Block,
    Heading,
    Para,
    Table,
)


def findings_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    b: list[Block] = []
    # Findings first: what the on-call engineer acts on.
    b.append(Heading(2, "Findings and suggested actions", "findings"))
    findings = r.get("findings") or []
    if findings:
        b.append(
            Table(
                ["Severity", "Finding", "Suggested action"],
                [
                    [
                        Badge(str(f.get("severity", "info")).upper()),
                        str(f.get("text", "")),
                        str(f.get("suggestion", "")),
                    ]
                    for f in findings
                ],
            )
        )
    else:
        b.append(Para("Nothing to report."))
    return b
