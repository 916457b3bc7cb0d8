"""split_writes checker: split writes and the divergent tail of a failover, one test per
definition, on hand-built histories (docs/explanation/checkers.md, "split_writes")."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from tests.unit.test_checkers_unit import H, check

from kafkadrill.checkers import evaluate
from kafkadrill.checkers.findings import derive_findings
from kafkadrill.checkers.judge import judge

OLD, DR = "primary", "dr"
DECIDE_T = 6.0  # the decide step's ok event
REDIRECT_END_T = 7.5  # the redirect_producers step's ok event


def _step(h: H, step: str, t0: float, t1: float, detail: dict | None = None,
          status: str = "ok", runbook: str = "failover") -> None:  # fmt: skip
    h.add("runbook.step", t0, runbook=runbook, step=step, status="start", detail=None)
    h.add("runbook.step", t1, runbook=runbook, step=step, status=status, detail=detail or {})


def _redirect(h: H, t: float, client: str, frm: str = OLD, to: str = DR) -> None:
    h.add("redirect", t, client=client, role="producer", group=None, from_cluster=frm,
          to_cluster=to)  # fmt: skip


def failover(*, fence: dict | None = None, fence_status: str = "ok", fence_t: float = 6.2,
             straggler_redirect: float | None = None, decide_detail: bool = True,
             named: list[str] | None = None) -> H:  # fmt: skip
    """p0 and p1 write seq 0..4 to the old primary at t = 0..4; the region fails at 5.0; the
    runbook decides at 6.0 (fences when asked), moves producers by 7.5: p0 redirects at 7.6,
    p1 at ``straggler_redirect`` (None: never). p0 then writes seq 10..12 to DR. Callers add
    the stragglers' writes and the final read."""
    h = H().add("run.start", 0.0, run_id="r", scenario="s", seed=1)
    for s in range(5):
        h.send(s, float(s), p="p0", offset=s)
        h.send(s, float(s) + 0.5, p="p1", offset=5 + s)
    h.add("fault.inject", 5.0, fault_id="f1", fault="region_outage", target="east", params={})
    h.add("fault.verify", 5.1, fault_id="f1", ok=True, detail="")
    _step(h, "detect", 5.1, 5.5)
    _step(h, "decide", 5.5, DECIDE_T, {"from": OLD, "to": DR} if decide_detail else {})
    if fence is not None:
        _step(h, "fence", DECIDE_T, fence_t, fence, status=fence_status)
    _step(h, "stop_mm2", 6.3, 6.5)
    _step(h, "redirect_producers", 7.0, REDIRECT_END_T,
          None if named is None else {"producers": ["p0"], "stragglers": named})  # fmt: skip
    _redirect(h, 7.6, "p0")
    if straggler_redirect is not None:
        _redirect(h, straggler_redirect, "p1")
    for s in range(10, 13):
        h.send(s, float(s), p="p0", cluster=DR, offset=s - 10)
    return h


def final_read(h: H, t: float, clusters: dict[str, Iterable[tuple[str, int, str]]], *,
               incomplete: Iterable[str] = ()) -> H:  # fmt: skip
    """Final read of each cluster: ``(producer, seq, topic)`` records in order."""
    read = {c: list(recs) for c, recs in clusters.items()}
    topics = {c: sorted({topic for _, _, topic in recs}) for c, recs in read.items()}
    h.add("final_read.start", t, clusters=list(read), authoritative=DR, topics=topics)
    for cluster, recs in read.items():
        for i, (p, s, topic) in enumerate(recs):
            h.recv(s, t + 0.1, cluster=cluster, topic=topic, offset=i, final=True, p=p)
        h.add("final_read.end", t + 0.2, cluster=cluster, records=len(recs),
              complete=cluster not in incomplete)  # fmt: skip
    return h


def mirrored(upto: int = 5) -> list[tuple[str, int, str]]:
    """What MM2 copied to DR before it stopped: seq 0..upto-1 of both producers."""
    return [(p, s, "primary.orders") for p in ("p0", "p1") for s in range(upto)]


def on_dr() -> list[tuple[str, int, str]]:
    return [("p0", s, "orders") for s in range(10, 13)]


def on_old(extra: Iterable[tuple[str, int]] = ()) -> list[tuple[str, int, str]]:
    base = [(p, s, "orders") for p in ("p0", "p1") for s in range(5)]
    return base + [(p, s, "orders") for p, s in extra]


