"""The history: an append-only JSON Lines record of everything a drill did and saw.

The history is the single source of truth of a run: checkers read it and nothing else. The format
is public API, documented in docs/reference/history-format.md.

Writing: :class:`HistoryWriter` is thread-safe (producer delivery callbacks append from client
threads), stamps every event with ``seq`` (increasing in file order), ``t`` (seconds on one
monotonic clock since the writer started) and ``wall`` (Unix epoch seconds, ``t0_wall + t``), and
hands bytes to the OS at least every ~100 ms and on close / interpreter exit. A SIGKILLed run
loses at most the last ~100 ms.

Reading: :func:`read_history` returns plain dicts (tolerates a truncated last line and ``.gz``);
:func:`load_frames` builds columnar pandas frames per event family, fast enough for 10M events.
"""

from __future__ import annotations

import atexit
import contextlib
import gzip
import os
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

__all__ = [
    "FLUSH_INTERVAL_S",
    "HOT_TYPES",
    "HistoryFrames",
    "HistoryWriter",
    "load_frames",
    "read_history",
]

#: Upper bound on how long an appended event may sit in the writer's buffer.
FLUSH_INTERVAL_S = 0.1
# The flusher wakes twice per interval so the bound holds even with scheduling jitter.
_FLUSHER_PERIOD_S = FLUSH_INTERVAL_S / 2
# Bound memory when appends outpace the flusher (e.g. a GIL-starved flusher thread).
_MAX_BUFFER_BYTES = 4 << 20
_RESERVED = frozenset({"seq", "t", "wall", "type"})
_OPTS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY


def _default(obj: Any) -> Any:
    # A history writer must never crash a drill over a field type: degrade to text instead.
    if isinstance(obj, bytes | bytearray | memoryview):
        return bytes(obj).decode("utf-8", "backslashreplace")
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=str)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def _close_at_exit(ref: weakref.ref[HistoryWriter]) -> None:
    writer = ref()
    if writer is not None:
        writer.close()


class HistoryWriter:
    """Append-only, thread-safe JSON Lines writer.

    The file must not exist or be empty: a history is never appended to by two runs (``seq``
    would restart and evidence would mix).
    """

    def __init__(
        self, path: Path, run_id: str, *, clock: Callable[[], float] | None = None
    ) -> None:
        self.path = Path(path)
        self.run_id = run_id
        self._clock: Callable[[], float] = clock or time.monotonic
        self._start = self._clock()
        self.t0_wall: float = time.time()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND + raw fd: every flush is one os.write, so bytes reach the OS (page cache) at
        # once and survive a SIGKILL of this process.
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if os.fstat(self._fd).st_size != 0:
            os.close(self._fd)
            raise FileExistsError(f"history {self.path} already has content; use a new path")
        self._lock = threading.Lock()  # guards seq + buffer (ordering of events)
        self._io_lock = threading.Lock()  # serialises os.write calls (ordering of chunks)
        self._seq = 0
        self._buf: list[bytes] = []
        self._buf_bytes = 0
        self._closed = False
        self._stop = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_loop, name=f"history-flusher-{run_id}", daemon=True
        )
        self._flusher.start()
        self._atexit = _close_at_exit
        self._ref = weakref.ref(self)
        atexit.register(self._atexit, self._ref)

    # -- writing -----------------------------------------------------------------------------
    def now(self) -> float:
        """Current ``t``: monotonic seconds since the writer started."""
        return self._clock() - self._start

    def append(self, type: str, **fields: Any) -> None:
        """Append one event; stamps ``seq``, ``t`` and ``wall``. Thread-safe."""
        if not _RESERVED.isdisjoint(fields):
            raise ValueError(f"fields {sorted(_RESERVED & fields.keys())} are set by the writer")
        with self._lock:
            if self._closed:
                raise RuntimeError(f"history {self.path} is closed; event {type!r} not recorded")
            t = self._clock() - self._start
            # Serialise under the lock so file order == seq order.
            line = orjson.dumps(
                {"seq": self._seq, "t": t, "wall": self.t0_wall + t, "type": type, **fields},
                default=_default,
                option=_OPTS,
            )
            self._seq += 1
            self._buf.append(line)
            self._buf_bytes += len(line)
            big = self._buf_bytes >= _MAX_BUFFER_BYTES
        if big:
            self.flush()

    def flush(self) -> None:
        """Hand all buffered events to the OS now."""
        with self._io_lock:
            with self._lock:
                if not self._buf:
                    return
                chunk = b"".join(self._buf)
                self._buf = []
                self._buf_bytes = 0
            view = memoryview(chunk)
            try:
                while view:  # os.write may write less than asked (signals, huge chunks)
                    view = view[os.write(self._fd, view) :]
            except OSError:
                # Disk full etc.: keep the unwritten bytes, in order, for the next attempt.
                with self._lock:
                    self._buf.insert(0, bytes(view))
                    self._buf_bytes += len(view)
                raise

    def _flush_loop(self) -> None:
        while not self._stop.wait(_FLUSHER_PERIOD_S):
            with contextlib.suppress(OSError):  # keeps buffering; close() raises it
                self.flush()

    def close(self) -> None:
        """Flush, fsync and close. Idempotent; also run at interpreter exit."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        if self._flusher is not threading.current_thread():
            self._flusher.join()
        try:
            self.flush()
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
            atexit.unregister(self._atexit)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- reading ---------------------------------------------------------------------------------
def _read_bytes(path: Path) -> bytes:
    """Whole file as bytes; gunzips ``.gz`` (by magic), keeping what a truncated gzip yields."""
    raw = Path(path).read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error):
        # Truncated / crashed gzip: keep every byte that decompresses.
        d = zlib.decompressobj(wbits=31)
        try:
            return d.decompress(raw)
        except zlib.error:
            return b""


def _complete_lines(data: bytes) -> bytes:
    """Drop an unterminated last line if it is a crashed writer's partial write."""
    if not data or data.endswith(b"\n"):
        return data
    cut = data.rfind(b"\n")
    try:
        orjson.loads(data[cut + 1 :])
        return data + b"\n"  # complete event, just no final newline (hand-written file)
    except orjson.JSONDecodeError:
        return data[: cut + 1] if cut >= 0 else b""


