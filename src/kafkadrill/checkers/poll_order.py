"""Poll order: per consumer instance and partition, each poll must continue exactly where the
previous one left off, unless a rebalance came between.

Jepsen's Kafka workload checks every consumer's successive polls of a partition for offsets
that go backwards (a non-monotonic poll) or jump over records known to exist (a poll skip),
and excuses both when the consumer's assignment changed in between ("Jepsen: Redpanda 21.10.1",
2022; "Jepsen: Bufstream 0.1.0", 2024). Here:

- An *instance* is one client of a group consumer: its reader name and the `instance` of the
  `poll` events (a redirect to another cluster starts a new client, and with it a new
  instance). A `recv` belongs to the instance of the latest `poll` of its reader before it.
- Per instance and partition (cluster, topic, partition; per incarnation of the topic, see
  `_positions`), consecutive receipts in history order are compared: the first receipt of an
  instance has no predecessor. A *rebalance between* them is an `assign` event (assign, revoke
  or lost) of that instance with a seq between the two receipts.
- next <= previous (re-reading the same offset included): `nonmonotonic_polls` without a
  rebalance between, `rewinds_after_rebalance` with one (a partition handed back restarts
  from the group's committed offset: normal at-least-once).
- next > previous + 1 with at least one record *known* to exist strictly between (an
  acknowledged offset, or an offset any reader, the final reader too, received on that
  partition): `poll_skips` without a rebalance between, `skips_across_rebalance` with one
  (another member may have read them meanwhile). Offsets nobody ever saw a record at
  (transaction markers, compacted or aborted records) are not skips, nor are records of
  aborted or unfinished transactions (history/transactions.py) that only a read_uncommitted
  reader returned. `skipped_records`
  counts the known records the poll skips jumped over.

Final-reader receipts are not checked (it assigns partitions itself, outside any group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kafkadrill.checkers._common import SAMPLE, Verdict, cat_codes, rows_of
from kafkadrill.checkers._positions import PartitionSpace, hot_partitions, position_keys
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.transactions import owed

NAME = "poll_order"
KINDS = ("nonmonotonic_polls", "poll_skips", "rewinds_after_rebalance", "skips_across_rebalance")
FAILING = ("nonmonotonic_polls", "poll_skips")  # the others a rebalance explains: reported


def _events(frames: HistoryFrames, typ: str, readers: pd.Index) -> tuple[np.ndarray, ...]:
    """(reader code in ``readers``, instance, seq) of every ``typ`` event, in history order."""
    ev = frames.of_type(typ)
    names = [str(e.get("reader")) for e in ev]
    code = readers.get_indexer(names).astype(np.int64) if ev else np.zeros(0, np.int64)
    inst = np.array([int(e.get("instance") or 0) for e in ev], dtype=np.int64)
    seq = np.array([int(e["seq"]) for e in ev], dtype=np.int64)
    return code, inst, seq


def _instances(
    reader: np.ndarray, seq: np.ndarray, polls: tuple[np.ndarray, ...], span: int
) -> np.ndarray:
    """Per receipt: the instance of its reader's latest poll before it (0: none)."""
    p_reader, p_inst, p_seq = polls
    keep = p_reader >= 0
    pkey = p_reader[keep] * span + p_seq[keep]
    order = np.argsort(pkey, kind="stable")
    pkey, p_reader, p_inst = pkey[order], p_reader[keep][order], p_inst[keep][order]
    at = np.searchsorted(pkey, reader * span + seq, side="right") - 1
    found = at >= 0
    found[found] = p_reader[at[found]] == reader[found]
    return np.where(found, p_inst[np.maximum(at, 0)], 0)


@dataclass
class _Pairs:
    """Consecutive receipts of one instance and partition: indices into the receipts (sorted
    by instance, partition, seq) of the earlier one; the later one is the next index."""

    first: np.ndarray
    reader: np.ndarray
    inst: np.ndarray
    part: np.ndarray
    off: np.ndarray
    seq: np.ndarray


