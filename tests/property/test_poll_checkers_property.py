"""Property: on generated poll-level histories with a known number of injected anomalies, the
Jepsen-style checkers report exactly those counts.

Consumers: each reader instance polls batches of one partition's records; before a batch it
may jump back (to an offset at or below the last one it read) or skip forward over records,
with or without a rebalance (an `assign` event of that instance) first. Rebalances also come
between ordinary batches, and gaps without any record (transaction markers) sit in the logs:
neither may count. The model classifies each injected jump with the rule's own inputs (was
there a rebalance of that instance since its last read of the partition; how many records lie
strictly between), so the expected counts are known by construction.

Producers: two producers write interleaved logs; injected swaps of two consecutive sends'
offsets (send_order inversions), final reads that return another message at an offset
(inconsistent_offsets, and a lost write) or miss a record inside what they read (a lost write).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkadrill.checkers import run_checkers
from kafkadrill.history import load_frames

TS0 = 1_700_000_000_000
KINDS = ("nonmonotonic_polls", "poll_skips", "rewinds_after_rebalance", "skips_across_rebalance")


@dataclass
class Model:
    events: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    skipped_records: int = 0
    receipts: int = 0
    inversions: int = 0
    inconsistent: int = 0
    lost: int = 0

    def add(self, type: str, **f: Any) -> None:
        t = len(self.events) / 100
        self.events.append({"seq": len(self.events), "t": t, "wall": 1e9 + t, "type": type, **f})


def _send(m: Model, producer: str, seq: int, partition: int, offset: int) -> None:
    base = {"producer": producer, "id": f"{producer}:{seq}", "cluster": "primary",
            "topic": "orders"}  # fmt: skip
    m.add("send.invoke", **base, key=None, size=10)
    m.add("send.ok", **base, partition=partition, offset=offset, ts=TS0)


def _recv(m: Model, reader: str, group: str | None, partition: int, offset: int,
          mid: str | None) -> None:  # fmt: skip
    m.add("recv", reader=reader, group=group, final=group is None, cluster="primary",
          topic="orders", partition=partition, offset=offset, ts=TS0, id=mid, hdr={})  # fmt: skip


def _logs(draw: st.DrawFn, n_part: int) -> list[list[int | None]]:
    """Per partition: the offsets' contents, a record number or None (a marker: no record)."""
    logs: list[list[int | None]] = []
    n = 0
    for _ in range(n_part):
        log: list[int | None] = []
        for _ in range(draw(st.integers(1, 30))):
            marker = bool(log) and draw(st.integers(0, 5)) == 0
            log.append(None if marker else n)
            n += 0 if marker else 1
        logs.append(log)
    return logs


def _stream(draw: st.DrawFn, m: Model, logs: list[list[int | None]], reader: str,
            instance: int) -> list[list[tuple[str, dict[str, Any]]]]:  # fmt: skip
    """One instance's batches, each a list of events (assigns, a poll, its receipts), and the
    model's counts of what it injected."""
    records = [[o for o, r in enumerate(log) if r is not None] for log in logs]
    last: dict[int, int] = {}  # partition -> offset last read
    rebalanced: set[int] = set()  # partitions with a rebalance since their last read
    batches = []
    for _ in range(draw(st.integers(1, 8))):
        events: list[tuple[str, dict[str, Any]]] = []
        if draw(st.integers(0, 3)) == 0:
            events.append(("assign", {"change": draw(st.sampled_from(["revoke", "assign",
                                                                      "lost"]))}))  # fmt: skip
            rebalanced = set(range(len(logs)))
        p = draw(st.integers(0, len(logs) - 1))
        offs = records[p]
        if p not in last:
            start = draw(st.integers(0, len(offs) - 1))  # first read: anywhere
        else:
            nxt = next((i for i, o in enumerate(offs) if o > last[p]), len(offs))
            move = draw(st.sampled_from(["next", "next", "back", "skip"]))
            if move == "back":
                start = draw(st.integers(0, nxt - 1))  # at or below the last read
                kind = "rewinds_after_rebalance" if p in rebalanced else "nonmonotonic_polls"
                m.counts[kind] += 1
            elif move == "skip" and nxt + 1 < len(offs):
                start = draw(st.integers(nxt + 1, len(offs) - 1))
                if p in rebalanced:
                    m.counts["skips_across_rebalance"] += 1
                else:
                    m.counts["poll_skips"] += 1
                    m.skipped_records += start - nxt  # the records strictly between
            elif nxt < len(offs):
                start = nxt  # the next record, over any marker gap: no skip
            else:  # caught up: nothing to poll (a rebalance drawn still happens)
                batches += [events] if events else []
                continue
        n = draw(st.integers(1, 4))
        batch = offs[start : start + n]
        events.append(("poll", {}))
        events += [("recv", {"partition": p, "offset": o}) for o in batch]
        m.receipts += len(batch)
        last[p] = batch[-1]
        rebalanced.discard(p)
        batches.append(events)
    return batches


