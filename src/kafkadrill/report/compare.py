"""Compare drill runs across settings: group runs by what differs, summarise each group.

``kafkadrill compare RUN_DIR...`` and ``kafkadrill sweep`` both end here. Each run directory
gives its ``report.json`` (figures) and its resolved ``scenario.yaml`` (settings). The settings
are flattened to dotted keys (the same spelling as ``--set``: ``workload.producers.acks``,
``timeline[0].duration``); the keys whose values differ between runs form each run's *setting*
label (``workload.producers.acks=1``), and runs with the same label form a group. Per group we
report n runs, verdicts and median/min/max of the RPO/RTO figures, as Markdown, CSV and one
self-contained HTML page with the plot embedded.

Why median/min/max and not mean: drills are few (often 3-5 per setting) and their figures are
skewed by one unlucky leader election; the median is robust and min/max show the spread
honestly. Figures of runs that ended in an error (crash, infrastructure, Ctrl-C) are left out
of the statistics -- a half-run drill measures the crash, not the setting -- but the runs stay
in every table, counted as errors.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import os
import statistics
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kafkadrill.report.store import (
    REPORT_HTML,
    REPORT_JSON,
    SCENARIO_FILE,
    STAMP_RE,
    write_json,
    write_text,
)
from kafkadrill.report.style import CSS, OTHER_COLOR, badge, verdict_color

__all__ = [
    "DEFAULT_IGNORE",
    "METRICS",
    "Comparison",
    "Group",
    "Metric",
    "RunRecord",
    "Stats",
    "build_comparison",
    "expand_run_dirs",
    "flatten",
    "format_value",
    "load_run",
    "markdown_table",
    "plot_comparison",
    "render_csv",
    "render_html",
    "render_markdown",
    "render_runs_csv",
    "write_comparison",
]

#: Keys never used to tell settings apart: the seed varies per repeat on purpose (a repeat is
#: not a setting) and the description is prose.
DEFAULT_IGNORE: frozenset[str] = frozenset({"seed", "description"})

SAME_SETTINGS = "(same settings)"
UNKNOWN_SETTINGS = "(settings unknown: no scenario.yaml)"

COMPARE_MD = "compare.md"
COMPARE_HTML = "compare.html"
COMPARE_CSV = "compare.csv"
RUNS_CSV = "runs.csv"
COMPARE_JSON = "compare.json"
COMPARE_PNG = "compare.png"

_VERDICT_ORDER = ("PASS", "FAIL", "UNKNOWN", "ERROR", "NO REPORT", "UNREADABLE")
_PNG_META = {"Software": None}  # byte-identical plots for identical inputs


@dataclass(frozen=True)
class Metric:
    key: str  # column stem in CSV / JSON
    title: str  # column header for humans
    path: tuple[str, ...]  # where it lives in report.json
    unit: str = ""


METRICS: tuple[Metric, ...] = (
    Metric("lost", "Lost", ("rpo", "lost")),
    Metric("rpo_window_seconds", "RPO window (s)", ("rpo", "window_seconds"), "s"),
    Metric("duplicates", "Duplicates", ("rpo", "duplicates")),
    Metric(
        "consumer_rereads",
        "Consumer re-reads",
        ("checkers", "duplicates", "figures", "consumer_rereads"),
    ),
    Metric(
        "write_unavailable_seconds",
        "Writes unavailable (s)",
        ("rto", "write_unavailable_seconds"),
        "s",
    ),
    Metric(
        "read_unavailable_seconds",
        "Reads unavailable (s)",
        ("rto", "read_unavailable_seconds"),
        "s",
    ),
    Metric("unknown", "Unknown sends", ("rpo", "unknown")),
    Metric(
        "produce_p50_ms",
        "Produce p50 before faults (ms)",
        ("checkers", "latency", "figures", "per_phase", "steady", "p50_ms"),
        "ms",
    ),
    Metric(
        "produce_p99_ms",
        "Produce p99 before faults (ms)",
        ("checkers", "latency", "figures", "per_phase", "steady", "p99_ms"),
        "ms",
    ),
)
_BY_KEY = {m.key: m for m in METRICS}


# -- loading ---------------------------------------------------------------------------------
@dataclass
class RunRecord:
    """One run as the comparison sees it: its settings (flat) and its report (if any)."""

    run_dir: Path | None
    report: dict[str, Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # run-level error (crash, interrupted, no report)
    seed: Any = None
    no_report: bool = False  # the run directory exists but report.json does not
    # Setting as the user spelled it (a sweep's --set values); when every run has one, it
    # names the groups instead of the diff of resolved scenarios.
    setting: dict[str, str] | None = None

    @property
    def verdict(self) -> str:
        if self.report is None:
            # Same word as the index for a run that died before reporting: it is evidence.
            return "NO REPORT" if self.no_report or not self.error else "ERROR"
        return str(self.report.get("verdict") or "UNKNOWN")

    @property
    def errored(self) -> bool:
        return self.report is None or bool(self.error) or bool(self.report.get("error"))

    @property
    def error_text(self) -> str | None:
        text = self.error or (self.report or {}).get("error")
        return str(text).strip().splitlines()[0] if text else None

    def value(self, metric: Metric) -> float | None:
        node: Any = self.report or {}
        for part in metric.path:
            if not isinstance(node, Mapping):
                return None
            node = node.get(part)
        if isinstance(node, bool) or not isinstance(node, int | float):
            return None
        return float(node) if math.isfinite(node) else None


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves of nested dicts/lists as ``{"a.b[0].c": value}`` (the ``--set`` key spelling).

    Empty dicts/lists are leaves themselves so that "no topics" still differs from "one topic".
    """
    out: dict[str, Any] = {}
    if isinstance(data, Mapping) and data:
        for k, v in data.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, list) and data:
        for i, v in enumerate(data):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = data
    return out


