"""HistoryWriter / read_history / load_frames: ordering, durability, tolerance, fast == exact."""

from __future__ import annotations

import ast
import gzip
import re
import threading
import time
from pathlib import Path

import orjson
import pandas as pd
import pytest

from kafkadrill.history import (
    EVENTS,
    Ev,
    HistoryError,
    HistoryWriter,
    event_table_markdown,
    load_frames,
    read_history,
    validate_event,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.5
        return self.now


def test_stamps_seq_t_wall_on_one_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    with HistoryWriter(tmp_path / "h.jsonl", "r1", clock=clock) as w:
        w.append("run.start", run_id="r1", scenario="s", seed=1)
        w.append("phase", name="steady")
    ev = read_history(tmp_path / "h.jsonl")
    assert [e["seq"] for e in ev] == [0, 1]
    assert [e["t"] for e in ev] == [0.5, 1.0]
    assert [e["wall"] - w.t0_wall for e in ev] == pytest.approx([0.5, 1.0])
    assert ev[0] == {**ev[0], "type": "run.start", "run_id": "r1", "scenario": "s", "seed": 1}


def test_threads_append_unique_increasing_seqs(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    w = HistoryWriter(path, "r1")
    n_threads, per = 8, 2_000

    def work(k: int) -> None:
        for i in range(per):
            w.append(
                "send.invoke",
                producer=f"p{k}",
                id=f"p{k}:{i}",
                cluster="c",
                topic="t",
                key=None,
                size=1,
            )

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    w.close()
    ev = read_history(path)
    seqs = [e["seq"] for e in ev]
    assert seqs == list(range(n_threads * per))  # unique, increasing in file order, no gaps
    ts = [e["t"] for e in ev]
    assert ts == sorted(ts)
    # every producer's own events stay in its program order
    for k in range(n_threads):
        mine = [int(e["id"].split(":")[1]) for e in ev if e["producer"] == f"p{k}"]
        assert mine == list(range(per))


def test_background_flush_reaches_the_os_without_close(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    w = HistoryWriter(path, "r1")
    w.append("phase", name="steady")
    # Not a timing assertion: just wait (generously) until the flusher has written the line.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not path.read_bytes():
        time.sleep(0.01)
    assert read_history(path)[0]["name"] == "steady"
    w.close()


def test_close_idempotent_and_append_after_close_raises(tmp_path: Path) -> None:
    w = HistoryWriter(tmp_path / "h.jsonl", "r1")
    w.append("phase", name="a")
    w.close()
    w.close()
    with pytest.raises(RuntimeError, match="closed"):
        w.append("phase", name="b")


def test_refuses_existing_history_and_reserved_fields(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"seq":0}\n')
    with pytest.raises(FileExistsError):
        HistoryWriter(path, "r1")
    with HistoryWriter(tmp_path / "h2.jsonl", "r1") as w, pytest.raises(ValueError, match="seq"):
        w.append("phase", seq=3)


def test_odd_field_types_do_not_crash_the_writer(tmp_path: Path) -> None:
    with HistoryWriter(tmp_path / "h.jsonl", "r1") as w:
        w.append("probe", name="x", raw=b"\xffab", path=tmp_path, tags={"b", "a"}, pair=(1, 2))
    (e,) = read_history(tmp_path / "h.jsonl")
    assert e["raw"] == "\\xffab" and e["tags"] == ["a", "b"] and e["pair"] == [1, 2]
    assert e["path"] == str(tmp_path)


def _lines(n: int) -> bytes:
    return b"".join(
        orjson.dumps({"seq": i, "t": i / 10, "wall": 1.0 + i, "type": "phase", "name": f"n{i}"})
        + b"\n"
        for i in range(n)
    )


@pytest.mark.parametrize("tail", [b'{"seq":3,"t":0.3,"wa', b'{"seq":3,', b"{"])
def test_truncated_last_line_is_tolerated(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(_lines(3) + tail)
    assert [e["seq"] for e in read_history(path)] == [0, 1, 2]
    assert [e["seq"] for e in load_frames(path).events] == [0, 1, 2]


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(_lines(3).rstrip(b"\n"))
    assert len(read_history(path)) == 3
    assert len(load_frames(path).events) == 3


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(_lines(2) + b"garbage\n" + _lines(2))
    with pytest.raises(ValueError, match=":3: corrupt"):
        read_history(path)


def test_reads_gzip_even_truncated(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl.gz"
    blob = gzip.compress(_lines(500))
    path.write_bytes(blob)
    assert len(read_history(path)) == 500
    assert len(load_frames(path).events) == 500
    path.write_bytes(blob[: len(blob) // 2])  # a crash mid-compression
    got = read_history(path)
    assert 0 < len(got) < 500 and [e["seq"] for e in got] == list(range(len(got)))


def _sample_events() -> list[dict]:
    hdr = {"kd-origin-site": "east", "kd-origin-cluster": "primary", "kd-id": "p0:0"}
    ev = [
        {"type": "run.start", "run_id": "r", "scenario": "s", "seed": 1},
        {"type": "send.invoke", "producer": "p0", "id": "p0:0", "cluster": "primary",
         "topic": "orders", "key": "k", "size": 100},
        {"type": "send.ok", "producer": "p0", "id": "p0:0", "cluster": "primary",
         "topic": "orders", "partition": 2, "offset": 7, "ts": 1700000000000},
        {"type": "fault.inject", "fault_id": "f1", "fault": "x", "target": "east",
         "params": {"a": [1, "mixed", {"type": "nested"}]}},
        {"type": "send.invoke", "producer": "p0", "id": "p0:1", "cluster": "primary",
         "topic": "orders", "key": None, "size": 100},
        {"type": "send.fail", "producer": "p0", "id": "p0:1", "cluster": "primary",
         "topic": "orders", "error": "boom"},
        {"type": "send.unknown", "producer": "p0", "id": "p0:2", "cluster": "primary",
         "topic": "orders", "error": "timeout"},
        {"type": "commit", "reader": "c0", "group": "g", "cluster": "primary",
         "offsets": [["orders", 2, 8]]},
        {"type": "recv", "reader": "c0", "group": "g", "final": False, "cluster": "primary",
         "topic": "orders", "partition": 2, "offset": 7, "ts": 1700000000000, "id": "p0:0",
         "hdr": hdr},
        {"type": "recv", "reader": "final", "group": None, "final": True, "cluster": "dr",
         "topic": "primary.orders", "partition": 2, "offset": 3, "ts": 1700000000000,
         "id": "p0:0", "hdr": {**hdr, "kd-id": "zz:9", "extra": "x"}},
        {"type": "recv", "reader": "final", "group": None, "final": True, "cluster": "dr",
         "topic": "other", "partition": 0, "offset": 0, "ts": 1, "id": None, "hdr": {}},
        {"type": "probe", "name": "replication_lag", "lag": 3, "heartbeat_age_s": 0.5},
    ]  # fmt: skip
    return [{"seq": i, "t": i * 0.1, "wall": 1e9 + i * 0.1, **e} for i, e in enumerate(ev)]


def _norm(df: pd.DataFrame) -> pd.DataFrame:
    return df.reset_index(drop=True).astype({c: object for c in df.columns})


def test_fast_path_equals_exact_path(tmp_path: Path) -> None:
    events = _sample_events()
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    fast, exact = load_frames(path), load_frames(events)
    for fam in ("invoke", "ok", "fail", "unknown", "recv"):
        a, b = fast.with_ids(getattr(fast, fam)), exact.with_ids(getattr(exact, fam))
        pd.testing.assert_frame_equal(
            _norm(a.drop(columns="id_code")), _norm(b.drop(columns="id_code"))
        )
    rare = ("run.start", "fault.inject", "commit", "probe")
    assert fast.events == exact.events == [e for e in events if e["type"] in rare]


def test_frames_content(tmp_path: Path) -> None:
    f = load_frames(_sample_events())
    assert f.n_events == 12
    ok = f.ok.iloc[0]
    assert (ok["partition"], ok["offset"], ok["ts"]) == (2, 7, 1700000000000)
    assert f.id_text(ok["id_code"]) == "p0:0"
    r = f.recv
    assert list(r["final"]) == [False, True, True]
    assert list(r["id_code"])[2] == -1 and r["hdr_id_code"].iloc[2] == -1
    assert r["hdr_id_code"].iloc[0] == r["id_code"].iloc[0]
    assert f.id_text(r["hdr_id_code"].iloc[1]) == "zz:9"  # differing header kept, not lost
    assert str(r["origin_cluster"].iloc[0]) == "primary" and pd.isna(r["origin_site"].iloc[2])
    # cluster categories are shared across families
    assert list(f.ok["cluster"].cat.categories) == list(r["cluster"].cat.categories)
    assert f.with_ids(f.invoke)["id"].tolist() == ["p0:0", "p0:1"]
    prod, seq, names = f.id_parts()
    assert names[prod[ok["id_code"]]] == "p0" and seq[ok["id_code"]] == 0


def test_writer_output_loads_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path, "r") as w:
        for e in _sample_events():
            fields = {k: v for k, v in e.items() if k not in ("seq", "t", "wall", "type")}
            w.append(e["type"], **fields)
    f = load_frames(path)
    assert f.n_events == 12 and len(f.recv) == 3 and len(f.events) == 4


def test_hot_field_of_odd_type_is_named_by_the_exact_parse(tmp_path: Path) -> None:
    events = _sample_events()
    events[2]["partition"] = "2"  # pyarrow cannot convert this; the exact path names the line
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    with pytest.raises(HistoryError, match=r"h\.jsonl:3: send\.ok: field 'partition' must be int"):
        load_frames(path)
    # Without validation (a caller that wants whatever can be read) the odd value is coerced.
    f = load_frames(path, validate=False)
    assert len(f.ok) == 1 and int(f.ok["partition"].iloc[0]) == 2


def test_empty_history(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"")
    f = load_frames(path)
    assert f.n_events == 0 and f.end_t == 0.0
    assert load_frames([]).n_events == 0


# -- one definition per event type ------------------------------------------------------------
DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "history-format.md"
SRC = Path(__file__).resolve().parents[2] / "src" / "kafkadrill"


def test_doc_table_is_generated_from_the_definitions() -> None:
    text = DOC.read_text()
    m = re.search(r"<!-- BEGIN EVENT TABLE[^>]*-->\n(.*?)<!-- END EVENT TABLE -->", text, re.S)
    assert m, "history-format.md lost its generated event table markers"
    assert m.group(1) == event_table_markdown(), (
        "docs/reference/history-format.md and kafkadrill.history.EVENTS differ: paste "
        "event_table_markdown() between the markers"
    )


def _event_type(node: ast.expr) -> str | None:
    """The event type a string literal or an ``Ev.NAME`` stands for (None for anything else)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Attribute) and ast.unparse(node.value) == "Ev":
        return Ev[node.attr].value
    return None


def _append_calls() -> list[tuple[str, int, list[str], set[str], bool]]:
    """(file, line, event types, keyword names, has **kwargs) of every `<...>history.append(`
    call in the package whose first argument is a string literal or an ``Ev`` name (or a choice
    of two)."""
    out = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "append"
                and "history" in ast.unparse(node.func.value)
                and node.args
            ):
                continue
            arg = node.args[0]
            choices = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
            types = [_event_type(c) for c in choices if _event_type(c) is not None]
            kws = {k.arg for k in node.keywords if k.arg is not None}
            starred = any(k.arg is None for k in node.keywords)
            out.append((str(path.relative_to(SRC)), node.lineno, types, kws, starred))
    return out


def test_every_event_the_code_writes_matches_its_definition() -> None:
    calls = _append_calls()
    written = {t for _, _, types, _, _ in calls for t in types}
    # The family the workload writes must be found, or the scan is broken.
    assert {"send.invoke", "send.ok", "recv", "run.start", "run.end"} <= written
    for file, line, types, kws, starred in calls:
        for t in types:
            assert t in EVENTS, f"{file}:{line}: event type {t!r} is not defined in EVENTS"
            spec = EVENTS[t]
            assert starred or spec.required <= kws, f"{file}:{line}: {t} lacks fields"
            assert spec.extra or kws <= spec.allowed, f"{file}:{line}: {t} unknown fields"


def test_writer_rejects_unknown_types_and_misspelt_fields(tmp_path: Path) -> None:
    with HistoryWriter(tmp_path / "h.jsonl", "r") as w:
        with pytest.raises(ValueError, match=r"unknown history event type 'send\.okk'"):
            w.append("send.okk", producer="p0")
        with pytest.raises(ValueError, match=r"missing field\(s\) \['error'\]"):
            w.append("run.end", status="completed")
        with pytest.raises(ValueError, match=r"unknown field\(s\) \['partiton'\]"):
            w.append("send.ok", producer="p", id="p:0", cluster="c", topic="t",
                     partiton=0, partition=0, offset=0, ts=1)  # fmt: skip
        with pytest.raises(ValueError, match=r"missing field\(s\) \['partition'\]"):
            w.append("send.ok", producer="p", id="p:0", cluster="c", topic="t",
                     partiton=0, offset=0, ts=1)  # fmt: skip
        w.append("fault.inject", fault_id="f0", fault="node.kill", target={}, params={})
        w.append("fault.inject", fault_id="f1", fault="x", target=None, params={}, origin="t")
        w.append("probe", name="replication_lag", flow="a->b", lag=None, mm2_alive=True)
    # rejected events were never written: seq stays gap-free
    assert [e["fault_id"] for e in read_history(tmp_path / "h.jsonl")[:2]] == ["f0", "f1"]
    assert [e["seq"] for e in read_history(tmp_path / "h.jsonl")] == [0, 1, 2]


def test_every_definition_round_trips_through_writer_and_reader(tmp_path: Path) -> None:
    sample = {"str": "x", "int": 3, "float": 1.5, "bool": True, "list": [], "object": {},
              "any": "d"}  # fmt: skip
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path, "r") as w:
        for t, spec in EVENTS.items():
            fields = {f.name: f.values[0] if f.values else sample[f.kinds[0]]
                      for f in spec.fields if not f.optional}  # fmt: skip
            w.append(t, **fields)
    events = read_history(path, validate=True)
    assert [e["type"] for e in events] == list(EVENTS)
    assert load_frames(path).n_events == len(EVENTS)


@pytest.mark.parametrize(
    ("event", "needle"),
    [
        ({"t": 0.0, "wall": 1.0, "type": "phase", "name": "a"}, "'seq'"),
        ({"seq": 0, "t": "0", "wall": 1.0, "type": "phase", "name": "a"}, "'t' must be a number"),
        ({"seq": 0, "t": 0.0, "wall": 1.0, "name": "a"}, "'type' must be a string"),
        ({"seq": 0, "t": 0.0, "wall": 1.0, "type": "phase"}, "'name' must be str, got missing"),
        ({"seq": 0, "t": 0.0, "wall": 1.0, "type": "send.ok", "producer": "p", "id": "p:0",
          "cluster": "c", "topic": "t", "partition": True, "offset": 0, "ts": 1}, "'partition'"),
        ({"seq": 0, "t": 0.0, "wall": 1.0, "type": "recv", "reader": "r", "group": None,
          "final": True, "cluster": "c", "topic": "t", "partition": 0, "offset": 0,
          "ts": 1}, None),  # id and hdr are nullable: absent reads as null
        ({"seq": 0, "t": 0, "wall": 1, "type": "run.start", "run_id": "r", "scenario": "s",
          "seed": 1, "future_field": [1]}, None),  # unknown fields are ignored
    ],
)  # fmt: skip
def test_validate_event(event: dict, needle: str | None) -> None:
    problem = validate_event(event)
    if needle is None:
        assert problem is None
    else:
        assert problem is not None and needle in problem, problem


def _hot_lines(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        e = {"seq": i, "t": i / 10, "wall": 1.0 + i, "type": "send.ok", "producer": "p0",
             "id": f"p0:{i}", "cluster": "c", "topic": "t", "partition": 0, "offset": i,
             "ts": 1}  # fmt: skip
        out.append(orjson.dumps(e) + b"\n")
    return out


def test_fast_path_finds_a_hot_event_missing_a_field_and_names_its_line(tmp_path: Path) -> None:
    ls = _hot_lines(50)
    ls[30] = ls[30].replace(b',"partition":0', b"")  # still valid JSON: only a field is missing
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"".join(ls))
    with pytest.raises(HistoryError, match=r"h\.jsonl:31: send\.ok: field 'partition'"):
        load_frames(path)
    with pytest.raises(HistoryError, match=":31:"):
        read_history(path, validate=True)


def test_fast_path_finds_a_bad_rare_event_and_names_its_line(tmp_path: Path) -> None:
    ls = _hot_lines(20)
    ls[7] = b'{"seq":7,"t":0.7,"wall":8.0,"type":"run.end","state":"completed","error":null}\n'
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"".join(ls))
    with pytest.raises(HistoryError, match=r":8: run\.end: field 'status'"):
        load_frames(path)


def test_an_ack_without_an_offset_is_evidence_not_an_error(tmp_path: Path) -> None:
    # librdkafka can deliver a report without an offset: seen in a compose AZ-partition drill,
    # whose report was never written because the reader rejected the history.
    ls = _hot_lines(10)
    ls[4] = ls[4].replace(b'"offset":4', b'"offset":null')
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"".join(ls))
    frames = load_frames(path)
    assert frames.n_events == 10
    assert read_history(path, validate=True)[4]["offset"] is None


def test_seq_gap_and_reorder_are_errors(tmp_path: Path) -> None:
    ls = _hot_lines(10)
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"".join(ls[:4] + ls[5:]))
    with pytest.raises(HistoryError, match=r":5: seq 5 where 4 was expected: 1 event"):
        load_frames(path)
    path.write_bytes(b"".join([ls[1], ls[0], *ls[2:]]))
    with pytest.raises(HistoryError, match=r":1: seq 1 where 0"):
        load_frames(path)


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (b"[1, 2]\n", 4),  # JSON, but not an object
        (b"\xff\xfe\n", 4),  # not UTF-8
        (b'{"seq":3,"t":0.3,"wa\n', 4),  # cut, but terminated: not a crash-cut final line
    ],
)
def test_unreadable_lines_are_named(tmp_path: Path, raw: bytes, line: int) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(_lines(3) + raw)
    for read in (read_history, load_frames):
        with pytest.raises(HistoryError) as err:
            read(path)
        assert err.value.line == line and err.value.path == str(path)
        assert "\n" not in str(err.value)  # one line for the CLI


def test_corrupt_second_to_last_line_is_an_error_even_without_a_final_newline(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(_lines(3) + b"{garbage\n" + _lines(5).splitlines(keepends=True)[4].rstrip())
    for read in (read_history, load_frames):
        with pytest.raises(HistoryError, match=r"h\.jsonl:4: corrupt line"):
            read(path)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    for read in (read_history, load_frames):
        with pytest.raises(HistoryError, match="no such history file"):
            read(tmp_path / "none.jsonl")
        with pytest.raises(HistoryError, match="cannot read"):
            read(tmp_path)  # a directory
    gz = tmp_path / "h.jsonl.gz"
    gz.write_bytes(b"\x1f\x8b" + b"\x00garbage" * 10)
    with pytest.raises(HistoryError, match="corrupt gzip"):
        load_frames(gz)


def test_writer_checks_value_types_of_non_message_events(tmp_path: Path) -> None:
    import numpy as np

    path = tmp_path / "h.jsonl"
    with HistoryWriter(path, "r") as w:
        with pytest.raises(ValueError, match=r"run\.end: field 'status' must be"):
            w.append("run.end", status="done", error=None)
        with pytest.raises(ValueError, match=r"final_read\.end: field 'records' must be int"):
            w.append("final_read.end", cluster="c", records="3", complete=True)
        # what the writer degrades to a valid value is valid (numpy ints are ints in JSON)
        w.append("final_read.end", cluster="c", records=np.int64(3), complete=True)
    events = read_history(path, validate=True)
    assert [(e["seq"], e["records"]) for e in events] == [(0, 3)]  # rejected: no seq used
