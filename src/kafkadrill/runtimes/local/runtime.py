"""The `local` runtime: a whole topology as processes on this machine.

Split by job: links.py (Toxiproxy and link faults), nodes.py (KRaft storage and node
processes), mm2.py (one MirrorMaker 2 per flow); this module holds the lifecycle, addresses,
reset and reuse, health and the description.

Brings up every KRaft node, Toxiproxy with one proxy per cross-site path (and per broker pair
inside multi-AZ clusters), and one dedicated MirrorMaker 2 process per flow; waits until each
cluster is really healthy and MM2 really replicates; offers node/MM2 operations for faults; and
guarantees that nothing it started outlives it (see processes.py).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.base import (
    Cap,
    RuntimePowers,
    register_runtime,
)
from kafkadrill.runtimes.local.backup import LocalBackup
from kafkadrill.runtimes.local.links import LocalLinks
from kafkadrill.runtimes.local.mm2 import LocalFlows
from kafkadrill.runtimes.local.nodes import LocalNodes, NodeRuntime
from kafkadrill.runtimes.local.schema_registry import LocalRegistries
from kafkadrill.runtimes.shared import cds
from kafkadrill.runtimes.shared import config as cfg
from kafkadrill.runtimes.shared.admin import StartedClusters
from kafkadrill.runtimes.shared.config import new_cluster_id as new_cluster_id  # re-export
from kafkadrill.runtimes.shared.lifecycle import RuntimeLifecycle
from kafkadrill.runtimes.shared.ports import PortLease, allocate
from kafkadrill.runtimes.shared.processes import Supervisor, kill_from_state, runner_alive
from kafkadrill.runtimes.shared.provision import (
    KafkaDist,
    ensure_kafka,
    ensure_toxiproxy,
)
from kafkadrill.runtimes.shared.toxiproxy import ProxySpec, ToxiproxyClient
from kafkadrill.runtimes.shared.wan import describe_wan
from kafkadrill.topology import TOOL_PRINCIPAL, Flow, Topology, reuse_key, sasl_client_conf
from kafkadrill.workload.access import ConfluentClients

Progress = Callable[[str], None]


# A kept MirrorMaker 2 must have copied a heartbeat (emitted every second by default) this
# recently; otherwise it is restarted for the next drill.
HEARTBEAT_FRESH_S = 10.0


def state_root() -> Path:
    root = Path(os.environ.get("KAFKADRILL_STATE", "/tmp/kafkadrill-state")) / "topologies"
    root.mkdir(parents=True, exist_ok=True)
    return root


def cleanup_stale() -> list[int]:
    """Kill children of runners that died without cleaning up; returns the pids killed."""
    killed: list[int] = []
    for state in state_root().glob("*.json"):
        if not runner_alive(state):
            killed += kill_from_state(state)
    return killed


@register_runtime(
    "local",
    Cap.ALL,
    "processes on this machine: KRaft nodes, MM2, Toxiproxy",
    # run_drill proves replication before faults (overlaps warmup)
    powers=RuntimePowers(defers_flow_wait=True),
)
class LocalRuntime(
    LocalLinks,
    LocalNodes,
    LocalFlows,
    LocalBackup,
    LocalRegistries,
    StartedClusters,
    RuntimeLifecycle,
):
    """Context manager: `with LocalRuntime(topology, run_dir) as rt: ...`.

    Adoptable: `adopt` keeps the topology between drills (the topology pool)."""

    kind = "local"
    capabilities = Cap.ALL

    def __init__(
        self,
        topology: Topology,
        workdir: Path,
        *,
        kafka: KafkaDist | None = None,
        heap_mb: int = 256,
        mm2_heap_mb: int = 256,
        progress: Progress | None = None,
        start_flows: bool = True,
        wait_flows: bool = True,
    ) -> None:
        self.topology = topology
        self.workdir = Path(workdir)
        self.kafka = kafka
        self.heap_mb = heap_mb
        self.mm2_heap_mb = mm2_heap_mb
        self.progress: Progress = progress or (lambda _msg: None)
        self.start_flows = start_flows
        # False: start() returns once the clusters are healthy and MM2 is started; the runner
        # then proves replication before its fault phase, so MM2's start overlaps the warmup.
        self.wait_flows = wait_flows
        self.lease: PortLease | None = None
        self.supervisor: Supervisor | None = None
        self.toxiproxy: ToxiproxyClient | None = None
        self.toxiproxy_bin: Path | None = None
        self.proxies: dict[str, ProxySpec] = {}
        self.wan_in_force: list[str] = []
        self.nodes: dict[str, NodeRuntime] = {}
        self.flows_running: dict[str, Flow] = {}
        self._flow_props: dict[str, str] = {}  # mm2.properties each flow was started with
        self._generation = 0  # MM2 restarts on a kept topology (render_mm2_properties)
        self.scratch: Path | None = None
        self.timings: dict[str, float] = {}
        self.cds_opts: list[str] = []
        self.cds_note = "not started"
        # With application principals every listener authenticates: kafkadrill's own clients
        # log in as the super user (a workload client's own principal overrides it).
        secured = any(c.principals for c in topology.clusters)
        self.clients = ConfluentClients(sasl_client_conf(TOOL_PRINCIPAL) if secured else None)
        self._started = False
        self._atexit_registered = False

    # ----- lifecycle -------------------------------------------------------------------------
    @property
    def plan(self) -> Any:
        if self.lease is None:
            raise TopologyError("topology is not started")
        return self.lease.plan

    def start(self) -> None:
        t0 = time.monotonic()
        if self.kafka is None:
            self.progress("provisioning Kafka jars")
            self.kafka = ensure_kafka(self.topology.kafka_version)
        self.toxiproxy_bin = ensure_toxiproxy()
        if cds.enabled() and not cds.archive_path(self.kafka).exists():
            self.progress("building the JVM class-data sharing archive (first time only)")
        _archive, self.cds_note = cds.ensure_archive(self.kafka)
        self.cds_opts = cds.jvm_options(self.kafka)
        cleanup_stale()
        self.lease = allocate(self.topology)
        self.supervisor = Supervisor(state_root() / f"{self.lease.plan.base}.json")
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        self.scratch = Path(tempfile.mkdtemp(prefix="kafkadrill-data-"))
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        self._started = True

        self.progress("starting Toxiproxy")
        self._start_toxiproxy()
        self._create_proxies()
        self._apply_wan()
        self.progress("preparing KRaft storage")
        self._prepare_nodes()
        self.progress("starting Kafka nodes")
        for node in self.nodes.values():
            self._spawn_node(node)
        # MM2's JVM and Connect workers take seconds to start; they retry until the clusters
        # answer, so starting them now overlaps that with the cluster start-up. (Started once
        # the topics exist instead, MM2 began copying ~11 s after the topology was up rather
        # than ~3 s: measured on 3+3 drills.)
        if self.start_flows:
            self._start_flows()
        for cluster in self.topology.clusters:
            self.progress(f"waiting for cluster {cluster.name} to be healthy")
            self.wait_healthy(cluster.name)
        self.timings["clusters_healthy_s"] = time.monotonic() - t0
        for cluster in self.topology.clusters:
            self._create_topics(cluster)
        if self.topology.backup is not None:
            self.progress("starting the backup's Kafka Connect worker")
            self.backup_start()
        if self.topology.schema_registry is not None:
            self.progress("starting the schema registries")
            self.registries_start()
        if self.start_flows and self.wait_flows:
            for flow in self.topology.flows:
                self.progress(f"waiting for MirrorMaker 2 {flow.name} to replicate")
                self.wait_replicating(flow)
            self.timings["ready_s"] = time.monotonic() - t0
        self.supervisor.write_extra(
            workdir=str(self.workdir),
            kafka_version=self.kafka.version,
            bootstrap={c.name: self.bootstrap(c.name) for c in self.topology.clusters},
            xdc_bootstrap={c.name: cfg.xdc_bootstrap(c, self.plan) for c in self.topology.clusters},
            toxiproxy_api=f"127.0.0.1:{self.plan.toxiproxy_api}",
        )
        self.progress("ready")

    def _start_flows(self) -> None:
        for flow in self.topology.flows:
            self.progress(f"starting MirrorMaker 2 {flow.name}")
            self.flow_start(flow)

    def stop(self) -> None:
        """Stop everything this runtime started. Idempotent; safe on a half-started runtime."""
        if not self._started:
            return
        self._started = False
        if self.supervisor is not None:
            # MM2 first (it would log errors for every broker going away), Toxiproxy last.
            order = [n for n in self.supervisor.children if n.startswith("mm2-")]
            order += [n for n in self.supervisor.children if n not in order and n != "toxiproxy"]
            order.append("toxiproxy")
            # Nothing a drill measured depends on a graceful stop (data is scratch, logs are
            # flushed per line), and brokers of a cluster stopping together wait for each other
            # until killed: a short grace, then SIGKILL.
            self.supervisor.stop_all(timeout=1.0, order=order)
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
        if self.lease is not None:
            self.lease.close()

    # ----- addresses -------------------------------------------------------------------------
    def bootstrap(self, cluster: str, from_site: str | None = None) -> str:
        """Bootstrap servers for a client in `from_site` (default: the cluster's own region)."""
        c = self.topology.cluster(cluster)
        if from_site is not None and from_site in c.azs and c.multi_az:
            return cfg.site_bootstrap(c, self.plan, from_site)
        if from_site is None or from_site == c.region or from_site in c.azs:
            return cfg.client_bootstrap(c, self.plan)
        return cfg.xdc_bootstrap(c, self.plan, self.topology, self._region_of(from_site))

    # ----- reset -----------------------------------------------------------------------------
    def restore_all(self) -> list[str]:
        """Belt and braces after a drill: no toxic, disabled proxy, paused or dead node."""
        done: list[str] = []
        self._reset_links()  # every proxy enabled, no toxic, the baseline WAN again
        for name, nr in self.nodes.items():
            cluster, node_id = nr.cluster.name, nr.node.node_id
            if self.node_state(cluster, node_id) == "paused":
                self.node_resume(cluster, node_id)
                done.append(f"resumed {name}")
            if not self.node_alive(cluster, node_id):
                self.node_start(cluster, node_id)
                done.append(f"restarted {name}")
        return done

    # ----- reuse -----------------------------------------------------------------------------
    def adopt(self, topology: Topology, workdir: Path) -> list[str]:
        """Serve the next drill on this running topology after a verified reset; returns the
        evidence. Raises TopologyError when the reset cannot be proven (the caller then starts
        a fresh topology). The drill's topics and groups must be run-scoped: they are created
        here and must not exist yet."""
        if not self._started:
            raise TopologyError("the topology is not running")
        if reuse_key(topology) != reuse_key(self.topology):
            raise TopologyError("a different topology (clusters, nodes, WAN or Kafka version)")
        evidence = [f"restored: {r}" for r in self.restore_all()]
        for name, nr in self.nodes.items():
            state = self.node_state(nr.cluster.name, nr.node.node_id)
            if state != "running":
                raise TopologyError(f"reset: {name} is {state} after restore")
        evidence.append(f"{len(self.nodes)} nodes running")
        evidence += self._verify_links()
        for cluster in topology.clusters:
            self.wait_healthy(cluster.name, timeout=60)
        evidence.append("every cluster healthy (all nodes registered, an acks=all write)")
        # A MirrorMaker 2 process is kept only if it runs this drill's flow with this drill's
        # settings and its heartbeats still cross (after a cut, the herder whose group lives
        # across the WAN can hang until restarted); anything else restarts, as on a fresh
        # topology. Its copying of this drill's topics is proven before the first fault.
        wanted = {f.name: f for f in topology.flows}
        kept: list[str] = []
        for f in {f.name: f for f in self.flows()}.values():
            same = (
                f.name in wanted
                and self.flow_state(f) == "running"
                and self._flow_props.get(f.name) == self._render_mm2(topology, wanted[f.name])
            )
            if not same:
                why = "not this drill's flow, not running, or other settings"
            else:
                age = self._heartbeat_age(f)
                if age is not None and age < HEARTBEAT_FRESH_S:
                    kept.append(f.name)
                    evidence.append(f"kept MirrorMaker 2 {f.name}: same settings, heartbeats fresh")
                    continue
                why = f"heartbeats {'unreadable' if age is None else f'{age:.0f} s old'}"
            if self.flow_alive(f):
                # Killed, not stopped: its successor joins a new Connect group (generation),
                # so nothing waits for this one to leave.
                self.flow_kill(f)
            self.flows_running.pop(f.name, None)
            evidence.append(f"stopped MirrorMaker 2 {f.name} ({why})")
        self.topology = topology
        self.workdir = Path(workdir)
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        for cluster in topology.clusters:
            self._create_topics(cluster)
        # The backup (if any) covers this drill's topics into this drill's run directory; the
        # registries (if any) replay this drill's journal.
        self.backup_stop()
        if topology.backup is not None:
            evidence.append(self.backup_start() or "")
        self.registries_stop()
        evidence += self.registries_start()
        restart = [f for f in topology.flows if f.name not in kept]
        if restart:
            self._generation += 1
        for f in restart:
            self.flow_start(f)
            evidence.append(
                f"started MirrorMaker 2 {f.name} for this drill (Connect generation "
                f"{self._generation})"
            )
        return evidence

    # ----- probes ----------------------------------------------------------------------------
    def kafka_version(self) -> str | None:
        return self.kafka.version if self.kafka is not None else None

    # ----- description -----------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What is running and how it is configured (for environment.json and `status`)."""
        assert self.kafka is not None
        out: dict[str, Any] = {
            "runtime": "local",
            "kafka_version": self.kafka.version,
            "kafka_source": self.kafka.source,
            "toxiproxy_api": f"127.0.0.1:{self.plan.toxiproxy_api}",
            "jvm_class_data_sharing": self.cds_note,
            "bootstrap": {c.name: self.bootstrap(c.name) for c in self.topology.clusters},
            "xdc_bootstrap": {
                c.name: cfg.xdc_bootstrap(c, self.plan) for c in self.topology.clusters
            },
            "nodes": {},
            "mm2": {},
            "proxies": [s.__dict__ for s in self.proxies.values()],
            "wan": describe_wan(self.topology.wan),
            "wan_in_force": list(self.wan_in_force),
        }
        for name, nr in self.nodes.items():
            out["nodes"][name] = {
                "site": nr.node.site,
                "server.properties": (nr.dir / "server.properties").read_text(),
            }
        for fname in self.flows_running:
            if fname in self._flow_props:
                out["mm2"][fname] = self._flow_props[fname]
        out["topics"] = {c.name: self.topic_configs(c.name) for c in self.topology.clusters}
        return out

    def topic_configs(self, cluster: str) -> dict[str, Any]:
        """Partitions, replicas and every non-default config of each user topic in force."""
        from confluent_kafka.admin import ConfigResource

        try:
            admin = self._admin(cluster)
            md = admin.list_topics(timeout=10)
            names = sorted(t for t in md.topics if not t.startswith("__"))
            out: dict[str, Any] = {
                t: {
                    "partitions": len(md.topics[t].partitions),
                    "replicas": {
                        str(p): list(pm.replicas) for p, pm in md.topics[t].partitions.items()
                    },
                }
                for t in names
            }
            resources = [ConfigResource(ConfigResource.Type.TOPIC, t) for t in names]
            for res, fut in admin.describe_configs(resources).items() if resources else []:
                entries = fut.result(timeout=10)
                out[res.name]["config"] = {
                    k: e.value for k, e in entries.items() if not e.is_default
                }
            return out
        except Exception as exc:  # a cluster that is down at that moment: say so, don't fail
            return {"error": f"could not describe topics: {exc}"}


def host() -> str:
    return socket.gethostname()


def state_files() -> list[dict[str, Any]]:
    """Descriptions of every topology recorded on this machine (for `kafkadrill status`)."""
    out = []
    for state in sorted(state_root().glob("*.json")):
        try:
            data = json.loads(state.read_text())
        except (OSError, ValueError):
            continue
        data["state_file"] = str(state)
        data["runner_alive"] = runner_alive(state)
        out.append(data)
    return out
