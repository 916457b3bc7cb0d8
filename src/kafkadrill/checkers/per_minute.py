"""Minute by minute: what a long drill did in each minute of the run (issue 25: a report that
stays readable for an hour, where plots of a whole run blur the minutes).

The same series the plots draw (:mod:`kafkadrill.checkers.series`, one definition), in bins of
60 s of the run clock (``t``: from the run's start, not the fault phase): acknowledgements (every
``send.ok``), sends that failed or whose outcome is unknown, consumer-group receipts, the highest
replication lag a probe saw, and each consumer group's lag at the minute's end. ``long`` says
whether the run lasted :data:`LONG_DRILL_SECONDS` or more: the report shows the table then.
Measure only: PASS whenever computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kafkadrill.checkers._common import Verdict
from kafkadrill.checkers.registry import checker
from kafkadrill.checkers.series import series
from kafkadrill.history import HistoryFrames

NAME = "per_minute"
MINUTE = 60.0
#: From this run length on, the report shows the per-minute table (long-drill mode).
LONG_DRILL_SECONDS = 600.0


def _total(per: dict[str, np.ndarray], i: int) -> int:
    return int(sum(v[i] for v in per.values()))


def _max_lag(points: dict[str, list[tuple[float, float]]], lo: float, hi: float) -> float | None:
    seen = [v for pts in points.values() for t, v in pts if lo <= t < hi]
    return max(seen) if seen else None


@checker(NAME, order=82)
def check_per_minute(frames: HistoryFrames) -> Verdict:
    s = series(frames, width=MINUTE)
    lag = s.replication_lag.get("lag", {})
    rows: list[dict[str, Any]] = []
    for i, x in enumerate(s.x.tolist()):
        rows.append(
            {
                "minute": i + 1,
                "from_t": float(x),
                "acked": _total(s.acked, i),
                "failed_or_unknown": 0 if s.failed is None else int(s.failed[i]),
                "received": _total(s.consumed, i),
                "max_replication_lag": _max_lag(lag, x, x + MINUTE),
                "consumer_lag_at_end": {g: int(v[i]) for g, v in s.consumer_lag.items()},
            }
        )
    figures = {"width_seconds": MINUTE, "long": s.end >= LONG_DRILL_SECONDS, "minutes": rows}
    return Verdict(NAME, "PASS", figures, [], [])
