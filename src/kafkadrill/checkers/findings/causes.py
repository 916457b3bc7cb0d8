"""Why a checker FAILed, in one line, and what to do about it: for every FAIL a scenario
objective does not govern (those count with the checker's strict status in the drill verdict).

:func:`fail_cause` reads the checker's own figures only. The judge lists the causes of the
drill's ungoverned FAILs in report.json ``verdict_causes`` (the summary line names them); the
``ungoverned_fail`` findings rule explains the ones no other rule explains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kafkadrill.checkers.findings.text import fmt

__all__ = ["EXPLAINED_ELSEWHERE", "fail_cause"]

Figures = Mapping[str, Any]

# Checkers whose FAIL another findings rule already explains with its figures.
EXPLAINED_ELSEWHERE = frozenset(
    {"loss", "duplicates", "offsets", "metadata", "aggregation", "split_writes"}
)


def _n(f: Figures, key: str) -> str:
    return fmt(f.get(key))


_CAUSES: dict[str, Callable[[Figures], tuple[str, str]]] = {
    "loss": lambda f: (
        f"{_n(f, 'lost')} acknowledged messages lost",
        "See the lost-message samples and the RPO window.",
    ),
    "duplicates": lambda f: (
        f"{_n(f, 'extra_copies')} duplicate copies in the final read",
        "See the duplicates finding: its advice follows their cause.",
    ),
    "offsets": lambda f: (
        f"consumer re-reads {_n(f, 'rereads')}, skips {_n(f, 'skipped')}",
        "See the consumer-group table.",
    ),
    "unknown": lambda f: (
        f"{_n(f, 'failed_but_landed')} sends reported failed landed anyway (failed-but-landed)",
        "A send the producer saw fail was written: an application that re-sends on failure "
        "writes it twice. Enable idempotence and treat a failed send as indeterminate.",
    ),
    "cycles": lambda f: (
        f"a replication cycle (topics {fmt(f.get('cycle_topics') or [])}; "
        f"{_n(f, 'ids_back_at_origin')} ids back at their origin cluster)",
        "Stop each flow from mirroring remote topics back (topics.exclude of the other "
        "clusters' prefixes; never an identity replication policy in both directions).",
    ),
    "ordering": lambda f: (
        f"{_n(f, 'inversions')} ordering inversions within a partition",
        "Keep per-partition order: enable.idempotence=true (or max.in.flight.requests"
        ".per.connection=1) on the producers, and check MM2 tasks did not split a partition.",
    ),
    "timestamps": lambda f: (
        f"replicated records changed: {_n(f, 'ts_mismatch')} timestamps, "
        f"{_n(f, 'header_missing')} missing and {_n(f, 'header_mismatch')} wrong headers",
        "Check the MM2 flow keeps record timestamps and headers (no SMT rewriting them; "
        "message.timestamp.type=CreateTime on the target topics).",
    ),
    "recovery": lambda f: (
        "service never resumed after the fault ("
        + ", ".join(k for k in ("writes_recovered", "reads_recovered") if f.get(k) is False)
        + " false)",
        "Read the runbook steps and the logs after the fault; the clients never came back.",
    ),
    "metadata": lambda f: (
        f"metadata changes: {_n(f, 'not_synced')} never synced, {_n(f, 'appeared')} "
        "excluded ones appeared",
        "See the metadata findings.",
    ),
    "split_writes": lambda f: (
        "the fence of the old primary did not hold: "
        f"{fmt((f.get('split_writes') or {}).get('sent_through_fence'))} writes sent after it "
        "were acknowledged",
        "See the fence finding.",
    ),
    "lost_writes": lambda f: (
        f"{_n(f, 'lost')} acknowledged writes missing below offsets readers reached on the "
        "cluster that acknowledged them",
        "An acknowledged record vanished from its partition (truncated after a leader change): "
        "use acks=all with min.insync.replicas >= 2 and unclean.leader.election.enable=false.",
    ),
    "inconsistent_offsets": lambda f: (
        f"{_n(f, 'inconsistent')} offsets held two different messages",
        "The log changed under its readers or writers: acknowledged records were truncated and "
        "their offsets reused (acks=1 with a lost leader, an unclean leader election). Use "
        "acks=all, min.insync.replicas >= 2 and unclean.leader.election.enable=false.",
    ),
    "send_order": lambda f: (
        f"{_n(f, 'inversions')} sends acknowledged out of the order they were sent",
        "Keep per-partition order: enable.idempotence=true (or max.in.flight.requests"
        ".per.connection=1); an acks=1 leader loss also reorders (acknowledged records "
        "truncated and their offsets reused).",
    ),
    "poll_order": lambda f: (
        f"consumer instances went back {_n(f, 'nonmonotonic_polls')} times and skipped "
        f"{_n(f, 'skipped_records')} records ({_n(f, 'poll_skips')} skips) without a rebalance",
        "A consumer instance skipped records it was assigned or re-read without a rebalance: "
        "check auto.offset.reset and retention (a position deleted under a lagging consumer "
        "resets it) and unclean leader elections (a truncated log rewinds it).",
    ),
    "aborted_read": lambda f: (
        f"{_n(f, 'count')} records of aborted transactions returned to read_committed readers "
        f"({_n(f, 'elsewhere')} on another cluster than the transaction's)",
        "Read on the transaction's own cluster, the broker or client broke isolation. Read "
        "elsewhere, replication copied aborted records as ordinary ones: run MirrorMaker 2's "
        "source consumer with isolation.level=read_committed (KAFKA-14021).",
    ),
    "torn_transaction": lambda f: (
        f"{_n(f, 'torn_transactions')} transactions only partly held by a cluster "
        f"({_n(f, 'torn')} transaction-cluster pairs)",
        "Replication copies a transaction record by record, so a failover that stops it mid-"
        "transaction leaves part of it on the target: consumers there act on half a "
        "transaction. See which clusters in the evidence; reconcile by id after failover.",
    ),
    "aggregation": lambda f: (
        f"{_n(f, 'missing')} acknowledged writes missing from an aggregate view",
        "See the aggregation findings.",
    ),
}


def fail_cause(name: str, figures: Figures) -> tuple[str, str]:
    """(cause, suggestion) of checker ``name``'s FAIL, from its figures."""
    rule = _CAUSES.get(name)
    if rule is None:
        return f"checker {name} failed", f"Read checker {name}'s figures and notes."
    return rule(figures)
