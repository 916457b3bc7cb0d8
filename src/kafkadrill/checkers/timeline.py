"""The timeline of a run and the replication lag at each fault: the one builder of both.

Notable moments, not every send: run start/end, phases, faults (tagged F1, F2... in injection
order, the tags the plots use), runbook steps (with durations), redirects, replication lag at each
fault (from ``replication_lag`` probes), transitions of the write path (first failing send after
a success, first success after failures), each consumer group's first read after a redirect, and
the final read. Per-message events are scanned columnar (numpy over the frames), so a 10M-event
history costs a few vectorised passes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from kafkadrill.checkers._common import rows_of
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.folds import fault_windows

__all__ = ["TIMELINE_LIMIT", "build_timeline", "fault_tags", "lag_at_faults"]

#: Rows kept in report.json's timeline; the rest is summarised in one note row.
TIMELINE_LIMIT = 300


def _num(v: Any) -> float | None:
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    return None


def _text(v: Any) -> str:
    """Compact text of a value for a timeline sentence (numbers with thousands separators)."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{round(v, 3):,}"
    if isinstance(v, Mapping | list | tuple):
        return orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    return str(v)


def _secs(v: Any) -> str:
    return "n/a" if _num(v) is None else f"{_text(round(float(v), 3))} s"


def fault_tags(events: list[dict[str, Any]]) -> dict[Any, tuple[str, float]]:
    """fault_id -> (tag ``F<n>``, inject t), in injection order (events without a t skipped)."""
    out: dict[Any, tuple[str, float]] = {}
    for w in fault_windows(events):
        if (t := _num(w.inject.get("t"))) is not None:
            out[w.fault_id] = (f"F{len(out) + 1}", t)
    return out


def lag_at_faults(frames: HistoryFrames) -> list[dict[str, Any]]:
    """Per injected fault, the last ``replication_lag`` probe of each flow at or before it; its
    ``heartbeat_age_s`` from the last probe of the flow that carried one (the monitor reads the
    heartbeats every other sample)."""
    events = frames.events
    probes = [
        e
        for e in events
        if e.get("type") == Ev.PROBE
        and e.get("name") == "replication_lag"
        and _num(e.get("t")) is not None
    ]
    out: list[dict[str, Any]] = []
    injects = {w.fault_id: w.inject for w in fault_windows(frames)}
    for fid, (tag, t) in fault_tags(events).items():
        last: dict[str, Mapping[str, Any]] = {}
        beat: dict[str, Any] = {}
        for p in probes:
            if float(p["t"]) <= t:
                flow = str(p.get("flow") or "flow")
                last[flow] = p
                if "heartbeat_age_s" in p:
                    beat[flow] = p["heartbeat_age_s"]
        inj = injects.get(fid, {})
        for flow, p in sorted(last.items()):
            out.append(
                {
                    "tag": tag,
                    "fault": inj.get("fault"),
                    "target": inj.get("target"),
                    "fault_t": t,
                    "flow": flow,
                    "probe_t": p.get("t"),
                    "lag": p.get("lag"),
                    "heartbeat_age_s": beat.get(flow),
                }
            )
    return out


def _wall_offset(frames: HistoryFrames) -> float | None:
    """``wall - t`` of the run (hot frames keep ``t`` only; every event has wall = t0 + t)."""
    for e in frames.events:
        w, t = _num(e.get("wall")), _num(e.get("t"))
        if w is not None and t is not None:
            return w - t
    return None


