"""Plots of a run (PNG, matplotlib Agg): they draw the series :mod:`kafkadrill.checkers.series`
computes from the history's frames; nothing here counts events.

Every plot shares one time axis (seconds since run start, the history's ``t``) and shows the
faults as shaded bands (inject..heal, tagged F1, F2...) and runbook steps as vertical lines
(tagged R1, R2...), so a reader can line a dip up with its cause. The tags are explained in a
key under the plot instead of long labels on it: long labels overlap as soon as two steps are
a second apart.

Functions never raise on an empty or odd history: they draw a "no data" note instead. Only
:func:`plot_replication_lag` returns ``None`` (no probes -> no plot; the report says so).

We draw on ``matplotlib.figure.Figure`` with the Agg canvas directly, never pyplot: no global
backend switch, no figure registry to leak, safe from threads.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from kafkadrill.checkers.series import Series, bin_width, series
from kafkadrill.history import HistoryFrames, load_frames, read_history
from kafkadrill.history.folds import fault_windows, runbook_steps

__all__ = [
    "PLOT_FILES",
    "as_frames",
    "consumer_lag_series",
    "fault_bands",
    "plot_consumer_lag",
    "plot_lost",
    "plot_rates",
    "plot_replication_lag",
    "read_events",
    "render_plots",
    "runbook_marks",
]

#: Plot key -> file name under ``plots/``.
PLOT_FILES = {
    "rates": "rates.png",
    "replication_lag": "replication_lag.png",
    "lost": "lost.png",
    "consumer_lag": "consumer_lag.png",
}

_W, _H, _DPI = 11.0, 4.6, 100
_PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
_FAULT_COLORS = ["#d62728", "#ff7f0e", "#7f7f7f", "#bcbd22"]
# Line styles cycle with colours so identical series (two groups with the same lag) stay visible.
_STYLES = ["-", (0, (5, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2))]
_TIME_LABEL = "time (seconds since run start)"
# PNG metadata off: the same history gives byte-identical plots (stable manifests).
_PNG_META = {"Software": None}


# -- reading -------------------------------------------------------------------------------
History = HistoryFrames | Sequence[Mapping[str, Any]]


def read_events(path: Path | str) -> list[dict[str, Any]]:
    """Events of a history file as dicts (small histories, tests); the report uses frames."""
    return read_history(Path(path))


def as_frames(history: History) -> HistoryFrames:
    """Frames of a history given as frames or as a list of event dicts (parsed once)."""
    return history if isinstance(history, HistoryFrames) else load_frames(list(history))


def _t(e: Mapping[str, Any]) -> float | None:
    t = e.get("t")
    return float(t) if isinstance(t, int | float) and math.isfinite(t) else None


def _rare(history: History) -> tuple[Sequence[Mapping[str, Any]], float]:
    """(events that are not per-message, t of the last event) of either form of history."""
    if isinstance(history, HistoryFrames):
        return history.events, series(history).end  # computed once per frames
    return history, max((t for e in history if (t := _t(e)) is not None), default=0.0)


# -- faults and runbook marks ----------------------------------------------------------------
@dataclass
class Band:
    tag: str
    label: str
    start: float
    end: float
    healed: bool
    color: str


@dataclass
class Mark:
    tag: str
    label: str
    t: float
    failed: bool


def fault_bands(history: History) -> list[Band]:
    """One band per injected fault, from inject to heal (run end if never healed)."""
    events, end = _rare(history)
    bands = []
    for w in fault_windows(history if isinstance(history, HistoryFrames) else events):
        if (t := _t(w.inject)) is None:
            continue
        n = len(bands) + 1
        fid = w.fault_id
        healed_t = next((h_t for h in w.heals if (h_t := _t(h)) is not None), None)
        healed = healed_t is not None
        stop = healed_t if healed_t is not None else end
        what = " ".join(str(x) for x in (w.fault, w.inject.get("target")) if x)
        span = f"{t:.1f}–{stop:.1f} s" if healed else f"{t:.1f} s – never healed"
        bands.append(
            Band(
                f"F{n}",
                f"F{n} {what or fid} ({span})",
                t,
                max(stop, t),
                healed,
                _FAULT_COLORS[(n - 1) % len(_FAULT_COLORS)],
            )
        )
    return bands


def runbook_marks(history: History) -> list[Mark]:
    """One mark per runbook step, at its start (or its outcome when no start was recorded)."""
    events, _ = _rare(history)
    marks: list[Mark] = []
    for step in runbook_steps(history if isinstance(history, HistoryFrames) else events):
        timed = [(e, t) for e in step.events if (t := _t(e)) is not None]
        if not timed:
            continue
        (first, t), later = timed[0], timed[1:]
        status = first.get("status")
        n = len(marks) + 1
        label = f"R{n} {step.runbook or 'runbook'}: {step.step} ({t:.1f} s)"
        m = Mark(f"R{n}", label + (" — FAILED" if status == "fail" else ""), t, status == "fail")
        for e, _ in later:
            if e.get("status") == "fail":
                m.failed = True
                m.label += " — FAILED"
        marks.append(m)
    return marks


def _stagger(xs: Sequence[float], span: float, levels: int = 4) -> list[int]:
    """A text level per x so that tags closer than ~4% of the axis never share a level."""
    gap = max(span, 1e-9) * 0.04
    last: list[float] = [-math.inf] * levels
    out = []
    for x in xs:
        lvl = next((i for i in range(levels) if x - last[i] >= gap), int(np.argmin(last)))
        last[lvl] = x
        out.append(lvl)
    return out


def _decorate(
    axes: Sequence[Axes], bands: list[Band], marks: list[Mark], end: float, *, tags: bool = True
) -> list[Any]:
    """Draw bands and marks on every axis; tags above the top axis. Returns key handles."""
    for ax in axes:
        for b in bands:
            ax.axvspan(
                b.start,
                b.end if b.end > b.start else b.start + end * 0.002,
                color=b.color,
                alpha=0.13 if b.healed else 0.08,
                lw=0,
                hatch=None if b.healed else "//",
                zorder=0,
            )
        for m in marks:
            ax.axvline(
                m.t,
                color="#d62728" if m.failed else "#444444",
                lw=0.9,
                ls="--",
                alpha=0.8,
                zorder=1,
            )
    top = axes[0]
    if tags:
        trans = blended_transform_factory(top.transData, top.transAxes)
        items = sorted(
            [(b.start, b.tag, b.color) for b in bands]
            + [(m.t, m.tag, "#d62728" if m.failed else "#444444") for m in marks]
        )
        for (x, tag, color), lvl in zip(items, _stagger([i[0] for i in items], end), strict=True):
            top.text(
                x,
                1.015 + lvl * 0.075,
                tag,
                transform=trans,
                fontsize=8,
                color=color,
                ha="center",
                va="bottom",
                fontweight="bold",
                clip_on=False,
            )
    handles: list[Any] = [
        Patch(facecolor=b.color, alpha=0.3, hatch=None if b.healed else "//", label=b.label)
        for b in bands
    ]
    handles += [
        Line2D([], [], color="#d62728" if m.failed else "#444444", ls="--", label=m.label)
        for m in marks
    ]
    return handles


def _figure(nrows: int = 1, height: float = _H) -> tuple[Figure, list[Axes]]:
    # Constrained layout reserves room for the outside legends and the tags: nothing overlaps.
    fig = Figure(figsize=(_W, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, 1, sharex=True, squeeze=False)[:, 0].tolist()
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, axes


def _title(ax: Axes, text: str, n_tag_levels: int) -> None:
    # Leave room for the staggered F/R tags above the axes.
    ax.set_title(text, loc="left", fontsize=12, fontweight="bold", pad=8 + 14 * n_tag_levels)


def _key(fig: Figure, handles: list[Any]) -> None:
    if handles:
        ncol = 2 if len(handles) > 3 else 1
        fig.legend(
            handles=handles,
            loc="outside lower left",
            ncol=ncol,
            fontsize=8,
            frameon=False,
            title="Faults (F) and runbook steps (R)",
            title_fontsize=8,
            alignment="left",
        )


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata=_PNG_META, bbox_inches="tight", pad_inches=0.15)
    return path


def _no_data(path: Path, title: str, message: str) -> Path:
    fig = Figure(figsize=(_W, 1.6), dpi=_DPI)
    FigureCanvasAgg(fig)
    fig.text(0.02, 0.75, title, fontsize=12, fontweight="bold", va="center")
    fig.text(0.02, 0.35, message, fontsize=10, color="#555555", va="center")
    return _save(fig, path)


def _levels(bands: list[Band], marks: list[Mark], end: float) -> int:
    xs = sorted([b.start for b in bands] + [m.t for m in marks])
    return (max(_stagger(xs, end)) + 1) if xs else 0


# -- (1) produce / consume rates ----------------------------------------------------------
def plot_rates(history: History, path: Path | str) -> Path:
    """Acked sends and consumer receipts per second per cluster, plus failed sends."""
    path = Path(path)
    title = "Produce and consume rate per cluster"
    frames = as_frames(history)
    ser = series(frames)
    if not (ser.acked or ser.consumed or ser.failed is not None):
        return _no_data(path, title, "No sends or receipts were recorded in the history.")
    end, width, x = ser.end, ser.width, ser.x
    bands, marks = fault_bands(frames), runbook_marks(frames)
    fig, (ax,) = _figure()
    for i, cluster in enumerate(sorted(set(ser.acked) | set(ser.consumed))):
        color = _PALETTE[i % len(_PALETTE)]
        if cluster in ser.acked:
            ax.step(
                x,
                ser.acked[cluster] / width,
                where="post",
                color=color,
                lw=1.6,
                label=f"{cluster}: acked sends",
            )
        if cluster in ser.consumed:
            ax.step(
                x,
                ser.consumed[cluster] / width,
                where="post",
                color=color,
                lw=1.2,
                ls=(0, (4, 2)),
                label=f"{cluster}: consumed",
            )
    if ser.failed is not None:
        ax.step(
            x,
            ser.failed / width,
            where="post",
            color="#d62728",
            lw=1.0,
            ls=":",
            label="failed / unknown sends (all clusters)",
        )
    ax.set_ylabel("messages per second")
    ax.set_xlabel(_TIME_LABEL)
    ax.set_xlim(0, max(end, width))
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    _title(ax, title + (f" ({width:g} s bins)" if width != 1 else ""), _levels(bands, marks, end))
    _key(fig, _decorate([ax], bands, marks, end))
    return _save(fig, path)


# -- (2) replication lag -------------------------------------------------------------------
def plot_replication_lag(history: History, path: Path | str) -> Path | None:
    """Replication lag (records) and heartbeat age (s) per flow, from ``probe`` events named
    ``replication_lag``. ``None`` when no such probe was recorded."""
    frames = as_frames(history)
    ser = series(frames)
    lag = ser.replication_lag
    fields = [f for f in ("lag", "heartbeat_age_s") if lag.get(f)]
    if not fields:
        return None
    path = Path(path)
    end = ser.end
    bands, marks = fault_bands(frames), runbook_marks(frames)
    fig, axes = _figure(len(fields), height=_H if len(fields) == 1 else 6.4)
    ylabels = {"lag": "lag (records behind)", "heartbeat_age_s": "heartbeat age (seconds)"}
    flows = sorted({f for s in lag.values() for f in s})
    for ax, field in zip(axes, fields, strict=True):
        for flow, pts in sorted(lag[field].items()):
            color = _PALETTE[flows.index(flow) % len(_PALETTE)]
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, color=color, lw=1.5, marker="." if len(pts) < 60 else None, label=flow)
        ax.set_ylabel(ylabels[field])
        ax.set_ylim(bottom=0)
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            frameon=False,
            title="flow",
            title_fontsize=8,
        )
    axes[-1].set_xlabel(_TIME_LABEL)
    axes[-1].set_xlim(0, max(end, 1.0))
    _title(axes[0], "Replication lag per flow", _levels(bands, marks, end))
    _key(fig, _decorate(axes, bands, marks, end))
    return _save(fig, path)


# -- (3) lost messages ---------------------------------------------------------------------
def _lost_t(m: Mapping[str, Any]) -> float | None:
    for k in ("send_t", "t", "ack_t"):
        v = m.get(k)
        if isinstance(v, int | float) and math.isfinite(v):
            return float(v)
    return None


def plot_lost(
    history: History,
    lost: Iterable[Mapping[str, Any]],
    path: Path | str,
    *,
    total: int | None = None,
) -> Path:
    """Lost messages at their send time, one row per partition, over the acked-send rate.

    ``lost``: dicts with ``id`` and a time (``send_t``, else ``t``, else ``ack_t``) and
    optionally ``cluster``/``topic``/``partition``. ``total``: the lost count when ``lost`` is
    only a sample (the title then says so).
    """
    path = Path(path)
    title = "Lost messages (acknowledged, never read back) at their send time"
    pts = [(t, m) for m in lost if (t := _lost_t(m)) is not None]
    total = total if total is not None else len(pts)
    if not pts:
        msg = (
            "No acknowledged message was lost."
            if not total
            else f"{total} messages were lost but none has a recorded send time."
        )
        return _no_data(path, title, msg)
    frames = as_frames(history)
    ser = series(frames)
    if max(t for t, _ in pts) > ser.end:  # a lost sample past the last event: widen the axis
        ser = Series(end=max(t for t, _ in pts), width=ser.width, x=ser.x)
        ser.width = bin_width(ser.end)
        ser.x = np.arange(int(ser.end // ser.width) + 1) * ser.width
        ser.acked_all = ser.counts(frames.ok["t"].to_numpy(dtype=float))
    end, width, x = ser.end, ser.width, ser.x
    bands, marks = fault_bands(frames), runbook_marks(frames)
    fig, (ax_rate, ax) = _figure(2, height=6.4)
    ax_rate.fill_between(
        x,
        (ser.acked_all if ser.acked_all is not None else np.zeros(len(x))) / width,
        step="post",
        color="#999999",
        alpha=0.5,
        lw=0,
        label="acked sends",
    )
    ax_rate.bar(
        x,
        ser.counts(np.array([t for t, _ in pts])) / width,
        width=width,
        align="edge",
        color="#d62728",
        label="lost (by send time)",
    )
    ax_rate.set_ylabel("messages per second")
    ax_rate.set_ylim(bottom=0)
    ax_rate.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)

    def row(m: Mapping[str, Any]) -> str:
        parts = [str(m[k]) for k in ("cluster", "topic", "partition") if m.get(k) is not None]
        return "/".join(parts) or "unknown partition"

    rows = sorted({row(m) for _, m in pts})
    y = [rows.index(row(m)) for _, m in pts]
    ax.scatter([t for t, _ in pts], y, marker="|", s=220, color="#d62728", linewidths=1.5)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_ylabel("partition (cluster/topic/p)")
    ax.set_xlabel(_TIME_LABEL)
    ax.set_xlim(0, max(end, 1.0))
    shown = f"{len(pts)} shown of {total} lost" if total > len(pts) else f"{total} lost"
    _title(ax_rate, f"{title} — {shown}", _levels(bands, marks, end))
    _key(fig, _decorate([ax_rate, ax], bands, marks, end))
    return _save(fig, path)


# -- (4) consumer lag ----------------------------------------------------------------------
def consumer_lag_series(history: History) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(bin start times, {group: acked-so-far minus distinct-ids-received-so-far}); see
    :mod:`kafkadrill.checkers.series` for the definition."""
    ser = series(as_frames(history))
    return ser.x, ser.consumer_lag


