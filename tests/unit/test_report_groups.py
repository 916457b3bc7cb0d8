"""Consumer-group figures, final-read identity and foreign records, on histories written by hand
from docs/reference/history-format.md (not from checker code).

The cases: a lost message is not a skip; lag on a stalled partition is not a skip; records
without a kafkadrill id are not messages (never re-reads); a final read that receives the same
record twice saw one record; the report's group table shows exactly the offsets checker's
figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from kafkadrill.checkers import Verdict, run_checkers
from kafkadrill.checkers.findings import derive_findings
from kafkadrill.history import load_frames
from kafkadrill.report.write import write_report

TS0 = 1_732_240_000_000
WALL0 = 1_732_240_000.0


class History:
    """Events exactly as the format doc lists them: seq, t, wall, type, then the fields."""

    def __init__(self, run_id: str = "r1") -> None:
        self.events: list[dict[str, Any]] = []
        self.add("run.start", 0.0, run_id=run_id, scenario="s", seed=7)

    def add(self, type: str, t: float, **fields: Any) -> History:
        n = len(self.events)
        self.events.append({"seq": n, "t": t, "wall": WALL0 + t, "type": type, **fields})
        return self

    def acked(self, seq: int, t: float, *, partition: int = 0, offset: int) -> History:
        mid = f"p0:{seq}"
        base = {"producer": "p0", "id": mid, "cluster": "primary", "topic": "orders"}
        self.add("send.invoke", t, **base, key=f"k{seq}", size=100)
        return self.add("send.ok", t + 0.01, **base, partition=partition, offset=offset,
                        ts=TS0 + seq)  # fmt: skip

    def recv(self, t: float, *, mid: str | None, partition: int, offset: int,
             group: str | None = "billing", final: bool = False,
             cluster: str = "primary") -> History:  # fmt: skip
        hdr = {"kd-origin-site": "east", "kd-origin-cluster": "primary"}
        if mid is not None:
            hdr["kd-id"] = mid
        return self.add("recv", t, reader="final" if final else "c0", group=group, final=final,
                        cluster=cluster, topic="orders", partition=partition, offset=offset,
                        ts=TS0, id=mid, hdr=hdr)  # fmt: skip

    def final_start(self, t: float) -> History:
        return self.add("final_read.start", t, clusters=["primary"], authoritative="primary",
                        topics={"primary": ["orders"]})  # fmt: skip

    def final_end(self, t: float, records: int) -> History:
        self.add("final_read.end", t, cluster="primary", records=records, complete=True)
        return self.add("run.end", t + 0.1, status="completed", error=None)


def _check(h: History) -> dict[str, Verdict]:
    return run_checkers(load_frames(h.events))


def lost_skipped_lag() -> History:
    """Six acked messages on primary/orders/0 (offsets 0-5). Group billing receives offsets
    0, 1 and 4 (so it reached offset 4). The final read finds 0, 1, 3, 4, 5: offset 2 (p0:2)
    was lost, offset 3 exists but billing never received it although it moved past it (a skip),
    offset 5 is beyond where billing got to (lag, not a skip)."""
    h = History()
    for s in range(6):
        h.acked(s, 1.0 + s, offset=s)
    for s in (0, 1, 4):
        h.recv(1.5 + s, mid=f"p0:{s}", partition=0, offset=s)
    h.final_start(10.0)
    for s in (0, 1, 3, 4, 5):
        h.recv(10.1, mid=f"p0:{s}", partition=0, offset=s, group=None, final=True)
    return h.final_end(10.2, 5)


def test_lost_is_not_skipped_and_lag_is_not_skipped() -> None:
    v = _check(lost_skipped_lag())
    assert v["loss"].figures["lost"] == 1  # p0:2
    g = v["offsets"].figures["per_group"]["billing"]
    assert g["skipped"] == 1  # only offset 3: lost p0:2 and lagging p0:5 are not skips
    assert g["received"] == 3 and g["distinct"] == 3 and g["rereads"] == 0
    assert [e["offset"] for e in v["offsets"].evidence if e["kind"] == "skipped"] == [3]


def test_a_stalled_partition_is_lag_not_skips() -> None:
    """billing reads partition 1 to its end but stalls on partition 0 after offset 1: the
    four later records of partition 0 are lag. No skip, so no HIGH skip finding."""
    h = History()
    for s in range(10):
        h.acked(s, 1.0 + s * 0.1, partition=s % 2, offset=s // 2)
    for s in range(10):
        if s % 2 == 1 or s // 2 <= 1:
            h.recv(2.0 + s * 0.1, mid=f"p0:{s}", partition=s % 2, offset=s // 2)
    h.final_start(10.0)
    for s in range(10):
        h.recv(10.1, mid=f"p0:{s}", partition=s % 2, offset=s // 2, group=None, final=True)
    h.final_end(10.2, 10)
    v = _check(h)
    g = v["offsets"].figures["per_group"]["billing"]
    assert (g["received"], g["skipped"], g["rereads"]) == (7, 0, 0)
    assert v["offsets"].status == "PASS"
    report = {"checkers": {k: x.to_dict() for k, x in v.items()}}
    assert not [f for f in derive_findings(report) if "skipped" in f["text"]]


def test_foreign_records_are_not_messages_and_never_rereads() -> None:
    """Records without an id (another producer's) received twice at the same offset and once
    more: counted as foreign, never as receipts or re-reads; the one kafkadrill message read
    twice is a re-read."""
    h = History()
    h.acked(0, 1.0, offset=0)
    h.recv(1.1, mid="p0:0", partition=0, offset=0)
    for off in (1, 1, 2):
        h.recv(1.2, mid=None, partition=0, offset=off)
    h.recv(1.3, mid="p0:0", partition=0, offset=0)  # redelivered after a rebalance
    h.final_start(5.0)
    h.recv(5.1, mid="p0:0", partition=0, offset=0, group=None, final=True)
    h.recv(5.1, mid=None, partition=0, offset=1, group=None, final=True)
    h.final_end(5.2, 2)
    v = _check(h)
    g = v["offsets"].figures["per_group"]["billing"]
    assert g == {**g, "received": 2, "distinct": 1, "rereads": 1, "foreign": 3, "skipped": 0}
    assert v["offsets"].figures["foreign_records"] == 3
    assert v["offsets"].figures["rereads"] == 1
    assert v["duplicates"].figures["duplicates"] == 0  # a foreign record is no copy either


def test_same_record_twice_in_the_final_read_is_one_record() -> None:
    """The final reader receives primary/orders/0@0 twice (a re-fetch): one record, no
    duplicate. p0:1 exists at offsets 1 and 2 (a producer retry wrote it twice): one
    duplicate."""
    h = History()
    h.acked(0, 1.0, offset=0)
    h.acked(1, 1.1, offset=1)
    h.final_start(5.0)
    h.recv(5.1, mid="p0:0", partition=0, offset=0, group=None, final=True)
    h.recv(5.1, mid="p0:0", partition=0, offset=0, group=None, final=True)
    h.recv(5.1, mid="p0:1", partition=0, offset=1, group=None, final=True)
    h.recv(5.1, mid="p0:1", partition=0, offset=2, group=None, final=True)
    h.final_end(5.2, 4)
    v = _check(h)
    d = v["duplicates"].figures
    assert (d["duplicates"], d["duplicated_ids"], d["redelivered_records"]) == (1, 1, 1)
    assert [(e["id"], e["offset"]) for e in v["duplicates"].evidence] == [("p0:1", 2)]
    assert v["loss"].figures["lost"] == 0


def test_only_redelivery_is_no_duplicate() -> None:
    h = History()
    h.acked(0, 1.0, offset=0)
    h.final_start(5.0)
    for _ in range(3):
        h.recv(5.1, mid="p0:0", partition=0, offset=0, group=None, final=True)
    h.final_end(5.2, 3)
    v = _check(h)
    assert v["duplicates"].status == "PASS"
    assert v["duplicates"].figures["duplicates"] == 0
    assert v["duplicates"].figures["redelivered_records"] == 2


@pytest.fixture
def written(tmp_path: Path) -> dict[str, Any]:
    h = lost_skipped_lag()
    frames = load_frames(h.events)
    v = run_checkers(frames)
    report = {
        "scenario": "s",
        "verdict": "FAIL",
        "checkers": {k: x.to_dict() for k, x in v.items()},
    }
    write_report(tmp_path, report, frames)
    return {
        "checker": v["offsets"].figures["per_group"],
        "json": orjson.loads((tmp_path / "report.json").read_bytes()),
        "md": (tmp_path / "report.md").read_text(),
    }


def test_report_group_table_is_the_offsets_checkers_output(written: dict[str, Any]) -> None:
    per_group = written["checker"]
    table = written["json"]["consumer_groups"]
    assert table.keys() == per_group.keys()
    for g, row in table.items():
        assert row == {k: per_group[g][k] for k in row}
        assert {"received", "distinct", "rereads", "skipped"} <= row.keys()
    b = per_group["billing"]
    assert (
        f"| `billing` | {b['received']} | {b['distinct']} | {b['rereads']} | 1 |"
        in written["md"].splitlines()
    )


def test_skip_finding_follows_the_checker(written: dict[str, Any]) -> None:
    texts = [f["text"] for f in written["json"]["findings"] if f["severity"] == "high"]
    assert any("Consumer group billing skipped 1 messages" in t for t in texts)


def _rereads_report(expected: list[str], objectives: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "expected_anomalies": expected,
        "objectives": objectives,
        "checkers": {
            "offsets": {
                "status": "FAIL",
                "figures": {"per_group": {"billing": {"rereads": 8, "skipped": 0}}},
            }
        },
    }


@pytest.mark.parametrize(
    ("expected", "objectives", "severity"),
    [
        (["offsets"], [], "info"),
        ([], [{"name": "max_consumer_rereads", "verdict": "MEASURED"}], "info"),
        ([], [{"name": "max_consumer_rereads", "verdict": "FAIL"}], "low"),
        (["loss"], [], "low"),
    ],
)
def test_reread_finding_reads_structured_output(
    expected: list[str], objectives: list[dict[str, Any]], severity: str
) -> None:
    found = derive_findings(_rereads_report(expected, objectives))
    f = [x for x in found if "re-read" in x["text"]]
    assert len(f) == 1 and f[0]["severity"] == severity
    assert ("expected by the scenario" in f[0]["text"]) == (severity == "info")
