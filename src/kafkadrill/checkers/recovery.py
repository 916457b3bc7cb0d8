"""Recovery (RTO side): how long writers and readers were without service, phase by phase.

Computed from history events only; every time is on the history's one monotonic clock ``t``.

Definitions (all seconds):

- fault window: [fault.inject t, fault.heal t] (an unhealed fault runs to the workload end);
  metadata changes (topic.* timeline entries) are not faults and open no window;
  the runbook window [first fault.inject t, last runbook.step t] counts as a window too.
- write_unavailable_seconds: the longest gap between consecutive send.ok events (all producers,
  by t) that overlaps any window. The first send.invoke opens the series and the last
  send.invoke closes it when it comes after the last ack (invoked but never acked = unavailable).
- read_unavailable_seconds: the same over non-final recv events (all readers); the series is
  closed by the last send.ok when that comes after the last receipt (data to read was there).
- writes_recovered / reads_recovered: false when the longest gap is closed by that end marker
  and is longer than CAUGHT_UP_LAG_S, i.e. service never came back. Recovery FAILs then;
  otherwise it is a measurement (PASS). An unhealed fault's window ends at the workload end
  (first final_read.start, else the last event).
- phases.detection_seconds: triggering fault.inject -> first runbook.step after it. The
  triggering fault is named by a ``runbook.trigger`` event (fault_id); without one, the first
  fault. Every other phase below is measured from the same fault.
- phases.runbook_seconds: first runbook step start -> last runbook step end; phases.steps: each
  step's start/end (t), status and duration.
- phases.first_write_on_target_seconds / first_read_on_target_seconds: first fault.inject ->
  first send.ok (non-final recv) on the ``to_cluster`` of the first producer (consumer) redirect
  after the first fault.
- phases.caught_up_seconds: per redirected group G (redirect time r_G), caught-up time T_G =
  the first T >= r_G such that every message acked at a time <= T - 1 s (on any cluster, before
  or after the redirect) was received by G at or before T. Ids missing from the final read of the
  authoritative cluster are excluded (they are losses, counted by the loss checker). The figure
  is max over groups of T_G - first fault.inject; null if some group never caught up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kafkadrill.checkers._common import (
    SAMPLE,
    Verdict,
    by_id,
    cat_codes,
    consumer_receipts,
    final_read,
    first_per_id,
    n_ids,
)
from kafkadrill.checkers.metadata import KINDS as METADATA_CHANGES
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.folds import fault_windows, final_read_events, runbook_steps

NAME = "recovery"
#: Lag allowance of the caught-up definition (acked more than this long ago must be received).
CAUGHT_UP_LAG_S = 1.0
# Writers differ when one writer's own longest gap exceeds the overall figure by more than this
# (the findings' "writer without service" rule uses the same margin).
WRITERS_DIFFER_S = 5.0

Window = tuple[float, float]


def longest_gap(
    times: np.ndarray,
    windows: list[Window],
    *,
    start: float | None = None,
    end: float | None = None,
) -> dict[str, Any] | None:
    """Longest gap between consecutive times that overlaps any window.

    ``start``/``end`` are sentinels added when they lie outside the times. Returns
    ``{"seconds", "from", "to", "open"}`` (open: the gap is closed by ``end``, i.e. the series
    never resumed) or None when there is no series at all.
    """
    pts = np.sort(np.asarray(times, dtype=float))
    if start is not None and (len(pts) == 0 or start < pts[0]):
        pts = np.concatenate(([start], pts))
    sentinel = end is not None and (len(pts) == 0 or end > pts[-1])
    if sentinel:
        pts = np.concatenate((pts, [end]))
    if len(pts) == 0:
        return None
    a, b = pts[:-1], pts[1:]
    hit = np.zeros(len(a), dtype=bool)
    for w0, w1 in windows:
        hit |= (a < w1) & (b > w0)
    if not hit.any():
        return {"seconds": 0.0, "from": None, "to": None, "open": False}
    gaps = np.where(hit, b - a, -1.0)
    i = int(np.argmax(gaps))
    return {
        "seconds": float(gaps[i]),
        "from": float(a[i]),
        "to": float(b[i]),
        "open": bool(sentinel and i == len(a) - 1),
    }


def _recovered(g: dict[str, Any] | None) -> bool | None:
    # An open tail gap shorter than the lag allowance is a consumer stopping while slightly
    # behind, not a service that never came back.
    if g is None:
        return None
    return not (g["open"] and g["seconds"] > CAUGHT_UP_LAG_S)


def _seconds(g: dict[str, Any] | None) -> float | None:
    return None if g is None else g["seconds"]


def caught_up_at(acked_t: np.ndarray, recv_t: np.ndarray, since: float) -> float | None:
    """First T >= since with no id acked at <= T - lag still unreceived at T (None: never).

    T is bad iff it lies in some [a_i + lag, r_i): sweep candidates ``since`` and each r_i.
    """
    s = acked_t + CAUGHT_UP_LAG_S
    e = recv_t
    keep = (e > s) & (e > since)
    s, e = s[keep], e[keep]
    if len(s) == 0:
        return float(since)
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    cover = np.maximum.accumulate(e)  # max end among intervals starting at or before s[k]
    cand = np.concatenate(([since], np.sort(e[np.isfinite(e)])))
    cand = cand[cand >= since]
    k = np.searchsorted(s, cand, side="right")
    covered_to = np.where(k > 0, cover[np.maximum(k - 1, 0)], -np.inf)
    good = np.flatnonzero(covered_to <= cand)
    return float(cand[good[0]]) if len(good) else None


def workload_end_t(frames: HistoryFrames) -> float:
    """When the workload ended: the final read's start, else the end of the history."""
    start = final_read_events(frames).first_start
    return float(start["t"]) if start is not None else frames.end_t


