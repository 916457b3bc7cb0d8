"""The `external` runtime: drill clusters kafkadrill did not start (staging, production DR).

It starts nothing and stops nothing of the user's. It reaches the clusters with the bootstrap
servers and client security settings of the scenario's `external:` section, and it acts on
them only through the adapters configured there (commands, the user's Toxiproxy, Kafka Connect
REST): its capabilities are exactly those (`capabilities_of`), so a scenario asking for a fault
no adapter can perform is refused before anything is touched.

Safety, in order:
- `run_drill` refuses it without an explicit confirmation (`--yes` or an interactive yes);
- isolation: the drill writes and reads only run-scoped topics and groups
  (`kd-<run id>-orders`, created here and deleted at the end unless `keep_topics`);
- `start()` is the steady-state check (every cluster answers, each flow replicates a probe
  record within a bound, heartbeats are fresh, lag under a bound): if it fails the drill is
  aborted before any fault (`DrillAborted`);
- `guard()` runs every tick of the fault phase: writes unavailable too long or replication lag
  too high abort the drill (faults are then healed by the runner);
- `stop()` always heals what kafkadrill did (link effects, killed/paused nodes, stopped flows)
  and removes its run-scoped topics and groups; it never stops a cluster;
- every change is journaled before it is made (journal.py), so what a killed runner left in
  force is known and `kafkadrill heal RUN_DIR` can undo it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kafkadrill.errors import ScenarioError, TopologyError
from kafkadrill.faults.probe import kafka_ping
from kafkadrill.history import Ev
from kafkadrill.isolation import scoped_name
from kafkadrill.runtimes.base import (
    Cap,
    LinkEffect,
    NodeState,
    Progress,
    RuntimePowers,
    find_flow,
    register_runtime,
)
from kafkadrill.runtimes.external.adapters.command import parse_state, run_command
from kafkadrill.runtimes.external.adapters.connect import ConnectAdapter
from kafkadrill.runtimes.external.adapters.record import Recorder
from kafkadrill.runtimes.external.adapters.toxiproxy import ToxiproxyLinks
from kafkadrill.runtimes.external.checks import ExternalChecks
from kafkadrill.runtimes.external.clients import PerClusterClients
from kafkadrill.runtimes.external.config import (
    ADAPTERS,
    FLOW_STOP_TIMEOUT,
    NODE_STOP_TIMEOUT,
    CommandSpec,
    ExternalSpec,
    capabilities_of,
    resolve_config,
)
from kafkadrill.runtimes.external.fence import ExternalFence
from kafkadrill.runtimes.external.journal import JOURNAL_FILE, Journal, process_identity
from kafkadrill.runtimes.external.nodestart import (
    NodeKey,
    Started,
    start_together,
    wait_until,
)
from kafkadrill.runtimes.shared.lifecycle import RuntimeLifecycle
from kafkadrill.topology import Flow, Topology
from kafkadrill.workload.access import QUIET
from kafkadrill.workload.access import newest_record_age as newest_record_age  # re-export

if TYPE_CHECKING:
    from kafkadrill.plan import DrillPlan


class DrillAborted(TopologyError):
    """The drill was stopped for safety (steady state failed, a guard tripped): never PASS."""


def _caps(plan: DrillPlan) -> frozenset[str]:
    ext = plan.runtime_options.get("external")
    if ext is None:
        raise ScenarioError(
            "runtime 'external' needs an `external:` section",
            file=plan.source,
            field="external",
            fix="describe the clusters (bootstrap servers, nodes, flows): see "
            "docs/howto/quarterly-dr-drill.md",
        )
    return capabilities_of(ext)


# --------------------------------------------------------------------------------------------
# Isolation: the run-scoped names (the runner renames; this runtime names the prefix)
# --------------------------------------------------------------------------------------------


def _isolation_prefix(plan: DrillPlan) -> str:
    """The prefix of the run-scoped topic and group names: `external.isolation.prefix`."""
    ext = plan.runtime_options.get("external")
    if ext is None:
        raise ScenarioError(
            "runtime 'external' needs an `external:` section",
            file=plan.source,
            field="external",
            fix="describe the clusters (bootstrap servers, nodes, flows): see "
            "docs/howto/quarterly-dr-drill.md",
        )
    return str(ext.isolation.prefix)


def _prepare(
    plan: DrillPlan, run_id: str, topics: dict[str, str], groups: dict[str, str]
) -> dict[str, Any]:
    """The runtime options for one run (called by run_drill): `plan` as approved, `topics` and
    `groups` the run-scoped names the runner gave them (see `_isolation_prefix`)."""
    if plan.copiers:
        # Run-scoped names (isolation) do not yet cover a copier's topics and group: refused
        # before anything starts rather than run against unscoped names on a user's cluster.
        raise ScenarioError(
            "runtime 'external' does not run copiers yet (their topics and group are not "
            "run-scoped)",
            file=plan.source,
            field="workload.copiers",
            fix="run the copier drill on the local or compose runtime, or drop workload.copiers",
        )
    first = plan.producer_groups[0]  # the scenario's `producers`: the failover's topic
    return {
        "external": plan.runtime_options["external"],
        "run_id": run_id,
        "workload_topic": topics[first.topic],
        "producer_cluster": first.cluster,
        "groups": sorted(groups.values()),
        "topic_renames": topics,
        "scenario": plan.name,
    }


@register_runtime(
    "external",
    Cap.ALL,
    "clusters kafkadrill did not start; faults only through configured adapters",
    capabilities_for=_caps,
    adapters=ADAPTERS,
    # run_drill refuses it without an explicit confirmation
    powers=RuntimePowers(
        needs_confirmation=True, prepare=_prepare, isolation_prefix=_isolation_prefix
    ),
)
class ExternalRuntime(ExternalFence, ExternalChecks, RuntimeLifecycle):
    """Guarded (`guard`) and RecordsHistory (`attach_history`): see runtimes.base."""

    kind = "external"

    def __init__(
        self,
        topology: Topology,
        workdir: Path,
        *,
        progress: Progress | None = None,
        external: ExternalSpec | None = None,
        run_id: str | None = None,
        confirmed: bool = False,
        workload_topic: str | None = None,
        producer_cluster: str | None = None,
        groups: list[str] | None = None,
        topic_renames: dict[str, str] | None = None,
        scenario: str | None = None,
        journal: Journal | None = None,
    ) -> None:
        if external is None:
            raise ScenarioError("runtime 'external' needs an `external:` section", field="external")
        if not confirmed:
            raise ScenarioError(
                "a drill against clusters kafkadrill did not start needs an explicit confirmation",
                field="runtime",
                fix="pass --yes to `kafkadrill run` (or answer yes), after reading "
                "`kafkadrill plan`",
            )
        self.topology = topology
        self.workdir = Path(workdir)
        self.progress: Progress = progress or (lambda _m: None)
        self.spec = external
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.prefix = scoped_name(external.isolation.prefix, self.run_id, "")
        self.capabilities = capabilities_of(external)
        self.timings: dict[str, float] = {}
        self.workload_topic = workload_topic
        self.producer_cluster = producer_cluster
        self.groups = list(groups or [])
        self.topic_renames = dict(topic_renames or {})
        self.recorder = Recorder()
        # The runner's own journal, or (heal) the journal of the run being healed.
        self._by = "runner" if journal is None else "heal"
        self.journal = journal or Journal(
            self.workdir / JOURNAL_FILE,
            {"run_id": self.run_id, "scenario": scenario, "runtime": "external"}
            | process_identity(),
        )
        self.client_config: dict[str, dict[str, str]] = {}
        self._secret_values: list[str] = []
        for name, c in external.clusters.items():
            conf = resolve_config(c.client_config, field=f"external.clusters.{name}.client_config")
            self.client_config[name] = conf
            self._secret_values += [
                v for k, v in conf.items() if v != c.client_config.get(k) and len(v) >= 6
            ]
        self.recorder.add_secrets(self._secret_values)
        # Workload clients carry the first cluster's security settings (they may move between
        # clusters in a failover: give both clusters the same client identity); admin reads and
        # writes pick the settings of the cluster whose bootstrap servers they are given.
        first = next(iter(self.client_config.values()), {})
        self.clients = PerClusterClients(first, self._config_for_bootstrap)
        self.clients.probe_group = f"{self.prefix}hb"  # the run-scoped name its probes use
        self.links = (
            ToxiproxyLinks(external.toxiproxy, self.recorder, self.journal, self._by)
            if external.toxiproxy
            else None
        )
        self.connect = {
            f.name: ConnectAdapter(f.connect, f.name, self.recorder)
            for f in external.flows
            if f.connect is not None
        }
        self.created: list[tuple[str, str]] = []  # (cluster, topic) created by this run
        self.down: set[tuple[str, int]] = set()  # nodes kafkadrill killed/stopped
        self._down_at: dict[NodeKey, float] = {}  # when kafkadrill took each node down
        self._rejoin_admins: dict[str, Any] = {}  # cluster -> admin client of rejoin checks
        self.paused: set[tuple[str, int]] = set()
        self.flows_stopped: set[str] = set()
        self.steady: list[dict[str, Any]] = []
        self._started = False
        self._stop = threading.Event()
        self._lag: dict[str, int | None] = {}
        self._lag_thread: threading.Thread | None = None
        self._last_acked: tuple[float, int] | None = None  # (when acked last grew, acked)
        self._hb_cache: dict[str, tuple[float, float | None]] = {}
        self._state_cache: dict[str, tuple[float, str]] = {}  # flow -> (when read, state)
        self._state_gen: dict[str, int] = {}  # bumped by every stop/start/kill of the flow

    # ----- wiring ----------------------------------------------------------------------------
    def attach_history(self, history: Any) -> None:
        """Adapters record what they run into the drill's history from now on."""
        self.recorder.attach(history)

    def _config_for_bootstrap(self, bootstrap: str) -> dict[str, str] | None:
        for name, c in self.spec.clusters.items():
            if bootstrap == c.bootstrap or bootstrap in c.bootstrap_from.values():
                return self.client_config.get(name, {})
        return None

    def _history(self) -> Any:
        return self.recorder.history

    def _conf(self, cluster: str, **extra: Any) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.bootstrap(cluster),
            **QUIET,
            **self.client_config.get(cluster, {}),
            **extra,
        }

    # ----- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Nothing is started: create the run's own topics, then the steady-state check."""
        t0 = time.monotonic()
        self._started = True
        self.progress("checking that every cluster answers")
        reach = self._check_reachable()
        if all(c["ok"] for c in reach):
            self.progress("creating the run's own topics")
            self._create_topics()
            self.progress("steady-state check")
            checks = reach + self._check_adapters() + self._check_replication()
        else:
            checks = reach
        self.steady = checks
        ok = all(c["ok"] for c in checks)
        h = self._history()
        if h is not None:
            h.append(Ev.STEADY_STATE, ok=ok, checks=checks)
        self.timings["ready_s"] = time.monotonic() - t0
        if not ok:
            bad = "; ".join(f"{c['name']}: {c['detail']}" for c in checks if not c["ok"])
            raise DrillAborted(f"ABORTED before any fault: steady state not met: {bad}")
        self._lag_thread = threading.Thread(target=self._lag_loop, name="kd-guard", daemon=True)
        self._lag_thread.start()
        self.progress("ready (steady state met)")

    def stop(self) -> None:
        """Heal everything kafkadrill did, remove the run's topics and groups. Idempotent."""
        if not self._started:
            return
        self._started = False
        self._stop.set()
        errors: list[str] = []
        try:
            self.restore_all()
        except Exception as exc:  # keep going: flows and topics still need their cleanup
            errors.append(f"heal: {exc}")
        # Clean up before restarting a flow kafkadrill stopped (e.g. by a failover): a running
        # MirrorMaker 2 could copy a run topic again between the deletions on each side.
        if not self.spec.isolation.keep_topics:
            try:
                self._cleanup()
            except Exception as exc:
                errors.append(f"cleanup: {exc}")
        for flow in sorted(self.flows_stopped):
            try:
                self.flow_start(flow)
            except Exception as exc:
                errors.append(f"restart flow {flow}: {exc}")
        if errors:
            raise TopologyError("external runtime stop: " + "; ".join(errors))
        self.journal.closed()

    # ----- addresses and probes --------------------------------------------------------------
    def _region_of(self, site: str) -> str:
        for c in self.topology.clusters:
            if site == c.region or site in c.azs:
                return c.region
        return site

    def bootstrap(self, cluster: str, from_site: str | None = None) -> str:
        if cluster not in self.spec.clusters:
            raise TopologyError(f"unknown cluster {cluster!r}")
        c = self.spec.clusters[cluster]
        if from_site is not None:
            if from_site in c.bootstrap_from:
                return c.bootstrap_from[from_site]
            region = self._region_of(from_site)
            if region in c.bootstrap_from:
                return c.bootstrap_from[region]
        return c.bootstrap

    def _tls(self) -> bool:
        proto = str(next(iter(self.client_config.values()), {}).get("security.protocol", ""))
        return "SSL" in proto.upper()

    def ping(self, address: str, timeout: float = 1.0) -> float | None:
        if not self._tls():
            return kafka_ping(address, timeout)
        # Behind TLS a raw ApiVersions request cannot be sent: a TCP connect is the probe.
        import socket

        host, _, port = address.rpartition(":")
        t0 = time.monotonic()
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return time.monotonic() - t0
        except OSError:
            return None

    def kafka_version(self) -> str | None:
        # Kafka has no client API that returns its release (ApiVersions gives request versions
        # only): the figure is the one the scenario declares in external.kafka_version, or None.
        return self.spec.kafka_version

    # ----- commands --------------------------------------------------------------------------
    def _values(self, cluster: str | None = None, node: int | None = None) -> dict[str, Any]:
        vals: dict[str, Any] = {"run_id": self.run_id}
        if cluster is not None:
            c = self.topology.cluster(cluster)
            vals.update(cluster=cluster, region=c.region, site=c.region)
            if node is not None:
                vals.update(node=node, site=c.node(node).site)
        return vals

    def _node_cmd(self, op: str, cluster: str, node: int) -> CommandSpec:
        try:
            self.topology.cluster(cluster).node(node)
        except KeyError as exc:
            raise TopologyError(str(exc)) from exc
        spec = getattr(self.spec.commands_for(cluster), op)
        if spec is None:
            raise TopologyError(f"no `{op}` command is configured for cluster {cluster}")
        return spec

    def _run_node(self, op: str, cluster: str, node: int, timeout: float | None = None) -> str:
        spec = self._node_cmd(op, cluster, node)
        values = self._values(cluster, node)
        if timeout is not None:  # the grace a stop gets before a kill: {timeout}, in seconds
            values["timeout"] = f"{timeout:g}"
        res = run_command(
            spec,
            values,
            recorder=self.recorder,
            operation=op,
            target=f"{cluster}/{node}",
        )
        return f"ran {res.shown} (exit {res.exit})"

    # ----- nodes -----------------------------------------------------------------------------
    def _journal_node(self, op: str, how: str, cluster: str, node: int) -> None:
        self._node_cmd(how, cluster, node)  # an unknown node or op is refused unjournaled
        self.journal.did(op, cluster=cluster, node=node, how=how)

    def node_kill(self, cluster: str, node: int) -> str:
        self._journal_node("node_down", "node_kill", cluster, node)
        how = self._run_node("node_kill", cluster, node)
        self._went_down(cluster, node)
        return how + self._unverified_note(cluster)

    def node_stop(self, cluster: str, node: int, timeout: float = NODE_STOP_TIMEOUT) -> str:
        self._journal_node("node_down", "node_stop", cluster, node)
        how = self._run_node("node_stop", cluster, node, timeout)
        self._went_down(cluster, node)
        return how + self._unverified_note(cluster)

    def _went_down(self, cluster: str, node: int) -> None:
        self.down.add((cluster, node))
        self._down_at.setdefault((cluster, node), time.monotonic())

    def node_start(self, cluster: str, node: int) -> str:
        """Start one node and wait until it is back (see `nodes_start`)."""
        return self.nodes_start([(cluster, node)])

    def nodes_start(self, nodes: Sequence[tuple[str, int]]) -> str:
        """Start these nodes together and return once each is verified back in its cluster.

        All start commands run at once (a KRaft cluster needs a majority up; a command that
        waits for readiness would never return if its siblings were started after it); a
        failure names every node that failed. See nodestart.py."""
        heal_at = time.monotonic()
        started = start_together(nodes, lambda c, n: self._start_verified(c, n, heal_at))
        return "; ".join(s.detail() for s in started)

    def _start_verified(self, cluster: str, node: int, heal_at: float) -> Started:
        how = self._run_node("node_start", cluster, node)
        self.down.discard((cluster, node))  # started: restore_all must not start it again
        rejoin = self._wait_rejoined(cluster, node)
        self.journal.undone("node_down", self._by, cluster=cluster, node=node)
        down_at = self._down_at.pop((cluster, node), None)
        return Started(
            cluster,
            node,
            how,
            rejoin,
            None if down_at is None else time.monotonic() - down_at,
            None if down_at is None else heal_at - down_at,
        )

    def _wait_rejoined(self, cluster: str, node: int) -> str:
        """Wait until the node runs (by `node_state`, when configured) and is registered in
        its cluster's metadata; TopologyError when it is not within REJOIN_TIMEOUT."""
        seen: list[str] = []
        if self.spec.commands_for(cluster).node_state is not None:

            def running() -> tuple[bool, str]:
                state = self.node_state(cluster, node)
                return state == "running", f"node_state says {state}"

            waited = wait_until(f"{cluster}/{node} running", running)
            seen.append(f"running after {waited:.1f} s")

        def registered() -> tuple[bool, str]:
            ids = self._registered_nodes(cluster)
            if ids is None:
                return False, f"cluster {cluster} does not answer"
            return node in ids, f"registered brokers {sorted(ids)}"

        waited = wait_until(f"{cluster}/{node} rejoining its cluster", registered)
        seen.append(f"in the cluster metadata after {waited:.1f} s")
        return "rejoined: " + ", ".join(seen)

    def _registered_nodes(self, cluster: str) -> set[int] | None:
        """Broker ids the cluster's metadata lists now, or None if it does not answer."""
        from confluent_kafka import KafkaException

        admin = self._rejoin_admins.get(cluster)
        if admin is None:  # one client per cluster for all the looks (a race makes two: fine)
            admin = self._rejoin_admins[cluster] = self._admin(cluster)
        try:
            desc = admin.describe_cluster(request_timeout=5).result()
        except KafkaException:
            return None
        return {int(n.id) for n in desc.nodes}

    def node_pause(self, cluster: str, node: int) -> str:
        self._journal_node("node_paused", "node_pause", cluster, node)
        how = self._run_node("node_pause", cluster, node)
        self.paused.add((cluster, node))
        return how + self._unverified_note(cluster)

    def node_resume(self, cluster: str, node: int) -> str:
        how = self._run_node("node_resume", cluster, node)
        self.paused.discard((cluster, node))
        self.journal.undone("node_paused", self._by, cluster=cluster, node=node)
        return how

    def _unverified_note(self, cluster: str) -> str:
        if self.spec.commands_for(cluster).node_state is None:
            return "; no node_state command is configured: the effect is UNKNOWN (not verified)"
        return ""

    def node_state(self, cluster: str, node: int) -> NodeState:
        """From the `node_state` command; "unknown" (never a guess) when none is configured
        or its answer is not running/paused/down — a fault then does not verify."""
        spec = self.spec.commands_for(cluster).node_state
        if spec is None:
            return "unknown"  # type: ignore[return-value]
        res = run_command(
            spec,
            self._values(cluster, node),
            recorder=self.recorder,
            operation="node_state",
            target=f"{cluster}/{node}",
            check=False,
        )
        return parse_state(res.output) if res.ok else "unknown"  # type: ignore[return-value]

    def node_alive(self, cluster: str, node: int) -> bool:
        if (cluster, node) in self.down:
            return False
        if self.spec.commands_for(cluster).node_state is None:
            return True  # not knowable; kafkadrill did not take it down
        return self.node_state(cluster, node) != "down"

    # ----- flows -----------------------------------------------------------------------------
    def flows(self) -> list[Flow]:
        return list(self.topology.flows)

    def flow(self, name: Flow | str | None = None) -> Flow:
        return find_flow(self.topology.flows, name, " (the external section declares the flows)")

    def _flow_values(self, f: Flow) -> dict[str, Any]:
        return {
            **self._values(),
            "flow": f.name,
            "source": f.source,
            "target": f.target,
            "region": self.topology.cluster(f.target).region,
        }

    def _flow_cmd(self, op: str, f: Flow) -> CommandSpec | None:
        fs = self.spec.flow_spec(f.name)
        cmds = self.spec.commands.merged(fs.commands if fs else None)
        spec: CommandSpec | None = getattr(cmds, op)
        return spec

    def _flow_run(self, op: str, f: Flow, timeout: float | None = None) -> str | None:
        spec = self._flow_cmd(op, f)
        if spec is None:
            return None
        values = self._flow_values(f)
        if timeout is not None:  # e.g. the failover runbook's grace before a kill
            values["timeout"] = f"{timeout:g}"
        res = run_command(spec, values, recorder=self.recorder, operation=op, target=f.name)
        return f"ran {res.shown} (exit {res.exit})"

    def _forget_state(self, f: Flow) -> None:
        """After a stop/start/kill, the next `flow_alive` asks afresh (and a state read that
        began before it finished is not kept)."""
        self._state_gen[f.name] = self._state_gen.get(f.name, 0) + 1
        self._state_cache.pop(f.name, None)

    def _journal_flow(self, f: Flow, how: str) -> None:
        if self._flow_cmd(how, f) is not None or (how == "flow_stop" and f.name in self.connect):
            self.journal.did("flow_stopped", flow=f.name, how=how)

    def flow_stop(self, flow: Flow | str | None = None, timeout: float = FLOW_STOP_TIMEOUT) -> str:
        f = self.flow(flow)
        self._journal_flow(f, "flow_stop")
        try:
            done = self._flow_run("flow_stop", f, timeout)
            if done is None and f.name in self.connect:
                done = self.connect[f.name].pause(timeout=max(timeout, 10.0))
        finally:
            self._forget_state(f)
        if done is None:
            raise TopologyError(f"no way to stop flow {f.name} is configured")
        self.flows_stopped.add(f.name)
        return done

    def flow_start(self, flow: Flow | str | None = None) -> str:
        f = self.flow(flow)
        try:
            done = self._flow_run("flow_start", f)
            if done is None and f.name in self.connect:
                done = self.connect[f.name].resume()
        finally:
            self._forget_state(f)
        if done is None:
            raise TopologyError(f"no way to start flow {f.name} is configured")
        self.flows_stopped.discard(f.name)
        self.journal.undone("flow_stopped", self._by, flow=f.name)
        return done

    def flow_kill(self, flow: Flow | str | None = None) -> str:
        f = self.flow(flow)
        self._journal_flow(f, "flow_kill")
        try:
            done = self._flow_run("flow_kill", f)
        finally:
            self._forget_state(f)
        if done is None:
            raise TopologyError(f"no flow_kill command is configured for flow {f.name}")
        self.flows_stopped.add(f.name)
        return done

    def flow_state(self, flow: Flow | str | None = None) -> str:
        f = self.flow(flow)
        spec = self._flow_cmd("flow_state", f)
        if spec is not None:
            res = run_command(
                spec,
                self._flow_values(f),
                recorder=self.recorder,
                operation="flow_state",
                target=f.name,
                check=False,
            )
            return parse_state(res.output) if res.ok else "unknown"
        if f.name in self.connect:
            return self.connect[f.name].state()
        return "unknown"

    def flow_alive(self, flow: Flow | str | None = None) -> bool:
        f = self.flow(flow)
        # The lag monitor asks every second: the user's state command (an ssh, a kubectl) runs
        # at most every 5 s, and always afresh after kafkadrill stopped or started the flow.
        now = time.monotonic()
        seen = self._state_cache.get(f.name)
        if seen is None or now - seen[0] > 5.0:
            gen = self._state_gen.get(f.name, 0)
            seen = (now, self.flow_state(f))
            if self._state_gen.get(f.name, 0) == gen:  # not read across a stop/start
                self._state_cache[f.name] = seen
        state = seen[1]
        if state != "unknown":
            return state == "running"
        # Observable only: fresh heartbeats mean the flow runs (read at most every 5 s: the
        # monitor asks every second and each read is a consumer round trip).
        now = time.monotonic()
        cached = self._hb_cache.get(f.name)
        if cached is None or now - cached[0] > 5.0:
            cached = (now, self._heartbeat_age(f))
            self._hb_cache[f.name] = cached
        age = cached[1]
        return age is not None and age < 30.0

    def flow_describe(self, flow: Flow | str | None = None) -> dict[str, Any]:
        f = self.flow(flow)
        fs = self.spec.flow_spec(f.name)
        return {
            "flow": f.name,
            "engine": "external",
            "replication_policy": fs.replication_policy if fs else "default",
            "heartbeat_topic": fs.heartbeats() if fs else None,
            "control": "commands"
            if self._flow_cmd("flow_stop", f)
            else ("connect" if f.name in self.connect else None),
        }

    # ----- links -----------------------------------------------------------------------------
    def _links(self) -> ToxiproxyLinks:
        if self.links is None:
            raise TopologyError("no Toxiproxy is configured (external.toxiproxy)")
        return self.links

    def link_cut(self, a: str, b: str, direction: str = "both") -> LinkEffect:
        return self._links().apply(a, b, direction, "cut", {"timeout": 0})

    def link_toxic(
        self, a: str, b: str, direction: str, toxic: str, attributes: dict[str, Any]
    ) -> LinkEffect:
        return self._links().apply(a, b, direction, toxic, attributes)

    def az_partition(self, cluster: str, az: str, direction: str, cut_clients: bool) -> LinkEffect:
        raise TopologyError("the external runtime has no AZ partition adapter")

    def link_in_force(self, effect: LinkEffect) -> tuple[bool, str]:
        return self._links().in_force(effect)

    def link_restore(self, effect: LinkEffect) -> str:
        return self._links().restore(effect)

    # ----- health ----------------------------------------------------------------------------
    def _admin(self, cluster: str) -> Any:
        from confluent_kafka.admin import AdminClient

        return AdminClient(self._conf(cluster, **{"socket.connection.setup.timeout.ms": 5000}))

    def wait_healthy(self, cluster: str, timeout: float = 90.0) -> None:
        """Every described node is registered (or, without nodes, the cluster answers)."""
        from confluent_kafka import KafkaException

        want = len(self.spec.clusters[cluster].nodes)
        deadline = time.monotonic() + timeout
        admin = self._admin(cluster)
        last = "no answer"
        while True:
            try:
                desc = admin.describe_cluster(request_timeout=5).result()
                if len(desc.nodes) >= want:
                    return
                last = f"{len(desc.nodes)}/{want} nodes registered"
            except KafkaException as exc:
                last = str(exc)
            if time.monotonic() > deadline:
                raise TopologyError(f"cluster {cluster} not healthy after {timeout:.0f}s: {last}")
            time.sleep(0.5)

    def wait_replicating(self, flow: Flow | str | None = None, timeout: float = 120.0) -> float:
        f = self.flow(flow)
        topic = self._probe_topic()
        return self._probe_replication(f, topic, timeout)

    def restore_all(self) -> list[str]:
        """Undo what kafkadrill did and did not undo yet (never anything else)."""
        done: list[str] = []
        if self.links is not None:
            done += self.links.restore_all()
        for cluster, node in sorted(self.paused):
            self.node_resume(cluster, node)
            done.append(f"resumed {cluster}-n{node}")
        down = sorted(self.down)
        if down:  # together: a fully-down KRaft cluster needs its majority back at once
            self.nodes_start(down)
            done += [f"restarted {cluster}-n{node}" for cluster, node in down]
        return done

    # ----- guards (the steady-state checks and the cleanup are in checks.py) -----------------
    def _lag_loop(self) -> None:
        g = self.spec.guards
        if g.max_lag_records is None or self.workload_topic is None:
            return
        while not self._stop.wait(g.interval_seconds):
            for f in self.topology.flows:
                try:
                    self._lag[f.name] = self._lag(f, self.workload_topic)
                except Exception:
                    self._lag[f.name] = None

    def guard(self, now: float, acked: int) -> None:
        """Called every tick of the fault phase with the drill clock and the acked count;
        raises DrillAborted (after recording `guard.trip`) when a guard trips."""
        g = self.spec.guards
        if self._last_acked is None or acked > self._last_acked[1]:
            self._last_acked = (now, acked)
        if g.max_write_unavailable_seconds is not None:
            since = now - self._last_acked[0]
            if since > g.max_write_unavailable_seconds:
                self._trip(
                    "max_write_unavailable_seconds",
                    f"no write acknowledged for {since:.1f} s "
                    f"(guard {g.max_write_unavailable_seconds:g} s)",
                )
        if g.max_lag_records is not None:
            for flow, lag in self._lag.items():
                if lag is not None and lag > g.max_lag_records:
                    self._trip(
                        "max_lag_records",
                        f"flow {flow} is {lag} records behind (guard {g.max_lag_records})",
                    )

    def _trip(self, guard: str, reason: str) -> None:
        h = self._history()
        if h is not None:
            h.append(Ev.GUARD_TRIP, guard=guard, reason=reason)
        # Heal now, before the runner winds the workload down (producers may wait for their
        # delivery timeout): the faults' own heals then find nothing left to undo.
        try:
            healed = self.restore_all()
        except Exception as exc:
            healed = [f"heal failed: {exc}"]
        raise DrillAborted(f"ABORTED by guard {guard}: {reason}; healed at once: {healed}")

    # ----- description -----------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What kafkadrill knows of the clusters (no secret: client settings show references)."""
        return {
            "runtime": "external",
            "run_id": self.run_id,
            "run_scoped_prefix": self.prefix,
            "bootstrap": {n: c.bootstrap for n, c in self.spec.clusters.items()},
            "bootstrap_from": {n: dict(c.bootstrap_from) for n, c in self.spec.clusters.items()},
            "client_config": {
                n: dict(c.client_config) for n, c in self.spec.clusters.items()
            },  # the scenario's references, never resolved values
            "capabilities": sorted(self.capabilities),
            "flows": [self.flow_describe(f) for f in self.topology.flows],
            "toxiproxy_api": self.spec.toxiproxy.api if self.spec.toxiproxy else None,
            "steady_state": self.steady,
            "created_topics": [f"{c}:{t}" for c, t in self.created],
        }
