"""The backup checker (pure, on a written history), the backup store's segments and the
scenario rule for topology.backup (the drill itself is drills/test_backup_restore.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kafkadrill.checkers.backup import check_backup
from kafkadrill.history import load_frames
from kafkadrill.runtimes.shared import backup as bk
from kafkadrill.scenario import Scenario
from kafkadrill.scenario.errors import ScenarioValidationError

T = "orders"
WALL0 = 1_000_000.0


def _history(*, restored: list[tuple[int, int, int]], segments: list[list[Any]]) -> list[dict]:
    """Acks p:0..9 on primary (partition 0, offsets 0..9) at t = 1..10 s, a region outage at
    t = 10.5, and a final read of dr holding `restored` (seq, partition, ts) records."""
    ev: list[dict[str, Any]] = [
        {"seq": 0, "t": 0.0, "wall": WALL0, "type": "run.start", "run_id": "r", "scenario": "s",
         "seed": 1, "runtime": "local"},
    ]  # fmt: skip
    seq = 1
    for i in range(10):
        for typ, extra in (
            ("send.invoke", {}),
            ("send.ok", {"partition": 0, "offset": i, "ts": 5000 + i}),
        ):
            ev.append(
                {"seq": seq, "t": 1.0 + i, "wall": WALL0 + 1 + i, "type": typ, "producer": "p",
                 "id": f"p:{i}", "cluster": "primary", "topic": T, **extra}
            )  # fmt: skip
            seq += 1
    ev.append({"seq": seq, "t": 10.5, "wall": WALL0 + 10.5, "type": "fault.inject",
               "fault_id": "f0", "fault": "region.outage", "target": {"region": "east"},
               "params": {}, "origin": "timeline[0]"})  # fmt: skip
    seq += 1
    detail = {"records": len(restored), "segments": len(segments), "seconds": 0.5, "to": "dr"}
    for status, d in (("start", None), ("ok", detail)):
        ev.append({"seq": seq, "t": 16.0, "wall": WALL0 + 16, "type": "runbook.step",
                   "runbook": "failover", "step": "restore", "status": status,
                   "detail": d})  # fmt: skip
        seq += 1
    ev.append({"seq": seq, "t": 30.0, "wall": WALL0 + 30, "type": "backup", "source": "primary",
               "topics": [T], "store": "x", "flush_seconds": 5.0, "segments": segments,
               "alive": True})  # fmt: skip
    seq += 1
    ev.append({"seq": seq, "t": 31.0, "wall": WALL0 + 31, "type": "final_read.start",
               "clusters": ["dr"], "authoritative": "dr", "topics": {"dr": [T]}})  # fmt: skip
    seq += 1
    for off, (i, part, ts) in enumerate(restored):
        ev.append({"seq": seq, "t": 32.0, "wall": WALL0 + 32, "type": "recv", "reader": "final",
                   "group": None, "final": True, "cluster": "dr", "topic": T, "partition": part,
                   "offset": off, "ts": ts, "id": f"p:{i}",
                   "hdr": {"kd-id": f"p:{i}", "kd-origin-cluster": "primary",
                           "kd-origin-site": "west"}})  # fmt: skip
        seq += 1
    ev.append({"seq": seq, "t": 33.0, "wall": WALL0 + 33, "type": "final_read.end",
               "cluster": "dr", "records": len(restored), "complete": True})  # fmt: skip
    return ev


def _ms(t: float) -> int:
    return int((WALL0 + t) * 1000)


def test_rpo_at_the_disaster_and_a_faithful_restore() -> None:
    # Offsets 0-5 flushed before the outage (t 7), 6-9 after it (t 12): the worker survived.
    segs = [[T, 0, 0, 5, _ms(7.0)], [T, 0, 6, 9, _ms(12.0)]]
    v = check_backup(load_frames(_history(restored=[(i, 0, 5000 + i) for i in range(10)],
                                          segments=segs)))  # fmt: skip
    f = v.figures
    assert v.status == "PASS", v.notes
    assert f["acked_before_disaster"] == 10
    assert f["not_backed_up_at_disaster"] == 4  # offsets 6..9, acked at t 7..10
    assert f["rpo_window_seconds"] == pytest.approx(3.5)  # 10.5 - 7.0
    assert f["not_backed_up_in_the_end"] == 0
    assert f["restore"]["records"] == 10
    assert f["fidelity"]["lost"] == 0 and f["fidelity"]["judged"] == 10


@pytest.mark.parametrize(
    ("restored", "broken"),
    [
        ([(i, 0, 5000 + i) for i in range(9)], "lost"),
        ([(i, 0, 5000 + i) for i in range(10)] + [(3, 0, 5003)], "duplicated"),
        ([(i, 1 if i == 4 else 0, 5000 + i) for i in range(10)], "moved"),
        ([(i, 0, 5000 + i) for i in (0, 1, 3, 2, 4, 5, 6, 7, 8, 9)], "reordered"),
    ],
)
def test_an_unfaithful_restore_fails(restored: list[tuple[int, int, int]], broken: str) -> None:
    segs = [[T, 0, 0, 9, _ms(7.0)]]
    v = check_backup(load_frames(_history(restored=restored, segments=segs)))
    assert v.status == "FAIL", v.figures
    assert v.figures["fidelity"][broken] > 0


def test_no_backup_is_not_applicable() -> None:
    v = check_backup(load_frames([{"seq": 0, "t": 0.0, "wall": WALL0, "type": "run.start",
                                   "run_id": "r", "scenario": "s", "seed": 1,
                                   "runtime": "local"}]))  # fmt: skip
    assert v.status == "PASS" and v.figures == {"applicable": False}


def test_segments_are_complete_files_only(tmp_path: Path) -> None:
    d = tmp_path / "data" / T / "2"
    d.mkdir(parents=True)
    line = '{"topic":"orders","partition":2,"offset":7,"ts":5,"ts_type":"CreateTime",'
    line += '"key":null,"value":"YQ==","headers":[["h",null]]}\n'
    (d / f"{7:020d}-{7:020d}.jsonl").write_text(line)
    (d / f"{8:020d}-{9:020d}.jsonl.tmp").write_text(line)  # a flush cut short
    (seg,) = bk.segments(tmp_path)
    assert (seg.topic, seg.partition, seg.first, seg.last) == (T, 2, 7, 7)
    (rec,) = bk.read_segment(seg)
    assert rec.value == b"a" and rec.key is None and rec.headers == [("h", None)]


def _scenario(**topology: Any) -> dict[str, Any]:
    return {
        "name": "b",
        "topology": topology,
        "timeline": [{"at": 10, "fault": "region.outage", "target": {"region": "east"}}],
        "runbooks": {"failover": {"trigger": {"on_fault": "region.outage"},
                                  "restore_backup": True, "translate_offsets": False}},
    }  # fmt: skip


def test_model_backup_restores_into_dr_without_replication() -> None:
    sc = Scenario.from_dict(_scenario(model="backup"))
    topo = sc.to_topology()
    assert topo.flows == () and topo.backup is not None
    assert (topo.backup.source, topo.backup.region) == ("primary", "west")


@pytest.mark.parametrize(
    ("topology", "field"),
    [
        ({"model": "active-passive"}, "runbooks.failover.restore_backup"),
        ({"model": "backup", "backup": {"from": "dr"}}, "runbooks.failover.restore_backup"),
        ({"model": "backup", "backup": {"region": "mars"}}, "topology.backup.region"),
    ],
)
def test_backup_mistakes_name_the_field(topology: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioValidationError) as err:
        Scenario.from_dict(_scenario(**topology))
    assert field in str(err.value)


def test_restore_reads_each_offset_once_in_order(tmp_path: Path) -> None:
    from kafkadrill.runbooks.restore import backup_records

    def seg(part: int, first: int, last: int) -> None:
        d = tmp_path / "data" / T / str(part)
        d.mkdir(parents=True, exist_ok=True)
        lines = [
            f'{{"topic":"{T}","partition":{part},"offset":{o},"ts":{100 + o},'
            f'"ts_type":"CreateTime","key":null,"value":"YQ==","headers":[]}}\n'
            for o in range(first, last + 1)
        ]
        (d / f"{first:020d}-{last:020d}.jsonl").write_text("".join(lines))

    seg(0, 0, 4)
    seg(0, 3, 6)  # overlaps: a flush that failed half-way, then redelivered
    seg(1, 0, 1)
    got = [(t, r.partition, r.offset, r.timestamp) for t, r in backup_records(tmp_path)]
    assert got == [(T, 0, o, 100 + o) for o in range(7)] + [(T, 1, 0, 100), (T, 1, 1, 101)]
