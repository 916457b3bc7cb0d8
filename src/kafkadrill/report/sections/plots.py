"""Plots of the whole run (rates, replication lag)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import (
    Block,
    Heading,
    Image,
    Note,
    Para,
)
from kafkadrill.report.sections.common import PLOT_TITLES


def plots_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    b: list[Block] = []
    b.append(Heading(2, "Plots", "plots"))
    b.append(
        Para(
            "Time axis: seconds since run start. Shaded bands are faults (F1, F2…: "
            "inject to heal); dashed lines are runbook steps (R1, R2…)."
        )
    )
    if "rates" in plots:
        b.append(Image("rates", PLOT_TITLES["rates"]))
    if "replication_lag" in plots:
        b.append(Image("replication_lag", PLOT_TITLES["replication_lag"]))
    else:
        b.append(
            Note(
                "info",
                "No replication_lag probes were recorded, so there is no replication-lag plot.",
            )
        )
    return b
