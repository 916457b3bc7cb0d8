"""The report's sections, in document order; each turns the report dict into blocks.

A section only formats figures the report dict already holds (checker output); it never reads
the history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import Block
from kafkadrill.report.sections.appendix import appendix_section
from kafkadrill.report.sections.duplicates import duplicates_section
from kafkadrill.report.sections.evidence import evidence_section
from kafkadrill.report.sections.failover import failover_section
from kafkadrill.report.sections.faults import faults_section
from kafkadrill.report.sections.findings import findings_section
from kafkadrill.report.sections.groups import groups_section
from kafkadrill.report.sections.latency import latency_section
from kafkadrill.report.sections.metadata import metadata_section
from kafkadrill.report.sections.objectives import objectives_section
from kafkadrill.report.sections.per_minute import per_minute_section
from kafkadrill.report.sections.plots import plots_section
from kafkadrill.report.sections.replication import replication_section
from kafkadrill.report.sections.rpo import rpo_section
from kafkadrill.report.sections.rto import rto_section
from kafkadrill.report.sections.summary import key_figures
from kafkadrill.report.sections.timeline import timeline_section
from kafkadrill.report.sections.transactions import transactions_section

__all__ = ["SECTIONS", "build_blocks"]

Section = Callable[[Mapping[str, Any], Mapping[str, Path]], list[Block]]

#: Document order (findings first: what the on-call engineer acts on).
SECTIONS: tuple[Section, ...] = (
    key_figures,
    findings_section,
    objectives_section,
    rpo_section,
    rto_section,
    latency_section,
    per_minute_section,
    duplicates_section,
    transactions_section,
    failover_section,
    replication_section,
    metadata_section,
    groups_section,
    faults_section,
    timeline_section,
    plots_section,
    evidence_section,
    appendix_section,
)


def build_blocks(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    """Everything after the header, as blocks (shared by Markdown and HTML)."""
    return [blk for section in SECTIONS for blk in section(r, plots)]
