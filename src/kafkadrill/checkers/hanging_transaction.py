"""Hanging transactions: a last stable offset (LSO) that stops moving below the high watermark.

An open transaction holds its partitions' LSO at its first record; read_committed readers
cannot pass the LSO, so they stall until the transaction ends. Kafka bounds that: the
transaction coordinator aborts a transaction open longer than ``transaction.timeout.ms``,
checking every ``transaction.abort.timed.out.transaction.cleanup.interval.ms`` (10 s by
default). A transaction the coordinator never ends (KIP-664's "hanging transaction", e.g. a
coordinator that lost its state, or a producer whose abort went astray across a failover)
blocks read_committed readers of the partition for good.

From the monitor's ``lso`` probes (about every 2 s per cluster and transactional topic, and its
copies): a *stall* of a partition is a run of probes in which its LSO stays at one offset below
the high watermark. Only probes the cluster answered count (a cluster that is down can abort
nothing; its outage is the recovery checker's). A stall longer than the transaction timeout
plus the cleanup interval plus a margin is a hanging transaction: FAIL, on any cluster (a
hanging transaction on DR blocks its read_committed readers as surely as on primary).

Figures per cluster and topic: the longest stall (how long read_committed readers there were
held back), its partition and start; stalls still open at the last probe (seen by more than
one probe: one is a transaction in flight).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kafkadrill.checkers._common import SAMPLE, Verdict
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames

__all__ = ["CLEANUP_INTERVAL_S", "MARGIN_S", "check_hanging_transaction", "stalls"]

NAME = "hanging_transaction"
PROBE = "lso"
#: transaction.abort.timed.out.transaction.cleanup.interval.ms, Kafka's default (10 s).
CLEANUP_INTERVAL_S = 10.0
#: Two probe intervals (~2 s each) plus the coordinator's own latency: never sampling noise.
MARGIN_S = 5.0


@dataclass(frozen=True)
class Stall:
    cluster: str
    topic: str
    partition: int
    lso: int
    start_t: float  # first probe that showed it
    last_t: float  # last probe that still showed it
    open_at_end: bool  # still there at the cluster's last answered probe

    @property
    def seconds(self) -> float:
        return round(self.last_t - self.start_t, 3)


def stalls(probes: list[dict[str, Any]]) -> list[Stall]:
    """Every stall of every (cluster, topic, partition) in ``probes`` (``lso`` probes in file
    order); unanswered probes (``open`` null) neither extend nor end a stall."""
    out: list[Stall] = []
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in probes:
        if e.get("open") is not None:
            by_pair.setdefault((e["cluster"], e["topic"]), []).append(e)
    for (cluster, topic), answered in by_pair.items():
        current: dict[int, tuple[int, float, float]] = {}  # partition -> (lso, start, last)
        for e in answered:
            t = float(e["t"])
            now = {int(p): int(lso) for p, lso, _hw in e["open"]}
            for p, (lso, start, last) in list(current.items()):
                if now.get(p) != lso:  # moved or closed: the stall ended at its last probe
                    out.append(Stall(cluster, topic, p, lso, start, last, False))
                    del current[p]
            for p, lso in now.items():
                held = current.get(p)
                current[p] = (lso, held[1] if held else t, t)
        out += [Stall(cluster, topic, p, lso, s, la, True) for p, (lso, s, la) in current.items()]
    return out


@checker(NAME, order=55)
def check_hanging_transaction(frames: HistoryFrames) -> Verdict:
    probes = [e for e in frames.of_type(Ev.PROBE) if e.get("name") == PROBE]
    if not probes:
        note = "no lso probes in the history: no topic written in transactions, nothing to check"
        return Verdict(NAME, "PASS", {"applicable": False}, [], [note])
    timeout_s = max(int(e.get("txn_timeout_ms") or 0) for e in probes) / 1000.0
    hang_after = round(timeout_s + CLEANUP_INTERVAL_S + MARGIN_S, 3)
    found = stalls(probes)
    per: dict[str, dict[str, dict[str, Any]]] = {}
    for e in probes:
        per.setdefault(e["cluster"], {}).setdefault(
            e["topic"], {"probes": 0, "unanswered": 0, "longest_stall_s": 0.0}
        )
        row = per[e["cluster"]][e["topic"]]
        row["probes"] += 1
        row["unanswered"] += e.get("open") is None
    for s in found:
        row = per[s.cluster][s.topic]
        if s.seconds > row["longest_stall_s"]:
            row.update(longest_stall_s=s.seconds, partition=s.partition, from_t=s.start_t)
        if s.open_at_end and s.seconds > 0:  # seen by one probe only: a transaction in flight
            row.setdefault("open_at_end", []).append([s.partition, s.lso, s.seconds])
    hanging = sorted((s for s in found if s.seconds > hang_after), key=lambda s: -s.seconds)
    evidence = [
        {
            "cluster": s.cluster,
            "topic": s.topic,
            "partition": s.partition,
            "lso": s.lso,
            "from_t": round(s.start_t, 3),
            "stalled_s": s.seconds,
            "open_at_end": s.open_at_end,
        }
        for s in hanging[:SAMPLE]
    ]
    figures = {
        "applicable": True,
        "hang_after_s": hang_after,
        "hanging": len(hanging),
        "longest_stall_s": max((s.seconds for s in found), default=0.0),
        "clusters": per,
    }
    notes = [
        f"a stall over {hang_after:g} s (transaction timeout {timeout_s:g} s + coordinator "
        f"cleanup {CLEANUP_INTERVAL_S:g} s + {MARGIN_S:g} s) is a hanging transaction"
    ]
    short_open = [s for s in found if s.open_at_end and 0 < s.seconds <= hang_after]
    if short_open:
        notes.append(
            f"{len(short_open)} partition(s) still held back at the last probe, for less than "
            "the timeout: the coordinator may still abort them"
        )
    return Verdict(NAME, "FAIL" if hanging else "PASS", figures, evidence, notes)
