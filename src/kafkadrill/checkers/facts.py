"""Plain facts of a run read off its history for report.json: the fault table and how the
topology came up. Moved unchanged from report/build.py: the report formats these, it does not
fold the history itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["faults_from_history", "iso", "topology_from_history"]


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


_iso = iso  # the name the moved bodies below use


def topology_from_history(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """How the drill got its topology (fresh, or kept with a verified reset); None if the
    history predates the `topology` event or the topology never came up."""
    got = next((e for e in events if e.get("type") == "topology"), None)
    if got is None:
        return None
    from kafkadrill.history import EVENTS

    return {f.name: got.get(f.name) for f in EVENTS["topology"].fields}


def faults_from_history(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for e in events:
        typ = e.get("type")
        if typ == "fault.inject":
            out[e["fault_id"]] = {
                "id": e["fault_id"],
                "type": e["fault"],
                "target": e.get("target"),
                "params": e.get("params"),
                "injected_at": _iso(e["wall"]),
                "injected_t": e["t"],
                "healed_at": None,
                "healed_t": None,
                "verified": False,
                "verify_detail": None,
                "heal_detail": None,
            }
        elif typ == "fault.verify" and e.get("fault_id") in out:
            out[e["fault_id"]]["verified"] = bool(e.get("ok"))
            out[e["fault_id"]]["verify_detail"] = e.get("detail")
        elif typ == "fault.heal" and e.get("fault_id") in out:
            f = out[e["fault_id"]]
            f["healed_at"], f["healed_t"] = _iso(e["wall"]), e["t"]
            f["heal_detail"] = e.get("detail")
    return list(out.values())
