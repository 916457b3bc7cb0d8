"""Replication health: per flow and fault, when replication showed as stalled and how long after
the heal data and MM2's heartbeats came back; every stall episode.

Formats the replication checker's figures only (report.json ``replication``); it computes no
figure. Absent when the run had no replication probe (no flow).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafkadrill.report.blocks import Block, Bullets, Heading, Note, Para, Table
from kafkadrill.report.format import figures, fmt, fmt_s

CHECKER = "replication"


def _replication(r: Mapping[str, Any]) -> Mapping[str, Any]:
    rep = r.get("replication")
    return rep if isinstance(rep, Mapping) else figures(r, CHECKER)


def _heartbeats(pf: Mapping[str, Any]) -> str:
    if pf.get("heartbeats_resumed_after_heal_s") is not None:
        return f"heartbeats resumed {fmt_s(pf['heartbeats_resumed_after_heal_s'])} after heal"
    if pf.get("heartbeats_stale_after_heal_at_least_s") is not None:
        return (
            "heartbeats still stale at the end of the monitor, "
            f"{fmt_s(pf['heartbeats_stale_after_heal_at_least_s'])} after heal"
        )
    return "heartbeats not measured"


def fault_sentence(pf: Mapping[str, Any]) -> str:
    """``F1 (link.cut): replication visible as stalled after 3.0 s; data resumed ...``."""
    head = f"{pf.get('tag') or '?'} ({pf.get('type')})"
    if pf.get("visible_after_s") is not None:
        parts = [f"replication visible as stalled after {fmt_s(pf['visible_after_s'])}"]
    else:
        parts = ["no stall visible"]
    if pf.get("healed_t") is None:
        parts.append("never healed")
    else:
        if pf.get("data_resumed_after_heal_s") is not None:
            parts.append(f"data resumed {fmt_s(pf['data_resumed_after_heal_s'])} after heal")
        else:
            parts.append("data not seen flowing after heal")
        parts.append(_heartbeats(pf))
    return f"{head}: " + "; ".join(parts) + "."


def _fault_table(per_fault: Mapping[str, Any]) -> Table:
    rows = [pf for pf in per_fault.values() if isinstance(pf, Mapping)]
    return Table(
        [
            "Fault",
            "Visible after",
            "Data resumed after heal",
            "Caught up after heal",
            "Heartbeats resumed after heal",
            "Max lag",
            "Max heartbeat age",
        ],
        [
            [
                f"{pf.get('tag') or '?'} {pf.get('type')}",
                fmt_s(pf.get("visible_after_s")),
                fmt_s(pf.get("data_resumed_after_heal_s")),
                fmt_s(pf.get("caught_up_after_heal_s"))
                if pf.get("behind_after_heal_at_least_s") is None
                else f"not within {fmt_s(pf['behind_after_heal_at_least_s'])}",
                fmt_s(pf.get("heartbeats_resumed_after_heal_s"))
                if pf.get("heartbeats_stale_after_heal_at_least_s") is None
                else f"not within {fmt_s(pf['heartbeats_stale_after_heal_at_least_s'])}",
                fmt(pf.get("max_lag")),
                fmt_s(pf.get("max_heartbeat_age_s")),
            ]
            for pf in rows
        ],
        numeric={1, 2, 3, 4, 5, 6},
    )


def _stall_table(stalls: list[Mapping[str, Any]], tags: Mapping[str, Any]) -> Table:
    return Table(
        ["Stall", "Topic", "From t", "Visible at t", "Until t", "Duration", "Faults", "MM2"],
        [
            [
                str(s.get("kind")),
                str(s.get("topic") or "n/a"),
                fmt_s(s.get("start_t")),
                fmt_s(s.get("visible_t")),
                "end of monitor" if s.get("open") else fmt_s(s.get("end_t")),
                ("at least " if s.get("open") else "") + fmt_s(s.get("seconds")),
                ", ".join(str(tags.get(f) or f) for f in s.get("faults") or []) or "none",
                "stopped" if s.get("mm2_stopped") else "running",
            ]
            for s in stalls
        ],
        numeric={2, 3, 4, 5},
    )


def replication_section(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    rep = _replication(r)
    flows = rep.get("flows")
    if not rep.get("applicable") or not isinstance(flows, Mapping) or not flows:
        return []
    b: list[Block] = [
        Heading(2, "Replication health", "replication"),
        Para(
            "From the monitor's probes: each flow's lag every second, the age of the newest MM2 "
            "heartbeat on its target about every 2 s. A data stall is a backlog the target did "
            f"not take for at least {fmt_s(rep.get('data_stall_seconds'))}; a heartbeat stall "
            f"is a heartbeat age above {fmt_s(rep.get('heartbeat_stale_seconds'))}."
        ),
    ]
    for name, f in flows.items():
        if not isinstance(f, Mapping):
            continue
        anchor = "replication-" + re.sub(r"[^A-Za-z0-9_]+", "-", str(name))
        b.append(Heading(3, f"Flow {name}", anchor))
        per_fault = f.get("per_fault") if isinstance(f.get("per_fault"), Mapping) else {}
        if per_fault:
            sentences = [fault_sentence(pf) for pf in per_fault.values() if isinstance(pf, Mapping)]
            b.append(Bullets(sentences))
            b.append(_fault_table(per_fault))
        stalls = [s for s in f.get("stalls") or [] if isinstance(s, Mapping)]
        if stalls:
            tags = {k: pf.get("tag") for k, pf in per_fault.items() if isinstance(pf, Mapping)}
            b.append(_stall_table(stalls, tags))
        else:
            b.append(Para("No stall: data and heartbeats kept flowing."))
        if f.get("heartbeats_stale_at_end"):
            b.append(
                Note(
                    "warn",
                    f"Heartbeats of {name} were still stale at the end of the monitor (age "
                    f"{fmt_s(f.get('last_heartbeat_age_s'))}).",
                )
            )
        if not f.get("heartbeat_samples"):
            b.append(Note("info", f"No readable heartbeat age for {name}: not measured."))
    return b