def sw(h: H):  # the checker's verdict
    return check(h)["split_writes"]


# -- applicability --------------------------------------------------------------------------
def test_no_failover_is_not_applicable() -> None:
    h = H().add("run.start", 0.0, run_id="r", scenario="s", seed=1)
    for s in range(3):
        h.send(s, float(s))
    h.final_read(5.0, [0, 1, 2], cluster=OLD, topic="orders")
    v = sw(h)
    assert v.status == "PASS" and v.figures["applicable"] is False
    assert v.figures["split_writes"] is None and v.figures["divergent_tail"] is None
    assert "no failover" in v.notes[0]
    # the objective is not applicable either: PASS, not UNKNOWN
    verdicts = check(h)
    res = {r.name: r for r in evaluate(verdicts, {"max_split_writes": 0})}
    assert (res["max_split_writes"].observed, res["max_split_writes"].verdict) == (None, "PASS")


def test_clean_failover_has_no_split_writes_and_no_tail() -> None:
    h = failover(straggler_redirect=7.7)
    v = sw(final_read(h, 20.0, {DR: mirrored() + on_dr(), OLD: on_old()}))
    f = v.figures
    assert v.status == "PASS" and f["applicable"] is True
    assert (f["old_primary"], f["dr"], f["decision_t"]) == (OLD, DR, DECIDE_T)
    assert f["fence"]["status"] == "absent"
    assert f["split_writes"]["count"] == 0 and f["split_writes"]["per_producer"] == {}
    assert f["split_writes"]["first_ack_after_decision_s"] is None
    t = f["divergent_tail"]
    assert (t["count"], t["acked_on_old_primary"], t["nowhere"]) == (0, 10, 0)


# -- split writes ---------------------------------------------------------------------------
def test_straggler_acked_on_old_primary_after_decision_never_reached_dr() -> None:
    h = failover(straggler_redirect=None)  # p1 never redirected
    for s, t in ((5, 8.0), (6, 9.0), (7, 11.0)):
        h.send(s, t, p="p1", offset=5 + s)
    h = final_read(h, 20.0, {DR: mirrored() + on_dr(),
                             OLD: on_old([("p1", 5), ("p1", 6), ("p1", 7)])})  # fmt: skip
    v = sw(h)
    s = v.figures["split_writes"]
    assert v.status == "PASS"  # measured; the objective judges the count
    assert (s["count"], s["reached_dr"], s["not_reached_dr"], s["seen_by_consumer"]) == (
        3, 0, 3, 0)  # fmt: skip
    assert s["stragglers"] == ["p1"] and s["producers"] == ["p1"]
    assert s["per_producer"]["p1"] == {
        "count": 3, "redirected_t": None, "straggler": True, "before_redirect": 3,
        "after_redirect": 0, "first_ack_after_decision_s": 2.0,
        "last_ack_after_decision_s": 5.0}  # fmt: skip
    assert (s["first_ack_after_decision_s"], s["last_ack_after_decision_s"]) == (2.0, 5.0)
    assert s["acked_through_fence"] is None  # no fence: nothing to leak through
    assert [e["id"] for e in v.evidence] == ["p1:5", "p1:6", "p1:7"]
    assert v.evidence[0]["kind"] == "split_write" and v.evidence[0]["on_dr"] is False
    # the divergent tail: split writes not replicated, still on the old primary
    t = v.figures["divergent_tail"]
    assert (t["count"], t["before_decision"], t["after_decision"]) == (3, 0, 3)
    assert (t["held_on_old_primary"], t["not_held_on_old_primary"], t["nowhere"]) == (3, 0, 0)
    assert (t["first_ack_t"], t["last_ack_t"]) == (8.0, 11.0)


def test_late_redirect_makes_a_straggler_an_on_time_one_does_not() -> None:
    h = failover(straggler_redirect=REDIRECT_END_T + 5.0)  # p1 moves 5 s after the others
    h.send(5, 8.0, p="p1", offset=10).send(6, 13.0, p="p1", offset=11)  # 13.0: after its move
    h.send(13, 7.55, p="p0", offset=5)  # p0 in flight at its redirect (7.6)
    h = final_read(h, 20.0, {DR: mirrored() + on_dr(), OLD: on_old()})
    s = sw(h).figures["split_writes"]
    assert s["stragglers"] == ["p1"] and s["producers"] == ["p0", "p1"]
    p0, p1 = s["per_producer"]["p0"], s["per_producer"]["p1"]
    assert (p0["straggler"], p0["redirected_t"], p0["before_redirect"]) == (False, 7.6, 1)
    assert (p1["straggler"], p1["before_redirect"], p1["after_redirect"]) == (True, 1, 1)


