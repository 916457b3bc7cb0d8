"""The clocks checker on hand-made ``worker.clock`` exchanges: the offset bounds are the
intersection of every ping's interval, and a worker whose stamps are not on the runner's clock
makes the verdict UNKNOWN, never PASS."""

from __future__ import annotations

from typing import Any

import pytest

from kafkadrill.checkers import run_checkers
from kafkadrill.checkers.clocks import check_clocks
from kafkadrill.history.clocks import offset_bounds
from kafkadrill.history.frames import frames_from_events


def _history(*exchanges: tuple[str, list[list[float]], bool]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"seq": 0, "t": 0.0, "wall": 1e9, "type": "run.start", "run_id": "r", "scenario": "s",
         "seed": 1},
    ]  # fmt: skip
    for i, (worker, samples, shared) in enumerate(exchanges, start=1):
        events.append(
            {"seq": i, "t": float(i), "wall": 1e9 + i, "type": "worker.clock", "worker": worker,
             "at": "start" if i == 1 else "end", "samples": samples, "shared": shared}
        )  # fmt: skip
    return events


def test_bounds_are_the_tightest_pings() -> None:
    # Offset 0.010: the worker read its clock 10 ms ahead of the runner's.
    samples = [[1.0, 1.015, 1.020], [2.0, 2.011, 2.003], [3.0, 3.010, 3.001]]
    lo, hi = offset_bounds(samples)
    assert lo == pytest.approx(0.009) and hi == pytest.approx(0.010)


def test_no_worker_is_not_applicable() -> None:
    v = check_clocks(frames_from_events(_history()))
    assert v.status == "PASS" and v.figures == {"applicable": False}


def test_a_shared_clock_within_the_round_trip_passes() -> None:
    start = [[1.0, 1.0002, 1.0005], [1.001, 1.0011, 1.0013]]
    end = [[50.0, 50.0001, 50.0004]]
    v = run_checkers(frames_from_events(_history(("w0", start, True), ("w0", end, True))))["clocks"]
    assert v.status == "PASS", v.notes
    w0 = v.figures["workers"]["w0"]
    assert w0["exchanges"] == ["start", "end"] and w0["pings"] == 3 and w0["shared"]
    assert w0["offset_min_seconds"] == pytest.approx(-0.0002)
    assert w0["offset_max_seconds"] == pytest.approx(0.0001)
    assert w0["round_trip_min_seconds"] == pytest.approx(0.0003)
    assert w0["correction_seconds"] == 0.0 and w0["uncertainty_seconds"] == pytest.approx(0.0002)
    assert v.figures["max_uncertainty_seconds"] == pytest.approx(0.0002)


def test_an_own_clock_is_corrected_by_a_model_its_pings_allow() -> None:
    # A worker whose clock reads 100 s behind the runner's (another host's monotonic clock).
    start = [[5.0, -94.9995, 5.001], [6.0, -93.9998, 6.0004]]
    end = [[60.0, -39.9997, 60.0005]]
    v = check_clocks(frames_from_events(_history(("w0", start, False), ("w0", end, False))))
    assert v.status == "PASS", v.notes
    w0 = v.figures["workers"]["w0"]
    assert (w0["offset_min_seconds"], w0["offset_max_seconds"]) == pytest.approx(
        (-100.0002, -99.9998), abs=1e-9
    )
    # The true clock (offset -100 s, no drift) is one the pings allow: the model is within
    # its uncertainty of it, which is within the pings' widths.
    assert w0["drift_min_ppm"] <= 0.0 <= w0["drift_max_ppm"]
    # At most the widest intervals' spread over the ~54 s between the exchanges.
    assert w0["drift_max_ppm"] - w0["drift_min_ppm"] < (0.0004 + 0.0005) / 53.99 * 1e6
    assert abs(w0["correction_seconds"] - 100.0) <= w0["uncertainty_seconds"] <= 0.0004
    assert w0["fits"] and v.figures["max_uncertainty_seconds"] == w0["uncertainty_seconds"]


