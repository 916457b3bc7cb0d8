"""Lost writes by the highest-offset rule (Jepsen's Kafka workload: "Jepsen: Redpanda 21.10.1",
2022; "Jepsen: Bufstream 0.1.0", 2024): an acknowledged write at offset o of a partition is lost
when readers of that partition on the cluster that acknowledged it read past o, yet no read on
that cluster ever returned its id.

Readers read a partition in offset order, so reading past o means o was behind them: the write
should have come back. Jepsen takes the highest offset any reader observed; here a reader must
also have started at or below o: one reader's reads of the partition (one client: a redirect
starts the next) must span o. A reader that began past o (auto.offset.reset=latest, offsets
translated at a failover, a final read starting above records retention deleted) never looked
at o, and says nothing about it. Writes below the highest read offset that no reader spanned
are counted apart (`not_spanned`), not as lost. So are writes a reader passed over that lie
below their partition's log start at the final read (`expired`: retention or a delete-records
removed them before anyone read them; Jepsen's model has no retention).

A second, independent view of loss: the `loss` checker (the RPO definition) counts acked ids
absent from the authoritative cluster's complete final read, wherever they were acked; this
one needs no complete final read, and judges each write on the cluster that acknowledged it,
below what its readers saw there (a write that never reached the DR cluster is not lost here
while the old primary still holds it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kafkadrill.checkers._common import (
    SAMPLE,
    Verdict,
    ack_rows,
    cat_codes,
    n_ids,
    rows_of,
)
from kafkadrill.checkers._positions import PartitionSpace, hot_partitions, position_keys
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.folds import final_read_events

NAME = "lost_writes"


def _clients(frames: HistoryFrames, reads: pd.DataFrame) -> np.ndarray:
    """Per read row: a code of the client that read it, (reader, 1 + redirects of that reader
    before it). A redirect closes a consumer's client and starts another, which starts where
    its group's offsets say: its reads and the old client's do not form one span."""
    readers = reads["reader"].cat.categories
    code = cat_codes(reads["reader"])
    client = np.zeros(len(reads), dtype=np.int64)
    seq = reads["seq"].to_numpy()
    moves: dict[str, list[int]] = {}
    for e in frames.of_type(Ev.REDIRECT):
        if e.get("role") == "consumer":
            moves.setdefault(str(e.get("client")), []).append(int(e["seq"]))
    for name, seqs in moves.items():
        at = readers.get_indexer([name])[0]
        if at >= 0:
            mine = code == at
            client[mine] = np.searchsorted(np.asarray(seqs), seq[mine])
    return (code + 1) * (max(len(s) for s in moves.values()) + 1 if moves else 1) + client


def _spans(part: np.ndarray, client: np.ndarray, off: np.ndarray) -> pd.DataFrame:
    """Per (partition, client): the lowest and highest offset it read, merged per partition
    into disjoint spans (``part``, ``lo``, ``hi``, ``clients``: the client codes merged)."""
    if not len(part):
        return pd.DataFrame({"part": [], "lo": [], "hi": [], "clients": []})
    p, c, lo, hi = _read_ranges(part, client, off)
    order = np.lexsort((lo, p))  # by partition, then lowest offset; ties by client (stable)
    merged: list[list[Any]] = []
    # One row per client and partition: few (readers x clients x partitions).
    for p_, c_, lo_, hi_ in zip(*(a[order].tolist() for a in (p, c, lo, hi)), strict=True):
        last = merged[-1] if merged else None
        if last is not None and last[0] == p_ and lo_ <= last[2]:
            last[2] = max(last[2], hi_)
            last[3].append(c_)
        else:
            merged.append([p_, lo_, hi_, [c_]])
    return pd.DataFrame(merged, columns=["part", "lo", "hi", "clients"])


def _read_ranges(
    part: np.ndarray, client: np.ndarray, off: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(part, client, min offset, max offset) per (partition, client) read, in (part,
    client) order. Reduced into an array per (partition, client) pair (or per pair read, when
    pairs are many): a pandas groupby of every read row was this checker's peak (10M events:
    +0.4 GiB)."""
    n_c = int(client.max()) + 1
    key = part.astype(np.int64) * n_c + client
    size = (int(part.max()) + 1) * n_c
    if size <= len(key) and int(part.min()) >= 0:
        slot, n_slots = key, size
        keys = None
    else:
        keys, slot = np.unique(key, return_inverse=True)
        n_slots = len(keys)
    lo = np.full(n_slots, np.iinfo(np.int64).max)
    hi = np.full(n_slots, np.iinfo(np.int64).min)
    np.minimum.at(lo, slot, off)
    np.maximum.at(hi, slot, off)
    if keys is None:
        keys = np.flatnonzero(hi > np.iinfo(np.int64).min)
        lo, hi = lo[keys], hi[keys]
    return keys // n_c, keys % n_c, lo, hi


def _read_on_cluster(frames: HistoryFrames, acks: pd.DataFrame, reads: pd.DataFrame) -> np.ndarray:
    """Per ack row: did any read on the cluster that acknowledged it return its id (any topic:
    the id is the message, wherever that cluster holds it)?"""
    out = np.zeros(len(acks), dtype=bool)
    ack_c, read_c = cat_codes(acks["cluster"]), cat_codes(reads["cluster"])
    ack_id, read_id = acks["id_code"].to_numpy(), reads["id_code"].to_numpy()
    for c in np.unique(ack_c).tolist():
        here = np.zeros(n_ids(frames), dtype=bool)
        got = read_id[(read_c == c) & (read_id >= 0)]
        here[got] = True
        mine = ack_c == c
        out[mine] = here[ack_id[mine]]
    return out


