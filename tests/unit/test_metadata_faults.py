"""topic.* timeline entries: validation (ScenarioError naming file, field and fix), what MM2
is expected to carry, and the inject -> watch -> heal sequence against an in-memory admin."""

from __future__ import annotations

import textwrap
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from kafkadrill.checkers.metadata import check_metadata
from kafkadrill.errors import ScenarioError, TopologyError
from kafkadrill.faults import metadata
from kafkadrill.faults.base import FaultContext
from kafkadrill.faults.driver import FaultDriver
from kafkadrill.history import HistoryWriter, load_frames, read_history
from kafkadrill.runner import require_capabilities
from kafkadrill.runtimes.base import Cap, runtime_type
from kafkadrill.scenario import load_scenario
from kafkadrill.scenario.compile import compile_plan
from kafkadrill.topology import Flow, two_dc

BASE = """\
name: meta
duration_seconds: 60
topology:
  nodes: {primary: 1, dr: 1}
  topics:
    - {name: orders, partitions: 3, replication_factor: 1}
    - {name: inventory, partitions: 3, replication_factor: 1}
  mm2:
    topics.exclude: 'mm2.*\\.internal, .*\\.replica, __.*, scratch-.*'
timeline:
"""


def load(tmp_path: Path, *entries: str, base: str = BASE) -> Any:
    p = tmp_path / "meta.yaml"
    p.write_text(textwrap.dedent(base) + "".join(f"  - {e}\n" for e in entries))
    return p, load_scenario(p)


def error(tmp_path: Path, *entries: str, base: str = BASE) -> ScenarioError:
    p = tmp_path / "meta.yaml"
    p.write_text(textwrap.dedent(base) + "".join(f"  - {e}\n" for e in entries))
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert str(p) in str(info.value), "the error names the file"
    return info.value


# -- validation -------------------------------------------------------------------------------


def test_the_library_scenario_validates(tmp_path: Path) -> None:
    s = load_scenario(Path(__file__).parents[2] / "scenarios" / "topic-config-sync.yaml")
    kinds = [f.fault for f in s.schedule()]
    assert kinds.count("topic.create") == 2 and "topic.partitions" in kinds
    assert s.objectives.max_metadata_sync_seconds is not None


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        (
            "{at: 1, fault: topic.create, target: {topic: orders}}",
            "timeline[0].target.topic",
            ["declared under topology.topics", "does not exist yet"],
        ),
        (
            "{at: 1, fault: topic.create, target: {flow: 'primary->west', topic: a}}",
            "timeline[0].target.flow",
            ["unknown flow", "primary->dr"],
        ),
        (
            "{at: 1, fault: topic.create, target: {topic: __x}}",
            "timeline[0].target.topic",
            ["internal name"],
        ),
        (
            "{at: 1, fault: topic.create, target: {topic: a}, params: {replication_factor: 3}}",
            "timeline[0].params.replication_factor",
            ["larger than cluster 'primary'", "at most 1"],
        ),
        (
            "{at: 1, fault: topic.create, target: {topic: scratch-a}, "
            "params: {expect: replicated}}",
            "timeline[0].params.expect",
            ["would have the change excluded", "scratch-.*"],
        ),
        (
            "{at: 1, fault: topic.partitions, target: {topic: nope}, params: {count: 6}}",
            "timeline[0].target.topic",
            ["needs a topic declared", "declare it under topology.topics"],
        ),
        (
            "{at: 1, fault: topic.partitions, target: {topic: inventory}, params: {count: 3}}",
            "timeline[0].params.count",
            ["already has 3 partitions", "count >= 4"],
        ),
        (
            "{at: 1, fault: topic.partitions, target: {topic: inventory}}",
            "timeline[0].params.count",
            ["required"],
        ),
        (
            "{at: 1, fault: topic.config, target: {topic: inventory}, "
            "params: {config: retention.msec, value: 5}}",
            "timeline[0].params.config",
            ["did you mean 'retention.ms'", "topic-level config"],
        ),
        (
            "{at: 1, fault: topic.config, target: {topic: inventory}, "
            "params: {config: min.insync.replicas, value: 2}}",
            "timeline[0].params.value",
            ["1..1"],
        ),
        (
            "{at: 1, fault: topic.config, target: {topic: inventory}, "
            "params: {config: message.timestamp.type, value: LogAppendTime, expect: replicated}}",
            "timeline[0].params.expect",
            ["excluded", "config.properties.exclude"],
        ),
        (
            "{at: 1, fault: topic.config, target: {topic: inventory, config: retention.ms}, "
            "params: {value: 5}}",
            "timeline[0].target.config",
            ["belongs under params"],
        ),
    ],
)
def test_bad_entries_name_the_field_and_the_fix(
    tmp_path: Path, entry: str, field: str, words: list[str]
) -> None:
    err = error(tmp_path, entry)
    text = str(err)
    assert field in text, text
    for w in words:
        assert w in text, (w, text)


