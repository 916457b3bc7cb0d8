"""Run directory layout: where a drill's evidence lives and how it is named.

A run directory is ``reports/<scenario>/<UTC stamp>/`` (stamp like ``20261122T031500Z``) and
holds everything one run leaves behind (see docs/reference/report-layout.md)::

    scenario.yaml        the resolved scenario (secrets redacted)
    history.jsonl[.gz]   the history (the only source of truth)
    history.arrow        ... or the same, columnar (history_format: columnar)
    report.json          machine-readable verdict and figures (stable keys)
    report.md            the retrospective, Markdown (links to plots/)
    report.html          the same, one self-contained file (plots embedded)
    environment.json     versions and configs
    journal.jsonl        external runtime: the undo journal (not sealed: a heal appends)
    heal.json            external runtime: the heal after a dead runner (not sealed)
    logs/                every process's log
    plots/               PNGs referenced by report.md
    MANIFEST.sha256      sha256 of every other file, ``sha256sum -c`` compatible
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "ENVIRONMENT_FILE",
    "HEAL_FILE",
    "HISTORY_FILE",
    "HISTORY_GZ_FILE",
    "JOURNAL_FILE",
    "LOGS_DIR",
    "MANIFEST_FILE",
    "PLOTS_DIR",
    "REPORT_HTML",
    "REPORT_JSON",
    "REPORT_MD",
    "SCENARIO_FILE",
    "STAMP_FORMAT",
    "RunPaths",
    "compress_history",
    "history_path",
    "iter_run_dirs",
    "new_run_dir",
    "read_json",
    "utc_stamp",
    "write_json",
    "write_text",
]

SCENARIO_FILE = "scenario.yaml"
HISTORY_FILE = "history.jsonl"
HISTORY_GZ_FILE = "history.jsonl.gz"
HISTORY_COLUMNAR_FILE = "history.arrow"  # compact (scenario history_format: columnar)
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
ENVIRONMENT_FILE = "environment.json"
LOGS_DIR = "logs"
PLOTS_DIR = "plots"
MANIFEST_FILE = "MANIFEST.sha256"
# Written by the external runtime (runtimes/external/journal.py, same names; the report may not
# import a runtime): the undo journal, and the record of a heal after the runner died.
JOURNAL_FILE = "journal.jsonl"
HEAL_FILE = "heal.json"

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# A stamp, optionally with the "-N" suffix new_run_dir adds when a second run starts in the
# same second. index.py uses this to tell run directories from anything else under reports/.
STAMP_RE = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

#: Histories larger than this are gzipped by :func:`compress_history` (text compresses ~10x).
GZIP_THRESHOLD_BYTES = 64 << 20


@dataclass(frozen=True)
class RunPaths:
    """The standard file names of one run directory, as paths."""

    root: Path

    @property
    def scenario(self) -> Path:
        return self.root / SCENARIO_FILE

    @property
    def history(self) -> Path:
        """The history as stored (``history.arrow``, ``history.jsonl`` or ``.jsonl.gz``)."""
        return history_path(self.root)

    @property
    def report_json(self) -> Path:
        return self.root / REPORT_JSON

    @property
    def report_md(self) -> Path:
        return self.root / REPORT_MD

    @property
    def report_html(self) -> Path:
        return self.root / REPORT_HTML

    @property
    def environment(self) -> Path:
        return self.root / ENVIRONMENT_FILE

    @property
    def logs(self) -> Path:
        return self.root / LOGS_DIR

    @property
    def plots(self) -> Path:
        return self.root / PLOTS_DIR

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST_FILE


def utc_stamp(when: datetime | None = None) -> str:
    """``20261122T031500Z`` for ``when`` (default now); naive datetimes are taken as UTC."""
    when = when or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime(STAMP_FORMAT)


def safe_name(scenario: str) -> str:
    """A scenario name usable as one path component (no separators, no leading dot)."""
    name = _UNSAFE.sub("-", str(scenario)).strip(".-")
    return name or "unnamed"


def new_run_dir(reports_dir: Path | str, scenario: str, *, now: datetime | None = None) -> Path:
    """Create and return ``<reports_dir>/<scenario>/<stamp>/`` with ``logs/`` and ``plots/``.

    Unique even when runs start in the same second (parallel CI jobs, a matrix): ``mkdir`` is
    atomic, so the loser of a race gets ``<stamp>-2``, ``<stamp>-3``... instead of sharing a
    directory and mixing evidence.
    """
    parent = Path(reports_dir) / safe_name(scenario)
    parent.mkdir(parents=True, exist_ok=True)
    stamp = utc_stamp(now)
    n = 1
    while True:
        run_dir = parent / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            run_dir.mkdir()
        except FileExistsError:
            n += 1
            continue
        (run_dir / LOGS_DIR).mkdir()
        (run_dir / PLOTS_DIR).mkdir()
        return run_dir


def iter_run_dirs(reports_dir: Path | str) -> Iterator[Path]:
    """Every run directory under ``reports_dir`` (``<scenario>/<stamp>``), in path order."""
    root = Path(reports_dir)
    if not root.is_dir():
        return
    for scen in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        yield from sorted(p for p in scen.iterdir() if p.is_dir() and STAMP_RE.match(p.name))


def history_path(run_dir: Path | str) -> Path:
    """The stored history: ``history.arrow`` (columnar) if present, else ``history.jsonl``
    if present, else ``history.jsonl.gz``."""
    run_dir = Path(run_dir)
    columnar = run_dir / HISTORY_COLUMNAR_FILE
    if columnar.exists():
        return columnar
    plain = run_dir / HISTORY_FILE
    gz = run_dir / HISTORY_GZ_FILE
    return gz if gz.exists() and not plain.exists() else plain


def _json_default(obj: Any) -> Any:
    # Reports hold plain data; degrade odd types to something an auditor can still read.
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=str)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "backslashreplace")
    if hasattr(obj, "item"):  # numpy / pandas scalars
        return obj.item()
    return str(obj)


def _atomic_write(path: Path, data: bytes) -> None:
    # Write-then-rename: a crash never leaves a half-written report that looks complete.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path | str, obj: Any) -> Path:
    """Write ``obj`` as indented UTF-8 JSON (key order kept, NaN -> null), atomically."""
    path = Path(path)
    data = orjson.dumps(
        obj,
        default=_json_default,
        option=orjson.OPT_INDENT_2
        | orjson.OPT_SERIALIZE_NUMPY
        | orjson.OPT_NON_STR_KEYS
        | orjson.OPT_APPEND_NEWLINE,
    )
    _atomic_write(path, data)
    return path


def write_text(path: Path | str, text: str) -> Path:
    """Write UTF-8 text atomically."""
    path = Path(path)
    _atomic_write(path, text.encode("utf-8"))
    return path


def read_json(path: Path | str) -> Any:
    return orjson.loads(Path(path).read_bytes())


def compress_history(run_dir: Path | str, *, threshold_bytes: int = GZIP_THRESHOLD_BYTES) -> Path:
    """Gzip ``history.jsonl`` to ``history.jsonl.gz`` when larger than ``threshold_bytes``.

    Returns the stored history path. Call only after the history writer is closed and before
    the manifest is written. The plain file is removed only after the gzip is complete.
    """
    run_dir = Path(run_dir)
    plain = run_dir / HISTORY_FILE
    if not plain.exists() or plain.stat().st_size <= threshold_bytes:
        return history_path(run_dir)
    gz = run_dir / HISTORY_GZ_FILE
    tmp = gz.with_name(gz.name + ".tmp")
    # mtime=0: the same history always gives the same bytes (stable manifests).
    with (
        plain.open("rb") as src,
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename=HISTORY_FILE, mode="wb", fileobj=raw, mtime=0) as dst,
    ):
        shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(tmp, gz)
    plain.unlink()
    return gz
