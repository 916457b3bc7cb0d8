"""Ordering: in the final read, per (cluster, topic, partition) and producer, the producer's
sequence number must increase with the offset.

An inversion is a pair of records adjacent in offset order (same partition, same producer) whose
seq strictly decreases. An adjacent copy of the same id (equal seq) is a duplicate, not an
inversion; it is the duplicates checker's business.
"""

from __future__ import annotations

import numpy as np

from kafkadrill.checkers._common import (
    SAMPLE,
    Verdict,
    cat_codes,
    final_read,
    final_read_notes,
    judged_status,
    pkey,
)
from kafkadrill.checkers.registry import checker
from kafkadrill.history import HistoryFrames

NAME = "ordering"


@checker("ordering", order=40)
def check_ordering(frames: HistoryFrames) -> Verdict:
    fr = final_read(frames)
    notes = final_read_notes(fr, every_cluster=True)
    figures: dict = {"checked": 0, "inversions": None, "per_partition": {}}
    if not fr.present:
        return Verdict(NAME, "UNKNOWN", figures, [], notes)
    rec = fr.records
    codes = rec["id_code"].to_numpy()
    prod_of, seq_of, prod_names = frames.id_parts()
    keep = codes >= 0
    keep[keep] = prod_of[codes[keep]] >= 0  # ids that do not parse cannot be ordered
    rec, codes = rec[keep], codes[keep]
    prod, seq = prod_of[codes], seq_of[codes]
    c, t = cat_codes(rec["cluster"]), cat_codes(rec["topic"])
    p, off = rec["partition"].to_numpy(), rec["offset"].to_numpy()
    order = np.lexsort((off, prod, p, t, c))  # last key is primary
    c, t, p, prod, off, seq = (a[order] for a in (c, t, p, prod, off, seq))
    same = (c[1:] == c[:-1]) & (t[1:] == t[:-1]) & (p[1:] == p[:-1]) & (prod[1:] == prod[:-1])
    inv = np.flatnonzero(same & (seq[1:] < seq[:-1]))  # index of the earlier record
    clusters = rec["cluster"].cat.categories
    topics = rec["topic"].cat.categories
    per_partition: dict[str, int] = {}
    for i in inv.tolist():
        k = pkey(clusters[c[i]], topics[t[i]], p[i])
        per_partition[k] = per_partition.get(k, 0) + 1
    evidence = [
        {
            "cluster": str(clusters[c[i]]),
            "topic": str(topics[t[i]]),
            "partition": int(p[i]),
            "producer": str(prod_names[prod[i]]),
            "offset": int(off[i]),
            "seq": int(seq[i]),
            "next_offset": int(off[i + 1]),
            "next_seq": int(seq[i + 1]),
        }
        for i in inv[:SAMPLE].tolist()
    ]
    figures.update(
        checked=len(rec), inversions=len(inv), per_partition=dict(sorted(per_partition.items()))
    )
    status = judged_status(fr, bool(len(inv)))
    return Verdict(NAME, status, figures, evidence, notes)
