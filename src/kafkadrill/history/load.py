""":func:`load_frames`: the frames of a history, whatever its format (picked by its bytes)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from kafkadrill.history import columnar
from kafkadrill.history.frames import HistoryFrames, frames_from_events, frames_from_jsonl
from kafkadrill.history.store_frames import frames_from_store

__all__ = ["load_frames"]


def load_frames(
    path_or_events: Path | str | Iterable[Mapping[str, Any]], *, validate: bool = True
) -> HistoryFrames:
    """Columnar frames of a history file (``history.arrow``, ``.jsonl`` or ``.gz``) or of an
    iterable of events.

    Files are read as the format doc says: only a crash-cut end is dropped (an unterminated
    final line that does not parse; an incomplete last batch); with ``validate`` (default) every
    event must match :data:`EVENTS` and ``seq`` run 0, 1, 2, ...; anything else raises
    :class:`HistoryError` naming the file, the line or seq and the problem. JSON Lines take a
    pyarrow fast path (multi-threaded parse of a memory map); any irregularity (type conflicts
    in hot fields, reordered keys, a bad line) falls back to exact orjson parsing, which gives
    the same frames or names the bad line, only slower. A columnar history is read batch by
    batch (:mod:`.store_frames`). Events given as an iterable are taken as they are (tests,
    in-memory histories).
    """
    if not isinstance(path_or_events, str | os.PathLike):
        return frames_from_events(path_or_events)
    path = Path(path_or_events)
    if columnar.is_columnar(path):
        frames = frames_from_store(path, validate)
    else:
        frames = frames_from_jsonl(path, validate)
    # Arrow's allocator keeps what the load freed (10M events: 2 GiB) for its own reuse; the
    # checkers allocate mostly through numpy, which cannot use it.
    pa.default_memory_pool().release_unused()
    return frames