def load_run(run_dir: Path | str) -> RunRecord:
    """Read one run directory; never raises for a broken run (it becomes an error row)."""
    run_dir = Path(run_dir)
    rec = RunRecord(run_dir)
    scen = run_dir / SCENARIO_FILE
    if scen.is_file():
        try:
            data = yaml.safe_load(scen.read_text()) or {}
            rec.settings = flatten(data) if isinstance(data, Mapping) else {}
            rec.seed = data.get("seed") if isinstance(data, Mapping) else None
        except (yaml.YAMLError, OSError) as exc:
            rec.error = f"unreadable {SCENARIO_FILE}: {exc}"
    rj = run_dir / REPORT_JSON
    if not rj.is_file():
        rec.no_report = True
        rec.error = rec.error or f"no {REPORT_JSON} (the run did not finish)"
        return rec
    try:
        report = orjson.loads(rj.read_bytes())
        if not isinstance(report, dict):
            raise ValueError("not a JSON object")
        rec.report = report
        rec.seed = report.get("seed", rec.seed)
    except (orjson.JSONDecodeError, ValueError, OSError) as exc:
        rec.error = f"unreadable {REPORT_JSON}: {exc}"
    return rec


def expand_run_dirs(paths: Iterable[Path | str]) -> list[Path]:
    """Run directories named by ``paths``: a run dir itself, a sweep dir (its ``sweep.json``
    lists the runs) or a scenario dir (every ``<stamp>`` child). Order is kept."""
    out: list[Path] = []
    for p in map(Path, paths):
        if (p / REPORT_JSON).exists() or (p / SCENARIO_FILE).exists():
            out.append(p)
        elif (p / "sweep.json").is_file():
            doc = orjson.loads((p / "sweep.json").read_bytes())
            out += [Path(r["run_dir"]) for r in doc.get("runs", []) if r.get("run_dir")]
        elif p.is_dir():
            out += sorted(c for c in p.iterdir() if c.is_dir() and STAMP_RE.match(c.name))
        else:
            out.append(p)  # load_run turns it into an error row: a missing run is evidence
    return out


# -- grouping and statistics -----------------------------------------------------------------
@dataclass(frozen=True)
class Stats:
    n: int
    median: float | None
    min: float | None
    max: float | None

    @staticmethod
    def of(values: Sequence[float]) -> Stats:
        if not values:
            return Stats(0, None, None, None)
        return Stats(len(values), statistics.median(values), min(values), max(values))