def test_stretch_has_no_flow_to_watch(tmp_path: Path) -> None:
    base = "name: meta\ntopology: {model: stretch}\ntimeline:\n"
    err = error(tmp_path, "{at: 1, fault: topic.create, target: {topic: a}}", base=base)
    assert "no replication flow" in str(err) and "timeline[0].target.flow" in str(err)


def test_two_configs_of_one_topic_may_change_together_one_config_twice_may_not(
    tmp_path: Path,
) -> None:
    retention = "{at: 1, fault: topic.config, target: {topic: inventory}, " \
        "params: {config: retention.ms, value: 1000}, duration: 10}"  # fmt: skip
    other = "{at: 1, fault: topic.config, target: {topic: inventory}, " \
        "params: {config: segment.ms, value: 100000}, duration: 10}"  # fmt: skip
    load(tmp_path, retention, other)
    err = error(tmp_path, retention, retention.replace("value: 1000", "value: 2000"))
    assert "overlap" in str(err)


def test_runtimes_without_topic_admin_refuse_before_starting(tmp_path: Path) -> None:
    _p, s = load(tmp_path, "{at: 1, fault: topic.create, target: {topic: a}}")
    plan = compile_plan(s)
    require_capabilities(plan, runtime_type("local"))  # has it
    require_capabilities(plan, runtime_type("compose"))  # admin through its published ports
    lacking = replace(runtime_type("local"), capabilities=Cap.ALL - {Cap.TOPIC_ADMIN})
    with pytest.raises(ScenarioError, match=r"topic\.admin"):
        require_capabilities(plan, lacking)


# -- what MM2 should carry ---------------------------------------------------------------------


def test_topic_expectation_follows_mm2_filters() -> None:
    plain = Flow("primary", "dr")
    assert metadata.topic_expectation(plain, "audit") == "replicated"
    for internal in ("__consumer_offsets", "mm2-offsets.dr.internal", "x.replica"):
        assert metadata.topic_expectation(plain, internal) == "excluded", internal
    assert metadata.topic_expectation(plain, "dr.orders") == "excluded"  # a copy: no cycle
    custom = Flow("primary", "dr", {"topics.exclude": r"scratch-.*, __.*"})
    assert metadata.topic_expectation(custom, "scratch-1") == "excluded"
    assert metadata.topic_expectation(custom, "scratch") == "replicated"  # whole-name match
    per_flow = Flow("primary", "dr", {"topics.exclude": "a.*", "primary->dr.topics.exclude": "b"})
    assert metadata.topic_expectation(per_flow, "abc") == "replicated"  # the flow key wins
    assert metadata.topic_expectation(per_flow, "b") == "excluded"
    only = Flow("primary", "dr", topics="orders|audit")
    assert metadata.topic_expectation(only, "audit") == "replicated"
    assert metadata.topic_expectation(only, "other") == "excluded"


def test_config_expectation_follows_the_config_filter() -> None:
    plain = Flow("primary", "dr")
    assert metadata.config_expectation(plain, "retention.ms") == "replicated"
    for excluded in ("min.insync.replicas", "message.timestamp.type"):
        assert metadata.config_expectation(plain, excluded) == "excluded"
    off = Flow("primary", "dr", {"sync.topic.configs.enabled": "false"})
    assert metadata.config_expectation(off, "retention.ms") == "excluded"
    mine = Flow("primary", "dr", {"config.properties.exclude": r"retention\..*"})
    assert metadata.config_expectation(mine, "retention.ms") == "excluded"
    assert metadata.config_expectation(mine, "min.insync.replicas") == "replicated"


# -- inject -> watch -> heal, against an in-memory "MM2" ---------------------------------------


@dataclass
class World:
    """Two clusters' metadata; what MM2 would copy reaches the target `delay` seconds later."""

    flow: Flow
    delay: float
    topics: dict[str, dict[str, Any]] = field(default_factory=dict)  # "cluster/topic" -> state
    pending: list[tuple[float, str, str, Any]] = field(default_factory=list)
    polls: int = 0

    def settle(self) -> None:
        now = time.monotonic()
        for item in [p for p in self.pending if p[0] <= now]:
            self.pending.remove(item)
            _due, key, what, value = item
            state = self.topics.setdefault(key, {"partitions": 0, "config": {}})
            if what == "config":
                state["config"].update(value)
            else:
                state["partitions"] = max(state["partitions"], value)


