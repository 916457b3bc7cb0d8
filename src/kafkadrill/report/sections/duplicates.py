"""Duplicates by cause: replication/producer copies vs consumer re-reads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import (
    Block,
    Heading,
    Table,
)
from kafkadrill.report.format import figures, fmt


def duplicates_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    b: list[Block] = []
    rpo = r.get("rpo") or {}
    b.append(Heading(2, "Duplicates by cause", "duplicates"))
    dup = figures(r, "duplicates")
    # The offsets checker judges re-reads; the duplicates checker reports the same figure.
    rereads_total = figures(r, "offsets").get("rereads", dup.get("consumer_rereads"))
    b.append(
        Table(
            ["Cause", "Count", "What it means"],
            [
                [
                    "Replication / producer retries",
                    fmt(dup.get("extra_copies", rpo.get("duplicates"))),
                    "extra copies of one id (at another offset) in the final read",
                ],
                [
                    "Consumer re-reads",
                    fmt(rereads_total),
                    "a consumer group received an id more than once "
                    "(offset translation, rebalances)",
                ],
            ],
            numeric={1},
        )
    )
    return b
