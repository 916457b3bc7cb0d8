"""Time series the report plots, computed columnar from the frames (the plots only draw them).

One time axis for every series: bins of ``width`` seconds from 0 (``t`` of the history) to the
last event, ~1 s wide, coarser for long runs so a plot never has more than ~600 points.

- rates: acknowledged sends and consumer-group receipts per cluster, failed + unknown sends;
- consumer lag per group: messages acked so far on the topics the group reads (MM2's renamed
  ``<source>.<topic>`` counts as the topic) minus distinct messages the group received so far.
  Only messages count: records without a kafkadrill id (foreign records) are in neither term;
- replication lag per flow: the ``replication_lag`` probes as recorded;
- acked sends per bin (the background of the lost-messages plot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kafkadrill.checkers._common import cat_codes, first_per_id, rows_of
from kafkadrill.history import Ev, HistoryFrames

__all__ = ["Series", "bin_width", "series"]


def bin_width(end: float) -> float:
    """~1 s resolution, coarser for long runs (1, 2, 5, 10, 20, 50... s)."""
    w = 1.0
    while end / w > 600:
        w *= 2 if str(w)[0] in "15" else 2.5
    return w


@dataclass
class Series:
    end: float  # t of the last event
    width: float  # bin width, seconds
    x: np.ndarray  # bin start times
    acked: dict[str, np.ndarray] = field(default_factory=dict)  # cluster -> count per bin
    consumed: dict[str, np.ndarray] = field(default_factory=dict)  # cluster -> count per bin
    failed: np.ndarray | None = None  # failed + unknown sends per bin (None: there were none)
    acked_all: np.ndarray | None = None  # every acked send per bin
    consumer_lag: dict[str, np.ndarray] = field(default_factory=dict)  # group -> lag per bin
    replication_lag: dict[str, dict[str, list[tuple[float, float]]]] = field(
        default_factory=dict
    )  # "lag" | "heartbeat_age_s" -> flow -> [(t, value)]

    def counts(self, t: np.ndarray) -> np.ndarray:
        """Events per bin of times ``t`` (non-finite times dropped)."""
        t = np.asarray(t, dtype=float)
        t = t[np.isfinite(t)]
        n = len(self.x)
        if not len(t):
            return np.zeros(n)
        idx = np.clip((t / self.width).astype(np.int64), 0, n - 1)
        return np.bincount(idx, minlength=n).astype(float)


def _t(df: pd.DataFrame) -> np.ndarray:
    return df["t"].to_numpy(dtype=float)


def _per_cluster(s: Series, df: pd.DataFrame) -> dict[str, np.ndarray]:
    if df.empty:
        return {}
    codes = cat_codes(df["cluster"])
    cats = df["cluster"].cat.categories
    t = _t(df)
    return {str(cats[c]): s.counts(t[codes == c]) for c in np.unique(codes[codes >= 0]).tolist()}


def _reads_topic(acked_topic: str, read_topics: set[str]) -> bool:
    # MM2's DefaultReplicationPolicy renames "orders" to "<source>.orders" on the target.
    return acked_topic in read_topics or any(r.endswith("." + acked_topic) for r in read_topics)


def _consumer_lag(s: Series, frames: HistoryFrames) -> dict[str, np.ndarray]:
    r = frames.recv
    mask = ~r["final"].to_numpy() & r["group"].notna().to_numpy() & (r["id_code"] >= 0).to_numpy()
    rc = rows_of(r, mask)
    if rc.empty:
        return {}
    acked = first_per_id(frames.ok, frames)  # an id acked twice is one message
    a_codes = cat_codes(acked["topic"])  # topic categories are shared by all frames
    topic_names = [str(x) for x in acked["topic"].cat.categories]
    a_t = _t(acked)
    out: dict[str, np.ndarray] = {}
    gcodes = cat_codes(rc["group"])
    groups = rc["group"].cat.categories
    for gi in np.unique(gcodes).tolist():
        rows = rc[gcodes == gi]
        read = {topic_names[c] for c in np.unique(cat_codes(rows["topic"])).tolist() if c >= 0}
        wanted = [i for i, name in enumerate(topic_names) if _reads_topic(name, read)]
        a = s.counts(a_t[np.isin(a_codes, wanted)])
        first = ~pd.Series(rows["id_code"].to_numpy()).duplicated().to_numpy()
        got = s.counts(_t(rows)[first])
        out[str(groups[gi])] = np.cumsum(a) - np.cumsum(got)
    return out


def _replication_lag(frames: HistoryFrames) -> dict[str, dict[str, list[tuple[float, float]]]]:
    out: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for e in frames.events:
        if e.get("type") != Ev.PROBE or e.get("name") != "replication_lag":
            continue
        t = e.get("t")
        if not isinstance(t, int | float) or not math.isfinite(t):
            continue
        flow = str(e.get("flow") or "flow")
        for name in ("lag", "heartbeat_age_s"):
            v = e.get(name)
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                out.setdefault(name, {}).setdefault(flow, []).append((float(t), float(v)))
    return out


def series(frames: HistoryFrames, width: float | None = None) -> Series:
    """Every plotted series of a history (cached on the frames), in bins of ``width`` seconds
    (default: :func:`bin_width`, what the plots use)."""
    key = "series" if width is None else f"series/{width}"
    hit: Any = frames.cache.get(key)
    if hit is not None:
        return hit
    end = frames.end_t
    end = end if math.isfinite(end) else 0.0
    width = bin_width(end) if width is None else width
    nbins = int(end // width) + 1
    s = Series(end=end, width=width, x=np.arange(nbins) * width)
    s.acked = _per_cluster(s, frames.ok)
    r = frames.recv
    s.consumed = _per_cluster(s, r[~r["final"].to_numpy()])
    if len(frames.fail) or len(frames.unknown):
        s.failed = s.counts(np.concatenate([_t(frames.fail), _t(frames.unknown)]))
    s.acked_all = s.counts(_t(frames.ok))
    s.consumer_lag = _consumer_lag(s, frames)
    s.replication_lag = _replication_lag(frames)
    frames.cache[key] = s
    return s
