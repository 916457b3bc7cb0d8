"""The copier checker, one test per definition, on hand-built histories
(docs/explanation/checkers.md, "Copier"), and the derived frame that keeps the copies out of
every other checker's records."""

from __future__ import annotations

from collections.abc import Iterable

from tests.unit.test_checkers_unit import TS0, H, check

from kafkadrill.checkers._common import Verdict
from kafkadrill.checkers.copier import check_copier
from kafkadrill.history import load_frames

P, DR, OUT = "primary", "dr", "orders-copy"


class C(H):
    """H plus copier transactions and a final read with derived topics."""

    def produced(self, seqs: Iterable[int], t: float = 1.0) -> C:
        for s in seqs:
            self.send(s, t)
        return self

    def copy(self, txn: int, first: int, last: int, t: float, outcome: str = "ok", *,
             cluster: str = P, topic: str = "orders", member: str = "cp-0") -> C:  # fmt: skip
        self.add("copy.txn", t, copier=member, group="cp", cluster=cluster, from_topic="orders",
                 to_topic=OUT, txn=txn, ranges=[[topic, 0, first, last]],
                 records=last - first + 1, outcome=outcome,
                 error=None if outcome == "ok" else "x")  # fmt: skip
        return self

    def final(self, t: float, inputs: dict[str, tuple[str, list[int]]],
              outputs: dict[str, list[tuple[str, int]]], *,
              derived_complete: bool = True) -> C:  # fmt: skip
        """``inputs``: cluster -> (topic, p0 seqs at offsets 0 up or = seq on primary);
        ``outputs``: cluster -> [(derived topic, p0 seq)] at offsets 0 up per topic."""
        derived = {c: sorted({tp for tp, _ in rows}) for c, rows in outputs.items()}
        self.add("final_read.start", t, clusters=list(inputs), authoritative=P,
                 topics={c: [tp] for c, (tp, _) in inputs.items()}, derived=derived)  # fmt: skip
        for c, (tp, seqs) in inputs.items():
            for i, s in enumerate(seqs):
                self.recv(s, t + 0.1, cluster=c, topic=tp, offset=s if c == P else i, final=True)
            rows = outputs.get(c, [])
            offsets: dict[str, int] = {}
            for tp2, s in rows:
                off = offsets[tp2] = offsets.get(tp2, -1) + 1
                self.recv(s, t + 0.15, cluster=c, topic=tp2, offset=off, final=True)
            self.add("final_read.end", t + 0.2, cluster=c, records=len(seqs), complete=True,
                     derived={"records": len(rows), "complete": derived_complete})  # fmt: skip
        return self


def copier(h: H) -> Verdict:
    return check_copier(load_frames(h.events))


