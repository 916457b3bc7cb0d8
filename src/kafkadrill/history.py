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
from concurrent.futures import ThreadPoolExecutor
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

from kafkadrill.errors import KafkadrillError

__all__ = [
    "EVENTS",
    "FLUSH_INTERVAL_S",
    "HOT_TYPES",
    "EventSpec",
    "FieldSpec",
    "HistoryError",
    "HistoryFrames",
    "HistoryWriter",
    "SendLines",
    "event_table_markdown",
    "load_frames",
    "read_history",
    "validate_event",
]

#: Upper bound on how long an appended event may sit in the writer's buffer.
FLUSH_INTERVAL_S = 0.1
# The flusher wakes twice per interval so the bound holds even with scheduling jitter.
_FLUSHER_PERIOD_S = FLUSH_INTERVAL_S / 2
# Bound memory when appends outpace the flusher (e.g. a GIL-starved flusher thread).
_MAX_BUFFER_BYTES = 4 << 20
_RESERVED = frozenset({"seq", "t", "wall", "type"})
_OPTS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY


class HistoryError(KafkadrillError, ValueError):
    """A history that cannot be read: names the file, the line (1-based) and the problem."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path, self.line, self.problem = str(path), line, problem
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")


# -- event definitions -----------------------------------------------------------------------
# One definition per event type: the writer rejects what does not match (a programming error),
# readers reject histories that do not match (bad input), and the table in
# docs/reference/history-format.md is generated from it (a unit test fails on drift).

#: JSON kinds a field may hold. ``int`` excludes bools; ``float`` accepts ints (JSON has one
#: number type); ``any`` is free-form (details, targets).
_KIND_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list,),
    "object": (dict,),
    "any": (object,),
}


@dataclass(frozen=True)
class FieldSpec:
    """One field of an event: its JSON kinds, whether null is allowed, whether it may be left
    out (``optional``: later additions; readers treat absent as null), and its meaning."""

    name: str
    kinds: tuple[str, ...]
    doc: str = ""
    nullable: bool = False
    optional: bool = False
    values: tuple[str, ...] = ()  # closed set of values, if any

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.nullable or self.optional
        if isinstance(value, bool) and "bool" not in self.kinds and "any" not in self.kinds:
            return False
        if not any(isinstance(value, _KIND_TYPES[k]) for k in self.kinds):
            return False
        return not self.values or value in self.values

    def describe(self) -> str:
        """This field as Markdown for the format doc's table of event types."""
        kinds = " \\| ".join(self.kinds) + (" \\| null" if self.nullable else "")
        text = f"`{self.name}` ({kinds}"
        if self.values:
            text += ": " + " \\| ".join(f"`{v}`" for v in self.values)
        text += ", optional" if self.optional else ""
        text += f"; {self.doc}" if self.doc else ""
        return text + ")"


@dataclass(frozen=True)
class EventSpec:
    """An event type: its fields; ``extra`` allows more fields (of ``extra_kinds``)."""

    type: str
    fields: tuple[FieldSpec, ...]
    doc: str = ""
    extra: bool = False
    extra_doc: str = ""
    required: frozenset[str] = field(init=False, repr=False)  # the writer must pass these
    allowed: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        req = frozenset(f.name for f in self.fields if not f.optional)
        object.__setattr__(self, "required", req)
        object.__setattr__(self, "allowed", frozenset(f.name for f in self.fields))


def _f(name: str, *kinds: str, doc: str = "", **kw: Any) -> FieldSpec:
    return FieldSpec(name, kinds, doc, **kw)


_SEND = (_f("producer", "str"), _f("id", "str"), _f("cluster", "str"), _f("topic", "str"))
_READER = (_f("reader", "str"), _f("group", "str"), _f("cluster", "str"))

