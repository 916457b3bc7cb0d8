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


def test_an_own_clock_is_corrected_by_the_middle_of_its_bounds() -> None:
    # A worker whose clock reads 100 s behind the runner's (another host's monotonic clock).
    start = [[5.0, -94.9995, 5.001], [6.0, -93.9998, 6.0004]]
    end = [[60.0, -39.9997, 60.0005]]
    v = check_clocks(frames_from_events(_history(("w0", start, False), ("w0", end, False))))
    assert v.status == "PASS", v.notes
    w0 = v.figures["workers"]["w0"]
    assert (w0["offset_min_seconds"], w0["offset_max_seconds"]) == pytest.approx(
        (-100.0002, -99.9998), abs=1e-9
    )
    assert w0["correction_seconds"] == pytest.approx(100.0, abs=1e-9)
    assert w0["uncertainty_seconds"] == pytest.approx(0.0002, abs=1e-9)


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
