"""Clocks: whether the workload workers' events are on the runner's clock (issue 25).

A worker process writes its own history segment; its events are compared with the runner's
(an ack in a worker against a read by a consumer in the runner, a fault's window against a
worker's failed sends). Those comparisons hold only if both stamp on one clock. Twice per worker
(after its start and before its stop) the runner asked for the worker's ``t`` several times,
each time bracketed by its own ``t``: the ``worker.clock`` samples. Their offset bounds
(:func:`kafkadrill.history.clocks.offset_bounds`) say where the worker's clock stood.

- A worker on the runner's host stamps on the runner's clock (``shared``): its offset is 0 by
  construction, and the bounds must contain 0.
- A worker on its own clock (another host) is put on the runner's clock by the merge, which
  adds ``correction_seconds`` (minus the middle of the bounds) to its ``t``.

Figures, per worker (``workers``): ``offset_min_seconds``, ``offset_max_seconds``,
``correction_seconds``, ``uncertainty_seconds`` (the most its merged ``t`` can be off the
runner's: half the bounds' width on its own clock, the farther bound on a shared one),
``round_trip_min_seconds`` (the tightest ping), ``exchanges``, ``pings``, ``shared``.
``max_uncertainty_seconds``: the largest of them, so every time compared across processes is
exact within it.

PASS when no worker ran (``applicable`` false) or every worker's intervals intersect and, for a
shared clock, contain 0. UNKNOWN otherwise: the worker's stamps are not on the runner's clock
(or its clock moved against the runner's during the run), so no comparison of its times with
the runner's can be trusted.
"""

from __future__ import annotations

from typing import Any

from kafkadrill.checkers._common import Verdict
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.clocks import correction, offset_bounds, pooled

NAME = "clocks"


def _worker_figures(exchanges: list[dict[str, Any]]) -> dict[str, Any]:
    samples, shared = pooled(exchanges)
    if not samples:  # an own clock never measured (a shared one is recorded only if it was)
        return {"exchanges": [e["at"] for e in exchanges], "pings": 0, "shared": shared}
    lo, hi = offset_bounds(samples)
    return {
        "offset_min_seconds": lo,
        "offset_max_seconds": hi,
        "correction_seconds": correction(samples, shared),
        "uncertainty_seconds": max(abs(lo), abs(hi)) if shared else (hi - lo) / 2.0,
        "round_trip_min_seconds": min(received - sent for sent, _, received in samples),
        "exchanges": [e["at"] for e in exchanges],
        "pings": len(samples),
        "shared": shared,
    }


def _problem(name: str, w: dict[str, Any]) -> str | None:
    if not w["pings"]:
        return (
            f"worker {name} never answered a clock exchange: its times cannot be placed on "
            "the runner's clock"
        )
    lo, hi = w["offset_min_seconds"], w["offset_max_seconds"]
    if lo > hi:
        return (
            f"worker {name}: no single clock offset fits its {w['pings']} pings (between "
            f"{hi:.6f} and {lo:.6f} s): its clock moved against the runner's during the run"
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
    workers = {name: _worker_figures(ex) for name, ex in sorted(by_worker.items())}
    problems = [p for name, w in workers.items() if (p := _problem(name, w)) is not None]
    worst = max((w.get("uncertainty_seconds", 0.0) for w in workers.values()), default=0.0)
    figures = {"applicable": True, "workers": workers, "max_uncertainty_seconds": worst}
    if problems:
        return Verdict(NAME, "UNKNOWN", figures, [], problems)
    note = (
        f"{len(workers)} worker(s): every time they stamped is on the runner's clock within "
        f"+-{worst * 1e3:.3f} ms (the bounds of the clock exchanges)"
    )
    return Verdict(NAME, "PASS", figures, [], [note])
