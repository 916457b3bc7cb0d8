"""Plots never raise on odd histories, and are byte-stable (stable manifests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkadrill.report.plots import (
    consumer_lag_series,
    fault_bands,
    plot_consumer_lag,
    plot_lost,
    plot_rates,
    plot_replication_lag,
    read_events,
    render_plots,
    runbook_marks,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sample_run"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return read_events(FIXTURE / "history.jsonl")


@pytest.mark.parametrize(
    "history",
    [
        [],
        [{"seq": 0, "t": 0.0, "type": "run.start"}],
        [
            {"seq": 0, "type": "send.ok"},
            {"seq": 1, "t": None, "type": "recv"},
            {"seq": 2, "t": float("nan"), "type": "fault.inject"},
        ],
        [{"seq": 0, "t": 5.0, "type": "fault.inject", "fault_id": "x"}],  # never healed
    ],
    ids=["empty", "start-only", "odd-fields", "unhealed-fault"],
)
def test_every_plot_survives_odd_histories(tmp_path: Path, history: list[dict]) -> None:
    for fn in (plot_rates, plot_consumer_lag):
        assert fn(history, tmp_path / f"{fn.__name__}.png").read_bytes().startswith(PNG)
    assert plot_lost(history, [], tmp_path / "lost.png").read_bytes().startswith(PNG)
    assert plot_replication_lag(history, tmp_path / "lag.png") is None


def test_bands_and_marks(events: list[dict]) -> None:
    bands = fault_bands(events)
    assert [(b.tag, b.start, b.end, b.healed) for b in bands] == [
        ("F1", 5.0, 7.0, True),
        ("F2", 12.0, 30.0, True),
    ]
    marks = runbook_marks(events)
    assert [m.tag for m in marks] == ["R1", "R2", "R3", "R4", "R5"]
    assert marks[0].t == 14.0 and "detect" in marks[0].label


def test_consumer_lag_counts_distinct_ids_per_group(events: list[dict]) -> None:
    _, series = consumer_lag_series(events)
    assert set(series) == {"billing", "analytics"}
    # re-reads never make a group look ahead of what was acked
    assert min(series["billing"].min(), series["analytics"].min()) >= 0


def test_lost_plot_says_when_it_shows_a_sample(tmp_path: Path, events: list[dict]) -> None:
    lost = [
        {"id": "p1:96", "send_t": 10.5, "cluster": "primary", "topic": "orders", "partition": 0}
    ]
    assert plot_lost(events, lost, tmp_path / "l.png", total=15).is_file()
    assert plot_lost(events, [{"id": "x"}], tmp_path / "n.png", total=3).is_file()


def test_render_plots_is_byte_stable(tmp_path: Path, events: list[dict]) -> None:
    a = render_plots(events, tmp_path / "a")
    b = render_plots(events, tmp_path / "b")
    assert list(a) == ["rates", "replication_lag", "lost", "consumer_lag"]
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes(), key


def test_plots_drawn_in_two_processes_equal_plots_drawn_in_one(
    tmp_path: Path, events: list[dict]
) -> None:
    lost = [{"id": "p1:96", "send_t": 10.5, "cluster": "primary", "topic": "orders"}]
    a = render_plots(events, tmp_path / "a", lost=lost, parallel=False)
    b = render_plots(events, tmp_path / "b", lost=lost, parallel=True)
    assert list(a) == list(b)
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes(), key


def test_consumer_lag_ignores_foreign_records(tmp_path: Path) -> None:
    """Records without a kafkadrill id are not messages: they never lower a group's lag."""
    hdr = {"kd-origin-site": "east"}
    history = [
        {"seq": 0, "t": 0.5, "wall": 1.5, "type": "send.ok", "producer": "p0", "id": "p0:0",
         "cluster": "c", "topic": "orders", "partition": 0, "offset": 0, "ts": 1},
        *[
            {"seq": 1 + i, "t": 1.0 + i, "wall": 2.0 + i, "type": "recv", "reader": "r",
             "group": "g", "final": False, "cluster": "c", "topic": "orders", "partition": 0,
             "offset": 1 + i, "ts": 1, "id": None, "hdr": hdr}
            for i in range(3)
        ],
    ]  # fmt: skip
    _, series = consumer_lag_series(history)
    assert series == {}  # the group received no message at all


def test_read_events_skips_a_truncated_last_line(tmp_path: Path) -> None:
    p = tmp_path / "h.jsonl"
    p.write_bytes(b'{"seq":0,"t":0.0,"type":"run.start"}\n{"seq":1,"t":0.1,"ty')
    assert [e["seq"] for e in read_events(p)] == [0]
