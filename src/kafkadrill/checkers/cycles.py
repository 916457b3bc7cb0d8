"""No cycles: no record replicated back to its origin.

With DefaultReplicationPolicy MM2 names a copy after its source (`orders` of primary is
`primary.orders` on dr) and never copies a remote topic back to the cluster it names; with
IdentityReplicationPolicy, or a topic filter that lets remote topics through, records can loop
(`dr.primary.orders` on primary, or a primary id read again on primary in another topic).

From the final read:
- ``cycle_topics``: topics read on a cluster whose name holds two or more replication prefixes
  (cluster names), or whose first prefix is the cluster itself (`primary.orders` on primary);
- ``ids_back_at_origin``: ids read on their origin cluster (the cluster that acknowledged them,
  else the one they were sent to) in a topic other than the one they were sent to.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kafkadrill.checkers._common import (
    SAMPLE,
    Verdict,
    by_id_values,
    cat_codes,
    final_read,
    final_read_notes,
    judged_status,
    origin_codes,
    recode,
)
from kafkadrill.checkers.registry import checker
from kafkadrill.history import HistoryFrames
from kafkadrill.history.folds import final_read_events

NAME = "cycles"


def prefixes(topic: str, clusters: set[str]) -> list[str]:
    """Leading dot-separated components of `topic` that are cluster names."""
    out: list[str] = []
    for part in topic.split(".")[:-1]:
        if part not in clusters:
            break
        out.append(part)
    return out


@checker("cycles", order=90)
def check_cycles(frames: HistoryFrames) -> Verdict:
    fr = final_read(frames)
    notes = final_read_notes(fr, every_cluster=True)
    figures: dict[str, Any] = {"cycle_topics": None, "ids_back_at_origin": None}
    if not fr.present:
        return Verdict(NAME, "UNKNOWN", figures, [], notes)
    start = final_read_events(frames).start
    assert start is not None  # fr.present: there is a final_read.start
    topics: dict[str, list[str]] = start.get("topics") or {}
    names = set(fr.clusters) | set(topics)
    cycle_topics = sorted(
        f"{cluster}:{t}"
        for cluster, ts in topics.items()
        for t in ts
        if len(p := prefixes(t, names)) >= 2 or (p and p[0] == cluster)
    )
    rec = fr.records
    rec = rec[rec["id_code"].to_numpy() >= 0]
    origin, space = origin_codes(frames)
    inv = frames.invoke
    tspace = rec["topic"].cat.categories
    sent_topic = by_id_values(frames, inv, recode(inv["topic"], tspace), -1)
    codes = rec["id_code"].to_numpy()
    at_origin = recode(rec["cluster"], space) == origin[codes]
    elsewhere = cat_codes(rec["topic"]) != sent_topic[codes]
    back = rec[at_origin & elsewhere & (sent_topic[codes] >= 0)]
    n_back = int(np.unique(back["id_code"].to_numpy()).size)
    figures.update(cycle_topics=cycle_topics, ids_back_at_origin=n_back)
    evidence = [
        {"id": frames.id_text(int(c)), "cluster": str(cl), "topic": str(t), "offset": int(o)}
        for c, cl, t, o in zip(
            back["id_code"].head(SAMPLE),
            back["cluster"].head(SAMPLE),
            back["topic"].head(SAMPLE),
            back["offset"].head(SAMPLE),
            strict=True,
        )
    ]
    # An id back at its origin may sit in an unread tail: without a complete read, UNKNOWN.
    status = judged_status(fr, bool(cycle_topics) or n_back > 0)
    return Verdict(NAME, status, figures, evidence, notes)
