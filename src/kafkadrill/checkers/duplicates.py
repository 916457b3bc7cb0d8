"""Duplicates: extra copies of one id in the final read (replication / producer duplicates),
and, reported separately, consumer re-reads (a group receiving an id more than once)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kafkadrill.checkers._common import (
    SAMPLE,
    Verdict,
    consumer_rereads,
    final_read,
    final_read_notes,
    n_ids,
    per_partition_counts,
)
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


def check_duplicates(frames: HistoryFrames) -> Verdict:
    fr = final_read(frames)
    rr = consumer_rereads(frames)
    notes = final_read_notes(fr)
    figures: dict = {
        "duplicates": None,
        "duplicated_ids": None,
        "extra_copies": None,
        "per_partition": {},
        "per_cluster": {},
        "consumer_rereads": rr["rereads"],
        "consumer_reread_ids": rr["reread_ids"],
        "consumer_rereads_per_group": rr["per_group"],
    }
    evidence: list[dict] = []
    if not fr.present:
        return Verdict(NAME, "UNKNOWN", figures, evidence, notes)
    for cluster, rows in fr.records.groupby("cluster", observed=True, sort=True):
        ids, extra, _ = _copies(frames, rows)
        figures["per_cluster"][str(cluster)] = {"duplicated_ids": ids, "extra_copies": extra}
    ids, extra, extra_rows = _copies(frames, fr.auth)
    figures.update(
        duplicates=extra,
        duplicated_ids=ids,
        extra_copies=extra,
        per_partition=per_partition_counts(extra_rows),
    )
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
    if extra:
        status = "FAIL"
    elif not fr.auth_complete:
        status = "UNKNOWN"  # the unread tail could hold copies
    else:
        status = "PASS"
    return Verdict(NAME, status, figures, evidence, notes)
