"""Send order: per producer and partition, what the broker acknowledged must follow the order the
producer sent in. Acks (`send.ok` with an offset), taken in the producer's sequence order (the
`<seq>` of `<producer>:<seq>`, the order of its sends), must have strictly increasing offsets
on each (cluster, topic, partition).

Jepsen's Kafka workload calls a violation a non-monotonic send ("Jepsen: Redpanda 21.10.1",
2022; "Jepsen: Bufstream 0.1.0", 2024). The `ordering` checker judges the same order in the
final read; this one judges what the broker acknowledged, so it needs no final read, and it
also sees an order the log no longer holds (an acknowledged record truncated away, its offset
given to a later send). A producer without idempotence that retries may reorder legitimately:
a scenario lists `send_order` in `expected_anomalies` for that (reported, allowed).

Two acks of one id are one send, never an inversion. Positions are keyed by cluster (a producer
redirected to another cluster starts another log) and by incarnation of the topic (a failback
rewrite restarts its offsets; see `_positions`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kafkadrill.checkers._common import SAMPLE, Verdict
from kafkadrill.checkers._positions import hot_partitions
from kafkadrill.checkers.registry import checker
from kafkadrill.history import HistoryFrames

NAME = "send_order"


@checker(NAME, order=45)
def check_send_order(frames: HistoryFrames) -> Verdict:
    ok = frames.ok
    codes = ok["id_code"].to_numpy()
    prod_of, seq_of, prod_names = frames.id_parts()
    keep = (ok["offset"].to_numpy() >= 0) & (codes >= 0)
    keep[keep] = prod_of[codes[keep]] >= 0  # ids that do not parse have no send order
    space = hot_partitions(frames)
    part, off, t = space.codes[0][keep], ok["offset"].to_numpy()[keep], ok["t"].to_numpy()[keep]
    codes = codes[keep]
    prod, seq = prod_of[codes], seq_of[codes]
    rows = np.lexsort((off, seq, part, prod))  # last key is primary
    prod, part, seq, off = prod[rows], part[rows], seq[rows], off[rows]
    # One send acked twice (never seen; a retry's duplicate at worst) counts at its lowest
    # offset: its first copy is where its order was decided.
    again = np.zeros(len(rows), dtype=bool)
    again[1:] = (prod[1:] == prod[:-1]) & (part[1:] == part[:-1]) & (seq[1:] == seq[:-1])
    prod, part, seq, off, rows = prod[~again], part[~again], seq[~again], off[~again], rows[~again]
    same = (prod[1:] == prod[:-1]) & (part[1:] == part[:-1])
    # A later send acknowledged at or below an earlier send's offset.
    inv = np.flatnonzero(same & (off[1:] <= off[:-1]))
    per_partition: dict[str, int] = {}
    per_producer: dict[str, int] = {}
    for i in inv.tolist():
        k = space.key(int(part[i]))
        per_partition[k] = per_partition.get(k, 0) + 1
        name = str(prod_names[prod[i]])
        per_producer[name] = per_producer.get(name, 0) + 1
    evidence: list[dict[str, Any]] = []
    for i in inv[:SAMPLE].tolist():
        code = int(part[i])
        evidence.append(
            {
                "producer": str(prod_names[prod[i]]),
                "cluster": str(space.cluster[code]),
                "topic": str(space.topic[code]),
                "partition": int(space.partition[code]),
                "seq": int(seq[i]),
                "offset": int(off[i]),
                "ack_t": float(t[rows[i]]),
                "next_seq": int(seq[i + 1]),
                "next_offset": int(off[i + 1]),
                "next_ack_t": float(t[rows[i + 1]]),
            }
        )
    figures: dict[str, Any] = {
        "checked": int(keep.sum()),
        "inversions": len(inv),
        "per_partition": dict(sorted(per_partition.items())),
        "per_producer": dict(sorted(per_producer.items())),
    }
    notes = [] if keep.any() else ["no acknowledgement carried an offset: nothing to order"]
    return Verdict(NAME, "FAIL" if len(inv) else "PASS", figures, evidence, notes)
