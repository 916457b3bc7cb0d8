"""Produce latency per phase and cluster, and the baseline WAN it was measured on."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import Block, Heading, Para, Table
from kafkadrill.report.format import fmt

PHASE_NAMES = {
    "steady": "before the first fault",
    "under_fault": "while a fault was in force",
    "after_heal": "after the faults were healed",
}


def _ms(v: Any) -> str:
    return "—" if v is None else f"{v:,.1f} ms"


def _rows(per_phase: Mapping[str, Any], label: str = "") -> list[list[Any]]:
    rows = []
    for phase, st in per_phase.items():
        if not st or not st.get("count"):
            continue
        name = PHASE_NAMES.get(phase, phase)
        rows.append(
            [
                *([label] if label else []),
                name,
                fmt(st.get("count")),
                _ms(st.get("p50_ms")),
                _ms(st.get("p99_ms")),
                _ms(st.get("max_ms")),
            ]
        )
    return rows


def latency_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    figs = ((r.get("checkers") or {}).get("latency") or {}).get("figures") or {}
    if not figs:
        return []
    b: list[Block] = [Heading(2, "Produce latency (send → acknowledgement)", "latency")]
    wan = figs.get("wan")
    if wan and wan.get("links"):
        b.append(Para("Baseline WAN in force for the whole run (faults acted on top of it):"))
        b.append(
            Table(
                ["Link", "One way", "Jitter", "Bandwidth"],
                [
                    [
                        str(w.get("link")),
                        _ms(w.get("latency_ms")),
                        f"± {_ms(w.get('jitter_ms'))}",
                        "uncapped"
                        if w.get("bandwidth_kbps") is None
                        else f"{w['bandwidth_kbps']:,} kbit/s",
                    ]
                    for w in wan["links"]
                ],
                compact=True,
            )
        )
    else:
        b.append(Para("No baseline WAN: cross-site paths had no added latency."))
    rows = _rows(figs.get("per_phase") or {})
    if not rows:
        b.append(Para("No acknowledged send to measure."))
        return b
    b.append(Table(["Sent", "Acked", "p50", "p99", "max"], rows, numeric={1, 2, 3, 4}))
    per_cluster = figs.get("per_cluster") or {}
    if len(per_cluster) > 1:
        crow = [row for c, ph in per_cluster.items() for row in _rows(ph, c)]
        b.append(
            Table(["Acked by", "Sent", "Acked", "p50", "p99", "max"], crow, numeric={2, 3, 4, 5})
        )
    return b
