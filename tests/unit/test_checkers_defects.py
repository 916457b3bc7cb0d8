"""Regression tests of checker defects (issue: incomplete non-authoritative final read, objectives
with nothing observed, unexplained FAILs, cause of duplicates), on constructed histories."""

from __future__ import annotations

import pytest
from tests.unit.test_checkers_unit import TS0, H, check


def _two_cluster_read(h: H, *, dr_end: bool | None) -> H:
    """primary (authoritative) read completely; dr read incomplete (False) or without end
    event (None); sends 0..3 on primary, all mirrored to dr."""
    for s in range(4):
        h.send(s, float(s))
    h.add("final_read.start", 9.0, clusters=["primary", "dr"], authoritative="primary",
          topics={"primary": ["orders"], "dr": ["primary.orders"]})  # fmt: skip
    for s in range(4):
        h.recv(s, 9.1, final=True)
    for s in range(2):  # dr's read stopped after two records: its tail is unread
        h.recv(s, 9.1, cluster="dr", topic="primary.orders", final=True)
    h.add("final_read.end", 9.2, cluster="primary", records=4, complete=True)
    if dr_end is not None:
        h.add("final_read.end", 9.2, cluster="dr", records=2, complete=dr_end)
    return h


@pytest.mark.parametrize("dr_end", [False, None])
def test_incomplete_read_of_non_authoritative_cluster_is_unknown(dr_end: bool | None) -> None:
    v = check(_two_cluster_read(H(), dr_end=dr_end))
    for name in ("duplicates", "ordering", "timestamps", "cycles"):
        assert v[name].status == "UNKNOWN", name
        assert any("['dr']" in n for n in v[name].notes), name
    assert v["loss"].status == "PASS"  # loss judges the authoritative read only


def test_fail_on_incomplete_non_authoritative_read_stays_fail() -> None:
    h = _two_cluster_read(H(), dr_end=False)
    h.recv(0, 9.15, cluster="dr", topic="primary.orders", offset=7, final=True)  # a copy
    v = check(h)
    assert v["duplicates"].status == "FAIL"


def test_complete_reads_still_pass() -> None:
    v = check(_two_cluster_read(H(), dr_end=True))
    for name in ("ordering", "timestamps", "cycles"):
        assert v[name].status == "PASS", name


def test_objective_with_nothing_observed_is_unknown() -> None:
    from kafkadrill.checkers import evaluate, overall

    h = H().send(0, 0.0)
    h.add("fault.inject", 0.5, fault_id="f1", fault="region_outage", target="east", params={})
    # A consumer group ran but received no message (only a record without a kafkadrill id):
    # its skips were never observed.
    h.add("recv", 1.0, reader="c0", group="g1", final=False, cluster="primary", topic="orders",
          partition=0, offset=9, ts=TS0, id=None, hdr={})  # fmt: skip
    h.final_read(5.0, [0], cluster="primary", topic="orders")
    v = check(h)
    assert v["offsets"].figures["skipped"] is None and v["offsets"].figures["groups"] == 1
    got = {r.name: (r.observed, r.verdict) for r in evaluate(v, {"max_skipped": 0})}
    assert got == {"max_skipped": (None, "UNKNOWN")}
    h = H().send(0, 0.0)  # a fault, and no reader at all: read unavailability not observed
    h.add("fault.inject", 0.5, fault_id="f1", fault="region_outage", target="east", params={})
    v = check(h.final_read(5.0, [0], cluster="primary", topic="orders"))
    res = evaluate(v, {"max_read_unavailable_seconds": 5, "max_lost": 0})
    assert {r.name: r.verdict for r in res} == {
        "max_lost": "PASS", "max_read_unavailable_seconds": "UNKNOWN"}  # fmt: skip
    assert overall(res, v) == "UNKNOWN"


def test_objective_not_applicable_without_fault_passes() -> None:
    from kafkadrill.checkers import evaluate

    h = H().send(0, 0.0).final_read(5.0, [0], cluster="primary", topic="orders")
    v = check(h)
    res = evaluate(v, {"max_rto_seconds": 5, "max_read_unavailable_seconds": 5, "max_skipped": 0})
    got = {r.name: (r.observed, r.verdict) for r in res}
    assert got["max_rto_seconds"] == got["max_read_unavailable_seconds"] == (None, "PASS")
    # No consumer group at all: skips were not observed, so max_skipped is not met (issue 19).
    assert got["max_skipped"] == (None, "UNKNOWN")


