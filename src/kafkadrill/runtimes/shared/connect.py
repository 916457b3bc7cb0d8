"""MirrorMaker 2 on Kafka Connect (`mm2_mode: connect`): the worker's settings and the
connectors' configs derived from a flow's dedicated-mode MM2 properties, and a small client of
Connect's REST API (loopback only).

Why derive rather than render twice: every runtime already builds the flow's dedicated MM2
properties with its own addresses (host ports for the local runtime, container names for
compose) and the scenario's overrides; the same settings must hold in both modes, so Connect
mode is a pure translation of that one map. The translation follows MM2's own rules:
`<flow>.<key>` overrides `<key>` for the flow's connectors; `<target>.<key>` is a setting of
the worker (whose Kafka is the target: it is what a dedicated MM2's herder for the flow runs)
and of the connectors' target-cluster clients; `<source>.<key>` configures their source-cluster
clients. The worker keeps a dedicated herder's group and internal topic names
(`<source>-mm2`, `mm2-{offsets,configs,status}.<source>.internal`), so faults on MM2's state
(mm2.state_loss) and offsets written by one mode mean the same in the other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.shared.rest import JsonRest
from kafkadrill.topology import Flow

BYTES = "org.apache.kafka.connect.converters.ByteArrayConverter"
MIRROR = "org.apache.kafka.connect.mirror."

#: The connectors of one flow by the role a scenario names. Their Connect names are MM2's own
#: (dedicated mode names its connectors after their classes).
CONNECTORS: dict[str, str] = {
    "source": "MirrorSourceConnector",
    "checkpoint": "MirrorCheckpointConnector",
    "heartbeat": "MirrorHeartbeatConnector",
}
#: Heartbeats emitted on the flow's *source* (as a dedicated MM2 without a reverse flow does
#: with its reverse herder), so `<source>.heartbeats` on the target shows replication health.
REVERSE_HEARTBEAT = "MirrorHeartbeatConnector-reverse"

#: Keys of the dedicated driver that mean nothing to a connector.
_DRIVER_ONLY = ("clusters", "plugin.discovery")
#: Worker settings a dedicated MM2 takes unprefixed but a Connect worker must own.
_WORKER_KEYS = ("exactly.once.source.support",)
#: Settings (after a cluster prefix) of a worker, never of a connector's clients.
_WORKER_ONLY = (
    "plugin.discovery",
    "scheduled.rebalance.max.delay.ms",
    "offset.flush.interval.ms",
    "group.id",
    "exactly.once.source.support",
    "config.storage.",
    "offset.storage.",
    "status.storage.",
)


@dataclass(frozen=True)
class ConnectSetup:
    """A Connect worker's properties and the connector configs it must run."""

    worker: dict[str, str]
    connectors: dict[str, dict[str, str]] = field(default_factory=dict)

    def text(self) -> str:
        """The worker's properties and each connector's config, as one readable text."""
        lines = [f"{k}={v}" for k, v in sorted(self.worker.items())]
        for name, conf in self.connectors.items():
            lines += ["", f"# connector {name}", json.dumps(conf, indent=1, sort_keys=True)]
        return "\n".join(lines) + "\n"