#: Every event type kafkadrill writes, in the order of the format doc's table.
EVENTS: dict[str, EventSpec] = {
    s.type: s
    for s in (
        EventSpec(
            "run.start",
            (
                _f("run_id", "str"),
                _f("scenario", "str"),
                _f("seed", "int"),
                _f("runtime", "str", optional=True, nullable=True, doc="runtime name"),
            ),
        ),
        EventSpec(
            "run.end",
            (
                _f("status", "str", values=("completed", "error", "interrupted")),
                _f("error", "str", nullable=True),
            ),
            doc="last event; missing when a crash cut the history",
        ),
        EventSpec(
            "wan",
            (
                _f("links", "list", doc="per link: link, latency_ms, jitter_ms, bandwidth_kbps"),
                _f("in_force", "list", doc="what the runtime applied, one line per link"),
            ),
            doc="the baseline WAN, once the topology is up (none: no event)",
        ),
        EventSpec(
            "topology",
            (
                _f("reused", "bool", doc="a topology kept from an earlier drill served this one"),
                _f("drill", "int", doc="1 for the drill that started the topology"),
                _f("started_in", "str", doc="run directory of that drill (node logs are there)"),
                _f("reset", "list", doc="evidence of the verified reset (reused only)"),
                _f("why_fresh", "str", nullable=True, doc="why a fresh topology was started"),
                _f("reset_seconds", "float", nullable=True),
            ),
            doc="how the drill got its topology, once it is up",
        ),
        EventSpec(
            "phase",
            (_f("name", "str", doc="`setup`, `steady`, `faults`, `heal`, `final_read`, ..."),),
        ),
        EventSpec("send.invoke", (*_SEND, _f("key", "str", nullable=True), _f("size", "int"))),
        EventSpec(
            "send.ok",
            (
                *_SEND,
                _f("partition", "int"),
                _f(
                    "offset",
                    "int",
                    nullable=True,
                    doc="null when the delivery report carried no offset (librdkafka can ack so)",
                ),
                _f("ts", "int", doc="record timestamp, ms, from the delivery report"),
            ),
        ),
        EventSpec("send.fail", (*_SEND, _f("error", "str")), doc="definite failure: not written"),
        EventSpec(
            "send.unknown",
            (*_SEND, _f("error", "str")),
            doc="timeout / connection lost: outcome unknown",
        ),
        EventSpec(
            "recv",
            (
                _f("reader", "str"),
                _f("group", "str", nullable=True, doc="null for the final reader"),
                _f("final", "bool"),
                _f("cluster", "str"),
                _f("topic", "str"),
                _f("partition", "int"),
                _f("offset", "int"),
                _f("ts", "int", doc="ms"),
                _f("id", "str", nullable=True, doc="null for records not written by kafkadrill"),
                _f("hdr", "object", nullable=True, doc="the `kd-*` headers, str -> str"),
            ),
        ),
        EventSpec(
            "commit",
            (*_READER, _f("offsets", "list", doc="`[topic, partition, offset]` items")),
        ),
        EventSpec(
            "redirect",
            (
                _f("client", "str"),
                _f("role", "str", values=("producer", "consumer")),
                _f("group", "str", nullable=True, doc="null for producers"),
                _f("from_cluster", "str"),
                _f("to_cluster", "str"),
            ),
        ),
        EventSpec(
            "fault.inject",
            (
                _f("fault_id", "str"),
                _f("fault", "str", doc="type name"),
                _f("target", "any", nullable=True),
                _f("params", "object"),
                _f("origin", "str", nullable=True, optional=True, doc="where it was scheduled"),
            ),
        ),
        EventSpec(
            "fault.verify",
            (_f("fault_id", "str"), _f("ok", "bool"), _f("detail", "any", nullable=True)),
        ),
        EventSpec(
            "fault.heal",
            (_f("fault_id", "str"), _f("ok", "bool"), _f("detail", "any", nullable=True)),
        ),
        EventSpec(
            "runbook.step",
            (
                _f("runbook", "str"),
                _f("step", "str"),
                _f("status", "str", values=("start", "ok", "fail")),
                _f("detail", "any", nullable=True),
            ),
        ),
        EventSpec(
            "runbook.trigger",
            (
                _f("runbook", "str"),
                _f(
                    "fault_id",
                    "str",
                    nullable=True,
                    doc="the fault that started it; null for a timed trigger",
                ),
                _f("at", "float", doc="seconds into the fault phase"),
            ),
        ),
        EventSpec("commit.fail", (*_READER, _f("error", "str")), doc="a commit the broker refused"),
        EventSpec(
            "consume.error",
            (*_READER, _f("error", "str")),
            doc="an error delivered by poll (not a record)",
        ),
        EventSpec(
            "client.error",
            (_f("client", "str"), _f("error", "str")),
            doc="a workload client thread crashed (the drill becomes an error)",
        ),
        EventSpec(
            "heal.restart",
            (_f("node", "str"),),
            doc="a node found dead at the end of the run and restarted before the final read",
        ),
        EventSpec(
            "probe",
            (_f("name", "str", doc="e.g. `replication_lag`"),),
            extra=True,
            extra_doc="plus measurement fields (`flow`, `source_end`, `target_end`, `lag`, "
            "`mm2_alive`, ...)",
        ),
        EventSpec(
            "adapter.exec",
            (
                _f("adapter", "str", values=("command", "toxiproxy", "connect", "admin")),
                _f("operation", "str", doc="e.g. `node_kill`, `link_cut`, `flow_stop`"),
                _f("target", "str", nullable=True, doc="e.g. `primary/2`, `east<->west`"),
                _f("command", "str", doc="argv as a shell would show it, or `METHOD url`"),
                _f("ok", "bool"),
                _f("exit", "int", nullable=True, doc="exit code / HTTP status; null: none"),
                _f("seconds", "float"),
                _f("output", "str", nullable=True, doc="stdout+stderr or body, truncated"),
            ),
            doc="what an external runtime's adapter ran (secrets never shown)",
        ),
        EventSpec(
            "run.approval",
            (
                _f("operator", "str", nullable=True),
                _f("approved_by", "str", nullable=True),
                _f("plan_sha256", "str", nullable=True, doc="hash of plan.txt in the run dir"),
                _f("confirmed", "bool", doc="explicit confirmation (--yes or interactive)"),
            ),
            doc="who started the drill and which plan was approved",
        ),
        EventSpec(
            "steady_state",
            (
                _f("ok", "bool"),
                _f("checks", "list", doc="`{name, ok, detail}` items"),
            ),
            doc="the check before any fault; not ok: the drill is aborted before injecting",
        ),
        EventSpec(
            "guard.trip",
            (_f("guard", "str"), _f("reason", "str")),
            doc="a safety guard aborted the drill (faults are healed, verdict never PASS)",
        ),
        EventSpec(
            "final_read.start",
            (
                _f("clusters", "list"),
                _f("authoritative", "str", doc="the cluster clients end up on"),
                _f("topics", "object", doc="cluster -> list of topics"),
                _f(
                    "authoritative_for",
                    "object",
                    optional=True,
                    doc="origin cluster -> the cluster that must hold its acked ids "
                    "(active-active: each origin itself); others use `authoritative`",
                ),
                _f(
                    "aggregates",
                    "list",
                    optional=True,
                    doc="clusters expected to hold every origin's acked ids (several origins)",
                ),
                _f(
                    "union_groups",
                    "object",
                    optional=True,
                    doc="union consumer group -> its cluster: each must have received every "
                    "acked id of every origin",
                ),
            ),
        ),
        EventSpec(
            "final_read.end",
            (
                _f("cluster", "str"),
                _f("records", "int"),
                _f("complete", "bool", doc="reached the end offsets captured at start"),
            ),
        ),
    )
}