def _parse_lines(data: bytes, path: Path | str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    lines = data.split(b"\n")
    last = len(lines) - 1
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            events.append(orjson.loads(line))
        except orjson.JSONDecodeError as e:
            if i >= last - 1:  # the last line: a crash can leave it half-written
                break
            raise ValueError(f"{path}:{i + 1}: corrupt history line: {e}") from e
    return events


def read_history(path: Path) -> list[dict]:
    """All events as dicts, in file order. Tolerates a truncated last line; reads ``.gz``."""
    return _parse_lines(_read_bytes(Path(path)), path)


# -- columnar frames -------------------------------------------------------------------------
#: Event families that are numerous (one per message) and are loaded columnar by pyarrow.
HOT_TYPES = ("send.invoke", "send.ok", "send.fail", "send.unknown", "recv")

_S = pa.string()
_HDR_KEYS = ("kd-origin-site", "kd-origin-cluster", "kd-id")
_HOT_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("t", pa.float64()),
        ("wall", pa.float64()),
        ("type", _S),
        ("producer", _S),
        ("id", _S),
        ("cluster", _S),
        ("topic", _S),
        ("key", _S),
        ("size", pa.int64()),
        ("partition", pa.int64()),
        ("offset", pa.int64()),
        ("ts", pa.int64()),
        ("error", _S),
        ("reader", _S),
        ("group", _S),
        ("final", pa.bool_()),
        ("hdr", pa.struct([(k, _S) for k in _HDR_KEYS])),
    ]
)
_FAMILY_COLUMNS: dict[str, list[str]] = {
    "send.invoke": ["seq", "t", "producer", "id", "cluster", "topic", "key", "size"],
    "send.ok": ["seq", "t", "producer", "id", "cluster", "topic", "partition", "offset", "ts"],
    "send.fail": ["seq", "t", "producer", "id", "cluster", "topic", "error"],
    "send.unknown": ["seq", "t", "producer", "id", "cluster", "topic", "error"],
    "recv": [
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
        "id",
        "origin_site",
        "origin_cluster",
        "hdr_id",
    ],
}
_STRINGS = (
    "producer",
    "cluster",
    "topic",
    "key",
    "error",
    "reader",
    "group",
    "origin_site",
    "origin_cluster",
)


