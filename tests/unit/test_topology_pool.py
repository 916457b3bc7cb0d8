"""Keeping one topology between drills (TopologyPool) on the fake runtime: which drills reuse
it, what a failed reset or a crashed drill does, and the run-scoped names reuse relies on."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from kafkadrill.clock import ScaledClock
from kafkadrill.errors import TopologyError
from kafkadrill.faults import metadata
from kafkadrill.runner import DrillResult, run_drill
from kafkadrill.runtimes import base as rtmod
from kafkadrill.runtimes.fake import FakeRuntime
from kafkadrill.runtimes.shared.pool import TopologyPool
from kafkadrill.scenario import Scenario, load_scenario
from kafkadrill.scenario.scope import scope_scenario
from kafkadrill.topology import reuse_key

SCENARIOS = Path(__file__).parents[2] / "scenarios"


class ReusableFake(FakeRuntime):
    """The fake runtime plus a reset that can be told to fail."""

    made: ClassVar[list[ReusableFake]] = []
    refuse: ClassVar[str | None] = None

    def __init__(self, topology: Any, workdir: Path, **options: Any) -> None:
        options.pop("wait_flows", None)
        super().__init__(topology, workdir, **options)
        ReusableFake.made.append(self)
        self.adopted = 0

    def adopt(self, topology: Any, workdir: Path) -> list[str]:
        if ReusableFake.refuse:
            raise TopologyError(ReusableFake.refuse)
        self.restore_all()
        self.topology, self.workdir, self.adopted = topology, workdir, self.adopted + 1
        return ["fake reset verified"]


@pytest.fixture
def reusable(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ReusableFake]]:
    base = rtmod.runtime_type("fake")
    ReusableFake.made = []
    ReusableFake.refuse = None
    monkeypatch.setitem(
        rtmod.RUNTIMES, "fake-r", dataclasses.replace(base, name="fake-r", factory=ReusableFake)
    )
    yield ReusableFake.made


def _run(scenario: Scenario, tmp_path: Path, pool: TopologyPool) -> DrillResult:
    # At 200x a 0.15 s CPU stall is 30 s of drill time (one unexplained FAIL in a full run).
    clock = ScaledClock(50.0)
    return run_drill(
        scenario,
        runtime="fake-r",
        reports_dir=tmp_path,
        clock=clock,
        runtime_options={"clock": clock},
        pool=pool,
    )


def _topology_event(result: DrillResult) -> dict[str, Any]:
    lines = (result.run_dir / "history.jsonl").read_text().splitlines()
    return next(e for e in map(json.loads, lines) if e["type"] == "topology")


def test_equal_topologies_share_one_runtime_with_run_scoped_names(
    tmp_path: Path, reusable: list[ReusableFake]
) -> None:
    pool = TopologyPool()
    try:
        first = _run(load_scenario(SCENARIOS / "default.yaml"), tmp_path, pool)
        second = _run(load_scenario(SCENARIOS / "leader-kill.yaml"), tmp_path, pool)
    finally:
        pool.close()
    assert first.verdict == second.verdict == "PASS", (first.error, second.error)
    assert len(reusable) == 1 and reusable[0].adopted == 1
    assert reusable[0].stopped  # closed with the pool, not after each drill
    one, two = _topology_event(first), _topology_event(second)
    assert (one["reused"], one["drill"], one["why_fresh"]) == (False, 1, "no topology kept")
    assert (two["reused"], two["drill"], two["reset"]) == (True, 2, ["fake reset verified"])
    assert two["started_in"] == str(first.run_dir)
    env = json.loads((second.run_dir / "environment.json").read_text())
    assert env["topology"]["reused"] is True
    # Each drill wrote and read only its own topics and groups.
    for result in (first, second):
        ran = load_scenario(result.run_dir / "scenario.yaml")
        prefix = f"kd-{result.run_dir.name.lower()}-"
        assert ran.workload.producers.topic.startswith(prefix)
        assert all(c.group.startswith(prefix) for c in ran.workload.consumers)


def test_an_unproven_reset_gets_a_fresh_topology(
    tmp_path: Path, reusable: list[ReusableFake]
) -> None:
    pool = TopologyPool()
    try:
        _run(load_scenario(SCENARIOS / "default.yaml"), tmp_path, pool)
        ReusableFake.refuse = "node primary-1 is paused"
        second = _run(load_scenario(SCENARIOS / "default.yaml"), tmp_path, pool)
    finally:
        pool.close()
    assert len(reusable) == 2 and reusable[0].stopped
    event = _topology_event(second)
    assert event["reused"] is False
    assert "not proven: node primary-1 is paused" in event["why_fresh"]


def test_a_different_topology_replaces_the_kept_one(
    tmp_path: Path, reusable: list[ReusableFake]
) -> None:
    pool = TopologyPool()
    try:
        _run(load_scenario(SCENARIOS / "default.yaml"), tmp_path, pool)
        second = _run(load_scenario(SCENARIOS / "az-partition.yaml"), tmp_path, pool)
    finally:
        pool.close()
    assert len(reusable) == 2 and reusable[0].stopped and reusable[0].adopted == 0
    assert "differs" in _topology_event(second)["why_fresh"]


def test_a_drill_that_raises_does_not_leave_its_topology_for_the_next(
    tmp_path: Path, reusable: list[ReusableFake]
) -> None:
    pool = TopologyPool()

    def boom(*_a: Any) -> None:
        raise RuntimeError("a bug in a hook")

    # At 200x a 0.15 s CPU stall is 30 s of drill time (one unexplained FAIL in a full run).
    clock = ScaledClock(50.0)
    result = run_drill(
        load_scenario(SCENARIOS / "default.yaml"),
        runtime="fake-r",
        reports_dir=tmp_path,
        clock=clock,
        runtime_options={"clock": clock},
        pool=pool,
        before_final_read=boom,
    )
    assert result.verdict != "PASS" and "a bug in a hook" in (result.error or "")
    assert pool.rt is None and reusable[0].stopped


def test_reuse_key_ignores_topics_and_flows_but_not_clusters_or_wan() -> None:
    plain = load_scenario(SCENARIOS / "leader-kill.yaml").to_topology()
    mm2 = load_scenario(SCENARIOS / "failback.yaml").to_topology()  # other MM2 settings
    wan = load_scenario(SCENARIOS / "region-outage-failover.yaml").to_topology()
    azs = load_scenario(SCENARIOS / "az-partition.yaml").to_topology()
    assert reuse_key(plain) == reuse_key(mm2)
    assert reuse_key(plain) != reuse_key(wan)
    assert reuse_key(plain) != reuse_key(azs)


def test_scoping_renames_topics_named_by_faults() -> None:
    sc = load_scenario(SCENARIOS / "leader-kill.yaml")
    scoped, topics, groups = scope_scenario(sc, "kd", "20261130T220224Z")
    assert topics == {"orders": "kd-20261130t220224z-orders"}
    assert scoped.timeline[0].target["topic"] == "kd-20261130t220224z-orders"
    assert scoped.topology.topics[0].name == topics["orders"]
    assert set(groups.values()) == {c.group for c in scoped.workload.consumers}


class _Metadata:
    """The metadata faults' admin for one fake cluster: nothing on the fake runtime answers a
    real AdminClient (each change waited out its 10 s timeout). Changes read back at once; no
    MM2 copies them. What this test proves is which topology the drill gets."""

    def __init__(self) -> None:
        self.topics: dict[str, int] = {}
        self.configs: dict[tuple[str, str], str] = {}

    def partitions(self, topic: str) -> int | None:
        return self.topics.get(topic)

    def config(self, topic: str, name: str) -> str | None:
        return self.configs.get((topic, name))

    def create_topic(self, topic: str, partitions: int, replication_factor: int) -> None:
        self.topics[topic] = partitions

    def create_partitions(self, topic: str, count: int) -> None:
        self.topics[topic] = count

    def set_config(self, topic: str, name: str, value: str) -> None:
        self.configs[(topic, name)] = value


def test_a_drill_that_creates_topics_gets_a_fresh_unscoped_topology(
    tmp_path: Path, reusable: list[ReusableFake], monkeypatch: pytest.MonkeyPatch
) -> None:
    admins: dict[str, _Metadata] = {}
    monkeypatch.setattr(metadata, "ADMIN_FACTORY", lambda rt, c: admins.setdefault(c, _Metadata()))
    pool = TopologyPool()
    try:
        _run(load_scenario(SCENARIOS / "default.yaml"), tmp_path, pool)
        assert pool.rt is not None
        sync = load_scenario(SCENARIOS / "topic-config-sync.yaml")
        result = _run(sync, tmp_path, pool)
    finally:
        pool.close()
    assert reusable[0].stopped  # the kept topology did not idle beside the fresh one
    assert pool.rt is None
    ran = load_scenario(result.run_dir / "scenario.yaml")
    assert ran.workload.producers.topic == sync.workload.producers.topic  # not run-scoped


class LoggingFake(ReusableFake):
    """A kept topology whose processes go on logging between drills, as real nodes do."""

    def _log(self, line: str) -> None:
        d = Path(self.workdir) / "logs" / "primary-n1"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "server.log", "a") as f:
            f.write(line + "\n")

    def start(self) -> None:
        super().start()
        self._log("started")

    def adopt(self, topology: Any, workdir: Path) -> list[str]:
        evidence = super().adopt(topology, workdir)
        self._log(f"drill {self.adopted + 1}")
        return evidence


def test_a_kept_topology_never_writes_into_a_sealed_run_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kafkadrill.report.manifest import verify

    base = rtmod.runtime_type("fake")
    ReusableFake.made, ReusableFake.refuse = [], None
    monkeypatch.setitem(
        rtmod.RUNTIMES, "fake-r", dataclasses.replace(base, name="fake-r", factory=LoggingFake)
    )
    pool = TopologyPool()
    try:
        first = _run(load_scenario(SCENARIOS / "default.yaml"), tmp_path, pool)
        home = pool.home
        assert home is not None and tmp_path not in home.parents  # outside every run dir
        second = _run(load_scenario(SCENARIOS / "default.yaml"), tmp_path, pool)
        ReusableFake.made[0]._log("after the second drill")  # still running, still logging
    finally:
        pool.close()
    assert not home.exists()  # removed with the topology
    for result, lines in ((first, ["started"]), (second, ["started", "drill 2"])):
        assert verify(result.run_dir).ok, verify(result.run_dir).summary()
        log = result.run_dir / "logs" / "primary-n1" / "server.log"
        assert log.read_text().splitlines() == lines  # its copy, as it was when it ended


def test_a_copier_s_group_and_topics_are_run_scoped() -> None:
    sc = load_scenario(SCENARIOS / "transactions-copier-leader-kill.yaml")
    scoped, topics, groups = scope_scenario(sc, "kd", "20261206T210728Z")
    (cp,) = scoped.workload.copiers
    assert cp.to_topic == topics["orders-copy"] == "kd-20261206t210728z-orders-copy"
    assert cp.group == groups["copier"] == "kd-20261206t210728z-copier"
    assert cp.from_topic in (None, topics["orders"])
