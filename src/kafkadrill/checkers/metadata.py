"""Metadata replication: did each change made on a flow's source show on its target, and when.

Reads the ``probe`` events named ``metadata`` (written by the topic.* timeline entries of
``kafkadrill.faults.metadata`` and acl.create of ``kafkadrill.faults.acl_sync``): ``applied``
when the source acknowledged the change, ``seen`` when a poll of the target first showed it,
``not_seen`` when the watch window ended without it.
Per change:

- ``sync_seconds``: ``seen.t - applied.t`` (to within the watcher's ``poll_seconds``);
- ``watched_seconds``: ``not_seen.t - applied.t`` (how long the target was watched in vain);
- ``observed``: what the target held when it first showed the change (for an ACL: the
  principal's operations there, which MM2 may narrow);
- ``outcome``: for a change MM2 should carry (``expect: replicated``) ``synced`` or
  ``not_synced``; for one it should not (``excluded``: a filtered topic, an excluded config)
  ``never_appeared`` or ``appeared``; ``already_on_target`` when the target held the state
  before the change (nothing measured); ``watching`` when the history ends inside the window.

FAIL if a change MM2 should carry never showed, or an excluded one appeared; UNKNOWN if a
change could not be measured; PASS otherwise (also when the run made no metadata change).
``max_sync_seconds`` is the longest ``sync_seconds`` of the synced changes (the figure the
``max_metadata_sync_seconds`` objective limits).
"""

from __future__ import annotations

from typing import Any

from kafkadrill.checkers._common import Verdict
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.folds import fault_windows

NAME = "metadata"
PROBE = "metadata"  # kafkadrill.faults.metadata.PROBE (no import: checkers never load faults)
KINDS = ("topic.create", "topic.partitions", "topic.config", "acl.create")


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _what(change: str | None, want: Any) -> str:
    w = want if isinstance(want, dict) else {}
    if change == "topic.create":
        return f"create ({w.get('partitions')} partitions)"
    if change == "topic.partitions":
        return f"partitions -> {w.get('partitions')}"
    if change == "topic.config":
        return f"{w.get('config')}={w.get('value')}"
    if change == "acl.create":
        return f"ACL {w.get('principal')} ALLOW {', '.join(map(str, w.get('operations') or []))}"
    return str(change)


def _entry_of(a: dict[str, Any], injects: list[dict[str, Any]], used: set[Any]) -> Any:
    """The entry that made applied probe ``a``: the latest metadata injection of that kind and
    target before it (the driver appends fault.inject, then runs inject(), which appends
    `applied`)."""
    fault_id = None
    for inj in injects:
        tgt = inj.get("target") if isinstance(inj.get("target"), dict) else {}
        if (
            _num(inj.get("seq")) is not None
            and _num(a.get("seq")) is not None
            and inj["seq"] < a["seq"]
            and inj.get("fault") == a.get("change")
            and tgt.get("topic") == a.get("topic")
            and tgt.get("flow", a.get("flow")) == a.get("flow")
            and inj.get("fault_id") not in used
        ):
            fault_id = inj.get("fault_id")
    return fault_id


def _outcome(a: dict[str, Any], end: dict[str, Any] | None) -> str:
    expect = a.get("expect")
    if a.get("already"):
        return "already_on_target"
    if end is None:
        return "watching"
    if end.get("state") == "seen":
        return "synced" if expect == "replicated" else "appeared"
    return "not_synced" if expect == "replicated" else "never_appeared"


def _change(a: dict[str, Any], end: dict[str, Any] | None, fault_id: Any, tag: Any) -> dict:
    t0 = _num(a.get("t"))
    t1 = _num(end.get("t")) if end else None
    secs = round(t1 - t0, 3) if t0 is not None and t1 is not None else None
    return {
        "tag": tag,
        "fault_id": fault_id,
        "change": a.get("change"),
        "what": _what(a.get("change"), a.get("want")),
        "flow": a.get("flow"),
        "topic": a.get("topic"),
        "target": a.get("target"),
        "remote_topic": a.get("remote_topic"),
        "expect": a.get("expect"),
        "outcome": _outcome(a, end),
        "applied_t": t0,
        "sync_seconds": secs if end and end.get("state") == "seen" else None,
        "watched_seconds": secs if end and end.get("state") == "not_seen" else None,
        "poll_seconds": _num(a.get("poll_seconds")),
        # What the target held when it showed the change (an ACL's synced operations).
        "observed": end.get("observed") if end and end.get("state") == "seen" else None,
        "last_observed": end.get("last") if end else None,
        "poll_error": end.get("poll_error") if end else None,
    }


def _not_applied(inj: dict[str, Any], tag: Any) -> dict:
    """An entry whose change never reached the source (its inject failed): nothing to time."""
    tgt = inj.get("target") if isinstance(inj.get("target"), dict) else {}
    return {
        "tag": tag,
        "fault_id": inj.get("fault_id"),
        "change": inj.get("fault"),
        "what": _what(inj.get("fault"), inj.get("params")),
        "flow": tgt.get("flow"),
        "topic": tgt.get("topic"),
        "outcome": "not_applied",
        "sync_seconds": None,
        "watched_seconds": None,
    }


def _changes(frames: HistoryFrames) -> list[dict[str, Any]]:
    windows = fault_windows(frames)
    tags: dict[Any, str] = {w.fault_id: f"F{n}" for n, w in enumerate(windows, 1)}
    injects = [w.inject for w in windows if w.fault in KINDS]
    probes = [e for e in frames.events if e.get("type") == Ev.PROBE and e.get("name") == PROBE]
    ends: dict[Any, dict[str, Any]] = {}
    for p in probes:
        if p.get("state") in ("seen", "not_seen"):
            ends.setdefault(p.get("change_id"), p)
    changes: list[dict[str, Any]] = []
    used: set[Any] = set()
    for a in (p for p in probes if p.get("state") == "applied"):
        fault_id = _entry_of(a, injects, used)
        used.add(fault_id)
        changes.append(_change(a, ends.get(a.get("change_id")), fault_id, tags.get(fault_id)))
    for inj in injects:
        if inj.get("fault_id") not in used:
            changes.append(_not_applied(inj, tags.get(inj.get("fault_id"))))
    return changes


OUTCOMES = (
    "synced",
    "not_synced",
    "never_appeared",
    "appeared",
    "already_on_target",
    "watching",
    "not_applied",
)


@checker("metadata", order=110)
def check_metadata(frames: HistoryFrames) -> Verdict:
    changes = _changes(frames)
    count = {k: sum(c["outcome"] == k for c in changes) for k in OUTCOMES}
    synced = [c["sync_seconds"] for c in changes if c["outcome"] == "synced"]
    figures: dict[str, Any] = {
        "changes": changes,
        **count,
        "max_sync_seconds": max(synced) if synced else None,
    }
    notes: list[str] = []
    if not changes:
        notes.append("no metadata change in this run: nothing to judge")
    if count["already_on_target"]:
        notes.append("a change was already on the target before it was made: not measured")
    if count["watching"]:
        notes.append("the history ends inside a watch window (the run was cut)")
    if count["not_applied"]:
        notes.append("a change never reached the source (its entry failed)")
    evidence = [c for c in changes if c["outcome"] not in ("synced", "never_appeared")]
    if count["not_synced"] or count["appeared"]:
        status = "FAIL"
    elif count["already_on_target"] or count["watching"] or count["not_applied"]:
        status = "UNKNOWN"
    else:
        status = "PASS"
    return Verdict(NAME, status, figures, evidence, notes)
