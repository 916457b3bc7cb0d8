"""Shared pieces of the checkers: Verdict, the final-read context, id-indexed lookups.

Everything here is vectorised over message-id codes (``id_code`` in the frames): a boolean or
numeric array indexed by code answers "was id X seen / when was it acked" in O(1) per row.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.folds import fault_windows, final_read_events

Status = Literal["PASS", "FAIL", "UNKNOWN"]
SAMPLE = 20  # evidence rows kept per finding: enough to debug, small enough for a report


@dataclass
class Verdict:
    checker: str
    status: Status
    figures: dict[str, Any]
    evidence: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


def jsonable(obj: Any) -> Any:
    """Plain JSON types only: numpy scalars unwrapped, NaN/inf -> None, tuples -> lists."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


def pkey(cluster: Any, topic: Any, partition: Any) -> str:
    """Key of a partition in figures: ``cluster/topic/partition`` (JSON keys must be text)."""
    return f"{cluster}/{topic}/{int(partition)}"


def per_partition_counts(df: pd.DataFrame) -> dict[str, int]:
    """Row counts per (cluster, topic, partition) as ``{"c/t/p": n}``, sorted by key."""
    if df.empty:
        return {}
    g = df.groupby(["cluster", "topic", "partition"], observed=True, sort=True).size()
    return {pkey(c, t, p): int(n) for (c, t, p), n in g.items() if n}


def n_ids(frames: HistoryFrames) -> int:
    return len(frames.ids)


