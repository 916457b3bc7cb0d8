"""Aborted reads: a record of an aborted transaction returned to a read_committed reader
(Jepsen's G1a, "aborted read": "Jepsen: Redpanda 21.10.1", 2022; "Jepsen: Bufstream 0.1.0",
2024).

A transaction is aborted when it was aborted or its commit failed (``history/transactions``).
Its records stay in the log, marked aborted: a read_uncommitted consumer returns them (allowed,
counted apart), a read_committed one must never. Readers:

- group consumers: non-final ``recv``; isolation from the latest ``reader`` event of that
  reader before the receipt (absent: read_committed, librdkafka's default);
- the final reader: final ``recv``; isolation from the latest ``final_read.start`` before it.

Records are matched by id, on any cluster and topic: MirrorMaker 2's source consumer is
read_uncommitted by default and copies aborted records to the target as ordinary ones
(KAFKA-14021), so a read_committed consumer there returns them. Such reads are counted
``elsewhere`` (not on the cluster the transaction ran on), but they are aborted reads all the
same: after a failover those consumers act on writes that never happened.

Status: FAIL when a read_committed reader returned an aborted record on the cluster the
transaction ran on (``on_origin``: Kafka's guarantee broken). ``elsewhere`` is a measurement the
``max_aborted_reads_on_copies`` objective judges (null by default: reported, with a note).

Each (reader, id) counts once, attributed to its first receipt (file order), so ``per_cluster``,
``by_reader`` and ``on_origin`` + ``elsewhere`` all add up to ``count``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kafkadrill.checkers._common import SAMPLE, Verdict, cat_codes, n_ids
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.transactions import Txn, TxnState, transactions, txn_index, txn_state

__all__ = ["NOT_APPLICABLE", "check_aborted_read", "transaction_figures"]

NAME = "aborted_read"
NOT_APPLICABLE = "no txn event in the history: no transactional producer, nothing to check"
UNCOMMITTED = "read_uncommitted"


def transaction_figures(frames: HistoryFrames) -> dict[str, Any]:
    """Transactions per state, and the history's ids per state (a transactional producer's
    message in no ended transaction counts unknown, as :func:`txn_state` says)."""
    counts = {s: 0 for s in ("committed", "aborted", "unknown")}
    for tx in transactions(frames):
        counts[tx.state.name.lower()] += 1
    state = txn_state(frames)
    messages = {
        "committed": int((state == TxnState.COMMITTED).sum()),
        "aborted": int((state == TxnState.ABORTED).sum()),
        "unknown": int((state == TxnState.UNKNOWN).sum()),
    }
    return {**counts, "messages": messages}


def _latest(seqs: np.ndarray, flags: np.ndarray, at: np.ndarray, before_first: bool) -> np.ndarray:
    """Per seq in ``at``: the flag of the latest event (sorted ``seqs``) before it;
    ``before_first`` where none is."""
    pos = np.searchsorted(seqs, at, side="right") - 1
    return np.where(pos >= 0, flags[np.maximum(pos, 0)], before_first)


def read_committed_rows(frames: HistoryFrames, recv: pd.DataFrame) -> np.ndarray:
    """Per ``recv`` row: its reader read committed records only (True) or not."""
    out = np.ones(len(recv), dtype=bool)
    if recv.empty:
        return out
    seq, final = recv["seq"].to_numpy(), recv["final"].to_numpy().astype(bool)
    events: dict[str, tuple[list[int], list[bool]]] = {}
    for e in frames.of_type(Ev.READER):
        s, f = events.setdefault(str(e.get("reader")), ([], []))
        s.append(int(e["seq"]))
        f.append(e.get("isolation") != UNCOMMITTED)
    readers, code = recv["reader"].cat.categories, cat_codes(recv["reader"])
    for name, (s, f) in events.items():  # one pass per reader: readers are few
        at = readers.get_indexer([name])[0]
        mine = (code == at) & ~final if at >= 0 else None
        if mine is not None and mine.any():
            flags = np.asarray(f)
            # A receipt before the reader's first event (threads writing out of order): that
            # event still names the client's setting.
            out[mine] = _latest(np.asarray(s), flags, seq[mine], bool(flags[0]))
    starts = frames.of_type(Ev.FINAL_READ_START)
    if starts and final.any():
        s_seq = np.array([int(e["seq"]) for e in starts], dtype=np.int64)
        s_rc = np.array([e.get("isolation") != UNCOMMITTED for e in starts], dtype=bool)
        out[final] = _latest(s_seq, s_rc, seq[final], True)
    return out


def _first_pairs(frames: HistoryFrames, rows: pd.DataFrame) -> pd.DataFrame:
    """The first row (file order) of each (reader, id) in ``rows``."""
    key = cat_codes(rows["reader"]) * max(n_ids(frames), 1) + rows["id_code"].to_numpy()
    return rows[~pd.Series(key).duplicated().to_numpy()]


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(n) for k, n in values.astype(str).value_counts().sort_index().items()}


def _evidence(
    frames: HistoryFrames, pairs: pd.DataFrame, txns: tuple[Txn, ...], tx_of: np.ndarray
) -> list[dict[str, Any]]:
    out = []
    for r in pairs.head(SAMPLE).itertuples(index=False):
        tx = txns[int(tx_of[int(r.id_code)])]
        out.append(
            {
                "id": frames.id_text(int(r.id_code)),
                "txn": tx.txn,
                "producer": tx.producer,
                "txn_cluster": tx.cluster,
                "reader": str(r.reader),
                "final": bool(r.final),
                "cluster": str(r.cluster),
                "topic": str(r.topic),
                "partition": int(r.partition),
                "offset": int(r.offset),
                "t": float(r.t),
            }
        )
    return out


@checker(NAME, order=52)
def check_aborted_read(frames: HistoryFrames) -> Verdict:
    txns = transactions(frames)
    if not txns:
        return Verdict(NAME, "PASS", {"applicable": False}, [], [NOT_APPLICABLE])
    state, tx_of = txn_state(frames), txn_index(frames)
    recv = frames.recv
    codes = recv["id_code"].to_numpy()
    aborted = (codes >= 0) & (state[np.maximum(codes, 0)] == TxnState.ABORTED)
    rows = recv[aborted]
    committed = read_committed_rows(frames, rows)
    pairs = _first_pairs(frames, rows[committed])
    allowed = _first_pairs(frames, rows[~committed])
    origin = np.array([t.cluster for t in txns], dtype=object)[tx_of[pairs["id_code"].to_numpy()]]
    on_origin = int((pairs["cluster"].astype(str).to_numpy(dtype=object) == origin).sum())
    figures: dict[str, Any] = {
        "applicable": True,
        "transactions": transaction_figures(frames),
        "count": len(pairs),
        "ids": len(np.unique(pairs["id_code"].to_numpy())),
        "per_cluster": _counts(pairs["cluster"]),
        "on_origin": on_origin,
        "elsewhere": len(pairs) - on_origin,
        "by_reader": _counts(pairs["reader"]),
        "read_uncommitted_seen": len(allowed),
    }
    notes: list[str] = []
    if figures["elsewhere"]:
        notes.append(
            f"{figures['elsewhere']} aborted records were read on a cluster other than the one "
            "their transaction ran on: copied by replication as ordinary records (MirrorMaker "
            "2's source consumer reads read_uncommitted unless its isolation.level says "
            "read_committed, KAFKA-14021)"
        )
    if len(allowed):
        notes.append(
            f"{len(allowed)} aborted records were read by read_uncommitted readers: allowed, "
            "not counted"
        )
    # Kafka's guarantee is about the cluster the transaction ran on; copies elsewhere are a
    # replication setting's consequence, judged by max_aborted_reads_on_copies.
    status = "FAIL" if figures["on_origin"] else "PASS"
    return Verdict(NAME, status, figures, _evidence(frames, pairs, txns, tx_of), notes)
