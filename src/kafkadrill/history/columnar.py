"""The compact, columnar history: ``history.arrow`` (issue 25).

One Arrow IPC *stream* (``pyarrow.ipc``; the format is Arrow's, readable by any Arrow
implementation) of record batches, zstd-compressed, all with :data:`STORE_SCHEMA`. One row per
event, in seq order:

- the envelope (``seq``, ``t``, ``wall``, ``type``) in its own columns for every event;
- the numerous message events (``send.*``, ``recv``: :data:`HOT_TYPES`) with their fields in
  typed columns (``hdr`` as a struct of the known ``kd-*`` headers; a null struct field is an
  absent header) and ``json`` null;
- every other event, and a message event whose values do not fit the columns (an odd type, an
  unknown header), as its complete JSON object in ``json`` (exactly the JSON Lines line).

Written as the run goes (a batch at least every :data:`BATCH_INTERVAL_S`): a crash loses at
most the last batch, and a stream cut inside a batch reads as the batches before it. The same
events give the same frames as the JSON Lines history (``kafkadrill history export`` writes the
JSON Lines), so every checker reads both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from kafkadrill.history.errors import HistoryError
from kafkadrill.history.events import EVENTS, HOT_TYPES, validate_event

__all__ = [
    "BATCH_INTERVAL_S",
    "FORMAT",
    "MAGIC",
    "STORE_SCHEMA",
    "check_envelope",
    "is_columnar",
    "iter_batches",
    "iter_event_dicts",
    "read_store",
]

FORMAT = "kafkadrill-history-columnar/1"
#: The first bytes of an Arrow IPC stream (the continuation marker of its schema message).
MAGIC = b"\xff\xff\xff\xff"
#: Upper bound on how long an appended event may sit in the columnar writer's buffer: longer
#: than JSON Lines' 100 ms, because a batch carries ~1.5 KB of metadata and compresses better
#: with more rows.
BATCH_INTERVAL_S = 1.0

_S = pa.string()
#: The kd-* headers with a column of their own; any other header sends its event to ``json``.
HDR_KEYS = ("kd-origin-site", "kd-origin-cluster", "kd-id", "kd-schema-id")
_HDR_TYPE = pa.struct([(k, _S) for k in HDR_KEYS])
STORE_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
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
        ("hdr", _HDR_TYPE),
        ("json", pa.binary()),
    ],
    metadata={"format": FORMAT},
)
#: Row layout of the writer's buffer: the schema's columns in order, ``hdr`` as its fields.
SCALAR_COLUMNS = tuple(f.name for f in STORE_SCHEMA if f.name not in ("hdr", "json"))
_N_SCALARS = len(SCALAR_COLUMNS)
ROW_WIDTH = _N_SCALARS + len(HDR_KEYS) + 2  # + hdr-is-null flag + json
_COL = {name: i for i, name in enumerate(SCALAR_COLUMNS)}
# A JSON-stored row between the envelope and ``json``: null scalars, a null hdr.
_JSON_MIDDLE = (None,) * (_N_SCALARS - 4) + (True,) + (None,) * len(HDR_KEYS)

# Per hot type: (field name, column index, kind) in EVENTS order, kind in int / str / bool /
# hdr; what a value must be to go into its column (exactly: a bool is not an int).
_KIND_OF = {"int": int, "str": str, "bool": bool, "object": dict}
HOT_FIELDS: dict[str, tuple[tuple[str, int, type, bool], ...]] = {
    t: tuple(
        (f.name, _COL.get(f.name, -1), _KIND_OF[f.kinds[0]], f.nullable or f.optional)
        for f in EVENTS[t].fields
    )
    for t in HOT_TYPES
}


_HDR_INDEX = {k: _N_SCALARS + 1 + i for i, k in enumerate(HDR_KEYS)}


def hot_row(etype: str, seq: int, t: float, wall: float, fields: Mapping[str, Any]) -> tuple | None:
    """The buffer row of a message event, or None when a value does not fit its column (the
    event is then stored as JSON)."""
    row: list[Any] = [None] * ROW_WIDTH
    row[0], row[1], row[2], row[3] = seq, t, wall, etype
    row[_N_SCALARS] = True  # hdr null unless given
    for name, col, kind, nullable in HOT_FIELDS[etype]:
        v = fields.get(name)
        if v is None:
            if not nullable:
                return None
            continue
        if type(v) is not kind:  # exact: a bool is not an int
            return None
        if kind is dict:  # hdr: only known keys with str values
            for k, hv in v.items():
                if type(hv) is not str or k not in _HDR_INDEX:
                    return None
                row[_HDR_INDEX[k]] = hv
            row[_N_SCALARS] = False
        else:
            row[col] = v
    return tuple(row)


def json_row(seq: int, t: float, wall: float, etype: str, line: bytes) -> tuple:
    """The buffer row of an event stored as its JSON object (``line`` without the newline)."""
    return (seq, t, wall, etype, *_JSON_MIDDLE, line)


def batch_of(rows: Sequence[tuple]) -> pa.RecordBatch:
    """One record batch of :data:`STORE_SCHEMA` from buffer rows."""
    cols = list(zip(*rows, strict=True))
    arrays: list[pa.Array] = [
        pa.array(cols[i], type=STORE_SCHEMA.field(name).type)
        for i, name in enumerate(SCALAR_COLUMNS)
    ]
    hdr_null = pa.array(cols[_N_SCALARS], type=pa.bool_())
    subs = [pa.array(cols[_N_SCALARS + 1 + i], type=_S) for i in range(len(HDR_KEYS))]
    arrays.append(pa.StructArray.from_arrays(subs, fields=list(_HDR_TYPE), mask=hdr_null))
    arrays.append(pa.array(cols[-1], type=pa.binary()))
    return pa.RecordBatch.from_arrays(arrays, schema=STORE_SCHEMA)


def write_options() -> pa.ipc.IpcWriteOptions:
    return pa.ipc.IpcWriteOptions(compression="zstd")


EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"  # the IPC stream's end-of-stream marker


def stream_bytes(batches: Sequence[pa.RecordBatch]) -> bytes:
    """A whole IPC stream: the schema message, ``batches``, the end-of-stream marker."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, STORE_SCHEMA, options=write_options()) as w:
        for b in batches:
            w.write_batch(b)
    data = sink.getvalue().to_pybytes()
    assert data.endswith(EOS)
    return data


