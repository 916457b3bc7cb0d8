"""The history: an append-only record (JSON Lines or columnar) of everything a drill did and saw.

The history is the single source of truth of a run: checkers read it and nothing else. The format
is public API, documented in docs/reference/history-format.md.

- :mod:`.events`: one name (:class:`Ev`) and one definition (:data:`EVENTS`) per event type.
- :mod:`.writer`: :class:`HistoryWriter` and the workload's fast :class:`SendLines`.
- :mod:`.columnar`, :mod:`.columnar_writer`: the compact columnar ``history.arrow`` (Arrow IPC);
  :func:`open_history` picks the writer by the file name, the readers by the file's bytes.
- :mod:`.read`: :func:`read_history` (plain dicts; tolerates a crash-cut last line and ``.gz``).
- :mod:`.load`: :func:`load_frames` -> :class:`HistoryFrames` (:mod:`.frames` reads JSON Lines,
  :mod:`.store_frames` the columnar history batch by batch).
- :mod:`.folds`: what several checkers and the report derive from the same events (fault
  windows, runbook steps, how the run ended, the final read), defined once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kafkadrill.history.errors import HistoryError
from kafkadrill.history.events import (
    EVENTS,
    HOT_TYPES,
    Ev,
    EventSpec,
    FieldSpec,
    event_table_markdown,
    validate_event,
)
from kafkadrill.history.read import read_history

if TYPE_CHECKING:
    from kafkadrill.history.columnar_writer import open_history
    from kafkadrill.history.frames import HistoryFrames
    from kafkadrill.history.load import load_frames
    from kafkadrill.history.writer import FLUSH_INTERVAL_S, HistoryWriter, SendLines

# The event names and folds are used by light modules (run status, external-runtime evidence,
# the CLI's paths) that must not pay for pandas / pyarrow / numpy at import: the writer and the
# frames are loaded on first use of their names (PEP 562), as `from kafkadrill.history import
# HistoryWriter` does.
_LAZY = {
    "HistoryFrames": "frames",
    "load_frames": "load",
    "FLUSH_INTERVAL_S": "writer",
    "HistoryWriter": "writer",
    "SendLines": "writer",
    "open_history": "columnar_writer",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kafkadrill.history' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kafkadrill.history.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "EVENTS",
    "FLUSH_INTERVAL_S",
    "HOT_TYPES",
    "Ev",
    "EventSpec",
    "FieldSpec",
    "HistoryError",
    "HistoryFrames",
    "HistoryWriter",
    "SendLines",
    "event_table_markdown",
    "load_frames",
    "open_history",
    "read_history",
    "validate_event",
]