def fault_table(frames: HistoryFrames, workload_end: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for w in fault_windows(frames):
        if w.fault in METADATA_CHANGES:
            continue  # watched for replication, not a failure: no outage window
        verify, heal = w.verify, w.heal
        healed_at = float(heal["t"]) if heal is not None else None
        out.append(
            {
                "fault_id": str(w.fault_id),
                "type": w.fault,
                "target": w.inject.get("target"),
                "params": w.inject.get("params"),
                "injected_at": float(w.inject["t"]),
                "healed_at": healed_at,
                "verified": bool(verify.get("ok")) if verify is not None else None,
                "heal_ok": bool(heal.get("ok")) if heal is not None else None,
                "window": [float(w.inject["t"]), healed_at if healed_at else workload_end],
            }
        )
    return out


def _steps(frames: HistoryFrames, first_fault: float) -> dict[str, dict[str, Any]]:
    steps: dict[str, dict[str, Any]] = {}
    for s in runbook_steps(frames):
        st = steps.setdefault(
            f"{s.runbook}/{s.step}",
            {"status": None, "start_t": float(s.events[0]["t"]), "end_t": None,
             "duration_seconds": None},
        )  # fmt: skip
        for e in s.events:
            t = float(e["t"])
            if e.get("status") == "start":
                st["start_t"] = t
            else:
                st["status"] = e.get("status")
                st["end_t"] = t
                st["duration_seconds"] = t - st["start_t"]
                detail = e.get("detail")
                if e.get("status") == "fail" and isinstance(detail, dict):
                    # Why it failed: a gate's reasons, else the error (for the findings).
                    st["why"] = detail.get("not_ready") or detail.get("error")
        st["since_fault_seconds"] = st["start_t"] - first_fault
    return steps


def _writes_per_producer(frames: HistoryFrames, windows: list[Window]) -> dict[str, Any]:
    """Per producer (writer): the clusters it wrote to and the longest gap between its own
    acknowledgements. With several write regions one region's writers can be down while
    another's keep the overall figure near zero; a producer moved by a failover keeps one
    series across both clusters, so its gap includes the redirect."""
    inv, ok = frames.invoke, frames.ok
    ok_t = ok["t"].to_numpy()
    out: dict[str, Any] = {}
    for producer, rows in inv.groupby("producer", observed=True, sort=True):
        t = rows["t"].to_numpy()
        acks = ok_t[(ok["producer"] == producer).to_numpy()]
        gap = longest_gap(acks, windows, start=float(t.min()), end=float(t.max()))
        out[str(producer)] = {
            "clusters": _first_seen(rows["cluster"]),
            "seconds": _seconds(gap),
        }
    return out


def _first_seen(col: Any) -> list[str]:
    """A categorical column's values in order of first appearance, as text ("nan" for a
    missing one, as ``astype(str)`` writes it): from its codes, not a Python loop over every
    row (10M events: 2-3 s of this checker)."""
    codes = cat_codes(col)
    present, first = np.unique(codes, return_index=True)
    names = np.append(np.asarray(col.cat.categories.astype(str), dtype=object), "nan")
    return [str(names[c]) for c in present[np.argsort(first)].tolist()]


def _worst_writer(per_producer: dict[str, Any], overall: float | None) -> str | None:
    """The writer whose own longest gap is the headline: with several writers, the one with
    the longest gap when it exceeds the overall figure by more than WRITERS_DIFFER_S (one
    region's writers down while another's keep the overall figure near zero); else None."""
    timed = [(n, p["seconds"]) for n, p in per_producer.items() if p["seconds"] is not None]
    if len(per_producer) < 2 or not timed or overall is None:
        return None
    name, worst = max(timed, key=lambda nw: nw[1])
    return name if worst > overall + WRITERS_DIFFER_S else None


@checker("recovery", order=70)
def check_recovery(frames: HistoryFrames) -> Verdict:
    fr = final_read(frames)
    workload_end = workload_end_t(frames)
    phases: dict[str, Any] = {
        "detection_seconds": None,
        "runbook_seconds": None,
        "first_write_on_target_seconds": None,
        "first_read_on_target_seconds": None,
        "caught_up_seconds": None,
        "caught_up_per_group": {},
        "steps": {},
    }
    figures: dict[str, Any] = {
        "first_fault_t": None,
        "write_unavailable_seconds": None,
        "read_unavailable_seconds": None,
        "write_gap": None,
        "read_gap": None,
        "read_gap_rebalances": [],
        "read_unavailable_per_group": {},
        "write_unavailable_per_producer": {},
        "write_unavailable_worst_writer_seconds": None,
        "write_unavailable_worst_writer": None,
        "writes_recovered": None,
        "reads_recovered": None,
        "per_fault": {},
        "faults": [],
        "phases": phases,
    }
    faults = fault_table(frames, workload_end)
    figures["faults"] = faults
    if not faults:
        return Verdict(NAME, "PASS", figures, [], ["no fault injected: recovery not applicable"])
    first = min(f["injected_at"] for f in faults)
    figures["first_fault_t"] = first
    notes: list[str] = []

    steps = [e for e in frames.of_type(Ev.RUNBOOK_STEP) if float(e["t"]) >= first]
    windows: list[Window] = [tuple(f["window"]) for f in faults]  # type: ignore[misc]
    if steps:
        windows.append((first, max(float(e["t"]) for e in steps)))

    _unavailability(frames, faults, windows, figures, notes)
    _phases(frames, fr, faults, first, steps, figures, notes)
    failed = [k for k in ("writes_recovered", "reads_recovered") if figures[k] is False]
    if failed:
        notes.append(f"service never resumed after the fault: {', '.join(failed)} = false")
    return Verdict(NAME, "FAIL" if failed else "PASS", figures, [], notes)


def _unavailability(
    frames: HistoryFrames,
    faults: list[dict[str, Any]],
    windows: list[Window],
    figures: dict[str, Any],
    notes: list[str],
) -> None:
    """Write and read unavailability: overall, per group, per producer and per fault."""
    inv_t = frames.invoke["t"].to_numpy()
    ok_t = frames.ok["t"].to_numpy()
    w_args = {
        "start": float(inv_t.min()) if len(inv_t) else None,
        "end": float(inv_t.max()) if len(inv_t) else None,
    }
    recv = frames.recv[~frames.recv["final"].to_numpy()]
    rd_t = recv["t"].to_numpy()
    # Reads are in demand while writes are acked: the last ack closes the read series.
    r_end = float(ok_t.max()) if len(ok_t) else None
    wg = longest_gap(ok_t, windows, **w_args)
    rg = longest_gap(rd_t, windows, end=r_end) if len(rd_t) else None
    figures.update(
        write_unavailable_seconds=_seconds(wg),
        read_unavailable_seconds=_seconds(rg),
        write_gap=wg,
        read_gap=rg,
        writes_recovered=_recovered(wg),
        reads_recovered=_recovered(rg),
    )
    if wg is None:
        notes.append("no sends in the history: write unavailability not applicable")
    if rg is None:
        notes.append("no non-final receipts: read unavailability not applicable")
    figures["read_gap_rebalances"] = _rebalances_in(frames, rg)
    for g, rows in recv.groupby("group", observed=True, sort=True):
        figures["read_unavailable_per_group"][str(g)] = _seconds(
            longest_gap(rows["t"].to_numpy(), windows, end=r_end)
        )
    per_producer = _writes_per_producer(frames, windows)
    figures["write_unavailable_per_producer"] = per_producer
    gaps = [p["seconds"] for p in per_producer.values() if p["seconds"] is not None]
    figures["write_unavailable_worst_writer_seconds"] = max(gaps) if gaps else None
    figures["write_unavailable_worst_writer"] = _worst_writer(
        per_producer, figures["write_unavailable_seconds"]
    )
    for f in faults:
        w = [tuple(f["window"])]
        figures["per_fault"][f["fault_id"]] = {
            "write_unavailable_seconds": _seconds(longest_gap(ok_t, w, **w_args)),  # type: ignore[arg-type]
            "read_unavailable_seconds": _seconds(longest_gap(rd_t, w, end=r_end))  # type: ignore[arg-type]
            if len(rd_t)
            else None,
        }


def _rebalances_in(frames: HistoryFrames, gap: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The group consumers' rebalance callbacks inside the longest read gap: a `lost` one is a
    session that timed out (the member had to rejoin before it read again), which is why the
    same broker loss can stop reads for seconds more in one run than in another."""
    if not gap or gap["from"] is None:
        return []
    lo, hi = float(gap["from"]), float(gap["to"])
    return [
        {"t": float(e["t"]), "reader": e["reader"], "group": e["group"], "change": e["change"]}
        for e in frames.of_type(Ev.ASSIGN)
        if lo <= float(e["t"]) <= hi
    ][:SAMPLE]


def _phases(
    frames: HistoryFrames,
    fr: Any,
    faults: list[dict[str, Any]],
    first: float,
    steps: list[dict[str, Any]],
    figures: dict[str, Any],
    notes: list[str],
) -> None:
    """Detection, runbook, first write/read on the target and caught-up times."""
    phases = figures["phases"]
    # Phases are measured from the fault that triggered the runbook (runbook.trigger), else
    # from the first fault: an earlier unrelated fault must not inflate detection time.
    trig = next((e for e in frames.of_type(Ev.RUNBOOK_TRIGGER) if e.get("fault_id")), None)
    if trig is not None:
        first = next((f["injected_at"] for f in faults if f["fault_id"] == trig["fault_id"]), first)
        figures["phases_from_fault"] = trig["fault_id"]
        steps = [e for e in steps if float(e["t"]) >= first]
    phases["steps"] = _steps(frames, first)
    if steps:
        phases["detection_seconds"] = float(steps[0]["t"]) - first
        ends = [s["end_t"] for s in phases["steps"].values() if s["end_t"] is not None]
        begins = [s["start_t"] for s in phases["steps"].values() if s["start_t"] >= first]
        if ends and begins:
            phases["runbook_seconds"] = max(ends) - min(begins)
    redirects = [e for e in frames.of_type(Ev.REDIRECT) if float(e["t"]) >= first]
    prod_r = [e for e in redirects if e.get("role") == "producer"]
    cons_r = [e for e in redirects if e.get("role") == "consumer"]
    if prod_r:
        on = frames.ok[(frames.ok["cluster"] == prod_r[0].get("to_cluster")).to_numpy()]
        t = on["t"].to_numpy()
        t = t[t >= first]
        phases["first_write_on_target_seconds"] = float(t.min()) - first if len(t) else None
    if cons_r:
        recv = frames.recv[~frames.recv["final"].to_numpy()]
        on = recv[(recv["cluster"] == cons_r[0].get("to_cluster")).to_numpy()]
        t = on["t"].to_numpy()
        t = t[t >= first]
        phases["first_read_on_target_seconds"] = float(t.min()) - first if len(t) else None
        _caught_up(frames, fr, cons_r, first, phases, notes)


def _caught_up(
    frames: HistoryFrames,
    fr: Any,
    cons_r: list[dict[str, Any]],
    first: float,
    phases: dict[str, Any],
    notes: list[str],
) -> None:
    acked = first_per_id(frames.ok, frames)
    codes = acked["id_code"].to_numpy()
    a = acked["t"].to_numpy()
    if fr.present:  # lost ids can never be received: the loss checker owns them
        keep = fr.auth_seen[codes]
        codes, a = codes[keep], a[keep]
    rc = consumer_receipts(frames)
    gcodes = cat_codes(rc["group"])
    groups = list(rc["group"].cat.categories)
    since: dict[str, float] = {}
    for e in cons_r:
        g = e.get("group")
        if g is not None and str(g) not in since:
            since[str(g)] = float(e["t"])
    per_group: dict[str, float | None] = {}
    for g, t_r in since.items():
        if g not in groups:
            per_group[g] = None
            continue
        rows = rc[gcodes == groups.index(g)]
        r = by_id(frames, rows, "t", np.inf) if len(rows) else np.full(n_ids(frames), np.inf)
        at = caught_up_at(a, r[codes], t_r)
        per_group[g] = None if at is None else at - first
    phases["caught_up_per_group"] = per_group
    never = [g for g, v in per_group.items() if v is None]
    if never:
        notes.append(f"groups never caught up: {never}")
    elif per_group:
        phases["caught_up_seconds"] = max(v for v in per_group.values() if v is not None)