def _rare_rows(events: list[dict[str, Any]], alerts: dict[str, list[str]]) -> list[tuple]:
    """(seq, t, wall, kind, text) of the rare events worth a line."""
    rows: list[tuple] = []
    tags: dict[Any, str] = {}
    starts: dict[tuple[Any, Any], float] = {}

    def add(e: Mapping[str, Any], kind: str, text: str) -> None:
        rows.append((e.get("seq"), e.get("t"), e.get("wall"), kind, text))

    for e in events:
        typ = e.get("type")
        if typ == Ev.RUN_START:
            add(
                e,
                "run",
                f"run {e.get('run_id')} started (scenario {e.get('scenario')}, "
                f"seed {e.get('seed')})",
            )
        elif typ == Ev.RUN_END:
            err = f": {e.get('error')}" if e.get("error") else ""
            add(e, "run", f"run ended ({e.get('status')}){err}")
        elif typ == Ev.PHASE:
            add(e, "phase", f"phase {e.get('name')}")
        elif typ == Ev.FAULT_INJECT:
            tag = tags[e.get("fault_id")] = f"F{len(tags) + 1}"
            params = e.get("params")
            ptxt = f" {_text(params)}" if params else ""
            add(e, "fault", f"{tag} injected: {e.get('fault')} on {e.get('target')}{ptxt}")
            for text in alerts.get(tag, []):
                add(e, "alert", text)
        elif typ in (Ev.FAULT_VERIFY, Ev.FAULT_HEAL):
            tag = tags.get(e.get("fault_id"), str(e.get("fault_id")))
            verb = "verified" if typ == Ev.FAULT_VERIFY else "healed"
            if not e.get("ok"):
                verb = "NOT verified" if typ == Ev.FAULT_VERIFY else "heal FAILED"
            detail = f": {e.get('detail')}" if e.get("detail") else ""
            add(e, "fault", f"{tag} {verb}{detail}")
        elif typ == Ev.RUNBOOK_STEP:
            key = (e.get("runbook"), e.get("step"))
            name = f"{e.get('runbook')} / {e.get('step')}"
            status = e.get("status")
            if status == "start":
                starts[key] = _num(e.get("t")) or 0.0
                add(e, "runbook", f"{name} started")
            else:
                took = ""
                if key in starts and (t := _num(e.get("t"))) is not None:
                    took = f" after {_secs(t - starts[key])}"
                detail = f": {e.get('detail')}" if e.get("detail") else ""
                word = "ok" if status == "ok" else "FAILED"
                add(e, "runbook", f"{name} {word}{took}{detail}")
        elif typ == Ev.REDIRECT:
            who = (
                f"consumer group {e.get('group')}"
                if e.get("group")
                else f"{e.get('role') or 'client'} {e.get('client')}"
            )
            add(e, "redirect", f"{who} redirected {e.get('from_cluster')} → {e.get('to_cluster')}")
        elif typ == Ev.FINAL_READ_START:
            add(
                e,
                "final-read",
                f"final read of {_text(e.get('clusters'))} started "
                f"(authoritative: {e.get('authoritative')})",
            )
        elif typ == Ev.FINAL_READ_END:
            word = "complete" if e.get("complete") else "INCOMPLETE"
            add(
                e,
                "final-read",
                f"final read of {e.get('cluster')} {word}: {_text(e.get('records'))} records",
            )
        elif typ in (Ev.CLIENT_ERROR, Ev.HEAL_RESTART):
            fields = {k: v for k, v in e.items() if k not in ("seq", "t", "wall", "type")}
            add(e, "run", f"{typ} {_text(fields)}")
    return rows


