"""JSON renderer: report.json, serialised from the typed Report model (report.model).

The contract (docs/reference/report-layout.md, DESIGN.md "Contracts") fixes the stable keys;
they come first, then the additional keys in the model's order. Readers must ignore keys they
do not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafkadrill.report.model import Report, report_document

__all__ = ["STABLE_KEYS", "render_json"]

#: The contract's stable keys: the model's first eleven fields.
STABLE_KEYS: tuple[str, ...] = tuple(Report.model_fields)[:11]


def render_json(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report.json document: stable keys first (present ones only), then the rest."""
    return report_document(report)