@dataclass
class Admin:
    world: World
    cluster: str

    def _key(self, topic: str) -> str:
        return f"{self.cluster}/{topic}"

    def partitions(self, topic: str) -> int | None:
        self.world.settle()
        self.world.polls += self.cluster == "dr"
        st = self.world.topics.get(self._key(topic))
        return None if st is None else st["partitions"]

    def config(self, topic: str, name: str) -> str | None:
        self.world.settle()
        st = self.world.topics.get(self._key(topic))
        return None if st is None else st["config"].get(name, "default")

    def _copy(self, topic: str, what: str, value: Any, replicated: bool) -> None:
        if replicated:
            due = time.monotonic() + self.world.delay
            self.world.pending.append(
                (due, f"dr/{self.world.flow.remote_topic(topic)}", what, value)
            )

    def create_topic(self, topic: str, partitions: int, replication_factor: int) -> None:
        self.world.topics[self._key(topic)] = {"partitions": partitions, "config": {}}
        self._copy(
            topic,
            "partitions",
            partitions,
            metadata.topic_expectation(self.world.flow, topic) == "replicated",
        )

    def create_partitions(self, topic: str, count: int) -> None:
        self.world.topics[self._key(topic)]["partitions"] = count
        self._copy(topic, "partitions", count, True)

    def set_config(self, topic: str, name: str, value: str) -> None:
        self.world.topics[self._key(topic)]["config"][name] = value
        excluded = metadata.config_expectation(self.world.flow, name) == "excluded"
        self._copy(topic, "config", {name: value}, not excluded)


class Runtime:
    def __init__(self, flow: Flow) -> None:
        self.topology = two_dc(1)
        self._flow = flow

    def flow(self, name: Any = None) -> Flow:
        return self._flow


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    flow = Flow("primary", "dr", {"topics.exclude": "scratch-.*"})
    w = World(flow, delay=0.2)
    for cluster, topic in (("primary", "inventory"), ("dr", "primary.inventory")):
        w.topics[f"{cluster}/{topic}"] = {"partitions": 3, "config": {}}
    monkeypatch.setattr(metadata, "POLL_SECONDS", 0.02)
    monkeypatch.setattr(metadata, "ADMIN_FACTORY", lambda rt, cluster: Admin(w, cluster))
    return w


def run_entries(tmp_path: Path, world: World, entries: list[tuple[str, dict]], watch: float) -> Any:
    with HistoryWriter(tmp_path / "history.jsonl", "r1") as h:
        driver = FaultDriver(FaultContext(Runtime(world.flow), h), h)  # type: ignore[arg-type]
        recs = [driver.inject(name, params) for name, params in entries]
        time.sleep(watch)
        for r in recs:
            driver.heal(r)
    return read_history(tmp_path / "history.jsonl"), recs


def test_changes_are_applied_verified_and_timed_on_the_target(tmp_path: Path, world: World) -> None:
    events, recs = run_entries(
        tmp_path,
        world,
        [
            ("topic.create", {"flow": "primary->dr", "topic": "audit", "partitions": 2}),
            ("topic.create", {"flow": "primary->dr", "topic": "scratch-1", "partitions": 1}),
            ("topic.partitions", {"flow": "primary->dr", "topic": "inventory", "count": 6}),
            (
                "topic.config",
                {
                    "flow": "primary->dr",
                    "topic": "inventory",
                    "config": "retention.ms",
                    "value": "1000",
                },
            ),
        ],
        watch=0.8,
    )
    assert all(r.verified for r in recs), [r.verify_detail for r in recs]
    probes = [e for e in events if e["type"] == "probe" and e["name"] == "metadata"]
    states = sorted((e["change_id"], e["state"]) for e in probes)
    assert len(states) == 8  # applied + seen/not_seen per change
    v = check_metadata(load_frames(events))
    out = {c["topic"] + ":" + c["change"]: c for c in v.figures["changes"]}
    assert out["audit:topic.create"]["outcome"] == "synced"
    assert out["scratch-1:topic.create"]["outcome"] == "never_appeared"
    assert out["inventory:topic.partitions"]["outcome"] == "synced"
    assert out["inventory:topic.config"]["outcome"] == "synced"
    for key in ("audit:topic.create", "inventory:topic.partitions", "inventory:topic.config"):
        # The in-memory MM2 copies after 0.2 s; the watcher polls every 0.02 s.
        assert 0.15 <= out[key]["sync_seconds"] <= 0.6, out[key]
    assert out["scratch-1:topic.create"]["watched_seconds"] >= 0.7
    assert v.status == "PASS"
    assert "never showed" in recs[1].heal_detail and "showed it" in recs[0].heal_detail