def _pairs(reader: np.ndarray, inst: np.ndarray, part: np.ndarray, off: np.ndarray,
           seq: np.ndarray) -> _Pairs:  # fmt: skip
    order = np.lexsort((seq, part, inst, reader))
    reader, inst, part, off, seq = (a[order] for a in (reader, inst, part, off, seq))
    same = (reader[1:] == reader[:-1]) & (inst[1:] == inst[:-1]) & (part[1:] == part[:-1])
    return _Pairs(np.flatnonzero(same), reader, inst, part, off, seq)


def _rebalanced(p: _Pairs, assigns: tuple[np.ndarray, ...], span: int) -> np.ndarray:
    """Per pair: an assign/revoke/lost event of that instance lies between the two receipts."""
    a_reader, a_inst, a_seq = assigns
    if not len(p.first) or not len(a_seq):
        return np.zeros(len(p.first), dtype=bool)
    n_inst = int(max(a_inst.max(), p.inst.max())) + 1
    keep = a_reader >= 0
    akey = np.sort((a_reader[keep] * n_inst + a_inst[keep]) * span + a_seq[keep])
    i = p.first
    base = (p.reader[i] * n_inst + p.inst[i]) * span
    after = np.searchsorted(akey, base + p.seq[i], side="right")
    before = np.searchsorted(akey, base + p.seq[i + 1], side="left")
    return before > after


