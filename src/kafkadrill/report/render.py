"""The retrospective: report.json, report.md and one self-contained report.html.

This module is the public entry point; the work is split by concern:

- :mod:`~kafkadrill.report.format`: text of a figure (``fmt``, ``fmt_s``);
- :mod:`~kafkadrill.report.blocks`: the block model both documents are rendered from;
- :mod:`~kafkadrill.report.sections`: one module per report section, report dict -> blocks;
- :mod:`~kafkadrill.checkers.findings`: findings and suggested actions (checker-side rules);
- :mod:`~kafkadrill.report.markdown`, :mod:`~kafkadrill.report.html_page`,
  :mod:`~kafkadrill.report.json_doc`: one renderer per format;
- :mod:`~kafkadrill.report.style`: the HTML style shared with the compare and index pages;
- :mod:`~kafkadrill.report.write`: writing a run directory (plots, documents, scrub, manifest).

Every figure comes from the checkers (through the report dict); nothing here reads the history
except to hand its frames to the checkers' timeline and plot series.
"""

from __future__ import annotations

from kafkadrill.checkers.findings import consumer_groups, derive_findings
from kafkadrill.checkers.timeline import build_timeline
from kafkadrill.report.format import fmt, fmt_s
from kafkadrill.report.html_page import render_html
from kafkadrill.report.markdown import render_markdown
from kafkadrill.report.sections import build_blocks
from kafkadrill.report.write import prepare_report, write_report

__all__ = [
    "build_blocks",
    "build_timeline",
    "consumer_groups",
    "derive_findings",
    "fmt",
    "fmt_s",
    "prepare_report",
    "render_html",
    "render_markdown",
    "write_report",
]
