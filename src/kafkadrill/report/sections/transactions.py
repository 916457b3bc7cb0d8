"""Transactions: what the transactional producers decided, what read_committed readers saw, how
long an open transaction held readers back, and whether each copier copied exactly once.

Formats the aborted_read, torn_transaction, hanging_transaction and copier checkers' figures
only (they compute every number shown here).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import Block, Code, Heading, Para, Table
from kafkadrill.report.format import figures, fmt, fmt_s


def _applicable(r: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    figs = figures(r, name)
    return figs if figs.get("applicable") else {}


def _producers(r: Mapping[str, Any]) -> list[Block]:
    ar, torn = _applicable(r, "aborted_read"), _applicable(r, "torn_transaction")
    if not ar:
        return []
    txns = ar.get("transactions") or {}
    msgs = txns.get("messages") or {}
    rows = [
        [state, fmt(txns.get(state)), fmt(msgs.get(state))]
        for state in ("committed", "aborted", "unknown")
    ]
    b: list[Block] = [
        Para("The transactional producers' transactions, and their messages, by outcome."),
        Table(["Outcome", "Transactions", "Messages"], rows, numeric={1, 2}),
        Para(
            f"Records of aborted transactions returned to read_committed readers: "
            f"{fmt(ar.get('on_origin'))} on the cluster that ran the transaction, "
            f"{fmt(ar.get('elsewhere'))} on copies; returned to read_uncommitted readers "
            f"(allowed): {fmt(ar.get('read_uncommitted_seen'))}. Torn committed transactions: "
            f"{fmt(torn.get('on_origin'))} on their own cluster, {fmt(torn.get('elsewhere'))} "
            "on copies."
        ),
    ]
    return b


def _stalls(r: Mapping[str, Any]) -> list[Block]:
    h = _applicable(r, "hanging_transaction")
    if not h:
        return []
    rows = [
        [
            Code(f"{cluster}:{topic}"),
            fmt(row.get("probes")),
            fmt(row.get("unanswered")),
            fmt_s(row.get("longest_stall_s")),
            fmt(row.get("partition")) if row.get("longest_stall_s") else "n/a",
            fmt(len(row.get("open_at_end") or [])),
        ]
        for cluster, topics in (h.get("clusters") or {}).items()
        for topic, row in topics.items()
    ]
    return [
        Para(
            "Last stable offset: how long an open transaction held read_committed readers of "
            f"one partition back. A stall over {fmt_s(h.get('hang_after_s'))} is a hanging "
            f"transaction; there were {fmt(h.get('hanging'))}."
        ),
        Table(
            ["Cluster:topic", "Probes", "Unanswered", "Longest stall", "Partition", "Open at end"],
            rows,
            numeric={1, 2, 3, 5},
        ),
    ]


def _copiers(r: Mapping[str, Any]) -> list[Block]:
    c = _applicable(r, "copier")
    if not c:
        return []
    rows = []
    for name, cp in (c.get("copiers") or {}).items():
        t = cp.get("transactions") or {}
        decided = " / ".join(fmt(t.get(k)) for k in ("committed", "aborted", "unknown"))
        for cluster, f in (cp.get("clusters") or {}).items():
            rows.append(
                [
                    Code(str(name)),
                    str(cluster),
                    fmt(f.get("input")),
                    fmt(f.get("output")),
                    fmt(f.get("missing")),
                    fmt(f.get("duplicated")),
                    fmt(f.get("phantom")),
                    fmt(f.get("aborted_input")),
                    decided,
                ]
            )
    b: list[Block] = [
        Para(
            "Exactly-once copiers: per cluster a copier wrote, its input (what a read_committed "
            "reader finds) against its output. Missing, duplicated or phantom records there "
            "break exactly-once; aborted input counts records of transactions aborted elsewhere "
            "that arrived here as ordinary records (an MM2 copy)."
        ),
        Table(
            [
                "Copier",
                "Cluster",
                "Input",
                "Output",
                "Missing",
                "Duplicated",
                "Phantom",
                "Aborted input",
                "Transactions committed / aborted / unknown",
            ],
            rows,
            numeric={2, 3, 4, 5, 6, 7},
        ),
    ]
    copies = [
        (name, cluster, cp_copy)
        for name, cp in (c.get("copiers") or {}).items()
        for cluster, cp_copy in (cp.get("copies") or {}).items()
    ]
    if copies:
        b.append(
            Para(
                "Replicated copies of the output (measured, not judged: MM2 copies record by "
                "record): "
                + "; ".join(
                    f"{name} on {cluster}: {fmt(x.get('records'))} records, "
                    f"{fmt(x.get('duplicated'))} ids more than once"
                    for name, cluster, x in copies
                )
                + "."
            )
        )
    return b


def transactions_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    parts = [*_producers(r), *_stalls(r), *_copiers(r)]
    if not parts:
        return []
    return [Heading(2, "Transactions", "transactions"), *parts]