def test_a_change_mm2_never_copies_fails_the_checker(tmp_path: Path, world: World) -> None:
    world.delay = 60.0  # far beyond the watch window
    events, _recs = run_entries(
        tmp_path, world, [("topic.create", {"flow": "primary->dr", "topic": "late"})], watch=0.2
    )
    v = check_metadata(load_frames(events))
    assert v.status == "FAIL" and v.figures["changes"][0]["outcome"] == "not_synced"
    assert world.polls >= 3  # it kept asking the target during the window


def test_a_state_already_on_the_target_is_not_measured(tmp_path: Path, world: World) -> None:
    world.topics["dr/primary.inventory"]["config"]["retention.ms"] = "1000"
    events, _ = run_entries(
        tmp_path,
        world,
        [
            (
                "topic.config",
                {
                    "flow": "primary->dr",
                    "topic": "inventory",
                    "config": "retention.ms",
                    "value": "1000",
                },
            )
        ],
        watch=0.1,
    )
    v = check_metadata(load_frames(events))
    assert v.status == "UNKNOWN" and v.figures["already_on_target"] == 1


def test_a_refused_change_is_an_infrastructure_error(tmp_path: Path, world: World) -> None:
    world.topics["primary/audit"] = {"partitions": 1, "config": {}}

    def exists(topic: str, partitions: int, replication_factor: int) -> None:
        raise RuntimeError("TOPIC_ALREADY_EXISTS")

    with HistoryWriter(tmp_path / "history.jsonl", "r1") as h:
        ctx = FaultContext(Runtime(world.flow), h)  # type: ignore[arg-type]
        driver = FaultDriver(ctx, h)
        admin = Admin(world, "primary")
        admin.create_topic = exists  # type: ignore[method-assign]
        metadata.ADMIN_FACTORY = lambda rt, cluster: admin  # restored by the fixture
        with pytest.raises(TopologyError, match="TOPIC_ALREADY_EXISTS"):
            driver.inject("topic.create", {"flow": "primary->dr", "topic": "audit"})


def test_the_library_scenario_end_to_end_on_the_fake_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runner, history, checker, objective and report together, without Kafka: the fake
    runtime at 10x, the in-memory MM2 copying 0.1 s (1 drill second) after each change."""
    import dataclasses
    import json

    from kafkadrill.clock import ScaledClock
    from kafkadrill.runner import run_drill
    from kafkadrill.runtimes import base as rtmod

    scenario = load_scenario(Path(__file__).parents[2] / "scenarios" / "topic-config-sync.yaml")
    w = World(scenario.to_topology().flows[0], delay=0.1)
    for cluster, topic in (("primary", "inventory"), ("dr", "primary.inventory")):
        w.topics[f"{cluster}/{topic}"] = {"partitions": 3, "config": {}}
    monkeypatch.setattr(metadata, "POLL_SECONDS", 0.02)
    monkeypatch.setattr(metadata, "ADMIN_FACTORY", lambda rt, cluster: Admin(w, cluster))
    base = rtmod.runtime_type("fake")
    monkeypatch.setitem(rtmod.RUNTIMES, "fake-m", dataclasses.replace(base, name="fake-m"))
    clock = ScaledClock(10.0)
    result = run_drill(
        scenario,
        runtime="fake-m",
        reports_dir=tmp_path,
        clock=clock,
        runtime_options={"clock": clock},
    )
    assert result.error is None, result.error
    report = json.loads((result.run_dir / "report.json").read_text())
    figs = report["checkers"]["metadata"]["figures"]
    assert (figs["synced"], figs["never_appeared"]) == (3, 2), figs["changes"]
    for c in figs["changes"]:
        if c["outcome"] == "synced":
            assert 0.5 <= c["sync_seconds"] <= 6, c  # ~1 drill second, scheduling noise aside
    obj = {o["name"]: o for o in report["objectives"]}["max_metadata_sync_seconds"]
    assert obj["verdict"] == "PASS" and obj["target"] == 25
    assert report["checkers"]["recovery"]["figures"]["faults"] == []  # not faults
    assert "## Metadata replication" in (result.run_dir / "report.md").read_text()
    assert result.verdict == "PASS"
