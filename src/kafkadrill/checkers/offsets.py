"""Consumer-group continuity: re-reads and skips, per group and partition.

Messages are records with a kafkadrill id; records without one (foreign records: written by
someone else) are counted per group as `foreign` and are never re-reads nor skips.

Received: the group's receipts of messages; distinct: distinct ids among them.
Re-read: an id the group received more than once (at-least-once redelivery, e.g. after an
offset translation that lands behind); `rereads = received - distinct`.

Skip: for group G with received ids M, and each
(cluster, topic, partition) G received on with hi = the highest offset G received there, every
final-read record of that same partition with offset <= hi whose id is not in M. A skip is loss
*for that consumer* even if the topic still has the record. Ids are matched across clusters, so
records G read on the primary before a failover are not skips on the DR cluster.

Hence a lost message (in no final read) is never a skip, and neither is lag: records past the
highest offset G reached on a partition (a stalled partition) are not yet consumed, not skipped.
Nor is a record of an aborted or unfinished transaction (history/transactions.py): a
read_committed group skips it by design, even on a cluster where MM2 copied it as an ordinary
record (aborted_read counts the readers that returned it).
This checker is the only definition of these figures: the report's consumer-group table shows
``per_group`` as it is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kafkadrill.checkers._common import (
    SAMPLE,
    Verdict,
    cat_codes,
    consumer_receipts,
    consumer_rereads,
    final_read,
    n_ids,
    pkey,
)
from kafkadrill.checkers.registry import checker
from kafkadrill.history import HistoryFrames
from kafkadrill.history.transactions import owed

NAME = "offsets"


def _part_key(df: pd.DataFrame, n_topics: int) -> np.ndarray:
    # Cluster and topic categories are table-wide, so keys agree between frames.
    return (cat_codes(df["cluster"]) * (n_topics + 1) + cat_codes(df["topic"])) * (1 << 32) + df[
        "partition"
    ].to_numpy()


def _group_row(
    received: int, distinct: int, foreign: int, skipped: int | None, per_part: dict
) -> dict:
    return {
        "received": received,
        "distinct": distinct,
        "rereads": received - distinct,
        "reread_ids": 0,
        "skipped": skipped,
        "foreign": foreign,
        "per_partition": dict(sorted(per_part.items())),
    }


def _foreign_per_group(frames: HistoryFrames) -> tuple[int, dict[str, int]]:
    """(non-final receipts without a group, per group: foreign records it consumed)."""
    nonfinal = ~frames.recv["final"].to_numpy()
    no_group = int((nonfinal & frames.recv["group"].isna().to_numpy()).sum())
    foreign_rows = frames.recv[
        nonfinal & frames.recv["group"].notna().to_numpy() & (frames.recv["id_code"] < 0).to_numpy()
    ]
    foreign = {
        str(g): int(n) for g, n in foreign_rows.groupby("group", observed=True).size().items() if n
    }
    return no_group, foreign


def _skip_evidence(frames: HistoryFrames, name: str, skipped_rows: pd.DataFrame) -> list[dict]:
    return [
        {
            "kind": "skipped",
            "group": name,
            "id": frames.id_text(int(code)),
            "cluster": str(c),
            "topic": str(t),
            "partition": int(p),
            "offset": int(o),
        }
        for code, c, t, p, o in zip(
            skipped_rows["id_code"].head(SAMPLE),
            skipped_rows["cluster"].head(SAMPLE),
            skipped_rows["topic"].head(SAMPLE),
            skipped_rows["partition"].head(SAMPLE),
            skipped_rows["offset"].head(SAMPLE),
            strict=True,
        )
    ]


class _Scan:
    """What the per-group skip scan accumulates over all groups."""

    def __init__(self) -> None:
        self.total_skipped = 0
        self.uncheckable: set[str] = set()
        self.all_parts: set[str] = set()
        self.touched_incomplete: set[str] = set()
        self.evidence: list[dict] = []


def _scan_group(
    frames: HistoryFrames,
    ctx: dict,
    gi: int,
    scan: _Scan,
) -> tuple[str, dict]:
    """One group's row of ``per_group``: its partitions, skips and re-reads."""
    rc, final, n_topics = ctx["rc"], ctx["final"], ctx["n_topics"]
    clusters, topics = ctx["clusters"], ctx["topics"]
    name = str(ctx["groups"][gi])
    sel = ctx["g_codes"] == gi
    seen = np.zeros(n_ids(frames), dtype=bool)
    seen[rc["id_code"].to_numpy()[sel]] = True
    hi = pd.Series(rc["offset"].to_numpy()[sel]).groupby(ctx["r_key"][sel]).max()
    per_part: dict[str, dict[str, int]] = {}
    for k in hi.index.to_numpy():
        c = int(k >> 32) // (n_topics + 1)
        t = int(k >> 32) % (n_topics + 1)
        p = int(k & 0xFFFFFFFF)
        pk = pkey(clusters[c], topics[t], p)
        scan.all_parts.add(pk)
        per_part[pk] = {"rereads": 0, "skipped": 0, "max_offset": int(hi[k])}
        if str(clusters[c]) not in ctx["read_clusters"]:
            scan.uncheckable.add(pk)
        elif str(clusters[c]) in ctx["incomplete"]:
            scan.touched_incomplete.add(str(clusters[c]))
    f_id = ctx["f_id"]
    idx = pd.Index(hi.index).get_indexer(ctx["f_key"])
    cand = idx >= 0
    skip = np.zeros(len(final), dtype=bool)
    skip[cand] = (ctx["f_off"][cand] <= hi.to_numpy()[idx[cand]]) & ~seen[f_id[cand]]
    skipped_rows = final[skip]
    for (c, t, p), n in (
        skipped_rows.groupby(["cluster", "topic", "partition"], observed=True).size().items()
    ):
        per_part[pkey(c, t, p)]["skipped"] = int(n)
    rr = ctx["rr"]
    for pk, n in rr["per_group"].get(name, {}).get("per_partition", {}).items():
        per_part.setdefault(pk, {"rereads": 0, "skipped": 0, "max_offset": -1})["rereads"] = n
    scan.total_skipped += len(skipped_rows)
    g = rr["per_group"].get(name, {})
    row = _group_row(int(sel.sum()), int(seen.sum()), ctx["foreign"].get(name, 0), None, per_part)
    row.update(
        rereads=g.get("rereads", 0),
        reread_ids=g.get("reread_ids", 0),
        skipped=len(skipped_rows) if ctx["present"] else None,
    )
    scan.evidence.extend(_skip_evidence(frames, name, skipped_rows)[: SAMPLE - len(scan.evidence)])
    return name, row


