"""Faults: every injected fault, when it was healed, whether it was verified."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import (
    Badge,
    Block,
    Code,
    Heading,
    Para,
    Table,
)


def faults_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    b: list[Block] = []
    b.append(Heading(2, "Faults", "faults"))
    faults = r.get("faults") or []
    if faults:
        b.append(
            Table(
                ["Fault", "Target", "Injected at", "Healed at", "Verified"],
                [
                    [
                        str(f.get("type")),
                        Code(str(f.get("target"))),
                        str(f.get("injected_at") or "n/a"),
                        str(f.get("healed_at") or "never healed"),
                        Badge("PASS" if f.get("verified") else "FAIL")
                        if f.get("verified") is not None
                        else "n/a",
                    ]
                    for f in faults
                ],
            )
        )
    else:
        b.append(Para("No fault was injected."))
    return b
