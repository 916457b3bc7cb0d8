"""Regression tests of checker defects (issue: incomplete non-authoritative final read, objectives
with nothing observed, unexplained FAILs, cause of duplicates), on constructed histories."""

from __future__ import annotations

import pytest

from tests.unit.test_checkers_unit import H, check


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
