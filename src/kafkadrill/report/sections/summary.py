"""Key figures: a crash note and the cards under the banner."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import (
    Block,
    Cards,
    Note,
)
from kafkadrill.report.format import fmt, fmt_s


def key_figures(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    b: list[Block] = []
    rpo, rto = r.get("rpo") or {}, r.get("rto") or {}
    if r.get("error"):
        b.append(Note("error", f"The run crashed: {r.get('error')}"))
    b.append(
        Cards(
            [
                (fmt(rpo.get("lost")), "lost messages", "FAIL" if rpo.get("lost") else ""),
                (fmt_s(rpo.get("window_seconds")), "RPO window", ""),
                (fmt(rpo.get("duplicates")), "duplicates (final read)", ""),
                (fmt(rpo.get("unknown")), "unknown sends", ""),
                (fmt_s(rto.get("write_unavailable_seconds")), "writes unavailable", ""),
                (fmt_s(rto.get("read_unavailable_seconds")), "reads unavailable", ""),
            ]
        )
    )
    return b
