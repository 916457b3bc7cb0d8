"""aborted_read and torn_transaction, one test per definition, on hand-built histories
(docs/explanation/checkers.md, "Transactions")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests.unit.test_checkers_unit import TS0, H, check

from kafkadrill.checkers import run_checkers
from kafkadrill.checkers._common import Verdict
from kafkadrill.checkers.aborted_read import check_aborted_read
from kafkadrill.checkers.torn_transaction import check_torn_transaction
from kafkadrill.history import load_frames

OLD, DR = "primary", "dr"


class T(H):
    """H plus transactions and named readers."""

    def txn(self, n: int, first: int, last: int, t: float, decision: str = "commit",
            outcome: str = "ok", *, p: str = "p0", cluster: str = OLD) -> T:  # fmt: skip
        """Producer ``p`` sends seq ``first..last`` (each acked, offset = seq) on ``cluster``
        and ends transaction ``n``."""
        for s in range(first, last + 1):
            self.send(s, t, cluster=cluster, p=p)
        self.add("txn", t + 0.01, producer=p, cluster=cluster, topic="orders", txn=n,
                 first=first, last=last, decision=decision, outcome=outcome,
                 error=None if outcome == "ok" else "x")  # fmt: skip
        return self

    def reader(self, name: str, t: float, isolation: str, cluster: str = OLD) -> T:
        return self.add("reader", t, reader=name, group="g1", cluster=cluster,
                        isolation=isolation)  # fmt: skip

    def read(self, reader: str, seqs: Iterable[int], t: float, *, p: str = "p0",
             cluster: str = OLD, topic: str = "orders", final: bool = False) -> T:  # fmt: skip
        for i, s in enumerate(seqs):
            mid = f"{p}:{s}"
            hdr = {"kd-origin-site": "east", "kd-origin-cluster": OLD, "kd-id": mid}
            self.add("recv", t, reader=reader, group=None if final else "g1", final=final,
                     cluster=cluster, topic=topic, partition=0,
                     offset=s if cluster == OLD else i, ts=TS0 + s, id=mid, hdr=hdr)  # fmt: skip
        return self

    def final(self, t: float, held: dict[str, list[int]], *, isolation: str | None = None,
              incomplete: Iterable[str] = (), authoritative: str = OLD) -> T:  # fmt: skip
        """The final read: ``held`` cluster -> p0 seqs (primary: ``orders``, dr: the copy)."""
        extra = {} if isolation is None else {"isolation": isolation}
        self.add("final_read.start", t, clusters=list(held), authoritative=authoritative,
                 topics={c: ["orders" if c == OLD else "primary.orders"] for c in held},
                 **extra)  # fmt: skip
        for c, seqs in held.items():
            self.read("final", seqs, t + 0.1, cluster=c, final=True,
                      topic="orders" if c == OLD else "primary.orders")  # fmt: skip
            self.add("final_read.end", t + 0.2, cluster=c, records=len(seqs),
                     complete=c not in incomplete)  # fmt: skip
        return self


def aborted_read(h: H) -> Verdict:
    return check_aborted_read(load_frames(h.events))


def torn(h: H) -> Verdict:
    return check_torn_transaction(load_frames(h.events))


def four_txns() -> T:
    """p0: txn 0 seq 0..2 committed, txn 1 seq 3..4 aborted, txn 2 seq 5..6 commit failed
    (aborted), txn 3 seq 7..8 commit unknown, seq 9 sent in a transaction never ended."""
    h = T().add("run.start", 0.0, run_id="r", scenario="s", seed=1)
    h.txn(0, 0, 2, 1.0).txn(1, 3, 4, 2.0, "abort").txn(2, 5, 6, 3.0, outcome="fail")
    h.txn(3, 7, 8, 4.0, outcome="unknown")
    return h.send(9, 5.0)  # type: ignore[return-value]


# -- applicability and the transaction figures --------------------------------------------------
def test_no_txn_event_is_not_applicable_and_passes() -> None:
    h = T().send(0, 1.0).read("c0", [0], 1.5).final(9.0, {OLD: [0]})
    for v in (aborted_read(h), torn(h)):
        assert v.status == "PASS" and v.figures == {"applicable": False}
        assert "no txn event" in v.notes[0]


def test_transaction_and_message_states() -> None:
    f = aborted_read(four_txns().final(9.0, {OLD: [0, 1, 2, 7, 8]})).figures
    assert f["applicable"] is True
    # A failed commit is aborted; a timed-out commit unknown; seq 9 (no txn) unknown too.
    assert f["transactions"] == {
        "committed": 1,
        "aborted": 2,
        "unknown": 1,
        "messages": {"committed": 3, "aborted": 4, "unknown": 3},
    }


def test_aborted_messages_are_not_acknowledged_so_not_lost() -> None:
    # The final read (read_committed) holds the committed transaction and the unknown one.
    v = run_checkers(load_frames(four_txns().final(9.0, {OLD: [0, 1, 2, 7, 8]}).events))
    loss = v["loss"]
    assert loss.status == "PASS", loss.notes
    assert (loss.figures["acked"], loss.figures["lost"]) == (3, 0)
    u = v["unknown"].figures
    assert (u["failed"], u["unknown"], u["unknown_landed"]) == (4, 3, 2)
    assert v["aborted_read"].status == "PASS" and v["torn_transaction"].status == "PASS"


# -- aborted_read -------------------------------------------------------------------------------
def test_a_read_committed_consumer_reading_an_aborted_record_is_an_aborted_read() -> None:
    h = four_txns().reader("c0", 0.5, "read_committed").read("c0", [0, 1, 2, 3, 5], 6.0)
    v = aborted_read(h)
    assert v.status == "FAIL"
    f = v.figures
    assert (f["count"], f["ids"], f["on_origin"], f["elsewhere"]) == (2, 2, 2, 0)
    assert f["per_cluster"] == {OLD: 2} and f["by_reader"] == {"c0": 2}
    assert f["read_uncommitted_seen"] == 0
    assert v.evidence[0] == {
        "id": "p0:3", "txn": 1, "producer": "p0", "txn_cluster": OLD, "reader": "c0",
        "final": False, "cluster": OLD, "topic": "orders", "partition": 0, "offset": 3, "t": 6.0,
    }  # fmt: skip
    assert [e["id"] for e in v.evidence] == ["p0:3", "p0:5"]


def test_a_reader_without_a_reader_event_is_read_committed() -> None:
    assert aborted_read(four_txns().read("c0", [4], 6.0)).figures["count"] == 1


def test_read_uncommitted_readers_are_not_aborted_reads() -> None:
    h = four_txns().reader("c0", 0.5, "read_uncommitted").read("c0", [3, 4, 5, 6], 6.0)
    h.final(9.0, {OLD: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}, isolation="read_uncommitted")
    v = aborted_read(h)
    assert v.status == "PASS", v.evidence
    assert (v.figures["count"], v.figures["read_uncommitted_seen"]) == (0, 8)
    assert any("read_uncommitted" in n for n in v.notes)


def test_isolation_follows_the_readers_latest_reader_event() -> None:
    # c0 reads uncommitted on primary, is redirected and restarts read_committed on DR.
    h = four_txns().reader("c0", 0.5, "read_uncommitted").read("c0", [3], 6.0)
    h.reader("c0", 7.0, "read_committed", cluster=DR)
    h.read("c0", [3, 4], 7.5, cluster=DR, topic="primary.orders")
    f = aborted_read(h).figures
    assert (f["count"], f["read_uncommitted_seen"]) == (2, 1)
    assert f["per_cluster"] == {DR: 2} and f["elsewhere"] == 2


def test_an_aborted_record_mirrored_to_dr_read_committed_there_counts_elsewhere() -> None:
    # MM2 (read_uncommitted) copied the aborted txn 1; the final reader reads DR committed.
    h = four_txns().final(9.0, {OLD: [0, 1, 2], DR: [0, 1, 2, 3, 4]}, authoritative=DR)
    v = aborted_read(h)
    assert v.status == "PASS"  # measured; max_aborted_reads_on_copies judges it
    f = v.figures
    assert (f["count"], f["on_origin"], f["elsewhere"]) == (2, 0, 2)
    assert f["per_cluster"] == {DR: 2} and f["by_reader"] == {"final": 2}
    assert v.evidence[0]["topic"] == "primary.orders" and v.evidence[0]["final"] is True
    assert any("KAFKA-14021" in n for n in v.notes)


def test_each_reader_and_id_counts_once_at_its_first_receipt() -> None:
    h = four_txns().read("c0", [3, 3], 6.0).read("c0", [3], 7.0, cluster=DR, topic="x")
    h.read("c1", [3], 6.5)
    f = aborted_read(h).figures
    assert (f["count"], f["ids"]) == (2, 1)
    assert f["per_cluster"] == {OLD: 2} and f["by_reader"] == {"c0": 1, "c1": 1}


def test_committed_and_unknown_records_are_no_aborted_reads() -> None:
    v = aborted_read(four_txns().read("c0", [0, 1, 2, 7, 8, 9], 6.0))
    assert v.status == "PASS" and v.figures["count"] == 0


# -- torn_transaction ---------------------------------------------------------------------------
def test_a_commit_partly_mirrored_to_dr_is_torn_there() -> None:
    h = T().txn(0, 0, 3, 1.0).txn(1, 4, 5, 2.0)
    v = torn(h.final(9.0, {OLD: [0, 1, 2, 3, 4, 5], DR: [0, 1, 4, 5]}, authoritative=DR))
    assert v.status == "PASS"  # a copy: measured; max_torn_transactions_on_copies judges it
    f = v.figures
    assert (f["transactions"], f["checked"], f["torn"], f["torn_transactions"]) == (2, 4, 1, 1)
    assert (f["on_origin"], f["elsewhere"]) == (0, 1)
    assert f["per_cluster"] == {DR: 1} and f["clusters_judged"] == [DR, OLD]
    assert (f["missing_on_origin"], f["incomplete_clusters"]) == (0, [])
    assert v.evidence == [
        {"kind": "torn", "producer": "p0", "txn": 0, "state": "committed", "txn_cluster": OLD,
         "cluster": DR, "held": 2, "of": 4, "missing_ids": ["p0:2", "p0:3"]},
    ]  # fmt: skip


def test_an_unknown_commit_seen_whole_or_not_at_all_is_fine() -> None:
    h = T().txn(0, 0, 2, 1.0, outcome="unknown").txn(1, 3, 4, 2.0, outcome="unknown")
    v = torn(h.final(9.0, {OLD: [0, 1, 2], DR: [0, 1, 2]}))
    assert v.status == "PASS" and v.figures["torn"] == 0
    assert v.figures["missing_on_origin"] == 0  # txn 1 may never have committed


def test_an_unknown_commit_seen_in_part_is_torn() -> None:
    v = torn(T().txn(0, 0, 2, 1.0, outcome="unknown").final(9.0, {OLD: [0, 1], DR: [0]}))
    assert v.status == "FAIL" and v.figures["per_cluster"] == {OLD: 1, DR: 1}
    assert (v.figures["on_origin"], v.figures["elsewhere"]) == (1, 1)


def test_aborted_transactions_are_not_judged() -> None:
    h = T().txn(0, 0, 2, 1.0, "abort").txn(1, 3, 4, 2.0, outcome="fail")
    v = torn(h.final(9.0, {OLD: [0, 3, 4], DR: [1]}, isolation="read_uncommitted"))
    assert v.status == "PASS" and v.figures["transactions"] == 0
    assert v.figures["checked"] == 0 and "nothing to judge" in v.notes[0]


def test_incomplete_reads_are_not_judged() -> None:
    h = T().txn(0, 0, 3, 1.0)
    v = torn(h.final(9.0, {OLD: [0, 1, 2, 3], DR: [0, 1]}, incomplete=[DR]))
    assert v.status == "PASS"
    assert (v.figures["torn"], v.figures["checked"]) == (0, 1)
    assert v.figures["incomplete_clusters"] == [DR] and v.figures["clusters_judged"] == [OLD]
    assert any("did not complete" in n for n in v.notes)


def test_nothing_read_completely_is_unknown() -> None:
    h = T().txn(0, 0, 3, 1.0)
    v = torn(h.final(9.0, {OLD: [0, 1], DR: [0]}, incomplete=[OLD, DR]))
    assert v.status == "UNKNOWN" and v.figures["checked"] == 0
    assert torn(T().txn(0, 0, 3, 1.0)).status == "UNKNOWN"  # no final read at all


def test_a_committed_transaction_absent_from_its_origin_is_missing_not_torn() -> None:
    h = T().txn(0, 0, 1, 1.0).txn(1, 2, 3, 2.0).final(9.0, {OLD: [0, 1]})
    v = torn(h)
    assert v.status == "PASS"
    assert (v.figures["torn"], v.figures["missing_on_origin"]) == (0, 1)
    assert v.evidence[0]["kind"] == "missing_on_origin" and v.evidence[0]["txn"] == 1
    loss = run_checkers(load_frames(h.events))["loss"]
    assert loss.figures["lost"] == 2  # the loss checker counts its messages


def test_ids_match_across_topics_and_producers() -> None:
    # Two producers' transactions on one cluster; DR holds p1's under a renamed topic, whole.
    h = T().txn(0, 0, 1, 1.0).txn(0, 0, 1, 1.5, p="p1")
    h.add("final_read.start", 9.0, clusters=[DR], authoritative=DR, topics={DR: ["x"]})
    h.read("final", [0, 1], 9.1, p="p1", cluster=DR, topic="x", final=True)
    h.read("final", [0], 9.1, p="p0", cluster=DR, topic="y", final=True)
    h.add("final_read.end", 9.2, cluster=DR, records=3, complete=True)
    v = torn(h)
    assert v.figures["torn"] == 1
    assert v.evidence[0]["producer"] == "p0" and v.evidence[0]["missing_ids"] == ["p0:1"]


def test_both_checkers_in_a_full_run_reach_report_json() -> None:
    h = four_txns().read("c0", [3], 6.0).final(9.0, {OLD: [0, 1], DR: [0, 1]})
    v: dict[str, Any] = {k: x.to_dict() for k, x in check(h).items()}
    assert v["aborted_read"]["status"] == "FAIL" and v["torn_transaction"]["status"] == "FAIL"


def test_aborted_records_in_the_final_read_are_not_failed_sends_that_landed() -> None:
    # A read_uncommitted final read (or MM2's copy) returns aborted records: by design, not a
    # client that reported a failure for a write that happened.
    h = four_txns().final(9.0, {OLD: list(range(10))}, isolation="read_uncommitted")
    u = run_checkers(load_frames(h.events))["unknown"]
    assert u.status == "PASS", u.evidence
    assert (u.figures["failed"], u.figures["failed_but_landed"]) == (4, 0)
    assert u.figures["aborted_landed"] == 4
    h = four_txns().send(10, 5.5, "fail").final(9.0, {OLD: [0, 1, 2, 10]}, incomplete=[OLD])
    u = run_checkers(load_frames(h.events))["unknown"]
    assert (u.status, u.figures["failed_but_landed"], u.figures["aborted_landed"]) == ("FAIL", 1, 0)
    # An incomplete read leaves only real failures undecided: aborted ones never land "wrongly".
    h = four_txns().final(9.0, {OLD: [0, 1, 2]}, incomplete=[OLD])
    assert run_checkers(load_frames(h.events))["unknown"].status == "PASS"


def test_a_read_committed_group_passing_over_copied_aborted_records_skips_nothing() -> None:
    # Seen in a transactional region failover: MM2 copied aborted txn 1 (seq 3..4) to DR as
    # ordinary records; billing had skipped them on primary by design, then resumed on DR
    # past them. They are not writes the group owed anyone: no skip.
    h = T().add("run.start", 0.0, run_id="r", scenario="s", seed=1)
    h.txn(0, 0, 2, 1.0).txn(1, 3, 4, 2.0, "abort").txn(2, 5, 6, 3.0)
    h.read("c0", [0, 1, 2], 6.0)
    # resumed on DR past the copies: seq 5 and 6 at DR offsets 5 and 6
    h.read("c0", [0, 1, 2, 3, 4, 5, 6][5:], 7.0, cluster=DR, topic="primary.orders")
    for e in h.events[-2:]:
        e["offset"] += 5
    h.final(9.0, {OLD: [0, 1, 2, 5, 6], DR: [0, 1, 2, 3, 4, 5, 6]}, authoritative=DR)
    v = run_checkers(load_frames(h.events))["offsets"]
    assert v.figures["skipped"] == 0, v.evidence
