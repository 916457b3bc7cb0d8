"""Columnar frames of a history: :func:`load_frames` -> :class:`HistoryFrames`.

The numerous message events (``send.*``, ``recv``: :data:`HOT_TYPES`) become one pandas frame per
family, parsed by pyarrow from a memory map on many threads (fast enough for 10M events); every
other event stays a dict. Any irregularity falls back to the exact orjson path of
:mod:`kafkadrill.history.read`, which gives the same frames or names the bad line.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from kafkadrill.history import columnar
from kafkadrill.history.errors import HistoryError
from kafkadrill.history.events import EVENTS, HOT_TYPES, Ev, validate_event
from kafkadrill.history.read import (
    _complete_length,
    _line_no,
    _parse_lines,
    _read_bytes,
)
from kafkadrill.history.transactions import apply_transactions

__all__ = [
    "HistoryFrames",
    "assemble",
    "codes_of",
    "frames_from_events",
    "frames_from_jsonl",
    "odd_hot_table",
]

_S = pa.string()
_HDR_KEYS = ("kd-origin-site", "kd-origin-cluster", "kd-id")
# The message events' columns as both formats hold them (one definition: the columnar
# history's), with the headers the frames use.
_HOT_SCHEMA = pa.schema(
    [
        *(columnar.STORE_SCHEMA.field(n).with_nullable(True) for n in columnar.SCALAR_COLUMNS),
        ("hdr", pa.struct([(k, _S) for k in _HDR_KEYS])),
    ]
)
_FAMILY_COLUMNS: dict[Ev, tuple[str, ...]] = {
    Ev.SEND_INVOKE: ("seq", "t", "producer", "cluster", "topic", "key", "size"),
    Ev.SEND_OK: ("seq", "t", "producer", "cluster", "topic", "partition", "offset", "ts"),
    Ev.SEND_FAIL: ("seq", "t", "producer", "cluster", "topic", "error"),
    Ev.SEND_UNKNOWN: ("seq", "t", "producer", "cluster", "topic", "error"),
    Ev.RECV: (
        "seq",
        "t",
        "reader",
        "group",
        "final",
        "cluster",
        "topic",
        "partition",
        "offset",
        "ts",
        "origin_site",
        "origin_cluster",
    ),
}
#: Hot event type -> fields that must be present and non-null (from EVENTS).
_FAMILY_REQUIRED: dict[str, frozenset[str]] = {
    t: frozenset(f.name for f in EVENTS[t].fields if not (f.nullable or f.optional))
    for t in HOT_TYPES
}
# Shared across families (codes comparable between frames); other strings are per family.
_SHARED_CATS = ("cluster", "topic")
_LOCAL_CATS = ("producer", "key", "error", "reader", "group", "origin_site", "origin_cluster")
_INTS = ("seq", "size", "partition", "offset", "ts")
#: Every column some family takes, each once (the frames keep their own column order).
_COLUMN_ORDER = tuple(dict.fromkeys(n for names in _FAMILY_COLUMNS.values() for n in names))


@dataclass
class HistoryFrames:
    """Columnar view of a history.

    Hot families, one row per event in file order: ``invoke``, ``ok``, ``fail``, ``unknown``
    (send.*) and ``recv``. Columns are the event's fields except ``id``, which is replaced by
    ``id_code`` (int32, shared by all frames, -1 = null id; ``ids[code]`` / :meth:`id_text` give
    the text back, :meth:`with_ids` adds an ``id`` text column). ``recv`` flattens the kd-*
    headers to ``origin_site``, ``origin_cluster`` and ``hdr_id_code`` (code of kd-id; -1 when
    the header is missing). Strings are categoricals; ``cluster`` and ``topic`` share their
    categories across all frames. Missing ints are -1 (not expected in a well-formed history).
    ``partition``, ``size`` and the id codes are int32, ``seq`` and ``offset`` too when the
    history's values fit (:func:`_narrow_types`), ``ts`` int64, ``t`` float64.
    Every other event is kept as a dict in ``events`` (file order); :meth:`of_type` filters them.

    ``derived``: the final reader's ``recv`` rows of derived topics (``final_read.start``'s
    ``derived``: what copiers wrote, and MM2's copies of it), moved out of ``recv`` (same
    columns): the same ids on a second topic are a copy by design, not a duplicate, loss or
    ordering fact about the workload, so only the copier checker reads them.
    """

    invoke: pd.DataFrame
    ok: pd.DataFrame
    fail: pd.DataFrame
    unknown: pd.DataFrame
    recv: pd.DataFrame
    events: list[dict[str, Any]]
    ids: pa.StringArray  # id text, indexed by id_code
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # checkers' shared work
    derived: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        """Non-hot events of the given types, in file order."""
        wanted = set(types)
        return [e for e in self.events if e.get("type") in wanted]

    def id_text(self, code: int) -> str | None:
        return None if code < 0 else self.ids[int(code)].as_py()

    def with_ids(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` plus an ``id`` text column (for humans; checkers use ``id_code``)."""
        codes = df["id_code"].to_numpy()
        text = pc.take(self.ids, pa.array(np.where(codes >= 0, codes, 0))).to_numpy(
            zero_copy_only=False
        )
        return df.assign(id=np.where(codes >= 0, text, None))

    @property
    def n_events(self) -> int:
        return (
            len(self.invoke)
            + len(self.ok)
            + len(self.fail)
            + len(self.unknown)
            + len(self.recv)
            + len(self.derived)
            + len(self.events)
        )

    @property
    def end_t(self) -> float:
        """``t`` of the last event (0.0 for an empty history)."""
        hot = (self.invoke, self.ok, self.fail, self.recv, self.derived)
        ts = [float(f["t"].max()) for f in hot if len(f)]
        ts += [float(e["t"]) for e in self.events[-1:]]
        ts += [float(self.unknown["t"].max())] if len(self.unknown) else []
        return max(ts, default=0.0)

    def id_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(producer_code, seq, producer_names) per id code, parsed from ``<producer>:<seq>``.

        Ids that do not parse get producer_code -1 and seq -1.
        """
        hit = self.cache.get("id_parts")
        if hit is None:
            hit = _split_ids(self.ids)
            self.cache["id_parts"] = hit
        return hit


def _split_ids(arr: pa.StringArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(arr) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.array([], dtype=object)
    parts = pc.split_pattern(arr, ":", max_splits=1, reverse=True)
    ok = pc.fill_null(pc.equal(pc.list_value_length(parts), 2), False)
    # list_element evaluates every row: an id without ":" gets a placeholder pair first.
    parts = pc.if_else(ok, parts, pa.scalar(["", ""], type=parts.type))
    prod = pc.if_else(ok, pc.list_element(parts, 0), pa.scalar(None, pa.string()))
    seq_txt = pc.if_else(ok, pc.list_element(parts, 1), pa.scalar(None, pa.string()))
    numeric = pc.fill_null(pc.utf8_is_digit(seq_txt), False)
    seq_txt = pc.if_else(numeric, seq_txt, pa.scalar(None, pa.string()))
    seq = pc.fill_null(pc.cast(seq_txt, pa.int64()), -1).to_numpy(zero_copy_only=False)
    enc = pc.dictionary_encode(pc.if_else(numeric, prod, pa.scalar(None, pa.string())))
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, seq, np.asarray(enc.dictionary.to_pylist(), dtype=object)


def _coerce(value: Any, kind: type) -> Any:
    """Best-effort conversion of an odd hot field (the exact path must not crash on it)."""
    if value is None or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    if kind is str:
        return value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    if kind is bool:
        return bool(value)
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


_KINDS: dict[str, type] = {
    f.name: {pa.int64(): int, pa.float64(): float, pa.bool_(): bool}.get(f.type, str)
    for f in _HOT_SCHEMA
    if f.name != "hdr"
}


def _project(e: Mapping[str, Any]) -> dict[str, Any]:
    row = {k: _coerce(e.get(k), kind) for k, kind in _KINDS.items()}
    hdr = e.get("hdr")
    row["hdr"] = (
        {k: _coerce(hdr.get(k), str) for k in _HDR_KEYS} if isinstance(hdr, Mapping) else None
    )
    return row


def _from_events(events: Iterable[Mapping[str, Any]]) -> tuple[pa.Table, list[dict[str, Any]]]:
    hot: list[dict[str, Any]] = []
    rare: list[dict[str, Any]] = []
    hot_types = set(HOT_TYPES)
    for e in events:
        if e.get("type") in hot_types:
            hot.append(_project(e))
        else:
            rare.append(dict(e))
    return pa.Table.from_pylist(hot, schema=_HOT_SCHEMA), rare


class _NeedsExactPath(Exception):
    """The fast path saw something irregular; the exact path decides (and names the line)."""


def _hot_valid(table: pa.Table, first_seq: int = 0) -> bool:
    """Envelope part of :func:`validate_event`, vectorised (types are already enforced by the
    explicit schema): ``seq`` runs ``first_seq``, ``first_seq + 1``, ... and ``t``/``wall``/
    ``type`` are present. Required fields of hot events are checked per family in
    :func:`_frames_from_table`, on the columns it takes anyway. False -> the exact path finds
    and names the bad line."""
    n = table.num_rows
    seq = table["seq"]
    if seq.null_count or not np.array_equal(seq.to_numpy(), np.arange(first_seq, first_seq + n)):
        return False
    return not (table["t"].null_count or table["wall"].null_count or table["type"].null_count)


#: Bytes of the history parsed at a time by the fast path (see _from_buffer).
_SLICE_BYTES = 64 << 20


def _slices(raw: bytes | mmap.mmap, size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` byte ranges of about :data:`_SLICE_BYTES`, each ending on a line end."""
    out: list[tuple[int, int]] = []
    start = 0
    while start < size:
        stop = size
        if size - start > _SLICE_BYTES:
            cut = raw.rfind(b"\n", start, start + _SLICE_BYTES)
            stop = cut + 1 if cut >= start else size
        out.append((start, stop))
        start = stop
    return out


