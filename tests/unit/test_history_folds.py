"""kafkadrill.history.folds: the one definition of what several readers derive from events."""

from __future__ import annotations

from typing import Any

from kafkadrill.history import Ev, load_frames
from kafkadrill.history.folds import (
    fault_windows,
    final_read_events,
    run_bounds,
    runbook_steps,
)


def _ev(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"seq": i, "t": float(i), "wall": 1e9 + i, **e} for i, e in enumerate(events)]


EVENTS = _ev(
    {"type": "run.start", "run_id": "r", "scenario": "s", "seed": 1},
    {"type": "fault.inject", "fault_id": "f0", "fault": "node.kill", "target": {}, "params": {}},
    {"type": "fault.verify", "fault_id": "f0", "ok": True, "detail": None},
    {"type": "fault.inject", "fault_id": "f1", "fault": "link.cut", "target": {}, "params": {}},
    {"type": "runbook.step", "runbook": "failover", "step": "detect", "status": "start",
     "detail": None},
    {"type": "fault.heal", "fault_id": "f1", "ok": True, "detail": None},
    {"type": "runbook.step", "runbook": "failover", "step": "detect", "status": "ok",
     "detail": None},
    {"type": "fault.heal", "fault_id": "nope", "ok": False, "detail": None},
    {"type": "final_read.start", "clusters": ["a"], "authoritative": "a", "topics": {}},
    {"type": "final_read.end", "cluster": "a", "records": 0, "complete": False},
    {"type": "final_read.start", "clusters": ["a"], "authoritative": "a", "topics": {}},
    {"type": "final_read.end", "cluster": "a", "records": 3, "complete": True},
    {"type": "run.end", "status": "completed", "error": None},
)  # fmt: skip


def test_fault_windows_pair_each_injection_with_its_verify_and_heal() -> None:
    windows = fault_windows(EVENTS)
    assert [w.fault_id for w in windows] == ["f0", "f1"]  # a heal of no injected fault: none
    f0, f1 = windows
    assert f0.fault == "node.kill" and f0.verify is not None and f0.verify["ok"] is True
    assert f0.heal is None and f0.heals == ()
    assert f1.verify is None and f1.heal is not None and f1.heal["t"] == 5.0


def test_runbook_steps_group_the_events_of_each_step() -> None:
    (step,) = runbook_steps(EVENTS)
    assert (step.runbook, step.step) == ("failover", "detect")
    assert [e["status"] for e in step.events] == ["start", "ok"]


def test_run_bounds_and_the_final_read_attempt() -> None:
    bounds = run_bounds(EVENTS)
    assert bounds.start is EVENTS[0] and bounds.end is EVENTS[-1] and bounds.last_t == 12.0
    fr = final_read_events(EVENTS)
    assert fr.first_start is EVENTS[8] and fr.start is EVENTS[10]  # a retry supersedes
    assert fr.complete == {"a": True}
    assert final_read_events([]) == final_read_events(EVENTS[:1])
    assert final_read_events([]).start is None


def test_names_are_the_on_disk_text() -> None:
    assert Ev.FAULT_INJECT == "fault.inject" and f"{Ev.RECV}" == "recv"
    assert {Ev.SEND_OK: 1}["send.ok"] == 1


def test_folds_of_frames_are_computed_once() -> None:
    frames = load_frames(EVENTS)
    assert fault_windows(frames) is fault_windows(frames)
    assert fault_windows(frames) == fault_windows(EVENTS)
    assert run_bounds(frames) == run_bounds(EVENTS)


def test_frames_with_other_events_never_get_a_cached_fold() -> None:
    """The report's redacted frames share the checkers' cache but not their events."""
    import dataclasses

    frames = load_frames(EVENTS)
    assert fault_windows(frames)[0].fault == "node.kill"
    other = [dict(e, fault="[redacted]") if e["type"] == "fault.inject" else e for e in EVENTS]
    clean = dataclasses.replace(frames, events=other, cache=frames.cache)
    assert fault_windows(clean)[0].fault == "[redacted]"
    assert fault_windows(frames)[0].fault == "node.kill"