def _known_between(
    known: tuple[np.ndarray, np.ndarray], part: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Per jump (partition, lo, hi): how many distinct known record offsets lie strictly
    between lo and hi on that partition."""
    if not len(part):
        return np.zeros(0, dtype=np.int64)
    k_part, k_off = known
    k_key, lo_key, hi_key = position_keys([k_part, part, part], [k_off, lo, hi])
    # Only known offsets inside some jump matter: keep those before sorting (jumps are few,
    # known offsets are every record of the run).
    order = np.argsort(lo_key, kind="stable")
    starts, reach = lo_key[order], np.maximum.accumulate(hi_key[order])
    at = np.searchsorted(starts, k_key, side="left") - 1  # jumps starting strictly below
    inside = np.unique(k_key[(at >= 0) & (k_key < reach[np.maximum(at, 0)])])
    return np.searchsorted(inside, hi_key, side="left") - np.searchsorted(
        inside, lo_key, side="right"
    )


def _classify(
    p: _Pairs, rebalanced: np.ndarray, known: tuple[np.ndarray, np.ndarray]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Pair indices (into ``p.first``) of each kind, and per pair the known records it jumped
    over (0 unless it moved forward by more than one offset)."""
    i = p.first
    step = p.off[i + 1] - p.off[i]
    back = step <= 0
    at = np.flatnonzero(step > 1)
    skipped = np.zeros(len(i), dtype=np.int64)
    skipped[at] = _known_between(known, p.part[i[at]], p.off[i[at]], p.off[i[at] + 1])
    jump = skipped > 0
    kinds = {
        "nonmonotonic_polls": np.flatnonzero(back & ~rebalanced),
        "poll_skips": np.flatnonzero(jump & ~rebalanced),
        "rewinds_after_rebalance": np.flatnonzero(back & rebalanced),
        "skips_across_rebalance": np.flatnonzero(jump & rebalanced),
    }
    return kinds, skipped


@checker(NAME, order=62)
def check_poll_order(frames: HistoryFrames) -> Verdict:
    figures: dict[str, Any] = {
        "checked": 0,
        "instances": 0,
        "unattributed": 0,
        **dict.fromkeys(KINDS, 0),
        "skipped_records": 0,
        "per_partition": {},
        "per_reader": {},
    }
    recv = frames.recv
    read_m = recv["offset"].to_numpy() >= 0
    # Only the columns used, as a view where the rows kept are one run: a copy of recv was
    # this checker's peak.
    reads = rows_of(recv[["final", "group", "reader", "seq", "offset", "id_code"]], read_m)
    group = ~reads["final"].to_numpy() & reads["group"].notna().to_numpy()
    if not group.any():
        note = "no consumer group read a record: not applicable"
        return Verdict(NAME, "PASS", figures, [], [note])
    readers = reads["reader"].cat.categories
    polls = _events(frames, Ev.POLL, readers)
    if not len(polls[2]):
        figures["unattributed"] = int(group.sum())
        note = (
            "consumer groups read records but the history has no poll events: it predates "
            "poll recording (or comes from the fake runtime), so polls cannot be checked"
        )
        return Verdict(NAME, "UNKNOWN", figures, [], [note])
    assigns = _events(frames, Ev.ASSIGN, readers)
    ack_m = frames.ok["offset"].to_numpy() >= 0
    space = hot_partitions(frames)
    ack_part, read_part = space.codes[0][ack_m], space.codes[1][read_m]
    span = int(max(reads["seq"].max(), polls[2].max(), *assigns[2][-1:])) + 1
    rows = rows_of(reads, group)
    reader, seq = cat_codes(rows["reader"]), rows["seq"].to_numpy()
    inst = _instances(reader, seq, polls, span)
    mine = inst > 0
    p = _pairs(reader[mine], inst[mine], read_part[group][mine],
               rows["offset"].to_numpy()[mine], seq[mine])  # fmt: skip
    # Known records: every acknowledged offset and every offset any reader received, but a
    # record of an aborted or unfinished transaction (a read_uncommitted reader's receipt) is
    # not one a read_committed reader must return: jumping over it is no skip.
    codes = reads["id_code"].to_numpy()
    visible = (codes < 0) | owed(frames)[np.maximum(codes, 0)]
    known = (
        np.concatenate([ack_part, read_part[visible]]),
        np.concatenate(
            [frames.ok["offset"].to_numpy()[ack_m], reads["offset"].to_numpy()[visible]]
        ),
    )
    kinds, skipped = _classify(p, _rebalanced(p, assigns, span), known)
    figures.update(
        checked=int(mine.sum()),
        instances=len(np.unique(p.reader * (int(p.inst.max(initial=0)) + 1) + p.inst)),
        unattributed=int((~mine).sum()),
        skipped_records=int(skipped[kinds["poll_skips"]].sum()),
        **{k: len(v) for k, v in kinds.items()},
    )
    _breakdowns(figures, kinds, p, space, readers)
    evidence = _evidence(kinds, p, skipped, space, readers)
    failed = any(figures[k] for k in FAILING)
    notes: list[str] = []
    status = "FAIL" if failed else "PASS"
    if figures["unattributed"]:
        notes.append(
            f"{figures['unattributed']} group receipts follow no poll event of their reader: "
            "not checked"
        )
        status = "FAIL" if failed else "UNKNOWN"
    return Verdict(NAME, status, figures, evidence, notes)


def _breakdowns(
    figures: dict[str, Any],
    kinds: dict[str, np.ndarray],
    p: _Pairs,
    space: PartitionSpace,
    readers: pd.Index,
) -> None:
    """``per_partition`` and ``per_reader``: each kind's count where it is not zero."""
    for kind, found in kinds.items():
        for j in p.first[found].tolist():
            part = figures["per_partition"].setdefault(space.key(int(p.part[j])), {})
            part[kind] = part.get(kind, 0) + 1
            who = figures["per_reader"].setdefault(str(readers[p.reader[j]]), {})
            who[kind] = who.get(kind, 0) + 1
    figures["per_partition"] = dict(sorted(figures["per_partition"].items()))
    figures["per_reader"] = dict(sorted(figures["per_reader"].items()))


def _evidence(
    kinds: dict[str, np.ndarray],
    p: _Pairs,
    skipped: np.ndarray,
    space: PartitionSpace,
    readers: pd.Index,
) -> list[dict[str, Any]]:
    """Up to SAMPLE pairs of each kind, the failing kinds first."""
    out: list[dict[str, Any]] = []
    for kind in KINDS:
        for k in kinds[kind][:SAMPLE].tolist():
            j = int(p.first[k])
            code = int(p.part[j])
            out.append(
                {
                    "kind": kind,
                    "reader": str(readers[p.reader[j]]),
                    "instance": int(p.inst[j]),
                    "cluster": str(space.cluster[code]),
                    "topic": str(space.topic[code]),
                    "partition": int(space.partition[code]),
                    "offset": int(p.off[j]),
                    "next_offset": int(p.off[j + 1]),
                    "seq": int(p.seq[j]),
                    "next_seq": int(p.seq[j + 1]),
                    "skipped_records": int(skipped[k]),
                }
            )
    return out
