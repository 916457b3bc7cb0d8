"""Lost writes attributed to their cause (issue 21): never replicated, expired at the source
by retention, lost at the origin itself, or unattributed when the origin's read says nothing."""

from __future__ import annotations

from tests.unit.test_checkers_unit import H, check


def _failover(log_start: list | None, primary_complete: bool = True) -> H:
    """Ten writes acked on primary (offsets 0..9, partition 0); the service ends on dr, which
    holds 0..3 only. Primary's final read sees 6 and 7; its log starts at `log_start`."""
    h = H()
    for s in range(10):
        h.send(s, float(s))
    h.add("fault.inject", 10.0, fault_id="f1", fault="region.outage", target="east", params={})
    h.add("final_read.start", 20.0, clusters=["dr", "primary"], authoritative="dr",
          topics={"dr": ["primary.orders"], "primary": ["orders"]})  # fmt: skip
    for s in range(4):
        h.recv(s, 20.1, cluster="dr", topic="primary.orders", final=True)
    h.add("final_read.end", 20.2, cluster="dr", records=4, complete=True, log_start=[])
    for s in (6, 7):
        h.recv(s, 20.3, cluster="primary", topic="orders", final=True)
    return h.add("final_read.end", 20.4, cluster="primary", records=2,
                 complete=primary_complete, log_start=log_start)  # fmt: skip


def test_each_lost_write_gets_its_cause() -> None:
    # Primary's log starts at 6: 4 and 5 expired there; 6 and 7 are still there (never copied);
    # 8 and 9 are above the log start yet gone: the origin lost them.
    v = check(_failover([["orders", 0, 6]]))["loss"]
    assert v.status == "FAIL" and v.figures["lost"] == 6
    assert v.figures["by_cause"] == {
        "never_replicated": 2,
        "expired_at_source": 2,
        "lost_at_origin": 2,
        "unattributed": 0,
    }


def test_no_log_start_recorded_leaves_the_gone_ones_unattributed() -> None:
    v = check(_failover(None))["loss"]
    causes = v.figures["by_cause"]
    assert causes["never_replicated"] == 2 and causes["unattributed"] == 4
    assert causes["expired_at_source"] == 0 and causes["lost_at_origin"] == 0
    assert any("cause of some lost writes unknown" in n for n in v.notes)


def test_an_incomplete_read_of_the_origin_attributes_nothing() -> None:
    v = check(_failover([["orders", 0, 6]], primary_complete=False))["loss"]
    assert v.figures["by_cause"]["unattributed"] == 6


def test_nothing_lost_gives_zero_causes() -> None:
    h = H()
    for s in range(3):
        h.send(s, float(s))
    h.final_read(5.0, [0, 1, 2])
    v = check(h)["loss"]
    assert v.status == "PASS"
    assert set(v.figures["by_cause"].values()) == {0}