def plot_consumer_lag(history: History, path: Path | str) -> Path:
    """Per consumer group: messages acked so far minus distinct messages received so far."""
    path = Path(path)
    title = "Consumer lag per group (acked so far − received so far)"
    frames = as_frames(history)
    ser = series(frames)
    if not ser.consumer_lag:
        return _no_data(path, title, "No consumer-group receipts were recorded.")
    end, x = ser.end, ser.x
    bands, marks = fault_bands(frames), runbook_marks(frames)
    fig, (ax,) = _figure()
    for i, (g, ys) in enumerate(ser.consumer_lag.items()):
        ax.step(
            x,
            ys,
            where="post",
            color=_PALETTE[i % len(_PALETTE)],
            lw=1.8,
            ls=_STYLES[i % len(_STYLES)],
            label=g,
        )
    ax.axhline(0, color="#333333", lw=0.8)
    ax.set_ylabel("messages behind")
    ax.set_xlabel(_TIME_LABEL)
    ax.set_xlim(0, max(end, 1.0))
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        frameon=False,
        title="group",
        title_fontsize=8,
    )
    _title(ax, title, _levels(bands, marks, end))
    _key(fig, _decorate([ax], bands, marks, end))
    return _save(fig, path)


# -- all -----------------------------------------------------------------------------------
#: Histories with at least this many per-message events draw their plots in two processes.
PARALLEL_MIN_EVENTS = 200_000
_CHILD_TIMEOUT_S = 300.0