def test_split_write_that_reached_dr() -> None:
    h = failover(straggler_redirect=None)
    h.send(5, 6.1, p="p1", offset=10)  # acked after the decision, before MM2 stopped
    h.send(6, 8.0, p="p1", offset=11)
    dr = [*mirrored(), ("p1", 5, "primary.orders"), *on_dr()]  # found under the remote name
    h = final_read(h, 20.0, {DR: dr, OLD: on_old([("p1", 5), ("p1", 6)])})
    v = sw(h)
    s, t = v.figures["split_writes"], v.figures["divergent_tail"]
    assert (s["count"], s["reached_dr"], s["not_reached_dr"]) == (2, 1, 1)
    assert [e["on_dr"] for e in v.evidence] == [True, False]
    assert (t["count"], t["after_decision"]) == (1, 1)


def test_an_ack_that_came_late_for_a_record_read_before_the_decision_is_not_a_split_write() -> None:
    # Seen in a stability round: a straggler's record was written (and read, and copied) just
    # before the link cut; its ack crossed only after the heal, after the decision.
    h = failover(straggler_redirect=None)
    base = {"producer": "p1", "cluster": OLD, "topic": "orders"}
    h.add("send.invoke", 5.0, **base, id="p1:5", key=None, size=100)
    h.recv(5, 5.05, cluster=OLD, topic="orders", offset=10, p="p1")  # in the log before 6.0
    h.add("send.ok", 9.0, **base, id="p1:5", partition=0, offset=10, ts=1_005)  # the ack, late
    h.send(6, 9.1, p="p1", offset=11)  # a real split write
    dr = [*mirrored(), ("p1", 5, "primary.orders"), *on_dr()]
    h = final_read(h, 20.0, {DR: dr, OLD: on_old([("p1", 5), ("p1", 6)])})
    s = sw(h).figures["split_writes"]
    assert (s["count"], s["reached_dr"], s["seen_by_consumer"]) == (1, 0, 0)
    assert s["acked_late"] == {"count": 1, "read_before_decision": 1, "on_dr": 1}


def test_a_write_sent_before_the_decision_that_dr_holds_is_acked_late_not_split() -> None:
    # Seen in CI (2026-12-06): 4 records sent just before the cut, copied by MM2 but read by no
    # consumer before the decision, their acks delivered after the heal.
    h = failover(straggler_redirect=None)
    base = {"producer": "p1", "cluster": OLD, "topic": "orders"}
    h.add("send.invoke", 5.0, **base, id="p1:5", key=None, size=100)  # before the decision
    h.add("send.ok", 9.0, **base, id="p1:5", partition=0, offset=10, ts=1_005)
    # Sent before the decision too, but DR lacks it: queued during the cut, it landed after.
    h.add("send.invoke", 5.1, **base, id="p1:6", key=None, size=100)
    h.add("send.ok", 9.1, **base, id="p1:6", partition=0, offset=11, ts=1_006)
    h.send(7, 9.2, p="p1", offset=12)  # sent after the decision, and copied to DR: a leak
    dr = [*mirrored(), ("p1", 5, "primary.orders"), ("p1", 7, "primary.orders"), *on_dr()]
    h = final_read(h, 20.0, {DR: dr, OLD: on_old([("p1", 5), ("p1", 6), ("p1", 7)])})
    v = sw(h)
    s = v.figures["split_writes"]
    assert (s["count"], s["reached_dr"], s["not_reached_dr"]) == (2, 1, 1)
    assert s["acked_late"] == {"count": 1, "read_before_decision": 0, "on_dr": 1}
    assert [e["id"] for e in v.evidence if e["kind"] == "split_write"] == ["p1:6", "p1:7"]


def test_split_write_found_on_dr_under_the_original_topic_name() -> None:
    h = failover(straggler_redirect=None)
    h.send(5, 8.0, p="p1", offset=10)
    # an identity replication policy (or a replay) keeps the name: still the same message
    h = final_read(h, 20.0, {DR: [*mirrored(), ("p1", 5, "orders"), *on_dr()]})
    assert sw(h).figures["split_writes"]["reached_dr"] == 1