def _pings(at: float, offset: float, drift: float, n: int = 8) -> list[list[float]]:
    """``n`` pings back to back from runner time ``at`` (as the runner sends them), 70 us round
    trips, to a clock reading ``t + offset + drift * t``; the worker reads it at varying points
    of each round trip."""
    out = []
    for k in range(n):
        sent = at + 0.0001 * k
        read = sent + 0.00007 * (k % 4 + 1) / 5
        out.append([sent, read + offset + drift * read, sent + 0.00007])
    return out


def test_a_drifting_own_clock_is_corrected_by_its_drift() -> None:
    # 20 ppm over an hour: 72 ms, far more than any ping's 70 us allows one fixed offset.
    ex = [("w0", _pings(10.0, -500.0, 20e-6), False), ("w0", _pings(3610.0, -500.0, 20e-6), False)]
    v = check_clocks(frames_from_events(_history(*ex)))
    assert v.status == "PASS", v.notes
    w0 = v.figures["workers"]["w0"]
    assert w0["offset_min_seconds"] > w0["offset_max_seconds"]  # no fixed offset fits
    assert w0["drift_min_ppm"] <= 20.0 <= w0["drift_max_ppm"]
    assert w0["drift_ppm"] == pytest.approx(20.0, abs=0.05)
    assert w0["uncertainty_seconds"] < 0.00007
    assert any("drifted +20.0" in n for n in v.notes)


def test_an_own_clock_that_jumps_is_unknown() -> None:
    # The end exchange finds the clock 2 s on: more than 500 ppm over the hour allows.
    ex = [("w0", _pings(10.0, -500.0, 0.0), False), ("w0", _pings(3610.0, -498.0, 0.0), False)]
    v = check_clocks(frames_from_events(_history(*ex)))
    assert v.status == "UNKNOWN" and "w0: no clock model fits its 16 pings" in v.notes[0]
    assert v.figures["workers"]["w0"]["uncertainty_seconds"] is None


def test_an_own_clock_measured_once_grows_uncertain_with_time() -> None:
    # Killed before its end exchange: its drift is bounded only by the 500 ppm any clock keeps,
    # so its events until the history's end (here t = 1000) may be up to ~0.5 s off.
    events = _history(("w0", _pings(10.0, -500.0, 0.0), False))
    events.append({"seq": 2, "t": 1000.0, "wall": 1e9 + 1000, "type": "run.end", "status": "ok"})
    v = check_clocks(frames_from_events(events))
    w0 = v.figures["workers"]["w0"]
    assert v.status == "PASS" and w0["exchanges"] == ["start"]
    assert (w0["drift_min_ppm"], w0["drift_max_ppm"]) == pytest.approx((-500.0, 500.0))
    assert 0.4 < w0["uncertainty_seconds"] < 0.6


@pytest.mark.parametrize(
    ("samples", "why"),
    [
        # Every ping says the worker runs 5 s ahead: not the runner's clock.
        ([[1.0, 6.0, 1.001], [2.0, 7.0, 2.001]], "should stamp on the runner's clock"),
        # The offset moved by 1 s between two pings: no single offset fits.
        ([[1.0, 1.0005, 1.001], [2.0, 3.0005, 2.001]], "no single clock offset fits"),
    ],
)
def test_a_clock_off_the_runners_is_unknown(samples: list[list[float]], why: str) -> None:
    v = check_clocks(frames_from_events(_history(("w1", samples, True))))
    assert v.status == "UNKNOWN" and why in v.notes[0] and "w1" in v.notes[0]


def test_an_own_clock_never_measured_is_unknown() -> None:
    v = check_clocks(frames_from_events(_history(("w2", [], False))))
    assert v.status == "UNKNOWN" and "w2 never answered a clock exchange" in v.notes[0]