def _fork_draw(draw: Callable[[], object]) -> int | None:
    """Run ``draw`` in a forked child (pid), or None where fork is unavailable or fails.

    The child only draws with matplotlib from series computed before the fork (no pyarrow, no
    threads of its own) and leaves by os._exit, so nothing of the parent runs twice."""
    if not hasattr(os, "fork"):
        return None
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # pragma: no cover - the child process
        code = 1
        try:
            draw()
            code = 0
        finally:
            os._exit(code)
    return pid


def _child_ok(pid: int) -> bool:
    """Wait for a plot child; a child that fails or hangs is killed and reported False."""
    deadline = time.monotonic() + _CHILD_TIMEOUT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return False
        time.sleep(0.02)


def render_plots(
    history: History,
    plots_dir: Path | str,
    *,
    lost: Iterable[Mapping[str, Any]] = (),
    lost_total: int | None = None,
    parallel: bool | None = None,
) -> dict[str, Path]:
    """Draw every plot into ``plots_dir``; ``{key: path}`` for those drawn (see PLOT_FILES).

    A missing ``replication_lag`` key means no probe was recorded. Drawing is CPU-bound
    (matplotlib layout and PNG encoding): for large histories (``parallel`` None) or when asked,
    half the plots are drawn in a forked child while this process draws the rest; if the child
    fails, this process draws its plots too, so the result never depends on the fork.
    """
    d = Path(plots_dir)
    frames = as_frames(history)
    series(frames)  # computed once, before any fork: the child inherits it
    lost = list(lost)
    paths = {k: d / name for k, name in PLOT_FILES.items()}

    def child_part() -> None:
        plot_rates(frames, paths["rates"])
        plot_lost(frames, lost, paths["lost"], total=lost_total)

    if parallel is None:
        parallel = len(frames.ok) + len(frames.recv) >= PARALLEL_MIN_EVENTS
    pid = _fork_draw(child_part) if parallel else None
    if pid is None:
        child_part()
    out = {
        "rates": paths["rates"],
        "lost": paths["lost"],
        "consumer_lag": plot_consumer_lag(frames, paths["consumer_lag"]),
    }
    lag = plot_replication_lag(frames, paths["replication_lag"])
    if lag is not None:
        out["replication_lag"] = lag
    if pid is not None and not _child_ok(pid):
        child_part()
    return {k: out[k] for k in PLOT_FILES if k in out}
