"""Consumer groups: the offsets checker's per-group figures, and the consumer-lag plot."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.checkers.findings import consumer_groups
from kafkadrill.checkers.findings.text import figures
from kafkadrill.report.blocks import (
    Block,
    Code,
    Heading,
    Image,
    Note,
    Para,
    Table,
)
from kafkadrill.report.format import fmt
from kafkadrill.report.sections.common import PLOT_TITLES


def groups_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    b: list[Block] = []
    b.append(Heading(2, "Consumer groups", "groups"))
    groups = consumer_groups(r)
    if groups:
        b.append(
            Table(
                ["Group", "Receipts", "Distinct messages", "Re-reads", "Skipped"],
                [
                    [
                        Code(str(g)),
                        fmt(v.get("received")),
                        fmt(v.get("distinct")),
                        fmt(v.get("rereads")),
                        fmt(v.get("skipped")),
                    ]
                    for g, v in groups.items()
                ],
                numeric={1, 2, 3, 4},
            )
        )
        b.append(
            Para(
                "Receipts and distinct count messages (records with a kafkadrill id); "
                "re-reads = receipts - distinct. Skipped: records of a partition the group read, "
                "present in the final read at or below the highest offset the group reached "
                "there, that it never received. Lost messages and lag (records past that "
                "offset) are not skips. Figures from the offsets checker.",
                "small",
            )
        )
        # The offsets checker's total (the sum of its per-group foreign counts).
        foreign = figures(r, "offsets").get("foreign_records")
        if foreign:
            b.append(
                Note(
                    "info",
                    f"{fmt(foreign)} consumed records carry no kafkadrill id (written by "
                    "another producer): they are not messages and are not counted above.",
                )
            )
    else:
        b.append(Para("No consumer-group receipts were recorded."))
    b.extend(_translation(r))
    if "consumer_lag" in plots:
        b.append(Image("consumer_lag", PLOT_TITLES["consumer_lag"]))
    return b


def _translation(r: Mapping[str, Any]) -> list[Block]:
    """The checkpoints checker's figures: what the failover's offset translation rested on."""
    per_group = figures(r, "checkpoints").get("per_group") or {}
    if not per_group:
        return []
    rows = []
    for g, v in per_group.items():
        causes = v.get("rereads_by_cause") or {}
        rows.append(
            [
                Code(str(g)),
                fmt(v.get("max_checkpoint_age_s")),
                fmt(v.get("translation_distance")),
                fmt(causes.get("uncommitted_at_failover")),
                fmt(causes.get("stale_checkpoint")),
                fmt(causes.get("conservative_translation")),
                fmt(causes.get("no_checkpoint")),
                fmt(causes.get("unattributed")),
            ]
        )
    return [
        Heading(3, "Offset translation at the failover", "translation"),
        Table(
            [
                "Group",
                "Checkpoint age at decision (s)",
                "Committed, not covered",
                "Re-reads: uncommitted",
                "stale checkpoint",
                "conservative translation",
                "no checkpoint",
                "unattributed",
            ],
            rows,
            numeric={1, 2, 3, 4, 5, 6, 7},
        ),
        Para(
            "Checkpoint age: the decision's time minus when MirrorMaker 2 wrote the oldest "
            "checkpoint the translation used. Committed, not covered: offsets the group had "
            "committed on the source beyond what the checkpoints cover. Each re-read after the "
            "translation is judged by the message's source offset: read but not committed when "
            "the service moved, committed after the newest checkpoint, or covered by the "
            "checkpoint yet placed behind by MM2's conservative translation (offset.lag.max). "
            "Figures from the checkpoints checker.",
            "small",
        ),
    ]