def _parse_slice(buf: pa.Buffer) -> pa.Table:
    return pajson.read_json(
        pa.BufferReader(buf),
        read_options=pajson.ReadOptions(block_size=16 << 20, use_threads=True),
        parse_options=pajson.ParseOptions(
            explicit_schema=_HOT_SCHEMA, unexpected_field_behavior="ignore"
        ),
    )


def _from_buffer(
    buf: pa.Buffer, raw: bytes | mmap.mmap, path: Path | str = "history", validate: bool = True
) -> tuple[pa.Table, list[dict[str, Any]]] | None:
    """Fast path: pyarrow parses every line with the hot schema (other fields ignored, so rare
    events of any shape cannot break it); the few non-hot lines are then found by their
    ``{"seq":N,`` prefix and parsed exactly with orjson. None -> use the exact slow path.
    With ``validate``, rare events are checked one by one (a bad one raises
    :class:`HistoryError` with its line) and hot ones in bulk (:func:`_hot_valid`)."""
    if buf.size == 0:
        return pa.Table.from_pylist([], schema=_HOT_SCHEMA), []
    tables: list[pa.Table] = []
    rare: list[dict[str, Any]] = []
    hot_types = pa.array(HOT_TYPES)
    hot_ok, first_seq = True, 0
    # Slices end on a line end. Each slice is parsed, its rare lines are found while its pages
    # are resident, then its pages are dropped: memory holds the parsed columns and about two
    # slices of the file, not the whole file (10M events: 2.4 GB). The next slice is parsed
    # (pyarrow, GIL released) while this thread looks up the rare lines of the current one,
    # so the cores do not wait on that single-threaded step.
    slices = _slices(raw, buf.size)
    with ThreadPoolExecutor(1, thread_name_prefix="history-parse") as pool:
        ahead = pool.submit(_parse_slice, buf.slice(0, slices[0][1]))
        for k, (start, stop) in enumerate(slices):
            try:
                table = ahead.result()
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                return None
            if k + 1 < len(slices):
                lo, hi = slices[k + 1]
                ahead = pool.submit(_parse_slice, buf.slice(lo, hi - lo))
            is_hot = pc.fill_null(pc.is_in(table["type"], value_set=hot_types), False)
            pos = start
            for seq in pc.filter(table["seq"], pc.invert(is_hot)).to_pylist():
                if seq is None:
                    return None
                at = raw.find(b'{"seq":%d,' % seq, pos, stop)
                if at < 0 or (at > 0 and raw[at - 1] != 10):  # writer order is seq first
                    return None
                end = raw.find(b"\n", at, stop)
                end = stop if end < 0 else end
                ev = orjson.loads(raw[at:end])
                if ev.get("type") in HOT_TYPES:
                    return None
                if validate and (problem := validate_event(ev)) is not None:
                    raise HistoryError(path, _line_no(raw, at), problem)
                rare.append(ev)
                pos = end
            # Checked per slice while the next one parses; as before, a bad rare event found
            # later still raises first, and a failed check sends the file to the exact path.
            hot_ok = hot_ok and (not validate or _hot_valid(table, first_seq))
            first_seq += table.num_rows
            tables.append(table)
            if isinstance(raw, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
                lo, hi = start - start % mmap.PAGESIZE, stop - stop % mmap.PAGESIZE
                if hi > lo:
                    raw.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
    if not hot_ok:
        return None
    return pa.concat_tables(tables), rare


def _encode(col: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pd.CategoricalDtype]:
    """(int64 codes with -1 for null, dtype) of a string column."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    e = pc.dictionary_encode(col)
    codes = pc.fill_null(e.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, pd.CategoricalDtype(pd.Index(e.dictionary.to_pylist(), dtype=object))


def _encode_ids(col: pa.ChunkedArray) -> tuple[np.ndarray, pa.StringArray]:
    """(int64 code per row, -1 for null; the id dictionary in first-seen order)."""
    enc = pc.dictionary_encode(col.combine_chunks())
    return pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64), (
        enc.dictionary
    )


def _column_task(
    table: pa.Table,
    name: str,
    hdr_recv: pa.StructArray,
    idx_of: Mapping[str, np.ndarray],
    sel_of: Mapping[str, pa.Array],
    validate: bool,
) -> dict[str, dict[str, Any]]:
    """``{family: {name: column}}`` for every family that has column ``name``; raises
    :class:`_NeedsExactPath` (with ``validate``) when a required value is null."""
    users = [f for f, names in _FAMILY_COLUMNS.items() if name in names]
    out: dict[str, dict[str, Any]] = {}
    if name in _SHARED_CATS:  # one category space across families
        c, dt = _encode(table[name])
        for family in users:
            idx = idx_of[family]
            if validate and name in _FAMILY_REQUIRED[family] and len(idx) and (c[idx] < 0).any():
                raise _NeedsExactPath(family)
            out[family] = {name: pd.Categorical.from_codes(c[idx], dtype=dt)}
        return out
    whole = None
    if name not in ("origin_site", "origin_cluster"):
        whole = table[name].combine_chunks()
    for family in users:
        if whole is None:  # origin_site / origin_cluster: kd-* headers of recv
            col = pc.struct_field(hdr_recv, f"kd-{name.replace('_', '-')}")
        else:
            col = pc.take(whole, sel_of[family])
            if validate and name in _FAMILY_REQUIRED[family] and col.null_count:
                raise _NeedsExactPath(family)
        if name in _LOCAL_CATS:
            c, dt = _encode(col)
            value: Any = pd.Categorical.from_codes(c, dtype=dt)
        elif name == "final":
            value = pc.fill_null(col, False).to_numpy(zero_copy_only=False)
        elif name == "t":
            value = pc.fill_null(col, np.nan).to_numpy()
        else:
            value = pc.fill_null(col, -1).to_numpy()
        out[family] = {name: value}
    return out


def _frames_from_table(
    table: pa.Table, rare: list[dict[str, Any]], validate: bool = False
) -> HistoryFrames:
    """Frames from the hot table. ``validate``: raise :class:`_NeedsExactPath` when a field a hot
    event requires (:data:`EVENTS`) is null or absent (checked on the per-family columns)."""
    # The work is column-wise and mostly in pyarrow / numpy (GIL released), so two threads
    # build the columns: the id dictionary (the costliest part: millions of distinct strings)
    # runs beside the rest. Every task's result is independent of the others' timing.
    with ThreadPoolExecutor(2, thread_name_prefix="history-frames") as pool:
        id_task = pool.submit(_encode_ids, table["id"])
        t_enc = pc.dictionary_encode(table["type"].combine_chunks())
        t_codes = pc.fill_null(t_enc.indices, -1).to_numpy(zero_copy_only=False)
        t_names = t_enc.dictionary.to_pylist()
        idx_of: dict[str, np.ndarray] = {}
        sel_of: dict[str, pa.Array] = {}
        for family in _FAMILY_COLUMNS:
            code = t_names.index(family) if family in t_names else -2
            idx_of[family] = np.flatnonzero(t_codes == code)
            sel_of[family] = pa.array(idx_of[family], type=pa.int64())
        hdr_recv = pc.take(table["hdr"].combine_chunks(), sel_of[Ev.RECV])
        # Column by column: ``take`` on a chunked column concatenates its chunks on every
        # call, so each column is made contiguous once and taken for every family using it.
        tasks = {
            name: pool.submit(_column_task, table, name, hdr_recv, idx_of, sel_of, validate)
            for name in _COLUMN_ORDER
        }
        id_code, ids = id_task.result()
        for family, idx in idx_of.items():
            required = _FAMILY_REQUIRED[family] if validate else frozenset()
            if "id" in required and len(idx) and (id_code[idx] < 0).any():
                raise _NeedsExactPath(family)
        data_of: dict[str, dict[str, Any]] = {family: {} for family in _FAMILY_COLUMNS}
        for task in tasks.values():
            for family, col in task.result().items():
                data_of[family].update(col)
    for family, idx in idx_of.items():
        data_of[family]["id_code"] = id_code[idx]
    hdr_code, ids = _hdr_id_codes(pc.struct_field(hdr_recv, "kd-id"), id_code[idx_of[Ev.RECV]], ids)
    data_of[Ev.RECV]["hdr_id_code"] = hdr_code
    return assemble(data_of, rare, ids)


def assemble(
    data_of: Mapping[str, dict[str, Any]], rare: list[dict[str, Any]], ids: pa.StringArray
) -> HistoryFrames:
    """The frames from every family's finished columns (``{family: {name: column}}``, with
    ``id_code`` and, for recv, ``hdr_id_code``): both loaders end here."""
    frames: dict[str, pd.DataFrame] = {}
    narrow = _narrow_types(data_of, len(ids))
    for family, names in _FAMILY_COLUMNS.items():
        got = data_of[family]
        for name, kind in narrow.items():
            if name in got and got[name].dtype != kind:
                got[name] = got[name].astype(kind)
        extra = ("id_code", "hdr_id_code") if family == Ev.RECV else ("id_code",)
        data = {name: got[name] for name in (*names, *extra)}
        # copy=False: the columns are fresh arrays; no copy and no consolidation into 2-D
        # blocks (which copies every column once more).
        frames[family] = pd.DataFrame(data, copy=False)
    recv, derived = _split_derived(frames[Ev.RECV], rare)
    # A transaction's aborted and unknown messages are not acknowledged (history/transactions).
    return apply_transactions(
        HistoryFrames(
            invoke=frames[Ev.SEND_INVOKE],
            ok=frames[Ev.SEND_OK],
            fail=frames[Ev.SEND_FAIL],
            unknown=frames[Ev.SEND_UNKNOWN],
            recv=recv,
            events=rare,
            ids=ids,
            derived=derived,
        )
    )


#: Columns that fit int32 whatever the history: Kafka's partition and record sizes are int32
#: on the wire, and an in-memory id dictionary stays below 2**31 codes.
_INT32_ALWAYS = ("partition", "size", "id_code", "hdr_id_code")
#: Columns kept in int32 when every value of the history fits with room to spare (a few
#: checkers add small numbers to them), else int64: seq (events in memory) and offsets
#: (a long-lived external cluster's offsets can pass 2**31).
_INT32_WHEN_SMALL = ("seq", "offset")
_INT32_ROOM = 2**31 - 2**24


def _narrow_types(data_of: Mapping[str, dict[str, Any]], n_ids: int) -> dict[str, np.dtype]:
    """The integer dtype of each narrowed column: int32 halves the frames' largest columns
    (100M events: about 1.4 GiB less), and the checkers take any integer width (they widen
    to int64 where they combine columns into keys)."""
    out = {}
    for name in (*_INT32_ALWAYS, *_INT32_WHEN_SMALL):
        cols = [np.asarray(d[name]) for d in data_of.values() if name in d]
        out[name] = np.dtype(np.int32 if fits_int32(name, cols) else np.int64)
    if n_ids >= _INT32_ROOM:
        out["id_code"] = out["hdr_id_code"] = np.dtype(np.int64)
    return out


def fits_int32(name: str, arrays: Iterable[np.ndarray]) -> bool:
    """Whether column ``name`` is int32 in the frames, given (some of) its values: always for
    :data:`_INT32_ALWAYS`, for :data:`_INT32_WHEN_SMALL` when every value lies in -1 .. below
    :data:`_INT32_ROOM`."""
    if name in _INT32_ALWAYS:
        return True
    return name in _INT32_WHEN_SMALL and all(
        not len(a) or (int(a.max()) < _INT32_ROOM and int(a.min()) >= -1) for a in arrays
    )


def _split_derived(
    recv: pd.DataFrame, rare: list[dict[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(workload rows, derived rows) of ``recv``: final rows of a (cluster, topic) that a
    ``final_read.start`` names under ``derived`` are derived. Without any: the same frame and
    an empty one, so a history without copiers loads exactly as before."""
    pairs = {
        (str(c), str(t))
        for e in rare
        if e.get("type") == Ev.FINAL_READ_START and isinstance(e.get("derived"), Mapping)
        for c, topics in e["derived"].items()
        if isinstance(topics, list)
        for t in topics
    }
    if not pairs or recv.empty:
        return recv, recv.iloc[:0]
    mask = np.zeros(len(recv), dtype=bool)
    final = recv["final"].to_numpy().astype(bool)
    cluster = recv["cluster"].astype(object).to_numpy()
    topic = recv["topic"].astype(object).to_numpy()
    for c, t in pairs:
        mask |= final & (cluster == c) & (topic == t)
    if not mask.any():
        return recv, recv.iloc[:0]
    return recv[~mask].reset_index(drop=True), recv[mask].reset_index(drop=True)