def test_finding_counts_are_integers_and_no_flow_to_itself() -> None:
    from kafkadrill.checkers.findings.rules import aggregate_views, union_consumers

    report = {
        "checkers": {
            "aggregation": {
                "figures": {
                    "pairs": {
                        "primary->primary": {"acked": 10, "missing": 2},
                        "dr->primary": {"acked": 10, "missing": 3},
                    },
                    "union_groups": {
                        "u1": {
                            "cluster": "primary",
                            "acked": 20,
                            "missing": 12,
                            "missing_held": 9.0,
                        },
                    },
                }
            }
        }
    }
    texts = [f["text"] + " " + f["suggestion"] for f in aggregate_views(report)]
    assert "primary->primary" not in texts[0] and "loss checker" in texts[0]
    assert "flow dr->primary" in texts[1]
    (u,) = union_consumers(report)
    assert "9 of them were on its cluster" in u["text"] and "9.0" not in u["text"]


def _dup_history() -> H:
    h = H()
    for s in range(4):
        h.send(s, float(s))
    h.add("final_read.start", 9.0, clusters=["primary", "dr"], authoritative="primary",
          topics={"primary": ["orders"], "dr": ["primary.orders"]})  # fmt: skip
    for off, s in enumerate([0, 1, 1, 2, 3]):  # 1 twice on its own topic: producer retry
        h.recv(s, 9.1, final=True, offset=off)
    h.recv(2, 9.1, final=True, topic="dr.primary.orders", offset=0)  # back on primary
    for off, s in enumerate([0, 1, 2, 3, 0, 1]):  # 0 and 1 copied again by MM2
        h.recv(s, 9.1, cluster="dr", topic="primary.orders", offset=off, final=True)
    h.add("final_read.end", 9.2, cluster="primary", records=6, complete=True)
    return h.add("final_read.end", 9.2, cluster="dr", records=6, complete=True)


def test_duplicates_attributed_to_their_cause() -> None:
    from kafkadrill.checkers.findings.rules import duplicates

    d = check(_dup_history())["duplicates"]
    assert d.status == "FAIL" and d.figures["duplicates"] == 4
    assert d.figures["duplicates_by_cause"] == {
        "mm2_recopy": 2, "producer_retry": 1, "failback_remirror": 1}  # fmt: skip
    report = {"checkers": {"duplicates": {"figures": d.figures}}, "faults": []}
    found = {f["text"].split(" ", 1)[0]: f for f in duplicates(report)}
    assert set(found) == {"2", "1"} and len(duplicates(report)) == 3
    texts = [(f["text"], f["suggestion"]) for f in duplicates(report)]
    assert "mirrored topics" in texts[0][0] and "idempotence" not in texts[0][1]
    assert "idempotence" in texts[1][1]  # only the producer retries get that advice
    assert "mirrored back" in texts[2][0] and "idempotence" not in texts[2][1]


def test_banner_shows_the_worst_writer_when_writers_differ() -> None:
    from kafkadrill.checkers import summarize
    from kafkadrill.report.sections.common import summary_line

    h = H()
    for s in range(61):
        h.send(s, float(s), cluster="dr", p="west")  # west's writers never stopped
        if s <= 10 or s >= 75:
            h.send(s, float(s), p="east")
    for s in range(75, 81):
        h.send(s, float(s), p="east")
    h.add("fault.inject", 10.5, fault_id="f1", fault="region_outage", target="east", params={})
    h.add("fault.heal", 30.0, fault_id="f1", ok=True)
    rto = summarize(check(h))["rto"]
    assert rto["write_unavailable_worst_writer"] == "east"
    assert rto["write_unavailable_worst_writer_seconds"] == pytest.approx(65.0)
    line = summary_line({"rto": rto})
    assert line.startswith("writer east down 65.0 s (writers as a whole 1.0 s)")


