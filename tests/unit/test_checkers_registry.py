"""The @checker registry: the one list the checkers, their names and the anomaly names derive
from."""

from __future__ import annotations

import pytest

from kafkadrill import checkers
from kafkadrill.checkers import registry
from kafkadrill.checkers._common import Verdict
from kafkadrill.history import HistoryFrames


def test_every_public_list_derives_from_the_registry() -> None:
    specs = registry.registered()
    assert tuple(checkers.CHECKERS) == checkers.CHECKER_NAMES == tuple(s.name for s in specs)
    assert [s.order for s in specs] == sorted(s.order for s in specs)
    assert tuple(s.name for s in specs if s.anomaly) == checkers.ANOMALY_NAMES
    assert all(checkers.CHECKERS[s.name] is s.fn for s in specs)


def _fake(frames: HistoryFrames) -> Verdict:
    return Verdict("x", "PASS", {})


def test_a_name_or_an_order_registered_twice_is_refused() -> None:
    loss = next(s for s in registry.registered() if s.name == "loss")
    with pytest.raises(ValueError, match="registered twice"):
        registry.checker("loss", order=loss.order)(_fake)
    with pytest.raises(ValueError, match="already taken"):
        registry.checker("not-a-checker", order=loss.order)(_fake)
    assert "not-a-checker" not in {s.name for s in registry.registered()}
