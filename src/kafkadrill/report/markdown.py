"""Markdown renderer of the report's blocks (plots linked as ``plots/<name>.png``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import (
    Badge,
    Block,
    Bullets,
    Cards,
    Cell,
    Code,
    Gantt,
    Heading,
    Image,
    Link,
    Note,
    Para,
    Table,
)
from kafkadrill.report.format import fmt
from kafkadrill.report.sections import build_blocks
from kafkadrill.report.sections.common import meta_rows, rel_plot, status_of, summary_line

__all__ = ["render_markdown"]


# -- Markdown ------------------------------------------------------------------------------
def _md_escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("\n", " ")
        .replace("<", "&lt;")
        .replace("*", "\\*")
        .replace("_", "\\_")
    )


def _md_cell(c: Cell) -> str:
    if isinstance(c, Badge):
        return f"**{c.status}**"
    if isinstance(c, Code):
        return "`" + c.text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"
    if isinstance(c, Link):
        return f"[{_md_escape(c.text)}]({c.href})"
    return _md_escape(str(c))


def _md_blocks(blocks: Iterable[Block], plots: Mapping[str, Path]) -> list[str]:
    out: list[str] = []
    for blk in blocks:
        if isinstance(blk, Heading):
            badge = f" — {blk.badge}" if blk.badge else ""
            out += ["#" * blk.level + " " + blk.text + badge, ""]
        elif isinstance(blk, Para):
            out += [_md_escape(blk.text), ""]
        elif isinstance(blk, Note):
            label = {"error": "Error", "warn": "Warning", "info": "Note"}.get(blk.kind, "Note")
            out += [f"> **{label}:** {_md_escape(blk.text)}", ""]
        elif isinstance(blk, Bullets):
            out += [f"- {_md_escape(i)}" for i in blk.items] + [""]
        elif isinstance(blk, Table):
            out.append("| " + " | ".join(_md_escape(h) for h in blk.headers) + " |")
            out.append(
                "|"
                + "|".join("---:" if i in blk.numeric else "---" for i in range(len(blk.headers)))
                + "|"
            )
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in blk.rows]
            out.append("")
        elif isinstance(blk, Image):
            out += [f"![{blk.title}]({rel_plot(blk.key, plots)})", ""]
        elif isinstance(blk, Cards):
            out += [" · ".join(f"**{v}** {label}" for v, label, _ in blk.items), ""]
        elif isinstance(blk, Gantt):
            out.append("| Bar | From (s) | To (s) |")
            out.append("|---|---:|---:|")
            out += [f"| {_md_escape(label)} | {fmt(a)} | {fmt(z)} |" for label, a, z, _ in blk.rows]
            out.append("")
    return out


def render_markdown(report: Mapping[str, Any], plots: Mapping[str, Path]) -> str:
    """The retrospective as Markdown; plots linked as ``plots/<name>.png``."""
    r = report
    verdict = status_of(r.get("verdict"))
    out = [
        f"# Drill report: {r.get('scenario')}",
        "",
        f"> **Verdict: {verdict}** — {_md_escape(summary_line(r))}",
        "",
    ]
    if r.get("description"):
        out += [_md_escape(str(r["description"])), ""]
    out += ["| | |", "|---|---|"]
    out += [f"| {k} | {_md_cell(v)} |" for k, v in meta_rows(r)] + [""]
    out += _md_blocks(build_blocks(r, plots), plots)
    return "\n".join(out).rstrip() + "\n"