@dataclass
class Group:
    id: str  # G1, G2...: short names for plots
    label: str
    settings: dict[str, Any]  # differing key -> value in this group
    runs: list[RunRecord] = field(default_factory=list)

    @property
    def verdicts(self) -> Counter[str]:
        return Counter(r.verdict for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r.errored for r in self.runs)

    def stats(self, metric: Metric) -> Stats:
        vals = [v for r in self.runs if not r.errored and (v := r.value(metric)) is not None]
        return Stats.of(vals)


@dataclass
class Comparison:
    title: str
    keys: list[str]  # the settings that differ between runs, in scenario order
    groups: list[Group]
    notes: list[str] = field(default_factory=list)

    @property
    def runs(self) -> list[RunRecord]:
        return [r for g in self.groups for r in g.runs]


_ABSENT = object()


def format_value(v: Any) -> str:
    """A setting value as it would be written after ``--set key=``."""
    if v is _ABSENT:
        return "(unset)"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float | str):
        return str(v)
    return orjson.dumps(v).decode()


def differing_keys(
    records: Sequence[RunRecord], ignore: Iterable[str] = DEFAULT_IGNORE
) -> list[str]:
    """Keys whose values are not the same in every run that has settings (scenario order)."""
    ignored = set(ignore)
    known = [r.settings for r in records if r.settings]
    order: dict[str, None] = {}
    for s in known:
        order.update(dict.fromkeys(s))
    out = []
    for k in order:
        if k in ignored:
            continue
        first = known[0].get(k, _ABSENT)
        if any(s.get(k, _ABSENT) != first for s in known[1:]):
            out.append(k)
    return out


def build_comparison(
    records: Sequence[RunRecord],
    *,
    title: str = "Comparison",
    ignore: Iterable[str] = DEFAULT_IGNORE,
    notes: Sequence[str] = (),
) -> Comparison:
    """Group runs by their differing settings (groups in order of first appearance).

    When every run carries an explicit ``setting`` (a sweep), those keys name the groups: a
    swept ``acks=1`` stays ``acks=1`` even though the resolved scenario also turned
    ``enable_idempotence`` off; such knock-on differences are listed in a note instead.
    """
    diff = differing_keys(records, ignore)
    explicit = bool(records) and all(r.setting is not None for r in records)
    keys = list(dict.fromkeys(k for r in records for k in (r.setting or {}))) if explicit else diff
    notes = list(notes)
    if explicit:
        extra = [k for k in diff if k not in keys]
        if extra:
            notes.append(
                "resolved scenario keys that also differ between runs: " + ", ".join(extra)
            )
    groups: dict[str, Group] = {}
    for rec in records:
        if explicit:
            shown = {k: (rec.setting or {}).get(k, "(unset)") for k in keys}
        elif rec.settings:
            shown = {k: format_value(rec.settings.get(k, _ABSENT)) for k in keys}
        else:
            shown = {}
        if not shown and not explicit and not rec.settings:
            label = UNKNOWN_SETTINGS
        else:
            label = ", ".join(f"{k}={v}" for k, v in shown.items()) or SAME_SETTINGS
        if label not in groups:
            groups[label] = Group(f"G{len(groups) + 1}", label, shown)
        groups[label].runs.append(rec)
    return Comparison(title, keys, list(groups.values()), notes)


# -- formatting ------------------------------------------------------------------------------
def _num(v: float | None) -> str:
    """Shortest faithful text: ints stay ints, floats keep up to 3 decimals."""
    if v is None:
        return "n/a"
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.3f}".rstrip("0").rstrip(".")


def stats_cell(s: Stats) -> str:
    if s.n == 0:
        return "n/a"
    if s.min == s.max:
        return _num(s.median)
    return f"{_num(s.median)} ({_num(s.min)}–{_num(s.max)})"


def _ordered(c: Counter[str]) -> list[tuple[str, int]]:
    keys = sorted(c, key=lambda v: (_VERDICT_ORDER.index(v) if v in _VERDICT_ORDER else 99, v))
    return [(v, c[v]) for v in keys]


def _verdicts(c: Counter[str]) -> str:
    return " ".join(f"{v}×{n}" for v, n in _ordered(c))


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_GROUP_HEADERS = ["Group", "Setting", "Runs", "Verdicts", "Errors"] + [m.title for m in METRICS]


