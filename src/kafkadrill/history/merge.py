"""Merging history segments: the runner's history and each workload worker's (issue 25).

Workers (``workload.producers.workers``) write their own columnar segment, stamped on the
runner's clock (same host: one ``CLOCK_MONOTONIC``, so the offsets are exact) or on their own
(another host): the merge then maps its ``t`` onto the runner's clock by the linear clock model
of the worker's clock exchanges (offset and drift, from the ``worker.clock`` events of the
runner's history: :func:`kafkadrill.history.clocks.correction`), and sets ``wall`` to the
runner's ``t0_wall + t``. At the end of the run
:func:`merge_segments` folds them into the run's ``history.arrow``: one stream in ``t`` order
(ties: the runner's history first, then the segments in order, each in its own order), ``seq``
renumbered 0, 1, 2, ... The merge streams: it holds about one batch per segment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from kafkadrill.history import columnar
from kafkadrill.history.clocks import correction, pooled
from kafkadrill.history.errors import HistoryError
from kafkadrill.history.events import Ev

__all__ = ["merge_segments", "segment_paths"]

#: Worker segments sit beside the run's history until the merge: ``history.w<N>.arrow``.
SEGMENT_GLOB = "history.w*.arrow"
_SEQ_PREFIX = re.compile(rb'^\{"seq":\d+,')


def segment_paths(run_dir: Path) -> list[Path]:
    """The worker segments of a run directory not merged yet, in worker order."""

    def worker(p: Path) -> int:
        digits = p.name[len("history.w") : -len(".arrow")]
        return int(digits) if digits.isdigit() else -1

    return sorted((p for p in run_dir.glob(SEGMENT_GLOB) if worker(p) >= 0), key=worker)


def _worker_of(segment: Path) -> str:
    """``w<N>`` of ``history.w<N>.arrow``."""
    return segment.name[len("history.") : -len(".arrow")]


#: ``t * scale + shift`` puts a worker's ``t`` on the runner's clock.
_Affine = tuple[float, float]
_IDENTITY: _Affine = (1.0, 0.0)


def _clock_corrections(history: Path) -> tuple[dict[str, _Affine], float | None]:
    """((scale, shift) of each worker's ``t``, the history's ``t0_wall``) from its
    ``worker.clock`` and ``run.start`` events (only those rows are decoded)."""
    exchanges: dict[str, list[dict[str, Any]]] = {}
    t0_wall: float | None = None
    for batch in columnar.iter_batches(history):
        if t0_wall is None and batch.num_rows:  # run.start: wall = t0_wall + t
            t0_wall = batch.column("wall")[0].as_py() - batch.column("t")[0].as_py()
        hit = pc.equal(batch.column("type"), Ev.WORKER_CLOCK)
        if not pc.any(hit).as_py():
            continue
        for raw in pc.filter(batch.column("json"), hit).to_pylist():
            ev = orjson.loads(raw)
            exchanges.setdefault(str(ev.get("worker")), []).append(ev)
    out = {}
    for worker, evs in exchanges.items():
        samples, shared = pooled(evs)
        out[worker] = correction(samples, shared)
    return out, t0_wall


def _retimed_json(json: pa.Array, t: np.ndarray, wall: np.ndarray) -> pa.Array:
    """The JSON-stored events' own ``t`` and ``wall`` rewritten (after a clock correction)."""
    out: list[bytes | None] = []
    for value, t_new, wall_new in zip(json.to_pylist(), t.tolist(), wall.tolist(), strict=True):
        if value is None:
            out.append(None)
        else:
            ev = orjson.loads(value)
            out.append(orjson.dumps({**ev, "t": t_new, "wall": wall_new}))
    return pa.array(out, pa.binary())


