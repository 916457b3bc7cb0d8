"""Metadata replication: per topic.* or acl.* change, how long until it showed on the target.

Formats the metadata checker's figures only (it computes every number shown here).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import Block, Code, Heading, Para, Table
from kafkadrill.report.format import figures, fmt, fmt_s

OUTCOMES = {
    "synced": "showed on the target",
    "not_synced": "NEVER showed on the target",
    "never_appeared": "never appeared (excluded, as expected)",
    "appeared": "APPEARED although excluded",
    "already_on_target": "already on the target before the change (not measured)",
    "watching": "still watched when the history ended",
    "not_applied": "not applied on the source",
}


def _seconds(c: Mapping[str, Any]) -> str:
    if c.get("sync_seconds") is not None:
        return fmt_s(c["sync_seconds"])
    if c.get("watched_seconds") is not None:
        return f"not within {fmt_s(c['watched_seconds'])}"
    return "n/a"


def metadata_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    figs = figures(r, "metadata")
    changes = [c for c in figs.get("changes") or [] if isinstance(c, Mapping)]
    if not changes:
        return []
    b: list[Block] = [Heading(2, "Metadata replication", "metadata")]
    polls = {c.get("poll_seconds") for c in changes if c.get("poll_seconds") is not None}
    res = f" (the target was polled every {fmt_s(min(polls))})" if polls else ""
    b.append(
        Para(
            "Changes made on a flow's source and the time from the source's acknowledgement "
            f"until the target first showed them{res}."
        )
    )
    b.append(
        Table(
            ["Entry", "Change", "Source topic", "Target topic", "MM2 should", "Outcome", "Time"],
            [
                [
                    str(c.get("tag") or "n/a"),
                    Code(str(c.get("what"))),
                    Code(str(c.get("topic"))),
                    Code(f"{c.get('target') or '?'}:{c.get('remote_topic') or '?'}"),
                    "copy it" if c.get("expect") == "replicated" else "leave it out",
                    OUTCOMES.get(str(c.get("outcome")), str(c.get("outcome"))),
                    _seconds(c),
                ]
                for c in changes
            ],
            numeric={6},
        )
    )
    acls = [c for c in changes if c.get("change") == "acl.create" and c.get("observed")]
    if acls:
        # What the target grants is the point of an ACL drill (MM2 may narrow the operations).
        b.append(
            Table(
                ["Entry", "Granted on the source", "Held by the target when it showed"],
                [
                    [
                        str(c.get("tag") or "n/a"),
                        Code(str(c.get("what"))),
                        Code("; ".join(map(str, c.get("observed") or []))),
                    ]
                    for c in acls
                ],
            )
        )
    b.append(
        Para(
            f"Synced {fmt(figs.get('synced'))}, never showed {fmt(figs.get('not_synced'))}, "
            f"excluded and absent {fmt(figs.get('never_appeared'))}, excluded but appeared "
            f"{fmt(figs.get('appeared'))}; longest time to show: "
            f"{fmt_s(figs.get('max_sync_seconds'))}."
        )
    )
    return b