def _hdr_id_codes(
    hdr_id: pa.Array, codes: np.ndarray, ids: pa.StringArray
) -> tuple[np.ndarray, pa.StringArray]:
    """Codes of the kd-id header in the id dictionary; it almost always equals the payload id,
    so only the (rare) differing values are looked up, and appended if unknown."""
    own = pc.take(ids, pa.array(np.where(codes >= 0, codes, 0))) if len(ids) else hdr_id
    same = pc.fill_null(pc.equal(hdr_id, own), False).to_numpy(zero_copy_only=False)
    same &= codes >= 0
    out = np.where(same, codes, -1)
    present = ~pc.is_null(hdr_id).to_numpy(zero_copy_only=False)
    other = np.flatnonzero(present & ~same)
    if len(other):
        out[other], ids = codes_of(pc.take(hdr_id, pa.array(other)), ids)
    return out.astype(np.int64), ids


def codes_of(vals: pa.Array, ids: pa.StringArray) -> tuple[np.ndarray, pa.StringArray]:
    """Codes of ``vals`` in the id dictionary, the values it lacks appended to it first."""
    found = pc.index_in(vals, value_set=ids)
    missing = pc.unique(pc.filter(vals, pc.is_null(found)))
    if len(missing):
        ids = pa.concat_arrays([ids, missing.cast(pa.string())])
        found = pc.index_in(vals, value_set=ids)
    return found.to_numpy(zero_copy_only=False), ids