def test_split_write_seen_by_a_consumer() -> None:
    h = failover(straggler_redirect=None)
    h.send(5, 8.0, p="p1", offset=10).send(6, 9.0, p="p1", offset=11)
    h.recv(5, 8.2, cluster=OLD, group="g1", p="p1", offset=10)  # a consumer still on primary
    h = final_read(h, 20.0, {DR: mirrored() + on_dr(), OLD: on_old([("p1", 5), ("p1", 6)])})
    v = sw(h)
    assert v.figures["split_writes"]["seen_by_consumer"] == 1
    assert [e["seen_by_consumer"] for e in v.evidence] == [True, False]


# -- the fence ------------------------------------------------------------------------------
FENCE = {"method": "acl", "cluster": OLD, "position": "before_redirect"}


def test_fence_that_held_has_nothing_acked_through_it() -> None:
    h = failover(fence=FENCE, straggler_redirect=None)
    h.send(5, 6.1, p="p1", offset=10)  # before the fence took effect (6.2)
    h.send(6, 6.3, "fail", p="p1")  # refused by the fence: a definite failure, no ack
    h = final_read(h, 20.0, {DR: mirrored() + on_dr(), OLD: on_old([("p1", 5)])})
    v = sw(h)
    s = v.figures["split_writes"]
    assert v.status == "PASS"
    assert v.figures["fence"] == {"status": "ok", "t": 6.2, **FENCE}
    assert (s["count"], s["acked_through_fence"], s["sent_through_fence"]) == (1, 0, 0)
    texts = " ".join(f["text"] for f in derive_findings(judge(h.frames(), {}, error=None)))
    assert "did not hold" not in texts


def test_write_acked_after_the_fence_took_effect_fails() -> None:
    h = failover(fence=FENCE, straggler_redirect=None)
    h.send(5, 6.1, p="p1", offset=10)
    h.add("send.invoke", 6.15, producer="p1", id="p1:6", cluster=OLD, topic="orders", key=None,
          size=100)  # fmt: skip
    h.add("send.ok", 6.25, producer="p1", id="p1:6", cluster=OLD, topic="orders", partition=0,
          offset=11, ts=0)  # in flight across the fence  # fmt: skip
    h.send(7, 9.0, p="p1", offset=12)  # sent and acked after it: the fence leaked
    h = final_read(h, 20.0, {DR: mirrored() + on_dr(), OLD: on_old()})
    v = sw(h)
    s = v.figures["split_writes"]
    assert v.status == "FAIL"
    assert (s["count"], s["acked_through_fence"], s["sent_through_fence"]) == (3, 2, 1)
    report = judge(h.frames(), {"max_split_writes": None, "max_lost": None}, error=None)
    assert report["verdict"] == "FAIL"  # the objective measures the count, not the fence
    assert [c["checker"] for c in report["verdict_causes"]] == ["split_writes"]
    fence = [f for f in report["findings"] if "did not hold" in f["text"]]
    assert len(fence) == 1 and fence[0]["severity"] == "high"
    assert "2 writes" in fence[0]["text"] and "primary" in fence[0]["text"]
    # the explanation rule speaks of the fence, the generic rule does not repeat it
    assert not any(f["text"].startswith("Checker split_writes FAILed") for f in report["findings"])


def test_only_in_flight_across_the_fence_is_not_a_leak() -> None:
    h = failover(fence=FENCE, straggler_redirect=None)
    h.add("send.invoke", 6.15, producer="p1", id="p1:6", cluster=OLD, topic="orders", key=None,
          size=100)  # fmt: skip
    h.add("send.ok", 6.25, producer="p1", id="p1:6", cluster=OLD, topic="orders", partition=0,
          offset=11, ts=0)  # fmt: skip
    v = sw(final_read(h, 20.0, {DR: mirrored() + on_dr()}))
    s = v.figures["split_writes"]
    assert v.status == "PASS" and (s["acked_through_fence"], s["sent_through_fence"]) == (1, 0)
    assert any("in flight across the fence" in n for n in v.notes)


