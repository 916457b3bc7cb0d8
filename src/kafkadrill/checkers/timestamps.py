"""Timestamps and headers of replicated records.

For every final-read record on a cluster other than its origin, the record timestamp must equal
the timestamp of the same record on its origin cluster and the kd-* headers must be present and
equal to what the producer set. The reference timestamp is the record as read on the origin
cluster (final read, else a consumer group's read), else the ts of its delivery report
(send.ok) when the origin was never read (e.g. a lost region). The delivery report is only the
fallback because librdkafka can report a CreateTime 1 ms off the stored one for a retried send
(seen in a broker-loss drill); such differences are counted in `ack_ts_differs`, for
information, not as a replication fault.

Origin cluster = the cluster of the id's send.ok, else of its send.invoke (unknown sends
that landed), else the kd-origin-cluster header. Header equality is checked for kd-id (= id
decoded from the payload) and kd-origin-cluster (= origin cluster); kd-origin-site is checked
for presence only (sends do not record the producer's site).
"""

from __future__ import annotations

import numpy as np

from kafkadrill.checkers._common import (
    SAMPLE,
    Verdict,
    by_id,
    by_id_values,
    cat_codes,
    final_read,
    final_read_notes,
    first_values,
    judged_status,
    recode,
)
from kafkadrill.checkers.registry import checker
from kafkadrill.history import HistoryFrames

NAME = "timestamps"


def _origins(frames: HistoryFrames, rec):
    """Per final-read record: (acked?, origin cluster code, producer-known cluster code, ack ts,
    ts on the origin cluster) and ``ack_ts_differs`` over all ids."""
    codes = rec["id_code"].to_numpy()
    clusters = rec["cluster"].cat.categories  # table-wide: the same space as ok["cluster"]
    ok, inv = frames.ok, frames.invoke
    ok_cluster_all = by_id_values(frames, ok, cat_codes(ok["cluster"]), -1)
    sent_all = by_id_values(frames, inv, cat_codes(inv["cluster"]), -1)
    ok_all = by_id(frames, ok, "ts", -1)
    ok_cluster, sent_to, ok_ts = ok_cluster_all[codes], sent_all[codes], ok_all[codes]
    # The stored timestamp on the origin cluster, per id (any read of it there).
    origin_all = np.where(ok_cluster_all >= 0, ok_cluster_all, sent_all)
    allr = frames.recv
    rcode = allr["id_code"].to_numpy()
    known_id = (rcode >= 0) & (rcode < len(origin_all))  # foreign records have no id
    origin_of = np.full(len(rcode), -2, dtype=np.int64)
    origin_of[known_id] = origin_all[rcode[known_id]]
    at_origin = known_id & (recode(allr["cluster"], clusters) == origin_of)
    src_ts_all = first_values(frames, rcode[at_origin], allr["ts"].to_numpy()[at_origin], -1)
    hdr_origin = recode(rec["origin_cluster"], clusters)
    acked = ok_cluster >= 0
    # Where the producer wrote it: the ack's cluster, else the invoke's, else the header's.
    known = np.where(acked, ok_cluster, sent_to)
    origin = np.where(known >= 0, known, hdr_origin)
    differs = int(((src_ts_all >= 0) & (ok_all >= 0) & (src_ts_all != ok_all)).sum())
    return acked, origin, known, hdr_origin, ok_ts, src_ts_all[codes], differs


def _evidence(frames: HistoryFrames, rec, masks, refs) -> list[dict]:
    codes = rec["id_code"].to_numpy()
    clusters = rec["cluster"].cat.categories
    hdr_id = rec["hdr_id_code"].to_numpy()
    acked, ok_ts, src_ts, hdr_origin = refs
    evidence: list[dict] = []
    for kind, mask in masks:
        for i in np.flatnonzero(mask)[:SAMPLE].tolist():
            evidence.append(
                {
                    "kind": kind,
                    "id": frames.id_text(int(codes[i])),
                    "cluster": str(rec["cluster"].iat[i]),
                    "topic": str(rec["topic"].iat[i]),
                    "partition": int(rec["partition"].iat[i]),
                    "offset": int(rec["offset"].iat[i]),
                    "ts": int(rec["ts"].iat[i]),
                    "acked_ts": int(ok_ts[i]) if acked[i] else None,
                    "origin_ts": int(src_ts[i]) if src_ts[i] >= 0 else None,
                    "hdr_id": frames.id_text(int(hdr_id[i])),
                    "hdr_origin_cluster": None
                    if hdr_origin[i] < 0
                    else str(clusters[hdr_origin[i]]),
                }
            )
    return evidence


@checker("timestamps", order=50)
def check_timestamps(frames: HistoryFrames) -> Verdict:
    fr = final_read(frames)
    notes = final_read_notes(fr, every_cluster=True)
    figures: dict = {
        "checked": 0,
        "ts_mismatch": None,
        "header_missing": None,
        "header_mismatch": None,
        "ack_ts_differs": None,
        "per_cluster": {},
    }
    if not fr.present:
        return Verdict(NAME, "UNKNOWN", figures, [], notes)
    rec = fr.records
    rec = rec[rec["id_code"].to_numpy() >= 0]
    codes = rec["id_code"].to_numpy()
    acked, origin, known, hdr_origin, ok_ts, src_ts, differs = _origins(frames, rec)
    mirrored = (origin >= 0) & (origin != cat_codes(rec["cluster"]))
    hdr_id = rec["hdr_id_code"].to_numpy()
    missing = (
        (hdr_id < 0)
        | rec["origin_site"].isna().to_numpy()
        | rec["origin_cluster"].isna().to_numpy()
    )
    mismatch = ~missing & ((hdr_id != codes) | ((known >= 0) & (hdr_origin != known)))
    ref_ts = np.where(src_ts >= 0, src_ts, ok_ts)
    # Unacked sends that landed have no producer-side truth to compare with.
    ts_bad = acked & (rec["ts"].to_numpy() != ref_ts) & mirrored
    figures["ack_ts_differs"] = differs
    missing &= mirrored
    mismatch &= mirrored
    sub = rec.assign(ts_bad=ts_bad, missing=missing, mismatch=mismatch)[mirrored]
    for cluster, g in sub.groupby("cluster", observed=True, sort=True):
        figures["per_cluster"][str(cluster)] = {
            "checked": len(g),
            "ts_mismatch": int(g["ts_bad"].sum()),
            "header_missing": int(g["missing"].sum()),
            "header_mismatch": int(g["mismatch"].sum()),
        }
    figures.update(
        checked=int(mirrored.sum()),
        ts_mismatch=int(ts_bad.sum()),
        header_missing=int(missing.sum()),
        header_mismatch=int(mismatch.sum()),
    )
    masks = (("ts_mismatch", ts_bad), ("header_missing", missing), ("header_mismatch", mismatch))
    evidence = _evidence(frames, rec, masks, (acked, ok_ts, src_ts, hdr_origin))
    bad = figures["ts_mismatch"] + figures["header_missing"] + figures["header_mismatch"]
    status = judged_status(fr, bool(bad))
    if status == "PASS" and not figures["checked"]:
        notes.append("no replicated record in the final read: nothing to compare")
    return Verdict(NAME, status, figures, evidence, notes)
