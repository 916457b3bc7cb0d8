"""Writing a history: :class:`HistoryWriter` (every event) and :class:`SendLines` (the
workload's hot path for ``send.invoke`` / ``send.ok``).

:class:`HistoryWriter` is thread-safe (producer delivery callbacks append from client threads),
stamps every event with ``seq`` (increasing in file order), ``t`` (seconds on one monotonic
clock since the writer started) and ``wall`` (Unix epoch seconds, ``t0_wall + t``), and hands
bytes to the OS at least every ~100 ms and on close / interpreter exit. A SIGKILLed run loses at
most the last ~100 ms.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from kafkadrill.history.events import EVENTS, HOT_TYPES, Ev, _field_problem, validate_event

__all__ = ["FLUSH_INTERVAL_S", "HistoryWriter", "SendLines"]

#: Upper bound on how long an appended event may sit in the writer's buffer.
FLUSH_INTERVAL_S = 0.1
# The flusher wakes twice per interval so the bound holds even with scheduling jitter.
_FLUSHER_PERIOD_S = FLUSH_INTERVAL_S / 2
# Bound memory when appends outpace the flusher (e.g. a GIL-starved flusher thread).
_MAX_BUFFER_BYTES = 4 << 20
_RESERVED = frozenset({"seq", "t", "wall", "type"})
_OPTS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY

_HOT_SET = frozenset(HOT_TYPES)


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
        self,
        path: Path,
        run_id: str,
        *,
        clock: Callable[[], float] | None = None,
        origin: tuple[float, float] | None = None,
    ) -> None:
        """``origin``: ``(start, t0_wall)`` of another writer on the same clock, whose ``t``
        this one then shares (a workload worker's segment: same host, one monotonic clock)."""
        self.path = Path(path)
        self.run_id = run_id
        self._clock: Callable[[], float] = clock or time.monotonic
        self._start = self._clock()
        self.t0_wall: float = time.time()
        if origin is not None:
            self._start, self.t0_wall = origin
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
        self._buf: list[Any] = []
        self._buf_bytes = 0
        self._pending = b""  # serialised, not yet written (after a failed write)
        self._begin()
        self._closed = False
        self._stop = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_loop, name=f"history-flusher-{run_id}", daemon=True
        )
        self._flusher.start()
        self._atexit = _close_at_exit
        self._ref = weakref.ref(self)
        atexit.register(self._atexit, self._ref)

    _flush_period = _FLUSHER_PERIOD_S

    def _begin(self) -> None:
        """Write the file's header, if its format has one (JSON Lines has none)."""

    def _end(self) -> None:
        """Write the file's trailer, if its format has one (JSON Lines has none)."""

    # -- writing -----------------------------------------------------------------------------
    def now(self) -> float:
        """Current ``t``: monotonic seconds since the writer started."""
        return self._clock() - self._start

    @property
    def origin(self) -> tuple[float, float]:
        """``(start, t0_wall)``: what another writer on the same clock takes to share ``t``."""
        return self._start, self.t0_wall

    def append(self, type: str, **fields: Any) -> None:
        """Append one event; stamps ``seq``, ``t`` and ``wall``. Thread-safe.

        ValueError (a programming error, raised at once) for an event type not in
        :data:`EVENTS` or fields that do not match its definition (missing or unknown names).
        Value types are checked only for the few non-message events (as readers will read
        them); message events (send.*, recv) are too many for a per-field check here, and their
        values come typed from the Kafka client.
        """
        spec = EVENTS.get(type)
        if spec is None:
            raise ValueError(f"unknown history event type {type!r}: define it in EVENTS")
        # Hot path: exactly the required fields (never a reserved name) -> one set comparison.
        if fields.keys() != spec.required:
            if not _RESERVED.isdisjoint(fields):
                raise ValueError(
                    f"fields {sorted(_RESERVED & fields.keys())} are set by the writer"
                )
            problem = _field_problem(spec, fields)
            if problem is not None:
                raise ValueError(f"history event {problem}")
        with self._lock:
            if self._closed:
                raise RuntimeError(f"history {self.path} is closed; event '{type}' not recorded")
            t = self._clock() - self._start
            # Encoded under the lock so file order == seq order.
            item, size = self._encode(type, t, fields)
            self._seq += 1
            self._buf.append(item)
            self._buf_bytes += size
            big = self._buf_bytes >= _MAX_BUFFER_BYTES
        if big:
            self.flush()

    def _json_line(self, type: str, t: float, fields: dict[str, Any]) -> bytes:
        """The event's JSON Lines line; a non-message event is checked exactly as a reader will
        (after the writer's own type degradation), so the writer never leaves a history its
        readers reject."""
        line = orjson.dumps(
            {"seq": self._seq, "t": t, "wall": self.t0_wall + t, "type": type, **fields},
            default=_default,
            option=_OPTS,
        )
        if type not in _HOT_SET:
            problem = validate_event(orjson.loads(line))
            if problem is not None:
                raise ValueError(f"history event {problem}")
        return line

    def _encode(self, type: str, t: float, fields: dict[str, Any]) -> tuple[Any, int]:
        """(buffer item, its size in bytes) of one event; called under the lock."""
        line = self._json_line(type, t, fields)
        return line, len(line)

    def _serialize(self, items: list[Any]) -> bytes:
        """The bytes that append ``items`` (in order) to the file."""
        return b"".join(items)

    def flush(self) -> None:
        """Hand all buffered events to the OS now."""
        with self._io_lock:
            with self._lock:
                items = self._buf
                self._buf = []
                self._buf_bytes = 0
            if items:
                self._pending += self._serialize(items)
            view = memoryview(self._pending)
            try:
                while view:  # os.write may write less than asked (signals, huge chunks)
                    view = view[os.write(self._fd, view) :]
            finally:
                # Disk full etc.: the unwritten bytes stay, in order, for the next attempt.
                self._pending = bytes(view)

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._flush_period):
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
            self._end()
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

    def send_lines(self, producer: str, cluster: str, topic: str) -> SendLines:
        """Fast recorder of one producer's ``send.invoke`` / ``send.ok`` events on one cluster
        and topic (:class:`SendLines`)."""
        return SendLines(self, producer, cluster, topic)


