"""Split writes and the divergent tail of a region failover.

A failover is rarely clean: a producer that misses the redirect (a *straggler*) keeps writing to
the old primary while it is partly up or once it is back, and the old primary holds acknowledged
writes that never reached the DR cluster. Two figure groups, both from the history alone:

- ``split_writes``: ids whose ``send.ok`` came from the old primary with an ack time after the
  failover decision: per producer (a straggler or not), how many reached DR, how many a consumer
  saw, and how many were acknowledged after the fence took effect (a fence that did not hold).
  An id *sent* before the decision and acknowledged after it that some reader received before
  the decision, or that DR holds, was in the log in time: only its acknowledgement came late
  (lost in a cut and delivered after the heal), so it is not a split write; those are counted
  as ``acked_late`` instead. One sent before the decision that neither shows is still a split
  write (queued in the client during a cut, it landed after the heal).
- ``divergent_tail``: ids the old primary acknowledged that DR's final read does not hold, split
  at the decision (never replicated before it / split writes not replicated), and whether the old
  primary's own final read still holds them (recoverable by id) or nothing does (discarded).

The failover is the ``failover`` runbook's first decision: the ``decide`` step's ok event (its
detail names ``from`` and ``to``; older histories: the first producer redirect's clusters). The
window ends where a failback starts moving producers back (its ``redirect_producers`` step):
after that, writes on the old primary are the failback's, not split writes.

Status states one strict property: PASS unless writes were *sent* to the fenced cluster after
its fence took effect and acknowledged (the fence did not hold). The number of split writes is a
measurement that the ``max_split_writes`` objective judges (null by default: reported only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kafkadrill.checkers._common import (
    FinalRead,
    Verdict,
    ack_rows,
    by_id,
    consumer_receipts,
    final_read,
    first_per_id,
    presence,
)
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.folds import RunbookStep, runbook_steps

__all__ = ["REDIRECT_GRACE_SECONDS", "check_split_writes", "failover_of"]

NAME = "split_writes"
FAILOVER, FAILBACK = "failover", "failback"
# A producer records its redirect only after draining its in-flight sends (up to 1 s, see
# workload/producer.py) and finishing its current burst: a redirect this soon after the
# runbook's redirect_producers step ended is on time, a later one (or none) is a straggler.
REDIRECT_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class Fence:
    """The failover's ``fence`` step: ``status`` ok | fail | unfinished (started, never ended)
    | absent; ``t`` the ok event's time (when the fence took effect), else None."""

    status: str
    t: float | None = None
    method: Any = None
    cluster: Any = None
    position: Any = None

    def figures(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "t": self.t,
            "method": self.method,
            "cluster": self.cluster,
            "position": self.position,
        }


@dataclass(frozen=True)
class Failover:
    """Where and when the failover happened, as the history recorded it."""

    old: str  # the old primary
    dr: str  # the cluster clients fail over to
    decision_t: float
    decision_from: str  # which event dated the decision: decide | redirect_producers | redirect
    clusters_from: str  # which event named the clusters: decide | redirect
    redirect_end_t: float | None  # the failover's redirect_producers step ended (ok or fail)
    window_end_t: float | None  # a failback's redirect_producers step started; None: never
    fence: Fence
    # The producers the runbook left behind on purpose (its redirect_producers step names
    # them); None in histories before it did: then the redirect times decide.
    stragglers: frozenset[str] | None = None


def _step(steps: tuple[RunbookStep, ...], runbook: str, name: str) -> RunbookStep | None:
    return next((s for s in steps if s.runbook == runbook and s.step == name), None)


def _event(step: RunbookStep | None, *statuses: str) -> Mapping[str, Any] | None:
    """The step's first event with one of ``statuses``."""
    if step is None:
        return None
    return next((e for e in step.events if e.get("status") in statuses), None)


def _detail(event: Mapping[str, Any] | None) -> Mapping[str, Any]:
    d = event.get("detail") if event is not None else None
    return d if isinstance(d, Mapping) else {}


def _fence(steps: tuple[RunbookStep, ...]) -> Fence:
    st = _step(steps, FAILOVER, "fence")
    ok, fail = _event(st, "ok"), _event(st, "fail")
    if ok is not None:
        d = _detail(ok)
        return Fence("ok", float(ok["t"]), d.get("method"), d.get("cluster"), d.get("position"))
    if fail is not None:
        d = _detail(fail)
        return Fence("fail", None, d.get("method"), d.get("cluster"), d.get("position"))
    return Fence("unfinished" if st is not None else "absent")


