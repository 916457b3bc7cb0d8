"""Copier: a read-process-write copier's output equals its input, exactly once (issue 23).

Kafka's exactly-once semantics for a consume-transform-produce loop (KIP-98 transactions,
KIP-447 offsets sent in the transaction with the consumer's group metadata): the records a
transaction produced and the input offsets it committed become visible together or not at all,
so after any failure a read_committed reader of the output finds each input record once. Per
copier (its ``copy.txn`` events, grouped by consumer group) and per cluster it committed
transactions on:

- **input**: the final read's records on that cluster of ``from_topic`` and its MM2 copies
  (``primary.orders``: what its subscription reads there), read_committed: exactly what the
  copier could read;
- **output**: the final read of ``to_topic`` on that cluster (the ``derived`` frame);
- **missing**: input records inside the span its committed transactions covered (per
  partition, from offset 0 on the cluster it started on, from its first committed offset on a
  cluster a failover moved it to, up to its last committed offset) whose id is not in the
  output. Records past that span were *not reached*: on the cluster the copier ended on the
  verdict is UNKNOWN then (it had not caught up); on a cluster it left they are *left behind*
  (a figure);
- **duplicated**: ids that more than one output record carries;
- **phantom**: output ids that no input record carries (copied from nowhere).

FAIL when missing, duplicated or phantom is above 0 on a cluster the copier wrote (Kafka's
guarantee there). ``aborted_input`` counts input ids of aborted transactions (history/
transactions): they reach the input only as ordinary records copied by MM2 (KAFKA-14021, see
aborted_read), and the copier copies them as it must. Clusters whose final read (workload or
derived part) did not complete are not judged for missing or phantom. MM2's copies of the
output (``primary.orders-copy`` on dr) are measured under ``copies`` only: MM2 copies record
by record, so an aborted copier transaction's records and a redelivery reach the copy as
ordinary records (duplicates there are replication's, not the copier's).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kafkadrill.checkers._common import SAMPLE, Verdict, final_read, n_ids, unique_records
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.folds import final_read_events
from kafkadrill.history.transactions import TxnState, txn_state

__all__ = ["check_copier"]

NAME = "copier"
NOT_APPLICABLE = "no copy.txn event and no derived topic in the history: no copier to check"


def is_copy_of(topic: str, name: str) -> bool:
    """``topic`` is ``name`` or an MM2 copy of it (DefaultReplicationPolicy's ``<alias>.``
    prefixes, as the copier's subscription and the final read match them)."""
    return topic == name or topic.endswith("." + name)


@dataclass
class _Copier:
    """One copier's transactions, as its ``copy.txn`` events say."""

    group: str
    from_topic: str
    to_topic: str
    clusters: list[str] = field(default_factory=list)  # in the order it wrote on them
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_STATES, 0))
    # cluster -> (topic, partition) -> [(first, last)] of committed transactions
    spans: dict[str, dict[tuple[str, int], list[tuple[int, int]]]] = field(default_factory=dict)


_STATES = ("committed", "aborted", "unknown")
_OUTCOME = {"ok": "committed", "fail": "aborted", "unknown": "unknown"}


def _copiers(frames: HistoryFrames) -> dict[str, _Copier]:
    out: dict[str, _Copier] = {}
    for e in frames.of_type(Ev.COPY_TXN):
        group, cluster = str(e["group"]), str(e["cluster"])
        cp = out.setdefault(group, _Copier(group, str(e["from_topic"]), str(e["to_topic"])))
        if cluster not in cp.clusters:
            cp.clusters.append(cluster)
        state = _OUTCOME.get(str(e["outcome"]), "unknown")
        cp.outcomes[state] += 1
        if state == "committed":
            spans = cp.spans.setdefault(cluster, defaultdict(list))
            for topic, part, first, last in e.get("ranges") or []:
                spans[(str(topic), int(part))].append((int(first), int(last)))
    return out


def _derived_complete(frames: HistoryFrames) -> dict[str, bool]:
    """Per cluster: the derived part of its final read completed (last attempt)."""
    start = final_read_events(frames).start
    if start is None:
        return {}
    seq0 = int(start.get("seq", -1))
    out: dict[str, bool] = {}
    for e in frames.of_type(Ev.FINAL_READ_END):
        d = e.get("derived")
        if int(e.get("seq", 0)) > seq0 and isinstance(d, dict):
            out[str(e["cluster"])] = bool(d.get("complete"))
    return out


