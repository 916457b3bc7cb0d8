"""Clock offsets of workload workers (issue 25): one definition, used by the merge (which
corrects a worker's own clock) and by the ``clocks`` checker (which reports the bounds).

A ``worker.clock`` sample is ``[t_sent, t_worker, t_received]``: the worker read its clock
between the runner's two readings, so its offset (worker minus runner) lies in
``[t_worker - t_received, t_worker - t_sent]``. A fixed offset lies in every sample's interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["correction", "offset_bounds", "pooled"]


def pooled(exchanges: Iterable[Mapping[str, Any]]) -> tuple[list[Sequence[float]], bool]:
    """(every sample, whether the clock is shared) of one worker's ``worker.clock`` events: the
    merge corrects by them and the checker reports them, so both read them here."""
    evs = list(exchanges)
    samples = [s for e in evs for s in e.get("samples") or []]
    return samples, all(bool(e.get("shared")) for e in evs)


def offset_bounds(samples: Iterable[Sequence[float]]) -> tuple[float, float]:
    """(lowest, highest) offset every sample allows: the intersection of their intervals (low >
    high when no single offset fits them all)."""
    rows = list(samples)
    lo = max(tw - received for _, tw, received in rows)
    hi = min(tw - sent for sent, tw, _ in rows)
    return lo, hi


def correction(samples: Iterable[Sequence[float]], shared: bool) -> float:
    """Seconds to add to a worker's ``t`` to put it on the runner's clock: none when it stamps
    on the runner's clock (``shared``), else minus the middle of its offset bounds (the error
    is then at most half their width)."""
    if shared:
        return 0.0
    lo, hi = offset_bounds(samples)
    return -(lo + hi) / 2.0
