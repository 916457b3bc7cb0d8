"""MANIFEST.sha256: tamper evidence for a run directory.

One line per file, ``<sha256 hex>  <relative posix path>``, sorted by path: the format of GNU
``sha256sum`` so an auditor can check a run with ``cd RUN && sha256sum -c MANIFEST.sha256``
without installing kafkadrill. Every file is covered (logs and plots included) except the
manifest itself and ``recheck-*/`` directories at the top: a re-check (``kafkadrill check``) is
written beside the original with its own manifest and never alters the original's files, so the
original's manifest keeps telling whether the original evidence was altered.

States of a run directory (:attr:`VerifyResult.state`, `kafkadrill verify` exit code):
``intact`` (0), ``altered`` (1: a file changed, went missing or appeared), ``unverifiable``
(3: no manifest, or one that cannot be read).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from kafkadrill.report.store import HEAL_FILE, JOURNAL_FILE, MANIFEST_FILE, write_text

__all__ = [
    "ALTERED",
    "INTACT",
    "MANIFEST_FILE",
    "RECHECK_PREFIX",
    "UNVERIFIABLE",
    "VerifyResult",
    "evidence_record",
    "hash_files",
    "verify",
    "write_manifest",
]

_CHUNK = 1 << 20
INTACT, ALTERED, UNVERIFIABLE = "intact", "altered", "unverifiable"
#: Top-level directories holding re-checks of a run; each is sealed by its own manifest.
RECHECK_PREFIX = "recheck-"
#: Top-level files that may change after the seal: the external runtime's undo journal grows
#: when `kafkadrill heal` undoes what a dead runner left, and heal.json records that heal.
UNSEALED = frozenset({JOURNAL_FILE, HEAL_FILE})


@dataclass
class VerifyResult:
    """Outcome of :func:`verify`. ``ok`` only if nothing changed, went missing or appeared."""

    ok: bool
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    error: str | None = None  # manifest absent or unreadable
    # sha256 of every file as found now (relative path -> hex), so callers need not hash again.
    hashes: dict[str, str] = field(default_factory=dict, repr=False)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def state(self) -> str:
        """``intact``, ``altered`` or ``unverifiable`` (no manifest / unreadable manifest)."""
        if self.ok:
            return INTACT
        return UNVERIFIABLE if self.error else ALTERED

    def summary(self) -> str:
        if self.error:
            return self.error
        if self.ok:
            return "all files match MANIFEST.sha256"
        parts = []
        for label, names in (
            ("changed", self.changed),
            ("missing", self.missing),
            ("added", self.added),
        ):
            if names:
                parts.append(f"{label}: {', '.join(names)}")
        return "; ".join(parts)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _files(run_dir: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(run_dir):
        if Path(dirpath) == run_dir:
            # Re-checks are evidence of their own (own manifest), not part of the original.
            dirnames[:] = [d for d in dirnames if not d.startswith(RECHECK_PREFIX)]
        dirnames.sort()
        for name in filenames:
            rel = (Path(dirpath) / name).relative_to(run_dir).as_posix()
            # The manifest cannot hash itself; its temp file (atomic write) is not evidence.
            if rel == MANIFEST_FILE or (rel.startswith(f".{MANIFEST_FILE}.")):
                continue
            if rel in UNSEALED:
                continue
            out.append(rel)
    return sorted(out)


def hash_files(run_dir: Path | str) -> dict[str, str]:
    """``{relative path: sha256 hex}`` of every file under ``run_dir`` but the manifest."""
    run_dir = Path(run_dir)
    return {rel: _sha256(run_dir / rel) for rel in _files(run_dir)}


def _escape(rel: str) -> tuple[str, str]:
    # GNU sha256sum escapes "\" and newline in names and then prefixes the line with "\".
    if "\\" in rel or "\n" in rel:
        return "\\", rel.replace("\\", "\\\\").replace("\n", "\\n")
    return "", rel


def _unescape(rel: str) -> str:
    out, i = [], 0
    while i < len(rel):
        c = rel[i]
        if c == "\\" and i + 1 < len(rel):
            out.append("\n" if rel[i + 1] == "n" else rel[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def write_manifest(run_dir: Path | str) -> Path:
    """Hash every file in ``run_dir`` into ``MANIFEST.sha256``; returns its path.

    Call last: after the report, the plots and :func:`~kafkadrill.report.redact.scrub_run_dir`.
    """
    run_dir = Path(run_dir)
    lines = []
    for rel, digest in hash_files(run_dir).items():
        prefix, name = _escape(rel)
        lines.append(f"{prefix}{digest}  {name}\n")
    return write_text(run_dir / MANIFEST_FILE, "".join(lines))


def read_manifest(run_dir: Path | str) -> dict[str, str]:
    """Parse ``MANIFEST.sha256`` into ``{relative path: sha256 hex}``; ValueError if malformed."""
    text = (Path(run_dir) / MANIFEST_FILE).read_text("utf-8")
    entries: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        escaped = line.startswith("\\")
        body = line[1:] if escaped else line
        digest, sep, name = body.partition("  ")
        if not sep or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(f"{MANIFEST_FILE}:{n}: not '<sha256>  <path>': {line[:80]!r}")
        entries[_unescape(name) if escaped else name] = digest
    if not entries:
        # An empty manifest vouches for nothing: it cannot tell intact from altered.
        raise ValueError(f"{MANIFEST_FILE}: lists no file")
    return entries


def verify(run_dir: Path | str) -> VerifyResult:
    """Re-hash ``run_dir`` and compare with its manifest. Never raises for a damaged run dir:
    a missing or malformed manifest is reported as ``ok=False`` with ``error`` set."""
    run_dir = Path(run_dir)
    try:
        expected = read_manifest(run_dir)
    except FileNotFoundError:
        return VerifyResult(False, error=f"{run_dir / MANIFEST_FILE} does not exist")
    except IsADirectoryError:
        return VerifyResult(False, error=f"{run_dir / MANIFEST_FILE} is a directory")
    except (ValueError, UnicodeDecodeError) as e:
        return VerifyResult(False, error=f"unreadable manifest {run_dir / MANIFEST_FILE}: {e}")
    except OSError as e:
        return VerifyResult(False, error=f"cannot read {run_dir / MANIFEST_FILE}: {e.strerror}")
    actual = hash_files(run_dir)
    changed = sorted(p for p in expected.keys() & actual.keys() if expected[p] != actual[p])
    missing = sorted(expected.keys() - actual.keys())
    added = sorted(actual.keys() - expected.keys())
    return VerifyResult(not (changed or missing or added), changed, missing, added, hashes=actual)


def evidence_record(run_dir: Path | str, inputs: tuple[str, ...] = ()) -> dict[str, object]:
    """What a re-check records about the run it judged: the original's state (verified now,
    before anything is read) and the sha256 of the ``inputs`` it read, so the re-check's own
    manifest names exactly which evidence it judged."""
    run_dir = Path(run_dir)
    res = verify(run_dir)
    return {
        "original_run_dir": str(run_dir),
        "original_state": res.state,
        "original_manifest": {
            "changed": res.changed,
            "missing": res.missing,
            "added": res.added,
            "error": res.error,
        },
        "inputs_sha256": {
            rel: res.hashes.get(rel) or _sha256(run_dir / rel)
            for rel in inputs
            if (run_dir / rel).is_file()
        },
    }
