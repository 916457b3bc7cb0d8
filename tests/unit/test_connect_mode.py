"""MirrorMaker 2 on Kafka Connect (issue 21): the translation of a flow's dedicated MM2
properties into one Connect worker and its connectors (pure), the REST ports, and the two
faults (mm2.task_fail, mm2.connector_stop) against recorders of the runtime and admin. Real
Connect: scenarios/mm2-connect-*.yaml and drills/test_mm2_connect.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from kafkadrill.faults import mm2_connect
from kafkadrill.faults.base import FaultContext
from kafkadrill.faults.catalog import parse_fault
from kafkadrill.runtimes.compose import render as cr
from kafkadrill.runtimes.shared import config as cfg
from kafkadrill.runtimes.shared.connect import (
    CONNECTORS,
    REVERSE_HEARTBEAT,
    ConnectorStatus,
    connect_setup,
)
from kafkadrill.runtimes.shared.ports import connect_rest_port, flow_slot, plan_ports
from kafkadrill.topology import Flow, Topology, two_dc


def _connect(topo: Topology) -> Topology:
    return replace(topo, flows=tuple(replace(f, mode="connect") for f in topo.flows))


def _setup(topo: Topology, flow: Flow) -> Any:
    props = cfg.mm2_property_map(topo, (flow,), plan_ports(topo, 20000), "west")
    return connect_setup(
        flow, props, "http://127.0.0.1:1", "127.0.0.1", not cfg.has_reverse_flow(topo, flow)
    )


def test_worker_keeps_a_dedicated_herders_group_and_topics() -> None:
    topo = _connect(two_dc(3))
    s = _setup(topo, topo.flows[0])
    w = s.worker
    assert w["group.id"] == "primary-mm2"
    assert w["offset.storage.topic"] == "mm2-offsets.primary.internal"
    assert w["config.storage.topic"] == "mm2-configs.primary.internal"
    assert w["status.storage.topic"] == "mm2-status.primary.internal"
    # Target-prefixed worker settings of the dedicated map land on the worker, unprefixed.
    assert w["offset.flush.interval.ms"] == "5000"
    assert w["scheduled.rebalance.max.delay.ms"] == "0"
    assert (
        w["bootstrap.servers"]
        == cfg.mm2_property_map(topo, topo.flows[:1], plan_ports(topo, 20000), "west")[
            "dr.bootstrap.servers"
        ]
    )
    assert w["connector.client.config.override.policy"] == "All"


def test_connectors_carry_the_flow_settings_and_both_ends() -> None:
    topo = _connect(two_dc(3, mm2={"primary->dr.offset.lag.max": "7", "tasks.max": "3"}))
    flow = topo.flows[0]
    s = _setup(topo, flow)
    assert set(s.connectors) == {*CONNECTORS.values(), REVERSE_HEARTBEAT}
    src = s.connectors["MirrorSourceConnector"]
    assert src["connector.class"] == "org.apache.kafka.connect.mirror.MirrorSourceConnector"
    assert (src["source.cluster.alias"], src["target.cluster.alias"]) == ("primary", "dr")
    assert src["offset.lag.max"] == "7" and src["tasks.max"] == "3"
    assert src["topics"] == flow.topics and src["offset-syncs.topic.location"] == "target"
    # Nothing of the driver or of another herder leaks into a connector.
    assert not [k for k in src if "->" in k or k in ("clusters", "plugin.discovery")]
    assert not [k for k in src if k.startswith("source.cluster.offset.storage")]


def test_reverse_heartbeats_write_to_the_source_unless_a_reverse_flow_does() -> None:
    topo = _connect(two_dc(3))
    rev = _setup(topo, topo.flows[0]).connectors[REVERSE_HEARTBEAT]
    assert (rev["source.cluster.alias"], rev["target.cluster.alias"]) == ("dr", "primary")
    assert rev["producer.override.bootstrap.servers"] == rev["target.cluster.bootstrap.servers"]
    both = _connect(two_dc(3, both_ways=True))
    assert REVERSE_HEARTBEAT not in _setup(both, both.flows[0]).connectors


def test_eos_worker_setting_moves_to_the_worker() -> None:
    topo = _connect(two_dc(3, mm2={"dr.exactly.once.source.support": "enabled"}))
    s = _setup(topo, topo.flows[0])
    assert s.worker["exactly.once.source.support"] == "enabled"
    assert "target.cluster.exactly.once.source.support" not in s.connectors[CONNECTORS["source"]]


def test_rest_ports_are_fixed_per_flow_and_inside_the_block() -> None:
    topo = two_dc(3, both_ways=True)
    plan = plan_ports(topo, 20000)
    a, b = (connect_rest_port(plan, topo, f.source, f.target) for f in topo.flows)
    assert a != b
    used = set(plan.all_ports())
    assert a not in used and b not in used and 20000 < a < 20399 and b < 20399
    assert flow_slot(topo, "dr", "primary") == flow_slot(topo, "dr", "primary")


def test_compose_renders_a_connect_worker_with_its_rest_port() -> None:
    topo = _connect(two_dc(1))
    opts = cr.ComposeOptions("p", "r", "k", "t", 19000)
    doc = cr.render(topo, opts)
    svc = doc["services"]["mm2-primary-dr"]
    assert svc["entrypoint"][-1].endswith("connect.sh")
    port = cr.connect_host_port(topo, 19000, topo.flows[0])
    assert svc["ports"] == [f"127.0.0.1:{port}:{cr.CONNECT_REST}"]
    assert "connect-sh" in doc["configs"]
    dedicated = cr.render(two_dc(1), opts)
    assert "connect-sh" not in dedicated["configs"]
    assert "ports" not in dedicated["services"]["mm2-primary-dr"]


# ----- the faults --------------------------------------------------------------------------


def test_faults_refuse_a_dedicated_flow_and_say_how() -> None:
    for name in ("mm2.task_fail", "mm2.connector_stop"):
        _, problems = parse_fault(name, {"flow": "primary->dr"}, {}, two_dc(1))
        assert [p.field for p in problems] == ["target.flow"], name
        assert "mm2_mode: connect" in (problems[0].fix or "")
        _, ok = parse_fault(name, {"flow": "primary->dr"}, {}, _connect(two_dc(1)))
        assert ok == [], (name, ok)


def test_task_fail_needs_a_declared_topic() -> None:
    _, problems = parse_fault(
        "mm2.task_fail", {"flow": "primary->dr", "topic": "nope"}, {}, _connect(two_dc(1))
    )
    assert [p.field for p in problems] == ["target.topic"]


class Rt:
    """Recorder of the runtime's connector operations; `states` scripts what REST reports."""

    def __init__(self, states: list[ConnectorStatus]) -> None:
        self.states = states
        self.calls: list[str] = []
        self.alive = True

    def flow(self, name: Any) -> Flow:
        return Flow("primary", "dr", mode="connect")

    def flow_alive(self, flow: Any) -> bool:
        return self.alive

    def flow_connectors(self, flow: Any = None) -> list[Any]:
        return [self.states[0]]

    def flow_connector_status(self, flow: Any, role: str) -> ConnectorStatus:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def flow_connector(self, flow: Any, role: str, action: str) -> str:
        self.calls.append(f"{action} {role}")
        return f"{action} {role}"


