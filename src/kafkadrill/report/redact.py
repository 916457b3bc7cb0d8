"""Keep secrets out of everything a run leaves behind.

Two layers, because a secret leaks by value, not by key:

1. by key: :func:`redact` replaces the values of secret-looking keys (``password``, ``secret``,
   ``sasl.jaas.config``, ``ssl.key.password``, ``token``, ``api.key``...) in dicts, and
   :func:`redact_text` does the same for ``key=value`` / ``key: value`` lines of ``.properties``
   and YAML text and for ``password="..."`` inside JAAS strings;
2. by value: :func:`find_secrets` collects those values, and :func:`redact_text` /
   :func:`scrub_run_dir` replace every occurrence of them anywhere (a log line echoing a
   config, an exception message, a history field).

``scrub_run_dir`` runs before the manifest is written, so the manifest hashes redacted files.
"""

from __future__ import annotations

import gzip
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from kafkadrill.report.store import MANIFEST_FILE

__all__ = [
    "MIN_SECRET_LEN",
    "REDACTED",
    "SECRET_KEY_RE",
    "ScrubResult",
    "find_secrets",
    "find_secrets_in_text",
    "is_secret_key",
    "redact",
    "redact_text",
    "scrub_run_dir",
]

REDACTED = "***REDACTED***"

#: Values shorter than this are redacted by key but not hunted by value in other files:
#: replacing e.g. "1" or "true" everywhere would corrupt the evidence (offsets, JSON).
MIN_SECRET_LEN = 6
_NOT_SECRETS = {"true", "false", "yes", "no", "on", "off", "null", "none", "~", REDACTED}

#: A key is secret if it contains any of these (case-insensitive); matches e.g.
#: ``ssl.keystore.password``, ``sasl.jaas.config``, ``basic.auth.user.info``-style tokens,
#: ``schema.registry.api.key``, ``MM2_API_SECRET``.
SECRET_KEY_RE = re.compile(
    r"password|passwd|secret|sasl\.jaas\.config|token|api[._-]?key|credentials?\b",
    re.IGNORECASE,
)

# key=value / key: value / key = value lines (.properties, YAML, env files, log echoes).
_LINE_RE = re.compile(
    r"""(?P<head>^[ \t]*(?:-[ \t]+)?["']?(?P<key>[A-Za-z0-9_.\-]+)["']?
        [ \t]*(?:=|:(?=[ \t]|$))[ \t]*)(?P<value>.*?)[ \t]*$""",
    re.MULTILINE | re.VERBOSE,
)
# password="x" / password='x' / secret=x; inside JAAS configs and connection strings.
_INLINE_RE = re.compile(
    r"""(?P<key>[A-Za-z0-9_.\-]*(?:password|passwd|secret|token|api[._-]?key))(?P<sep>\s*=\s*)
        (?:(?P<q>\\?["'])(?P<qv>.+?)(?P=q)|(?P<uv>[^"'\s;,&\\<>()\[\]{}|]+))""",
    re.IGNORECASE | re.VERBOSE,
)
_BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf", ".jar", ".zip"}


def is_secret_key(key: Any) -> bool:
    return isinstance(key, str) and SECRET_KEY_RE.search(key) is not None


def _strip_quotes(v: str) -> str:
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or v == REDACTED


def redact(obj: Any) -> Any:
    """A copy of ``obj`` with values of secret keys replaced by ``***REDACTED***``.

    Strings elsewhere are passed through :func:`redact_text` with no known secrets, so an
    embedded ``.properties`` block or JAAS string is redacted by key too.
    """
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if is_secret_key(k) and not _blank(v) and not isinstance(v, Mapping | list):
                out[k] = REDACTED
            elif is_secret_key(k) and isinstance(v, Mapping | list):
                # e.g. credentials: {user: x, pass: y} -- every leaf is secret.
                out[k] = _redact_all(v)
            else:
                out[k] = redact(v)
        return out
    if isinstance(obj, list | tuple):
        return [redact(v) for v in obj]
    if isinstance(obj, str) and ("=" in obj or ":" in obj):
        return redact_text(obj, ())
    return obj