def _field_problem(spec: EventSpec, keys: Iterable[str]) -> str | None:
    """Why ``keys`` are not the fields of ``spec`` (None when they are)."""
    keys = set(keys)
    missing = sorted(spec.required - keys)
    unknown = [] if spec.extra else sorted(keys - spec.allowed)
    if not (missing or unknown):
        return None
    parts = [f"missing field(s) {missing}"] if missing else []
    parts += [f"unknown field(s) {unknown}"] if unknown else []
    return f"{spec.type}: {'; '.join(parts)} (fields: {sorted(spec.allowed)})"


def validate_event(event: Mapping[str, Any]) -> str | None:
    """Why ``event`` (as read from a history) does not match the format; None when it does.

    Readers' rules (docs/reference/history-format.md): the four envelope keys with their types,
    a known event type, every non-null field of its definition present with its type (absent
    counts as null), unknown fields ignored.
    """
    seq, t, wall, typ = (event.get(k) for k in ("seq", "t", "wall", "type"))
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return f"'seq' must be an integer >= 0, got {seq!r}"
    for name, v in (("t", t), ("wall", wall)):
        if not isinstance(v, int | float) or isinstance(v, bool):
            return f"{name!r} must be a number, got {v!r}"
    if not isinstance(typ, str):
        return f"'type' must be a string, got {typ!r}"
    spec = EVENTS.get(typ)
    if spec is None:
        return f"unknown event type {typ!r} (known: {', '.join(EVENTS)})"
    for f in spec.fields:
        v = event.get(f.name)
        if not f.accepts(v) and not (v is None and f.nullable):
            want = " | ".join(f.kinds) + (" or null" if f.nullable else "")
            if f.values:
                want = " | ".join(map(repr, f.values))
            what = "missing" if f.name not in event else f"{v!r}"
            return f"{typ}: field {f.name!r} must be {want}, got {what}"
    return None


