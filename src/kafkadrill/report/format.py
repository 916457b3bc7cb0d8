"""Text of figures, the same in every document (report, compare, index).

Integers with thousands separators (``12,345``), floats rounded to 3 decimals with trailing zeros
trimmed (``1.4``, ``6.703``), ``None`` as ``n/a``. Also read-only accessors of a report dict:
formatting never computes a figure, it reads what the checkers put in the report.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

# One definition of a figure's text: the findings (checker-side) are written with the same one.
from kafkadrill.checkers.findings.text import checker, figures, fmt, fmt_s, human, num

__all__ = ["checker", "figures", "fmt", "fmt_s", "human", "num", "wall_text"]


def wall_text(w: Any) -> str:
    if isinstance(w, str):  # an ISO timestamp (timelines built elsewhere)
        try:
            w = datetime.fromisoformat(w.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return w
    if not isinstance(w, int | float) or not math.isfinite(w):
        return ""
    return datetime.fromtimestamp(w, UTC).strftime("%H:%M:%S.%f")[:-3] + "Z"
