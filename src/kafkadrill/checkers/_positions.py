"""Record positions shared by the poll-level checkers (inconsistent_offsets, lost_writes,
send_order, poll_order): a position is (cluster, topic, partition, offset), and positions of
acks and reads are compared as int64 keys, vectorised.

A position names one record only within one *incarnation* of its topic. The failback
strategies that discard a divergent tail (`rebuild`, `truncate`) delete the old primary's topic
and create it again, and the new topic hands out the old offsets to other records: comparing
an ack made before with a read made after would report an inconsistency the drill made on
purpose. Each such rewrite (the failback runbook's `<strategy>_topic` step) starts a new
incarnation of the topic its detail names (`cluster`, `topic`; every topic of every cluster
when it names none: histories from before the step recorded them) at the step's start event,
and another at its end event: events inside the step are compared only with each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from kafkadrill.checkers._common import cat_codes, pkey
from kafkadrill.history import Ev, HistoryFrames

__all__ = [
    "PartitionSpace",
    "TopicRewrite",
    "hot_partitions",
    "incarnations",
    "partition_space",
    "position_keys",
    "topic_rewrites",
]

_REWRITE_STEPS = ("rebuild_topic", "truncate_topic")


@dataclass(frozen=True)
class TopicRewrite:
    """One topic rewrite: its start and end event seqs (end None: it never ended) and what it
    rewrote (None: not recorded, so every cluster / topic is treated as rewritten)."""

    start_seq: int
    end_seq: int | None
    cluster: str | None
    topic: str | None


def topic_rewrites(frames: HistoryFrames) -> tuple[TopicRewrite, ...]:
    """The failback's topic rewrites, in history order (cached on the frames)."""
    hit = frames.cache.get("topic_rewrites")
    if hit is not None:
        return hit
    out: list[TopicRewrite] = []
    start: dict[str, int] | None = None
    for e in frames.of_type(Ev.RUNBOOK_STEP):
        if e.get("runbook") != "failback" or e.get("step") not in _REWRITE_STEPS:
            continue
        if e.get("status") == "start":
            if start is not None:  # a start without an end: it never finished
                out.append(TopicRewrite(start["seq"], None, None, None))
            start = {"seq": int(e["seq"])}
        elif start is not None:
            detail = e.get("detail") if isinstance(e.get("detail"), dict) else {}
            cluster, topic = detail.get("cluster"), detail.get("topic")
            out.append(
                TopicRewrite(
                    start["seq"],
                    int(e["seq"]),
                    str(cluster) if cluster is not None else None,
                    str(topic) if topic is not None else None,
                )
            )
            start = None
    if start is not None:
        out.append(TopicRewrite(start["seq"], None, None, None))
    hit = frames.cache["topic_rewrites"] = tuple(out)
    return hit


def incarnations(frames: HistoryFrames, rows: pd.DataFrame) -> np.ndarray:
    """Per row of a hot frame (``seq``, ``cluster``, ``topic``): the incarnation of its topic
    (0 before any rewrite of it; +1 at each rewrite's start and again at its end)."""
    out = np.zeros(len(rows), dtype=np.int64)
    rewrites = topic_rewrites(frames)
    if not rewrites or rows.empty:
        return out
    seq = rows["seq"].to_numpy()
    for rw in rewrites:
        mine = np.ones(len(rows), dtype=bool)
        if rw.cluster is not None:
            mine &= (rows["cluster"] == rw.cluster).to_numpy()
        if rw.topic is not None:
            mine &= (rows["topic"] == rw.topic).to_numpy()
        out += mine & (seq > rw.start_seq)
        if rw.end_seq is not None:
            out += mine & (seq > rw.end_seq)
    return out