def event_table_markdown() -> str:
    """The "Event types" table of docs/reference/history-format.md, from :data:`EVENTS`."""
    rows = ["| type | fields |", "|------|--------|"]
    for spec in EVENTS.values():
        text = ", ".join(f.describe() for f in spec.fields)
        if spec.extra_doc:
            text += f" {spec.extra_doc}"
        if spec.doc:
            text += f" — {spec.doc}"
        rows.append(f"| `{spec.type}` | {text} |")
    return "\n".join(rows) + "\n"


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
                raise RuntimeError(f"history {self.path} is closed; event {type!r} not recorded")
            t = self._clock() - self._start
            # Serialise under the lock so file order == seq order.
            line = orjson.dumps(
                {"seq": self._seq, "t": t, "wall": self.t0_wall + t, "type": type, **fields},
                default=_default,
                option=_OPTS,
            )
            if type not in _HOT_SET:
                # Few events: check them exactly as a reader will (after the writer's own type
                # degradation), so the writer never leaves a history its readers reject.
                problem = validate_event(orjson.loads(line))
                if problem is not None:
                    raise ValueError(f"history event {problem}")
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

    def send_lines(self, producer: str, cluster: str, topic: str) -> SendLines:
        """Fast recorder of one producer's ``send.invoke`` / ``send.ok`` events on one cluster
        and topic (:class:`SendLines`)."""
        return SendLines(self, producer, cluster, topic)


def _json_text(value: str) -> bytes:
    """``value`` as orjson writes a JSON string, escaped for use inside a bytes %-format."""
    return orjson.dumps(value).replace(b"%", b"%%")


_dumps = orjson.dumps
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
    """

    __slots__ = ("_invoke", "_keys", "_ok", "_ok_null", "_w", "cluster", "producer", "topic")

    def __init__(self, writer: HistoryWriter, producer: str, cluster: str, topic: str) -> None:
        self._w = writer
        self.producer, self.cluster, self.topic = producer, cluster, topic
        name = _json_text(producer)
        head = b'{"seq":%d,"t":%b,"wall":%b,"type":'
        # name[:-1] drops the closing quote: JSON escapes per character, so the id's text is
        # the escaped producer name, ":" and the digits of seq.
        common = (
            b',"producer":' + name + b',"id":' + name[:-1] + b':%d","cluster":'
            + _json_text(cluster) + b',"topic":' + _json_text(topic)
        )  # fmt: skip
        self._invoke = head + b'"send.invoke"' + common + b',"key":%b,"size":%d}\n'
        self._ok = head + b'"send.ok"' + common + b',"partition":%d,"offset":%d,"ts":%d}\n'
        self._ok_null = head + b'"send.ok"' + common + b',"partition":%d,"offset":null,"ts":%d}\n'
        self._keys: dict[str | None, bytes] = {None: b"null"}

    def _key(self, key: str) -> bytes:
        text = _dumps(key)
        if len(self._keys) < _KEY_CACHE:
            self._keys[key] = text
        return text

    def _emit(self, fmt: bytes, args: tuple[Any, ...]) -> bool:
        """Stamp and buffer one line; False (nothing written) when a value is not formattable."""
        w = self._w
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
            self._w.append(
                "send.invoke",
                producer=self.producer,
                id=f"{self.producer}:{seq}",
                cluster=self.cluster,
                topic=self.topic,
                key=key,
                size=size,
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
            self._w.append(
                "send.ok",
                producer=self.producer,
                id=f"{self.producer}:{seq}",
                cluster=self.cluster,
                topic=self.topic,
                partition=partition,
                offset=offset,
                ts=ts,
            )


# -- reading ---------------------------------------------------------------------------------
def _read_bytes(path: Path) -> bytes:
    """Whole file as bytes; gunzips ``.gz`` (by magic), keeping what a truncated gzip yields."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise HistoryError(path, None, "no such history file") from None
    except OSError as e:
        raise HistoryError(path, None, f"cannot read the history: {e.strerror or e}") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error):
        # Truncated / crashed gzip: keep every byte that decompresses (the cut line is dropped
        # like any crash-cut last line). Corrupt compressed data is an error, not an empty run.
        d = zlib.decompressobj(wbits=31)
        try:
            return d.decompress(raw)
        except zlib.error as e:
            raise HistoryError(path, None, f"corrupt gzip data: {e}") from None


