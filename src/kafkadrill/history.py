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
import mmap
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
_FAMILY_COLUMNS: dict[str, tuple[str, ...]] = {
    "send.invoke": ("seq", "t", "producer", "cluster", "topic", "key", "size"),
    "send.ok": ("seq", "t", "producer", "cluster", "topic", "partition", "offset", "ts"),
    "send.fail": ("seq", "t", "producer", "cluster", "topic", "error"),
    "send.unknown": ("seq", "t", "producer", "cluster", "topic", "error"),
    "recv": (
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
# Shared across families (codes comparable between frames); other strings are per family.
_SHARED_CATS = ("cluster", "topic")
_LOCAL_CATS = ("producer", "key", "error", "reader", "group", "origin_site", "origin_cluster")
_INTS = ("seq", "size", "partition", "offset", "ts")


@dataclass
class HistoryFrames:
    """Columnar view of a history.

    Hot families, one row per event in file order: ``invoke``, ``ok``, ``fail``, ``unknown``
    (send.*) and ``recv``. Columns are the event's fields except ``id``, which is replaced by
    ``id_code`` (int64, shared by all frames, -1 = null id; ``ids[code]`` / :meth:`id_text` give
    the text back, :meth:`with_ids` adds an ``id`` text column). ``recv`` flattens the kd-*
    headers to ``origin_site``, ``origin_cluster`` and ``hdr_id_code`` (code of kd-id; -1 when
    the header is missing). Strings are categoricals; ``cluster`` and ``topic`` share their
    categories across all frames. Missing ints are -1 (not expected in a well-formed history).
    Every other event is kept as a dict in ``events`` (file order); :meth:`of_type` filters them.
    """

    invoke: pd.DataFrame
    ok: pd.DataFrame
    fail: pd.DataFrame
    unknown: pd.DataFrame
    recv: pd.DataFrame
    events: list[dict[str, Any]]
    ids: pa.StringArray  # id text, indexed by id_code
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # checkers' shared work

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


def _split_ids(arr: pa.StringArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(arr) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.array([], dtype=object)
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


def _from_buffer(
    buf: pa.Buffer, raw: bytes | mmap.mmap
) -> tuple[pa.Table, list[dict[str, Any]]] | None:
    """Fast path: pyarrow parses every line with the hot schema (other fields ignored, so rare
    events of any shape cannot break it); the few non-hot lines are then found by their
    ``{"seq":N,`` prefix and parsed exactly with orjson. None -> use the exact slow path."""
    if buf.size == 0:
        return pa.Table.from_pylist([], schema=_HOT_SCHEMA), []
    try:
        table = pajson.read_json(
            pa.BufferReader(buf),
            read_options=pajson.ReadOptions(block_size=16 << 20, use_threads=True),
            parse_options=pajson.ParseOptions(
                explicit_schema=_HOT_SCHEMA, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    is_hot = pc.fill_null(pc.is_in(table["type"], value_set=pa.array(HOT_TYPES)), False)
    rare_seqs = pc.filter(table["seq"], pc.invert(is_hot)).to_pylist()
    rare: list[dict[str, Any]] = []
    pos = 0
    for seq in rare_seqs:
        if seq is None:
            return None
        at = raw.find(b'{"seq":%d,' % seq, pos)
        if at < 0 or (at > 0 and raw[at - 1] != 10):  # writer order is seq first
            return None
        end = raw.find(b"\n", at)
        end = buf.size if end < 0 or end > buf.size else end
        ev = orjson.loads(raw[at:end])
        if ev.get("type") in HOT_TYPES:
            return None
        rare.append(ev)
        pos = end
    return table, rare


def _encode(col: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pd.CategoricalDtype]:
    """(int64 codes with -1 for null, dtype) of a string column."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    e = pc.dictionary_encode(col)
    codes = pc.fill_null(e.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, pd.CategoricalDtype(pd.Index(e.dictionary.to_pylist(), dtype=object))


def _frames_from_table(table: pa.Table, rare: list[dict[str, Any]]) -> HistoryFrames:
    t_enc = pc.dictionary_encode(table["type"].combine_chunks())
    t_codes = pc.fill_null(t_enc.indices, -1).to_numpy(zero_copy_only=False)
    t_names = t_enc.dictionary.to_pylist()
    # One id dictionary for all families, so codes agree across frames.
    id_enc = pc.dictionary_encode(table["id"].combine_chunks())
    id_code = pc.fill_null(id_enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    ids: pa.StringArray = id_enc.dictionary
    shared = {name: _encode(table[name]) for name in _SHARED_CATS}

    frames: dict[str, pd.DataFrame] = {}
    for family, names in _FAMILY_COLUMNS.items():
        code = t_names.index(family) if family in t_names else -2
        idx = np.flatnonzero(t_codes == code)
        sel = pa.array(idx, type=pa.int64())
        data: dict[str, Any] = {}
        hdr = pc.take(table["hdr"], sel).combine_chunks() if family == "recv" else None
        for name in names:
            if name in shared:
                c, dt = shared[name]
                data[name] = pd.Categorical.from_codes(c[idx], dtype=dt)
                continue
            if name in ("origin_site", "origin_cluster"):
                assert hdr is not None
                col = pc.struct_field(hdr, f"kd-{name.replace('_', '-')}")
            else:
                col = pc.take(table[name], sel)
            if name in _LOCAL_CATS:
                c, dt = _encode(col)
                data[name] = pd.Categorical.from_codes(c, dtype=dt)
            elif name == "final":
                data[name] = pc.fill_null(col, False).to_numpy(zero_copy_only=False)
            elif name == "t":
                data[name] = pc.fill_null(col, np.nan).to_numpy()
            else:
                data[name] = pc.fill_null(col, -1).to_numpy()
        data["id_code"] = id_code[idx]
        if hdr is not None:
            hdr_code, ids = _hdr_id_codes(pc.struct_field(hdr, "kd-id"), id_code[idx], ids)
            data["hdr_id_code"] = hdr_code
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
        vals = pc.take(hdr_id, pa.array(other))
        found = pc.index_in(vals, value_set=ids)
        missing = pc.unique(pc.filter(vals, pc.is_null(found)))
        if len(missing):
            ids = pa.concat_arrays([ids, missing.cast(pa.string())])
            found = pc.index_in(vals, value_set=ids)
        out[other] = found.to_numpy(zero_copy_only=False)
    return out.astype(np.int64), ids


def load_frames(path_or_events: Path | str | Iterable[Mapping[str, Any]]) -> HistoryFrames:
    """Columnar frames of a history file (``.jsonl`` or ``.gz``) or of an iterable of events.

    A truncated last line is dropped. Files take a pyarrow fast path (multi-threaded parse of a
    memory map); any irregularity (type conflicts in hot fields, reordered keys) falls back to
    exact orjson parsing, which gives the same frames, only slower.
    """
    if isinstance(path_or_events, str | os.PathLike):
        path = Path(path_or_events)
        with path.open("rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        raw: bytes | mmap.mmap
        if gz or path.stat().st_size == 0:
            raw = _read_bytes(path)
        else:
            with path.open("rb") as f:  # no copy: the OS pages the file in
                raw = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        buf = pa.py_buffer(raw).slice(0, _complete_length(raw))
        fast = _from_buffer(buf, raw)
        if fast is not None:
            return _frames_from_table(*fast)
        return _frames_from_table(*_from_events(_parse_lines(buf.to_pybytes(), path)))
    return _frames_from_table(*_from_events(path_or_events))


def _complete_length(raw: bytes | mmap.mmap) -> int:
    """Length of ``raw`` without an unterminated, unparsable last line (a crashed write)."""
    n = len(raw)
    if n == 0 or raw[n - 1 : n] == b"\n":
        return n
    cut = raw.rfind(b"\n")
    try:
        orjson.loads(raw[cut + 1 : n])
        return n  # a complete event without its newline (hand-written file): keep it
    except orjson.JSONDecodeError:
        return cut + 1
