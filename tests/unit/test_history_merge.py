"""Merging workers' history segments into the run's history (history/merge.py): one stream in
t order, seq renumbered (in the column and in every JSON-stored event), nothing lost or added,
a crash-cut segment kept to its last whole batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kafkadrill.history import Ev, HistoryError, HistoryWriter, load_frames, read_history
from kafkadrill.history.columnar import iter_event_dicts
from kafkadrill.history.columnar_writer import ColumnarHistoryWriter
from kafkadrill.history.merge import merge_segments, segment_paths


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _three(tmp_path: Path) -> tuple[_Clock, HistoryWriter, list[HistoryWriter]]:
    clock = _Clock()
    main = ColumnarHistoryWriter(tmp_path / "history.arrow", "r", clock=clock)
    segs: list[HistoryWriter] = [
        ColumnarHistoryWriter(
            tmp_path / f"history.w{i}.arrow", "r", clock=clock, origin=main.origin
        )
        for i in range(2)
    ]
    return clock, main, segs


def _strip(e: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, repr(v)) for k, v in e.items() if k != "seq"))


def test_segments_merge_in_t_order_with_seq_renumbered(tmp_path: Path) -> None:
    clock, main, segs = _three(tmp_path)
    main.append(Ev.RUN_START, run_id="r", scenario="s", seed=1, runtime="local")
    lines = [w.send_lines(f"p{i}", "primary", "orders") for i, w in enumerate(segs)]
    for step in range(300):
        clock.now += 0.001 * (1 + step % 3)
        w = step % 3
        if w == 2:
            if step % 30 == 2:
                main.append(Ev.PHASE, name=f"phase-{step}")  # JSON-stored, with its own seq
            continue
        lines[w].invoke(step, f"k{step % 5}", 100)
        if step % 4:
            lines[w].ok(step, step % 3, step, 1_000 + step)
        if step == 151:
            segs[w].append(Ev.PHASE, name="in-a-segment")  # a JSON row inside a segment
    clock.now += 1
    main.append(Ev.RUN_END, status="completed", error=None)
    for w in [main, *segs]:
        w.close()
    before = [list(iter_event_dicts(w.path)) for w in [main, *segs]]
    assert segment_paths(tmp_path) == [s.path for s in segs]

    n = merge_segments(main.path, [s.path for s in segs])

    merged = list(iter_event_dicts(main.path))
    assert n == len(merged) == sum(len(b) for b in before)
    assert [e["seq"] for e in merged] == list(range(n))  # the JSON objects' seq too
    assert [e["t"] for e in merged] == sorted(e["t"] for e in merged)
    assert sorted(map(_strip, merged)) == sorted(_strip(e) for b in before for e in b)
    assert merged[0]["type"] == Ev.RUN_START and merged[-1]["type"] == Ev.RUN_END
    assert not segment_paths(tmp_path)  # folded in, then removed
    frames = load_frames(main.path)  # validates seq and every event
    assert len(frames.invoke) == 200 and len(frames.ok) == 150
    assert read_history(main.path) == merged


def test_a_crash_cut_segment_keeps_its_whole_batches(tmp_path: Path) -> None:
    clock, main, segs = _three(tmp_path)
    main.append(Ev.RUN_START, run_id="r", scenario="s", seed=1, runtime="local")
    lines = segs[0].send_lines("p0", "primary", "orders")
    for i in range(10):
        clock.now += 0.01
        lines.invoke(i, "k", 100)
    segs[0].flush()
    for i in range(10, 20):
        lines.invoke(i, "k", 100)
    segs[0].flush()
    for w in [main, *segs]:
        w.close()
    data = segs[0].path.read_bytes()
    segs[0].path.write_bytes(data[: len(data) - 40])  # the last batch cut, no end marker
    merge_segments(main.path, [s.path for s in segs])
    ids = [e["id"] for e in read_history(main.path) if e["type"] == Ev.SEND_INVOKE]
    assert ids == [f"p0:{i}" for i in range(10)]


def test_only_columnar_histories_merge(tmp_path: Path) -> None:
    plain = HistoryWriter(tmp_path / "history.jsonl", "r")
    plain.append(Ev.PHASE, name="x")
    plain.close()
    seg = ColumnarHistoryWriter(tmp_path / "history.w0.arrow", "r")
    seg.close()
    with pytest.raises(HistoryError, match="only columnar"):
        merge_segments(plain.path, [seg.path])
    assert seg.path.exists()  # nothing touched


def test_a_run_with_unmerged_segments_is_refused_until_merged(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kafkadrill.cli import main
    from kafkadrill.report.build import recheck

    _, history, segs = _three(tmp_path)
    history.append(Ev.RUN_START, run_id="r", scenario="s", seed=1, runtime="local")
    segs[1].send_lines("p1", "primary", "orders").invoke(0, "k", 100)
    for w in [history, *segs]:
        w.close()

    def no_subject(_: Path) -> Any:
        raise AssertionError("refused before the scenario is read")

    with pytest.raises(HistoryError, match=r"2 workload worker segment\(s\) not merged.*merge"):
        recheck(tmp_path, tmp_path / "out", no_subject)
    result = CliRunner().invoke(main, ["history", "merge", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "2 segment(s) merged: 2 events" in result.output
    assert not segment_paths(tmp_path)
    assert [e["type"] for e in read_history(history.path)] == ["run.start", "send.invoke"]
    again = CliRunner().invoke(main, ["history", "merge", str(tmp_path)])
    assert again.exit_code == 0 and "nothing to merge" in again.output


def test_a_segment_on_its_own_clock_is_moved_onto_the_runners(tmp_path: Path) -> None:
    """A worker on another host stamps on its own clock; the merge adds the correction of its
    clock exchanges (the runner's worker.clock events) to t, and sets wall from the runner's."""
    clock = _Clock()
    main = ColumnarHistoryWriter(tmp_path / "history.arrow", "r", clock=clock)
    main.append(Ev.RUN_START, run_id="r", scenario="s", seed=1, runtime="local")
    clock.now += 40.0
    # No origin: the worker's t starts at 0 here, 40 s behind the runner's.
    seg = ColumnarHistoryWriter(tmp_path / "history.w0.arrow", "r", clock=clock)
    clock.now += 1.0
    # Each ping: the runner's t, the worker's (read 0.1 ms later), the runner's 0.2 ms later.
    samples = [[main.now(), seg.now() + 0.0001, main.now() + 0.0002] for _ in range(3)]
    main.append(Ev.WORKER_CLOCK, worker="w0", at="start", samples=samples, shared=False)
    line = seg.send_lines("p0", "primary", "orders")
    for step in range(5):
        clock.now += 0.5
        line.invoke(step, "k", 10)
        main.append(Ev.PHASE, name=f"runner-{step}")
    seg.append(Ev.PHASE, name="in-the-segment")  # a JSON row: its own t and wall move too
    clock.now += 0.5
    main.append(Ev.RUN_END, status="completed", error=None)
    for w in (main, seg):
        w.close()
    t_worker = [e["t"] for e in iter_event_dicts(seg.path)]

    merge_segments(main.path, [seg.path])

    merged = list(iter_event_dicts(main.path))
    mine = [e for e in merged if e["type"] in ("send.invoke", "phase") and
            e.get("producer", e.get("name")) in ("p0", "in-the-segment")]  # fmt: skip
    # Moved by +40 s (the middle of bounds 0.0001 s wide): within 0.1 ms of the runner's t.
    assert [e["t"] for e in mine] == pytest.approx([t + 40.0 for t in t_worker], abs=1e-4)
    assert all(e["wall"] == pytest.approx(main.t0_wall + e["t"]) for e in merged)
    assert [e["type"] for e in merged][-3:] == ["send.invoke", "phase", "run.end"]
    assert [e["seq"] for e in merged] == list(range(len(merged)))


def test_a_drifting_segment_is_mapped_by_its_clock_model(tmp_path: Path) -> None:
    """A worker clock that runs 200 ppm fast: one fixed offset fits no pair of exchanges an
    hour apart, so the merge maps its t by the offset and the drift its pings allow."""
    clock = _Clock()
    main = ColumnarHistoryWriter(tmp_path / "history.arrow", "r", clock=clock)
    main.append(Ev.RUN_START, run_id="r", scenario="s", seed=1, runtime="local")
    clock.now += 5.0
    seg = ColumnarHistoryWriter(
        tmp_path / "history.w0.arrow", "r", clock=lambda: clock.now * (1 + 200e-6)
    )

    def exchange(at: str) -> None:
        samples = []
        for _ in range(8):
            sent = main.now()
            clock.now += 0.00002
            samples.append([sent, seg.now(), main.now() + 0.00002])
            clock.now += 0.00005
        main.append(Ev.WORKER_CLOCK, worker="w0", at=at, samples=samples, shared=False)

    exchange("start")
    line = seg.send_lines("p0", "primary", "orders")
    runner_t = []
    for step in range(6):
        clock.now += 600.0
        runner_t.append(main.now())
        line.invoke(step, "k", 10)
    exchange("end")
    main.append(Ev.RUN_END, status="completed", error=None)
    for w in (main, seg):
        w.close()

    merge_segments(main.path, [seg.path])

    sends = [e["t"] for e in iter_event_dicts(main.path) if e["type"] == "send.invoke"]
    # Uncorrected, the last send would be 0.72 s off (200 ppm of an hour); mapped, each is
    # within the pings' round trip (70 us) of the runner's t.
    assert sends == pytest.approx(runner_t, abs=7e-5)