def _derived_rows(frames: HistoryFrames) -> pd.DataFrame:
    """The derived final rows of the last final read, one per record."""
    d = frames.derived
    start = final_read_events(frames).start
    if d.empty or start is None:
        return d
    rows, _ = unique_records(d[d["seq"].to_numpy() > int(start.get("seq", -1))])
    return rows[rows["id_code"].to_numpy() >= 0]


def _classify(
    rows: pd.DataFrame, spans: dict[tuple[str, int], list[tuple[int, int]]], from_zero: bool
) -> np.ndarray:
    """Per input row: 0 judged (inside the committed span), 1 not reached (past it), 2 before
    the copier's first committed offset there (not judged)."""
    out = np.ones(len(rows), dtype=np.int8)
    topics = rows["topic"].astype(str).to_numpy()
    parts, offs = rows["partition"].to_numpy(), rows["offset"].to_numpy()
    for (topic, part), items in spans.items():
        mine = (topics == topic) & (parts == part)
        if not mine.any():
            continue
        lo = -1 if from_zero else min(f for f, _ in items)
        hi = max(last for _, last in items)
        o = offs[mine]
        out[mine] = np.where(o > hi, 1, np.where(o < lo, 2, 0))
    return out


def _sample(frames: HistoryFrames, kind: str, group: str, cluster: str, rows: pd.DataFrame
            ) -> list[dict[str, Any]]:  # fmt: skip
    return [
        {
            "kind": kind,
            "copier": group,
            "cluster": cluster,
            "id": frames.id_text(int(r.id_code)),
            "topic": str(r.topic),
            "partition": int(r.partition),
            "offset": int(r.offset),
        }
        for r in rows.head(SAMPLE).itertuples(index=False)
    ]


