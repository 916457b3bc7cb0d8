"""Produce latency: send -> acknowledgement, per phase and per cluster (the seeds' "latency
impact" column, and what a WAN or a stretch cluster costs a writer).

For every id with a send.invoke and a send.ok, latency = ok.t - invoke.t (seconds in the
history, reported in ms): the time from handing the record to the client to its delivery report
reaching kafkadrill, so it includes client batching (linger.ms) and retries.

Phases are cut at the faults, by the time the record was sent:
- ``steady``: sent before the first fault.inject (or in a drill with no fault);
- ``under_fault``: sent while at least one fault was in force (its inject .. its heal, or the
  end of the workload when it was never healed);
- ``after_heal``: sent after the first fault and while no fault was in force.

``per_cluster`` splits the same figures by the cluster that acknowledged the record. ``wan``
copies the baseline WAN the runtime put in force (the ``wan`` event), so the report shows the
network these latencies were measured on. Measure only: PASS whenever computed, unless an
objective (max_produce_p99_ms) judges it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kafkadrill.checkers._common import Verdict, acked_cluster_codes, by_id
from kafkadrill.checkers.recovery import fault_table, workload_end_t
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames

NAME = "latency"
PHASES = ("steady", "under_fault", "after_heal")


def _stats(ms: np.ndarray) -> dict[str, Any]:
    if not len(ms):
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    p50, p99 = np.percentile(ms, [50, 99])
    return {
        "count": len(ms),
        "p50_ms": round(float(p50), 3),
        "p99_ms": round(float(p99), 3),
        "max_ms": round(float(ms.max()), 3),
    }


def fault_windows(frames: HistoryFrames) -> list[tuple[float, float]]:
    """(inject t, heal t) per fault, as the recovery checker defines a fault's window (a fault
    never healed lasts to the end of the workload)."""
    table = fault_table(frames, workload_end_t(frames))
    return sorted((float(f["window"][0]), float(f["window"][1])) for f in table)


def phase_of(sent: np.ndarray, windows: list[tuple[float, float]]) -> np.ndarray:
    """Index into PHASES per send time."""
    out = np.zeros(len(sent), dtype=np.int8)
    if not windows:
        return out
    first = windows[0][0]
    under = np.zeros(len(sent), dtype=bool)
    for a, b in windows:
        under |= (sent >= a) & (sent < b)
    out[sent >= first] = 2
    out[under] = 1
    return out


@checker("latency", order=80)
def check_latency(frames: HistoryFrames) -> Verdict:
    wan = [
        {k: v for k, v in e.items() if k not in ("seq", "t", "wall", "type")}
        for e in frames.of_type(Ev.WAN)
    ]
    figures: dict[str, Any] = {"wan": wan[-1] if wan else None}
    sent = by_id(frames, frames.invoke, "t", np.nan)
    acked = by_id(frames, frames.ok, "t", np.nan)
    cluster, clusters = acked_cluster_codes(frames)
    have = ~np.isnan(sent) & ~np.isnan(acked)
    ms = (acked[have] - sent[have]) * 1000.0
    phase = phase_of(sent[have], fault_windows(frames))
    cl = cluster[have]
    figures["overall"] = _stats(ms)
    figures["per_phase"] = {p: _stats(ms[phase == i]) for i, p in enumerate(PHASES)}
    figures["per_cluster"] = {
        str(name): {p: _stats(ms[(cl == ci) & (phase == i)]) for i, p in enumerate(PHASES)}
        for ci, name in enumerate(clusters)
        if np.any(cl == ci)
    }
    notes = [] if len(ms) else ["no acknowledged send with its send.invoke: nothing to measure"]
    return Verdict(NAME, "PASS", figures, [], notes)