@dataclass(frozen=True)
class PartitionSpace:
    """Dense codes of (cluster, topic, incarnation, partition) over several hot frames:
    ``codes[i]`` per row of the i-th frame; per code its ``cluster`` / ``topic`` (names),
    ``incarnation`` and ``partition``."""

    codes: list[np.ndarray]
    cluster: np.ndarray
    topic: np.ndarray
    incarnation: np.ndarray
    partition: np.ndarray

    def __len__(self) -> int:
        return len(self.partition)

    def key(self, code: int) -> str:
        """The figures' partition key ``cluster/topic/partition`` (the incarnation appended as
        ``#n`` when a rewrite made more than one)."""
        base = pkey(self.cluster[code], self.topic[code], self.partition[code])
        n = int(self.incarnation[code])
        return f"{base}#{n}" if n else base


def partition_space(frames: HistoryFrames, tables: Sequence[pd.DataFrame]) -> PartitionSpace:
    """Partition codes of every row of ``tables`` (hot frames or row subsets of them: their
    ``cluster`` / ``topic`` categories are shared, so codes compare across tables)."""
    clusters = frames.recv["cluster"].cat.categories
    topics = frames.recv["topic"].cat.categories
    parts = [
        (
            cat_codes(t["cluster"]) + 1,
            cat_codes(t["topic"]) + 1,
            incarnations(frames, t),
            t["partition"].to_numpy().astype(np.int64) + 1,
        )
        for t in tables
    ]
    span_t = len(topics) + 1
    span_i = max([int(i.max()) + 1 for _c, _t, i, _p in parts if len(i)], default=1)
    span_p = max([int(p.max()) + 1 for _c, _t, _i, p in parts if len(p)], default=1)
    # One int64 per row: cluster, topic, incarnation and partition are all small numbers.
    keys = [((c * span_t + t) * span_i + i) * span_p + p for c, t, i, p in parts]
    codes, uniques = pd.factorize(np.concatenate(keys) if keys else np.zeros(0, np.int64))
    uniques = np.asarray(uniques, dtype=np.int64)
    rest, p = np.divmod(uniques, span_p)
    rest, i = np.divmod(rest, span_i)
    c, t = np.divmod(rest, span_t)
    names_c = np.append(np.asarray(clusters, dtype=object), None)  # code -1 -> None
    names_t = np.append(np.asarray(topics, dtype=object), None)
    bounds = np.cumsum([0, *(len(k) for k in keys)])
    return PartitionSpace(
        [codes[a:b].astype(np.int64) for a, b in pairwise(bounds)],
        names_c[c - 1],
        names_t[t - 1],
        i,
        p - 1,
    )


def hot_partitions(frames: HistoryFrames) -> PartitionSpace:
    """:func:`partition_space` of ``frames.ok`` and ``frames.recv`` (``codes[0]`` per ack row,
    ``codes[1]`` per receipt), computed once per frames: the poll-level checkers all start
    from it and take the rows they judge by mask."""
    hit = frames.cache.get("hot_partitions")
    if hit is None:
        hit = frames.cache["hot_partitions"] = partition_space(frames, [frames.ok, frames.recv])
    return hit


def position_keys(codes: Sequence[np.ndarray], offsets: Sequence[np.ndarray]) -> list[np.ndarray]:
    """An int64 key per (partition code, offset), for every pair of arrays given: keys are
    equal iff the positions are, and ordered as (partition, offset) are. Offsets must be >= 0."""
    allo = np.concatenate([np.asarray(o, dtype=np.int64) for o in offsets]) if offsets else None
    if allo is None or not len(allo):
        return [np.zeros(len(o), dtype=np.int64) for o in offsets]
    n_codes = max(int(c.max()) + 1 for c in codes if len(c))
    lo, hi = int(allo.min()), int(allo.max())
    if n_codes * (hi - lo + 1) < 2**62:
        return [
            c * (hi - lo + 1) + (np.asarray(o, dtype=np.int64) - lo)
            for c, o in zip(codes, offsets, strict=True)
        ]
    # Offsets too far apart for one int64 key: ranks keep their order and equality, which is
    # all a key must keep.
    uniq, rank = np.unique(allo, return_inverse=True)
    bounds = np.cumsum([0, *(len(o) for o in offsets)])
    return [
        c * len(uniq) + rank[a:b] for c, a, b in zip(codes, bounds[:-1], bounds[1:], strict=True)
    ]