def exact(n: int = 10) -> C:
    h = C().add("run.start", 0.0, run_id="r", scenario="s", seed=1).produced(range(n))
    h.copy(0, 0, n // 2 - 1, 2.0).copy(1, n // 2, n - 1, 3.0)
    return h


def test_no_copier_is_not_applicable() -> None:
    v = copier(C().produced(range(3)).final(5.0, {P: ("orders", [0, 1, 2])}, {}))
    assert (v.status, v.figures["applicable"]) == ("PASS", False)


def test_output_equal_to_input_exactly_once_passes() -> None:
    h = exact().final(5.0, {P: ("orders", list(range(10)))}, {P: [(OUT, s) for s in range(10)]})
    v = copier(h)
    assert v.status == "PASS", v.notes
    f = v.figures["copiers"]["cp"]["clusters"][P]
    assert (f["input"], f["output"], f["judged"]) == (10, 10, 10)
    assert (f["missing"], f["duplicated"], f["phantom"], f["not_reached"]) == (0, 0, 0, 0)
    assert v.figures["transactions"] == {"committed": 2, "aborted": 0, "unknown": 0}


def test_missing_input_record_fails_with_its_id() -> None:
    h = exact().final(5.0, {P: ("orders", list(range(10)))}, {P: [(OUT, s) for s in range(9)]})
    v = copier(h)
    assert (v.status, v.figures["missing"]) == ("FAIL", 1)
    assert [e["id"] for e in v.evidence if e["kind"] == "missing"] == ["p0:9"]


def test_a_record_copied_twice_fails_as_duplicated() -> None:
    out = [(OUT, s) for s in range(10)] + [(OUT, 4)]
    v = copier(exact().final(5.0, {P: ("orders", list(range(10)))}, {P: out}))
    assert (v.status, v.figures["duplicated"]) == ("FAIL", 1)
    f = v.figures["copiers"]["cp"]["clusters"][P]
    assert f["extra_copies"] == 1
    assert {e["id"] for e in v.evidence if e["kind"] == "duplicated"} == {"p0:4"}


def test_an_output_record_from_no_input_is_a_phantom() -> None:
    # p0:12 was sent but is not in the input (its transaction aborted, say).
    h = (
        exact()
        .produced([12])
        .final(5.0, {P: ("orders", list(range(10)))}, {P: [(OUT, s) for s in [*range(10), 12]]})
    )
    v = copier(h)
    assert (v.status, v.figures["phantom"]) == ("FAIL", 1)
    assert [e["id"] for e in v.evidence if e["kind"] == "phantom"] == ["p0:12"]


def test_input_past_the_last_commit_is_not_reached_and_unknown() -> None:
    h = C().produced(range(10)).copy(0, 0, 5, 2.0).copy(1, 6, 9, 3.0, "fail")
    v = copier(h.final(5.0, {P: ("orders", list(range(10)))}, {P: [(OUT, s) for s in range(6)]}))
    assert v.status == "UNKNOWN"
    f = v.figures["copiers"]["cp"]["clusters"][P]
    assert (f["missing"], f["not_reached"], f["judged"]) == (0, 4, 6)
    assert v.figures["transactions"] == {"committed": 1, "aborted": 1, "unknown": 0}
    assert any("had not caught up" in n for n in v.notes)


def test_an_incomplete_derived_read_is_not_judged_for_missing() -> None:
    h = exact().final(
        5.0, {P: ("orders", list(range(10)))}, {P: [(OUT, s) for s in range(3)]},
        derived_complete=False,
    )  # fmt: skip
    v = copier(h)
    f = v.figures["copiers"]["cp"]["clusters"][P]
    assert (v.status, f["missing"], f["phantom"]) == ("UNKNOWN", None, None)


def test_a_gap_between_committed_spans_is_missing() -> None:
    # A copier that committed offsets past records it never produced skipped them.
    h = C().produced(range(10)).copy(0, 0, 3, 2.0).copy(1, 6, 9, 3.0)
    out = [(OUT, s) for s in [0, 1, 2, 3, 6, 7, 8, 9]]
    v = copier(h.final(5.0, {P: ("orders", list(range(10)))}, {P: out}))
    assert (v.status, v.figures["missing"]) == ("FAIL", 2)


def test_mm2_copy_of_the_output_is_measured_not_judged() -> None:
    out_p = [(OUT, s) for s in range(10)]
    out_dr = [(f"primary.{OUT}", s) for s in [*range(10), 3]]  # MM2 copied an aborted try too
    h = exact().final(
        5.0,
        {P: ("orders", list(range(10))), DR: ("primary.orders", list(range(10)))},
        {P: out_p, DR: out_dr},
    )
    v = copier(h)
    assert v.status == "PASS", v.notes
    copies = v.figures["copiers"]["cp"]["copies"]
    assert copies == {DR: {"topics": [f"primary.{OUT}"], "records": 11, "duplicated": 1}}
    assert v.figures["on_copies_duplicated"] == 1


def test_after_a_failover_each_cluster_is_judged_from_where_the_copier_started() -> None:
    # primary: copied 0..5, then failed over; dr holds primary.orders 0..9 (offsets 0..9) and
    # the copier resumed there at offset 4 (conservative translation): 4..9 copied on dr.
    h = C().produced(range(10)).copy(0, 0, 5, 2.0)
    h.add("redirect", 3.0, client="cp-0", role="copier", group="cp", from_cluster=P,
          to_cluster=DR)  # fmt: skip
    h.copy(1, 4, 9, 4.0, cluster=DR, topic="primary.orders")
    h.final(
        5.0,
        {P: ("orders", list(range(10))), DR: ("primary.orders", list(range(10)))},
        {P: [(OUT, s) for s in range(6)], DR: [(OUT, s) for s in range(4, 10)]},
    )
    v = copier(h)
    assert v.status == "PASS", v.notes
    cl = v.figures["copiers"]["cp"]["clusters"]
    assert (cl[P]["left_behind"], cl[P]["not_reached"]) == (4, 0)
    assert (cl[DR]["before_start"], cl[DR]["judged"], cl[DR]["missing"]) == (4, 6, 0)


def test_derived_records_stay_out_of_every_other_checker() -> None:
    """The same ids on the copier's output are not a duplicate, nor anything else: every
    other checker's verdict and figures are those of the history without the derived part."""
    inputs = {P: ("orders", list(range(10)))}
    with_copies = exact().final(5.0, inputs, {P: [(OUT, s) for s in range(10)]})
    without = exact().final(5.0, inputs, {})
    frames = load_frames(with_copies.events)
    assert len(frames.derived) == 10
    assert set(frames.recv["topic"].astype(str)) == {"orders"}
    a, b = check(with_copies), check(without)
    for name in a:
        if name == "copier":
            continue
        assert (a[name].status, a[name].figures) == (b[name].status, b[name].figures), name


def test_history_without_derived_loads_exactly_as_before() -> None:
    h = H().send(0, 1.0).final_read(2.0, [0])
    frames = load_frames(h.events)
    assert frames.derived.empty and len(frames.recv) == 1
    assert frames.n_events == len(h.events)
    assert TS0  # the shared builder's clock
