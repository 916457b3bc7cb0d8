"""The one secret policy of kafkadrill: what is a secret, and how it is kept out of outputs.

Every place that writes or prints something a user configured (the resolved scenario.yaml,
ScenarioError texts, report.json/md/html, logs, copied .properties files) asks this module.

A value is secret when

* its key names a secret (:data:`SECRET_KEY_RE`): ``password``, ``passwd``, ``pwd``,
  ``secret``, ``token``, ``api.key`` / ``api_key``, ``basic.auth.user.info``, anything JAAS
  (``sasl.jaas.config``), ``credentials``, private keys (``ssl.keystore.key``, ``ssl.key.pem``,
  ``private.key``). The search is anywhere in the key, case-insensitive, so MM2's cluster and
  flow prefixes (``primary.sasl.jaas.config``, ``primary->dr.producer.ssl.key.password``) and
  env-style names (``MM2_API_SECRET``) are covered without a list of prefixes;
* or it has a secret shape, whatever its key: a PEM private key block
  (``-----BEGIN ... PRIVATE KEY-----``), the password of a URL (``scheme://user:password@host``),
  or ``password="..."`` / ``secret=...`` inside a JAAS or connection string.

Two layers, because a secret leaks by value, not by key: :func:`redact` / :func:`redact_text`
replace secrets found by key or shape, and :func:`find_secrets` collects the values so that
every other occurrence (a log line echoing a config, an exception message) is replaced too.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

__all__ = [
    "MIN_SECRET_LEN",
    "REDACTED",
    "SECRET_KEY_RE",
    "find_secrets",
    "find_secrets_in_text",
    "is_secret_key",
    "redact",
    "redact_shapes",
    "redact_text",
    "replace_known",
    "scrub",
    "variants",
]

REDACTED = "***REDACTED***"

#: Values shorter than this are redacted by key or shape but not hunted by value elsewhere:
#: replacing e.g. "1" or "true" in every file would corrupt the evidence (offsets, JSON).
MIN_SECRET_LEN = 6
_NOT_SECRETS = {"true", "false", "yes", "no", "on", "off", "null", "none", "~", REDACTED}

# The words that make a key secret (searched anywhere in the key, case-insensitive). Each starts
# with a literal, so each alone is a fast substring search over a large log (see _key_starts).
_SECRET_WORD_LIST = (
    r"password",
    r"passwd",
    r"pwd\b",
    r"secret",
    r"token",
    r"api[._-]?key",
    r"basic[._-]?auth[._-]?user[._-]?info",
    r"jaas",
    r"credentials?\b",
    r"private[._-]?key",
    r"ssl[._-]keystore[._-]key\b",
    r"ssl[._-]key[._-]pem",
)
_SECRET_WORDS = "|".join(_SECRET_WORD_LIST)
#: A key is secret if this matches anywhere in it.
SECRET_KEY_RE = re.compile(_SECRET_WORDS, re.IGNORECASE)
_WORD_RES = [re.compile(w) for w in _SECRET_WORD_LIST]

# key=value / key: value / key = value lines (.properties, YAML, env files, log echoes). '>'
# is a key character: MM2 flow prefixes look like `primary->dr.x.password`.
_LINE_RE = re.compile(
    r"""(?P<head>^[ \t]*(?:-[ \t]+)?["']?(?P<key>[A-Za-z0-9_.\->]+)["']?
        [ \t]*(?:=|:(?=[ \t]|$))[ \t]*)(?P<value>.*?)[ \t]*$""",
    re.MULTILINE | re.VERBOSE,
)
# password="x" / password='x' / secret=x; inside JAAS configs and connection strings.
_INLINE_RE = re.compile(
    r"""(?P<key>[A-Za-z0-9_.\->]*(?:password|passwd|pwd|secret|token|api[._-]?key|user[._-]?info))
        (?P<sep>\s*=\s*)
        (?:(?P<q>\\?["'])(?P<qv>.+?)(?P=q)|(?P<uv>[^"'\s;,&\\<>()\[\]{}|]+))""",
    re.IGNORECASE | re.VERBOSE,
)
# A PEM private key: the whole block, or from the header on when the end was cut off (a log
# line, a truncated error). Works on raw text and on JSON/repr-escaped text ("\n" literal).
_PEM_RE = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"
    r"(?:(?:(?!-----).)*?-----END [A-Z0-9 ]*PRIVATE KEY-----|[A-Za-z0-9+/=\s\\]*)",
    re.DOTALL,
)
_PEM_BODY_RE = re.compile(r"[A-Za-z0-9+/=]{16,}")
# The password of a URL: scheme://user:password@host (the user name is kept, it is no secret).
_URL_CRED_RE = re.compile(r"://(?P<user>[^\s/@:\"'<>]*):(?P<pw>[^\s/@\"'<>]+)@")


def is_secret_key(key: Any) -> bool:
    """True if a config key names a secret (see :data:`SECRET_KEY_RE`)."""
    return isinstance(key, str) and SECRET_KEY_RE.search(key) is not None


def _strip_quotes(v: str) -> str:
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or v == REDACTED


_NUMBER_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def _worth_hunting(v: str) -> bool:
    # A plain number under a secret-looking key (`delegation.token.expiry.time.ms: 86400000`) is
    # redacted where its key shows it, but replacing its digits inside every offset and timestamp
    # of the history would corrupt the evidence.
    s = v.strip()
    return (
        len(s) >= MIN_SECRET_LEN and s.lower() not in _NOT_SECRETS and not _NUMBER_RE.fullmatch(s)
    )


# -- finding secret values ------------------------------------------------------------------


def _shaped_values(text: str) -> set[str]:
    """Secret values recognisable by shape: JAAS/connection-string settings, URL passwords,
    PEM private keys (the block and each base64 line, which logs may print one by one)."""
    found: set[str] = set()
    if "=" in text:
        for m in _INLINE_RE.finditer(text):
            v = m["qv"] or m["uv"]
            if v and not v.startswith(REDACTED):
                found.add(v)
                if m["key"].lower().endswith("info") and ":" in v:
                    found.add(v.split(":", 1)[1])  # user:password
    if "://" in text:
        found.update(m["pw"] for m in _URL_CRED_RE.finditer(text) if m["pw"] != REDACTED)
    if "PRIVATE KEY-----" in text:
        for m in _PEM_RE.finditer(text):
            found.add(m.group(0).strip())
            found.update(_PEM_BODY_RE.findall(m.group(0)))
    return found


def _secret_value_parts(v: str) -> set[str]:
    # The value of a secret key: itself, plus what a log might print of it on its own.
    found = {v} | _shaped_values(v)
    if ":" in v and "://" not in v and "\n" not in v and " " not in v.strip():
        found.add(v.split(":", 1)[1])  # basic.auth.user.info = user:password
    return found


def find_secrets_in_text(text: str) -> set[str]:
    """Secret values in ``.properties`` / YAML / JAAS / log text (by key and by shape)."""
    found: set[str] = set()
    for m in _LINE_RE.finditer(text):
        if is_secret_key(m["key"]):
            v = _strip_quotes(m["value"])
            if v and v not in (REDACTED, "|", ">", "|-", ">-", "null", "~"):
                found |= _secret_value_parts(v)
    found |= _shaped_values(text)
    return {v for v in found if _worth_hunting(v)}


def find_secrets(obj: Any) -> set[str]:
    """Every secret value in ``obj``: values of secret keys, and secrets inside strings.

    Values shorter than :data:`MIN_SECRET_LEN`, boolean-like or plain numbers are left out:
    they are redacted where their key shows them, but hunting them through every file would
    replace digits inside offsets and timestamps (see :func:`_worth_hunting`).
    """
    found: set[str] = set()
    # Iterative: the input may be hostile (a scenario nested thousands deep).
    stack: list[tuple[Any, bool]] = [(obj, False)]
    while stack:
        o, secret = stack.pop()
        if isinstance(o, Mapping):
            stack.extend((v, secret or is_secret_key(k)) for k, v in o.items())
        elif isinstance(o, list | tuple | set | frozenset):
            stack.extend((v, secret) for v in o)
        elif isinstance(o, str):
            if secret and not _blank(o):
                found |= _secret_value_parts(o)
            else:
                found |= find_secrets_in_text(o)
        elif secret and isinstance(o, int | float) and not isinstance(o, bool):
            found.add(str(o))
    return {v for v in found if _worth_hunting(v)}


# -- replacing them -------------------------------------------------------------------------


def variants(secret: str) -> list[str]:
    """``secret`` as it appears raw and after JSON, Python-repr or HTML escaping, longest
    first (a log line or report.json holds the escaped form)."""
    out = {
        secret,
        orjson.dumps(secret).decode()[1:-1],
        repr(secret)[1:-1],
        html.escape(secret, quote=True),
    }
    return sorted((v for v in out if v), key=len, reverse=True)


def replace_known(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of the given secret values (any escaping) replaced."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for v in variants(secret):
            if v in text:
                text = text.replace(v, REDACTED)
    return text


def redact_shapes(text: str) -> str:
    """``text`` with PEM private keys and URL passwords replaced (markup-safe)."""
    if "PRIVATE KEY-----" in text:
        text = _PEM_RE.sub(REDACTED, text)
    if "://" in text and "@" in text:
        text = _URL_CRED_RE.sub(lambda m: f"://{m['user']}:{REDACTED}@", text)
    return text


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and every secret-keyed or secret-shaped value
    replaced by ``***REDACTED***``."""
    text = redact_shapes(replace_known(text, secrets))

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
    for at in _key_starts(text):
        start = text.rfind("\n", 0, at) + 1
        if start < pos:
            continue  # this line was already handled
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        out.append(text[pos:start])
        out.append(_INLINE_RE.sub(inline, _LINE_RE.sub(line, text[start:end])))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _key_starts(text: str) -> list[int]:
    """Sorted positions where a secret word starts in ``text``.

    One literal-prefixed search per word over the lower-cased text is several times faster than
    one case-insensitive alternation (50 MB of broker log: ~1 s instead of ~8 s).
    """
    low = text.lower()
    if len(low) != len(text):  # a character whose lower case is longer: positions would shift
        return [m.start() for m in SECRET_KEY_RE.finditer(text)]
    return sorted({m.start() for pattern in _WORD_RES for m in pattern.finditer(low)})


def _redact_all(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _redact_all(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_redact_all(v) for v in obj]
    return obj if _blank(obj) or isinstance(obj, bool) else REDACTED


def redact(obj: Any) -> Any:
    """A copy of ``obj`` with values of secret keys replaced by ``***REDACTED***``.

    Strings elsewhere go through :func:`redact_text`, so an embedded ``.properties`` block, a
    JAAS string, a URL with a password or a PEM key is redacted too. ``None`` stays ``None``
    (an unset secret is no secret, and keeps its meaning).
    """
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if is_secret_key(k) and isinstance(v, Mapping | list | tuple):
                out[k] = _redact_all(v)  # e.g. credentials: {user: x, pass: y}
            elif is_secret_key(k) and not _blank(v) and not isinstance(v, bool):
                out[k] = REDACTED
            else:
                out[k] = redact(v)
        return out
    if isinstance(obj, list | tuple):
        return [redact(v) for v in obj]
    if isinstance(obj, str) and ("=" in obj or ":" in obj or "-----" in obj):
        return redact_text(obj)
    return obj


def scrub(obj: Any, secrets: Iterable[str] = ()) -> Any:
    """:func:`redact`, then every known secret value replaced in every string of ``obj``
    (for data that is printed or returned to a caller, e.g. an error text in a report)."""
    known = [s for s in secrets if s]
    red = redact(obj)
    if not known:
        return red

    def walk(o: Any) -> Any:
        if isinstance(o, Mapping):
            return {k: walk(v) for k, v in o.items()}
        if isinstance(o, list | tuple):
            return [walk(v) for v in o]
        if isinstance(o, str):
            return replace_known(o, known)
        return o

    return walk(red)