def _named_stragglers(detail: Mapping[str, Any]) -> frozenset[str] | None:
    names = detail.get("stragglers")
    return frozenset(map(str, names)) if isinstance(names, list) else None


def failover_of(frames: HistoryFrames) -> tuple[Failover | None, str]:
    """The history's failover, or (None, why there is none to judge)."""
    steps = runbook_steps(frames)
    redirects = [e for e in frames.of_type(Ev.REDIRECT) if e.get("role") == "producer"]
    decide = _event(_step(steps, FAILOVER, "decide"), "ok")
    red_step = _step(steps, FAILOVER, "redirect_producers")
    red_start = _event(red_step, "start")
    if decide is not None:
        decision_t, decision_from = float(decide["t"]), "decide"
    elif red_start is not None:  # a runbook without a decide step: the move is the decision
        decision_t, decision_from = float(red_start["t"]), "redirect_producers"
    elif redirects:
        decision_t, decision_from = float(redirects[0]["t"]), "redirect"
    else:
        return None, "no failover in the history (no decide step, no producer redirect)"
    d = _detail(decide)
    if isinstance(d.get("from"), str) and isinstance(d.get("to"), str):
        old, dr, clusters_from = d["from"], d["to"], "decide"
    elif redirects:  # histories before the decide step named its clusters
        old, dr = str(redirects[0]["from_cluster"]), str(redirects[0]["to_cluster"])
        clusters_from = "redirect"
    else:
        return None, "the failover names no clusters (no decide from/to, no producer redirect)"
    end = _event(red_step, "ok", "fail")
    back = _event(_step(steps, FAILBACK, "redirect_producers"), "start")
    return (
        Failover(
            old,
            dr,
            decision_t,
            decision_from,
            clusters_from,
            float(end["t"]) if end is not None else None,
            float(back["t"]) if back is not None else None,
            _fence(steps),
            _named_stragglers(_detail(end)),
        ),
        "",
    )


def _context(fo: Failover) -> dict[str, Any]:
    return {
        "applicable": True,
        "old_primary": fo.old,
        "dr": fo.dr,
        "decision_t": fo.decision_t,
        "decision_from": fo.decision_from,
        "clusters_from": fo.clusters_from,
        "redirect_producers_end_t": fo.redirect_end_t,
        "window_end_t": fo.window_end_t,
        "straggler_grace_seconds": REDIRECT_GRACE_SECONDS,
        "fence": fo.fence.figures(),
    }


def _not_applicable(why: str) -> Verdict:
    figures: dict[str, Any] = {
        "applicable": False,
        "old_primary": None,
        "dr": None,
        "decision_t": None,
        "fence": None,
        "split_writes": None,
        "divergent_tail": None,
    }
    return Verdict(NAME, "PASS", figures, [], [why])


@dataclass(frozen=True)
class _Reads:
    """What the final read and the consumers saw, as boolean arrays over id codes; a ``*_complete``
    flag False means absence there proves nothing (not read, or the read did not complete)."""

    present: bool  # a final read exists
    on_dr: np.ndarray
    dr_complete: bool
    on_old: np.ndarray
    old_read: bool  # the old primary was among the clusters read
    old_complete: bool
    anywhere: np.ndarray
    all_complete: bool
    by_consumer: np.ndarray


def _reads(frames: HistoryFrames, fr: FinalRead, fo: Failover) -> _Reads:
    rec = fr.records
    cluster = rec["cluster"]

    def on(name: str) -> np.ndarray:
        # Any topic of that cluster: an id is one message whether it sits in `orders` or in
        # MM2's renamed `primary.orders` (the loss checker matches ids the same way).
        return presence(frames, rec[(cluster == name).to_numpy()])

    read = set(fr.clusters) | set(fr.complete)
    return _Reads(
        fr.present,
        on(fo.dr),
        fr.present and fr.complete.get(fo.dr, False),
        on(fo.old),
        fr.present and fo.old in read,
        fr.present and fr.complete.get(fo.old, False),
        presence(frames, rec),
        fr.present and not fr.incomplete,
        presence(frames, consumer_receipts(frames)),
    )


def _rel(t: float | None, t0: float) -> float | None:
    return None if t is None else round(float(t) - t0, 6)


def _redirects(frames: HistoryFrames, fo: Failover) -> dict[str, float]:
    """Producer -> time of its first redirect off the old primary onto DR."""
    out: dict[str, float] = {}
    for e in frames.of_type(Ev.REDIRECT):
        if (e.get("role"), e.get("from_cluster"), e.get("to_cluster")) == (
            "producer",
            fo.old,
            fo.dr,
        ):
            out.setdefault(str(e.get("client")), float(e["t"]))
    return out