class _Source:
    """One segment's remaining rows, a batch at a time; ``clock`` ((scale, shift), with the
    history's ``t0_wall``) moves them onto the runner's clock (monotonic: their order holds)."""

    def __init__(
        self, path: Path, clock: _Affine = _IDENTITY, t0_wall: float | None = None
    ) -> None:
        self._batches: Iterator[pa.RecordBatch] = columnar.iter_batches(path)
        self.clock, self.t0_wall = clock, t0_wall
        self.rows: pa.Table | None = None
        self.done = False

    def fill(self) -> None:
        while (self.rows is None or self.rows.num_rows == 0) and not self.done:
            batch = next(self._batches, None)
            if batch is None:
                self.done = True
            else:
                self.rows = self._retimed(pa.Table.from_batches([batch]))

    def _retimed(self, rows: pa.Table) -> pa.Table:
        if self.clock == _IDENTITY or self.t0_wall is None:
            return rows
        scale, shift = self.clock
        t = rows.column("t").to_numpy() * scale + shift
        wall = self.t0_wall + t
        i_t, i_wall = rows.schema.get_field_index("t"), rows.schema.get_field_index("wall")
        rows = rows.set_column(i_t, rows.schema.field(i_t), pa.array(t))
        rows = rows.set_column(i_wall, rows.schema.field(i_wall), pa.array(wall))
        json = rows.column("json").combine_chunks()
        if json.null_count < len(json):
            i = rows.schema.get_field_index("json")
            rows = rows.set_column(i, rows.schema.field(i), _retimed_json(json, t, wall))
        return rows

    @property
    def has_rows(self) -> bool:
        return self.rows is not None and self.rows.num_rows > 0

    def last_t(self) -> float:
        assert self.rows is not None
        return float(self.rows.column("t")[-1].as_py())

    def take_until(self, bound: float) -> pa.Table:
        """Its buffered rows with ``t <= bound`` (they are in ``t`` order), removed."""
        assert self.rows is not None
        t = self.rows.column("t").to_numpy()
        n = int(np.searchsorted(t, bound, side="right"))
        head, self.rows = self.rows.slice(0, n), self.rows.slice(n)
        return head


def _renumber_json(json: pa.Array, seq: np.ndarray) -> pa.Array:
    """The JSON-stored events' own ``seq`` rewritten (the object is the JSON Lines line)."""
    out: list[bytes | None] = []
    for value, new in zip(json.to_pylist(), seq.tolist(), strict=True):
        if value is None:
            out.append(None)
        elif _SEQ_PREFIX.match(value):
            out.append(_SEQ_PREFIX.sub(b'{"seq":%d,' % new, value, count=1))
        else:  # not the writer's layout: rewrite the object (key order kept, seq first)
            ev = orjson.loads(value)
            out.append(orjson.dumps({"seq": new, **{k: v for k, v in ev.items() if k != "seq"}}))
    return pa.array(out, pa.binary())


def _ordered(parts: Sequence[pa.Table], first_seq: int) -> pa.Table:
    """``parts`` (one per source, each in ``t`` order) as one table in ``t`` order (ties by
    source rank, then each source's order), seq renumbered from ``first_seq``."""
    table = pa.concat_tables(parts)
    rank = np.concatenate([np.full(p.num_rows, i, np.int64) for i, p in enumerate(parts)])
    order = np.lexsort((np.arange(len(rank)), rank, table.column("t").to_numpy()))
    table = table.take(pa.array(order))
    seq = np.arange(first_seq, first_seq + table.num_rows, dtype=np.int64)
    table = table.set_column(0, columnar.STORE_SCHEMA.field("seq"), pa.array(seq))
    json = table.column("json").combine_chunks()
    if json.null_count < len(json):
        i = table.schema.get_field_index("json")
        table = table.set_column(i, "json", _renumber_json(json, seq))
    return table


def merge_segments(history: Path, segments: Sequence[Path], *, own_clocks: bool = True) -> int:
    """Fold ``segments`` into ``history`` (both columnar), replace it atomically, delete the
    segments; returns the events merged. A crash before the replace leaves every file as it
    was (the next merge starts over). ``own_clocks`` False: the caller knows every worker
    stamped on the runner's clock, so the pass over the history for their corrections (all 0)
    is skipped."""
    paths = [history, *segments]
    for p in paths:
        if not columnar.is_columnar(p):
            raise HistoryError(p, None, "only columnar histories are merged (history.arrow)")
    clocks, t0_wall = _clock_corrections(history) if own_clocks else ({}, None)
    sources = [_Source(history)]
    sources += [_Source(p, clocks.get(_worker_of(p), _IDENTITY), t0_wall) for p in segments]
    tmp = history.with_name(history.name + ".merging")
    written = 0
    with (
        pa.OSFile(str(tmp), "wb") as sink,
        pa.ipc.new_stream(sink, columnar.STORE_SCHEMA, options=columnar.write_options()) as out,
    ):
        while True:
            for s in sources:
                s.fill()
            live = [s for s in sources if s.has_rows]
            if not live:
                break
            # No row still unread in a source that is not done is earlier than its buffer's
            # last t: everything up to the smallest such t is final.
            bounds = [s.last_t() for s in live if not s.done]
            bound = min(bounds) if bounds else float("inf")
            parts = [s.take_until(bound) for s in live]
            table = _ordered([p for p in parts if p.num_rows], written)
            for batch in table.to_batches(max_chunksize=1 << 16):
                out.write_batch(batch)
            written += table.num_rows
    os.replace(tmp, history)
    for p in segments:
        p.unlink()
    return written
