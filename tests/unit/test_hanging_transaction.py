"""hanging_transaction, one test per rule of its definition, on hand-built lso probes
(docs/explanation/checkers.md, "Transactions")."""

from __future__ import annotations

from typing import Any

from tests.unit.test_checkers_unit import H

from kafkadrill.checkers._common import Verdict
from kafkadrill.checkers.hanging_transaction import check_hanging_transaction, stalls
from kafkadrill.history import load_frames

TIMEOUT_MS = 15000  # hang after 15 + 10 + 5 = 30 s


def probes(h: H, rows: list[tuple[float, Any]], cluster: str = "primary") -> H:
    """One lso probe per (t, open) row: ``open`` is {partition: (lso, hw)} or None."""
    for t, open_ in rows:
        items = None if open_ is None else [[p, a, b] for p, (a, b) in open_.items()]
        gap = None if open_ is None else sum(b - a for a, b in open_.values())
        h.add("probe", t, name="lso", cluster=cluster, topic="orders",
              txn_timeout_ms=TIMEOUT_MS, open=items, gap=gap)  # fmt: skip
    return h


def check(h: H) -> Verdict:
    return check_hanging_transaction(load_frames(h.events))


def test_no_probe_is_not_applicable() -> None:
    v = check(H())
    assert v.status == "PASS" and v.figures == {"applicable": False}


def test_a_moving_lso_is_no_stall_however_long_transactions_stay_open() -> None:
    rows = [(float(t), {0: (10 * t, 10 * t + 5)}) for t in range(0, 60, 2)]
    v = check(probes(H(), rows))
    assert v.status == "PASS" and v.figures["longest_stall_s"] == 0.0
    assert v.figures["hang_after_s"] == 30.0


def test_a_stall_the_coordinator_ends_within_the_timeout_passes_and_is_measured() -> None:
    rows = [(float(t), {0: (100, 150 + t)} if t <= 20 else {}) for t in range(0, 40, 2)]
    v = check(probes(H(), rows))
    assert v.status == "PASS"
    row = v.figures["clusters"]["primary"]["orders"]
    assert row["longest_stall_s"] == 20.0 and row["partition"] == 0 and "open_at_end" not in row


def test_a_stall_longer_than_timeout_plus_cleanup_is_a_hanging_transaction() -> None:
    rows = [(float(t), {1: (7, 9)}) for t in range(0, 42, 2)]
    v = check(probes(H(), rows, cluster="dr"))
    assert v.status == "FAIL" and v.figures["hanging"] == 1
    (e,) = v.evidence
    assert (e["cluster"], e["partition"], e["lso"], e["stalled_s"], e["open_at_end"]) == (
        "dr", 1, 7, 40.0, True,
    )  # fmt: skip


def test_unanswered_probes_neither_extend_nor_end_a_stall() -> None:
    # Stalled 0..10 s, the cluster down 10..60 s, back at 60 s with the LSO moved on.
    rows: list[tuple[float, Any]] = [(float(t), {0: (5, 9)}) for t in range(0, 12, 2)]
    rows += [(float(t), None) for t in range(12, 60, 2)]
    rows += [(60.0, {0: (20, 25)}), (62.0, {})]
    v = check(probes(H(), rows))
    assert v.status == "PASS"
    assert [s.seconds for s in stalls([e for e in load_frames(
        probes(H(), rows).events).of_type("probe")])] == [10.0, 0.0]  # fmt: skip
    assert v.figures["clusters"]["primary"]["orders"]["unanswered"] == 24


def test_the_same_lso_across_an_outage_is_one_stall_of_the_answered_span() -> None:
    # An outage hides 10..50 s; the LSO is the same before and after: a hang of 52 s.
    rows: list[tuple[float, Any]] = [(float(t), {0: (5, 9)}) for t in range(0, 12, 2)]
    rows += [(float(t), None) for t in range(12, 50, 2)]
    rows += [(float(t), {0: (5, 12)}) for t in range(50, 54, 2)]
    v = check(probes(H(), rows))
    assert v.status == "FAIL" and v.evidence[0]["stalled_s"] == 52.0


def test_partitions_and_clusters_are_judged_apart() -> None:
    h = probes(H(), [(float(t), {0: (5, 9), 1: (t, t + 1)}) for t in range(0, 20, 2)])
    probes(h, [(float(t), {0: (50, 60)}) for t in range(0, 20, 2)], cluster="dr")
    v = check(h)
    assert v.status == "PASS"
    assert v.figures["clusters"]["primary"]["orders"]["open_at_end"] == [[0, 5, 18.0]]
    assert v.figures["clusters"]["dr"]["orders"]["longest_stall_s"] == 18.0
    assert any("still held back" in n for n in v.notes)
