"""Plain facts of a run read off its history for report.json: the fault table and how the
topology came up (from the shared history folds): the report formats these, it does not fold
the history itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kafkadrill.history import EVENTS, Ev
from kafkadrill.history.folds import fault_windows

__all__ = ["faults_from_history", "iso", "topology_from_history"]


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def topology_from_history(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """How the drill got its topology (fresh, or kept with a verified reset); None if the
    history predates the `topology` event or the topology never came up."""
    got = next((e for e in events if e.get("type") == Ev.TOPOLOGY), None)
    if got is None:
        return None
    return {f.name: got.get(f.name) for f in EVENTS[Ev.TOPOLOGY].fields}


def faults_from_history(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for w in fault_windows(events):
        e, verify, heal = w.inject, w.verify, w.heal
        out.append(
            {
                "id": e["fault_id"],
                "type": e["fault"],
                "target": e.get("target"),
                "params": e.get("params"),
                "injected_at": iso(e["wall"]),
                "injected_t": e["t"],
                "healed_at": iso(heal["wall"]) if heal is not None else None,
                "healed_t": heal["t"] if heal is not None else None,
                "verified": bool(verify.get("ok")) if verify is not None else False,
                "verify_detail": verify.get("detail") if verify is not None else None,
                "heal_detail": heal.get("detail") if heal is not None else None,
            }
        )
    return out
