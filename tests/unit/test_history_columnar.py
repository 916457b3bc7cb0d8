"""The columnar history (history.arrow): what is written is read back exactly, a crash loses at
most the last batch, odd values keep their JSON, and a drill written columnar is judged as
its JSON Lines export is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from kafkadrill.checkers import run_checkers
from kafkadrill.cli import main
from kafkadrill.history import (
    Ev,
    HistoryError,
    HistoryWriter,
    load_frames,
    open_history,
    read_history,
)
from kafkadrill.history.columnar import BATCH_INTERVAL_S, MAGIC, is_columnar, read_store
from kafkadrill.history.columnar_writer import ColumnarHistoryWriter, write_events


def _drive(w: HistoryWriter) -> None:
    """The same appends on any writer: every hot path, odd values, rare events."""
    w.append(Ev.RUN_START, run_id="r", scenario="s", seed=1, runtime="local")
    sends = w.send_lines("p0", "primary", "orders")
    for i in range(50):
        sends.invoke(i, f"k{i % 3}" if i % 7 else None, 100 + i)
        sends.ok(i, i % 3, None if i == 9 else i, 1_000 + i)
    sends.fail(50, "KafkaError{code=MSG_SIZE_TOO_LARGE}")
    w.append(Ev.SEND_UNKNOWN, producer="p0", id="p0:53", cluster="primary", topic="orders",
             error="timed out")  # fmt: skip
    for i, hdr in enumerate(
        [
            None,
            {},
            {"kd-id": "p0:1", "kd-origin-site": "east", "kd-origin-cluster": "primary"},
            {"kd-schema-id": "7", "kd-id": "p0:2"},
            {"kd-other": "x"},  # an unknown header: the whole event as JSON
        ]
    ):
        w.append(Ev.RECV, reader="final", group=None if i % 2 else "g", final=bool(i % 2),
                 cluster="dr", topic="primary.orders", partition=i, offset=10 + i, ts=5,
                 id=None if i == 0 else f"p0:{i}", hdr=hdr)  # fmt: skip
    w.append(Ev.PHASE, name="faults")
    w.append(Ev.RUN_END, status="completed", error=None)


def _same_stamps(path: Path) -> list[dict[str, Any]]:
    events = read_history(path, validate=True)
    for e in events:  # the writers' clocks differ; everything else must not
        e["t"] = e["wall"] = 0.0
    return events


def test_columnar_events_equal_json_lines_events(tmp_path: Path) -> None:
    for name in ("history.jsonl", "history.arrow"):
        with open_history(tmp_path / name, "r") as w:
            _drive(w)
    assert is_columnar(tmp_path / "history.arrow")
    assert not is_columnar(tmp_path / "history.jsonl")
    assert (tmp_path / "history.arrow").read_bytes()[:4] == MAGIC
    a, b = _same_stamps(tmp_path / "history.jsonl"), _same_stamps(tmp_path / "history.arrow")
    # hdr key order is the columns' order in the columnar history: compare as dicts.
    assert a == b
    assert [e["seq"] for e in b] == list(range(len(b)))
    ja, jb = (run_checkers(tmp_path / n) for n in ("history.jsonl", "history.arrow"))
    # Two writers, two clocks: the verdicts agree (the figures' times differ).
    assert {k: v.status for k, v in ja.items()} == {k: v.status for k, v in jb.items()}


def test_the_frames_of_both_formats_are_equal(tmp_path: Path) -> None:
    with open_history(tmp_path / "h.jsonl", "r") as w:
        _drive(w)
    write_events(tmp_path / "h.arrow", read_history(tmp_path / "h.jsonl"), batch_rows=5)
    fa, fb = load_frames(tmp_path / "h.jsonl"), load_frames(tmp_path / "h.arrow")
    for family in ("invoke", "ok", "fail", "unknown", "recv"):
        left, right = getattr(fa, family), getattr(fb, family)
        assert left.astype(object).equals(right.astype(object)), family
    assert fa.events == fb.events
    assert fa.ids.to_pylist() == fb.ids.to_pylist()


def test_a_stream_cut_anywhere_reads_as_its_whole_batches(tmp_path: Path) -> None:
    events = [
        {"seq": i, "t": i / 10, "wall": 1e9 + i, "type": "phase", "name": f"p{i}"}
        for i in range(40)
    ]
    whole = tmp_path / "whole.arrow"
    write_events(whole, events, batch_rows=10)
    data = whole.read_bytes()
    seen: set[int] = set()
    for cut in range(0, len(data), 97):
        part = tmp_path / f"cut{cut}.arrow"
        part.write_bytes(data[:cut])
        got = read_history(part, validate=True) if cut else []
        assert got == events[: len(got)]  # a prefix, never a corrupt event
        assert len(got) % 10 == 0  # whole batches only
        seen.add(len(got))
    assert seen == {0, 10, 20, 30}
    assert read_history(whole) == events


def test_a_value_of_the_wrong_type_is_kept_and_refused_as_in_json_lines(tmp_path: Path) -> None:
    # The writers never crash a drill over a value's type; the readers then name the event.
    for name in ("h.jsonl", "h.arrow"):
        with open_history(tmp_path / name, "r") as w:
            w.send_lines("p0", "primary", "orders").invoke(0, "k", True)  # a bool is no int
        assert read_history(tmp_path / name)[0]["size"] is True
        with pytest.raises(HistoryError, match="'size' must be int"):
            read_history(tmp_path / name, validate=True)


def test_a_file_that_starts_like_arrow_but_is_not_a_history_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "h.arrow"
    bad.write_bytes(MAGIC + os.urandom(4096))
    with pytest.raises(HistoryError, match=r"h\.arrow"):
        load_frames(bad)


def test_a_gap_in_seq_is_named(tmp_path: Path) -> None:
    events = [{"seq": s, "t": 0.0, "wall": 0.0, "type": "phase", "name": "x"} for s in (0, 1, 3)]
    write_events(tmp_path / "h.arrow", events)
    with pytest.raises(HistoryError, match="seq 3 where 2 was expected"):
        load_frames(tmp_path / "h.arrow")


def test_concurrent_appends_keep_seq_order(tmp_path: Path) -> None:
    w = ColumnarHistoryWriter(tmp_path / "h.arrow", "r")

    def producer(name: str) -> None:
        lines = w.send_lines(name, "primary", "orders")
        for i in range(2_000):
            lines.invoke(i, None, 1)
            lines.ok(i, 0, i, 1)

    threads = [threading.Thread(target=producer, args=(f"p{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for i in range(500):
        w.append(Ev.PHASE, name=f"x{i}")
    for t in threads:
        t.join()
    w.close()
    table = read_store(tmp_path / "h.arrow")  # validates seq 0, 1, 2, ...
    assert table.num_rows == 4 * 4_000 + 500
    t = table["t"].to_pylist()
    assert t == sorted(t)  # stamped under the lock that orders seq


_KILLED_WRITER = """
import sys, time
from pathlib import Path
from kafkadrill.history.columnar_writer import ColumnarHistoryWriter
w = ColumnarHistoryWriter(Path(sys.argv[1]), "r")
lines = w.send_lines("p0", "primary", "orders")
i = 0
while True:
    lines.invoke(i, None, 1)
    i += 1
    if i % 1000 == 0:
        print(i, flush=True)
        time.sleep(0.01)
