"""Writing the columnar history (``history.arrow``, :mod:`kafkadrill.history.columnar`):
:class:`ColumnarHistoryWriter` and its fast :class:`ColumnarSendLines`.

Same contract as :class:`~kafkadrill.history.writer.HistoryWriter` (thread-safe, ``seq`` / ``t``
/ ``wall`` stamped under one lock, the same checks of what is appended, written as the run goes)
with one difference: events reach the OS in batches at least every
:data:`~kafkadrill.history.columnar.BATCH_INTERVAL_S`, so a SIGKILLed run loses at most the last
second, not the last ~100 ms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from kafkadrill.history import columnar as col
from kafkadrill.history.events import Ev
from kafkadrill.history.writer import _MAX_BUFFER_BYTES, HistoryWriter

__all__ = ["ColumnarHistoryWriter", "ColumnarSendLines", "open_history", "write_events"]

#: What a buffered row costs in memory, for the writer's buffer bound (measured order).
_ROW_BYTES = 400


class ColumnarHistoryWriter(HistoryWriter):
    """Append-only, thread-safe writer of a columnar history (one record batch per flush)."""

    _flush_period = col.BATCH_INTERVAL_S / 2

    def _begin(self) -> None:
        self._pending = col.SCHEMA_MESSAGE  # the file starts with MAGIC at once
        self.flush()

    def _end(self) -> None:
        self._pending += col.EOS
        self.flush()

    def _encode(self, type: str, t: float, fields: dict[str, Any]) -> tuple[Any, int]:
        wall = self.t0_wall + t
        if type in col.HOT_FIELDS:
            row = col.hot_row(type, self._seq, t, wall, fields)
            if row is not None:
                return row, _ROW_BYTES
        line = self._json_line(type, t, fields)
        return col.json_row(self._seq, t, wall, type, line[:-1]), _ROW_BYTES + len(line)

    def _serialize(self, items: list[Any]) -> bytes:
        data = col.stream_bytes([col.batch_of(items)])
        return data[len(col.SCHEMA_MESSAGE) : -len(col.EOS)]

    def send_lines(self, producer: str, cluster: str, topic: str) -> ColumnarSendLines:  # type: ignore[override]
        return ColumnarSendLines(self, producer, cluster, topic)


_INVOKE, _OK = str(Ev.SEND_INVOKE), str(Ev.SEND_OK)
# The columns after the fixed send fields, as None: (partition, offset, ts, error, reader, group,
# final, hdr is null, the hdr fields, json).
_AFTER_INVOKE = (None,) * 7 + (True,) + (None,) * (len(col.HDR_KEYS) + 1)
_AFTER_OK = (None,) * 4 + (True,) + (None,) * (len(col.HDR_KEYS) + 1)


class ColumnarSendLines:
    """The ``send.invoke`` / ``send.ok`` events of one producer on one cluster and topic, as
    rows built directly (the workload's hot path); values of an unexpected type take the
    generic :meth:`HistoryWriter.append`, which stores them as JSON."""

    __slots__ = ("_history", "cluster", "producer", "topic")

    def __init__(
        self, writer: ColumnarHistoryWriter, producer: str, cluster: str, topic: str
    ) -> None:
        self._history = writer
        self.producer, self.cluster, self.topic = producer, cluster, topic

    def _emit(self, head: tuple[Any, ...], tail: tuple[Any, ...]) -> None:
        w = self._history
        with w._lock:
            if w._closed:
                raise RuntimeError(f"history {w.path} is closed; send event not recorded")
            t = w._clock() - w._start
            w._buf.append((w._seq, t, w.t0_wall + t, *head, *tail))
            w._seq += 1
            w._buf_bytes += _ROW_BYTES
            big = w._buf_bytes >= _MAX_BUFFER_BYTES
        if big:
            w.flush()

    def invoke(self, seq: int, key: str | None, size: int) -> None:
        p = self.producer
        if (key is None or type(key) is str) and type(size) is int:
            head = (_INVOKE, p, f"{p}:{seq}", self.cluster, self.topic, key, size)
            self._emit(head, _AFTER_INVOKE)
            return
        self._history.append(
            Ev.SEND_INVOKE, producer=p, id=f"{p}:{seq}", cluster=self.cluster,
            topic=self.topic, key=key, size=size,
        )  # fmt: skip

    def ok(self, seq: int, partition: int, offset: int | None, ts: int) -> None:
        p = self.producer
        if type(partition) is int and type(ts) is int and (offset is None or type(offset) is int):
            self._emit(
                (_OK, p, f"{p}:{seq}", self.cluster, self.topic, None, None, partition, offset, ts),
                _AFTER_OK,
            )
            return
        self._history.append(
            Ev.SEND_OK, producer=p, id=f"{p}:{seq}", cluster=self.cluster, topic=self.topic,
            partition=partition, offset=offset, ts=ts,
        )  # fmt: skip

    def fail(self, seq: int, error: str) -> None:
        p = self.producer
        self._history.append(
            Ev.SEND_FAIL, producer=p, id=f"{p}:{seq}", cluster=self.cluster, topic=self.topic,
            error=error,
        )  # fmt: skip


_ENVELOPE = ("seq", "t", "wall", "type")


def write_events(
    path: Path, events: Iterable[Mapping[str, Any]], *, batch_rows: int = 65536
) -> int:
    """Write ``events`` (complete events, their own ``seq`` / ``t`` / ``wall``) as a columnar
    history at ``path`` (which must not exist): a JSON Lines history converted, or a synthetic
    one. Returns the number of events."""
    n = 0
    options = col.write_options()
    with open(path, "xb") as f, pa.ipc.new_stream(f, col.STORE_SCHEMA, options=options) as w:
        rows: list[tuple] = []
        for e in events:
            etype = e.get("type")
            row = None
            if etype in col.HOT_FIELDS:
                fields = {k: v for k, v in e.items() if k not in _ENVELOPE}
                row = col.hot_row(etype, e["seq"], e["t"], e["wall"], fields)
                if row is not None and len(fields) != len(col.HOT_FIELDS[etype]):
                    row = None  # a field the columns do not hold: keep the JSON
            if row is None:
                line = orjson.dumps(e, default=str)
                row = col.json_row(e.get("seq"), e.get("t"), e.get("wall"), etype, line)
            rows.append(row)
            n += 1
            if len(rows) >= batch_rows:
                w.write_batch(col.batch_of(rows))
                rows = []
        if rows:
            w.write_batch(col.batch_of(rows))
    return n


def open_history(
    path: Path,
    run_id: str,
    *,
    clock: Callable[[], float] | None = None,
    origin: tuple[float, float] | None = None,
) -> HistoryWriter:
    """A writer in the format ``path`` names: ``.arrow`` the columnar history, anything else
    JSON Lines (:class:`HistoryWriter`)."""
    if Path(path).suffix == ".arrow":
        return ColumnarHistoryWriter(path, run_id, clock=clock, origin=origin)
    return HistoryWriter(path, run_id, clock=clock, origin=origin)