def _expired(frames: HistoryFrames, acks: pd.DataFrame, candidates: np.ndarray) -> np.ndarray:
    """Per ack row: a candidate whose offset lies below where its partition's log began when
    the final read of its cluster started (retention or a delete-records removed it: the
    broker kept the promise the topic's configuration made; the loss checker attributes such
    writes to `expired_at_source`)."""
    out = np.zeros(len(acks), dtype=bool)
    starts = final_read_events(frames).log_start
    if not starts or not candidates.any():
        return out
    rows = np.flatnonzero(candidates)
    sub = acks.iloc[rows]
    # Candidates are findings (few); the log starts are per partition of the final read.
    for r, c, t, p, o in zip(
        rows.tolist(), sub["cluster"], sub["topic"], sub["partition"], sub["offset"], strict=True
    ):
        start = starts.get(str(c), {}).get((str(t), int(p)), 0)
        out[r] = int(o) < start
    return out


@checker(NAME, order=15)
def check_lost_writes(frames: HistoryFrames) -> Verdict:
    ok, recv = frames.ok, frames.recv
    space = hot_partitions(frames)
    # The first ack of each id that carried an offset (one id is one write).
    ack_m = (ok["offset"].to_numpy() >= 0) & (ok["id_code"].to_numpy() >= 0)
    ack_m[ack_m] = ~pd.Series(ok["id_code"].to_numpy()[ack_m]).duplicated().to_numpy()
    # Every read counts, records kafkadrill did not write too: they show how far a reader got.
    read_m = recv["offset"].to_numpy() >= 0
    # Views when every row is kept (the usual case), else a copy of the columns used only: a
    # copy of every column of recv was this checker's peak.
    acks = rows_of(ok, ack_m)
    reads = rows_of(recv[["seq", "reader", "cluster", "id_code", "offset"]], read_m)
    ack_part, read_part = space.codes[0][ack_m], space.codes[1][read_m]
    spans = _spans(read_part, _clients(frames, reads), reads["offset"].to_numpy())
    ack_off = acks["offset"].to_numpy()
    ack_key, lo_key, hi_key = position_keys(
        [ack_part, spans["part"].to_numpy(np.int64), spans["part"].to_numpy(np.int64)],
        [ack_off, spans["lo"].to_numpy(np.int64), spans["hi"].to_numpy(np.int64)],
    )
    at = np.searchsorted(lo_key, ack_key, side="right") - 1  # the span starting at or below
    spanned = at >= 0
    spanned[spanned] = ack_key[spanned] <= hi_key[at[spanned]]
    highest = np.full(len(space), -1, dtype=np.int64)
    if len(spans):
        top = spans.groupby("part")["hi"].max()
        highest[top.index.to_numpy(np.int64)] = top.to_numpy(np.int64)
    unread = ~_read_on_cluster(frames, acks, reads)
    lost_mask = spanned & unread
    expired = _expired(frames, acks, lost_mask)
    lost_mask &= ~expired
    not_spanned = ~spanned & unread & (highest[ack_part] >= ack_off)
    lost = acks[lost_mask]
    per_partition: dict[str, int] = {}
    for code in ack_part[lost_mask].tolist():
        k = space.key(code)
        per_partition[k] = per_partition.get(k, 0) + 1
    t = lost["t"].to_numpy()
    figures: dict[str, Any] = {
        "acked": len(acks),
        "judged": int(spanned.sum()),
        "lost": len(lost),
        "expired": int(expired.sum()),
        "not_spanned": int(not_spanned.sum()),
        "per_partition": dict(sorted(per_partition.items())),
        "window": {
            "first_ack_t": float(t.min()) if len(t) else None,
            "last_ack_t": float(t.max()) if len(t) else None,
            "seconds": float(t.max() - t.min()) if len(t) else 0.0,
        },
    }
    evidence = _evidence(frames, lost, ack_part[lost_mask], at[lost_mask], spans, space)
    notes: list[str] = []
    if not figures["judged"]:
        notes.append("no reader read past an acknowledged offset: no write could be judged")
    if figures["expired"]:
        notes.append(
            f"{figures['expired']} unread acknowledged writes lie below their partition's log "
            "start at the final read (deleted by retention or delete-records): not judged lost"
        )
    if figures["not_spanned"]:
        notes.append(
            f"{figures['not_spanned']} acknowledged writes were never read on their cluster, "
            "below offsets its readers reached, but no single reader's reads spanned them "
            "(it started past them): not judged lost"
        )
    return Verdict(NAME, "FAIL" if len(lost) else "PASS", figures, evidence, notes)


def _evidence(
    frames: HistoryFrames,
    lost: pd.DataFrame,
    part: np.ndarray,
    span_at: np.ndarray,
    spans: pd.DataFrame,
    space: PartitionSpace,
) -> list[dict[str, Any]]:
    """The first lost writes by ack time, each with the span of reads that passed it."""
    if lost.empty:
        return []
    where = dict(zip(lost["id_code"].to_numpy().tolist(), span_at.tolist(), strict=True))
    parts = dict(zip(lost["id_code"].to_numpy().tolist(), part.tolist(), strict=True))
    out = []
    for code, row in ack_rows(frames, lost)[:SAMPLE]:
        s = spans.iloc[where[code]]
        out.append(
            {
                **row,
                "incarnation": int(space.incarnation[parts[code]]),
                "read_from": int(s["lo"]),
                "read_to": int(s["hi"]),
            }
        )
    return out