@dataclass
class HistoryFrames:
    """Columnar view of a history.

    Hot families (one row per event, columns as in the format, plus ``id_code``):
    ``invoke``, ``ok``, ``fail``, ``unknown`` (send.*), ``recv`` (headers flattened to
    ``origin_site``, ``origin_cluster``, ``hdr_id``). ``id_code`` is an int64 code of the message
    id shared by all frames (-1 = null id); ``ids[code]`` gives the id text back.
    Every other event is kept as a dict in ``events`` (file order); :meth:`of_type` filters them.
    """

    invoke: pd.DataFrame
    ok: pd.DataFrame
    fail: pd.DataFrame
    unknown: pd.DataFrame
    recv: pd.DataFrame
    events: list[dict[str, Any]]
    ids: np.ndarray  # object array of id strings, indexed by id_code
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # checkers' shared work

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        """Non-hot events of the given types, in file order."""
        wanted = set(types)
        return [e for e in self.events if e.get("type") in wanted]

    def id_text(self, code: int) -> str | None:
        return None if code < 0 else str(self.ids[code])

    @property
    def n_events(self) -> int:
        return (
            len(self.invoke)
            + len(self.ok)
            + len(self.fail)
            + len(self.unknown)
            + len(self.recv)
            + len(self.events)
        )

    @property
    def end_t(self) -> float:
        """``t`` of the last event (0.0 for an empty history)."""
        ts = [float(f["t"].max()) for f in (self.invoke, self.ok, self.fail, self.recv) if len(f)]
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


def _split_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(ids) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.array([], dtype=object)
    arr = pa.array(ids, type=pa.string())
    parts = pc.split_pattern(arr, ":", max_splits=1, reverse=True)
    ok = pc.equal(pc.list_value_length(parts), 2)
    prod = pc.if_else(ok, pc.list_element(parts, 0), pa.scalar(None, pa.string()))
    seq_txt = pc.if_else(ok, pc.list_element(parts, 1), pa.scalar(None, pa.string()))
    numeric = pc.fill_null(pc.utf8_is_digit(seq_txt), False)
    seq_txt = pc.if_else(numeric, seq_txt, pa.scalar(None, pa.string()))
    seq = pc.fill_null(pc.cast(seq_txt, pa.int64()), -1).to_numpy(zero_copy_only=False)
    enc = pc.dictionary_encode(pc.if_else(numeric, prod, pa.scalar(None, pa.string())))
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, seq, np.asarray(enc.dictionary.to_pylist(), dtype=object)


def _project(e: Mapping[str, Any]) -> dict[str, Any]:
    row = {k: e.get(k) for k in _HOT_SCHEMA.names if k != "hdr"}
    hdr = e.get("hdr")
    row["hdr"] = {k: hdr.get(k) for k in _HDR_KEYS} if isinstance(hdr, Mapping) else None
    for k in ("producer", "id", "cluster", "topic", "key", "error", "reader", "group"):
        if row[k] is not None and not isinstance(row[k], str):
            row[k] = str(row[k])  # tolerate odd writers; the fast path has the same schema
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


