"""Jepsen's consumer and producer checks on the poll-level history: inconsistent_offsets,
lost_writes, send_order and poll_order, one test per rule and per legitimate exception
(docs/explanation/checkers.md), on hand-built histories."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.test_checkers_unit import TS0, H, check

from kafkadrill.checkers import Verdict
from kafkadrill.checkers.judge import judge


def rd(h: H, seq: int | None, t: float, offset: int, *, reader: str = "c0",
       group: str | None = "g1", cluster: str = "primary", topic: str = "orders",
       partition: int = 0, p: str = "p0") -> H:  # fmt: skip
    """A receipt of record ``p:seq`` (``seq`` None: a record kafkadrill did not write)."""
    mid = None if seq is None else f"{p}:{seq}"
    return h.add("recv", t, reader=reader if group else "final", group=group,
                 final=group is None, cluster=cluster, topic=topic, partition=partition,
                 offset=offset, ts=TS0, id=mid, hdr={})  # fmt: skip


def poll(h: H, t: float, *, reader: str = "c0", instance: int = 1,
         cluster: str = "primary") -> H:  # fmt: skip
    return h.add("poll", t, reader=reader, cluster=cluster, instance=instance, ranges=[])


def rebalance(h: H, t: float, change: str = "revoke", *, reader: str = "c0",
              instance: int = 1) -> H:  # fmt: skip
    return h.add("assign", t, reader=reader, group="g1", cluster="primary", instance=instance,
                 change=change, partitions=[["orders", 0]])  # fmt: skip


def polled(h: H, offsets: list[int], t: float, *, instance: int = 1, cluster: str = "primary",
           partition: int = 0, reader: str = "c0") -> H:  # fmt: skip
    """One poll batch of records ``p0:<offset>`` at those offsets."""
    poll(h, t, reader=reader, instance=instance, cluster=cluster)
    for o in offsets:
        rd(h, o, t, o, reader=reader, cluster=cluster, partition=partition)
    return h


def _acked(n: int) -> H:
    """p0:0 .. p0:<n-1> acked at offsets 0 .. n-1 of primary/orders/0."""
    h = H()
    for s in range(n):
        h.send(s, s / 100)
    return h


def run(h: H, name: str) -> Verdict:
    return check(h)[name]


# -- inconsistent_offsets ------------------------------------------------------------------------
def test_two_ids_at_one_offset_are_inconsistent() -> None:
    h = H().send(0, 0.0).send(1, 1.0).send(2, 2.0)
    h.final_read(5.0, [0, 2], cluster="primary", topic="orders")  # p0:2 read at offset 1
    v = run(h, "inconsistent_offsets")
    assert v.status == "FAIL"
    f = v.figures
    assert (f["checked"], f["compared"], f["inconsistent"]) == (3, 2, 1)
    assert f["per_partition"] == {"primary/orders/0": 1}
    (e,) = v.evidence
    assert (e["cluster"], e["topic"], e["partition"], e["offset"]) == ("primary", "orders", 0, 1)
    assert e["ids"] == ["p0:1", "p0:2"]
    assert e["seen_by"] == {"p0:1": ["ack:p0"], "p0:2": ["final"]}


def test_copies_on_another_cluster_sit_at_other_offsets() -> None:
    h = H()
    for s in range(3):
        h.send(s, float(s), offset=10 + s)
    h.final_read(5.0, [0, 1, 2])  # dr/primary.orders at offsets 0..2
    rd(h, 2, 6.0, 2, cluster="dr", topic="primary.orders", group=None)  # a re-fetch: same id
    v = run(h, "inconsistent_offsets")
    assert v.status == "PASS" and v.figures["inconsistent"] == 0


def test_records_without_id_and_acks_without_offset_are_not_compared() -> None:
    h = H().send(0, 0.0).send(1, 1.0)
    h.add("send.invoke", 1.5, producer="p0", id="p0:2", cluster="primary", topic="orders",
          key=None, size=100)  # fmt: skip
    h.add("send.ok", 1.6, producer="p0", id="p0:2", cluster="primary", topic="orders",
          partition=0, offset=None, ts=TS0)  # fmt: skip
    rd(h, None, 2.0, 1)  # someone else's record read at p0:1's acked offset
    rd(h, 0, 2.1, 0)
    v = run(h, "inconsistent_offsets")
    assert v.status == "PASS" and v.figures["checked"] == 2


def test_duplicate_is_not_an_inconsistency() -> None:
    h = H().send(0, 0.0).send(1, 1.0)
    rd(h, 0, 2.0, 0)
    rd(h, 1, 2.1, 1)
    rd(h, 1, 2.2, 2)  # p0:1 written twice: duplicates' business
    assert run(h, "inconsistent_offsets").status == "PASS"


def _rewritten(detail: dict[str, Any] | None) -> H:
    """p0:0..3 acked at 0..3; the failback truncates the topic (keeps 0..1) and p1:0..1 land
    at 2..3 afterwards. ``detail`` None: no rewrite step at all."""
    h = H()
    for s in range(4):
        h.send(s, float(s))
    if detail is not None:
        h.add("runbook.step", 5.0, runbook="failback", step="truncate_topic", status="start",
              detail=None)  # fmt: skip
        h.add("runbook.step", 6.0, runbook="failback", step="truncate_topic", status="ok",
              detail=detail)  # fmt: skip
    for s in range(2):
        h.send(s, 7.0 + s, p="p1", offset=2 + s)
    h.add("final_read.start", 9.0, clusters=["primary"], authoritative="primary",
          topics={"primary": ["orders"]})  # fmt: skip
    for o, (p, s) in enumerate([("p0", 0), ("p0", 1), ("p1", 0), ("p1", 1)]):
        rd(h, s, 9.1, o, group=None, p=p)
    return h.add("final_read.end", 9.2, cluster="primary", records=4, complete=True)


def test_a_failback_rewrite_starts_a_new_incarnation() -> None:
    v = check(_rewritten({"cluster": "primary", "topic": "orders", "kept": 2}))
    assert v["inconsistent_offsets"].status == "PASS"
    assert v["send_order"].status == "PASS"  # p0's acks and p1's live in different logs
    assert v["lost_writes"].status == "PASS"  # p0:2, p0:3: a rewrite, not the broker
    # A step from before it named what it rewrote: every topic counts as rewritten.
    assert check(_rewritten({}))["inconsistent_offsets"].status == "PASS"
    # Without the rewrite, the same offsets holding other ids are an inconsistency.
    v = check(_rewritten(None))
    assert v["inconsistent_offsets"].figures["inconsistent"] == 2
    assert v["lost_writes"].figures["lost"] == 2


def test_a_rewrite_of_another_cluster_keeps_this_one_judged() -> None:
    h = _rewritten({"cluster": "dr", "topic": "orders"})
    assert run(h, "inconsistent_offsets").figures["inconsistent"] == 2


# -- lost_writes ---------------------------------------------------------------------------------
def test_a_write_below_what_readers_read_is_lost() -> None:
    h = H()
    for s in range(5):
        h.send(s, float(s))
    h.add("final_read.start", 9.0, clusters=["primary"], authoritative="primary",
          topics={"primary": ["orders"]})  # fmt: skip
    for s in (0, 1, 3, 4):
        rd(h, s, 9.1, s, group=None)
    h.add("final_read.end", 9.2, cluster="primary", records=4, complete=True)
    v = run(h, "lost_writes")
    assert v.status == "FAIL"
    f = v.figures
    assert (f["acked"], f["judged"], f["lost"], f["not_spanned"]) == (5, 5, 1, 0)
    assert f["per_partition"] == {"primary/orders/0": 1}
    assert f["window"] == {"first_ack_t": 2.0, "last_ack_t": 2.0, "seconds": 0.0}
    (e,) = v.evidence
    assert (e["id"], e["offset"], e["read_from"], e["read_to"]) == ("p0:2", 2, 0, 4)


def test_offset_reused_by_another_record_is_a_lost_write() -> None:
    # The last acked write's offset now holds another record, and nothing was read above it.
    h = H().send(0, 0.0).send(1, 1.0)
    rd(h, 0, 2.0, 0)
    rd(h, 7, 2.1, 1, p="p1")
    v = check(h)
    assert v["lost_writes"].figures["lost"] == 1
    assert v["inconsistent_offsets"].figures["inconsistent"] == 1


def test_a_write_read_on_its_cluster_is_not_lost_even_elsewhere_absent() -> None:
    h = H()
    for s in range(3):
        h.send(s, float(s))
        rd(h, s, s + 0.5, s)
    h.final_read(5.0, [0, 1])  # dr never got p0:2: the loss checker's question, not this one
    v = check(h)
    assert v["lost_writes"].status == "PASS"
    assert v["loss"].figures["lost"] == 1


def test_judged_on_the_cluster_that_acked_it() -> None:
    # dr holds p0:1 (MM2 copied it) but primary, which acknowledged it, lost it.
    h = H()
    for s in range(3):
        h.send(s, float(s))
    h.final_read(5.0, [0, 1, 2])
    for s in (0, 2):
        rd(h, s, 6.0, s, group=None)
    v = check(h)
    assert v["lost_writes"].figures["lost"] == 1
    assert v["loss"].figures["lost"] == 0


def test_readers_that_started_past_a_write_do_not_judge_it() -> None:
    h = H()
    for s in range(6):
        h.send(s, float(s))
    rd(h, 0, 6.0, 0)
    rd(h, 1, 6.1, 1)
    h.add("redirect", 7.0, client="c0", role="consumer", group="g1", from_cluster="primary",
          to_cluster="dr")  # fmt: skip
    h.add("redirect", 8.0, client="c0", role="consumer", group="g1", from_cluster="dr",
          to_cluster="primary")  # fmt: skip
    rd(h, 4, 9.0, 4)  # a new client, started from offsets translated past 2 and 3
    rd(h, 5, 9.1, 5)
    rd(h, 3, 9.5, 3, reader="c1", group="late")  # started at 3 (auto.offset.reset=latest)
    v = run(h, "lost_writes")
    assert v.status == "PASS"
    assert (v.figures["judged"], v.figures["lost"], v.figures["not_spanned"]) == (5, 0, 1)
    assert "not judged lost" in v.notes[0]


def test_records_retention_deleted_before_the_final_read_are_not_lost() -> None:
    h = H()
    for s in range(5):
        h.send(s, float(s))
    h.add("final_read.start", 9.0, clusters=["primary"], authoritative="primary",
          topics={"primary": ["orders"]})  # fmt: skip
    for s in (3, 4):  # the log starts at 3 now
        rd(h, s, 9.1, s, group=None)
    h.add("final_read.end", 9.2, cluster="primary", records=2, complete=True,
          log_start=[["orders", 0, 3]])  # fmt: skip
    v = run(h, "lost_writes")
    assert v.status == "PASS" and v.figures["judged"] == 2


def test_nothing_read_judges_nothing() -> None:
    v = run(H().send(0, 0.0), "lost_writes")
    assert v.status == "PASS" and v.figures["judged"] == 0 and "no reader" in v.notes[0]


# -- send_order ----------------------------------------------------------------------------------
def test_a_later_send_acked_below_an_earlier_one_is_an_inversion() -> None:
    h = H().send(0, 0.0, offset=0).send(1, 1.0, offset=2).send(2, 2.0, offset=1)
    h.send(3, 3.0, offset=3)
    v = run(h, "send_order")
    assert v.status == "FAIL"
    f = v.figures
    assert (f["checked"], f["inversions"]) == (4, 1)
    assert f["per_partition"] == {"primary/orders/0": 1} and f["per_producer"] == {"p0": 1}
    (e,) = v.evidence
    assert (e["seq"], e["offset"], e["next_seq"], e["next_offset"]) == (1, 2, 2, 1)


def test_send_order_is_per_producer_partition_and_cluster() -> None:
    h = H()
    for s in range(3):  # p0 and p1 interleave on one partition; p0 moves to dr at seq 3
        h.send(s, float(s), offset=2 * s)
        h.send(s, s + 0.5, p="p1", offset=2 * s + 1)
        h.send(s + 10, s + 0.7, partition=1, offset=s)
    for s in range(3, 6):
        h.send(s, float(s), cluster="dr", offset=s - 3)
    v = run(h, "send_order")
    assert v.status == "PASS" and v.figures["checked"] == 12


def test_send_order_follows_the_seq_not_the_ack_time() -> None:
    # Delivery reports can arrive out of order; offsets by seq still increase.
    h = H().send(1, 0.0, offset=1).send(0, 1.0, offset=0)
    assert run(h, "send_order").status == "PASS"


def test_acks_without_offset_have_no_order() -> None:
    h = H().send(0, 0.0, offset=5)
    h.add("send.invoke", 1.0, producer="p0", id="p0:1", cluster="primary", topic="orders",
          key=None, size=100)  # fmt: skip
    h.add("send.ok", 1.1, producer="p0", id="p0:1", cluster="primary", topic="orders",
          partition=0, offset=None, ts=TS0)  # fmt: skip
    v = run(h, "send_order")
    assert v.status == "PASS" and v.figures["checked"] == 1


# -- poll_order ----------------------------------------------------------------------------------
def test_no_consumer_group_is_not_applicable() -> None:
    h = _acked(2).final_read(5.0, [0, 1], cluster="primary", topic="orders")
    v = run(h, "poll_order")
    assert v.status == "PASS" and v.figures["checked"] == 0
    assert "not applicable" in v.notes[0]


def test_history_without_poll_events_is_unknown() -> None:
    h = _acked(2)
    rd(h, 0, 1.0, 0)
    rd(h, 1, 1.1, 1)
    v = run(h, "poll_order")
    assert v.status == "UNKNOWN" and v.figures["unattributed"] == 2
    assert "predates poll recording" in v.notes[0]


def test_polls_that_continue_pass() -> None:
    h = _acked(6)
    polled(h, [0, 1, 2], 1.0)
    polled(h, [3, 4, 5], 2.0)
    v = run(h, "poll_order")
    assert v.status == "PASS", v.evidence
    assert (v.figures["checked"], v.figures["instances"]) == (6, 1)
    assert all(v.figures[k] == 0 for k in ("nonmonotonic_polls", "poll_skips"))


def test_going_back_without_a_rebalance_is_nonmonotonic() -> None:
    h = _acked(4)
    polled(h, [0, 1, 2], 1.0)
    polled(h, [1, 2, 3], 2.0)  # back to 1
    polled(h, [3], 3.0)  # the same offset again counts too
    v = run(h, "poll_order")
    assert v.status == "FAIL"
    assert v.figures["nonmonotonic_polls"] == 2
    assert v.figures["per_partition"] == {"primary/orders/0": {"nonmonotonic_polls": 2}}
    assert v.figures["per_reader"] == {"c0": {"nonmonotonic_polls": 2}}
    e = v.evidence[0]
    assert (e["kind"], e["reader"], e["instance"], e["offset"], e["next_offset"]) == (
        "nonmonotonic_polls", "c0", 1, 2, 1)  # fmt: skip


def test_rewind_after_a_rebalance_is_reported_not_failed() -> None:
    h = _acked(4)
    polled(h, [0, 1, 2], 1.0)
    rebalance(h, 1.5, "revoke")
    rebalance(h, 1.6, "assign")
    polled(h, [1, 2, 3], 2.0)  # restarted from the committed offset
    v = run(h, "poll_order")
    assert v.status == "PASS"
    assert (v.figures["rewinds_after_rebalance"], v.figures["nonmonotonic_polls"]) == (1, 0)


def test_another_instances_rebalance_does_not_excuse_a_rewind() -> None:
    # The old client, closing on a thread after a redirect, reports its revoke late.
    h = _acked(4)
    polled(h, [0, 1, 2], 1.0, instance=2)
    rebalance(h, 1.5, "revoke", instance=1)
    polled(h, [1], 2.0, instance=2)
    assert run(h, "poll_order").figures["nonmonotonic_polls"] == 1


def test_jumping_over_known_records_is_a_poll_skip() -> None:
    h = _acked(5)
    polled(h, [0, 1], 1.0)
    polled(h, [4], 2.0)  # 2 and 3 were acknowledged there
    v = run(h, "poll_order")
    assert v.status == "FAIL"
    assert (v.figures["poll_skips"], v.figures["skipped_records"]) == (1, 2)
    assert v.evidence[0]["skipped_records"] == 2


def test_a_gap_nobody_saw_a_record_in_is_no_skip() -> None:
    # Offsets 2 and 3 hold no record anyone acked or read: transaction markers, compaction.
    h = H().send(0, 0.0, offset=0).send(1, 0.1, offset=1).send(2, 0.2, offset=4)
    poll(h, 1.0)
    rd(h, 0, 1.0, 0)
    rd(h, 1, 1.0, 1)
    rd(h, 2, 1.0, 4)
    assert run(h, "poll_order").status == "PASS"


def test_known_records_include_other_readers_and_the_final_read() -> None:
    h = H()
    polled(h, [0], 1.0)
    polled(h, [2], 2.0)  # nothing acked (foreign records), but the final read saw offset 1
    rd(h, None, 5.0, 1, group=None)
    v = run(h, "poll_order")
    assert (v.status, v.figures["poll_skips"], v.figures["skipped_records"]) == ("FAIL", 1, 1)


def test_skip_across_a_rebalance_is_reported_not_failed() -> None:
    h = _acked(6)
    polled(h, [0, 1], 1.0)
    rebalance(h, 1.5, "revoke")
    polled(h, [2, 3], 1.7, reader="c1")  # another member had the partition meanwhile
    rebalance(h, 1.9, "assign")
    polled(h, [4, 5], 2.0)
    v = run(h, "poll_order")
    assert v.status == "PASS"
    assert (v.figures["skips_across_rebalance"], v.figures["poll_skips"]) == (1, 0)
    assert v.figures["skipped_records"] == 0
    assert v.figures["instances"] == 2


def test_a_redirect_starts_a_new_instance() -> None:
    h = _acked(6)
    polled(h, [0, 1, 2, 3, 4, 5], 1.0)
    h.add("redirect", 2.0, client="c0", role="consumer", group="g1", from_cluster="primary",
          to_cluster="dr")  # fmt: skip
    polled(h, [0, 1], 3.0, instance=2, cluster="dr")
    h.add("redirect", 4.0, client="c0", role="consumer", group="g1", from_cluster="dr",
          to_cluster="primary")  # fmt: skip
    polled(h, [3, 4], 5.0, instance=3)  # back on primary: starts where its group's offset is
    v = run(h, "poll_order")
    assert v.status == "PASS", v.evidence
    assert v.figures["instances"] == 3 and v.figures["checked"] == 10


def test_partitions_are_checked_apart_and_final_reads_ignored() -> None:
    h = H()
    for s in range(4):
        h.send(s, s / 10, partition=s % 2, offset=s // 2)
    poll(h, 1.0)
    for s in range(4):
        rd(h, s, 1.0, s // 2, partition=s % 2)
    h.final_read(5.0, [0, 2], cluster="primary", topic="orders")  # re-reads 0..1: not a group
    v = run(h, "poll_order")
    assert v.status == "PASS" and v.figures["checked"] == 4


def test_receipts_before_any_poll_of_their_reader_are_unknown() -> None:
    h = _acked(3)
    rd(h, 0, 1.0, 0, reader="c1")  # c1 recorded no poll
    polled(h, [1, 2], 1.5)
    v = run(h, "poll_order")
    assert v.status == "UNKNOWN" and v.figures["unattributed"] == 1
    assert v.figures["checked"] == 2


def test_writes_retention_deleted_under_a_consumer_are_expired_not_lost() -> None:
    h = _acked(5)
    polled(h, [0, 1], 1.0)
    polled(h, [4], 2.0)  # its position fell below the log start: reset to the earliest left
    h.add("final_read.start", 9.0, clusters=["primary"], authoritative="primary",
          topics={"primary": ["orders"]})  # fmt: skip
    for s in (3, 4):
        rd(h, s, 9.1, s, group=None)
    h.add("final_read.end", 9.2, cluster="primary", records=2, complete=True,
          log_start=[["orders", 0, 3]])  # fmt: skip
    v = check(h)
    lw = v["lost_writes"]
    assert lw.status == "PASS" and (lw.figures["lost"], lw.figures["expired"]) == (0, 1)
    assert "log start" in lw.notes[0]
    # The consumer still skipped records it was assigned: poll_order says so.
    assert v["poll_order"].figures["poll_skips"] == 1


# -- findings ------------------------------------------------------------------------------------
def _failing(name: str) -> H:
    """A history on which checker ``name`` FAILs."""
    if name == "send_order":
        return H().send(0, 0.0, offset=1).send(1, 1.0, offset=0)
    if name == "poll_order":
        return polled(polled(_acked(3), [0], 1.0), [2], 2.0)
    h = H().send(0, 0.0).send(1, 1.0)  # p0:1's offset now holds another record
    return rd(rd(h, 0, 2.0, 0), 7, 2.1, 1, p="p1")


@pytest.mark.parametrize(
    ("name", "advice"),
    [
        ("lost_writes", "unclean.leader.election.enable=false"),
        ("inconsistent_offsets", "offsets reused"),
        ("send_order", "enable.idempotence=true"),
        ("poll_order", "auto.offset.reset and retention"),
    ],
)
def test_an_unexpected_fail_is_named_with_advice(name: str, advice: str) -> None:
    rep = judge(_failing(name).frames(), {}, error=None)
    assert name in [c["checker"] for c in rep["verdict_causes"]]
    (f,) = [f for f in rep["findings"] if f["text"].startswith(f"Checker {name} FAILed: ")]
    assert advice in f["suggestion"] and f["severity"] == "high"
    # Expected (listed in expected_anomalies): reported, no longer a cause of the verdict.
    rep = judge(_failing(name).frames(), {"expected_anomalies": [name]}, error=None)
    assert name not in [c["checker"] for c in rep["verdict_causes"]]


def _spans_by_groupby(part: Any, client: Any, off: Any) -> Any:
    """The pandas definition `lost_writes._spans` had (the reference its arrays must equal)."""
    import pandas as pd

    g = (
        pd.DataFrame({"part": part, "client": client, "off": off})
        .groupby(["part", "client"], sort=True)["off"]
        .agg(["min", "max"])
        .reset_index()
        .sort_values(["part", "min"], kind="stable")
    )
    merged: list[list[Any]] = []
    for p, c, lo, hi in g.itertuples(index=False, name=None):
        last = merged[-1] if merged else None
        if last is not None and last[0] == p and lo <= last[2]:
            last[2] = max(last[2], hi)
            last[3].append(c)
        else:
            merged.append([p, lo, hi, [c]])
    return pd.DataFrame(merged, columns=["part", "lo", "hi", "clients"])


@pytest.mark.parametrize(
    ("n_parts", "n_clients", "low_part"),
    [(3, 2, 0), (6, 5, 0), (50_000, 3, 0), (4, 3, -1)],  # few pairs, many pairs, a part -1
)
def test_read_spans_equal_the_groupby_definition(
    n_parts: int, n_clients: int, low_part: int
) -> None:
    import numpy as np
    import pandas as pd

    from kafkadrill.checkers.lost_writes import _spans

    rng = np.random.default_rng(n_parts)
    n = 20_000
    part = rng.integers(low_part, n_parts, n).astype(np.int64)
    client = rng.integers(0, n_clients, n).astype(np.int64)
    off = rng.integers(0, 300, n).astype(np.int32)
    got, want = _spans(part, client, off), _spans_by_groupby(part, client, off)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert len(want) > 1
