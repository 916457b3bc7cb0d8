"""Reading a history as plain dicts: :func:`read_history`, and the byte-level helpers the
columnar reader (:mod:`kafkadrill.history.frames`) shares: gzip, crash-cut last lines, line
numbers for errors, validation against :data:`~kafkadrill.history.events.EVENTS`."""

from __future__ import annotations

import gzip
import mmap
import zlib
from pathlib import Path
from typing import Any

import orjson

from kafkadrill.history.errors import HistoryError
from kafkadrill.history.events import validate_event

__all__ = ["HistoryError", "read_history"]


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
    """All events as dicts, in file order; reads ``.gz`` and the columnar ``history.arrow``.
    Drops only an unterminated final line that does not parse (crash-cut); anything else
    unreadable raises :class:`HistoryError` naming the file and line. ``validate``: also check
    every event against :data:`EVENTS`."""
    from kafkadrill.history import columnar  # pyarrow: only for a columnar history

    if columnar.is_columnar(path):
        return list(columnar.iter_event_dicts(path, validate=validate))
    return _parse_lines(_read_bytes(Path(path)), path, validate=validate)


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