def _group_cells(g: Group) -> list[str]:
    return [
        g.id,
        g.label,
        str(len(g.runs)),
        _verdicts(g.verdicts),
        str(g.errors),
        *(stats_cell(g.stats(m)) for m in METRICS),
    ]


def markdown_table(comp: Comparison) -> str:
    """The per-setting table: one row per group, figures as ``median (min–max)``."""
    align = ["---", "---", "---:", "---", "---:"] + ["---:"] * len(METRICS)
    lines = [
        "| " + " | ".join(_GROUP_HEADERS) + " |",
        "|" + "|".join(align) + "|",
    ]
    for g in comp.groups:
        lines.append("| " + " | ".join(_md_escape(c) for c in _group_cells(g)) + " |")
    return "\n".join(lines) + "\n"


_RUN_HEADERS = ["Group", "Run", "Seed", "Verdict"] + [m.title for m in METRICS] + ["Error"]


def _run_name(r: RunRecord) -> str:
    if r.run_dir is None:
        return "(no run directory)"
    return f"{r.run_dir.parent.name}/{r.run_dir.name}"


def _run_cells(g: Group, r: RunRecord) -> list[str]:
    return [
        g.id,
        _run_name(r),
        format_value(r.seed),
        r.verdict,
        *(_num(r.value(m)) for m in METRICS),
        r.error_text or "",
    ]


def _rel(target: Path, base: Path | None) -> str:
    if base is None:
        return target.as_posix()
    return Path(os.path.relpath(target.resolve(), base.resolve())).as_posix()


def render_markdown(
    comp: Comparison, *, base_dir: Path | None = None, plot_name: str | None = None
) -> str:
    """The whole comparison as Markdown; links are relative to ``base_dir`` (the output dir)."""
    n_runs = len(comp.runs)
    out = [f"# {comp.title}", ""]
    out.append(
        f"{n_runs} run(s) in {len(comp.groups)} setting group(s). Figures are "
        "median (min–max) over the runs that finished without error; n/a = no figure."
    )
    out.append("")
    if comp.keys:
        out += ["Settings that differ: " + ", ".join(f"`{k}`" for k in comp.keys), ""]
    out += [f"- {n}" for n in comp.notes]
    if comp.notes:
        out.append("")
    out += ["## By setting", "", markdown_table(comp)]
    if plot_name:
        out += [f"![lost messages and RTO per setting]({plot_name})", ""]
    out += ["## Runs", ""]
    out.append("| " + " | ".join(_RUN_HEADERS) + " |")
    out.append("|" + "|".join(["---"] * 4 + ["---:"] * len(METRICS) + ["---"]) + "|")
    for g in comp.groups:
        for r in g.runs:
            cells = [_md_escape(c) for c in _run_cells(g, r)]
            if r.run_dir is not None:
                target = (
                    r.run_dir / REPORT_HTML if (r.run_dir / REPORT_HTML).exists() else r.run_dir
                )
                cells[1] = f"[{cells[1]}]({_rel(target, base_dir)})"
            out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return "\n".join(out)