def connect_setup(
    flow: Flow,
    props: Mapping[str, object],
    rest_listener: str,
    advertised_host: str,
    reverse_heartbeats: bool,
) -> ConnectSetup:
    """Translate a flow's dedicated MM2 properties (as the runtime rendered them, addresses
    included) into one Connect worker and its connectors. `reverse_heartbeats`: no reverse
    flow emits `heartbeats` on the source, so this worker does (as a dedicated MM2 does). Pure."""
    s, t = flow.source, flow.target
    plain = {k: str(v) for k, v in props.items()}
    src_bs = plain[f"{s}.bootstrap.servers"]
    dst_bs = plain[f"{t}.bootstrap.servers"]
    worker: dict[str, str] = {
        "group.id": f"{s}-mm2",
        "config.storage.topic": f"mm2-configs.{s}.internal",
        "offset.storage.topic": f"mm2-offsets.{s}.internal",
        "status.storage.topic": f"mm2-status.{s}.internal",
        "key.converter": BYTES,
        "value.converter": BYTES,
        "header.converter": BYTES,
        # Every bundled plugin has a ServiceLoader manifest (KIP-898): no classpath scan.
        "plugin.discovery": "service_load",
        # The reverse heartbeat connector writes to the source: its producer is redirected.
        "connector.client.config.override.policy": "All",
    }
    common: dict[str, str] = {}
    for key, value in plain.items():
        if key in _DRIVER_ONLY or "->" in key:
            continue
        alias, _, rest = key.partition(".")
        if alias == t and rest:
            worker[rest] = value
            if not rest.startswith(_WORKER_ONLY):
                common[f"target.cluster.{rest}"] = value
        elif alias == s and rest:
            if not rest.startswith(_WORKER_ONLY):
                common[f"source.cluster.{rest}"] = value
        elif key in _WORKER_KEYS:
            worker[key] = value
        else:
            common[key] = value
    prefix = f"{flow.name}."
    for key, value in plain.items():
        if key.startswith(prefix) and key != f"{flow.name}.enabled":
            common[key[len(prefix) :]] = value
    worker.update(
        {
            "bootstrap.servers": dst_bs,
            "listeners": rest_listener,
            "rest.advertised.host.name": advertised_host,
        }
    )
    ends = {
        "source.cluster.alias": s,
        "target.cluster.alias": t,
        "source.cluster.bootstrap.servers": src_bs,
        "target.cluster.bootstrap.servers": dst_bs,
        "key.converter": BYTES,
        "value.converter": BYTES,
        "header.converter": BYTES,
    }
    connectors = {
        name: {**common, **ends, "name": name, "connector.class": MIRROR + name}
        for name in CONNECTORS.values()
    }
    if reverse_heartbeats:
        connectors[REVERSE_HEARTBEAT] = {
            **common,
            **ends,
            "name": REVERSE_HEARTBEAT,
            "connector.class": MIRROR + CONNECTORS["heartbeat"],
            "source.cluster.alias": t,
            "target.cluster.alias": s,
            "source.cluster.bootstrap.servers": dst_bs,
            "target.cluster.bootstrap.servers": src_bs,
            "producer.override.bootstrap.servers": src_bs,
        }
    return ConnectSetup(worker, connectors)


# --------------------------------------------------------------------------------------------
# REST
# --------------------------------------------------------------------------------------------

#: Seconds a Connect worker may take to answer REST after its start (about 3 s measured).
CONNECT_READY_S = 90.0


class ConnectRest(JsonRest):
    """Kafka Connect's REST API at `base` (e.g. http://127.0.0.1:20383)."""

    label = "Kafka Connect"

    def wait_ready(self, timeout: float, check_alive: Callable[[], None]) -> float:
        """Wait until the worker answers and has joined its group (GET /connectors is 200)."""
        return self.wait_for("/connectors", timeout, check_alive)

    def ensure(self, configs: Mapping[str, Mapping[str, str]]) -> list[str]:
        """PUT each connector's config unless it already has exactly that config (a PUT of the
        same config would still reconfigure its tasks: a rebalance for nothing)."""
        changed = []
        for name, conf in configs.items():
            status, have = self.call("GET", f"/connectors/{name}/config")
            if status == 200 and have == dict(conf):
                continue
            self.ok("PUT", f"/connectors/{name}/config", dict(conf))
            changed.append(name)
        return changed

    def bring_up(
        self, connectors: Mapping[str, Mapping[str, str]], check_alive: Callable[[], None]
    ) -> str:
        """Wait for a (re)started worker's REST API, then `ensure` its connectors; says how
        long the wait took and what was put."""
        ready = self.wait_ready(CONNECT_READY_S, check_alive)
        changed = self.ensure(connectors)
        return (
            f"REST {self.base} after {ready:.1f} s; connectors put: {', '.join(changed) or 'none'}"
        )

    def status(self, name: str) -> ConnectorStatus:
        status, body = self.call("GET", f"/connectors/{name}/status")
        if status == 404:
            return ConnectorStatus(name, "MISSING", ())
        if status >= 300:
            raise TopologyError(f"Kafka Connect status of {name}: HTTP {status}: {body}")
        tasks = tuple(str(t.get("state", "UNKNOWN")) for t in body.get("tasks", []))
        traces = tuple(str(t.get("trace", "")) for t in body.get("tasks", []) if t.get("trace"))
        return ConnectorStatus(
            name, str(body.get("connector", {}).get("state", "UNKNOWN")), tasks, traces
        )

    def stop(self, name: str) -> None:
        self.ok("PUT", f"/connectors/{name}/stop")

    def pause(self, name: str) -> None:
        self.ok("PUT", f"/connectors/{name}/pause")

    def resume(self, name: str) -> None:
        self.ok("PUT", f"/connectors/{name}/resume")

    def restart_failed(self, name: str) -> None:
        self.ok("POST", f"/connectors/{name}/restart?includeTasks=true&onlyFailed=true")