def _own(
    frames: HistoryFrames,
    cp: _Copier,
    cluster: str,
    inputs: pd.DataFrame,
    outputs: pd.DataFrame,
    complete: bool,
    last: bool,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Figures and evidence of one copier on one cluster it wrote."""
    n = n_ids(frames)
    cls = _classify(inputs, cp.spans.get(cluster, {}), from_zero=cluster == cp.clusters[0])
    in_codes = inputs["id_code"].to_numpy()
    out_codes = outputs["id_code"].to_numpy()
    count = np.bincount(out_codes, minlength=n)
    has_input = np.zeros(n, dtype=bool)
    has_input[in_codes] = True
    judged = inputs[cls == 0]
    missing_rows = judged[count[judged["id_code"].to_numpy()] == 0]
    dup_ids = np.flatnonzero(count > 1)
    phantom_rows = outputs[~has_input[out_codes]]
    state = txn_state(frames)
    not_reached = int((cls == 1).sum())
    fig: dict[str, Any] = {
        "input": len(np.unique(in_codes)),
        "output": len(np.unique(out_codes)),
        "output_records": len(outputs),
        "judged": len(judged),
        "missing": len(missing_rows) if complete else None,
        "duplicated": len(dup_ids),
        "extra_copies": int((count[dup_ids] - 1).sum()),
        "phantom": len(phantom_rows) if complete else None,
        "not_reached": not_reached if last else 0,
        "left_behind": 0 if last else not_reached,
        "before_start": int((cls == 2).sum()),
        "aborted_input": int((state[np.unique(in_codes)] == TxnState.ABORTED).sum())
        if len(state)
        else 0,
        "read_complete": complete,
    }
    evidence: list[dict[str, Any]] = []
    if complete:
        evidence += _sample(frames, "missing", cp.group, cluster, missing_rows)
        evidence += _sample(frames, "phantom", cp.group, cluster, phantom_rows)
    dup_rows = outputs[np.isin(out_codes, dup_ids[:SAMPLE])].drop_duplicates("id_code")
    evidence += _sample(frames, "duplicated", cp.group, cluster, dup_rows)
    return fig, evidence


def _copies_of(rows: pd.DataFrame, name: str) -> np.ndarray:
    """Per row: its topic is ``name`` or an MM2 copy of it (decided once per distinct topic,
    not per row: final reads hold millions of rows and a handful of topics)."""
    if rows.empty:
        return np.zeros(0, dtype=bool)
    topics = rows["topic"].astype(str)
    hits = [t for t in topics.unique() if is_copy_of(t, name)]
    return topics.isin(hits).to_numpy()


def _copies(cp: _Copier, derived: pd.DataFrame, n: int) -> dict[str, Any]:
    """Per cluster: MM2's copies of the output there (measured, not judged)."""
    out: dict[str, Any] = {}
    topics = derived["topic"].astype(str).to_numpy()
    clusters = derived["cluster"].astype(str).to_numpy()
    for c in sorted(set(clusters.tolist())):
        here = clusters == c
        every = here & _copies_of(derived, cp.to_topic)
        copy = every & (topics != cp.to_topic)
        if not copy.any():
            continue
        count = np.bincount(derived["id_code"].to_numpy()[every], minlength=n)
        out[c] = {
            "topics": sorted(set(topics[copy].tolist())),
            "records": int(copy.sum()),
            # Ids more than once among the output and its copies on this cluster.
            "duplicated": int((count > 1).sum()),
        }
    return out


@checker(NAME, order=56)
def check_copier(frames: HistoryFrames) -> Verdict:
    copiers = _copiers(frames)
    start = final_read_events(frames).start
    derived_named = bool(start is not None and start.get("derived"))
    if not copiers and not derived_named:
        return Verdict(NAME, "PASS", {"applicable": False}, [], [NOT_APPLICABLE])
    fr = final_read(frames)
    derived = _derived_rows(frames)
    d_complete = _derived_complete(frames)
    records = fr.records[fr.records["id_code"].to_numpy() >= 0]
    r_cluster = records["cluster"].astype(str).to_numpy()
    d_topic = derived["topic"].astype(str).to_numpy()
    d_cluster = derived["cluster"].astype(str).to_numpy()
    per: dict[str, Any] = {}
    evidence: list[dict[str, Any]] = []
    notes: list[str] = []
    totals = dict.fromkeys(("missing", "duplicated", "phantom", "not_reached"), 0)
    unjudged: list[str] = []
    for group, cp in sorted(copiers.items()):
        clusters: dict[str, Any] = {}
        for c in cp.clusters:
            if not cp.spans.get(c):
                continue  # no committed transaction there: nothing it promised
            complete = fr.complete.get(c, False) and d_complete.get(c, False)
            in_rows = records[(r_cluster == c) & _copies_of(records, cp.from_topic)]
            out_rows = derived[(d_cluster == c) & (d_topic == cp.to_topic)]
            fig, ev = _own(frames, cp, c, in_rows, out_rows, complete, c == cp.clusters[-1])
            clusters[c] = fig
            evidence += ev
            for k in totals:
                totals[k] += fig[k] or 0
            if not complete:
                unjudged.append(f"{group} on {c}: final read incomplete")
            if fig["not_reached"]:
                unjudged.append(
                    f"{group} on {c}: {fig['not_reached']} input records past its last "
                    "committed offset (it had not caught up when it stopped)"
                )
        if not clusters:
            unjudged.append(f"{group}: no committed transaction")
        per[group] = {
            "from_topic": cp.from_topic,
            "to_topic": cp.to_topic,
            "clusters_written": cp.clusters,
            "transactions": dict(cp.outcomes),
            "clusters": clusters,
            "copies": _copies(cp, derived, n_ids(frames)),
        }
    if derived_named and not copiers:
        unjudged.append("derived topics were read but no copier transaction was recorded")
    figures: dict[str, Any] = {
        "applicable": True,
        "copiers": per,
        **totals,
        "transactions": {s: sum(p["transactions"][s] for p in per.values()) for s in _STATES},
        "on_copies_duplicated": sum(
            c["duplicated"] for p in per.values() for c in p["copies"].values()
        ),
    }
    failed = totals["missing"] or totals["duplicated"] or totals["phantom"]
    notes += [f"not judged: {u}" for u in unjudged]
    if figures["on_copies_duplicated"]:
        notes.append(
            f"{figures['on_copies_duplicated']} ids are more than once among a copier's output "
            "and MM2's copy of it on some cluster: replication copies record by record "
            "(measured, not judged)"
        )
    status = "FAIL" if failed else ("UNKNOWN" if unjudged else "PASS")
    return Verdict(NAME, status, figures, evidence[: 3 * SAMPLE], notes)
