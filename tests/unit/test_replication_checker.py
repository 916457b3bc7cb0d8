"""replication checker: stalls, per-fault visibility and resumption, on hand-built histories of
``replication_lag`` probes (docs/explanation/checkers.md, "replication")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.unit.test_checkers_unit import H, check

from kafkadrill.checkers.findings import derive_findings
from kafkadrill.checkers.judge import judge
from kafkadrill.checkers.replication import DATA_STALL_S, HEARTBEAT_STALE_S

FLOW = "primary->dr"
RATE = 10  # records per second on the source
STEADY_LAG = 5


def _probes(
    h: H,
    end: int,
    target: Callable[[int], int],
    age: Callable[[int], float | None] | None,
    *,
    flow: str = FLOW,
    alive: Callable[[int], bool] = lambda _t: True,
) -> H:
    """One probe a second from t=1 to ``end``: the source holds RATE * t records, the target
    ``target(t)``; every 2nd second carries ``age(t)`` as heartbeat_age_s (no key when ``age``
    is None)."""
    for t in range(1, end + 1):
        src = RATE * t
        dst = min(src, target(t))
        extra: dict[str, Any] = {}
        if age is not None and t % 2 == 0:
            extra["heartbeat_age_s"] = age(t)
        h.add("probe", float(t), name="replication_lag", flow=flow, topic="orders",
              source_end=src, target_end=dst, lag=src - dst, mm2_alive=alive(t),
              **extra)  # fmt: skip
    return h


def _fault(h: H, inject: float, heal: float | None, fid: str = "f1") -> H:
    h.add("fault.inject", inject, fault_id=fid, fault="link.cut", target="east<->west",
          params={})  # fmt: skip
    h.add("fault.verify", inject + 0.1, fault_id=fid, ok=True, detail="")
    if heal is not None:
        h.add("fault.heal", heal, fault_id=fid, ok=True, detail="")
    return h


def _sorted(h: H) -> H:
    """Events in time order (the probes and the faults were added separately)."""
    h.events.sort(key=lambda e: e["t"])
    for i, e in enumerate(h.events):
        e["seq"] = i
    return h


def _steady(t: int) -> int:
    return RATE * t - STEADY_LAG


def link_cut(*, resume_at: int = 43, beats_back: float | None = None, end: int = 60) -> H:
    """A 20 s cut (t 20..40). Data is copied again from ``resume_at`` (catching up at 100/s);
    heartbeats stop at the cut and come back at ``beats_back`` (None: never)."""
    frozen = _steady(20)

    def target(t: int) -> int:
        if t <= 20:
            return _steady(t)
        if t < resume_at:
            return frozen
        return min(_steady(t), frozen + 100 * (t - resume_at + 1))

    def age(t: int) -> float:
        if t <= 20:
            return 1.5
        if beats_back is None or t < beats_back:
            return float(t - 20)
        return 1.0

    h = _probes(H().add("run.start", 0.0, run_id="r", scenario="s", seed=1), end, target, age)
    return _sorted(_fault(h, 20.0, 40.0))


def test_data_resumes_after_the_heal_but_heartbeats_stay_stale_to_the_end() -> None:
    v = check(link_cut())["replication"]
    assert v.status == "PASS" and v.figures["applicable"] is True
    flow = v.figures["flows"][FLOW]
    data, beats = flow["stalls"]
    assert (data["kind"], data["topic"], data["start_t"], data["end_t"]) == ("data", "orders",
                                                                            20.0, 43.0)  # fmt: skip
    assert data["seconds"] == 23.0 and data["visible_t"] == 20.0 + DATA_STALL_S
    assert data["faults"] == ["f1"] and data["open"] is False and data["mm2_stopped"] is False
    # First stale sample: t=32 (age 12 > 10); the newest heartbeat was emitted at t=20.
    assert (beats["kind"], beats["start_t"], beats["visible_t"]) == ("heartbeat", 20.0, 32.0)
    assert beats["end_t"] is None and beats["open"] is True and beats["seconds"] == 40.0
    f1 = flow["per_fault"]["f1"]
    assert f1["tag"] == "F1" and f1["data_stalled"] and f1["heartbeats_stalled"]
    assert f1["visible_after_s"] == DATA_STALL_S  # the data stall shows before the heartbeats
    assert f1["data_resumed_after_heal_s"] == 3.0
    assert f1["caught_up_after_heal_s"] is not None and f1["caught_up_after_heal_s"] > 3.0
    assert f1["heartbeats_resumed_after_heal_s"] is None
    assert f1["heartbeats_stale_after_heal_at_least_s"] == 20.0  # last sample t=60
    assert f1["max_lag"] > STEADY_LAG and f1["max_heartbeat_age_s"] == 40.0
    assert flow["heartbeats_stale_at_end"] is True and flow["last_heartbeat_age_s"] == 40.0
    assert v.figures["heartbeats_stale_at_end"] == [FLOW]
    assert flow["steady_lag"] == STEADY_LAG


def test_heartbeats_that_come_back_give_their_delay_after_the_heal() -> None:
    f1 = check(link_cut(beats_back=70.0, end=80))["replication"].figures["flows"][FLOW]
    f1 = f1["per_fault"]["f1"]
    assert f1["heartbeats_resumed_after_heal_s"] == 30.0  # first sample at t=70
    assert f1["heartbeats_stale_after_heal_at_least_s"] is None


def test_a_short_cut_is_not_resumed_while_the_age_is_still_under_the_threshold() -> None:
    """Cut 20..25: at t=26 the age (6 s) is under the threshold, yet no heartbeat emitted after
    the heal arrived: resumed only when one does (t=62)."""

    def age(t: int) -> float:
        return 1.5 if t <= 20 else (float(t - 20) if t < 62 else 1.0)

    h = _probes(H(), 70, _steady, age)
    f1 = check(_sorted(_fault(h, 20.0, 25.0)))["replication"].figures["flows"][FLOW]
    f1 = f1["per_fault"]["f1"]
    assert f1["heartbeats_resumed_after_heal_s"] == 37.0
    assert f1["visible_after_s"] == 12.0  # t=32, the first age over the threshold
    assert f1["data_stalled"] is False and f1["data_resumed_after_heal_s"] == 0.0


def test_a_clean_run_has_no_stall() -> None:
    h = _sorted(_fault(_probes(H(), 60, _steady, lambda _t: 1.5), 20.0, 40.0))
    v = check(h)["replication"]
    flow = v.figures["flows"][FLOW]
    assert v.status == "PASS" and flow["stalls"] == [] and not v.notes
    f1 = flow["per_fault"]["f1"]
    assert f1["visible_after_s"] is None
    assert (f1["data_stalled"], f1["heartbeats_stalled"]) == (False, False)
    assert f1["data_resumed_after_heal_s"] == 0.0 and f1["caught_up_after_heal_s"] == 0.0
    assert f1["heartbeats_resumed_after_heal_s"] == 0.0  # the sample at t=40: emitted at 38.5
    assert f1["max_lag"] == STEADY_LAG and f1["max_heartbeat_age_s"] == 1.5
    assert flow["heartbeats_stale_at_end"] is False and v.figures["heartbeats_stale_at_end"] == []


def test_probes_without_heartbeats_give_null_heartbeat_figures() -> None:
    v = check(_sorted(_fault(_probes(H(), 30, _steady, None), 10.0, 20.0)))["replication"]
    flow = v.figures["flows"][FLOW]
    assert v.status == "PASS" and "heartbeat figures null" in v.notes[0]
    assert flow["heartbeat_samples"] == 0 and flow["heartbeats_stale_at_end"] is None
    f1 = flow["per_fault"]["f1"]
    assert f1["heartbeats_resumed_after_heal_s"] is None and f1["max_heartbeat_age_s"] is None
    assert f1["heartbeats_stale_after_heal_at_least_s"] is None
    assert f1["data_resumed_after_heal_s"] == 0.0


def test_unreadable_heartbeats_are_no_evidence() -> None:
    v = check(_probes(H(), 10, _steady, lambda _t: None))["replication"]
    flow = v.figures["flows"][FLOW]
    assert flow["heartbeat_unreadable_samples"] == 5 and flow["heartbeat_samples"] == 0
    assert "never readable" in v.notes[0] and flow["stalls"] == []


def test_no_probe_is_not_applicable_and_never_caps_the_verdict() -> None:
    v = check(H().send(0, 1.0))["replication"]
    assert (v.status, v.figures["applicable"], v.figures["flows"]) == ("PASS", False, {})
    assert "no replication_lag probes" in v.notes[0]


def test_unreadable_lag_neither_starts_nor_ends_a_stall() -> None:
    """A region outage: the source does not answer (lag null) from t=10; the heartbeats, read
    on the target, still show the stall."""
    h = H()
    for t in range(1, 31):
        beat: dict[str, Any] = {"heartbeat_age_s": 1.0 if t <= 10 else float(t - 10)}
        if t <= 10:
            h.add("probe", float(t), name="replication_lag", flow=FLOW, topic="orders",
                  source_end=RATE * t, target_end=_steady(t), lag=STEADY_LAG, mm2_alive=True,
                  **beat)  # fmt: skip
        else:
            h.add("probe", float(t), name="replication_lag", flow=FLOW, topic="orders",
                  lag=None, mm2_alive=True, **beat)  # fmt: skip
    flow = check(_sorted(_fault(h, 10.0, None)))["replication"].figures["flows"][FLOW]
    assert flow["unreadable_samples"] == 20
    assert [s["kind"] for s in flow["stalls"]] == ["heartbeat"]
    f1 = flow["per_fault"]["f1"]
    assert f1["visible_after_s"] == 1.0 + HEARTBEAT_STALE_S  # t=21: age 11
    assert f1["healed_t"] is None and f1["data_resumed_after_heal_s"] is None


def test_a_stall_while_mm2_was_stopped_says_so() -> None:
    frozen = _steady(10)
    h = _probes(H(), 20, lambda t: _steady(t) if t <= 10 else frozen, lambda _t: 1.0,
                alive=lambda t: t <= 10)  # fmt: skip
    (stall,) = check(h)["replication"].figures["flows"][FLOW]["stalls"]
    assert stall["mm2_stopped"] is True and stall["open"] is True and stall["faults"] == []


# -- report.json and the finding -----------------------------------------------------------------
def test_report_json_carries_the_figures_under_replication() -> None:
    report = judge(link_cut().frames(), {"max_lost": None}, error=None)
    assert report["replication"] == report["checkers"]["replication"]["figures"]
    assert report["replication"]["flows"][FLOW]["per_fault"]["f1"]["visible_after_s"] == 3.0


@pytest.mark.parametrize(
    ("beats_back", "end", "fires"),
    [(None, 60, True), (70.0, 80, True), (45.0, 60, False)],
)
def test_finding_when_heartbeats_stay_stale_long_after_data(
    beats_back: float | None, end: int, fires: bool
) -> None:
    report = judge(link_cut(beats_back=beats_back, end=end).frames(), {"max_lost": None},
                   error=None)  # fmt: skip
    found = [f for f in derive_findings(report) if "heartbeat" in f["text"].lower()]
    assert bool(found) is fires
    if fires:
        (f,) = found
        assert FLOW in f["text"] and "F1" in f["text"]
        assert "scheduled.rebalance.max.delay.ms" in f["suggestion"]
        assert "300000" in f["suggestion"] and "lag" in f["suggestion"]


# -- the report section ----------------------------------------------------------------------------
def test_the_section_says_per_fault_what_came_back_when() -> None:
    from kafkadrill.report.markdown import render_markdown

    md = render_markdown(judge(link_cut().frames(), {"max_lost": None}, error=None), {})
    assert "## Replication health" in md and "### Flow primary->dr" in md
    assert (
        "- F1 (link.cut): replication visible as stalled after 3.0 s; data resumed 3.0 s after "
        "heal; heartbeats still stale at the end of the monitor, 20.0 s after heal." in md
    )
    assert "| F1 link.cut | 3.0 s | 3.0 s | 5.0 s | not within 20.0 s | 225 | 40.0 s |" in md
    assert "| heartbeat | n/a | 20.0 s | 32.0 s | end of monitor | at least 40.0 s | F1 |" in md
    assert "still stale at the end of the monitor (age 40.0 s)" in md
    back = render_markdown(judge(link_cut(beats_back=70.0, end=80).frames(), {}, error=None), {})
    assert "heartbeats resumed 30.0 s after heal." in back


def test_no_section_without_probes() -> None:
    from kafkadrill.report.markdown import render_markdown

    md = render_markdown(judge(H().send(0, 1.0).frames(), {}, error=None), {})
    assert "Replication health" not in md


def test_lag_at_a_fault_takes_the_last_heartbeat_sample() -> None:
    """The monitor reads heartbeats every other sample: a fault after a probe without one still
    gets the age of the probe before."""
    from kafkadrill.checkers.timeline import lag_at_faults

    h = _sorted(_fault(_probes(H(), 30, _steady, lambda t: t / 10), 21.5, 25.0))
    (row,) = lag_at_faults(h.frames())
    assert (row["probe_t"], row["lag"], row["heartbeat_age_s"]) == (21.0, STEADY_LAG, 2.0)


# -- the max_replication_recovery_seconds objective ------------------------------------------
def _recovery_verdicts(seconds: float | None, lower_bound: bool = False) -> dict:
    from kafkadrill.checkers import Verdict

    figs = {"max_recovery_after_heal_s": seconds, "max_recovery_is_lower_bound": lower_bound}
    return {"replication": Verdict("replication", "PASS", figs, [], [])}


def _judge(seconds: float | None, lower_bound: bool = False, target: float = 30) -> str:
    from kafkadrill.checkers.objectives import evaluate

    (r,) = evaluate(
        _recovery_verdicts(seconds, lower_bound), {"max_replication_recovery_seconds": target}
    )
    return r.verdict


def test_recovery_objective_judges_data_and_heartbeats_together() -> None:
    assert _judge(5.2) == "PASS"
    assert _judge(52.9) == "FAIL"
    # Still stale when the monitor stopped: a lower bound fails above the target and proves
    # nothing under it.
    assert _judge(52.9, lower_bound=True) == "FAIL"
    assert _judge(12.0, lower_bound=True) == "UNKNOWN"
    assert _judge(None) == "PASS"  # no fault stalled a flow: nothing had to recover


def test_recovery_figure_is_the_slowest_of_data_and_heartbeats() -> None:
    from kafkadrill.checkers.replication import _recovery

    per_fault = {
        "f0": {"healed_t": 10.0, "data_stalled": True, "heartbeats_stalled": True,
               "caught_up_after_heal_s": 5.0, "heartbeats_resumed_after_heal_s": 7.5},
        "f1": {"healed_t": 40.0, "data_stalled": True, "heartbeats_stalled": False,
               "caught_up_after_heal_s": 3.0, "heartbeats_resumed_after_heal_s": None,
               "heartbeats_stale_after_heal_at_least_s": None},
        "f2": {"healed_t": None, "data_stalled": True, "caught_up_after_heal_s": None},
    }  # fmt: skip
    assert _recovery(per_fault) == (7.5, False)
    per_fault["f1"]["heartbeats_stale_after_heal_at_least_s"] = 52.0
    assert _recovery(per_fault) == (52.0, True)


def _txn_probes(h: H, source: Callable[[int], int], target: Callable[[int], int], end: int) -> H:
    """A transactional topic: the copy stays `markers` records short of the source for good
    (commit/abort control records, never copied)."""
    for t in range(1, end + 1):
        src, dst = source(t), target(t)
        h.add("probe", float(t), name="replication_lag", flow=FLOW, topic="orders",
              source_end=src, target_end=dst, lag=src - dst, mm2_alive=True,
              txn=True)  # fmt: skip
    return h


def test_a_transactional_topic_s_idle_gap_is_no_stall() -> None:
    # Written until t=20, copied at once but for 3 control records per second; then idle.
    markers = lambda t: 3 * min(t, 20)  # noqa: E731
    h = _txn_probes(H(), lambda t: 13 * min(t, 20), lambda t: 10 * min(t, 20), 40)
    assert all(e["lag"] == markers(e["t"]) for e in h.events)
    f = check(h)["replication"].figures["flows"][FLOW]
    assert f["stalls"] == [], f["stalls"]


def test_a_transactional_topic_s_copy_that_stops_while_written_is_a_stall() -> None:
    # Written throughout; MM2 takes nothing from t=10 to t=20.
    h = _txn_probes(H(), lambda t: 13 * t, lambda t: 10 * min(t, 10) + 10 * max(0, t - 20), 30)
    f = check(h)["replication"].figures["flows"][FLOW]
    (stall,) = f["stalls"]
    assert (stall["kind"], stall["start_t"], stall["end_t"]) == ("data", 10.0, 21.0)


# -- a flow that never catches up (seen in a 12-minute drill at 5,000 msg/s, session 15) --------
def slow_copy(*, copy_rate: int, end: int = 80) -> H:
    """A 20 s cut (t 20..40); from the heal the target copies ``copy_rate`` records a second
    while the source still grows RATE a second; heartbeats come back at once."""
    frozen = _steady(20)

    def target(t: int) -> int:
        return _steady(t) if t <= 20 else (frozen if t <= 40 else frozen + copy_rate * (t - 40))

    def age(t: int) -> float:
        return float(t - 20) if 20 < t <= 40 else 1.0

    h = _probes(H().add("run.start", 0.0, run_id="r", scenario="s", seed=1), end, target, age)
    return _sorted(_fault(h, 20.0, 40.0))


def test_a_flow_that_never_catches_up_is_a_lower_bound_and_a_finding() -> None:
    v = check(slow_copy(copy_rate=RATE // 2))["replication"]  # half the write rate
    f1 = v.figures["flows"][FLOW]["per_fault"]["f1"]
    assert f1["data_resumed_after_heal_s"] == 1.0  # copying again at once ...
    assert f1["caught_up_after_heal_s"] is None  # ... but never back to the steady lag
    assert f1["behind_after_heal_at_least_s"] == 40.0  # heal t=40 -> last probe t=80
    assert f1["lag_at_last_probe"] == RATE * 80 - (_steady(20) + (RATE // 2) * 40)
    # The recovery figure is that lower bound: FAIL above the target, UNKNOWN under it.
    assert v.figures["max_recovery_after_heal_s"] == 40.0
    assert v.figures["max_recovery_is_lower_bound"] is True
    assert _judge(40.0, lower_bound=True, target=30) == "FAIL"
    assert _judge(40.0, lower_bound=True, target=120) == "UNKNOWN"
    report = judge(slow_copy(copy_rate=RATE // 2).frames(), {"max_lost": None}, error=None)
    (found,) = [f for f in derive_findings(report) if "never caught up" in f["text"]]
    assert found["severity"] == "high" and FLOW in found["text"] and "F1" in found["text"]
    assert f"{f1['lag_at_last_probe']:,}" in found["text"]


def test_a_flow_that_drains_its_backlog_is_no_lower_bound() -> None:
    v = check(slow_copy(copy_rate=3 * RATE))["replication"]  # drains 20 a second
    f1 = v.figures["flows"][FLOW]["per_fault"]["f1"]
    assert f1["caught_up_after_heal_s"] is not None
    assert f1["behind_after_heal_at_least_s"] is None and f1["lag_at_last_probe"] is None
    assert v.figures["max_recovery_is_lower_bound"] is False
    report = judge(slow_copy(copy_rate=3 * RATE).frames(), {"max_lost": None}, error=None)
    assert not [f for f in derive_findings(report) if "never caught up" in f["text"]]