def _per_producer(
    frames: HistoryFrames, fo: Failover, split: pd.DataFrame
) -> dict[str, dict[str, Any]]:
    moved = _redirects(frames, fo)
    late_after = None if fo.redirect_end_t is None else fo.redirect_end_t + REDIRECT_GRACE_SECONDS
    out: dict[str, dict[str, Any]] = {}
    for producer, rows in split.groupby("producer", observed=True, sort=True):
        r_t = moved.get(str(producer))
        t = rows["t"].to_numpy()
        out[str(producer)] = {
            "count": len(rows),
            "redirected_t": r_t,
            # Named by the runbook; else: never moved, or moved well after the others.
            "straggler": str(producer) in fo.stragglers
            if fo.stragglers is not None
            else r_t is None or (late_after is not None and r_t > late_after),
            "before_redirect": int((t <= r_t).sum()) if r_t is not None else len(rows),
            "after_redirect": int((t > r_t).sum()) if r_t is not None else 0,
            "first_ack_after_decision_s": _rel(float(t.min()), fo.decision_t),
            "last_ack_after_decision_s": _rel(float(t.max()), fo.decision_t),
        }
    return out


def _through_fence(
    frames: HistoryFrames, fo: Failover, split: pd.DataFrame
) -> tuple[int | None, int | None]:
    """(acked after the fence took effect, of them sent after it too); None: no fence held."""
    f = fo.fence
    if f.status != "ok" or f.t is None:
        return None, None
    fenced = str(f.cluster) if f.cluster is not None else fo.old
    rows = split[((split["cluster"] == fenced) & (split["t"] > f.t)).to_numpy()]
    send_t = by_id(frames, frames.invoke, "t", np.nan)[rows["id_code"].to_numpy()]
    # A send handed to the client before the fence may have been authorised before it and
    # acknowledged after: only a send made after the fence proves the fence let it through.
    return len(rows), int((send_t > f.t).sum())


def _acked_late(
    frames: HistoryFrames, fo: Failover, reads: _Reads, after: pd.DataFrame
) -> tuple[np.ndarray, dict[str, Any]]:
    """Which of ``after`` (acked on the old primary after the decision) were in the log in time:
    sent before the decision (``send.invoke``) and received by a reader before it or held by
    DR. Seen in the stability rounds (read before the decision) and in CI (copied by MM2, read
    by nobody): records written just before a link cut, their acks delivered after the heal."""
    codes = after["id_code"].to_numpy()
    read = _read_before(frames, fo.decision_t)[codes]
    sent_t = by_id(frames, frames.invoke, "t", np.nan)[codes]
    on_dr = reads.on_dr[codes] & (sent_t <= fo.decision_t)  # NaN (no invoke) compares False
    late = read | on_dr  # a read before the decision implies a send before it
    return late, {
        "count": int(late.sum()),
        "read_before_decision": int(read.sum()),
        "on_dr": int(on_dr.sum()),
    }


def _read_before(frames: HistoryFrames, t: float) -> np.ndarray:
    """Per id code: did any reader receive it (any cluster) at or before ``t``?"""
    seen = np.zeros(len(frames.ids), dtype=bool)
    recv = frames.recv
    codes = recv["id_code"].to_numpy()[(recv["t"].to_numpy() <= t)]
    seen[codes[codes >= 0]] = True
    return seen


def _split_figures(
    frames: HistoryFrames, fo: Failover, reads: _Reads, split: pd.DataFrame
) -> dict[str, Any]:
    codes = split["id_code"].to_numpy()
    t = split["t"].to_numpy()
    per = _per_producer(frames, fo, split)
    acked_through, sent_through = _through_fence(frames, fo, split)
    reached = int(reads.on_dr[codes].sum())
    return {
        "count": len(split),
        "per_producer": per,
        "producers": sorted(per),
        "stragglers": sorted(p for p, v in per.items() if v["straggler"]),
        "first_ack_after_decision_s": _rel(float(t.min()), fo.decision_t) if len(t) else None,
        "last_ack_after_decision_s": _rel(float(t.max()), fo.decision_t) if len(t) else None,
        # Seen in DR's final read is a fact even when that read is incomplete; "not reached"
        # needs a complete read (not read is not absent).
        "reached_dr": reached if reads.present else None,
        "not_reached_dr": len(split) - reached if reads.dr_complete else None,
        "seen_by_consumer": int(reads.by_consumer[codes].sum()),
        "acked_through_fence": acked_through,
        "sent_through_fence": sent_through,
    }