def odd_hot_table(events: list[dict[str, Any]]) -> pa.Table:
    """Message events a columnar history stored as JSON (values that did not fit its columns),
    projected as the exact path projects them, with the store's ``hdr`` (every kd-* key)."""
    more = pa.Table.from_pylist([_project(e) for e in events], schema=_HOT_SCHEMA)
    hdr = more["hdr"].combine_chunks()
    hdr4 = pa.StructArray.from_arrays(
        [
            hdr.field(k) if k in _HDR_KEYS else pa.nulls(len(hdr), pa.string())
            for k in columnar.HDR_KEYS
        ],
        names=list(columnar.HDR_KEYS),
        mask=hdr.is_null(),
    )
    return more.set_column(more.schema.get_field_index("hdr"), "hdr", hdr4)


def frames_from_jsonl(path: Path, validate: bool = True) -> HistoryFrames:
    """Frames of a JSON Lines history file (``.jsonl`` or ``.gz``): see :func:`load_frames`."""
    try:
        with path.open("rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        raise HistoryError(path, None, "no such history file") from None
    except OSError as e:
        raise HistoryError(path, None, f"cannot read the history: {e.strerror or e}") from None
    raw: bytes | mmap.mmap
    if gz or size == 0:
        raw = _read_bytes(path)
    else:
        with path.open("rb") as f:  # no copy: the OS pages the file in
            raw = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    buf = pa.py_buffer(raw).slice(0, _complete_length(raw))
    fast = _from_buffer(buf, raw, path, validate)
    if fast is not None:
        try:
            return _frames_from_table(*fast, validate=validate)
        except _NeedsExactPath:
            pass  # a hot event lacks a required field: the exact path names its line
    events = _parse_lines(buf.to_pybytes(), path, validate=validate)
    return _frames_from_table(*_from_events(events))


def frames_from_events(events: Iterable[Mapping[str, Any]]) -> HistoryFrames:
    """Frames of in-memory events, taken as they are (tests, in-memory histories)."""
    return _frames_from_table(*_from_events(events))
