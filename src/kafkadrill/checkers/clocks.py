"""Clocks: whether the workload workers' events are on the runner's clock (issue 25).

A worker process writes its own history segment; its events are compared with the runner's
(an ack in a worker against a read by a consumer in the runner, a fault's window against a
worker's failed sends). Those comparisons hold only if both stamp on one clock. Twice per worker
(after its start and before its stop) the runner asked for the worker's ``t`` several times,
each time bracketed by its own ``t``: the ``worker.clock`` samples. Their offset bounds
(:func:`kafkadrill.history.clocks.offset_bounds`) say where the worker's clock stood.

- A worker on the runner's host stamps on the runner's clock (``shared``): its offset is 0 by
  construction, and the bounds must contain 0.
- A worker on its own clock (another host) is put on the runner's clock by the merge, by the
  linear model (offset and drift) that :func:`kafkadrill.history.clocks.fit` fits to every
  ping: two hosts' clocks drift apart, so over an hour one fixed offset may fit no ping.

Figures, per worker (``workers``): ``offset_min_seconds``, ``offset_max_seconds`` (the bounds
of one fixed offset; min > max when none fits, e.g. because the clock drifted),
``round_trip_min_seconds`` (the tightest ping), ``exchanges``, ``pings``, ``shared``,
``uncertainty_seconds`` (the most its merged ``t`` can be off the runner's: the farther bound
on a shared clock; on its own clock, the most any model the pings allow moves an event of its
run, from its first ping to its last, or to the history's end when it was never measured at
its stop). On its own clock also ``correction_seconds`` (added to its ``t`` in the middle of
its exchanges), ``drift_ppm`` (the model's) and ``drift_min_ppm`` / ``drift_max_ppm`` (what the
pings allow, within +-500 ppm). ``max_uncertainty_seconds``: the largest uncertainty, so every
time compared across processes is exact within it.

PASS when no worker ran (``applicable`` false), or every shared clock's intervals contain 0
and every own clock fits a linear model. UNKNOWN otherwise: the worker's stamps are not on the
runner's clock (or its clock moved against the runner's by more than a steady drift), so no
comparison of its times with the runner's can be trusted.
"""

from __future__ import annotations

from typing import Any

from kafkadrill.checkers._common import Verdict
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.clocks import MAX_DRIFT, fit, offset_bounds, pooled

NAME = "clocks"


def _worker_figures(exchanges: list[dict[str, Any]], end_t: float) -> dict[str, Any]:
    samples, shared = pooled(exchanges)
    at = [e["at"] for e in exchanges]
    if not samples:  # an own clock never measured (a shared one is recorded only if it was)
        return {"exchanges": at, "pings": 0, "shared": shared}
    lo, hi = offset_bounds(samples)
    out: dict[str, Any] = {
        "offset_min_seconds": lo,
        "offset_max_seconds": hi,
        "round_trip_min_seconds": min(received - sent for sent, _, received in samples),
        "exchanges": at,
        "pings": len(samples),
        "shared": shared,
    }
    if shared:  # offset 0 by construction: the farther bound is the most it can be off
        return {**out, "correction_seconds": 0.0, "uncertainty_seconds": max(abs(lo), abs(hi))}
    model = fit(samples)
    first = min(sent for sent, _, _ in samples)
    last = max(received for _, _, received in samples) if "end" in at else max(end_t, first)
    drift_lo, drift_hi = model.drift_range
    return {
        **out,
        "fits": model.fits,
        "correction_seconds": -model.offset,
        "uncertainty_seconds": model.uncertainty(first, last) if model.fits else None,
        "drift_ppm": model.drift * 1e6,
        "drift_min_ppm": drift_lo * 1e6,
        "drift_max_ppm": drift_hi * 1e6,
    }


def _problem(name: str, w: dict[str, Any]) -> str | None:
    if not w["pings"]:
        return (
            f"worker {name} never answered a clock exchange: its times cannot be placed on "
            "the runner's clock"
        )
    lo, hi = w["offset_min_seconds"], w["offset_max_seconds"]
    if not w["shared"] and not w["fits"]:
        return (
            f"worker {name}: no clock model fits its {w['pings']} pings (no offset with a "
            f"steady drift of at most +-{MAX_DRIFT * 1e6:.0f} ppm): its clock jumped against the "
            "runner's during the run"
        )
    if w["shared"] and lo > hi:
        return (
            f"worker {name}: no single clock offset fits its {w['pings']} pings (between "
            f"{hi:.6f} and {lo:.6f} s), though it should stamp on the runner's clock"
        )
    if w["shared"] and not lo <= 0.0 <= hi:
        return (
            f"worker {name} should stamp on the runner's clock, but its offset is between "
            f"{lo:.6f} and {hi:.6f} s"
        )
    return None


@checker(NAME, order=160, anomaly=False)
def check_clocks(frames: HistoryFrames) -> Verdict:
    by_worker: dict[str, list[dict[str, Any]]] = {}
    for e in frames.of_type(Ev.WORKER_CLOCK):
        by_worker.setdefault(str(e["worker"]), []).append(e)
    if not by_worker:
        return Verdict(NAME, "PASS", {"applicable": False}, [], ["no workload worker ran"])
    end_t = frames.end_t
    workers = {name: _worker_figures(ex, end_t) for name, ex in sorted(by_worker.items())}
    problems = [p for name, w in workers.items() if (p := _problem(name, w)) is not None]
    worst = max((w.get("uncertainty_seconds") or 0.0 for w in workers.values()), default=0.0)
    figures = {"applicable": True, "workers": workers, "max_uncertainty_seconds": worst}
    if problems:
        return Verdict(NAME, "UNKNOWN", figures, [], problems)
    note = (
        f"{len(workers)} worker(s): every time they stamped is on the runner's clock within "
        f"+-{worst * 1e3:.3f} ms (the bounds of the clock exchanges)"
    )
    drifted = [
        f"worker {name}'s clock drifted {w['drift_ppm']:+.3f} ppm against the runner's (the "
        f"pings allow {w['drift_min_ppm']:+.3f} to {w['drift_max_ppm']:+.3f}); the merge "
        "corrected its times by that drift as well as by its offset"
        for name, w in workers.items()
        if not w["shared"] and w["offset_min_seconds"] > w["offset_max_seconds"]
    ]
    return Verdict(NAME, "PASS", figures, [], [note, *drifted])
