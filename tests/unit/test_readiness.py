"""The failover's readiness check (issue 21): a checkpoint for every partition of each group,
the oldest one's age, and what a gate refuses."""

from __future__ import annotations

from kafkadrill.runbooks.offsets import Checkpoint, not_ready, readiness

NOW = 1_000_000_000_000
PARTS = [("primary.orders", 0), ("primary.orders", 1)]


def _cps(*items: tuple[str, int, int | None]) -> dict:
    out = {}
    for group, p, emitted in items:
        cp = Checkpoint(group, "primary.orders", p, 10, 9, "", emitted)
        out[cp.key] = cp
    return out


def test_a_fresh_checkpoint_per_partition_is_ready() -> None:
    state = readiness(_cps(("g", 0, NOW - 4000), ("g", 1, NOW - 2000)), ["g"], PARTS, NOW)
    assert state == {"g": {"checkpoints": 2, "missing": [], "max_age_s": 4.0}}
    assert not_ready(state, 5) == []


def test_an_old_or_missing_checkpoint_is_not_ready() -> None:
    cps = _cps(("old", 0, NOW - 40_000), ("old", 1, NOW - 1000), ("half", 0, NOW))
    state = readiness(cps, ["old", "half", "none"], PARTS, NOW)
    assert state["half"]["missing"] == ["primary.orders-1"]
    assert state["none"] == {"checkpoints": 0, "missing": PARTS and ["primary.orders-0",
                             "primary.orders-1"], "max_age_s": None}  # fmt: skip
    why = not_ready(state, 30)
    assert why == [
        "half: no checkpoint for primary.orders-1",
        "none: no checkpoint for primary.orders-0, primary.orders-1",
        "old: oldest checkpoint 40 s old (gate 30 s)",
    ]


def test_an_age_that_cannot_be_told_does_not_pass_a_gate() -> None:
    state = readiness(_cps(("g", 0, None), ("g", 1, None)), ["g"], PARTS, NOW)
    assert state["g"]["max_age_s"] is None
    assert not_ready(state, 30) == ["g: checkpoint age unknown (no record timestamp; gate 30 s)"]
