"""Findings and suggested actions: checker-side judgement of what the figures mean.

Cause attribution (the RPO window against the replication lag at the fault that caused the
loss), the RTO split into phases, and the suggestions, as small rules in one registered tuple
(:data:`~kafkadrill.checkers.findings.rules.FINDING_RULES`). Their output is part of the
checker results report.json carries (``findings``); the report only lays them out.

Rules read a report-shaped mapping of checker output (``checkers``, ``rpo``, ``rto``,
``objectives``, ``faults``, ``replication_lag_at_faults``, ...), never the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kafkadrill.checkers.findings.rules import (
    FINDING_RULES,
    Finding,
    FindingRule,
    consumer_groups,
    group_table,
    rereads_expected,
)

__all__ = [
    "FINDING_RULES",
    "SEVERITY_ORDER",
    "Finding",
    "FindingRule",
    "consumer_groups",
    "derive_findings",
    "group_table",
    "merge_findings",
    "rereads_expected",
]

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}


def derive_findings(report: Mapping[str, Any]) -> list[Finding]:
    """Findings and suggested actions from the figures: ``{severity, text, suggestion}``,
    every rule's in rule order (not yet sorted by severity)."""
    return [f for rule in FINDING_RULES for f in rule(report)]


def merge_findings(
    given: Iterable[Mapping[str, Any]], report: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``given`` findings first, then the derived ones whose text is not already given, sorted
    by severity (stable: the rule order stays within a severity)."""
    given = [dict(f) for f in given]
    seen = {f.get("text") for f in given}
    derived = [dict(f) for f in derive_findings(report) if f["text"] not in seen]
    return sorted(given + derived, key=lambda f: SEVERITY_ORDER.get(str(f.get("severity")), 9))
