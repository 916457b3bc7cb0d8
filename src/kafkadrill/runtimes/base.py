"""The Runtime seam: the one place where "how a topology lives" meets "what a drill does".

Everything above the topology (runner, faults, runbooks, monitor, final read, pytest plugin,
CLI) is typed against `Runtime` and uses nothing else of a runtime. A runtime declares the
*capabilities* it has; faults and runbooks declare the ones they need, so a scenario that asks
for something the chosen runtime cannot do is rejected before anything starts.

Runtimes register by name (`register_runtime`); `create_runtime(name, ...)` builds one.
Optional powers beyond the protocol are declared, never probed with getattr: what the runner
must know before a runtime exists (confirmation, scenario preparation, deferred flow wait) in
the registration's `RuntimePowers`; what a live runtime offers (`adopt`, `guard`,
`attach_history`) as the small protocols `Adoptable`, `Guarded` and `RecordsHistory`.
Implementations: `local` (processes, runtimes/local/), `fake` (in memory, for unit tests of
the runner, runtimes/fake.py), `compose` (runtimes/compose/) and `external` (runtimes/external/).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, runtime_checkable

from kafkadrill.errors import ScenarioError, TopologyError
from kafkadrill.topology import Flow, Topology

if TYPE_CHECKING:
    from kafkadrill.workload.access import KafkaClients


class Cap:
    """Capability names (plain strings so scenarios and messages can show them)."""

    NODE_KILL = "node.kill"  # abrupt loss of a node (SIGKILL, container kill)
    NODE_STOP = "node.stop"  # clean shutdown of a node
    NODE_PAUSE = "node.pause"  # a node frozen but alive (SIGSTOP, cgroup freeze)
    NODE_START = "node.start"  # bring a stopped/killed node back with its data
    FLOW_KILL = "flow.kill"  # abrupt loss of a replication flow's process
    FLOW_STOP = "flow.stop"  # stop a replication flow (runbook: no split brain)
    FLOW_START = "flow.start"  # start a (possibly new, e.g. reverse) replication flow
    LINK_CUT = "link.cut"  # cut every path of a link between two sites, per direction
    LINK_TOXIC = "link.toxic"  # latency / bandwidth / reset toxics on a link, per direction
    AZ_PARTITION = "az.partition"  # cut one AZ of a cluster off from the others
    TOPIC_ADMIN = "topic.admin"  # create topics, add partitions, alter configs (metadata drills)
    ACL = "acl"  # create and delete ACLs (the failover's fence)
    TOPIC_REWRITE = "topic.rewrite"  # delete, recreate and refill a topic (rebuild/truncate)
    # Shorten a topic's retention for a while (topic.retention). Not offered on external
    # clusters: a runner killed mid-fault would leave a team's topic expiring its records.
    TOPIC_RETENTION = "topic.retention"
    # Delete MirrorMaker 2's internal topics (mm2.state_loss, mm2.offsets_loss). Not on
    # external clusters.
    MM2_STATE = "mm2.state"
    # See and act on one connector or task of a flow run on Kafka Connect (mm2_mode: connect):
    # its state over REST, stop/resume, restart failed tasks.
    FLOW_CONNECTOR = "flow.connector"
    # Run a backup of a cluster through a Kafka Connect sink (topology.backup) and restore it
    # in the failover runbook: the store is on the runner's disk.
    BACKUP = "backup"
    # Run a schema registry per cluster (topology.schema_registry) and switch one read-write.
    SCHEMA_REGISTRY = "schema.registry"
    # Start clusters whose client listeners authenticate application principals
    # (topology.principals): SASL/PLAIN everywhere, kafkadrill's own clients as super user.
    PRINCIPALS = "principals"
    # Run producers in worker processes of their own (workload.producers.workers): real
    # clients only, the fake cluster lives in the runner's memory.
    WORKERS = "workers"

    ALL: frozenset[str] = frozenset(
        {
            NODE_KILL,
            NODE_STOP,
            NODE_PAUSE,
            NODE_START,
            FLOW_KILL,
            FLOW_STOP,
            FLOW_START,
            LINK_CUT,
            LINK_TOXIC,
            AZ_PARTITION,
            TOPIC_ADMIN,
            ACL,
            TOPIC_REWRITE,
            TOPIC_RETENTION,
            MM2_STATE,
            FLOW_CONNECTOR,
            BACKUP,
            SCHEMA_REGISTRY,
            PRINCIPALS,
            WORKERS,
        }
    )


NodeState = Literal["running", "paused", "down"]
Direction = str  # "both", "<site>-><site>", or for AZ partitions "isolate-in" / "isolate-out"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class LinkEffect:
    """What a link operation did, so that it can be verified and undone.

    `paths` are the runtime's names of the affected paths (for the history); `probes` are
    addresses a Kafka request can be sent to from this process and that cross those paths (a
    cut makes them silent, a latency toxic shows in their round trip); `handle` is private to
    the runtime that made it.
    """

    kind: str  # "cut" or a toxic type ("latency", "bandwidth", "reset_peer", "timeout")
    paths: tuple[str, ...]
    probes: tuple[str, ...]
    detail: str
    handle: Any = field(default=None, compare=False)


@runtime_checkable
class Runtime(Protocol):
    """A running topology. A context manager: `with create_runtime(...) as rt: ...`."""

    kind: str  # the registry name: "local", "fake", ...
    topology: Topology
    workdir: Path
    capabilities: frozenset[str]
    timings: dict[str, float]  # start-up phases (clusters_healthy_s, ready_s)
    clients: KafkaClients  # how workload clients, probes and runbooks reach its clusters

    # ----- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...

    # ----- addresses and probes --------------------------------------------------------------
    def bootstrap(self, cluster: str, from_site: str | None = None) -> str:
        """Bootstrap servers for a client in `from_site` (default: the cluster's region)."""
        ...

    def ping(self, address: str, timeout: float = 1.0) -> float | None:
        """Round-trip seconds of one Kafka request to `host:port`, or None if it failed."""
        ...

    def kafka_version(self) -> str | None: ...

    # ----- nodes -----------------------------------------------------------------------------
    def node_kill(self, cluster: str, node: int) -> str: ...
    def node_stop(self, cluster: str, node: int, timeout: float = 30.0) -> str: ...
    def node_pause(self, cluster: str, node: int) -> str: ...
    def node_resume(self, cluster: str, node: int) -> str: ...
    def node_start(self, cluster: str, node: int) -> str: ...
    def node_state(self, cluster: str, node: int) -> NodeState: ...
    def node_alive(self, cluster: str, node: int) -> bool: ...

    # ----- replication flows -----------------------------------------------------------------
    def flows(self) -> list[Flow]:
        """Every flow this runtime has started (running or not), topology flows first."""
        ...

    def flow(self, name: Flow | str | None = None) -> Flow:
        """A flow by name (None: the first); raises TopologyError if unknown."""
        ...

    def flow_start(self, flow: Flow | str | None = None) -> str: ...
    def flow_stop(self, flow: Flow | str | None = None, timeout: float = 20.0) -> str: ...
    def flow_kill(self, flow: Flow | str | None = None) -> str: ...
    def flow_alive(self, flow: Flow | str | None = None) -> bool: ...
    def flow_describe(self, flow: Flow | str | None = None) -> dict[str, Any]: ...

    # ----- links -----------------------------------------------------------------------------
    def link_cut(self, a: str, b: str, direction: Direction = "both") -> LinkEffect: ...
    def link_toxic(
        self, a: str, b: str, direction: Direction, toxic: str, attributes: dict[str, Any]
    ) -> LinkEffect: ...
    def az_partition(
        self, cluster: str, az: str, direction: Direction, cut_clients: bool
    ) -> LinkEffect: ...
    def link_in_force(self, effect: LinkEffect) -> tuple[bool, str]:
        """Is the effect still applied (toxics present, paths disabled)?"""
        ...

    def link_restore(self, effect: LinkEffect) -> str: ...

    # ----- health, reset, description --------------------------------------------------------
    def wait_healthy(self, cluster: str, timeout: float = 90.0) -> None: ...
    def wait_replicating(self, flow: Flow | str | None = None, timeout: float = 120.0) -> float:
        """Write a probe on the flow's source and wait until it shows on the target."""
        ...

    def restore_all(self) -> list[str]:
        """Undo anything still in force: toxics, cut paths, paused or dead nodes. Returns
        what had to be restored (a drill's own heals should have left nothing)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What is running and how it is configured (environment.json, `status`)."""
        ...


# --------------------------------------------------------------------------------------------
# Optional powers of a live runtime (checked with isinstance, not getattr)
# --------------------------------------------------------------------------------------------


@runtime_checkable
class Adoptable(Protocol):
    """Keeps its topology between drills (the topology pool): `adopt` proves a reset for the
    next drill's equal topology and returns the evidence, or raises TopologyError."""

    def adopt(self, topology: Topology, workdir: Path) -> list[str]: ...


@runtime_checkable
class Guarded(Protocol):
    """Has safety guards (external): the runner calls `guard` as the drill goes; it raises to
    abort the drill."""

    def guard(self, now: float, acked: int) -> None: ...


@runtime_checkable
class StartsNodesTogether(Protocol):
    """Starts several nodes at once and returns when all are back (external: its `node_start`
    commands may block until a node is ready, which a lone KRaft node never is)."""

    def nodes_start(self, nodes: Sequence[tuple[str, int]]) -> str: ...


@runtime_checkable
class FencesWrites(Protocol):
    """Applies and lifts the failover's write fence itself (external: the user's commands, or
    ACLs journaled so that `kafkadrill heal` can lift them); others: the runbook's ACLs."""

    def fence_writes(self, cluster: str, topic: str, bootstrap: str) -> str: ...
    def unfence_writes(self, cluster: str, topic: str, bootstrap: str) -> str: ...


@runtime_checkable
class RewritesTopicsByCommand(Protocol):
    """Can run the user's own command for a failback's `rebuild` / `truncate` of a topic
    (external); None when none is configured (the runbook then rewrites it itself)."""

    def rewrite_topic_by_command(
        self, strategy: str, original: str, current: str, topic: str
    ) -> str | None: ...


@runtime_checkable
class RunsConnectors(Protocol):
    """Runs flows in `mm2_mode: connect` and acts on their connectors over Connect REST
    (runtimes.shared.connect.ConnectorOps)."""

    def flow_connectors(self, flow: Flow | str | None = None) -> list[Any]: ...
    def flow_connector_status(self, flow: Flow | str | None, role: str) -> Any: ...
    def flow_connector(self, flow: Flow | str | None, role: str, action: str) -> str: ...


@runtime_checkable
class RunsBackup(Protocol):
    """Backs a cluster up through a Kafka Connect sink (topology.backup) into a store on the
    runner's disk (runtimes.shared.backup)."""

    def backup_store(self) -> Path: ...
    def backup_alive(self) -> bool: ...
    def backup_kill(self) -> None: ...
    def backup_start(self) -> str | None: ...


@runtime_checkable
class RunsSchemaRegistry(Protocol):
    """Runs a schema registry per cluster (runtimes.shared.schema_registry)."""

    def registry_url(self, cluster: str) -> str: ...
    def registry_read_only(self, cluster: str, read_only: bool) -> None: ...
    def registry_kill(self, cluster: str) -> bool: ...
    def registry_start(self, cluster: str) -> str: ...


@runtime_checkable
class RecordsHistory(Protocol):
    """Records what its adapters run into the drill's history once attached."""

    def attach_history(self, history: Any) -> None: ...


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

RuntimeFactory = Callable[..., Runtime]
# A DrillPlan -> the prefix of the run-scoped topic and group names (kafkadrill.isolation).
IsolationHook = Callable[[Any], str]
# (the DrillPlan as approved, run_id, topic renames, group renames) -> extra runtime options.
PrepareHook = Callable[[Any, str, dict[str, str], dict[str, str]], dict[str, Any]]


@dataclass(frozen=True)
class RuntimePowers:
    """What the runner must know of a runtime type before one exists (declared at
    registration; every default is "not needed")."""

    # Acts on clusters kafkadrill did not start: run_drill and the CLI need a confirmation.
    needs_confirmation: bool = False
    # Accepts `wait_flows=False`: run_drill proves replication itself (overlaps the warm-up).
    defers_flow_wait: bool = False
    # Computes the runtime's options for one run (external).
    prepare: PrepareHook | None = None
    # The runner renames every topic and group of the drill with this prefix and the run id
    # before compiling the plan the phases use (external: clusters that outlive the drill).
    isolation_prefix: IsolationHook | None = None


NO_POWERS = RuntimePowers()


@dataclass(frozen=True)
class RuntimeType:
    name: str
    factory: RuntimeFactory
    capabilities: frozenset[str]
    summary: str
    # A runtime that runs no Kafka (the fake): usable from Python for tests, refused by the
    # CLI and the pytest plugin so that no report of it can pass for a drill.
    testing_only: bool = False
    # Runtimes whose capabilities depend on their configuration (external: only what the
    # scenario gives adapters for) compute them from the DrillPlan; None: `capabilities`.
    capabilities_for: Callable[[Any], frozenset[str]] | None = None
    powers: RuntimePowers = NO_POWERS
    # For such runtimes: (capability, the setting that gives it), so that a refusal and
    # `kafkadrill runtimes` name what to configure rather than "choose another runtime".
    adapters: tuple[tuple[str, str], ...] = ()

    def how_to_get(self, lacks: Iterable[str]) -> str:
        """The settings that would give the capabilities in `lacks` ("" without adapters)."""
        if not self.adapters:
            return ""
        wanted = sorted(set(lacks))
        given = [f"{cap}: {setting}" for cap, setting in self.adapters if cap in wanted]
        none = [cap for cap in wanted if cap not in {c for c, _ in self.adapters}]
        if none:
            given.append(f"{', '.join(none)}: no adapter of runtime '{self.name}' gives it")
        return "; ".join(given)

    def keeps_topology(self) -> bool:
        """Can a runtime of this type keep its topology between drills (is it Adoptable)?"""
        # A class factory declares it by implementing Adoptable; a plain function cannot.
        return isinstance(self.factory, type) and issubclass(self.factory, Adoptable)

    def capabilities_of(self, plan: Any) -> frozenset[str]:
        """What this runtime can do for `plan` (a kafkadrill.plan.DrillPlan)."""
        if self.capabilities_for is None:
            return self.capabilities
        return self.capabilities_for(plan)


def find_flow(flows: Iterable[Flow], name: Flow | str | None, unknown: str = "") -> Flow:
    """`Runtime.flow()` for every runtime: a Flow as given, else the one named (None: the
    first); TopologyError naming it (plus `unknown`, a runtime's hint) if there is none."""
    if isinstance(name, Flow):
        return name
    for f in flows:
        if name is None or f.name == name:
            return f
    raise TopologyError(f"unknown flow {name!r}{unknown}")


RUNTIMES: dict[str, RuntimeType] = {}


def register_runtime(
    name: str,
    capabilities: frozenset[str],
    summary: str,
    *,
    testing_only: bool = False,
    capabilities_for: Callable[[Any], frozenset[str]] | None = None,
    powers: RuntimePowers = NO_POWERS,
    adapters: tuple[tuple[str, str], ...] = (),
) -> Callable[[RuntimeFactory], RuntimeFactory]:
    """Class decorator: `@register_runtime("local", Cap.ALL, "processes on this machine")`."""
    unknown = set(capabilities) - Cap.ALL
    if unknown:
        raise ValueError(f"runtime {name}: unknown capabilities {sorted(unknown)}")

    def deco(factory: RuntimeFactory) -> RuntimeFactory:
        RUNTIMES[name] = RuntimeType(
            name,
            factory,
            frozenset(capabilities),
            summary,
            testing_only,
            capabilities_for,
            powers,
            adapters,
        )
        return factory

    return deco


# The built-in runtimes are plugins loaded by name, as a third-party runtime would be: this
# module defines the seam and depends on no implementation (each imports it to register).
BUILTIN_RUNTIMES = (
    "kafkadrill.runtimes.fake",
    "kafkadrill.runtimes.compose.runtime",
    "kafkadrill.runtimes.external.runtime",
    "kafkadrill.runtimes.local.runtime",
)


def _load_builtin() -> None:
    # Importing registers; the modules import heavy parts lazily.
    for module in BUILTIN_RUNTIMES:
        importlib.import_module(module)


def runtime_type(name: str) -> RuntimeType:
    _load_builtin()
    if name not in RUNTIMES:
        from kafkadrill.faults.catalog import did_you_mean

        raise ScenarioError(
            f"unknown runtime '{name}'{did_you_mean(name, runtime_names())}",
            field="runtime",
            fix=f"use one of: {', '.join(runtime_names())}",
        )
    return RUNTIMES[name]


def runtime_names(*, testing: bool = False) -> list[str]:
    """Names of the registered runtimes (with `testing`, also the test-only ones)."""
    _load_builtin()
    return sorted(n for n, t in RUNTIMES.items() if testing or not t.testing_only)


def user_runtime(name: str) -> RuntimeType:
    """A runtime a user may choose for a drill (CLI, pytest): not a test-only one."""
    rtype = runtime_type(name)
    if rtype.testing_only:
        raise ScenarioError(
            f"runtime '{name}' runs no Kafka (it exists to test kafkadrill itself)",
            field="runtime",
            fix=f"use one of: {', '.join(runtime_names())}",
        )
    return rtype


def create_runtime(
    name: str,
    topology: Topology,
    workdir: Path,
    *,
    progress: Progress | None = None,
    **options: Any,
) -> Runtime:
    """A runtime of type `name` for `topology` (not started: use it as a context manager)."""
    return runtime_type(name).factory(topology, workdir, progress=progress, **options)
