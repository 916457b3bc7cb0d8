"""HistoryWriter / read_history / load_frames: ordering, durability, tolerance, fast == exact."""

from __future__ import annotations

import gzip
import threading
import time
from pathlib import Path

import orjson
import pandas as pd
import pytest

from kafkadrill.history import HistoryError, HistoryWriter, load_frames, read_history


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
