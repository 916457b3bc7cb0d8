"""Findings of replication health, from the replication checker's figures
(docs/explanation/checkers.md, "replication")."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kafkadrill.checkers.findings.base import Finding, Report, one
from kafkadrill.checkers.findings.text import figures, fmt, fmt_s, num

__all__ = [
    "BEHIND_AFTER_HEAL_S",
    "HEARTBEATS_BEHIND_DATA_S",
    "heartbeats_behind_data",
    "replication_still_behind",
]

CHECKER = "replication"
#: Heartbeats "stay stale well after data resumed" when they come back (or are still stale)
#: this much later than the data: a healthy MM2 brings both back within a few seconds of each
#: other (a rejoining Connect worker gets its connectors back in ~5 s when nothing delays it).
HEARTBEATS_BEHIND_DATA_S = 15.0
#: A flow "never caught up" when it was still behind its steady lag this long after a heal, at
#: its last probe: MM2 drains a 20 s cut's backlog in 4-11 s on these machines (link-cut,
#: mm2-crash), so half a minute is no transient; a shorter look (a run that ends, or the next
#: fault, soon after the heal) proves nothing either way.
BEHIND_AFTER_HEAL_S = 30.0

_SUGGESTION = (
    "Likely a Connect herder that did not get its connectors back after the cut: a worker that "
    "rejoins its group waits up to scheduled.rebalance.max.delay.ms (Connect's default 300000 ms "
    "= 5 min) for its lost assignment, and the herder that emits the heartbeats (the reverse "
    "direction's, whose group coordinator was across the cut) holds them until then. For a "
    "dedicated MM2 set scheduled.rebalance.max.delay.ms low (0: each herder has one worker, "
    "nothing to wait for). Alert on heartbeat age and on replication lag together, not on one "
    "alone: here one said replication was down while the other showed data flowing."
)


def _replication(report: Report) -> Mapping[str, Any]:
    rep = report.get("replication")
    return rep if isinstance(rep, Mapping) else figures(report, CHECKER)


def _per_fault(report: Report) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(flow, fault id, the fault's figures for that flow) for every flow and fault."""
    flows = _replication(report).get("flows")
    for flow, f in (flows if isinstance(flows, Mapping) else {}).items():
        per_fault = f.get("per_fault") if isinstance(f, Mapping) else None
        for fid, pf in (per_fault if isinstance(per_fault, Mapping) else {}).items():
            if isinstance(pf, Mapping):
                yield flow, fid, pf


def _behind(pf: Mapping[str, Any]) -> tuple[float, float, float | None] | None:
    """(data resumed, heartbeats back or still stale, heartbeats back) after the heal, when
    the heartbeats stalled and trail the data by HEARTBEATS_BEHIND_DATA_S or more."""
    data = num(pf.get("data_resumed_after_heal_s"))
    back = num(pf.get("heartbeats_resumed_after_heal_s"))
    hb = back if back is not None else num(pf.get("heartbeats_stale_after_heal_at_least_s"))
    if not pf.get("heartbeats_stalled") or data is None or hb is None:
        return None
    return (data, hb, back) if hb - data >= HEARTBEATS_BEHIND_DATA_S else None


def heartbeats_behind_data(report: Report) -> list[Finding]:
    out: list[Finding] = []
    for flow, fid, pf in _per_fault(report):
        got = _behind(pf)
        if got is None:
            continue
        data, hb, back = got
        beats = (
            f"its MM2 heartbeats only {fmt_s(back)} after it"
            if back is not None
            else f"its MM2 heartbeats were still stale at the end of the monitor, "
            f"{fmt_s(hb)} after it"
        )
        out.append(
            one(
                "medium",
                f"Flow {flow}: data replication resumed {fmt_s(data)} after "
                f"{pf.get('tag') or fid} was healed, but {beats}: heartbeat-based "
                "monitoring reported replication down while data flowed.",
                _SUGGESTION,
            )
        )
    return out


_BEHIND_SUGGESTION = (
    "MirrorMaker 2 copied more slowly than the source was written, so the backlog of the fault "
    "never drained: had the source been lost at the end, those acknowledged messages would not "
    "have been on the target. Give MirrorMaker 2 more throughput (tasks.max, more workers, CPU; "
    "the replication lag plot shows its pace) or size the write rate to what it copies, and "
    "alert on replication lag."
)


def replication_still_behind(report: Report) -> list[Finding]:
    """A flow still behind its source BEHIND_AFTER_HEAL_S or more after a heal."""
    out: list[Finding] = []
    for flow, fid, pf in _per_fault(report):
        behind = num(pf.get("behind_after_heal_at_least_s"))
        if behind is None or behind < BEHIND_AFTER_HEAL_S:
            continue
        out.append(
            one(
                "high",
                f"Flow {flow} never caught up after {pf.get('tag') or fid} "
                f"({pf.get('type')}) was healed: {fmt(pf.get('lag_at_last_probe'))} "
                f"messages still behind at its last probe, {fmt_s(behind)} after the heal.",
                _BEHIND_SUGGESTION,
            )
        )
    return out
