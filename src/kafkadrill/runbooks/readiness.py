"""Failover readiness of running clusters, read now (`kafkadrill status --readiness`).

The failover runbook checks readiness at its decision (`failover.check_readiness`), for the
drill's own groups. Before a drill, or on a team's own clusters, the same question is asked of
whatever MirrorMaker 2 is checkpointing: for every flow (a `<source>.checkpoints.internal`
topic on a cluster), per consumer group, are there checkpoints for every partition of the
mirrored topics the group reads, how old is the oldest, and how far behind the group's
committed position on the source the checkpoints are (records a failover now would re-read
because of the checkpoints alone, before MM2's conservative translation adds its own).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from kafkadrill.runbooks.offsets import CheckpointSet, readiness

__all__ = ["ReadinessClients", "live_readiness", "source_topic", "translation_gap"]

_SUFFIX = ".checkpoints.internal"


class ReadinessClients(Protocol):
    """What live readiness reads (``ConfluentClients`` has it)."""

    def topics(self, bootstrap: str, timeout: float = 15.0) -> list[str]: ...
    def log_starts(self, bootstrap: str, topic: str) -> dict[int, int]: ...
    def read_checkpoints(
        self, bootstrap: str, source_alias: str, timeout: float = 15.0
    ) -> CheckpointSet: ...
    def group_offsets(self, bootstrap: str, group: str) -> dict[tuple[str, int], int]: ...


def source_topic(target_topic: str, source_alias: str) -> str:
    """The source topic a checkpoint's (renamed) target topic mirrors: `primary.orders` ->
    `orders` under DefaultReplicationPolicy; unchanged under IdentityReplicationPolicy."""
    prefix = f"{source_alias}."
    return target_topic[len(prefix) :] if target_topic.startswith(prefix) else target_topic


def translation_gap(
    checkpoints: Mapping[tuple[str, str, int], Any],
    committed: Mapping[str, Mapping[tuple[str, int], int]],
    source_alias: str,
) -> dict[str, dict[str, Any]]:
    """Per group in `committed`: records between its committed offset on the source and the
    upstream offset of its checkpoint, summed over the partitions both know (`behind_records`;
    None when none can be compared), and how many partitions were compared."""
    out: dict[str, dict[str, Any]] = {}
    for group, offsets in committed.items():
        behind, compared = 0, 0
        for (g, topic, part), cp in checkpoints.items():
            if g != group:
                continue
            at = offsets.get((source_topic(topic, source_alias), part))
            if at is None:
                continue
            behind += max(0, at - cp.upstream_offset)
            compared += 1
        out[group] = {"behind_records": behind if compared else None, "compared": compared}
    return out


def live_readiness(
    clients: ReadinessClients, bootstraps: Mapping[str, str], now_ms: int | None = None
) -> list[dict[str, Any]]:
    """Readiness of every flow whose checkpoints live on one of `bootstraps` (cluster ->
    bootstrap). A cluster that does not answer is reported with its error, not raised."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    flows: list[dict[str, Any]] = []
    for target, boot in sorted(bootstraps.items()):
        try:
            sources = sorted(
                t[: -len(_SUFFIX)] for t in clients.topics(boot) if t.endswith(_SUFFIX)
            )
        except Exception as exc:  # a dead cluster is an answer here
            flows.append({"flow": None, "cluster": target, "error": repr(exc)})
            continue
        for source in sources:
            flows.append(_flow(clients, source, target, bootstraps, now))
    return flows


def _flow(
    clients: ReadinessClients, source: str, target: str, bootstraps: Mapping[str, str], now: int
) -> dict[str, Any]:
    doc: dict[str, Any] = {"flow": f"{source}->{target}", "groups": {}}
    try:
        cps = clients.read_checkpoints(bootstraps[target], source)
        groups = sorted({g for g, _t, _p in cps})
        topics = sorted({t for _g, t, _p in cps})
        parts = {t: sorted(clients.log_starts(bootstraps[target], t)) for t in topics}
    except Exception as exc:  # an unreadable flow is reported, not raised
        doc["error"] = repr(exc)
        return doc
    committed: dict[str, dict[tuple[str, int], int]] = {}
    if source in bootstraps:
        for g in groups:
            try:
                committed[g] = clients.group_offsets(bootstraps[source], g)
            except Exception as exc:  # the source may be the failed side
                doc.setdefault("source_error", repr(exc))
    gap = translation_gap(cps, committed, source)
    for g in groups:
        # Every partition of each mirrored topic the group has a checkpoint on.
        mine = {t for gg, t, _p in cps if gg == g}
        wanted = [(t, p) for t in sorted(mine) for p in parts[t]]
        state = readiness(cps, [g], wanted, now)[g]
        state.update(gap.get(g, {"behind_records": None, "compared": 0}))
        doc["groups"][g] = state
    return doc
