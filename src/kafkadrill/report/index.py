"""reports/index.html (+ index.md): every run, newest first, and a trend per scenario.

For quarterly drills: an auditor opens one page and sees every run with its verdict and figures,
and per scenario whether loss and recovery time are getting better or worse. Runs that crashed
before writing report.json are listed too (verdict "NO REPORT"): a missing report is evidence.
Trend plots go to ``reports/_index/<scenario>.png`` (linked from index.md, embedded in
index.html, which stays self-contained like every report).
"""

from __future__ import annotations

import base64
import html
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kafkadrill.report.store import REPORT_HTML, REPORT_JSON, iter_run_dirs, write_text
from kafkadrill.report.style import CSS, badge, verdict_color

__all__ = ["INDEX_ASSETS", "RunSummary", "build_index", "collect_runs"]

INDEX_ASSETS = "_index"  # under reports/; a leading "_" is never a scenario (see store)
_NO_TREND = "No trend: no run of this scenario recorded lost messages or RTO figures."


@dataclass
class RunSummary:
    scenario: str
    stamp: str  # run directory name (UTC start stamp)
    rel_dir: str  # "<scenario>/<stamp>", relative to reports/
    started_at: str | None
    verdict: str  # PASS | FAIL | UNKNOWN | NO REPORT | UNREADABLE
    lost: Any = None
    window_seconds: Any = None
    write_unavailable_seconds: Any = None
    read_unavailable_seconds: Any = None
    has_html: bool = False


def collect_runs(reports_dir: Path | str) -> list[RunSummary]:
    """Every run directory under ``reports_dir``, newest first."""
    root = Path(reports_dir)
    runs: list[RunSummary] = []
    for run in iter_run_dirs(root):
        s = RunSummary(
            scenario=run.parent.name,
            stamp=run.name,
            rel_dir=run.relative_to(root).as_posix(),
            started_at=None,
            verdict="NO REPORT",
            has_html=(run / REPORT_HTML).exists(),
        )
        rj = run / REPORT_JSON
        if rj.exists():
            try:
                r = orjson.loads(rj.read_bytes())
                rpo, rto = r.get("rpo") or {}, r.get("rto") or {}
                s.scenario = str(r.get("scenario") or s.scenario)
                s.started_at = r.get("started_at")
                s.verdict = str(r.get("verdict") or "UNKNOWN")
                s.lost = rpo.get("lost")
                s.window_seconds = rpo.get("window_seconds")
                s.write_unavailable_seconds = rto.get("write_unavailable_seconds")
                s.read_unavailable_seconds = rto.get("read_unavailable_seconds")
            except (orjson.JSONDecodeError, AttributeError, OSError):
                s.verdict = "UNREADABLE"
        runs.append(s)
    # The directory stamp is the run's start in UTC; "-2" suffixes order same-second runs.
    runs.sort(key=lambda s: (s.stamp.split("-")[0], _suffix(s.stamp), s.rel_dir), reverse=True)
    return runs


def _suffix(stamp: str) -> int:
    _, _, n = stamp.partition("-")
    return int(n) if n.isdigit() else 1


def _f(v: Any, unit: str = "") -> str:
    if v is None or isinstance(v, bool):
        return "n/a" if v is None else str(v)
    if isinstance(v, int):
        return f"{v:,}{unit}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "n/a"
        text = f"{round(v, 3):,.3f}".rstrip("0").rstrip(".")
        return f"{text}{unit}"
    return f"{v}{unit}"


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan


def _trend_plot(scenario: str, runs: list[RunSummary], path: Path) -> Path | None:
    """Lost messages and RTO over a scenario's runs (oldest left), dots coloured by verdict.

    None when no run has a figure (an empty chart would read as "zero")."""
    chrono = list(reversed(runs))
    values = [_num(v) for r in chrono for v in (r.lost, r.write_unavailable_seconds)]
    if all(math.isnan(v) for v in values):
        path.unlink(missing_ok=True)
        return None
    x = list(range(len(chrono)))
    labels = [r.stamp[:8] for r in chrono]  # YYYYMMDD: quarterly drills are days apart
    colors = [verdict_color(r.verdict) for r in chrono]
    fig = Figure(figsize=(10, 3.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(x, [_num(r.lost) for r in chrono], color="#999999", lw=1, zorder=1)
    ax1.scatter(x, [_num(r.lost) for r in chrono], c=colors, s=36, zorder=2)
    ax1.set_title(f"{scenario}: lost messages per run", fontsize=10, loc="left")
    ax1.set_ylabel("lost messages")
    ax2.plot(
        x,
        [_num(r.write_unavailable_seconds) for r in chrono],
        color="#0969da",
        lw=1.2,
        marker="o",
        ms=4,
        label="writes unavailable",
    )
    ax2.plot(
        x,
        [_num(r.read_unavailable_seconds) for r in chrono],
        color="#8250df",
        lw=1.2,
        marker="s",
        ms=4,
        ls="--",
        label="reads unavailable",
    )
    ax2.set_title(f"{scenario}: RTO per run", fontsize=10, loc="left")
    ax2.set_ylabel("seconds")
    ax2.legend(fontsize=8, frameon=False, loc="best")
    step = max(1, len(x) // 8)  # at most ~8 date labels: they never overlap
    for ax in (ax1, ax2):
        ax.set_xticks(x[::step], labels[::step], fontsize=8)
        ax.set_xlabel("run (UTC start date)")
        ax.set_ylim(bottom=0)
        ax.set_xlim(-0.5, max(len(x) - 0.5, 0.5))
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    return path


def build_index(reports_dir: Path | str) -> Path:
    """Write ``reports_dir/index.html`` and ``index.md``; returns the HTML path."""
    root = Path(reports_dir)
    root.mkdir(parents=True, exist_ok=True)
    runs = collect_runs(root)
    by_scenario: dict[str, list[RunSummary]] = defaultdict(list)
    for r in runs:
        by_scenario[r.rel_dir.split("/")[0]].append(r)
    trends = {
        scen: _trend_plot(rs[0].scenario, rs, root / INDEX_ASSETS / f"{scen}.png")
        for scen, rs in sorted(by_scenario.items())
    }
    headers = [
        "Scenario",
        "Run (UTC)",
        "Started",
        "Verdict",
        "Lost",
        "RPO window",
        "Writes unavailable",
        "Reads unavailable",
        "Report",
    ]

    def cells(r: RunSummary) -> list[str]:
        return [
            r.scenario,
            r.stamp,
            r.started_at or "n/a",
            r.verdict,
            _f(r.lost),
            _f(r.window_seconds, " s"),
            _f(r.write_unavailable_seconds, " s"),
            _f(r.read_unavailable_seconds, " s"),
        ]

    # -- Markdown
    md = [
        "# kafkadrill runs",
        "",
        f"{len(runs)} runs in {len(by_scenario)} scenarios, newest first.",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if 4 <= i <= 7 else "---" for i in range(len(headers))) + "|",
    ]
    for r in runs:
        target = f"{r.rel_dir}/{REPORT_HTML}" if r.has_html else r.rel_dir
        md.append(
            "| " + " | ".join(c.replace("|", "\\|") for c in cells(r)) + f" | [report]({target}) |"
        )
    md.append("")
    for scen, path in trends.items():
        md += [f"## {scen}", ""]
        md += [f"![{scen} trend]({path.relative_to(root).as_posix()})" if path else _NO_TREND, ""]

    # -- HTML
    rows = []
    for r in runs:
        c = [html.escape(x) for x in cells(r)]
        c[3] = badge(r.verdict)
        target = f"{r.rel_dir}/{REPORT_HTML}" if r.has_html else f"{r.rel_dir}/"
        tds = "".join(
            f'<td class="num">{v}</td>' if 4 <= i <= 7 else f"<td>{v}</td>" for i, v in enumerate(c)
        )
        rows.append(f'<tr>{tds}<td><a href="{html.escape(target)}">report</a></td></tr>')
    sections = []
    for scen, path in trends.items():
        if path is None:
            sections.append(f'<h2>{html.escape(scen)}</h2><p class="small">{_NO_TREND}</p>')
            continue
        uri = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
        sections.append(
            f'<h2 id="{html.escape(scen)}">{html.escape(scen)}</h2>'
            f'<img alt="{html.escape(scen)} trend" src="{uri}">'
        )
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>kafkadrill runs</title>"
        f"<style>{CSS}</style></head><body><main>"
        f'<h1>kafkadrill runs</h1><p class="small">{len(runs)} runs in '
        f"{len(by_scenario)} scenarios, newest first. Each run directory has its own "
        "MANIFEST.sha256.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        '<h2>Trends per scenario</h2><p class="small">Left: lost messages per run '
        "(dot colour = verdict). Right: seconds writers and readers were without service."
        f"</p>{''.join(sections)}</main></body></html>\n"
    )
    write_text(root / "index.md", "\n".join(md))
    return write_text(root / "index.html", page)
