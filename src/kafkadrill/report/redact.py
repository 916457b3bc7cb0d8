"""Keep secrets out of everything a run leaves behind (the run-directory side of the policy).

What counts as a secret is defined once, in :mod:`kafkadrill.secrets` (keys, PEM blocks, URL
credentials, JAAS settings, MM2 prefixes); this module re-exports that API for report code and
adds :func:`scrub_run_dir`, which rewrites every file of a run directory so that no secret
value, secret-keyed value or secret-shaped value remains: scenario.yaml, report.json/md/html,
environment.json, logs/**, config/**/*.properties (server.properties, mm2.properties) and the
history (gzipped, or columnar: its text columns).

``scrub_run_dir`` runs before the manifest is written, so the manifest hashes redacted files.
"""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from kafkadrill.history.columnar import STORE_SCHEMA, is_columnar, iter_batches, write_options
from kafkadrill.report.store import MANIFEST_FILE
from kafkadrill.secrets import (
    MIN_SECRET_LEN,
    REDACTED,
    SECRET_KEY_RE,
    find_secrets,
    find_secrets_in_text,
    is_secret_key,
    redact,
    redact_shapes,
    redact_text,
    replace_known,
    variants,
)

__all__ = [
    "MIN_SECRET_LEN",
    "REDACTED",
    "SECRET_KEY_RE",
    "ScrubResult",
    "declared_secrets",
    "find_secrets",
    "find_secrets_in_text",
    "is_secret_key",
    "redact",
    "redact_text",
    "scrub_run_dir",
]

_BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf", ".jar", ".zip"}


@dataclass
class ScrubResult:
    """Files :func:`scrub_run_dir` rewrote, and binary files that still contain a secret."""

    rewritten: list[Path] = field(default_factory=list)
    binary_hits: list[Path] = field(default_factory=list)


def _is_text(data: bytes) -> bool:
    return b"\x00" not in data[:8192]


def _scrub_bytes(name: str, data: bytes, secrets: list[str]) -> bytes:
    text = data.decode("utf-8", "surrogateescape")  # keeps undecodable log bytes intact
    if name.endswith((".jsonl", ".jsonl.gz", ".html", ".htm", ".md")):
        # Histories are huge and not key=value text; reports are rendered from redacted data,
        # and line rules could cut through their markup: known values and shapes only.
        text = redact_shapes(replace_known(text, secrets))
    elif name.endswith(".json"):
        # Line-based key redaction would break JSON syntax; redact the parsed object instead.
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            obj = None
        if obj is not None:
            red = redact(obj)
            if red != obj:
                text = orjson.dumps(
                    red, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
                ).decode()
        text = redact_shapes(replace_known(text, secrets))
    else:
        text = redact_text(text, secrets)
    return text.encode("utf-8", "surrogateescape")


_DECLARING_SUFFIXES = (".yaml", ".yml", ".properties", ".json", ".conf", ".cfg", ".env")


def declared_secrets(run_dir: Path | str) -> set[str]:
    """Secret values declared in a run directory's own config files (scenario.yaml,
    environment.json, config/**/*.properties...), to hunt for everywhere else (logs)."""
    found: set[str] = set()
    for path in Path(run_dir).rglob("*"):
        if path.suffix not in _DECLARING_SUFFIXES or not path.is_file():
            continue
        if path.stat().st_size > 4 << 20:
            continue  # config files are small; a huge one is data, scrubbed by the rules
        text = path.read_text("utf-8", errors="replace")
        found |= find_secrets_in_text(text)
        if path.suffix == ".json":
            # A malformed file is still scrubbed by the text rules.
            with contextlib.suppress(orjson.JSONDecodeError):
                found |= find_secrets(orjson.loads(text))
    return found


#: Columns of a columnar history a secret could reach: the event texts kafkadrill does not make
#: itself. ``id`` and ``kd-id`` are ``<producer>:<seq>`` (a scenario name and a number): not
#: scanned, as their millions of distinct values would make the scrub as slow as the run.
_SCRUBBED_COLUMNS = ("producer", "cluster", "topic", "key", "error", "reader", "group", "json")
_SCRUBBED_HEADERS = ("kd-origin-site", "kd-origin-cluster", "kd-schema-id")


