"""HTML renderer of the report's blocks: ONE self-contained file.

The page loads nothing: CSS is inline (the shared :mod:`kafkadrill.report.style`), plots are
base64 data URIs, there is no script, font or external URL; it can be mailed, archived and
opened offline years later.
"""

from __future__ import annotations

import base64
import html
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
from kafkadrill.report.format import fmt_s
from kafkadrill.report.sections import build_blocks
from kafkadrill.report.sections.common import meta_rows, rel_plot, status_of, summary_line
from kafkadrill.report.style import CSS, badge

__all__ = ["render_html"]


# -- HTML ----------------------------------------------------------------------------------
def _h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _html_cell(c: Cell) -> str:
    if isinstance(c, Badge):
        return badge(c.status)
    if isinstance(c, Code):
        return f"<code>{_h(c.text)}</code>"
    if isinstance(c, Link):
        # Only relative links into the run directory: the report must load nothing remote.
        href = c.href if "://" not in c.href and not c.href.startswith("//") else "#"
        return f'<a href="{_h(href)}">{_h(c.text)}</a>'
    return _h(c)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _html_blocks(blocks: Iterable[Block], plots: Mapping[str, Path]) -> list[str]:
    out: list[str] = []
    for blk in blocks:
        if isinstance(blk, Heading):
            badge = f" {_html_cell(Badge(blk.badge))}" if blk.badge else ""
            out.append(f'<h{blk.level} id="{_h(blk.anchor)}">{_h(blk.text)}{badge}</h{blk.level}>')
        elif isinstance(blk, Para):
            cls = f' class="{_h(blk.cls)}"' if blk.cls else ""
            out.append(f"<p{cls}>{_h(blk.text)}</p>")
        elif isinstance(blk, Note):
            out.append(f'<div class="note {_h(blk.kind)}">{_h(blk.text)}</div>')
        elif isinstance(blk, Bullets):
            out.append("<ul>" + "".join(f"<li>{_h(i)}</li>" for i in blk.items) + "</ul>")
        elif isinstance(blk, Table):

            def cls(i: int, numeric: set[int] = blk.numeric) -> str:
                return ' class="num"' if i in numeric else ""

            head = "".join(f"<th{cls(i)}>{_h(h)}</th>" for i, h in enumerate(blk.headers))
            body = "".join(
                "<tr>"
                + "".join(f"<td{cls(i)}>{_html_cell(c)}</td>" for i, c in enumerate(row))
                + "</tr>"
                for row in blk.rows
            )
            tcls = ' class="kv"' if blk.compact else ""
            out.append(f"<table{tcls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(blk, Image):
            out.append(
                f'<figure><img alt="{_h(blk.title)}" src="{_data_uri(plots[blk.key])}">'
                f"<figcaption>{_h(blk.title)} ({_h(rel_plot(blk.key, plots))})"
                "</figcaption></figure>"
            )
        elif isinstance(blk, Cards):
            out.append(
                '<div class="cards">'
                + "".join(
                    f'<div class="card{" c-" + _h(s) if s else ""}"><div class="n">{_h(v)}</div>'
                    f'<div class="l">{_h(label)}</div></div>'
                    for v, label, s in blk.items
                )
                + "</div>"
            )
        elif isinstance(blk, Gantt):
            span = max((z for _, _, z, _ in blk.rows), default=0.0) or 1.0
            rows = []
            for label, a, z, kind in blk.rows:
                left, width = 100.0 * a / span, max(100.0 * (z - a) / span, 0.4)
                text = fmt_s(round(z, 3)) if kind == "milestone" else fmt_s(round(z - a, 3))
                rows.append(
                    f'<div class="g-row"><div class="g-label">{_h(label)}</div>'
                    f'<div class="g-track"><div class="g-bar g-{kind}" '
                    f'style="left:{left:.2f}%;width:{width:.2f}%"></div>'
                    f'<div class="g-val" style="left:{min(left + width, 88):.2f}%">{_h(text)}'
                    "</div></div></div>"
                )
            out.append('<div class="gantt">' + "".join(rows) + "</div>")
    return out


def render_html(report: Mapping[str, Any], plots: Mapping[str, Path]) -> str:
    """The retrospective as ONE self-contained HTML file (inline CSS, plots as data URIs)."""
    r = report
    verdict = status_of(r.get("verdict"))
    blocks = build_blocks(r, plots)
    nav = " ".join(
        f'<a href="#{_h(b.anchor)}">{_h(b.text)}</a>'
        for b in blocks
        if isinstance(b, Heading) and b.level == 2
    )
    meta = "".join(f"<tr><td>{_h(k)}</td><td>{_html_cell(v)}</td></tr>" for k, v in meta_rows(r))
    desc = f'<p class="desc">{_h(r["description"])}</p>' if r.get("description") else ""
    title = f"{verdict} — {r.get('scenario')} — {r.get('run_id')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_h(title)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f'<header class="banner v-{verdict}"><div class="verdict">{verdict}</div><div>',
        f"<h1>Drill report: {_h(r.get('scenario'))}</h1>",
        f"<p>{_h(summary_line(r))}</p></div></header>",
        desc,
        f'<table class="meta">{meta}</table>',
        f"<nav>Contents: {nav}</nav>",
        *_html_blocks(blocks, plots),
        '<p class="small">Generated by kafkadrill from the run\'s history; figures are in '
        "report.json.</p>",
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"
