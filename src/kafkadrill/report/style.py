"""One HTML style for every page kafkadrill writes: the report, compare and index pages.

Inline CSS only (pages load nothing) and one verdict badge: the same colours and classes on every
page, so a FAIL looks the same in a report, a comparison and the index of runs.
"""

from __future__ import annotations

import html

__all__ = ["CSS", "OTHER_COLOR", "VERDICT_COLORS", "badge", "verdict_color"]

#: Verdict colours, shared by the badges and the plots of compare and index pages.
VERDICT_COLORS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "UNKNOWN": "#9a6700"}
OTHER_COLOR = "#6e7781"  # ERROR, NO REPORT, UNREADABLE, MEASURED, INFO
# Statuses with their own badge class; any other text gets b-OTHER (a class name has no spaces).
_CLASSES = frozenset({*VERDICT_COLORS, "HIGH", "MEDIUM", "LOW", "INFO", "MEASURED"})

CSS = """
:root { --pass:#1a7f37; --fail:#cf222e; --unknown:#9a6700; --ink:#1f2328; --mute:#59636e;
  --line:#d1d9e0; --bg:#f6f8fa; --other:#6e7781; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color:var(--ink); background:#fff; }
main { max-width:1160px; margin:0 auto; padding:24px 28px 64px; }
h1 { font-size:26px; margin:0 0 6px; }
header.banner { display:flex; gap:24px; align-items:center; padding:20px 24px;
  border-radius:10px; color:#fff; }
header.banner .verdict { font-size:44px; font-weight:800; letter-spacing:2px;
  padding:6px 22px; border:3px solid rgba(255,255,255,.85); border-radius:8px; }
header.banner h1 { margin:0 0 4px; font-size:26px; }
header.banner p { margin:0; opacity:.95; }
.v-PASS { background:var(--pass); } .v-FAIL { background:var(--fail); }
.v-UNKNOWN { background:var(--unknown); }
p.desc { color:var(--mute); margin:14px 0 8px; }
table { border-collapse:collapse; width:100%; margin:8px 0 18px; font-size:14px; }
th, td { border:1px solid var(--line); padding:6px 9px; text-align:left; vertical-align:top; }
th { background:var(--bg); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.meta, table.kv { width:auto; min-width:50%; }
table.meta td:first-child { font-weight:600; background:var(--bg); white-space:nowrap; }
code { font:13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background:var(--bg); padding:1px 4px; border-radius:4px; word-break:break-all; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; color:#fff;
  font-size:12px; font-weight:700; letter-spacing:.5px; }
.b-PASS { background:var(--pass); } .b-FAIL, .b-HIGH { background:var(--fail); }
.b-UNKNOWN, .b-MEDIUM { background:var(--unknown); } .b-LOW { background:#0969da; }
.b-INFO, .b-MEASURED, .b-OTHER { background:var(--other); }
h2 { margin:34px 0 10px; padding-bottom:4px; border-bottom:2px solid var(--line);
  font-size:21px; }
h3 { margin:22px 0 6px; font-size:17px; }
nav { margin:14px 0 0; font-size:14px; color:var(--mute); }
nav a { color:#0969da; text-decoration:none; margin-right:14px; white-space:nowrap; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:18px 0 8px; }
.card { flex:1 1 150px; border:1px solid var(--line); border-radius:8px; padding:10px 14px;
  background:var(--bg); }
.card .n { font-size:24px; font-weight:700; font-variant-numeric:tabular-nums; }
.card .l { font-size:13px; color:var(--mute); }
.card.c-FAIL { border-color:var(--fail); } .card.c-FAIL .n { color:var(--fail); }
.note { border-left:4px solid #0969da; background:#ddf4ff; padding:8px 12px;
  margin:10px 0 16px; border-radius:4px; }
.note.warn { border-color:var(--unknown); background:#fff8c5; }
.note.error { border-color:var(--fail); background:#ffebe9; }
figure { margin:12px 0 22px; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:6px; }
figcaption { font-size:13px; color:var(--mute); }
.small { font-size:13px; color:var(--mute); }
a { color:#0969da; }
img { max-width:100%; }
table.wide { font-size:13px; } .badge + .badge { margin-left:2px; }
.gantt { margin:6px 0 18px; font-size:13px; }
.g-row { display:flex; align-items:center; height:24px; }
.g-label { width:260px; flex:none; padding-right:10px; text-align:right; white-space:nowrap;
  overflow:hidden; text-overflow:ellipsis; }
.g-track { position:relative; flex:1; height:100%; border-left:1px solid var(--mute);
  margin-right:70px; }
.g-bar { position:absolute; top:5px; height:14px; border-radius:3px; }
.g-milestone { background:#afb8c1; } .g-step { background:#0969da; }
.g-fail { background:var(--fail); }
.g-val { position:absolute; top:3px; padding-left:6px; white-space:nowrap; color:var(--mute); }
@media print { main { max-width:none; } h2 { break-after:avoid; } figure { break-inside:avoid; } }
"""


def verdict_color(status: str) -> str:
    return VERDICT_COLORS.get(status, OTHER_COLOR)


def badge(status: str, count: int | None = None) -> str:
    """``<span class="badge b-STATUS">STATUS</span>`` (``STATUS×count`` with a count)."""
    cls = status if status in _CLASSES else "OTHER"
    text = status if count is None else f"{status}×{count}"
    return f'<span class="badge b-{cls}">{html.escape(text)}</span>'
