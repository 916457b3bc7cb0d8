"""JSON renderer: report.json, serialised from the typed Report model (report.model).

The contract (docs/reference/report-layout.md, DESIGN.md "Contracts") fixes the stable keys;
they come first, then the additional keys in the order the report was built (the model's).
Readers must ignore keys they do not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafkadrill.report.model import STABLE_KEYS, report_document

__all__ = ["STABLE_KEYS", "render_json"]


def render_json(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report.json document: stable keys first (present ones only), then the rest."""
    return report_document(report)
