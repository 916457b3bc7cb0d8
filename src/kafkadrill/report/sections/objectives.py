"""Objectives and the anomalies the scenario expects."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import (
    Badge,
    Block,
    Bullets,
    Heading,
    Note,
    Para,
    Table,
)
from kafkadrill.report.format import fmt, human
from kafkadrill.report.sections.common import status_of


def objectives_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    b: list[Block] = []
    b.append(Heading(2, "Objectives", "objectives"))
    objs = r.get("objectives") or []
    if objs:
        b.append(
            Table(
                ["Objective", "Target", "Observed", "Verdict"],
                [
                    [
                        human(o.get("name", "")),
                        fmt(o.get("target")),
                        fmt(o.get("observed")),
                        Badge(status_of(o.get("verdict"))),
                    ]
                    for o in objs
                ],
                numeric={1, 2},
            )
        )
    else:
        b.append(
            Note(
                "warn",
                "The scenario declares no objectives: the verdict rests on the checkers alone.",
            )
        )
    anomalies = r.get("expected_anomalies") or []
    if anomalies:
        b.append(Para("Expected anomalies (declared by the scenario, reported but allowed):"))
        b.append(Bullets([str(a) for a in anomalies]))
    return b