def test_failed_fence_is_reported_not_counted() -> None:
    h = failover(fence={"method": "acl", "error": "denied"}, fence_status="fail",
                 straggler_redirect=None)  # fmt: skip
    h.send(5, 8.0, p="p1", offset=10)
    v = sw(final_read(h, 20.0, {DR: mirrored() + on_dr()}))
    assert v.figures["fence"]["status"] == "fail" and v.figures["fence"]["t"] is None
    assert v.figures["split_writes"]["acked_through_fence"] is None and v.status == "PASS"


# -- the divergent tail ---------------------------------------------------------------------
def test_tail_before_the_decision_is_still_on_the_old_primary() -> None:
    h = failover(straggler_redirect=7.7)
    # MM2 copied seq 0..2 only: seq 3, 4 of both producers were never replicated
    h = final_read(h, 20.0, {DR: mirrored(3) + on_dr(), OLD: on_old()})
    v = sw(h)
    t = v.figures["divergent_tail"]
    assert (t["count"], t["before_decision"], t["after_decision"]) == (4, 4, 0)
    assert (t["held_on_old_primary"], t["not_held_on_old_primary"], t["nowhere"]) == (4, 0, 0)
    assert (t["first_ack_t"], t["last_ack_t"]) == (3.0, 4.5)
    assert t["first_ack_after_decision_s"] == -3.0
    assert [e["kind"] for e in v.evidence] == ["divergent_before_decision"] * 4
    assert check(h)["loss"].figures["lost"] == 4  # the tail is what loss counts on DR


def test_tail_discarded_is_absent_everywhere() -> None:
    h = failover(straggler_redirect=7.7)
    # the old primary came back truncated (unclean leader election): 3 and 4 are gone
    old = [(p, s, "orders") for p in ("p0", "p1") for s in range(3)]
    t = sw(final_read(h, 20.0, {DR: mirrored(3) + on_dr(), OLD: old})).figures["divergent_tail"]
    assert (t["count"], t["held_on_old_primary"], t["not_held_on_old_primary"]) == (4, 0, 4)
    assert t["nowhere"] == 4


def test_old_primary_not_read_leaves_held_unknown() -> None:
    h = failover(straggler_redirect=7.7)
    v = sw(final_read(h, 20.0, {DR: mirrored(3) + on_dr()}))
    t = v.figures["divergent_tail"]
    assert t["count"] == 4
    assert (t["held_on_old_primary"], t["not_held_on_old_primary"], t["nowhere"]) == (
        None, None, None)  # fmt: skip
    assert any("was not read" in n for n in v.notes)


def test_incomplete_final_read_of_dr_claims_nothing_it_cannot_support() -> None:
    h = failover(straggler_redirect=None)
    h.send(5, 6.1, p="p1", offset=10).send(6, 8.0, p="p1", offset=11)
    dr = [*mirrored(), ("p1", 5, "primary.orders")]
    v = sw(final_read(h, 20.0, {DR: dr, OLD: on_old()}, incomplete=[DR]))
    s = v.figures["split_writes"]
    assert (s["count"], s["reached_dr"], s["not_reached_dr"]) == (2, 1, None)
    assert v.figures["divergent_tail"] is None
    assert v.status == "PASS" and any("did not complete" in n for n in v.notes)


def test_incomplete_read_of_the_old_primary_keeps_what_it_saw() -> None:
    h = failover(straggler_redirect=7.7)
    old = [(p, s, "orders") for p in ("p0", "p1") for s in range(4)]  # read stopped early
    t = sw(final_read(h, 20.0, {DR: mirrored(3) + on_dr(), OLD: old}, incomplete=[OLD]))
    t = t.figures["divergent_tail"]
    assert (t["count"], t["held_on_old_primary"], t["not_held_on_old_primary"]) == (4, 2, None)
    assert t["nowhere"] is None


def test_no_final_read_counts_split_writes_but_not_where_they_are() -> None:
    h = failover(straggler_redirect=None)
    h.send(5, 8.0, p="p1", offset=10)
    s = sw(h).figures
    assert s["split_writes"]["count"] == 1 and s["split_writes"]["reached_dr"] is None
    assert s["divergent_tail"] is None


def test_failback_ends_the_window() -> None:
    h = failover(straggler_redirect=7.7)
    _step(h, "redirect_producers", 30.0, 30.5, runbook="failback")
    _redirect(h, 30.6, "p0", frm=DR, to=OLD)
    h.send(20, 31.0, p="p0", offset=20)  # on the old primary again, after the failback
    v = sw(final_read(h, 40.0, {DR: mirrored() + on_dr(), OLD: on_old([("p0", 20)])}))
    assert v.figures["window_end_t"] == 30.0
    assert v.figures["split_writes"]["count"] == 0 and v.figures["divergent_tail"]["count"] == 0


