"""The report's Transactions section formats the aborted_read, torn_transaction,
hanging_transaction and copier checkers' figures only, and is absent without transactions."""

from __future__ import annotations

from typing import Any

from tests.unit.test_copier_checker import OUT, C, P, copier, exact
from tests.unit.test_hanging_transaction import check as hanging
from tests.unit.test_hanging_transaction import probes
from tests.unit.test_txn_checkers import OLD, T, aborted_read, torn

from kafkadrill.report.blocks import Heading, Para, Table
from kafkadrill.report.markdown import render_markdown
from kafkadrill.report.sections.transactions import transactions_section


def _report() -> dict[str, Any]:
    h = T().txn(0, 0, 4, 1.0).txn(1, 5, 9, 2.0, "abort").reader("billing", 0.5, "read_committed")
    h.read("billing", range(5), 3.0).final(5.0, {OLD: list(range(5))})
    stalls = probes(C(), [(float(t), {0: (7, 9)}) for t in range(0, 12, 2)])
    cp = exact().final(5.0, {P: ("orders", list(range(10)))}, {P: [(OUT, s) for s in range(10)]})
    verdicts = {
        "aborted_read": aborted_read(h),
        "torn_transaction": torn(h),
        "hanging_transaction": hanging(stalls),
        "copier": copier(cp),
    }
    return {"checkers": {k: v.to_dict() for k, v in verdicts.items()}}


def _rows(t: Table) -> list[list[str]]:
    return [[getattr(c, "text", c) for c in row] for row in t.rows]


def test_the_section_shows_each_checker_s_figures() -> None:
    blocks = transactions_section(_report(), {})
    assert isinstance(blocks[0], Heading) and blocks[0].text == "Transactions"
    outcome, stall, copies = (b for b in blocks if isinstance(b, Table))
    assert _rows(outcome)[:2] == [["committed", "1", "5"], ["aborted", "1", "5"]]
    assert _rows(stall) == [["primary:orders", "6", "0", "10.0 s", "0", "1"]]
    assert _rows(copies) == [["cp", "primary", "10", "10", "0", "0", "0", "0", "2 / 0 / 0"]]
    text = " ".join(b.text for b in blocks if isinstance(b, Para))
    assert "0 on the cluster that ran the transaction" in text and "there were 0" in text
    md = render_markdown({"scenario": "s", "verdict": "PASS", **_report()}, {})
    assert "## Transactions" in md and "2 / 0 / 0" in md


def test_no_transactional_checker_applicable_means_no_section() -> None:
    off = {"status": "PASS", "figures": {"applicable": False}}
    names = ("aborted_read", "torn_transaction", "hanging_transaction", "copier")
    assert transactions_section({"checkers": {n: off for n in names}}, {}) == []
    assert transactions_section({}, {}) == []