def _tail_figures(fo: Failover, reads: _Reads, on_old: pd.DataFrame) -> dict[str, Any] | None:
    """The divergent tail; None without a complete final read of DR (not read is not absent)."""
    codes = on_old["id_code"].to_numpy()
    if not reads.dr_complete:
        return None
    tail = on_old[~reads.on_dr[codes]]
    tc = tail["id_code"].to_numpy()
    t = tail["t"].to_numpy()
    held = int(reads.on_old[tc].sum())
    return {
        "count": len(tail),
        "acked_on_old_primary": len(on_old),
        "before_decision": int((t <= fo.decision_t).sum()),
        "after_decision": int((t > fo.decision_t).sum()),
        # Held there: recoverable by id before a failback; nowhere: the writes are gone.
        "held_on_old_primary": held if reads.old_read else None,
        "not_held_on_old_primary": len(tail) - held if reads.old_complete else None,
        "nowhere": int((~reads.anywhere[tc]).sum())
        if reads.all_complete and reads.old_read
        else None,
        "first_ack_t": float(t.min()) if len(t) else None,
        "last_ack_t": float(t.max()) if len(t) else None,
        "first_ack_after_decision_s": _rel(float(t.min()), fo.decision_t) if len(t) else None,
        "last_ack_after_decision_s": _rel(float(t.max()), fo.decision_t) if len(t) else None,
    }


def _notes(fo: Failover, reads: _Reads, split: dict[str, Any]) -> list[str]:
    notes: list[str] = []
    if not reads.present:
        notes.append(
            "no final read: whether split writes reached DR, and the divergent tail, are unknown"
        )
    elif not reads.dr_complete:
        notes.append(
            f"the final read of {fo.dr} did not complete: reached_dr counts what it saw; "
            "not_reached_dr and the divergent tail are unknown (not read is not absent)"
        )
    elif not reads.old_read:
        notes.append(
            f"{fo.old} was not read at the end: whether it still holds the tail is unknown"
        )
    if fo.clusters_from == "redirect":
        notes.append("the decide step names no from/to: clusters taken from the first redirect")
    if split["acked_through_fence"] and not split["sent_through_fence"]:
        notes.append(
            f"{split['acked_through_fence']} writes were acknowledged after the fence took "
            "effect but sent before it: in flight across the fence, not proof it leaked"
        )
    return notes


def _evidence(
    frames: HistoryFrames, fo: Failover, reads: _Reads, rows: pd.DataFrame, kind: str
) -> list[dict[str, Any]]:
    return [
        {
            "kind": kind,
            **row,
            "after_decision_s": _rel(row["ack_t"], fo.decision_t),
            "on_dr": bool(reads.on_dr[code]) if reads.present else None,
            "seen_by_consumer": bool(reads.by_consumer[code]),
        }
        for code, row in ack_rows(frames, rows)
    ]


@checker("split_writes", order=120)
def check_split_writes(frames: HistoryFrames) -> Verdict:
    fo, why = failover_of(frames)
    if fo is None:
        return _not_applicable(why)
    reads = _reads(frames, final_read(frames), fo)
    acked = first_per_id(frames.ok, frames)  # an id acked twice is still one message
    t = acked["t"].to_numpy()
    in_window = (acked["cluster"] == fo.old).to_numpy()
    if fo.window_end_t is not None:
        in_window = in_window & (t < fo.window_end_t)  # the mask from pandas is read-only
    on_old = acked[in_window]
    after = on_old[(on_old["t"] > fo.decision_t).to_numpy()]
    late, late_fig = _acked_late(frames, fo, reads, after)
    split = after[~late]
    split_fig = {**_split_figures(frames, fo, reads, split), "acked_late": late_fig}
    tail = _tail_figures(fo, reads, on_old)
    figures = {**_context(fo), "split_writes": split_fig, "divergent_tail": tail}
    evidence = _evidence(frames, fo, reads, split, "split_write")
    if tail is not None and tail["before_decision"]:
        before = on_old[(on_old["t"] <= fo.decision_t).to_numpy()]
        before = before[~reads.on_dr[before["id_code"].to_numpy()]]
        evidence += _evidence(frames, fo, reads, before, "divergent_before_decision")
    status = "FAIL" if split_fig["sent_through_fence"] else "PASS"
    return Verdict(NAME, status, figures, evidence, _notes(fo, reads, split_fig))
