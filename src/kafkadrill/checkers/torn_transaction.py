"""Torn transactions: a transaction is all or nothing, on every cluster that holds it.

A committed transaction's messages become visible together; one whose commit call timed out
(unknown) either committed wholly or not at all. Replication does not keep that promise for
free: MirrorMaker 2 copies records one by one, so a failover that stops it in the middle of a
transaction leaves the DR cluster holding part of it, and a read_committed consumer there sees
half a transaction.

For every transaction whose state is committed or unknown (``history/transactions``) and every
cluster the final read read completely (its ``final_read.end`` says ``complete``): if the
cluster holds any of its ids (any topic: MM2 renames topics), it must hold all ``last - first
+ 1`` of them, else the transaction is *torn* there. A committed transaction of which the
cluster it ran on holds no id at all (that cluster read completely) is *missing* on its origin:
reported apart (the loss checker already counts its messages as lost). Aborted transactions
are not judged (a read_uncommitted read or MM2's copy may show any part of them: see
aborted_read), nor are clusters read incompletely (the unread tail could hold the rest).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kafkadrill.checkers._common import SAMPLE, FinalRead, Verdict, final_read, presence
from kafkadrill.checkers.registry import checker
from kafkadrill.history import HistoryFrames
from kafkadrill.history.transactions import TxnState, transactions, txn_index

__all__ = ["check_torn_transaction"]

NAME = "torn_transaction"
NOT_APPLICABLE = "no txn event in the history: no transactional producer, nothing to check"
MISSING_SAMPLE = 10  # missing ids named per evidence row: enough to find them in the log


def _row(frames: HistoryFrames, kind: str, i: int, cluster: str, held: int,
         here: np.ndarray | None) -> dict[str, Any]:  # fmt: skip
    """An evidence row of transaction ``i``; ``here`` (presence over id codes on ``cluster``)
    names its missing ids."""
    tx = transactions(frames)[i]
    missing: list[str] = []
    if here is not None:
        code_of = _codes_of(frames, i)
        for seq in range(tx.first, tx.last + 1):
            code = code_of.get(seq, -1)
            if code < 0 or not here[code]:
                missing.append(f"{tx.producer}:{seq}")
                if len(missing) == MISSING_SAMPLE:
                    break
    return {
        "kind": kind,
        "producer": tx.producer,
        "txn": tx.txn,
        "state": tx.state.name.lower(),
        "txn_cluster": tx.cluster,
        "cluster": cluster,
        "held": held,
        "of": tx.size,
        "missing_ids": missing,
    }


def _codes_of(frames: HistoryFrames, i: int) -> dict[int, int]:
    """seq -> id code of transaction ``i``'s ids the history knows (a seq it never saw sent
    or read has none: held nowhere)."""
    _, seq_of, _ = frames.id_parts()
    return {int(seq_of[c]): int(c) for c in np.flatnonzero(txn_index(frames) == i)}


@checker(NAME, order=54)
def check_torn_transaction(frames: HistoryFrames) -> Verdict:
    txns = transactions(frames)
    if not txns:
        return Verdict(NAME, "PASS", {"applicable": False}, [], [NOT_APPLICABLE])
    fr, tx_of = final_read(frames), txn_index(frames)
    size = np.array([t.size for t in txns], dtype=np.int64)
    judged = np.array(
        [t.state in (TxnState.COMMITTED, TxnState.UNKNOWN) and t.size > 0 for t in txns]
    )
    complete = sorted(c for c, ok in fr.complete.items() if ok)
    per_cluster: dict[str, int] = {}
    torn_rows: list[dict[str, Any]] = []
    missing: list[int] = []
    torn_txns: set[int] = set()
    on_origin = 0
    for cluster in complete:
        here = presence(frames, fr.records[(fr.records["cluster"] == cluster).to_numpy()])
        held = np.bincount(tx_of[here & (tx_of >= 0)], minlength=len(txns))
        torn = np.flatnonzero(judged & (held > 0) & (held < size))
        if len(torn):
            per_cluster[cluster] = len(torn)
            torn_txns.update(torn.tolist())
            on_origin += sum(txns[i].cluster == cluster for i in torn.tolist())
        # Rows are built for the sample only: naming missing ids scans the id space.
        room = SAMPLE - len(torn_rows)
        torn_rows += [_row(frames, "torn", i, cluster, int(held[i]), here) for i in torn[:room]]
        missing += [
            i
            for i in np.flatnonzero(judged & (held == 0)).tolist()
            if txns[i].state == TxnState.COMMITTED and txns[i].cluster == cluster
        ]
    n_torn = sum(per_cluster.values())
    figures: dict[str, Any] = {
        "applicable": True,
        "transactions": int(judged.sum()),
        "clusters_judged": complete,
        "checked": int(judged.sum()) * len(complete),
        "torn": n_torn,
        "torn_transactions": len(torn_txns),
        "per_cluster": per_cluster,
        "on_origin": on_origin,
        "elsewhere": n_torn - on_origin,
        "missing_on_origin": len(missing),
        "incomplete_clusters": fr.incomplete,
    }
    notes = _notes(fr, figures)
    # Kafka's guarantee is about the cluster the transaction ran on; a copy torn by
    # replication (MM2 stopped mid-transaction) is judged by max_torn_transactions_on_copies.
    if on_origin:
        status = "FAIL"
    elif figures["transactions"] and not complete:
        status = "UNKNOWN"
    else:
        status = "PASS"
    evidence = torn_rows + [
        _row(frames, "missing_on_origin", i, txns[i].cluster, 0, None) for i in missing[:SAMPLE]
    ]
    return Verdict(NAME, status, figures, evidence, notes)


def _notes(fr: FinalRead, figures: dict[str, Any]) -> list[str]:
    notes: list[str] = []
    if not figures["transactions"]:
        notes.append("no committed or unknown transaction with messages: nothing to judge")
    elif not fr.present:
        notes.append("no final read: no cluster's holdings are known, nothing could be judged")
    elif not figures["clusters_judged"]:
        notes.append("no cluster was read completely: nothing could be judged")
    if fr.present and figures["incomplete_clusters"]:
        notes.append(
            f"final read of {figures['incomplete_clusters']} did not complete: not judged (the "
            "unread tail could hold the rest of a transaction)"
        )
    if figures["missing_on_origin"]:
        notes.append(
            f"{figures['missing_on_origin']} committed transactions have no message on the "
            "cluster they ran on: counted by the loss checker, not as torn"
        )
    return notes