def _line_no(raw: bytes | mmap.mmap, at: int) -> int:
    """1-based line number of byte offset ``at`` (error paths only: O(at))."""
    return bytes(raw[:at]).count(b"\n") + 1


def _parse_lines(data: bytes, path: Path | str, *, validate: bool = False) -> list[dict[str, Any]]:
    """Events of a JSON Lines history, exactly as the format doc says: only an unterminated
    final line (a crash-cut write) is dropped when it does not parse; any other line that is not
    a JSON object is a :class:`HistoryError`. Blank lines are ignored. With ``validate``, every
    event must also match :data:`EVENTS` (:func:`validate_event`) and ``seq`` run 0, 1, 2, ..."""
    events: list[dict[str, Any]] = []
    lines = data.split(b"\n")
    last = len(lines) - 1  # lines[last] is b"" when data ends with a newline
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            ev = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            if i == last:  # unterminated final line: a crash can leave it half-written
                break
            raise HistoryError(path, i + 1, f"corrupt line, not JSON ({e})") from None
        if not isinstance(ev, dict):
            raise HistoryError(path, i + 1, f"not a JSON object: {line[:60]!r}")
        if validate:
            problem = validate_event(ev)
            if problem is None and ev["seq"] != len(events):
                problem = _seq_problem(len(events), ev["seq"])
            if problem is not None:
                raise HistoryError(path, i + 1, problem)
        events.append(ev)
    return events


def _seq_problem(expected: int, got: Any) -> str:
    if isinstance(got, int) and got > expected:
        return f"seq {got} where {expected} was expected: {got - expected} event(s) missing"
    return f"seq {got!r} where {expected} was expected (seq must run 0, 1, 2, ... in file order)"


def read_history(path: Path, *, validate: bool = False) -> list[dict]:
    """All events as dicts, in file order; reads ``.gz``. Drops only an unterminated final line
    that does not parse (crash-cut); anything else unreadable raises :class:`HistoryError`
    naming the file and line. ``validate``: also check every event against :data:`EVENTS`."""
    return _parse_lines(_read_bytes(Path(path)), path, validate=validate)


# -- columnar frames -------------------------------------------------------------------------
#: Event families that are numerous (one per message) and are loaded columnar by pyarrow.
HOT_TYPES = ("send.invoke", "send.ok", "send.fail", "send.unknown", "recv")
_HOT_SET = frozenset(HOT_TYPES)

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
        hdr_recv = pc.take(table["hdr"].combine_chunks(), sel_of["recv"])
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
    frames: dict[str, pd.DataFrame] = {}
    for family, names in _FAMILY_COLUMNS.items():
        idx, got = idx_of[family], data_of[family]
        data = {name: got[name] for name in names}
        data["id_code"] = id_code[idx]
        if family == "recv":
            hdr_code, ids = _hdr_id_codes(pc.struct_field(hdr_recv, "kd-id"), id_code[idx], ids)
            data["hdr_id_code"] = hdr_code
        # copy=False: the columns are fresh arrays; no copy and no consolidation into 2-D
        # blocks (which copies every column once more).
        frames[family] = pd.DataFrame(data, copy=False)
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


def load_frames(
    path_or_events: Path | str | Iterable[Mapping[str, Any]], *, validate: bool = True
) -> HistoryFrames:
    """Columnar frames of a history file (``.jsonl`` or ``.gz``) or of an iterable of events.

    Files are read as the format doc says: only an unterminated final line that does not parse
    (crash-cut) is dropped; with ``validate`` (default) every event must match :data:`EVENTS`
    and ``seq`` run 0, 1, 2, ...; anything else raises :class:`HistoryError` naming the file,
    the line and the problem. Files take a pyarrow fast path (multi-threaded parse of a memory
    map); any irregularity (type conflicts in hot fields, reordered keys, a bad line) falls back
    to exact orjson parsing, which gives the same frames or names the bad line, only slower.
    Events given as an iterable are taken as they are (tests, in-memory histories).
    """
    if isinstance(path_or_events, str | os.PathLike):
        path = Path(path_or_events)
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
