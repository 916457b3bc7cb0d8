"""Duplicates: extra copies of one id in the final read (replication / producer duplicates),
and, reported separately, consumer re-reads (a group receiving an id more than once).

`duplicates` sums the extra copies found in the final read of every cluster read (per cluster
in `per_cluster`; the authoritative cluster's alone in `authoritative_extra_copies`).

A copy is a record: (cluster, topic, partition, offset). The final reader receiving the same
record twice (a re-fetch) is one record, counted in `redelivered_records`, never a duplicate;
a duplicate is the same id at another offset (or partition, or topic) of one cluster.

`duplicates_by_cause` splits the extra copies by where they sit (the three add up to
`duplicates`): ``producer_retry``: extra copies on the topic the producer wrote, on the cluster
that acknowledged it (its origin); ``mm2_recopy``: extra copies within one mirrored topic (MM2
copied a record again, after a restart or a region loss, from its last committed source
offset); ``failback_remirror``: the same id on two topics of one cluster (records mirrored back
to a cluster that already held them: a failback re-mirror, or a replication cycle)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kafkadrill.checkers._common import (
    SAMPLE,
    Verdict,
    by_id_values,
    cat_codes,
    consumer_rereads,
    final_read,
    final_read_notes,
    judged_status,
    n_ids,
    origin_codes,
    per_partition_counts,
    recode,
)
from kafkadrill.checkers.registry import checker
from kafkadrill.history import HistoryFrames

NAME = "duplicates"


def _copies(frames: HistoryFrames, records: pd.DataFrame) -> tuple[int, int, pd.DataFrame]:
    """(ids with >1 copy, extra copies, rows that are extra copies) of one cluster's read."""
    codes = records["id_code"].to_numpy()
    known = codes >= 0
    counts = np.bincount(codes[known], minlength=n_ids(frames))
    extra_mask = np.zeros(len(records), dtype=bool)
    extra_mask[known] = pd.Series(codes[known]).duplicated().to_numpy()
    return int((counts > 1).sum()), int(extra_mask.sum()), records[extra_mask]


CAUSES = ("mm2_recopy", "producer_retry", "failback_remirror")


def _by_cause(frames: HistoryFrames, records: pd.DataFrame) -> dict[str, int]:
    """Extra copies of the final read per cause (see the module doc)."""
    rec = records[records["id_code"].to_numpy() >= 0]
    codes = rec["id_code"].to_numpy()
    c, t = cat_codes(rec["cluster"]), cat_codes(rec["topic"])
    keys = pd.DataFrame({"c": c, "t": t, "id": codes})
    same_topic = keys.duplicated(["c", "t", "id"]).to_numpy()
    extra = keys.duplicated(["c", "id"]).to_numpy()
    origin, space = origin_codes(frames)
    inv = frames.invoke
    sent_topic = by_id_values(frames, inv, recode(inv["topic"], rec["topic"].cat.categories), -1)
    at_origin = (recode(rec["cluster"], space) == origin[codes]) & (t == sent_topic[codes])
    retry = int((same_topic & at_origin).sum())
    recopy = int((same_topic & ~at_origin).sum())
    return {
        "mm2_recopy": recopy,
        "producer_retry": retry,
        "failback_remirror": int(extra.sum()) - retry - recopy,
    }


@checker("duplicates", order=30)
def check_duplicates(frames: HistoryFrames) -> Verdict:
    fr = final_read(frames)
    rr = consumer_rereads(frames)
    notes = final_read_notes(fr, every_cluster=True)
    figures: dict = {
        "duplicates": None,
        "duplicated_ids": None,
        "extra_copies": None,
        "per_partition": {},
        "per_cluster": {},
        "duplicates_by_cause": dict.fromkeys(CAUSES),
        "redelivered_records": fr.redelivered,
        "consumer_rereads": rr["rereads"],
        "consumer_reread_ids": rr["reread_ids"],
        "consumer_rereads_per_group": rr["per_group"],
    }
    evidence: list[dict] = []
    if not fr.present:
        return Verdict(NAME, "UNKNOWN", figures, evidence, notes)
    # Every cluster read counts: after an MM2 restart the duplicates sit on the DR copy, which
    # is exactly what consumers see after a failover, even when clients never left primary.
    total_ids = total_extra = 0
    extra_parts = []
    for cluster, rows in fr.records.groupby("cluster", observed=True, sort=True):
        ids, extra, rows_extra = _copies(frames, rows)
        figures["per_cluster"][str(cluster)] = {"duplicated_ids": ids, "extra_copies": extra}
        total_ids += ids
        total_extra += extra
        extra_parts.append(rows_extra)
    auth_ids, auth_extra, _ = _copies(frames, fr.auth)
    extra_rows = pd.concat(extra_parts) if extra_parts else fr.auth.iloc[0:0]
    figures.update(
        duplicates=total_extra,
        duplicated_ids=total_ids,
        extra_copies=total_extra,
        authoritative_extra_copies=auth_extra,
        authoritative_duplicated_ids=auth_ids,
        per_partition=per_partition_counts(extra_rows),
        duplicates_by_cause=_by_cause(frames, fr.records),
    )
    extra = total_extra
    for code, c, tp, p, o in zip(
        extra_rows["id_code"].head(SAMPLE),
        extra_rows["cluster"].head(SAMPLE),
        extra_rows["topic"].head(SAMPLE),
        extra_rows["partition"].head(SAMPLE),
        extra_rows["offset"].head(SAMPLE),
        strict=True,
    ):
        evidence.append(
            {
                "id": frames.id_text(int(code)),
                "cluster": str(c),
                "topic": str(tp),
                "partition": int(p),
                "offset": int(o),
                "kind": "extra_copy",
            }
        )
    if rr["rereads"]:
        notes.append("consumer re-reads are reported here but judged by the 'offsets' checker")
    status = judged_status(fr, bool(extra))  # an unread tail could hold copies
    return Verdict(NAME, status, figures, evidence, notes)
