"""Merging history segments: the runner's history and each workload worker's (issue 25).

Workers (``workload.producers.workers``) write their own columnar segment, stamped on the
runner's clock (same host: one ``CLOCK_MONOTONIC``, so the offsets are exact). At the end of the
run :func:`merge_segments` folds them into the run's ``history.arrow``: one stream in ``t``
order (ties: the runner's history first, then the segments in order, each in its own order),
``seq`` renumbered 0, 1, 2, ... The merge streams: it holds about one batch per segment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa

from kafkadrill.history import columnar
from kafkadrill.history.errors import HistoryError

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


class _Source:
    """One segment's remaining rows, a batch at a time."""

    def __init__(self, path: Path) -> None:
        self._batches: Iterator[pa.RecordBatch] = columnar.iter_batches(path)
        self.rows: pa.Table | None = None
        self.done = False

    def fill(self) -> None:
        while (self.rows is None or self.rows.num_rows == 0) and not self.done:
            batch = next(self._batches, None)
            if batch is None:
                self.done = True
            else:
                self.rows = pa.Table.from_batches([batch])

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


def merge_segments(history: Path, segments: Sequence[Path]) -> int:
    """Fold ``segments`` into ``history`` (both columnar), replace it atomically, delete the
    segments; returns the events merged. A crash before the replace leaves every file as it
    was (the next merge starts over)."""
    paths = [history, *segments]
    for p in paths:
        if not columnar.is_columnar(p):
            raise HistoryError(p, None, "only columnar histories are merged (history.arrow)")
    sources = [_Source(p) for p in paths]
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