"""


def test_a_sigkilled_writer_loses_at_most_its_last_batch(tmp_path: Path) -> None:
    path = tmp_path / "h.arrow"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_KILLED_WRITER), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    time.sleep(3 * BATCH_INTERVAL_S)
    before = int(proc.stdout.readline())  # appended at least this many ...
    time.sleep(2 * BATCH_INTERVAL_S)  # ... more than one batch interval before the kill
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    got = read_history(path, validate=True)
    assert len(got) >= before
    assert [e["id"] for e in got] == [f"p0:{i}" for i in range(len(got))]


def test_history_export_writes_json_lines_that_judge_the_same(tmp_path: Path) -> None:
    with open_history(tmp_path / "history.arrow", "r") as w:
        _drive(w)
    out = tmp_path / "exported.jsonl"
    result = CliRunner().invoke(main, ["history", "export", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_bytes().splitlines()
    assert [orjson.loads(x) for x in lines] == read_history(tmp_path / "history.arrow")
    a = {k: v.to_dict() for k, v in run_checkers(out).items()}
    b = {k: v.to_dict() for k, v in run_checkers(tmp_path / "history.arrow").items()}
    assert a == b
    again = CliRunner().invoke(main, ["history", "export", str(tmp_path), "-o", str(out)])
    assert again.exit_code == 2 and "exists" in again.output