def _scrub_column(
    arr: pa.Array, secrets: list[str], memo: dict[Any, Any] | None = None
) -> pa.Array | None:
    """``arr`` with the history rule applied to each distinct value; None if none changed.
    ``memo`` keeps each value's result across the batches of one history."""
    binary = pa.types.is_binary(arr.type)
    enc = pc.dictionary_encode(arr)
    values = enc.dictionary.to_pylist()
    memo = {} if memo is None else memo
    new = []
    for v in values:
        red = memo.get(v)
        if red is None:
            text = v.decode("utf-8", "surrogateescape") if binary else v
            red = redact_shapes(replace_known(text, secrets))
            red = memo[v] = red.encode("utf-8", "surrogateescape") if binary else red
        new.append(red)
    if new == values:
        return None
    return pc.take(pa.array(new, type=arr.type), enc.indices)


def _scrub_batch(
    batch: pa.RecordBatch, secrets: list[str], memo: dict[str, dict[Any, Any]]
) -> pa.RecordBatch | None:
    """``batch`` with its text columns scrubbed; None if no value changed."""
    columns = {n: batch.column(n) for n in batch.schema.names}
    changed = False
    for name in _SCRUBBED_COLUMNS:
        new = _scrub_column(columns[name], secrets, memo.setdefault(name, {}))
        if new is not None:
            columns[name], changed = new, True
    hdr = columns["hdr"]
    fields = {f.name: hdr.field(f.name) for f in hdr.type}
    for name in _SCRUBBED_HEADERS:
        new = _scrub_column(fields[name], secrets, memo.setdefault(name, {}))
        if new is not None:
            fields[name], changed = new, True
    if not changed:
        return None
    columns["hdr"] = pa.StructArray.from_arrays(
        list(fields.values()), names=list(fields), mask=hdr.is_null()
    )
    return pa.RecordBatch.from_arrays(list(columns.values()), schema=batch.schema)


def _scrub_columnar(path: Path, secrets: list[str]) -> bool:
    """Apply the history rule (known values and shapes) to a columnar history's text columns,
    batch by batch (memory: one batch; the whole table of an hour-long drill is tens of GB);
    rewrite it (atomically) only if a value changed. Returns whether it did."""
    memo: dict[str, dict[Any, Any]] = {}
    if all(_scrub_batch(b, secrets, memo) is None for b in iter_batches(path)):
        return False
    tmp = path.with_name(path.name + ".tmp")
    with (
        pa.OSFile(str(tmp), "wb") as sink,
        pa.ipc.new_stream(sink, STORE_SCHEMA, options=write_options()) as out,
    ):
        for batch in iter_batches(path):
            out.write_batch(_scrub_batch(batch, secrets, memo) or batch)
    tmp.replace(path)
    return True


def scrub_run_dir(run_dir: Path | str, secrets: Iterable[str]) -> ScrubResult:
    """Rewrite every text file under ``run_dir`` (gzipped and columnar histories included) so
    no secret value remains: ``secrets``, those declared in the directory's own config files (see
    :func:`declared_secrets`: .properties written by the topology hold the raw values), and
    every secret-keyed or secret-shaped value. Binary files (PNGs) are checked, not edited:
    a hit is returned in ``binary_hits`` for the caller to fail loudly on."""
    run_dir = Path(run_dir)
    known = sorted({s for s in secrets if s} | declared_secrets(run_dir), key=len, reverse=True)
    needles = [v.encode() for s in known for v in variants(s)]
    result = ScrubResult()
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        if path.name == MANIFEST_FILE:
            continue
        if path.suffix == ".arrow" and is_columnar(path):
            if _scrub_columnar(path, known):
                result.rewritten.append(path)
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            try:
                plain = gzip.decompress(data)
            except (OSError, EOFError):
                plain = None
            if plain is not None:
                new = _scrub_bytes(path.name, plain, known)
                if new != plain:
                    path.write_bytes(gzip.compress(new, mtime=0))
                    result.rewritten.append(path)
                continue
        if path.suffix.lower() in _BINARY_SUFFIXES or not _is_text(data):
            if any(n in data for n in needles):
                result.binary_hits.append(path)
            continue
        new = _scrub_bytes(path.name, data, known)
        if new != data:
            path.write_bytes(new)
            result.rewritten.append(path)
    return result
