"""Inconsistent offsets: one record position (cluster, topic, partition, offset) observed with
two different message ids, across every acknowledgement that carried an offset (`send.ok`) and
every read (group consumers and the final reader).

Jepsen's Kafka workload checks that all sends and polls agree on the value at each offset
("Jepsen: Redpanda 21.10.1", 2022; "Jepsen: Bufstream 0.1.0", 2024). A disagreement means the
log changed under its readers or lied to its writers: an acknowledged record truncated and its
offset handed to another (acks=1 with a lost leader, an unclean election), or a broker bug.

Only non-null ids are compared: a record kafkadrill did not write (id null) has no identity to
disagree with. Positions are keyed by cluster (MirrorMaker 2's copies sit at other offsets on
another cluster) and by incarnation of the topic (a failback that rewrites the old primary's
topic gives old offsets to other records on purpose; see `_positions`). The same id at two
offsets is a duplicate, not an inconsistency (the duplicates checker's business).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kafkadrill.checkers._common import SAMPLE, Verdict
from kafkadrill.checkers._positions import PartitionSpace, hot_partitions, position_keys
from kafkadrill.checkers.registry import checker
from kafkadrill.history import HistoryFrames

NAME = "inconsistent_offsets"


def _observer(kind: str, who: Any, group: Any) -> str:
    """Who saw an id at a position, for the evidence: the producer's ack, a group's reader, the
    final reader."""
    if kind == "ack":
        return f"ack:{who}"
    return "final" if group is None or pd.isna(group) else f"{who} (group {group})"


def first_rows(pos: np.ndarray) -> np.ndarray:
    """Rows that are the first of their code, for codes numbered in order of first appearance
    (``pd.factorize``): a row is first iff its code exceeds every earlier row's. The same rows
    as ``~pd.Series(pos).duplicated()``, without its hash table over every row."""
    if not len(pos):
        return np.zeros(0, dtype=np.int64)
    running = np.maximum.accumulate(pos)
    return np.flatnonzero(np.diff(running, prepend=-1) > 0)


@checker(NAME, order=35)
def check_inconsistent_offsets(frames: HistoryFrames) -> Verdict:
    ok, recv = frames.ok, frames.recv
    space = hot_partitions(frames)
    ack_off, read_off = ok["offset"].to_numpy(), recv["offset"].to_numpy()
    ack_m = (ack_off >= 0) & (ok["id_code"].to_numpy() >= 0)
    read_m = (read_off >= 0) & (recv["id_code"].to_numpy() >= 0)
    # Arrays only, each freed once used: at 10M events this checker was the check's peak.
    parts = [space.codes[0][ack_m], space.codes[1][read_m]]
    keys = position_keys(parts, [ack_off[ack_m], read_off[read_m]])
    key = np.concatenate(keys)
    del keys
    del parts
    ids = np.concatenate([ok["id_code"].to_numpy()[ack_m], recv["id_code"].to_numpy()[read_m]])
    pos, uniq = pd.factorize(key)  # the peak: its hash table beside the key (no more)
    n_positions = len(uniq)
    del key, uniq
    part = np.concatenate([space.codes[0][ack_m], space.codes[1][read_m]])
    first_row = first_rows(pos)  # one row per position
    first_id = np.empty(n_positions, dtype=np.int64)
    first_id[pos[first_row]] = ids[first_row]
    # A position is inconsistent when any observation of it names another id than its first.
    bad = np.unique(pos[ids != first_id[pos]])
    del ids, first_id
    seen = np.bincount(pos, minlength=n_positions) if len(pos) else np.zeros(0, np.int64)
    per_partition: dict[str, int] = {}
    bad_part = np.empty(n_positions, dtype=np.int64)
    bad_part[pos[first_row]] = part[first_row]
    for code in bad_part[bad].tolist():
        k = space.key(code)
        per_partition[k] = per_partition.get(k, 0) + 1
    figures: dict[str, Any] = {
        "checked": n_positions,
        "compared": int((seen > 1).sum()),
        "inconsistent": len(bad),
        "per_partition": dict(sorted(per_partition.items())),
    }
    evidence = _evidence(frames, (ack_m, read_m), pos, bad[:SAMPLE], space, bad_part)
    notes = [] if n_positions else ["no acknowledged offset and no read: nothing to compare"]
    return Verdict(NAME, "FAIL" if len(bad) else "PASS", figures, evidence, notes)


def _evidence(
    frames: HistoryFrames,
    masks: tuple[np.ndarray, np.ndarray],
    pos: np.ndarray,
    sample: np.ndarray,
    space: PartitionSpace,
    part_of: np.ndarray,
) -> list[dict[str, Any]]:
    """Per sampled inconsistent position: its place, the ids seen there and who saw each
    (``pos`` numbers the acks of ``frames.ok[masks[0]]`` then the reads of
    ``frames.recv[masks[1]]``)."""
    if not len(sample):
        return []
    acks = frames.ok.loc[masks[0], ["offset", "id_code", "producer"]]
    reads = frames.recv.loc[masks[1], ["offset", "id_code", "reader", "group"]]
    n_acks = len(acks)
    rows = np.flatnonzero(np.isin(pos, sample))
    seen: dict[int, dict[str, list[str]]] = {int(p): {} for p in sample}
    offsets: dict[int, int] = {}
    for r in rows.tolist():
        if r < n_acks:
            row = acks.iloc[r]
            who = _observer("ack", row["producer"], None)
        else:
            row = reads.iloc[r - n_acks]
            who = _observer("read", row["reader"], row["group"])
        text = frames.id_text(int(row["id_code"])) or ""
        observers = seen[int(pos[r])].setdefault(text, [])
        if who not in observers:
            observers.append(who)
        offsets[int(pos[r])] = int(row["offset"])
    out = []
    for p in sample.tolist():
        code = int(part_of[p])
        out.append(
            {
                "cluster": str(space.cluster[code]),
                "topic": str(space.topic[code]),
                "partition": int(space.partition[code]),
                "offset": offsets[p],
                "incarnation": int(space.incarnation[code]),
                "ids": sorted(seen[p]),
                "seen_by": {i: sorted(w) for i, w in sorted(seen[p].items())},
            }
        )
    return out