def _from_bytes(data: bytes) -> tuple[pa.Table, list[dict[str, Any]]] | None:
    """Fast path: pyarrow parses every line with the hot schema (other fields ignored); the
    few non-hot lines are located by row index and parsed with orjson. None -> use slow path."""
    if not data:
        return pa.Table.from_pylist([], schema=_HOT_SCHEMA), []
    try:
        table = pajson.read_json(
            pa.BufferReader(data),
            read_options=pajson.ReadOptions(block_size=16 << 20, use_threads=True),
            parse_options=pajson.ParseOptions(
                explicit_schema=_HOT_SCHEMA, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    table = table.combine_chunks()
    # Row i must be line i; blank lines would break that mapping, so check it.
    ends = _newline_positions(data)
    if len(ends) != table.num_rows:
        return None
    is_hot = pc.fill_null(pc.is_in(table["type"], value_set=pa.array(HOT_TYPES)), False)
    rare_rows = np.flatnonzero(~is_hot.to_numpy(zero_copy_only=False))
    rare: list[dict[str, Any]] = []
    seqs = table["seq"]
    for r in rare_rows.tolist():
        start = 0 if r == 0 else int(ends[r - 1]) + 1
        ev = orjson.loads(data[start : int(ends[r])])
        if ev.get("seq") != seqs[r].as_py():
            return None
        rare.append(ev)
    return table.filter(is_hot), rare


def _newline_positions(data: bytes) -> np.ndarray:
    arr = np.frombuffer(data, dtype=np.uint8)
    step = 64 << 20  # chunked: a full-size boolean temp would double peak memory
    parts = [np.flatnonzero(arr[i : i + step] == 10) + i for i in range(0, len(arr), step)]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _frames_from_table(table: pa.Table, rare: list[dict[str, Any]]) -> HistoryFrames:
    hdr = table["hdr"].combine_chunks()
    # One dictionary for every id-like column so codes agree across families.
    all_ids = pa.chunked_array(
        [table["id"].combine_chunks(), pc.struct_field(hdr, "kd-id")], type=pa.string()
    ).combine_chunks()
    enc = pc.dictionary_encode(all_ids)
    n = table.num_rows
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    id_code, hdr_code = codes[:n], codes[n:]
    ids = np.asarray(enc.dictionary.to_pylist(), dtype=object)
    id_cat = pd.CategoricalDtype(pd.Index(ids, dtype=object)) if len(ids) else None

    type_col = table["type"].to_numpy(zero_copy_only=False)
    cols: dict[str, Any] = {
        name: table[name].combine_chunks()
        for name in _HOT_SCHEMA.names
        if name not in ("hdr", "type", "id")
    }
    cols["origin_site"] = pc.struct_field(hdr, "kd-origin-site")
    cols["origin_cluster"] = pc.struct_field(hdr, "kd-origin-cluster")
    # Strings become categoricals with table-wide categories (fast groupbys, cheap equality).
    cats: dict[str, tuple[np.ndarray, pd.CategoricalDtype]] = {}
    for name in _STRINGS:
        e = pc.dictionary_encode(cols[name])
        c = pc.fill_null(e.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        cats[name] = (c, pd.CategoricalDtype(pd.Index(e.dictionary.to_pylist(), dtype=object)))

    frames: dict[str, pd.DataFrame] = {}
    for family, names in _FAMILY_COLUMNS.items():
        idx = np.flatnonzero(type_col == family)
        sel = pa.array(idx, type=pa.int64())
        data: dict[str, Any] = {}
        for name in names:
            if name == "id":
                data["id"] = _codes_to_cat(id_code[idx], id_cat)
            elif name == "hdr_id":
                data["hdr_id"] = _codes_to_cat(hdr_code[idx], id_cat)
            elif name in cats:
                c, dt = cats[name]
                data[name] = pd.Categorical.from_codes(c[idx], dtype=dt)
            elif name == "final":
                data[name] = pc.fill_null(pc.take(cols[name], sel), False).to_numpy(
                    zero_copy_only=False
                )
            elif name in ("t", "wall"):
                data[name] = pc.fill_null(pc.take(cols[name], sel), np.nan).to_numpy()
            else:  # ints; -1 marks a missing value (not expected in a well-formed history)
                data[name] = pc.fill_null(pc.take(cols[name], sel), -1).to_numpy()
        data["id_code"] = id_code[idx]
        if family == "recv":
            data["hdr_id_code"] = hdr_code[idx]
        frames[family] = pd.DataFrame(data)
    return HistoryFrames(
        invoke=frames["send.invoke"],
        ok=frames["send.ok"],
        fail=frames["send.fail"],
        unknown=frames["send.unknown"],
        recv=frames["recv"],
        events=rare,
        ids=ids,
    )


def _codes_to_cat(codes: np.ndarray, dtype: pd.CategoricalDtype | None) -> pd.Categorical:
    if dtype is None:
        return pd.Categorical([None] * len(codes), categories=pd.Index([], dtype=object))
    return pd.Categorical.from_codes(codes, dtype=dtype)


def load_frames(path_or_events: Path | str | Iterable[Mapping[str, Any]]) -> HistoryFrames:
    """Columnar frames of a history file (``.jsonl`` or ``.gz``) or of an iterable of events.

    A truncated last line is dropped. Files take a pyarrow fast path (~1M events/s/core); any
    irregularity (type conflicts in hot fields, blank lines) falls back to exact orjson parsing.
    """
    if isinstance(path_or_events, str | os.PathLike):
        path = Path(path_or_events)
        data = _complete_lines(_read_bytes(path))
        fast = _from_bytes(data)
        if fast is not None:
            return _frames_from_table(*fast)
        return _frames_from_table(*_from_events(_parse_lines(data, path)))
    return _frames_from_table(*_from_events(path_or_events))
