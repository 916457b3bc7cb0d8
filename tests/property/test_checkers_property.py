"""Property: on histories generated from a ground-truth model, the checkers report exactly the
lost, duplicated, reordered, unknown (landed or not), failed-but-landed, mangled (ts/header) and
skipped messages the model put there, and clean histories come out clean.

The model: producers write ``orders`` on ``primary`` until a failover point, then on ``dr``;
MM2 mirrors ``primary/orders`` to ``dr/primary.orders`` (dropping the lost ones); the final read
of ``dr`` (authoritative) sees the mirrored and direct logs, with extra copies, swapped
neighbours and mangled records injected; consumer groups read a prefix on ``primary``, then
resume on ``dr`` (rewinding, skipping). Counts are known by construction; consumer figures are
also recomputed by a deliberately naive oracle (plain Python over the receipts).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkadrill.checkers import run_checkers
from kafkadrill.history import load_frames, read_history
from kafkadrill.history.columnar_writer import write_events

LANDED = {"ok", "lost", "unk_land", "fail_land", "none_land"}  # lost: landed on source only
FATES = ["ok", "ok", "ok", "lost", "unk_land", "unk_not", "fail", "fail_land", "none_land",
         "none_not"]  # fmt: skip
TS0 = 1_700_000_000_000
SIZE = 100


@dataclass
class Msg:
    producer: str
    seq: int
    fate: str
    copies: int  # extra copies in the final read
    partition: int
    t: float = 0.0
    cluster: str = "primary"
    src_offset: int = -1
    mutation: str | None = None  # "ts" | "hdr" on mirrored records

    @property
    def id(self) -> str:
        return f"{self.producer}:{self.seq}"


@dataclass
class Truth:
    events: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True
    acked: int = 0
    lost: int = 0
    unknown: int = 0
    unknown_landed: int = 0
    failed: int = 0
    failed_but_landed: int = 0
    duplicated_ids: int = 0
    extra_copies: int = 0
    inversions: int = 0
    ts_mismatch: int = 0
    header_missing: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    rereads: dict[str, int] = field(default_factory=dict)
    dr_read: dict[str, bool] = field(default_factory=dict)  # group read anything on dr


class Builder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.t = 0.0

    def add(self, type: str, **f: Any) -> None:
        self.t += 0.01
        self.events.append({"seq": len(self.events), "t": self.t, "wall": 1e9 + self.t,
                            "type": type, **f})  # fmt: skip

    def recv(self, m: Msg, cluster: str, topic: str, offset: int, *, group: str | None,
             final: bool = False) -> None:  # fmt: skip
        hdr = {"kd-origin-site": "east" if m.cluster == "primary" else "west",
               "kd-origin-cluster": m.cluster, "kd-id": m.id}  # fmt: skip
        ts = TS0 + m.seq
        if final and cluster != m.cluster and m.mutation == "ts":
            ts += 1000  # replication rewrote the timestamp
        if final and cluster != m.cluster and m.mutation == "hdr":
            hdr = {"kd-id": m.id}  # replication dropped the origin headers
        self.add("recv", reader="final" if final else f"c-{group}", group=group, final=final,
                 cluster=cluster, topic=topic, partition=m.partition, offset=offset, ts=ts,
                 id=m.id, hdr=hdr)  # fmt: skip


@st.composite
def histories(draw: st.DrawFn) -> Truth:
    clean = draw(st.booleans())
    n_prod = draw(st.integers(1, 3))
    n_part = draw(st.integers(1, 3))
    msgs: list[Msg] = []
    for p in range(n_prod):
        for s in range(draw(st.integers(0, 25))):
            fate = "ok" if clean else draw(st.sampled_from(FATES))
            copies = 0 if clean else draw(st.sampled_from([0, 0, 0, 0, 1, 2]))
            msgs.append(Msg(f"p{p}", s, fate, copies, draw(st.integers(0, n_part - 1))))
    msgs.sort(key=lambda m: (m.seq, m.producer))  # round robin between producers
    failover = draw(st.integers(0, len(msgs)))
    truth = Truth(complete=clean or draw(st.booleans()) or draw(st.booleans()))
    b = Builder()
    b.add("run.start", run_id="r", scenario="prop", seed=0)

    # -- sends -------------------------------------------------------------------------------
    src: dict[tuple[str, int], list[Msg]] = {}
    for i, m in enumerate(msgs):
        if i == failover:
            b.add("fault.inject", fault_id="f1", fault="region_outage", target="east", params={})
        m.cluster = "primary" if i < failover else "dr"
        m.t = b.t
        base = {"producer": m.producer, "id": m.id, "cluster": m.cluster, "topic": "orders"}
        b.add("send.invoke", **base, key=None, size=SIZE)
        if m.fate in LANDED:
            log = src.setdefault((m.cluster, m.partition), [])
            m.src_offset = len(log)
            log.append(m)
        if m.fate in ("ok", "lost"):
            b.add("send.ok", **base, partition=m.partition, offset=m.src_offset, ts=TS0 + m.seq)
        elif m.fate.startswith("unk"):
            b.add("send.unknown", **base, error="timed out")
        elif m.fate.startswith("fail"):
            b.add("send.fail", **base, error="not enough replicas")
    truth.acked = sum(m.fate in ("ok", "lost") for m in msgs)
    truth.lost = sum(m.fate == "lost" for m in msgs)
    truth.unknown = sum(m.fate.startswith(("unk", "none")) for m in msgs)
    truth.unknown_landed = sum(m.fate in ("unk_land", "none_land") for m in msgs)
    truth.failed = sum(m.fate.startswith("fail") for m in msgs)
    truth.failed_but_landed = sum(m.fate == "fail_land" for m in msgs)

    # -- the authoritative (dr) logs, as the final read will see them -------------------------
    # units: one message and its extra copies, kept adjacent (copies are not reorderings)
    final_logs: dict[tuple[str, int], list[Msg]] = {}
    for (cluster, p), log in sorted(src.items()):
        topic = "primary.orders" if cluster == "primary" else "orders"
        final_logs[(topic, p)] = [m for m in log if m.fate != "lost"]
    for (topic, _p), units in final_logs.items():
        swapped: set[int] = set()
        for i in [] if clean else draw(st.lists(st.integers(0, 40), max_size=3)):
            i %= max(len(units), 1)
            if (
                i + 1 < len(units)
                and not {i, i + 1} & swapped
                and units[i].producer == units[i + 1].producer
            ):
                units[i], units[i + 1] = units[i + 1], units[i]
                swapped |= {i, i + 1}
                truth.inversions += 1
        if topic == "primary.orders" and not clean:
            for m in units:
                m.mutation = draw(st.sampled_from([None] * 8 + ["ts", "hdr"]))
                if m.mutation == "ts" and m.fate == "ok":
                    truth.ts_mismatch += 1 + m.copies
                elif m.mutation == "hdr":
                    truth.header_missing += 1 + m.copies
                else:
                    m.mutation = None
    for units in final_logs.values():
        truth.duplicated_ids += sum(m.copies > 0 for m in units)
        truth.extra_copies += sum(m.copies for m in units)
    # offsets in the final logs: copies take the offsets right after their original
    final_off: dict[tuple[str, int], list[tuple[int, Msg]]] = {}
    for key, units in final_logs.items():
        recs = final_off.setdefault(key, [])
        for m in units:
            for _ in range(1 + m.copies):
                recs.append((len(recs), m))

    # -- consumer groups ---------------------------------------------------------------------
    for g in range(draw(st.integers(0, 2))):
        name = f"g{g}"
        got: list[tuple[str, str, int, int, Msg]] = []  # (cluster, topic, partition, offset, m)
        frac = draw(st.floats(0, 1))
        for (cluster, p), log in sorted(src.items()):
            if cluster == "primary":
                for m in log[: int(frac * len(log))]:
                    got.append(("primary", "orders", p, m.src_offset, m))
        on_primary = {m.id for *_, m in got}
        expected_skips = 0
        for (topic, p), recs in sorted(final_off.items()):
            start = next((o for o, m in recs if m.id not in on_primary), len(recs))
            rewind = 0 if clean else draw(st.integers(0, 3))
            read = recs[max(0, start - rewind) :]
            skip_ids: set[str] = set()
            if not clean and len(read) > 1:
                last = read[-1][1].id
                for j in draw(st.lists(st.integers(0, 40), max_size=2)):
                    m = read[j % len(read)][1]
                    if m.id != last and m.id not in on_primary:
                        skip_ids.add(m.id)
            for o, m in read:
                if m.id in skip_ids:
                    expected_skips += 1
                else:
                    got.append(("dr", topic, p, o, m))
        for cluster, topic, p, o, m in got:
            b.recv(m, cluster, topic, o, group=name)
            assert m.partition == p
        truth.skipped[name] = expected_skips
        truth.dr_read[name] = any(c == "dr" for c, *_ in got)
        # naive oracle of the documented definitions, as a check on the model itself
        counts = Counter(m.id for *_, m in got)
        truth.rereads[name] = sum(n - 1 for n in counts.values())
        oracle_skips = 0
        for (topic, p), recs in final_off.items():
            mine = [o for c, tp, pp, o, _ in got if (c, tp, pp) == ("dr", topic, p)]
            if mine:
                oracle_skips += sum(o <= max(mine) and m.id not in counts for o, m in recs)
        assert oracle_skips == expected_skips, "model bug"

    # -- final read ----------------------------------------------------------------------------
    b.add("final_read.start", clusters=["dr"], authoritative="dr",
          topics={"dr": sorted({t for t, _ in final_off})})  # fmt: skip
    for (topic, _p), recs in sorted(final_off.items()):
        for o, m in recs:
            b.recv(m, "dr", topic, o, group=None, final=True)
    if not clean and draw(st.booleans()):  # a record not written by kafkadrill
        b.add("recv", reader="final", group=None, final=True, cluster="dr", topic="other",
              partition=0, offset=0, ts=1, id=None, hdr={})  # fmt: skip
    b.add("final_read.end", cluster="dr", records=0, complete=truth.complete)
    b.add("run.end", status="completed", error=None)
    truth.events = b.events
    return truth


def _status(finding: bool, complete: bool) -> str:
    return "FAIL" if finding else ("PASS" if complete else "UNKNOWN")


@settings(max_examples=150, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(histories())
def test_checkers_report_exactly_the_model(truth: Truth) -> None:
    v = run_checkers(load_frames(truth.events))
    assert all(x.status != "UNKNOWN" or not x.notes[0].startswith("checker raised")
               for x in v.values()), {k: x.notes for k, x in v.items()}  # fmt: skip
    c = truth.complete

    loss = v["loss"].figures
    assert loss["acked"] == truth.acked
    if c:
        assert (loss["lost"], loss["lost_bytes"], loss["unseen"]) == (
            truth.lost, truth.lost * SIZE, 0)  # fmt: skip
        assert v["loss"].status == ("FAIL" if truth.lost else "PASS")
    else:
        assert loss["unseen"] == truth.lost  # not read is not lost
        assert v["loss"].status == ("UNKNOWN" if truth.lost else "PASS")
    assert (loss["window_seconds"] or 0) >= 0 and len(loss["lost_ids"]) <= 20

    u = v["unknown"].figures
    assert (u["unknown"], u["unknown_landed"], u["failed"], u["failed_but_landed"]) == (
        truth.unknown, truth.unknown_landed, truth.failed, truth.failed_but_landed)  # fmt: skip
    if c:
        assert u["unknown_not_landed"] == truth.unknown - truth.unknown_landed
    expect_u = ("FAIL" if truth.failed_but_landed
                else "UNKNOWN" if not c and truth.failed else "PASS")  # fmt: skip
    assert v["unknown"].status == expect_u

    d = v["duplicates"].figures
    assert (d["duplicated_ids"], d["extra_copies"]) == (truth.duplicated_ids, truth.extra_copies)
    assert v["duplicates"].status == _status(truth.extra_copies > 0, c)

    o = v["ordering"].figures
    assert o["inversions"] == truth.inversions
    assert v["ordering"].status == _status(truth.inversions > 0, c)

    t = v["timestamps"].figures
    assert (t["ts_mismatch"], t["header_missing"], t["header_mismatch"]) == (
        truth.ts_mismatch, truth.header_missing, 0)  # fmt: skip
    assert v["timestamps"].status == _status(truth.ts_mismatch + truth.header_missing > 0, c)

    off = v["offsets"]
    per_group = off.figures["per_group"]
    assert {g: x["skipped"] for g, x in per_group.items()} == {
        g: n for g, n in truth.skipped.items() if g in per_group}  # fmt: skip
    assert {g: x["rereads"] for g, x in per_group.items()} == {
        g: n for g, n in truth.rereads.items() if g in per_group}  # fmt: skip
    assert d["consumer_rereads"] == off.figures["rereads"] == sum(truth.rereads.values())
    bad = sum(truth.skipped.values()) + sum(truth.rereads.values())
    readers = [g for g in per_group]
    if bad:
        assert off.status == "FAIL"
    elif not readers:
        assert off.status == "PASS"
    elif not any(truth.dr_read[g] for g in readers):
        assert off.status == "UNKNOWN"  # only the primary was read: nothing checkable
    else:
        assert off.status == ("PASS" if c else "UNKNOWN")

    assert v["recovery"].status in ("PASS", "FAIL")  # measured; exact figures in unit tests


@settings(max_examples=25, deadline=None)
@given(truth=histories())
def test_history_file_round_trip_gives_the_same_verdicts(
    truth: Truth, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("h") / "history.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in truth.events))
    a = {k: x.to_dict() for k, x in run_checkers(path).items()}
    b = {k: x.to_dict() for k, x in run_checkers(load_frames(truth.events)).items()}
    assert a == b
    # The columnar history of the same events: the same events back, the same verdicts.
    columnar = path.with_name("history.arrow")
    write_events(columnar, truth.events, batch_rows=7)  # several batches
    assert read_history(columnar, validate=True) == read_history(path, validate=True)
    c = {k: x.to_dict() for k, x in run_checkers(columnar).items()}
    assert c == a
