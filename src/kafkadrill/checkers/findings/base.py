"""What every findings rule returns: the :class:`Finding` shape and its constructor, shared by
the rule modules (:mod:`.rules`, :mod:`.failover`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypedDict

__all__ = ["Finding", "FindingRule", "Report", "one"]


class Finding(TypedDict):
    severity: str  # high | medium | low | info
    text: str
    suggestion: str


Report = Mapping[str, Any]
FindingRule = Callable[[Report], list[Finding]]


def one(severity: str, text: str, suggestion: str) -> Finding:
    return {"severity": severity, "text": text, "suggestion": suggestion}