#: The stream's schema message, the file's first bytes (cut from an empty stream: the IPC
#: writer may emit it lazily).
SCHEMA_MESSAGE = stream_bytes([])[: -len(EOS)]


# -- reading -------------------------------------------------------------------------------------
def is_columnar(path: Path | str) -> bool:
    """Whether ``path`` holds a columnar history (by its first bytes, not its name)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == MAGIC
    except OSError:
        return False


def iter_batches(path: Path | str) -> Iterator[pa.RecordBatch]:
    """Every complete batch of the stream, in order, one at a time; a stream cut inside a
    message (a crash) ends at the last complete batch. A file that is not a columnar history is
    a :class:`HistoryError`."""
    path = Path(path)
    try:
        source = pa.memory_map(str(path), "r")
    except FileNotFoundError:
        raise HistoryError(path, None, "no such history file") from None
    except OSError as e:
        raise HistoryError(path, None, f"cannot read the history: {e}") from None
    try:
        reader = pa.ipc.open_stream(source)
    except (pa.ArrowInvalid, OSError) as e:
        with open(path, "rb") as f:
            head = f.read(len(SCHEMA_MESSAGE))
        if SCHEMA_MESSAGE.startswith(head):  # killed inside the schema: nothing was recorded
            return
        raise HistoryError(path, None, f"not a columnar history: {e}") from None
    if reader.schema.metadata is None or reader.schema.metadata.get(b"format") != FORMAT.encode():
        raise HistoryError(path, None, f"not a {FORMAT} stream (schema metadata 'format')")
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, OSError):
            return  # crash-cut last batch: the ones before it are whole
        yield batch


def read_store(path: Path | str, *, validate: bool = True) -> pa.Table:
    """The whole stored table (:data:`STORE_SCHEMA`). With ``validate``, ``seq`` must run 0, 1,
    2, ... and the envelope be present (a :class:`HistoryError` names the first bad seq)."""
    path = Path(path)
    table = pa.Table.from_batches(list(iter_batches(path)), schema=STORE_SCHEMA)
    if validate:
        check_envelope(table, path)
    return table


def check_envelope(table: pa.Table | pa.RecordBatch, path: Path, first_seq: int = 0) -> None:
    """``seq`` runs ``first_seq``, ``first_seq + 1``, ... and ``t``, ``wall`` and a known
    ``type`` are present in every row; else a :class:`HistoryError` naming the first bad one."""
    import numpy as np

    seq = table.column("seq").to_numpy()
    bad = np.flatnonzero(seq != np.arange(first_seq, first_seq + len(seq)))
    if len(bad):
        i = int(bad[0])
        want = first_seq + i
        raise HistoryError(path, None, f"seq {int(seq[i])} where {want} was expected")
    for name in ("t", "wall", "type"):
        col = table.column(name)
        if col.null_count:
            i = int(pc.index(pc.is_null(col), True).as_py())
            raise HistoryError(path, None, f"event seq {first_seq + i}: missing '{name}'")
    types = table.column("type")
    unknown = pc.filter(types, pc.invert(pc.is_in(types, value_set=_TYPES)))
    if len(unknown):
        raise HistoryError(path, None, f"unknown event type {unknown[0].as_py()!r}")


_TYPES = pa.array(list(EVENTS))


def rare_events(
    table: pa.Table | pa.RecordBatch, path: Path | str, *, validate: bool
) -> list[dict[str, Any]]:
    """The events stored as JSON, parsed, in seq order (validated one by one)."""
    json = table.column("json")
    out: list[dict[str, Any]] = []
    for line in pc.filter(json, pc.invert(pc.is_null(json))).to_pylist():
        ev = orjson.loads(line)
        if validate and (problem := validate_event(ev)) is not None:
            raise HistoryError(path, None, f"event seq {ev.get('seq')}: {problem}")
        out.append(ev)
    return out


def _hot_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """A columnar message event as the JSON Lines writer writes it (keys in EVENTS order)."""
    type = row["type"]
    ev: dict[str, Any] = {"seq": row["seq"], "t": row["t"], "wall": row["wall"], "type": type}
    for name, _, kind, _ in HOT_FIELDS[type]:
        if kind is dict:
            hdr = row["hdr"]
            ev[name] = None if hdr is None else {k: v for k, v in hdr.items() if v is not None}
        else:
            ev[name] = row[name]
    return ev


def iter_event_dicts(path: Path | str, *, validate: bool = True) -> Iterator[dict[str, Any]]:
    """Every event as a dict, in seq order, batch by batch (memory: one batch). With
    ``validate``, as :func:`read_store` plus each JSON-stored event against :data:`EVENTS`."""
    path = Path(path)
    seq = 0
    for batch in iter_batches(path):
        if validate:
            check_envelope(batch, path, seq)
        seq += batch.num_rows
        for row in batch.to_pylist():
            if row["json"] is None:
                if row["type"] not in HOT_FIELDS:
                    raise HistoryError(path, None, f"event seq {row['seq']}: no JSON object")
                yield _hot_dict(row)
                continue
            ev = orjson.loads(row["json"])
            if validate and (problem := validate_event(ev)) is not None:
                raise HistoryError(path, None, f"event seq {row['seq']}: {problem}")
            yield ev