def rows_of(df: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """``df[mask]`` without copying when the rows kept are one run (all of them, or a slice:
    the final read's rows, one cluster's part of them, the consumers' receipts before it). The
    same rows and index either way; a slice is a view that pandas copies only if written to
    (copy-on-write), so a filter that keeps most of a large frame costs no second frame."""
    # The run's ends from argmax, not an index of every row kept: at 100M events that index
    # alone would be several hundred MB.
    kept = int(np.count_nonzero(mask))
    if kept == len(df):
        return df
    if kept:
        first = int(np.argmax(mask))
        last = len(mask) - 1 - int(np.argmax(mask[::-1]))
        if last - first + 1 == kept:
            return df.iloc[first : last + 1]
    return df[mask]


def _first_mask(df: pd.DataFrame) -> np.ndarray:
    """Rows that are the first (file order) of their message id; null ids are never first."""
    codes = df["id_code"].to_numpy()
    return (codes >= 0) & ~pd.Series(codes).duplicated().to_numpy()


_HOT_FRAMES = ("invoke", "ok", "fail", "unknown", "recv")


def _cached_first_mask(frames: HistoryFrames | None, df: pd.DataFrame) -> np.ndarray:
    # Only the frames' own tables are cached (they live as long as the cache); a derived frame
    # is a new object every time, so its mask is computed each time.
    for name in _HOT_FRAMES if frames is not None else ():
        if df is getattr(frames, name):
            key = ("first_mask", name)
            hit = frames.cache.get(key)
            if hit is None:
                hit = frames.cache[key] = _first_mask(df)
            return hit
    return _first_mask(df)


def first_per_id(df: pd.DataFrame, frames: HistoryFrames | None = None) -> pd.DataFrame:
    """First row (file order) per message id; rows with a null id dropped. With ``frames``,
    the first rows of its own tables (``frames.ok`` ...) are computed once and cached."""
    if frames is not None:
        for name in _HOT_FRAMES:
            if df is getattr(frames, name):
                key = ("first_per_id", name)
                hit = frames.cache.get(key)
                if hit is None:
                    hit = frames.cache[key] = rows_of(df, _cached_first_mask(frames, df))
                return hit
    return rows_of(df, _first_mask(df))


def presence(frames: HistoryFrames, df: pd.DataFrame) -> np.ndarray:
    """Boolean array over id codes: True where the id occurs in ``df``."""
    out = np.zeros(n_ids(frames), dtype=bool)
    codes = df["id_code"].to_numpy()
    out[codes[codes >= 0]] = True
    return out


def by_id(frames: HistoryFrames, df: pd.DataFrame, column: str, fill: Any) -> np.ndarray:
    """Array over id codes with ``df[column]`` of the FIRST row per id (``fill`` elsewhere)."""
    return by_id_values(frames, df, df[column].to_numpy(), fill)


def by_id_values(
    frames: HistoryFrames, df: pd.DataFrame, values: np.ndarray, fill: Any
) -> np.ndarray:
    """:func:`by_id` of per-row ``values`` (one per row of ``df``): no derived frame needed."""
    keep = _cached_first_mask(frames, df)
    return _scatter(frames, df["id_code"].to_numpy()[keep], np.asarray(values)[keep], fill)


def first_values(
    frames: HistoryFrames, codes: np.ndarray, values: np.ndarray, fill: Any
) -> np.ndarray:
    """Array over id codes with the value of the FIRST row per code (rows given as arrays)."""
    keep = (codes >= 0) & ~pd.Series(codes).duplicated().to_numpy()
    return _scatter(frames, codes[keep], np.asarray(values)[keep], fill)


def _scatter(frames: HistoryFrames, codes: np.ndarray, values: np.ndarray, fill: Any) -> np.ndarray:
    dtype = values.dtype if values.dtype != object else object
    out = np.full(n_ids(frames), fill, dtype=np.result_type(dtype, np.asarray(fill).dtype))
    out[codes] = values
    return out


def cat_codes(s: pd.Series) -> np.ndarray:
    return s.cat.codes.to_numpy().astype(np.int64)


def recode(s: pd.Series, categories: pd.Index) -> np.ndarray:
    """Codes of categorical ``s`` expressed in another category space (-1 if absent/null)."""
    mapping = np.append(categories.get_indexer(s.cat.categories), -1)
    return mapping[cat_codes(s)]  # code -1 indexes the appended -1


@dataclass
class FinalRead:
    """What the final heal-and-read-all phase saw (Jepsen's final read)."""

    present: bool  # a final_read.start exists
    authoritative: str | None
    clusters: list[str]
    complete: dict[str, bool]  # per cluster, from its last final_read.end
    records: pd.DataFrame  # final recv rows of the last final read, one per record identity
    auth: pd.DataFrame  # ... restricted to the authoritative cluster
    auth_seen: np.ndarray  # bool over id codes: id occurs where its origin's ids must be
    redelivered: int = 0  # final recv rows dropped: the same record received again
    authoritative_for: dict[str, str] = field(default_factory=dict)  # origin -> cluster
    aggregates: list[str] = field(default_factory=list)  # clusters holding every origin
    _complete_auth: bool | None = None  # with authoritative_for: all of those clusters
    union_groups: dict[str, str] = field(default_factory=dict)  # union group -> its cluster

    @property
    def auth_complete(self) -> bool:
        if self._complete_auth is not None:
            return self._complete_auth
        return self.authoritative is not None and self.complete.get(self.authoritative, False)

    @property
    def incomplete(self) -> list[str]:
        """Clusters of the final read whose read did not complete (no final_read.end, or one
        with complete=false): an absence of findings on their records proves nothing."""
        names = dict.fromkeys([*self.clusters, *self.complete])
        return sorted(c for c in names if not self.complete.get(c, False))


def acked_cluster_codes(frames: HistoryFrames) -> tuple[np.ndarray, pd.Index]:
    """(cluster code per id, the category space): the cluster that acknowledged the id (its
    first send.ok); -1 for an id never acknowledged."""
    ok = frames.ok
    return by_id_values(frames, ok, cat_codes(ok["cluster"]), -1), ok["cluster"].cat.categories


def origin_codes(frames: HistoryFrames) -> tuple[np.ndarray, pd.Index]:
    """(cluster code per id, the category space): the cluster that acknowledged the id, else
    the one it was sent to (unknown outcome); -1 when neither is known."""
    acked, space = acked_cluster_codes(frames)
    inv = frames.invoke
    sent = by_id_values(frames, inv, recode(inv["cluster"], space), -1)
    return np.where(acked >= 0, acked, sent), space


def _seen_per_origin(
    frames: HistoryFrames, records: pd.DataFrame, default: str | None, auth_for: dict[str, str]
) -> np.ndarray:
    origin, space = origin_codes(frames)
    seen = np.zeros(n_ids(frames), dtype=bool)
    names = list(space)
    for cluster in {default, *auth_for.values()} - {None}:
        here = presence(frames, records[(records["cluster"] == cluster).to_numpy()])
        owners = [i for i, n in enumerate(names) if auth_for.get(n, default) == cluster]
        owners += [-1] if cluster == default else []
        mine = np.isin(origin, owners)
        seen[mine] = here[mine]
    return seen


def unique_records(recv: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """(first row per record identity, rows dropped) of recv rows.

    A record is (cluster, topic, partition, offset): a reader that receives the same record
    twice (a re-fetch after a rebalance or a retried final read) saw ONE record, not a copy.
    Rows without a known offset (-1) are all kept: their identity is unknown.
    """
    if recv.empty:
        return recv, 0
    off = recv["offset"].to_numpy()
    ct = cat_codes(recv["cluster"]) * (len(recv["topic"].cat.categories) + 1) + cat_codes(
        recv["topic"]
    )
    ct = ct - ct.min()  # null cluster/topic codes are negative
    part = recv["partition"].to_numpy()
    span_p, span_o = int(part.max()) + 2, int(off.max()) + 2
    if int(ct.max() + 1) * span_p * span_o < 2**62:  # one int64 key: a fast hash
        key = pd.Series((ct * span_p + (part + 1)) * span_o + (off + 1))
        again = key.duplicated().to_numpy()
    else:
        again = pd.DataFrame({"ct": ct, "p": part, "o": off}).duplicated().to_numpy()
    again = again & (off >= 0)
    n = int(again.sum())
    return (rows_of(recv, ~again), n) if n else (recv, 0)


def final_read(frames: HistoryFrames) -> FinalRead:
    """Final-read context, computed once per frames (cached)."""
    hit = frames.cache.get("final_read")
    if hit is not None:
        return hit
    attempt = final_read_events(frames)
    recv = frames.recv
    if attempt.start is None:
        empty = recv.iloc[:0]
        fr = FinalRead(False, None, [], {}, empty, empty, np.zeros(n_ids(frames), dtype=bool))
    else:
        start = attempt.start  # a retried final read supersedes earlier attempts
        seq0 = int(start.get("seq", -1))
        complete = dict(attempt.complete)
        mask = recv["final"].to_numpy() & (recv["seq"].to_numpy() > seq0)
        records, redelivered = unique_records(rows_of(recv, mask))
        auth_name = start.get("authoritative")
        auth_for = {str(k): str(v) for k, v in (start.get("authoritative_for") or {}).items()}
        if auth_for:
            # Active-active: each origin's ids must be on the cluster named for that origin.
            names = set(auth_for.values())
            auth = rows_of(records, records["cluster"].isin(names).to_numpy())
            seen = _seen_per_origin(frames, records, auth_name, auth_for)
            complete_auth = all(complete.get(c, False) for c in names)
        else:
            auth = rows_of(records, (records["cluster"] == auth_name).to_numpy())
            seen = presence(frames, auth)
            complete_auth = None
        fr = FinalRead(
            True,
            auth_name,
            list(start.get("clusters") or []),
            complete,
            records,
            auth,
            seen,
            redelivered,
            auth_for,
            [str(c) for c in start.get("aggregates") or []],
            complete_auth,
            {str(k): str(v) for k, v in (start.get("union_groups") or {}).items()},
        )
    frames.cache["final_read"] = fr
    return fr


def final_read_notes(fr: FinalRead, every_cluster: bool = False) -> list[str]:
    """Notes on what the final read could not see. ``every_cluster``: the checker judges the
    records of every cluster read (not only the authoritative one), so an incomplete read of
    any of them is noted."""
    if not fr.present:
        return [
            "no final_read.start in the history: nothing was read after healing, so "
            "'not read' cannot be told from 'lost'"
        ]
    if not fr.auth_complete:
        return [
            f"final read of the authoritative cluster {fr.authoritative!r} did not reach the "
            "end offsets captured at its start (no final_read.end complete=true)"
        ]
    if every_cluster and fr.incomplete:
        return [
            f"final read of {fr.incomplete} did not reach the end offsets captured at its "
            "start (no final_read.end complete=true): its unread tail is not judged"
        ]
    return []


def judged_status(fr: FinalRead, bad: bool) -> str:
    """Status of a checker that judges the final read of every cluster read: FAIL when it
    found something (more reading cannot undo it), else UNKNOWN when any of those reads is
    incomplete (the unread tail could hold what it looks for), else PASS."""
    if bad:
        return "FAIL"
    if not fr.auth_complete or fr.incomplete:
        return "UNKNOWN"
    return "PASS"


def consumer_receipts(frames: HistoryFrames) -> pd.DataFrame:
    """Non-final recv rows of consumer groups (group not null, id known), file order."""
    hit = frames.cache.get("consumer_receipts")
    if hit is None:
        r = frames.recv
        mask = (~r["final"].to_numpy()) & r["group"].notna().to_numpy()
        mask &= r["id_code"].to_numpy() >= 0
        # Only the columns consumers of this table read: a row filter copies every column.
        cols = ["seq", "t", "group", "cluster", "topic", "partition", "offset", "id_code"]
        hit = rows_of(r[cols], mask)
        frames.cache["consumer_receipts"] = hit
    return hit


def consumer_rereads(frames: HistoryFrames) -> dict[str, Any]:
    """Per group: ids received more than once and the extra receipts, per partition.

    The partition of a re-read is where the extra (not the first) receipt happened.
    """
    hit = frames.cache.get("consumer_rereads")
    if hit is not None:
        return hit
    rc = consumer_receipts(frames)
    gcode = cat_codes(rc["group"])
    key = gcode * max(n_ids(frames), 1) + rc["id_code"].to_numpy()
    extra = pd.Series(key).duplicated().to_numpy()
    extra_rows = rc[extra]
    per_group: dict[str, Any] = {}
    groups = rc["group"].cat.categories
    extra_g = gcode[extra]
    extra_keys = key[extra]
    for gi in np.unique(gcode).tolist():
        rows = extra_rows[extra_g == gi]
        per_group[str(groups[gi])] = {
            "rereads": len(rows),
            "reread_ids": len(np.unique(extra_keys[extra_g == gi])),
            "per_partition": per_partition_counts(rows),
        }
    hit = {
        "rereads": int(extra.sum()),
        "reread_ids": len(np.unique(extra_keys)),
        "per_group": per_group,
        "extra_rows": extra_rows,
    }
    frames.cache["consumer_rereads"] = hit
    return hit


def fault_events(frames: HistoryFrames) -> list[dict[str, Any]]:
    return frames.of_type(Ev.FAULT_INJECT)


def first_fault_t(frames: HistoryFrames) -> float | None:
    f = fault_windows(frames)
    return min(float(w.inject["t"]) for w in f) if f else None


def ack_rows(frames: HistoryFrames, rows: pd.DataFrame) -> list[tuple[int, dict[str, Any]]]:
    """(id code, the ack's evidence fields) of the first SAMPLE acks in ``rows`` by time: one
    shape for every checker that lists acknowledged writes as evidence."""
    rows = rows.sort_values("t", kind="stable").head(SAMPLE)
    return [
        (
            int(code),
            {
                "id": frames.id_text(int(code)),
                "producer": str(p),
                "cluster": str(c),
                "topic": str(tp),
                "partition": int(pa),
                "offset": int(o) if pd.notna(o) else None,
                "ack_t": float(t),
            },
        )
        for code, p, c, tp, pa, o, t in zip(
            rows["id_code"],
            rows["producer"],
            rows["cluster"],
            rows["topic"],
            rows["partition"],
            rows["offset"],
            rows["t"],
            strict=True,
        )
    ]