@st.composite
def consumer_histories(draw: st.DrawFn) -> Model:
    m = Model()
    logs = _logs(draw, draw(st.integers(1, 3)))
    for p, log in enumerate(logs):
        for o, r in enumerate(log):
            if r is not None:
                _send(m, "p0", r, p, o)
    streams = []
    for reader in ("c0", "c1")[: draw(st.integers(1, 2))]:
        for instance in range(1, draw(st.integers(1, 2)) + 1):
            tag = (reader, instance)
            streams.append([(tag, b) for b in _stream(draw, m, logs, reader, instance)])
    # Interleave the instances' batches (each keeps its order): another instance's rebalance
    # between two of this one's receipts must not excuse anything.
    while any(streams):
        s = draw(st.sampled_from([s for s in streams if s]))
        (reader, instance), batch = s.pop(0)
        for kind, f in batch:
            if kind == "assign":
                m.add("assign", reader=reader, group="g", cluster="primary", instance=instance,
                      change=f["change"], partitions=[["orders", 0]])  # fmt: skip
            elif kind == "poll":
                m.add("poll", reader=reader, cluster="primary", instance=instance, ranges=[])
            else:
                r = logs[f["partition"]][f["offset"]]
                _recv(m, reader, "g", f["partition"], f["offset"], f"p0:{r}")
    m.add("final_read.start", clusters=["primary"], authoritative="primary",
          topics={"primary": ["orders"]})  # fmt: skip
    for p, log in enumerate(logs):  # the final reader re-reads from 0: never a group's poll
        for o, r in enumerate(log):
            if r is not None:
                _recv(m, "final", None, p, o, f"p0:{r}")
    m.add("final_read.end", cluster="primary", records=0, complete=True)
    return m


@settings(max_examples=150, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(consumer_histories())
def test_poll_order_counts_exactly_the_injected_jumps(m: Model) -> None:
    v = run_checkers(load_frames(m.events))
    po = v["poll_order"]
    assert {k: po.figures[k] for k in KINDS} == m.counts, po.evidence
    assert po.figures["skipped_records"] == m.skipped_records
    assert po.figures["checked"] == m.receipts and po.figures["unattributed"] == 0
    failing = m.counts["nonmonotonic_polls"] + m.counts["poll_skips"]
    assert po.status == ("FAIL" if failing else "PASS")
    # The logs themselves are sound: every other Jepsen check passes.
    for name in ("inconsistent_offsets", "send_order", "lost_writes"):
        assert v[name].status == "PASS", (name, v[name].evidence)


@st.composite
def producer_histories(draw: st.DrawFn) -> Model:
    m = Model()
    held: list[list[tuple[str, int]]] = []  # per partition: (producer, seq) by offset
    for p in range(draw(st.integers(1, 2))):
        # Two producers interleave; (producer, seq) in log order.
        log: list[tuple[str, int]] = []
        seqs = {"p0": 0, "p1": 0}
        for _ in range(draw(st.integers(2, 30))):
            who = draw(st.sampled_from(["p0", "p1"]))
            log.append((who, seqs[who] * 10 + p))  # seq unique across partitions
            seqs[who] += 1
        # Swap the offsets of consecutive sends of one producer, pairs disjoint: the broker
        # stored (and acknowledged) the later send first. One inversion each.
        acked = {rec: o for o, rec in enumerate(log)}
        used: set[tuple[str, int]] = set()
        for i in draw(st.lists(st.integers(0, 60), max_size=3)):
            a = log[i % len(log)]
            later = [r for r in log if r[0] == a[0] and r[1] > a[1]]
            if not later:
                continue
            b = min(later, key=lambda r: r[1])
            if {a, b} & used:
                continue
            used |= {a, b}
            acked[a], acked[b] = acked[b], acked[a]
            m.inversions += 1
        for (who, s), o in sorted(acked.items(), key=lambda x: x[0][1]):
            _send(m, who, s, p, o)
        held.append(sorted(acked, key=lambda r: acked[r]))
    # The final read: at some interior offsets another message (inconsistent, and the acked
    # one is lost), at others nothing (lost): interior, so the read spans them.
    m.add("final_read.start", clusters=["primary"], authoritative="primary",
          topics={"primary": ["orders"]})  # fmt: skip
    for p, log in enumerate(held):
        for o, (who, s) in enumerate(log):
            interior = 0 < o < len(log) - 1
            what = (
                draw(st.sampled_from(["read"] * 6 + ["other", "missing"])) if interior else "read"
            )
            if what == "read":
                _recv(m, "final", None, p, o, f"{who}:{s}")
            elif what == "other":
                _recv(m, "final", None, p, o, f"x:{o * 10 + p}")
                m.inconsistent += 1
                m.lost += 1
            else:
                m.lost += 1
    m.add("final_read.end", cluster="primary", records=0, complete=True)
    return m


@settings(max_examples=150, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(producer_histories())
def test_producer_side_checks_count_exactly_the_injected_faults(m: Model) -> None:
    v = run_checkers(load_frames(m.events))
    so, io, lw = v["send_order"], v["inconsistent_offsets"], v["lost_writes"]
    assert so.figures["inversions"] == m.inversions, so.evidence
    assert io.figures["inconsistent"] == m.inconsistent, io.evidence
    assert lw.figures["lost"] == m.lost, lw.evidence
    assert lw.figures["not_spanned"] == 0
    for c, n in ((so, m.inversions), (io, m.inconsistent), (lw, m.lost)):
        assert c.status == ("FAIL" if n else "PASS")
    assert v["poll_order"].status == "PASS"  # no consumer group: not applicable
