"""Transactions in a history: which messages a transactional producer's transactions committed,
aborted or left unknown, defined once for every checker.

A transactional producer's messages have the usual ``send.invoke`` / ``send.ok`` events (the
delivery report comes when the record is in the log, before the commit), and each transaction
ends with one ``txn`` event naming its messages (``first``..``last`` of the producer's seqs),
the decision (commit | abort) and the call's outcome. What a message *is* follows from it:

- **committed** (commit, ok): acknowledged as any other write;
- **aborted** (an abort, or a commit that failed): never visible to a read_committed reader, so
  it is not acknowledged: its ``send.ok`` row moves to ``fail`` with error ``TXN_ABORTED``;
- **unknown** (a commit whose call timed out, or a message of a transactional producer that no
  ``txn`` event names: the run ended in its transaction): its ``send.ok`` row moves to
  ``unknown`` with error ``TXN_UNKNOWN``, neither lost nor duplicate.

:func:`apply_transactions` makes the move when the frames are loaded, so "acknowledged" keeps one
meaning for the loss, duplicate and every other checker; :func:`txn_state` and
:func:`txn_index` give the per-id facts to the transaction checkers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from kafkadrill.history.events import Ev

__all__ = [
    "ABORTED_ERROR",
    "UNKNOWN_ERROR",
    "Txn",
    "TxnState",
    "apply_transactions",
    "owed",
    "transactions",
    "txn_index",
    "txn_state",
]

ABORTED_ERROR = "TXN_ABORTED"
UNKNOWN_ERROR = "TXN_UNKNOWN"


class HistoryFrames(Protocol):
    """What this module needs of :class:`kafkadrill.history.frames.HistoryFrames` (which
    imports this module: a Protocol, not an import, keeps the two out of a cycle)."""

    ok: pd.DataFrame
    fail: pd.DataFrame
    unknown: pd.DataFrame
    cache: dict[str, Any]

    def of_type(self, *types: str) -> list[dict[str, Any]]: ...

    def id_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


F = TypeVar("F", bound=HistoryFrames)


class TxnState(IntEnum):
    """Per id: what its transaction made of it (NONE: not a transactional producer's)."""

    NONE = 0
    COMMITTED = 1
    ABORTED = 2
    UNKNOWN = 3


@dataclass(frozen=True)
class Txn:
    """One ``txn`` event."""

    producer: str
    cluster: str
    topic: str
    txn: int
    first: int
    last: int
    decision: str
    outcome: str
    error: str | None
    t: float

    @property
    def state(self) -> TxnState:
        if self.decision == "commit" and self.outcome == "ok":
            return TxnState.COMMITTED
        if self.decision == "commit" and self.outcome == "unknown":
            return TxnState.UNKNOWN
        # An abort always ends aborted (a failed abort call leaves the coordinator to abort
        # it at transaction.timeout.ms); a failed commit is aborted by the producer.
        return TxnState.ABORTED

    @property
    def size(self) -> int:
        return max(self.last - self.first + 1, 0)

    @classmethod
    def of(cls, e: Mapping[str, Any]) -> Txn:
        return cls(
            str(e["producer"]),
            str(e["cluster"]),
            str(e["topic"]),
            int(e["txn"]),
            int(e["first"]),
            int(e["last"]),
            str(e["decision"]),
            str(e["outcome"]),
            e.get("error"),
            float(e["t"]),
        )


def transactions(frames: HistoryFrames) -> tuple[Txn, ...]:
    """Every ``txn`` event, in file order."""
    hit = frames.cache.get("transactions")
    if hit is None:
        hit = tuple(Txn.of(e) for e in frames.of_type(Ev.TXN))
        frames.cache["transactions"] = hit
    return hit


def txn_index(frames: HistoryFrames) -> np.ndarray:
    """Per id code: the index in :func:`transactions` of the transaction that holds it, -1 for
    none (not transactional, or sent in a transaction the history never saw end)."""
    hit = frames.cache.get("txn_index")
    if hit is not None:
        return hit
    prod_of, seq_of, names = frames.id_parts()
    out = np.full(len(prod_of), -1, dtype=np.int64)
    txns = transactions(frames)
    code_of = {str(n): i for i, n in enumerate(names)}
    by_producer: dict[str, list[int]] = {}
    for i, tx in enumerate(txns):
        if tx.size:
            by_producer.setdefault(tx.producer, []).append(i)
    for producer, idx in by_producer.items():
        code = code_of.get(producer)
        if code is None:
            continue
        idx.sort(key=lambda i: txns[i].first)
        firsts = np.array([txns[i].first for i in idx], dtype=np.int64)
        lasts = np.array([txns[i].last for i in idx], dtype=np.int64)
        mine = np.flatnonzero(prod_of == code)
        pos = np.searchsorted(firsts, seq_of[mine], side="right") - 1
        hit_ = (pos >= 0) & (seq_of[mine] <= lasts[np.maximum(pos, 0)])
        out[mine[hit_]] = np.asarray(idx, dtype=np.int64)[pos[hit_]]
    frames.cache["txn_index"] = out
    return out


def txn_state(frames: HistoryFrames) -> np.ndarray:
    """Per id code: its :class:`TxnState` (int8)."""
    hit = frames.cache.get("txn_state")
    if hit is not None:
        return hit
    txns = transactions(frames)
    prod_of, _, names = frames.id_parts()
    out = np.zeros(len(prod_of), dtype=np.int8)
    if txns:
        idx = txn_index(frames)
        states = np.array([int(t.state) for t in txns], dtype=np.int8)
        out[idx >= 0] = states[idx[idx >= 0]]
        # A transactional producer's message in no ended transaction: the run stopped in it.
        txn_producers = {t.producer for t in txns}
        codes = [i for i, n in enumerate(names) if str(n) in txn_producers]
        open_ = np.isin(prod_of, codes) & (idx < 0)
        out[open_] = TxnState.UNKNOWN
    frames.cache["txn_state"] = out
    return out


def owed(frames: HistoryFrames) -> np.ndarray:
    """Per id code: is it a write readers owe anyone (not transactional, or committed)? A
    record of an aborted or unfinished transaction is skipped by a read_committed reader by
    design, also where replication copied it as an ordinary record."""
    state = txn_state(frames)
    return (state == TxnState.NONE) | (state == TxnState.COMMITTED)


def _moved(rows: pd.DataFrame, error: str, into: pd.DataFrame) -> pd.DataFrame:
    """``into`` plus ``rows`` (``send.ok`` rows) as rows of its family, in file order."""
    add = rows[[c for c in into.columns if c in rows.columns]].assign(error=error)
    out = pd.concat([into, add[into.columns]], ignore_index=True)
    for col in ("producer", "error"):  # per-family categoricals: union of both
        out[col] = out[col].astype("object").astype("category")
    return out.sort_values("seq", kind="stable", ignore_index=True)


def apply_transactions(frames: F) -> F:
    """The frames with aborted and unknown transactional messages out of ``ok`` (see the module
    docstring); the same object when the history has no ``txn`` event."""
    if not frames.of_type(Ev.TXN):
        return frames
    state = txn_state(frames)
    ok = frames.ok
    st = state[np.maximum(ok["id_code"].to_numpy(), 0)]
    st = np.where(ok["id_code"].to_numpy() >= 0, st, TxnState.NONE)
    aborted, unknown = st == TxnState.ABORTED, st == TxnState.UNKNOWN
    if not (aborted.any() or unknown.any()):
        return frames
    frames.ok = ok[~(aborted | unknown)].reset_index(drop=True)
    frames.fail = _moved(ok[aborted], ABORTED_ERROR, frames.fail)
    frames.unknown = _moved(ok[unknown], UNKNOWN_ERROR, frames.unknown)
    return frames
