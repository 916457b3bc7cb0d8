"""Text of figures, the same in every document (findings, report, compare, index).

Integers with thousands separators (``12,345``), floats rounded to 3 decimals with trailing zeros
trimmed (``1.4``, ``6.703``), ``None`` as ``n/a``. Also read-only accessors of a report dict.
Defined here, checker-side, because the findings rules write their text with it; the report's
:mod:`kafkadrill.report.format` re-exports it so that every document shows a figure the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["checker", "figures", "fmt", "fmt_s", "human", "num"]


def fmt(v: Any) -> str:
    """Canonical text of a figure (see module doc); tests compare against this."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "n/a"
        if v.is_integer() and abs(v) < 1e15:
            return f"{v:,.1f}"
        text = f"{round(v, 3):,.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(v, Mapping | list | tuple):
        return orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode()
    return str(v)


def fmt_s(v: Any) -> str:
    """Seconds: ``fmt`` plus a unit."""
    return "n/a" if v is None else f"{fmt(v)} s"


def human(name: str) -> str:
    return str(name).replace("_", " ")


def num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def checker(report: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    c = (report.get("checkers") or {}).get(name)
    return c if isinstance(c, Mapping) else {}


def figures(report: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    f = checker(report, name).get("figures")
    return f if isinstance(f, Mapping) else {}
