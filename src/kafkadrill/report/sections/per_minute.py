"""Minute by minute (long drills): the per_minute checker's table, shown when the run lasted
ten minutes or more (shorter runs read better from the plots)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import Block, Heading, Para, Table
from kafkadrill.report.format import fmt


def _lag(v: Any) -> str:
    return "—" if v is None else fmt(v)


def per_minute_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    figs = ((r.get("checkers") or {}).get("per_minute") or {}).get("figures") or {}
    if not figs.get("long") or not figs.get("minutes"):
        return []
    rows = [
        [
            fmt(m.get("minute")),
            fmt(m.get("from_t")),
            fmt(m.get("acked")),
            fmt(m.get("failed_or_unknown")),
            fmt(m.get("received")),
            _lag(m.get("max_replication_lag")),
            ", ".join(f"{g} {fmt(n)}" for g, n in (m.get("consumer_lag_at_end") or {}).items())
            or "—",
        ]
        for m in figs["minutes"]
    ]
    return [
        Heading(2, "Minute by minute", "per-minute"),
        Para(
            "Each minute of the run clock (from the run's start; the scenario's times count "
            "from the fault phase): acknowledgements, sends failed or with an unknown outcome, "
            "records the consumer groups received, the highest replication lag a probe saw "
            "(messages), and each group's lag at the minute's end."
        ),
        Table(
            [
                "Minute",
                "From (s)",
                "Acked",
                "Failed or unknown",
                "Received",
                "Max replication lag",
                "Consumer lag at end",
            ],
            rows,
            numeric={0, 1, 2, 3, 4, 5},
        ),
    ]
