"""RPO: data loss figures, per partition, lost-message samples and plot."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import (
    Block,
    Code,
    Heading,
    Image,
    Note,
    Para,
    Table,
)
from kafkadrill.report.format import checker, figures, fmt, fmt_s
from kafkadrill.report.sections.common import PLOT_TITLES

LOST_SAMPLE_ROWS = 20
CAUSE_TITLES = {
    "never_replicated": "Never replicated: still on the origin, never on the cluster served",
    "expired_at_source": "Expired at the source: below the origin's log start (retention)",
    "lost_at_origin": "Lost at the origin: gone there, above its log start",
    "unattributed": "Unattributed: the origin's read cannot tell",
}


def rpo_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    b: list[Block] = []
    rpo = r.get("rpo") or {}
    b.append(Heading(2, "RPO: data loss", "rpo"))
    b.append(
        Table(
            ["Figure", "Value"],
            [
                ["Acknowledged messages", fmt(rpo.get("acked"))],
                ["Lost (acked, never read back)", fmt(rpo.get("lost"))],
                ["Lost bytes", fmt(rpo.get("lost_bytes"))],
                [
                    "RPO window (first lost ack to fault / last lost ack)",
                    fmt_s(rpo.get("window_seconds")),
                ],
                ["Duplicates in the final read", fmt(rpo.get("duplicates"))],
                ["Unknown-outcome sends (not counted as lost)", fmt(rpo.get("unknown"))],
            ],
            numeric={1},
            compact=True,
        )
    )
    loss = checker(r, "loss")
    by_cause = figures(r, "loss").get("by_cause") or {}
    if any(by_cause.values()):
        b.append(Para("Lost messages by cause (from each origin's own final read):"))
        b.append(
            Table(
                ["Cause", "Lost"],
                [[CAUSE_TITLES.get(k, k), fmt(v)] for k, v in by_cause.items()],
                numeric={1},
                compact=True,
            )
        )
    per_part = figures(r, "loss").get("per_partition") or {}
    if per_part:
        b.append(Para("Lost messages per partition:"))
        b.append(
            Table(
                ["Partition (cluster/topic/p)", "Lost"],
                [[Code(str(k)), fmt(v)] for k, v in per_part.items()],
                numeric={1},
                compact=True,
            )
        )
    samples = [e for e in loss.get("evidence") or [] if isinstance(e, Mapping)]
    if samples:
        shown = samples[:LOST_SAMPLE_ROWS]
        b.append(
            Para(f"Lost-message samples ({len(shown)} of {fmt(rpo.get('lost'))}, earliest first):")
        )
        b.append(
            Table(
                [
                    "Id",
                    "Producer",
                    "Cluster/topic/partition",
                    "Offset",
                    "Sent at (since start)",
                    "Acked at (since start)",
                ],
                [
                    [
                        Code(str(e.get("id"))),
                        str(e.get("producer", "")),
                        Code(f"{e.get('cluster')}/{e.get('topic')}/{e.get('partition')}"),
                        fmt(e.get("offset")),
                        fmt_s(e.get("send_t")),
                        fmt_s(e.get("ack_t")),
                    ]
                    for e in shown
                ],
                numeric={3, 4, 5},
            )
        )
    if loss.get("status") == "UNKNOWN":
        b.append(
            Note(
                "warn",
                "The loss checker is UNKNOWN: the loss figures are not proven (see the appendix).",
            )
        )
    if "lost" in plots:
        b.append(Image("lost", PLOT_TITLES["lost"]))
    return b