def test_old_histories_take_the_clusters_from_the_first_redirect() -> None:
    h = failover(straggler_redirect=None, decide_detail=False)
    h.send(5, 8.0, p="p1", offset=10)
    v = sw(final_read(h, 20.0, {DR: mirrored() + on_dr()}))
    assert (v.figures["old_primary"], v.figures["dr"]) == (OLD, DR)
    assert v.figures["clusters_from"] == "redirect" and v.figures["split_writes"]["count"] == 1


# -- the objective and the findings ---------------------------------------------------------
def _straggler_history() -> H:
    h = failover(straggler_redirect=None)
    for s, t in ((5, 8.0), (6, 9.0)):
        h.send(s, t, p="p1", offset=5 + s)
    return final_read(h, 20.0, {DR: mirrored() + on_dr(), OLD: on_old([("p1", 5), ("p1", 6)])})


@pytest.mark.parametrize(("target", "verdict"), [(None, "MEASURED"), (2, "PASS"), (1, "FAIL")])
def test_max_split_writes_objective(target: int | None, verdict: str) -> None:
    v = check(_straggler_history())
    res = {r.name: r for r in evaluate(v, {"max_split_writes": target})}
    assert (res["max_split_writes"].observed, res["max_split_writes"].verdict) == (2, verdict)


def test_split_writes_finding_names_count_and_producers() -> None:
    report = judge(_straggler_history().frames(), {"max_split_writes": 0, "max_lost": None},
                   error=None)  # fmt: skip
    assert report["verdict"] == "FAIL"
    assert report["failover"]["split_writes"]["count"] == 2
    assert report["failover"] == report["checkers"]["split_writes"]["figures"]
    split = [f for f in report["findings"] if "split writes" in f["text"]]
    assert len(split) == 1 and split[0]["severity"] == "high"
    assert "2 writes" in split[0]["text"] and "p1 (straggler, 2)" in split[0]["text"]
    assert "max_split_writes" in split[0]["text"] and "fence" in split[0]["suggestion"].lower()
    measured = judge(_straggler_history().frames(), {"max_split_writes": None}, error=None)
    split = [f for f in measured["findings"] if "split writes" in f["text"]]
    assert split[0]["severity"] == "medium"


def test_report_section_formats_the_figures_and_is_absent_without_failover() -> None:
    from kafkadrill.report.blocks import Heading, Table
    from kafkadrill.report.model import report_document
    from kafkadrill.report.sections import build_blocks

    report = judge(_straggler_history().frames(), {"max_split_writes": None}, error=None)
    assert report_document(report)["failover"] == report["failover"]  # the typed model keeps it
    blocks = build_blocks(report, {})
    at = next(i for i, b in enumerate(blocks) if isinstance(b, Heading) and b.anchor == "failover")
    tables = [b for b in blocks[at + 1 :] if isinstance(b, Table)][:3]
    split, per, tail = ({str(r[0]): r[1:] for r in t.rows} for t in tables)
    assert split["Split writes (acked by the old primary after the decision)"] == ["2"]
    assert per["p1"] == ["2", "yes", "never", "2", "0"]
    assert tail["Divergent tail (acked by the old primary, not on DR)"] == ["2"]
    h = H().send(0, 0.0).final_read(5.0, [0], cluster=OLD, topic="orders")
    plain = judge(h.frames(), {}, error=None)
    assert plain["failover"]["applicable"] is False
    assert not any(
        isinstance(b, Heading) and b.anchor == "failover" for b in build_blocks(plain, {})
    )


def test_the_stragglers_the_runbook_names_are_the_stragglers() -> None:
    """A straggler the runbook left behind on purpose is one even if it moved within the
    grace (its redirect time alone would not tell); a producer it moved is not, however late
    its own redirect event comes."""
    h = failover(straggler_redirect=7.8, named=["p1"])
    h.send(20, 8.0, p="p1", offset=10)  # acked on the old primary after the decision
    v = sw(final_read(h, 20.0, {DR: mirrored() + on_dr(), OLD: on_old([("p1", 20)])}))
    s = v.figures["split_writes"]
    assert s["stragglers"] == ["p1"] and s["per_producer"]["p1"]["straggler"] is True