def _json_text(value: str) -> bytes:
    """``value`` as orjson writes a JSON string, escaped for use inside a bytes %-format."""
    return orjson.dumps(value).replace(b"%", b"%%")


_dumps = orjson.dumps
# The "type" values of SendLines' lines, as orjson writes them (from the one name per event).
_INVOKE, _OK = _json_text(Ev.SEND_INVOKE.value), _json_text(Ev.SEND_OK.value)
#: Distinct keys :class:`SendLines` keeps preformatted (a workload uses a few dozen).
_KEY_CACHE = 4096


class SendLines:
    """The ``send.invoke`` and ``send.ok`` events of one producer on one cluster and topic,
    the workload's hot path: the fixed fields are formatted once, so an event costs one bytes
    %-format instead of a kwargs dict, a field check and an orjson call on a dict.

    The line is byte for byte what :meth:`HistoryWriter.append` writes for the same event (same
    keys in the same order, orjson's formatting of strings and numbers; ``id`` is the format's
    message id ``<producer>:<seq>``), stamped the same way: ``seq``, ``t`` and ``wall`` under
    the writer's lock, so file order stays seq order and ``t`` order. Numbers must be ints, as
    the Kafka client gives them; anything else (None where null is not expected) takes the
    generic :meth:`HistoryWriter.append`, which writes it as before.

    Every producer records its sends here (the workload's and the fake runtime's), so the send
    events of a run have one writer; the rare definite failures (:meth:`fail`) take the generic
    path with the same fields.
    """

    __slots__ = ("_history", "_invoke", "_keys", "_ok", "_ok_null", "cluster", "producer", "topic")

    def __init__(self, writer: HistoryWriter, producer: str, cluster: str, topic: str) -> None:
        self._history = writer
        self.producer, self.cluster, self.topic = producer, cluster, topic
        name = _json_text(producer)
        head = b'{"seq":%d,"t":%b,"wall":%b,"type":'
        # name[:-1] drops the closing quote: JSON escapes per character, so the id's text is
        # the escaped producer name, ":" and the digits of seq.
        common = (
            b',"producer":' + name + b',"id":' + name[:-1] + b':%d","cluster":'
            + _json_text(cluster) + b',"topic":' + _json_text(topic)
        )  # fmt: skip
        invoke, ok = head + _INVOKE + common, head + _OK + common
        self._invoke = invoke + b',"key":%b,"size":%d}\n'
        self._ok = ok + b',"partition":%d,"offset":%d,"ts":%d}\n'
        self._ok_null = ok + b',"partition":%d,"offset":null,"ts":%d}\n'
        self._keys: dict[str | None, bytes] = {None: b"null"}

    def _key(self, key: str) -> bytes:
        text = _dumps(key)
        if len(self._keys) < _KEY_CACHE:
            self._keys[key] = text
        return text

    def _emit(self, fmt: bytes, args: tuple[Any, ...]) -> bool:
        """Stamp and buffer one line; False (nothing written) when a value is not formattable."""
        w = self._history
        with w._lock:
            if w._closed:
                raise RuntimeError(f"history {w.path} is closed; send event not recorded")
            t = w._clock() - w._start
            try:
                line = fmt % (w._seq, _dumps(t), _dumps(w.t0_wall + t), *args)
            except TypeError:
                return False
            w._seq += 1
            w._buf.append(line)
            w._buf_bytes += len(line)
            big = w._buf_bytes >= _MAX_BUFFER_BYTES
        if big:
            w.flush()
        return True

    def invoke(self, seq: int, key: str | None, size: int) -> None:
        """``send.invoke`` of message ``<producer>:<seq>``."""
        k = self._keys.get(key)
        if k is None and type(key) is str:
            k = self._key(key)
        if k is None or type(size) is not int or not self._emit(self._invoke, (seq, k, size)):
            self._history.append(
                Ev.SEND_INVOKE,
                producer=self.producer,
                id=f"{self.producer}:{seq}",
                cluster=self.cluster,
                topic=self.topic,
                key=key,
                size=size,
            )

    def fail(self, seq: int, error: str) -> None:
        """``send.fail`` (definite: not written) of message ``<producer>:<seq>``. Rare, so it
        takes the generic :meth:`HistoryWriter.append`."""
        self._history.append(
            Ev.SEND_FAIL,
            producer=self.producer,
            id=f"{self.producer}:{seq}",
            cluster=self.cluster,
            topic=self.topic,
            error=error,
        )

    def ok(self, seq: int, partition: int, offset: int | None, ts: int) -> None:
        """``send.ok`` of message ``<producer>:<seq>``."""
        # %d would write a bool as 1 and cut a float: only plain ints take the fast path.
        done = False
        if type(partition) is int and type(ts) is int:
            if offset is None:
                done = self._emit(self._ok_null, (seq, partition, ts))
            elif type(offset) is int:
                done = self._emit(self._ok, (seq, partition, offset, ts))
        if not done:
            self._history.append(
                Ev.SEND_OK,
                producer=self.producer,
                id=f"{self.producer}:{seq}",
                cluster=self.cluster,
                topic=self.topic,
                partition=partition,
                offset=offset,
                ts=ts,
            )


#: File names of the two history formats (the run directory's ``history.*``).
JSONL_NAME, COLUMNAR_NAME = "history.jsonl", "history.arrow"