def _scan_context(frames: HistoryFrames, fr, rc: pd.DataFrame, rr: dict, foreign: dict) -> dict:
    n_topics = len(frames.recv["topic"].cat.categories)
    codes = fr.records["id_code"].to_numpy()
    # A record of an aborted or unfinished transaction is no write a consumer owes anyone:
    # a read_committed group skips it by design, also where replication made it an ordinary
    # record (MM2 copies aborted records; the aborted_read checker counts who read them).
    final = fr.records[(codes >= 0) & owed(frames)[np.maximum(codes, 0)]]
    read_clusters = set(fr.complete) | set(fr.clusters) if fr.present else set()
    return {
        "rc": rc,
        "rr": rr,
        "foreign": foreign,
        "present": fr.present,
        "n_topics": n_topics,
        "clusters": frames.recv["cluster"].cat.categories,
        "topics": frames.recv["topic"].cat.categories,
        "final": final,
        "f_key": _part_key(final, n_topics),
        "f_off": final["offset"].to_numpy(),
        "f_id": final["id_code"].to_numpy(),
        "read_clusters": read_clusters,
        "incomplete": {c for c in read_clusters if not fr.complete.get(c, False)},
        "g_codes": cat_codes(rc["group"]),
        "groups": rc["group"].cat.categories,
        "r_key": _part_key(rc, n_topics),
    }


@checker("offsets", order=60)
def check_offsets(frames: HistoryFrames) -> Verdict:
    fr = final_read(frames)
    rr = consumer_rereads(frames)
    rc = consumer_receipts(frames)
    notes: list[str] = []
    figures: dict = {
        "groups": 0,
        "rereads": rr["rereads"],
        "reread_ids": rr["reread_ids"],
        "skipped": None,
        "per_group": {},
        "unchecked_partitions": [],
    }
    no_group, foreign = _foreign_per_group(frames)
    figures["foreign_records"] = sum(foreign.values())
    if no_group:
        notes.append(f"{no_group} non-final recv events have no group: not part of continuity")
    if foreign:
        notes.append(
            f"{sum(foreign.values())} records without a kafkadrill id were consumed (foreign "
            "records): not messages, never re-reads nor skips"
        )
    if rc.empty:
        figures["per_group"] = {g: _group_row(0, 0, n, None, {}) for g, n in foreign.items()}
        figures["groups"] = len(figures["per_group"])
        notes.append("no consumer-group receipts: nothing to check")
        return Verdict(NAME, "PASS", figures, [], notes)

    ctx = _scan_context(frames, fr, rc, rr, foreign)
    scan = _Scan()
    for gi in np.unique(ctx["g_codes"]).tolist():
        name, row = _scan_group(frames, ctx, gi, scan)
        figures["per_group"][name] = row
    for name, n in foreign.items():  # groups that consumed only foreign records
        figures["per_group"].setdefault(name, _group_row(0, 0, n, 0 if fr.present else None, {}))
    figures["per_group"] = dict(sorted(figures["per_group"].items()))
    figures["groups"] = len(figures["per_group"])
    figures["skipped"] = scan.total_skipped if fr.present else None
    figures["unchecked_partitions"] = sorted(scan.uncheckable)
    status = _status(fr.present, scan, rr["rereads"], notes)
    return Verdict(NAME, status, figures, scan.evidence, notes)


def _status(present: bool, scan: _Scan, rereads: int, notes: list[str]) -> str:
    checkable = len(scan.all_parts) > len(scan.uncheckable)
    if not present:
        notes.append("no final read: skips cannot be computed")
    if scan.uncheckable:
        notes.append(
            f"{len(scan.uncheckable)} partitions were consumed on clusters without a final read: "
            "skips there cannot be computed"
        )
    if scan.touched_incomplete:
        notes.append(
            f"final read incomplete on {sorted(scan.touched_incomplete)}: skips may be undercounted"
        )
    if scan.total_skipped or rereads:
        return "FAIL"
    if not present or scan.touched_incomplete or not checkable:
        # Partitions on clusters without a final read (a lost region) are listed, not judged;
        # only when nothing at all could be checked is the property unknown.
        return "UNKNOWN"
    return "PASS"