@dataclass(frozen=True)
class ConnectorStatus:
    """One connector's state and its tasks' states, as Connect reports them."""

    name: str
    state: str  # RUNNING | PAUSED | STOPPED | FAILED | UNASSIGNED | RESTARTING | MISSING
    tasks: tuple[str, ...]
    traces: tuple[str, ...] = ()

    @property
    def failed_tasks(self) -> int:
        return sum(1 for t in self.tasks if t == "FAILED")

    @property
    def running(self) -> bool:
        return self.state == "RUNNING" and all(t == "RUNNING" for t in self.tasks)

    def text(self) -> str:
        tasks = ", ".join(self.tasks) if self.tasks else "no tasks"
        return f"{self.name} {self.state} ({tasks})"


class ConnectorOps:
    """The connector operations of a runtime whose flows may run on Kafka Connect (a mixin:
    the runtime says where each flow's REST API is and which connectors it runs)."""

    def flow(self, name: Flow | str | None = None) -> Flow:
        raise NotImplementedError

    def connect_rest(self, flow: Flow) -> ConnectRest:
        raise NotImplementedError

    def connect_names(self, flow: Flow) -> list[str]:
        raise NotImplementedError

    def _rest_of(self, flow: Flow | str | None) -> tuple[Flow, ConnectRest]:
        f = self.flow(flow)
        if f.mode != "connect":
            raise TopologyError(
                f"flow {f.name} runs MirrorMaker 2 in dedicated mode: it has no Connect REST "
                "API (set topology.mm2_mode: connect)"
            )
        return f, self.connect_rest(f)

    def flow_connectors(self, flow: Flow | str | None = None) -> list[ConnectorStatus]:
        """Every connector of the flow with its tasks' states, as Connect reports them."""
        f, rest = self._rest_of(flow)
        return [rest.status(n) for n in self.connect_names(f)]

    def flow_connector_status(self, flow: Flow | str | None, role: str) -> ConnectorStatus:
        """One connector (`role`: source, checkpoint, heartbeat) of the flow."""
        _f, rest = self._rest_of(flow)
        return rest.status(CONNECTORS[role])

    def flow_connector(self, flow: Flow | str | None, role: str, action: str) -> str:
        """stop | pause | resume | restart_failed one connector (`role`: source, checkpoint,
        heartbeat) of the flow."""
        f, rest = self._rest_of(flow)
        name = CONNECTORS[role]
        actions: dict[str, Callable[[str], None]] = {
            "stop": rest.stop,
            "pause": rest.pause,
            "resume": rest.resume,
            "restart_failed": rest.restart_failed,
        }
        actions[action](name)
        return f"{action} {name} of {f.name} ({rest.base})"
