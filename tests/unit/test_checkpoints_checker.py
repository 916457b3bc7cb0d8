"""The checkpoints checker (issue 21): checkpoint age at the failover decision, translation
distance, and each failover re-read attributed to the outage, a stale checkpoint or MM2's
conservative translation."""

from __future__ import annotations

from tests.unit.test_checkers_unit import H, check


def _failover(*, used: bool = True) -> H:
    h = H()
    for s in range(10):  # acked on primary orders/0 at offsets 0..9, read by g1 there
        h.send(s, float(s))
        h.recv(s, s + 0.1)
    h.add("commit", 9.5, reader="c0", group="g1", cluster="primary", offsets=[["orders", 0, 6]])
    h.add("fault.inject", 10.0, fault_id="f1", fault="region.outage", target="east", params={})
    h.add("runbook.step", 11.0, runbook="failover", step="decide", status="start", detail=None)
    h.add("runbook.step", 11.0, runbook="failover", step="decide", status="ok",
          detail={"from": "primary", "to": "dr"})  # fmt: skip
    cps = {"g1": [["primary.orders", 0, 3, 3, int((1e9 + 5.0) * 1000)]]} if used else {}
    h.add("runbook.step", 12.0, runbook="failover", step="translate_offsets", status="ok",
          detail={"checkpoints": 1, "malformed": 0, "offsets": {}, "used": cps})  # fmt: skip
    for s in range(2, 10):  # resumes on dr at translated offset 2: re-reads 2..9
        h.recv(s, 13.0 + s / 10, cluster="dr", topic="primary.orders", offset=s)
    return h


def test_each_failover_reread_gets_its_cause() -> None:
    v = check(_failover())["checkpoints"]
    g = v.figures["per_group"]["g1"]
    # o=2 is below the checkpoint's upstream 3; 3..5 were committed after it; 6..9 uncommitted.
    assert g["rereads_by_cause"] == {
        "uncommitted_at_failover": 4,
        "stale_checkpoint": 3,
        "conservative_translation": 1,
        "no_checkpoint": 0,
        "unattributed": 0,
    }
    assert g["max_checkpoint_age_s"] == 6.0  # decided at wall 1e9+11, written at 1e9+5
    assert g["translation_distance"] == 3  # committed 6, checkpoint covers 3
    assert v.figures["other_rereads"] == 0
    offsets = check(_failover())["offsets"].figures["per_group"]["g1"]
    assert offsets["rereads"] == sum(g["rereads_by_cause"].values())


def test_a_group_without_a_checkpoint_is_named_so() -> None:
    v = check(_failover(used=False))["checkpoints"]
    assert v.figures["rereads_by_cause"]["no_checkpoint"] == 8
    assert any("no checkpoint for any workload group" in n for n in v.notes)


def test_no_failover_is_not_applicable() -> None:
    h = H()
    h.send(0, 0.0).recv(0, 0.1)
    v = check(h)["checkpoints"]
    assert v.status == "PASS" and v.figures["rereads_by_cause"] is None