class Admin:
    def __init__(self) -> None:
        self.sets: list[dict[str, str | None]] = []

    def topic_level_configs(self, topic: str, names: tuple[str, ...]) -> dict[str, str | None]:
        return {n: None for n in names}

    def alter_configs(self, topic: str, values: dict[str, str | None]) -> None:
        assert topic == "primary.orders"
        self.sets.append(values)


def test_task_fail_sets_the_copy_limit_sees_failed_tasks_and_restarts_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = Admin()
    monkeypatch.setattr(mm2_connect, "ADMIN_FACTORY", lambda rt, cluster: admin)
    trace = "ConnectException\nCaused by: RecordTooLargeException: too large"
    rt = Rt(
        [
            ConnectorStatus("MirrorSourceConnector", "RUNNING", ("RUNNING",)),
            ConnectorStatus("MirrorSourceConnector", "RUNNING", ("FAILED",), (trace,)),
            ConnectorStatus("MirrorSourceConnector", "RUNNING", ("RUNNING",)),
        ]
    )
    params: Any
    params, _ = parse_fault("mm2.task_fail", {"flow": "primary->dr"}, {}, None)
    monkeypatch.setattr(mm2_connect.time, "sleep", lambda s: None)
    f = mm2_connect.Mm2TaskFail(FaultContext(runtime=rt), params)  # type: ignore[arg-type]
    assert "max.message.bytes=64" in f.inject()
    ok, detail = f.verify()
    assert ok and "RecordTooLargeException" in detail and "FAILED" in detail
    healed = f.heal()
    assert admin.sets == [{"max.message.bytes": "64"}, {"max.message.bytes": None}]
    assert rt.calls == ["restart_failed source"] and "RUNNING (RUNNING)" in healed


def test_task_fail_is_unverified_when_no_task_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mm2_connect, "ADMIN_FACTORY", lambda rt, cluster: Admin())
    monkeypatch.setattr(mm2_connect, "VERIFY_S", 0.0)
    rt = Rt([ConnectorStatus("MirrorSourceConnector", "RUNNING", ("RUNNING",))])
    params: Any
    params, _ = parse_fault("mm2.task_fail", {"flow": "primary->dr"}, {}, None)
    f = mm2_connect.Mm2TaskFail(FaultContext(runtime=rt), params)  # type: ignore[arg-type]
    f.inject()
    ok, detail = f.verify()
    assert not ok and "no task failed" in detail


def test_connector_stop_verifies_the_state_and_heal_survives_a_stopped_flow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mm2_connect.time, "sleep", lambda s: None)
    rt = Rt(
        [
            ConnectorStatus("MirrorCheckpointConnector", "RUNNING", ("RUNNING",)),
            ConnectorStatus("MirrorCheckpointConnector", "STOPPED", ()),
        ]
    )
    params: Any
    params, _ = parse_fault("mm2.connector_stop", {"flow": "primary->dr"}, {}, None)
    f = mm2_connect.Mm2ConnectorStop(FaultContext(runtime=rt), params)  # type: ignore[arg-type]
    assert "was MirrorCheckpointConnector RUNNING" in f.inject()
    assert f.verify() == (True, "MirrorCheckpointConnector STOPPED (no tasks)")
    rt.alive = False  # e.g. the failover runbook stopped the flow
    assert "nothing to resume" in f.heal()
    assert rt.calls == ["stop checkpoint"]