def _redact_all(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _redact_all(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_redact_all(v) for v in obj]
    return obj if _blank(obj) or isinstance(obj, bool) else REDACTED


def _worth_hunting(v: str) -> bool:
    return len(v) >= MIN_SECRET_LEN and v.strip().lower() not in _NOT_SECRETS


def find_secrets(obj: Any) -> set[str]:
    """Every secret value in ``obj`` (values of secret keys, and secrets inside strings).

    Numbers count too (a numeric password is still a password): they are returned as text.
    Values shorter than :data:`MIN_SECRET_LEN` or boolean-like are left out (see there).
    """
    found: set[str] = set()

    def walk(o: Any, secret: bool) -> None:
        if isinstance(o, Mapping):
            for k, v in o.items():
                walk(v, secret or is_secret_key(k))
        elif isinstance(o, list | tuple | set | frozenset):
            for v in o:
                walk(v, secret)
        elif isinstance(o, str):
            if secret and not _blank(o):
                found.add(o)
                found.update(_jaas_values(o))
            else:
                found.update(find_secrets_in_text(o))
        elif secret and isinstance(o, int | float) and not isinstance(o, bool):
            found.add(str(o))

    walk(obj, False)
    return {v for v in found if _worth_hunting(v)}


def _jaas_values(text: str) -> set[str]:
    values = (m["qv"] or m["uv"] for m in _INLINE_RE.finditer(text))
    return {v for v in values if v and v != REDACTED}


def find_secrets_in_text(text: str) -> set[str]:
    """Secret values in ``.properties`` / YAML / JAAS text (by key)."""
    found: set[str] = set()
    for m in _LINE_RE.finditer(text):
        if is_secret_key(m["key"]):
            v = _strip_quotes(m["value"])
            if v and v not in (REDACTED, "|", ">", "null", "~"):
                found.add(v)
                found.update(_jaas_values(v))
    found.update(_jaas_values(text))
    return {v for v in found if _worth_hunting(v)}


def _variants(secret: str) -> list[str]:
    # The same secret as it appears after JSON or Python-repr escaping (logs, report.json).
    out = {
        secret,
        orjson.dumps(secret).decode()[1:-1],
        repr(secret)[1:-1],
        html.escape(secret, quote=True),
    }
    return sorted((v for v in out if v), key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and every secret-keyed value replaced."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for v in _variants(secret):
            text = text.replace(v, REDACTED)

    def line(m: re.Match[str]) -> str:
        value = m["value"]
        if not is_secret_key(m["key"]) or _blank(_strip_quotes(value)):
            return m.group(0)
        if value in ("|", ">", "|-", ">-"):  # YAML block scalar: content is on next lines
            return m.group(0)
        return m["head"] + REDACTED

    def inline(m: re.Match[str]) -> str:
        if (m["qv"] or m["uv"] or "").startswith(REDACTED):
            return m.group(0)
        q = m["q"] or ""
        return f"{m['key']}{m['sep']}{q}{REDACTED}{q}"

    # Only lines naming a secret-looking key can need either rule: visit just those (a broker
    # log is tens of MB, and both patterns are slow when tried at every position).
    out: list[str] = []
    pos = 0
    for m in SECRET_KEY_RE.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        if start < pos:
            continue  # this line was already handled
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        out.append(text[pos:start])
        out.append(_INLINE_RE.sub(inline, _LINE_RE.sub(line, text[start:end])))
        pos = end
    out.append(text[pos:])
    text = "".join(out)

    return text


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
        # and line rules could cut through their markup: replace known values only.
        for secret in secrets:
            for v in _variants(secret):
                text = text.replace(v, REDACTED)
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
        for secret in secrets:
            for v in _variants(secret):
                text = text.replace(v, REDACTED)
    else:
        text = redact_text(text, secrets)
    return text.encode("utf-8", "surrogateescape")


def scrub_run_dir(run_dir: Path | str, secrets: Iterable[str]) -> ScrubResult:
    """Rewrite every text file under ``run_dir`` (gzipped history included) so no known
    secret value or secret-keyed value remains. Binary files (PNGs) are checked, not edited:
    a hit is returned in ``binary_hits`` for the caller to fail loudly on."""
    run_dir = Path(run_dir)
    known = sorted({s for s in secrets if s}, key=len, reverse=True)
    needles = [v.encode() for s in known for v in _variants(s)]
    result = ScrubResult()
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        if path.name == MANIFEST_FILE:
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
