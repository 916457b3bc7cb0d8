"""MirrorMaker 2 of the local runtime: one process per flow in the target's region (the
dedicated MirrorMaker driver, or in `mm2_mode: connect` a Kafka Connect worker running MM2's
connectors with REST on loopback), its operations for faults and runbooks, and the proof that
it replicates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.base import NodeState, find_flow
from kafkadrill.runtimes.local.nodes import process_state
from kafkadrill.runtimes.shared import config as cfg
from kafkadrill.runtimes.shared.connect import (
    ConnectorOps,
    ConnectRest,
    ConnectSetup,
    connect_setup,
)
from kafkadrill.runtimes.shared.ports import connect_rest_port
from kafkadrill.runtimes.shared.replication import wait_mm2_replicating
from kafkadrill.topology import Flow, Topology
from kafkadrill.workload.access import KafkaClients


class LocalFlows(ConnectorOps):
    """The flow half of LocalRuntime (a mixin: it works on the runtime's own state)."""

    topology: Topology
    workdir: Path
    plan: Any
    mm2_heap_mb: int
    clients: KafkaClients
    flows_running: dict[str, Flow]
    _flow_props: dict[str, str]
    _generation: int

    @staticmethod
    def _mm2_name(flow: Flow) -> str:
        return f"mm2-{flow.source}-{flow.target}"

    def flows(self) -> list[Flow]:
        out = list(self.topology.flows)
        out += [f for f in self.flows_running.values() if f not in out]
        return out

    def flow(self, name: Flow | str | None = None) -> Flow:
        return find_flow(self.flows(), name)

    def flow_start(self, flow: Flow | str | None = None) -> str:
        """Start (or restart) the dedicated MM2 process of a flow, in the target's region."""
        sup = self._sup()
        f = self.flow(flow)
        name = self._mm2_name(f)
        child = sup.children.get(name)
        if child is not None and child.alive():
            return f"MirrorMaker 2 {f.name} already running (pid {child.pid})"
        d = self.workdir / "config" / name
        d.mkdir(parents=True, exist_ok=True)
        setup = self._connect_setup(self.topology, f) if f.mode == "connect" else None
        props = setup.text() if setup is not None else self._render_mm2(self.topology, f)
        self._flow_props[f.name] = props
        log_dir = self.workdir / "logs" / name
        log_dir.mkdir(parents=True, exist_ok=True)
        log2, log1 = cfg.render_log_configs(str(log_dir / "mm2.log"))
        (d / "log4j2.properties").write_text(log2)
        (d / "log4j.properties").write_text(log1)
        if setup is not None:
            (d / "worker.properties").write_text(cfg.render_properties(setup.worker))
            main = ["org.apache.kafka.connect.cli.ConnectDistributed", str(d / "worker.properties")]
        else:
            (d / "mm2.properties").write_text(props)
            main = [
                "org.apache.kafka.connect.mirror.MirrorMaker",
                str(d / "mm2.properties"),
                *cfg.mm2_args(self.topology, f),
            ]
        child = sup.spawn(
            name, [*self._java(self.mm2_heap_mb, d, log_dir), *main], log_dir / "stdout.log"
        )
        self.flows_running[f.name] = f
        if setup is None:
            return f"started MirrorMaker 2 {f.name} (pid {child.pid})"
        up = self.connect_rest(f).bring_up(setup.connectors, lambda: self._check_flow_alive(f))
        return f"started MirrorMaker 2 {f.name} on Kafka Connect (pid {child.pid}, {up})"

    def flow_kill(self, flow: Flow | str | None = None) -> str:
        name = self._mm2_name(self.flow(flow))
        pid = self._sup().children[name].pid
        self._sup().kill(name)
        return f"SIGKILL MirrorMaker 2 pid {pid}"

    def flow_stop(self, flow: Flow | str | None = None, timeout: float = 20.0) -> str:
        name = self._mm2_name(self.flow(flow))
        self._sup().stop(name, timeout)
        return f"stopped {name}"

    def flow_alive(self, flow: Flow | str | None = None) -> bool:
        child = self._sup().children.get(self._mm2_name(self.flow(flow)))
        return child is not None and child.alive()

    def flow_state(self, flow: Flow | str | None = None) -> NodeState:
        child = self._sup().children.get(self._mm2_name(self.flow(flow)))
        return "down" if child is None else process_state(child.pid)

    def flow_describe(self, flow: Flow | str | None = None) -> dict[str, Any]:
        f = self.flow(flow)
        name = self._mm2_name(f)
        child = self._sup().children.get(name)
        return {
            "flow": f.name,
            "engine": "mirrormaker2" if f.mode != "connect" else "mirrormaker2-connect",
            "process": name,
            "pid": child.pid if child is not None else None,
            "alive": self.flow_alive(f),
            "properties": self._flow_props.get(f.name),
        }

    def wait_replicating(self, flow: Flow | str | None = None, timeout: float = 120.0) -> float:
        """Write a marker on the source and wait until MM2 has copied it; returns the seconds."""
        f = self.flow(flow)
        return wait_mm2_replicating(
            f,
            self.bootstrap(f.source),
            self.bootstrap(f.target),
            lambda: self._check_flow_alive(f),
            timeout,
            getattr(self.clients, "config", None),
        )

    def _check_flow_alive(self, f: Flow) -> None:
        if not self.flow_alive(f):
            log = self.workdir / "logs" / self._mm2_name(f) / "stdout.log"
            raise TopologyError(f"MirrorMaker 2 {f.name} exited; see {log}")

    def _render_mm2(self, topology: Topology, flow: Flow) -> str:
        """What the flow's process runs with (compared when a kept topology is adopted)."""
        if flow.mode == "connect":
            return self._connect_setup(topology, flow).text()
        region = topology.cluster(flow.target).region
        return cfg.render_mm2_properties(topology, (flow,), self.plan, region, self._generation)

    def _connect_setup(self, topology: Topology, flow: Flow) -> ConnectSetup:
        region = topology.cluster(flow.target).region
        props = cfg.mm2_property_map(topology, (flow,), self.plan, region, self._generation)
        return connect_setup(
            flow,
            props,
            f"http://127.0.0.1:{self._rest_port(flow)}",
            "127.0.0.1",
            reverse_heartbeats=not cfg.has_reverse_flow(topology, flow),
        )

    def _rest_port(self, flow: Flow) -> int:
        return connect_rest_port(self.plan, self.topology, flow.source, flow.target)

    def connect_rest(self, flow: Flow) -> ConnectRest:
        return ConnectRest(f"http://127.0.0.1:{self._rest_port(flow)}")

    def connect_names(self, flow: Flow) -> list[str]:
        return list(self._connect_setup(self.topology, flow).connectors)

    def _heartbeat_age(self, flow: Flow) -> float | None:
        """Age of the newest heartbeat copied to the flow's target (None: none readable)."""
        return self.clients.newest_record_age(
            self.bootstrap(flow.target), flow.remote_topic("heartbeats")
        )
