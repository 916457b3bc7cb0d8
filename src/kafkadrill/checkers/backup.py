"""Backup: what a Kafka Connect backup (topology.backup) held when disaster struck, and how
faithful its restore was (issue 24; seed 001: "backups ... with a higher RPO, hours to days,
depending on backup frequency").

From the ``backup`` event (the store's segments when the final read began: per topic and
partition the offsets each holds and when it was written) and the acks on the backed-up
cluster (``send.ok``: topic, partition, offset):

- **disaster**: the fault that triggered the failover runbook, else the first fault injected
  (none: the end of the run); ``disaster_wall`` is its wall time;
- **backup RPO at the disaster**: acks on the source of records sent before the disaster whose
  offset no segment written by then holds (``not_backed_up_at_disaster``), and their window:
  from the oldest such send to the disaster (``rpo_window_seconds``);
  ``not_backed_up_in_the_end``: acks no segment holds even later (a worker that survives the
  disaster still flushes what it had read before it);
- **restore** (a ``restore`` step of the failover): records written, seconds, records/s;
- **fidelity**, on the cluster restored into, over the acked ids the backup holds: ``lost`` (not
  read there), ``duplicated`` (read more than once there), ``moved`` (another partition),
  ``retimed`` (another record timestamp than the ack's), ``headers_altered`` (kd-id or
  kd-origin-cluster header not the original's), ``reordered`` (per partition, a record read
  after one that the original log had after it).

FAIL when fidelity is broken (any of those above 0): a restore must give back what the backup
holds. The backup RPO is measured, never judged: it is what the backup frequency costs.
UNKNOWN when the restored cluster's final read did not complete.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kafkadrill.checkers._common import SAMPLE, Verdict, by_id, final_read, n_ids
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.folds import fault_windows, run_bounds, runbook_steps

NAME = "backup"


def _disaster(frames: HistoryFrames) -> dict[str, Any] | None:
    """The fault that triggered the failover, else the first fault injected."""
    windows = fault_windows(frames)
    trigger = next(
        (e for e in frames.events if e.get("type") == Ev.RUNBOOK_TRIGGER and e.get("fault_id")),
        None,
    )
    if trigger is not None:
        hit = next((w for w in windows if w.fault_id == trigger["fault_id"]), None)
        if hit is not None:
            return hit.inject
    return windows[0].inject if windows else None


def _covered(
    segs: list[list[Any]], topic: np.ndarray, part: np.ndarray, off: np.ndarray, by_ms: float
) -> np.ndarray:
    """Per ack: does a segment written at or before `by_ms` hold its offset?"""
    out = np.zeros(len(off), dtype=bool)
    for t, p, first, last, written in segs:
        if written > by_ms:
            continue
        out |= (topic == t) & (part == p) & (off >= first) & (off <= last)
    return out


def _restore_step(frames: HistoryFrames) -> dict[str, Any] | None:
    for st in runbook_steps(frames):
        if st.step == "restore":
            end = st.events[-1]
            start = st.events[0]
            return {
                "status": end.get("status"),
                "detail": end.get("detail") or {},
                "t": float(start.get("t", 0.0)),
            }
    return None


def _fidelity(
    frames: HistoryFrames, acks: pd.DataFrame, held: np.ndarray, target: str
) -> tuple[dict[str, Any], list[dict[str, Any]], bool]:
    """Fidelity figures on `target` over the acked ids the backup holds."""
    fr = final_read(frames)
    rec = fr.records[(fr.records["cluster"] == target).to_numpy()]
    rec = rec[rec["id_code"].to_numpy() >= 0]
    complete = bool(fr.complete.get(target, False))
    kept = acks[held]
    codes = kept["id_code"].to_numpy()
    size = n_ids(frames)
    want = np.zeros(size, dtype=bool)
    want[codes] = True
    rcodes = rec["id_code"].to_numpy()
    mine = want[rcodes]
    rec = rec[mine]
    rcodes = rcodes[mine]
    count = np.bincount(rcodes, minlength=size)
    lost_codes = codes[count[codes] == 0]
    dup_codes = np.flatnonzero(count > 1)
    # The original (acked) partition, offset and timestamp per id.
    o_part = np.full(size, -1, dtype=np.int64)
    o_off = np.full(size, -1, dtype=np.int64)
    o_ts = np.full(size, -1, dtype=np.int64)
    o_part[codes] = kept["partition"].to_numpy()
    o_off[codes] = kept["offset"].to_numpy()
    o_ts[codes] = kept["ts"].to_numpy()
    r_part = rec["partition"].to_numpy().astype(np.int64)
    moved = r_part != o_part[rcodes]
    retimed = rec["ts"].to_numpy().astype(np.int64) != o_ts[rcodes]
    hdr = rec["hdr_id_code"].to_numpy()
    origin = rec["origin_cluster"].astype(str).to_numpy()
    src = str(kept["cluster"].iat[0]) if len(kept) else ""
    altered = (hdr != rcodes) | (origin != src)
    # Order: within a restored partition, read in offset order, the original offsets rise.
    reordered = 0
    order = np.lexsort((rec["offset"].to_numpy(), r_part))
    rp, oo = r_part[order], o_off[rcodes][order]
    same = rp[1:] == rp[:-1]
    reordered = int((same & (oo[1:] < oo[:-1])).sum())
    figures = {
        "restored_into": target,
        "judged": len(codes),
        "lost": len(lost_codes),
        "duplicated": len(dup_codes),
        "moved": int(moved.sum()),
        "retimed": int(retimed.sum()),
        "headers_altered": int(altered.sum()),
        "reordered": reordered,
        "read_complete": complete,
    }
    evidence = [{"kind": "lost", "id": frames.id_text(int(c))} for c in lost_codes[:SAMPLE]]
    evidence += [{"kind": "duplicated", "id": frames.id_text(int(c))} for c in dup_codes[:SAMPLE]]
    return figures, evidence, complete


@checker(NAME, order=130)
def check_backup(frames: HistoryFrames) -> Verdict:
    ev = next((e for e in reversed(frames.events) if e.get("type") == Ev.BACKUP), None)
    if ev is None:
        return Verdict(NAME, "PASS", {"applicable": False}, [], ["no backup in this run"])
    source = str(ev["source"])
    topics = [str(t) for t in ev.get("topics") or []]
    segs = [list(s) for s in ev.get("segments") or []]
    start = run_bounds(frames).start or {}
    wall0 = float(start.get("wall", 0.0)) - float(start.get("t", 0.0))
    ok = frames.ok
    acks = ok[(ok["cluster"] == source).to_numpy() & ok["topic"].isin(topics).to_numpy()]
    acks = acks[acks["offset"].notna().to_numpy()]
    # When each was *sent*: an ack the dying cluster gave is recorded when the producer polls
    # its callback, which can be after the fault's event; the send cannot.
    t_ack = by_id(frames, frames.invoke, "t", np.nan)[acks["id_code"].to_numpy()]
    t_ack = np.where(np.isnan(t_ack), acks["t"].to_numpy(dtype=float), t_ack)
    a_topic = acks["topic"].astype(str).to_numpy()
    a_part = acks["partition"].to_numpy().astype(np.int64)
    a_off = acks["offset"].to_numpy().astype(np.int64)
    disaster = _disaster(frames)
    d_t = float(disaster["t"]) if disaster is not None else float(t_ack.max(initial=0.0))
    d_wall_ms = (wall0 + d_t) * 1000.0
    before = t_ack <= d_t
    at_disaster = _covered(segs, a_topic, a_part, a_off, d_wall_ms)
    in_the_end = _covered(segs, a_topic, a_part, a_off, float("inf"))
    missing = before & ~at_disaster
    window = float(d_t - t_ack[missing].min()) if missing.any() else 0.0
    newest = [s for s in segs if s[4] <= d_wall_ms]
    figures: dict[str, Any] = {
        "applicable": True,
        "source": source,
        "flush_seconds": ev.get("flush_seconds"),
        "segments": len(segs),
        "disaster": None if disaster is None else disaster.get("fault"),
        "disaster_t": round(d_t, 3),
        "acked_before_disaster": int(before.sum()),
        "backed_up_at_disaster": int((before & at_disaster).sum()),
        "not_backed_up_at_disaster": int(missing.sum()),
        "rpo_window_seconds": round(window, 3),
        "last_segment_before_disaster_s": (
            round(d_t - (max(s[4] for s in newest) / 1000.0 - wall0), 3) if newest else None
        ),
        "not_backed_up_in_the_end": int((before & ~in_the_end).sum()),
        "worker_alive_at_end": bool(ev.get("alive")),
    }
    notes: list[str] = []
    evidence: list[dict[str, Any]] = []
    status = "PASS"
    restore = _restore_step(frames)
    if restore is None:
        notes.append("no restore step: the backup's coverage is measured, no restore judged")
        figures["restore"] = None
        return Verdict(NAME, status, figures, evidence, notes)
    detail = restore["detail"]
    secs = detail.get("seconds")
    figures["restore"] = {
        "status": restore["status"],
        "records": detail.get("records"),
        "segments": detail.get("segments"),
        "seconds": secs,
        "records_per_second": (
            round(detail["records"] / secs, 1) if secs and detail.get("records") else None
        ),
    }
    target = detail.get("to")
    if restore["status"] != "ok" or not target:
        notes.append(f"the restore step did not complete: {detail.get('error')}")
        return Verdict(NAME, "UNKNOWN", figures, evidence, notes)
    fid, evidence, complete = _fidelity(frames, acks, in_the_end, str(target))
    figures["fidelity"] = fid
    broken = [k for k in ("lost", "duplicated", "moved", "headers_altered", "reordered") if fid[k]]
    if fid["retimed"]:
        notes.append(
            f"{fid['retimed']} restored records carry another timestamp than their ack's "
            "(librdkafka can report a CreateTime 1 ms off the stored one for a retried send)"
        )
    if broken:
        status = "FAIL"
        notes.append("restore fidelity broken: " + ", ".join(f"{k} {fid[k]}" for k in broken))
    elif not complete:
        status = "UNKNOWN"
        notes.append(f"the final read of {target} did not complete: fidelity not judged")
    return Verdict(NAME, status, figures, evidence, notes)