def _write_transitions(frames: HistoryFrames) -> tuple[list[tuple], int]:
    """First failing send after a success (or at the start), first success after failures.

    Returns (rows, transitions not turned into rows): beyond the limit they would be cut."""
    parts = [
        (frames.ok, 0),
        (frames.fail, 1),
        (frames.unknown, 2),
    ]
    seq = np.concatenate([f["seq"].to_numpy() for f, _ in parts])
    if not len(seq):
        return [], 0
    kind = np.concatenate([np.full(len(f), k, dtype=np.int8) for f, k in parts])
    row = np.concatenate([np.arange(len(f)) for f, _ in parts])
    order = np.argsort(seq, kind="stable")
    bad = kind[order] > 0
    change = np.flatnonzero(bad != np.concatenate([[False], bad[:-1]]))
    out: list[tuple] = []
    for i in change[: TIMELINE_LIMIT + 1].tolist():  # more are cut by the limit anyway
        j = order[i]
        k, r = int(kind[j]), int(row[j])
        frame = parts[k][0]
        t = float(frame["t"].iat[r])
        cluster = frame["cluster"].iat[r]
        if k == 0:
            text = (
                f"writes resumed: first acknowledged write on {cluster} ({frame['topic'].iat[r]})"
            )
        else:
            word = "failed" if k == 1 else "ended unknown"
            text = f"writes failing: first send to {cluster} {word} ({frame['error'].iat[r]})"
        out.append((int(seq[j]), t, None, "write", text))
    return out, max(len(change) - len(out), 0)


def _reads_after_redirect(frames: HistoryFrames) -> list[tuple]:
    """Each consumer group's first receipt after each of its redirects."""
    redirects: dict[str, list[int]] = defaultdict(list)
    for e in frames.events:
        if e.get("type") == Ev.REDIRECT and e.get("group") is not None:
            redirects[str(e["group"])].append(int(e.get("seq", -1)))
    if not redirects:
        return []
    r = frames.recv
    mask = ~r["final"].to_numpy() & r["group"].notna().to_numpy()
    recv = rows_of(r, mask)
    codes = recv["group"].cat.codes.to_numpy()
    names = [str(x) for x in recv["group"].cat.categories]
    out: list[tuple] = []
    for g, seqs in redirects.items():
        rows = recv[codes == names.index(g)] if g in names else recv.iloc[:0]
        rseq = rows["seq"].to_numpy()
        seqs = sorted(seqs)
        for k, s in enumerate(seqs):
            i = int(np.searchsorted(rseq, s, side="right"))
            nxt = seqs[k + 1] if k + 1 < len(seqs) else math.inf
            if i < len(rseq) and rseq[i] < nxt:
                out.append(
                    (
                        int(rseq[i]),
                        float(rows["t"].iat[i]),
                        None,
                        "read",
                        f"group {g}: first read after redirect, on {rows['cluster'].iat[i]} "
                        f"({rows['topic'].iat[i]})",
                    )
                )
    return out


def build_timeline(frames: HistoryFrames, *, limit: int = TIMELINE_LIMIT) -> list[dict[str, Any]]:
    """Notable moments of a run as ``{t, wall, kind, text}`` in history order.

    Kinds: run, phase, fault, alert, runbook, redirect, write, read, final-read, and one
    ``note`` row when more than ``limit`` rows were cut.
    """
    alerts: dict[str, list[str]] = defaultdict(list)
    for a in lag_at_faults(frames):
        bits = []
        if a["lag"] is not None:
            bits.append(f"{_text(a['lag'])} records")
        if a["heartbeat_age_s"] is not None:
            bits.append(f"heartbeat age {_secs(a['heartbeat_age_s'])}")
        alerts[a["tag"]].append(
            f"replication lag at {a['tag']}: {a['flow']} {', '.join(bits)} "
            f"(probe at {_secs(a['probe_t'])})"
        )
    rows = _rare_rows(frames.events, alerts)
    writes, uncut = _write_transitions(frames)
    rows += writes
    rows += _reads_after_redirect(frames)
    rows.sort(key=lambda r: r[0] if isinstance(r[0], int) else -1)
    offset = _wall_offset(frames)
    out = [
        {
            "t": t,
            "wall": wall if wall is not None or t is None or offset is None else offset + t,
            "kind": kind,
            "text": text,
        }
        for _, t, wall, kind, text in rows
    ]
    if len(out) + uncut > limit:
        rest = len(out) + uncut - limit
        out = out[:limit]
        out.append(
            {
                "t": None,
                "wall": None,
                "kind": "note",
                "text": f"… {rest} more entries omitted (see the history)",
            }
        )
    return out
