"""JSON renderer: report.json with the stable keys first, in the contract's order.

The contract (docs/reference/report-layout.md, DESIGN.md "Contracts") fixes the stable keys;
additional keys follow in the order they were built. Readers must ignore keys they do not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["STABLE_KEYS", "render_json"]

STABLE_KEYS = (
    "scenario",
    "run_id",
    "started_at",
    "finished_at",
    "seed",
    "verdict",
    "objectives",
    "rpo",
    "rto",
    "faults",
    "versions",
)


def render_json(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report.json document: stable keys first (present ones only), then the rest."""
    head = {k: report[k] for k in STABLE_KEYS if k in report}
    return {**head, **{k: v for k, v in report.items() if k not in head}}