def test_banner_keeps_the_overall_figure_when_writers_agree() -> None:
    from kafkadrill.checkers import summarize
    from kafkadrill.report.sections.common import summary_line

    h = H()
    for s in range(30):
        if not 10 < s < 20:
            h.send(s, float(s), p="a")
            h.send(s, float(s), cluster="dr", p="b")
    h.add("fault.inject", 10.5, fault_id="f1", fault="region_outage", target="east", params={})
    h.add("fault.heal", 15.0, fault_id="f1", ok=True)
    rto = summarize(check(h))["rto"]
    assert rto["write_unavailable_worst_writer"] is None
    assert summary_line({"rto": rto}).startswith("writers down 10.0 s")


def test_ungoverned_fail_is_explained_in_summary_and_findings() -> None:
    from kafkadrill.checkers.judge import judge
    from kafkadrill.report.sections.common import summary_line

    h = H().send(0, 0.0).send(1, 1.0, outcome="fail")  # the failed send landed
    h.final_read(5.0, [0, 1], cluster="primary", topic="orders")
    rep = judge(h.frames(), {"max_lost": 0}, error=None)
    assert rep["verdict"] == "FAIL"
    assert [c["checker"] for c in rep["verdict_causes"]] == ["unknown"]
    assert "failed: unknown (1 sends reported failed landed anyway" in summary_line(rep)
    texts = [f["text"] for f in rep["findings"]]
    assert any(t.startswith("Checker unknown FAILed: 1 sends reported failed") for t in texts)


def test_replication_cycle_gets_cycle_advice_not_idempotence() -> None:
    from kafkadrill.checkers.judge import judge

    h = H().send(0, 0.0)
    h.add("final_read.start", 5.0, clusters=["primary"], authoritative="primary",
          topics={"primary": ["orders", "dr.primary.orders"]})  # fmt: skip
    h.recv(0, 5.1, final=True)
    h.recv(0, 5.1, final=True, topic="dr.primary.orders")  # came back to its origin
    h.add("final_read.end", 5.2, cluster="primary", records=2, complete=True)
    rep = judge(h.frames(), {"max_lost": 0, "max_duplicates": None}, error=None)
    assert [c["checker"] for c in rep["verdict_causes"]] == ["cycles"]
    (cyc,) = [f for f in rep["findings"] if f["text"].startswith("Checker cycles FAILed")]
    assert "topics.exclude" in cyc["suggestion"]
    assert not any("idempotence" in f["suggestion"] for f in rep["findings"])


def test_groups_section_shows_the_checker_foreign_total() -> None:
    from kafkadrill.report.blocks import Note
    from kafkadrill.report.sections.groups import groups_section

    r = {
        "consumer_groups": {
            "g1": {"received": 1, "distinct": 1, "rereads": 0, "skipped": 0, "foreign": 2}
        },
        "checkers": {"offsets": {"figures": {"foreign_records": 2}}},
    }
    (note,) = [b for b in groups_section(r, {}) if isinstance(b, Note)]
    assert "2 consumed records carry no kafkadrill id" in str(note)


def test_unknown_sends_that_landed_only_on_the_old_primary_are_reported() -> None:
    # After a failover dr is authoritative; send 2's outcome is unknown and it sits only on
    # primary (the old primary): neither lost nor delivered, it returns at failback.
    from kafkadrill.checkers.findings.rules import unknown_sends_elsewhere

    h = H()
    h.send(0, 0.0)
    h.send(1, 1.0)
    h.send(2, 2.0, outcome="unknown")
    h.add("final_read.start", 9.0, clusters=["primary", "dr"], authoritative="dr",
          topics={"primary": ["orders"], "dr": ["primary.orders"]})  # fmt: skip
    for s in range(3):
        h.recv(s, 9.1, final=True)
    for s in range(2):
        h.recv(s, 9.1, cluster="dr", topic="primary.orders", final=True)
    h.add("final_read.end", 9.2, cluster="primary", records=3, complete=True)
    h.add("final_read.end", 9.2, cluster="dr", records=2, complete=True)
    v = check(h)
    assert v["unknown"].figures["unknown_landed_elsewhere"] == {"primary": 1}
    assert v["unknown"].figures["unknown_landed"] == 0
    report = {"checkers": {"unknown": {"figures": v["unknown"].figures}}}
    [finding] = unknown_sends_elsewhere(report)
    assert "primary" in finding["text"] and finding["severity"] == "medium"
