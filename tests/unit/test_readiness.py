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


# -- live readiness (`kafkadrill status --readiness`), over a stand-in for the Kafka clients --


class _Clients:
    """Two clusters: dr holds primary's checkpoints; primary holds the groups' commits."""

    def __init__(self, cps: dict, committed: dict, dead: set[str] = frozenset()) -> None:
        self.cps, self.committed, self.dead = cps, committed, dead

    def _alive(self, boot: str) -> None:
        if boot in self.dead:
            raise ConnectionError(f"{boot} does not answer")

    def topics(self, bootstrap: str, timeout: float = 15.0) -> list[str]:
        self._alive(bootstrap)
        return ["primary.checkpoints.internal", "primary.orders"] if bootstrap == "dr:1" else []

    def log_starts(self, bootstrap: str, topic: str) -> dict[int, int]:
        return {0: 0, 1: 0}

    def read_checkpoints(self, bootstrap: str, source_alias: str, timeout: float = 15.0) -> dict:
        return self.cps

    def group_offsets(self, bootstrap: str, group: str) -> dict[tuple[str, int], int]:
        self._alive(bootstrap)
        return self.committed.get(group, {})


def test_live_readiness_reads_every_flow_and_how_far_behind_each_group_is() -> None:
    from kafkadrill.runbooks.readiness import live_readiness

    # upstream offset 10 in both checkpoints; the group committed 25 and 10 on primary.
    cps = _cps(("g", 0, NOW - 3000), ("g", 1, NOW - 1000), ("h", 0, NOW - 500))
    committed = {"g": {("orders", 0): 25, ("orders", 1): 10}, "h": {("orders", 0): 12}}
    flows = live_readiness(_Clients(cps, committed), {"primary": "p:1", "dr": "dr:1"}, NOW)
    assert [f["flow"] for f in flows] == ["primary->dr"]
    g, h = flows[0]["groups"]["g"], flows[0]["groups"]["h"]
    assert g == {"checkpoints": 2, "missing": [], "max_age_s": 3.0, "behind_records": 15,
                 "compared": 2}  # fmt: skip
    assert h["missing"] == ["primary.orders-1"] and h["behind_records"] == 2


def test_live_readiness_with_the_source_down_still_reports_the_checkpoints() -> None:
    from kafkadrill.runbooks.readiness import live_readiness

    cps = _cps(("g", 0, NOW - 3000), ("g", 1, NOW - 1000))
    flows = live_readiness(_Clients(cps, {}, dead={"p:1"}), {"primary": "p:1", "dr": "dr:1"}, NOW)
    assert "does not answer" in flows[0]["source_error"]
    assert flows[0]["groups"]["g"]["behind_records"] is None
    assert flows[0]["groups"]["g"]["max_age_s"] == 3.0
    dead_dr = live_readiness(_Clients(cps, {}, dead={"dr:1"}), {"dr": "dr:1"}, NOW)
    assert dead_dr[0]["cluster"] == "dr" and "does not answer" in dead_dr[0]["error"]


def test_source_topic_undoes_the_default_replication_policy_only() -> None:
    from kafkadrill.runbooks.readiness import source_topic

    assert source_topic("primary.orders", "primary") == "orders"
    assert source_topic("orders", "primary") == "orders"  # IdentityReplicationPolicy


def test_the_state_file_keeps_its_bootstraps_when_a_child_restarts(tmp_path: object) -> None:
    import json
    import sys
    from pathlib import Path

    from kafkadrill.runtimes.shared.processes import Supervisor

    root = Path(str(tmp_path))
    sup = Supervisor(root / "state.json")
    try:
        argv = [sys.executable, "-c", "import time; time.sleep(30)"]
        sup.spawn("a", argv, root / "a.log")
        sup.write_extra(bootstrap={"primary": "127.0.0.1:1"})
        sup.spawn("b", argv, root / "b.log")  # e.g. a drill restarting MirrorMaker 2
        state = json.loads((root / "state.json").read_text())
        assert state["bootstrap"] == {"primary": "127.0.0.1:1"}
        assert [c["name"] for c in state["children"]] == ["a", "b"]
    finally:
        sup.stop_all(timeout=1.0)
