"""Clock offsets of workload workers (issue 25): one definition, used by the merge (which
corrects a worker's own clock) and by the ``clocks`` checker (which reports the bounds).

A ``worker.clock`` sample is ``[t_sent, t_worker, t_received]``: the worker read its clock
between the runner's two readings, so its offset (worker minus runner) lies in
``[t_worker - t_received, t_worker - t_sent]``. A fixed offset lies in every sample's interval.

Two hosts' clocks also drift apart: by up to tens of ppm for quartz, so over an hour a fixed
offset can miss the end exchange by a few tens of ms while pings bound it to well under one.
:func:`fit` therefore fits the linear model ``t_worker = t + offset + drift * (t - t_ref)``
(``t`` the runner's clock) to every sample exactly: the set of ``(offset, drift)`` that every
ping allows is a convex polygon (each sample gives two linear inequalities), drift limited to
:data:`MAX_DRIFT` either way. The model used is the polygon's vertex centroid; how far any other
model the pings allow would place an event is the uncertainty. A worker measured once (killed
before its end exchange) has its drift bounded only by :data:`MAX_DRIFT`, so its uncertainty
grows with the time from that exchange, as it should.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MAX_DRIFT", "ClockFit", "correction", "fit", "offset_bounds", "pooled"]

#: The most two clocks are taken to drift apart (fraction): 500 ppm, the largest frequency
#: error NTP and chrony will correct (their ``maxfreq`` / ``maxdrift`` default); a clock
#: further off is broken, and no model within it fits its pings.
MAX_DRIFT = 500e-6
# Vertices are kept when every constraint holds to this (seconds): far below any round trip,
# far above the rounding of sums of a few thousand seconds.
_TOL = 1e-9


def pooled(exchanges: Iterable[Mapping[str, Any]]) -> tuple[list[Sequence[float]], bool]:
    """(every sample, whether the clock is shared) of one worker's ``worker.clock`` events: the
    merge corrects by them and the checker reports them, so both read them here."""
    evs = list(exchanges)
    samples = [s for e in evs for s in e.get("samples") or []]
    return samples, all(bool(e.get("shared")) for e in evs)


def offset_bounds(samples: Iterable[Sequence[float]]) -> tuple[float, float]:
    """(lowest, highest) fixed offset every sample allows: the intersection of their intervals
    (low > high when no single offset fits them all)."""
    rows = list(samples)
    lo = max(tw - received for _, tw, received in rows)
    hi = min(tw - sent for sent, tw, _ in rows)
    return lo, hi


@dataclass(frozen=True)
class ClockFit:
    """A worker clock's linear model against the runner's, from its pings.

    ``t_worker = t + offset + drift * (t - t_ref)``. ``vertices``: every ``(offset, drift)``
    corner of the set the pings allow (empty: no model within :data:`MAX_DRIFT` fits them).
    """

    offset: float
    drift: float
    t_ref: float
    vertices: tuple[tuple[float, float], ...]

    @property
    def fits(self) -> bool:
        return bool(self.vertices)

    @property
    def drift_range(self) -> tuple[float, float]:
        """(lowest, highest) drift the pings allow (fractions)."""
        drifts = [d for _, d in self.vertices] or [self.drift]
        return min(drifts), max(drifts)

    def affine(self) -> tuple[float, float]:
        """(scale, shift): the runner's ``t`` of a worker ``t`` is ``t * scale + shift``."""
        scale = 1.0 / (1.0 + self.drift)
        return scale, (self.drift * self.t_ref - self.offset) * scale

    def to_runner(self, t_worker: float, offset: float, drift: float) -> float:
        return (t_worker - offset + drift * self.t_ref) / (1.0 + drift)

    def uncertainty(self, start: float, end: float) -> float:
        """The most any model the pings allow places an event stamped between the runner's
        ``start`` and ``end`` away from where this one does (extremes lie at the polygon's
        corners and at the span's ends)."""
        worst = 0.0
        for t in (start, end):
            tw = t + self.offset + self.drift * (t - self.t_ref)
            for a, b in self.vertices:
                worst = max(worst, abs(self.to_runner(tw, a, b) - t))
        return worst


def fit(samples: Sequence[Sequence[float]]) -> ClockFit:
    """The linear model of an own clock from its pings (see the module doc)."""
    rows = np.asarray(samples, dtype=float).reshape(-1, 3)
    sent, tw, received = rows[:, 0], rows[:, 1], rows[:, 2]
    t_ref = float((sent.min() + received.max()) / 2.0)  # drift pivots on the middle
    # Each ping: the worker read tw at some runner time in [sent, received], so
    # tw - received - drift * (received - t_ref) <= offset <= tw - sent - drift * (sent - t_ref).
    # As rows of  A @ (offset, drift) <= c:
    a_rows = [(-1.0, -(r - t_ref)) for r in received] + [(1.0, s - t_ref) for s in sent]
    c = [-(w - r) for w, r in zip(tw, received, strict=True)]
    c += [w - s for w, s in zip(tw, sent, strict=True)]
    a_rows += [(0.0, 1.0), (0.0, -1.0)]
    c += [MAX_DRIFT, MAX_DRIFT]
    big_a, big_c = np.asarray(a_rows), np.asarray(c)
    corners: list[tuple[float, float]] = []
    for i, j in itertools.combinations(range(len(big_c)), 2):
        m = big_a[[i, j]]
        det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
        if abs(det) < 1e-15:
            continue
        x = np.linalg.solve(m, big_c[[i, j]])
        if np.all(big_a @ x <= big_c + _TOL):
            corners.append((float(x[0]), float(x[1])))
    vertices = tuple(sorted(set(corners)))
    if not vertices:  # nothing fits: the middle of the fixed-offset bounds, reported as such
        lo, hi = offset_bounds(samples)
        return ClockFit((lo + hi) / 2.0, 0.0, t_ref, ())
    offset = float(np.mean([a for a, _ in vertices]))
    drift = float(np.mean([b for _, b in vertices]))
    return ClockFit(offset, drift, t_ref, vertices)


def correction(samples: Sequence[Sequence[float]], shared: bool) -> tuple[float, float]:
    """(scale, shift) that put a worker's ``t`` on the runner's clock (``t * scale + shift``):
    none when it stamps on the runner's clock (``shared``), else its :func:`fit`."""
    if shared or not samples:
        return 1.0, 0.0
    return fit(samples).affine()