def _csv_text(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _csv_num(v: float | None) -> str | float | int:
    if v is None:
        return ""
    return int(v) if float(v).is_integer() else v


def render_csv(comp: Comparison) -> str:
    """One row per group: each differing key as a column, then n/median/min/max per figure."""
    head: list[Any] = ["group", "setting", *comp.keys, "runs", "errors", "verdicts"]
    for m in METRICS:
        head += [f"{m.key}_n", f"{m.key}_median", f"{m.key}_min", f"{m.key}_max"]
    rows: list[list[Any]] = [head]
    for g in comp.groups:
        row: list[Any] = [g.id, g.label, *(g.settings.get(k, "") for k in comp.keys)]
        row += [len(g.runs), g.errors, " ".join(f"{v}={n}" for v, n in _ordered(g.verdicts))]
        for m in METRICS:
            s = g.stats(m)
            row += [s.n, _csv_num(s.median), _csv_num(s.min), _csv_num(s.max)]
        rows.append(row)
    return _csv_text(rows)


def render_runs_csv(comp: Comparison) -> str:
    """One row per run, for people who want their own statistics."""
    head = ["group", "setting", *comp.keys, "run_dir", "seed", "verdict", "error"]
    head += [m.key for m in METRICS]
    rows: list[list[Any]] = [head]
    for g in comp.groups:
        for r in g.runs:
            row: list[Any] = [g.id, g.label, *(g.settings.get(k, "") for k in comp.keys)]
            row += [str(r.run_dir or ""), format_value(r.seed), r.verdict, r.error_text or ""]
            row += [_csv_num(r.value(m)) for m in METRICS]
            rows.append(row)
    return _csv_text(rows)


# -- plot --------------------------------------------------------------------------------------
_PLOTTED = ("lost", "rpo_window_seconds", "write_unavailable_seconds", "read_unavailable_seconds")


def _tick_names(keys: Sequence[str]) -> dict[str, str]:
    """Last dotted part of each key (``acks``) unless two keys would then look the same."""
    tails = {k: k.rsplit(".", 1)[-1] for k in keys}
    clash = {t for t in tails.values() if list(tails.values()).count(t) > 1}
    return {k: (k if t in clash else t) for k, t in tails.items()}


def _tick(g: Group, names: Mapping[str, str], short: bool) -> str:
    if short or not g.settings:
        return g.id if short else "\n".join(textwrap.wrap(g.label, 24)) or g.id
    return "\n".join(f"{names.get(k, k)}={v}" for k, v in g.settings.items())


def plot_comparison(comp: Comparison, path: Path) -> Path | None:
    """Strip plot per figure: one column per setting group, a dot per run (colour = verdict),
    a black bar at the median. None when no run has any plotted figure."""
    metrics = [_BY_KEY[k] for k in _PLOTTED]
    if all(g.stats(m).n == 0 for g in comp.groups for m in metrics):
        path.unlink(missing_ok=True)
        return None
    # Long labels (many differing keys) would overlap; the tables map G1, G2... to settings.
    short = len(comp.groups) > 6 or any(len(g.settings) > 3 for g in comp.groups)
    names = _tick_names(comp.keys)
    width = min(16.0, max(9.0, 1.6 * len(comp.groups) + 4))
    fig = Figure(figsize=(width, 7.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2).flatten()
    x = list(range(len(comp.groups)))
    for ax, m in zip(axes, metrics, strict=True):
        for i, g in enumerate(comp.groups):
            pts = [(r.value(m), r.verdict) for r in g.runs if not r.errored]
            pts = [(v, verdict) for v, verdict in pts if v is not None]
            n = len(pts)
            if pts:
                # Deterministic jitter: repeats with the same figure stay visible side by side.
                offs = [0.0] if n <= 1 else [-0.18 + 0.36 * j / (n - 1) for j in range(n)]
                ax.scatter(
                    [i + o for o in offs],
                    [v for v, _ in pts],
                    c=[verdict_color(verdict) for _, verdict in pts],
                    s=40,
                    zorder=3,
                    edgecolors="white",
                    linewidths=0.5,
                )
            st = g.stats(m)
            if st.median is not None:
                ax.hlines(st.median, i - 0.3, i + 0.3, colors="#1f2328", lw=2, zorder=2)
            if g.errors:
                ax.annotate(
                    f"{g.errors} error(s)",
                    (i, 0),
                    xycoords=("data", "axes fraction"),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7,
                    color=OTHER_COLOR,
                )
        ax.set_title(m.title, fontsize=10, loc="left")
        ax.set_xticks(x, [_tick(g, names, short) for g in comp.groups], fontsize=8)
        ax.set_xlim(-0.6, len(x) - 0.4)
        top = max(ax.get_ylim()[1], 1e-9)
        ax.set_ylim(-0.04 * top, top * 1.05)  # a little below 0: zeros stay visible dots
        ax.grid(True, axis="y", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(
        "per setting: one dot per run (green PASS, red FAIL, amber UNKNOWN), bar = median",
        fontsize=9,
        x=0.01,
        ha="left",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata=_PNG_META)
    return path


# -- HTML ------------------------------------------------------------------------------------


def render_html(
    comp: Comparison, *, plot_png: bytes | None = None, base_dir: Path | None = None
) -> str:
    """One self-contained page: inline CSS, the plot as a data: URI, no scripts, no fetches."""
    h = html.escape
    n_metric_from = 5  # first numeric column of the group table
    head = "".join(f"<th>{h(c)}</th>" for c in _GROUP_HEADERS)
    rows = []
    for g in comp.groups:
        cells = [h(c) for c in _group_cells(g)]
        cells[3] = "".join(badge(v, n) for v, n in _ordered(g.verdicts))
        tds = "".join(
            f'<td class="num">{c}</td>' if i >= n_metric_from or i == 2 else f"<td>{c}</td>"
            for i, c in enumerate(cells)
        )
        rows.append(f"<tr>{tds}</tr>")
    run_rows = []
    for g in comp.groups:
        for r in g.runs:
            cells = [h(c) for c in _run_cells(g, r)]
            if r.run_dir is not None:
                target = (
                    r.run_dir / REPORT_HTML if (r.run_dir / REPORT_HTML).exists() else r.run_dir
                )
                cells[1] = f'<a href="{h(_rel(target, base_dir))}">{cells[1]}</a>'
            cells[3] = badge(r.verdict)
            tds = "".join(
                f'<td class="num">{c}</td>' if 4 <= i < 4 + len(METRICS) else f"<td>{c}</td>"
                for i, c in enumerate(cells)
            )
            run_rows.append(f"<tr>{tds}</tr>")
    run_head = "".join(f"<th>{h(c)}</th>" for c in _RUN_HEADERS)
    keys = ", ".join(f"<code>{h(k)}</code>" for k in comp.keys) or "none"
    notes = "".join(f"<li>{h(n)}</li>" for n in comp.notes)
    img = ""
    if plot_png:
        uri = "data:image/png;base64," + base64.b64encode(plot_png).decode("ascii")
        img = f'<img alt="lost messages and RTO per setting" src="{uri}">'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{h(comp.title)}</title><style>{CSS}</style></head><body><main>"
        f"<h1>{h(comp.title)}</h1>"
        f'<p class="small">{len(comp.runs)} run(s) in {len(comp.groups)} setting group(s). '
        "Figures are median (min–max) over the runs that finished without error; "
        f"n/a = no figure. Settings that differ: {keys}.</p>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + f"<h2>By setting</h2><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{img}"
        f"<h2>Runs</h2><table><thead><tr>{run_head}</tr></thead>"
        f"<tbody>{''.join(run_rows)}</tbody></table></main></body></html>\n"
    )


# -- writing ---------------------------------------------------------------------------------
def _json_doc(comp: Comparison) -> dict[str, Any]:
    def stats(s: Stats) -> dict[str, Any]:
        return {"n": s.n, "median": s.median, "min": s.min, "max": s.max}

    return {
        "title": comp.title,
        "keys": comp.keys,
        "notes": comp.notes,
        "groups": [
            {
                "id": g.id,
                "setting": g.label,
                "settings": g.settings,
                "runs": len(g.runs),
                "errors": g.errors,
                "verdicts": dict(g.verdicts),
                "figures": {m.key: stats(g.stats(m)) for m in METRICS},
                "run_dirs": [str(r.run_dir) if r.run_dir else None for r in g.runs],
            }
            for g in comp.groups
        ],
    }


def write_comparison(comp: Comparison, out_dir: Path | str) -> dict[str, Path]:
    """Write compare.md/.html/.csv, runs.csv, compare.json and plots/compare.png."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = plot_comparison(comp, out / "plots" / COMPARE_PNG)
    plot_rel = f"plots/{COMPARE_PNG}" if png else None
    paths = {
        "md": write_text(out / COMPARE_MD, render_markdown(comp, base_dir=out, plot_name=plot_rel)),
        "html": write_text(
            out / COMPARE_HTML,
            render_html(comp, plot_png=png.read_bytes() if png else None, base_dir=out),
        ),
        "csv": write_text(out / COMPARE_CSV, render_csv(comp)),
        "runs_csv": write_text(out / RUNS_CSV, render_runs_csv(comp)),
        "json": write_json(out / COMPARE_JSON, _json_doc(comp)),
    }
    if png:
        paths["plot"] = png
    return paths
