"""The `local` runtime: a whole topology as processes on this machine.

Brings up every KRaft node, Toxiproxy with one proxy per cross-site path (and per broker pair
inside multi-AZ clusters), and one dedicated MirrorMaker 2 process per flow; waits until each
cluster is really healthy and MM2 really replicates; offers node/MM2 operations for faults; and
guarantees that nothing it started outlives it (see processes.py).
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from kafkadrill.errors import TopologyError
from kafkadrill.faults.probe import kafka_ping
from kafkadrill.runtimes.base import (
    Cap,
    LinkEffect,
    NodeState,
    RuntimePowers,
    register_runtime,
)
from kafkadrill.runtimes.shared import config as cfg
from kafkadrill.runtimes.shared.health import (
    QUIET,
    newest_record_age,
    wait_cluster_healthy,
)
from kafkadrill.runtimes.shared.lifecycle import RuntimeLifecycle
from kafkadrill.runtimes.shared.ports import NodePorts, PortLease, allocate
from kafkadrill.runtimes.shared.processes import Supervisor, kill_from_state, runner_alive
from kafkadrill.runtimes.shared.provision import (
    KafkaDist,
    cache_dir,
    ensure_kafka,
    ensure_toxiproxy,
)
from kafkadrill.runtimes.shared.replication import wait_mm2_replicating
from kafkadrill.runtimes.shared.toxiproxy import ProxySpec, ToxiproxyClient, partition_streams
from kafkadrill.runtimes.shared.wan import PREFIX, apply_wan, describe_wan
from kafkadrill.topology import Cluster, Flow, Node, Topology, reuse_key
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


def new_cluster_id() -> str:
    """URL-safe base64 of 16 random bytes, never starting with '-' (like Kafka's own
    Uuid.randomUuid): the storage tool would read such an id as an option."""
    while True:
        cid = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _process_state(pid: int) -> NodeState:
    try:
        status = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return "down"
    if status == psutil.STATUS_ZOMBIE:
        return "down"
    return "paused" if status == psutil.STATUS_STOPPED else "running"


@dataclass
class NodeRuntime:
    cluster: Cluster
    node: Node
    ports: NodePorts
    dir: Path  # config + hosts file
    data_dir: Path
    log_dir: Path

    @property
    def name(self) -> str:
        return f"{self.cluster.name}-n{self.node.node_id}"


@register_runtime(
    "local",
    Cap.ALL,
    "processes on this machine: KRaft nodes, MM2, Toxiproxy",
    # run_drill proves replication before faults (overlaps warmup)
    powers=RuntimePowers(defers_flow_wait=True),
)
class LocalRuntime(RuntimeLifecycle):
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
        self.clients = ConfluentClients()
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

    def _link_proxies(self, site_a: str, site_b: str) -> list[ProxySpec]:
        """Every proxy carrying bytes between two sites (regions or AZs)."""
        pair = {site_a, site_b}
        out = []
        for spec in self.proxies.values():
            if {self._region_of(spec.client_site), self._region_of(spec.server_site)} == pair or {
                spec.client_site,
                spec.server_site,
            } == pair:
                out.append(spec)
        return out

    def _region_of(self, site: str) -> str:
        for c in self.topology.clusters:
            if site == c.region or site in c.azs:
                return c.region
        return site

    # ----- links -----------------------------------------------------------------------------
    def _tp(self) -> ToxiproxyClient:
        if self.toxiproxy is None:
            raise TopologyError("topology is not started")
        return self.toxiproxy

    def _apply(
        self,
        kind: str,
        targets: list[tuple[ProxySpec, list[str]]],
        attributes: dict[str, Any],
        disable: bool,
        what: str,
    ) -> LinkEffect:
        """Disable whole proxies (`disable`) or add one toxic per (proxy, stream)."""
        tp = self._tp()
        toxics: list[tuple[str, str]] = []
        disabled: list[str] = []
        name = f"kd-{uuid.uuid4().hex[:8]}"
        for proxy, streams in targets:
            if disable:
                tp.set_enabled(proxy.name, False)
                disabled.append(proxy.name)
                continue
            for stream in streams:
                tname = f"{name}-{stream}"
                toxic = "timeout" if kind == "cut" else kind
                tp.add_toxic(proxy.name, tname, toxic, stream, attributes)
                toxics.append((proxy.name, tname))
        done = (
            f"disabled {len(disabled)} proxies"
            if disable
            else f"{kind} {attributes} on {len(toxics)} proxy stream(s) of {len(targets)} proxies"
        )
        return LinkEffect(
            kind=kind,
            paths=tuple(p.name for p, s in targets if s or disable),
            probes=tuple(sorted({p.listen for p, s in targets if s or disable})),
            detail=f"{done} ({what})",
            handle=(tuple(toxics), tuple(disabled)),
        )

    def _link_targets(self, a: str, b: str, direction: str) -> list[tuple[ProxySpec, list[str]]]:
        out = []
        for p in self._link_proxies(a, b):
            if direction == "both":
                out.append((p, ["upstream", "downstream"]))
                continue
            src, _, dst = direction.partition("->")
            stream = p.stream_for(src.strip(), dst.strip())
            out.append((p, [stream] if stream else []))
        return out

    def link_cut(self, a: str, b: str, direction: str = "both") -> LinkEffect:
        targets = self._link_targets(a, b, direction)
        # Both directions: disabling a proxy drops its connections and refuses new ones.
        # One direction: a timeout-0 toxic holds every byte that way and never closes.
        return self._apply(
            "cut", targets, {"timeout": 0}, direction == "both", f"link {a}<->{b}, {direction}"
        )

    def link_toxic(
        self, a: str, b: str, direction: str, toxic: str, attributes: dict[str, Any]
    ) -> LinkEffect:
        targets = self._link_targets(a, b, direction)
        return self._apply(toxic, targets, attributes, False, f"link {a}<->{b}, {direction}")

    def az_partition(self, cluster: str, az: str, direction: str, cut_clients: bool) -> LinkEffect:
        """Cut the broker-to-broker and controller paths between one AZ and the rest (and, if
        `cut_clients`, the client paths to the isolated brokers)."""
        targets: list[tuple[ProxySpec, list[str]]] = []
        azs = set(self.topology.cluster(cluster).azs)
        for p in self.proxies.values():
            # A client in a site of this cluster: its paths cross the partition like the
            # brokers' own (below), when clients are cut too.
            site_client = p.name.startswith(f"client-{cluster}-") and p.client_site in azs
            if cut_clients and p.name.startswith(f"client-{cluster}-") and not site_client:
                if p.server_site != az:
                    continue
                # The shared clients sit outside every AZ: requests enter it, replies leave.
                targets.append((p, partition_streams(direction, inside_client=False)))
                continue
            if not (p.name.startswith(f"mesh-{cluster}-") or (cut_clients and site_client)):
                continue
            inside_client, inside_server = p.client_site == az, p.server_site == az
            if inside_client == inside_server:
                continue
            targets.append((p, partition_streams(direction, inside_client)))
        effect = self._apply(
            "cut", targets, {"timeout": 0}, direction == "both", f"AZ {az} of {cluster}"
        )
        clients = sum(1 for p, _ in targets if p.name.startswith("client-"))
        return LinkEffect(
            effect.kind,
            effect.paths,
            effect.probes,
            f"{effect.detail}: {len(targets) - clients} broker-to-broker and {clients} client "
            f"paths between {az} and the rest of {cluster}",
            effect.handle,
        )

    def link_in_force(self, effect: LinkEffect) -> tuple[bool, str]:
        tp = self._tp()
        toxics, disabled = effect.handle
        missing = [f"{p}/{n}" for p, n in toxics if n not in {t["name"] for t in tp.toxics(p)}]
        enabled = [p for p in disabled if tp.enabled(p)]
        total = len(toxics) + len(disabled)
        if not total:
            return False, "no path carries this link/direction"
        ok = not missing and not enabled
        return ok, (
            f"{total - len(missing) - len(enabled)}/{total} paths affected"
            + (f"; missing toxics {missing}" if missing else "")
            + (f"; still enabled {enabled}" if enabled else "")
        )

    def link_restore(self, effect: LinkEffect) -> str:
        tp = self._tp()
        toxics, disabled = effect.handle
        for proxy, name in toxics:
            tp.remove_toxic(proxy, name)
        for proxy in disabled:
            tp.set_enabled(proxy, True)
        return f"removed {len(toxics)} toxic(s), re-enabled {len(disabled)} proxies"

    def restore_all(self) -> list[str]:
        """Belt and braces after a drill: no toxic, disabled proxy, paused or dead node."""
        done: list[str] = []
        if self.toxiproxy is not None:
            self.toxiproxy.reset()
            self._apply_wan()  # the baseline WAN is part of the topology, not a fault
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

    def _render_mm2(self, topology: Topology, flow: Flow) -> str:
        region = topology.cluster(flow.target).region
        return cfg.render_mm2_properties(topology, (flow,), self.plan, region, self._generation)

    def _heartbeat_age(self, flow: Flow) -> float | None:
        """Age of the newest heartbeat copied to the flow's target (None: none readable)."""
        conf = {
            "bootstrap.servers": self.bootstrap(flow.target),
            "group.id": f"kd-probe-{uuid.uuid4()}",
            "enable.auto.commit": False,
            **QUIET,
        }
        return newest_record_age(conf, flow.remote_topic("heartbeats"))

    def _verify_links(self) -> list[str]:
        """Every proxy enabled and carrying only the baseline WAN's toxics."""
        tp = self._tp()
        proxies = tp.proxies()
        for name in self.proxies:
            info = proxies.get(name)
            if info is None or not info.get("enabled"):
                raise TopologyError(f"reset: proxy {name} is missing or disabled")
            extra = [t["name"] for t in info.get("toxics", []) if not t["name"].startswith(PREFIX)]
            if extra:
                raise TopologyError(f"reset: proxy {name} still has toxics {extra}")
        return [f"{len(self.proxies)} proxies enabled, no toxic beyond the baseline WAN"]

    # ----- toxiproxy -------------------------------------------------------------------------
    def _apply_wan(self) -> None:
        self.wan_in_force = apply_wan(
            self._tp(), self.topology.wan, lambda a, b: self._link_targets(a, b, "both")
        )

    def _start_toxiproxy(self) -> None:
        assert self.supervisor is not None and self.toxiproxy_bin is not None
        api = self.plan.toxiproxy_api
        self.supervisor.spawn(
            "toxiproxy",
            [str(self.toxiproxy_bin), "-host", "127.0.0.1", "-port", str(api)],
            self.workdir / "logs" / "toxiproxy" / "stdout.log",
        )
        self.toxiproxy = ToxiproxyClient(f"127.0.0.1:{api}")
        deadline = time.monotonic() + 15
        while not self.toxiproxy.ping():
            if not self.supervisor.children["toxiproxy"].alive():
                raise TopologyError("Toxiproxy exited at start; see logs/toxiproxy/stdout.log")
            if time.monotonic() > deadline:
                raise TopologyError("Toxiproxy API did not answer within 15 s")
            time.sleep(0.05)

    def _add_proxy(self, spec: ProxySpec) -> None:
        assert self.toxiproxy is not None
        self.toxiproxy.create(spec)
        self.proxies[spec.name] = spec

    def _create_proxies(self) -> None:
        assert self.toxiproxy is not None
        for c in self.topology.clusters:
            # One proxy per node and remote region: each region's clients cross their own link.
            remote = cfg.remote_regions(self.topology, c) or ("remote",)
            for index, region in enumerate(remote):
                for n in c.nodes:
                    p = self.plan.node(c.name, n.node_id)
                    spec = ProxySpec(
                        f"xdc-{c.name}-n{n.node_id}" + (f"-{region}" if index else ""),
                        f"127.0.0.1:{cfg.xdc_proxy_port(self.plan, c, n.node_id, index)}",
                        f"127.0.0.1:{p.xdc2 if index else p.xdc}",
                        client_site=region,
                        server_site=c.region,
                    )
                    self._add_proxy(spec)
            if not c.multi_az:
                continue
            for n in c.nodes:
                # Same-region clients reach each node of a multi-AZ cluster through a proxy.
                port = self.plan.node(c.name, n.node_id).client
                spec = ProxySpec(
                    f"client-{c.name}-n{n.node_id}",
                    f"{cfg.client_host(c, n.node_id)}:{port}",
                    f"127.0.0.1:{port}",
                    client_site="clients",
                    server_site=n.site,
                )
                self._add_proxy(spec)
                # Clients inside a site reach every node through their site's own proxy: the
                # link between their site and the node's (WAN latency, cuts) is on the path.
                for i, site in enumerate(c.azs):
                    port = self.plan.node(c.name, n.node_id).sites[i]
                    spec = ProxySpec(
                        f"client-{c.name}-n{n.node_id}-{site}",
                        f"{cfg.site_host(i, n.node_id)}:{port}",
                        f"127.0.0.1:{port}",
                        client_site=site,
                        server_site=n.site,
                    )
                    self._add_proxy(spec)
            for src in c.nodes:
                for dst in c.nodes:
                    if src.node_id == dst.node_id:
                        continue
                    p = self.plan.node(c.name, dst.node_id)
                    addr = cfg.mesh_address(src.node_id, dst.node_id)
                    for kind, port in (("int", p.internal), ("ctl", p.controller)):
                        spec = ProxySpec(
                            f"mesh-{c.name}-n{src.node_id}-n{dst.node_id}-{kind}",
                            f"{addr}:{port}",
                            f"127.0.0.1:{port}",
                            client_site=src.site,
                            server_site=dst.site,
                        )
                        self._add_proxy(spec)

    # ----- nodes -----------------------------------------------------------------------------
    def _prepare_nodes(self) -> None:
        assert self.kafka is not None and self.scratch is not None
        jobs = []
        for c in self.topology.clusters:
            cluster_id = new_cluster_id()
            for n in c.nodes:
                nr = NodeRuntime(
                    c,
                    n,
                    self.plan.node(c.name, n.node_id),
                    self.workdir / "config" / f"{c.name}-n{n.node_id}",
                    self.scratch / f"{c.name}-n{n.node_id}",
                    self.workdir / "logs" / f"{c.name}-n{n.node_id}",
                )
                nr.dir.mkdir(parents=True, exist_ok=True)
                nr.log_dir.mkdir(parents=True, exist_ok=True)
                (nr.dir / "server.properties").write_text(
                    cfg.render_server_properties(self.topology, c, n, self.plan, str(nr.data_dir))
                )
                (nr.dir / "hosts").write_text(cfg.render_hosts_file(c, n, mesh=c.multi_az))
                log2, log1 = cfg.render_log_configs(str(nr.log_dir / "server.log"))
                (nr.dir / "log4j2.properties").write_text(log2)
                (nr.dir / "log4j.properties").write_text(log1)
                self.nodes[nr.name] = nr
                jobs.append((nr, cluster_id))

        # What `kafka-storage format` writes, without one JVM per node: the bootstrap
        # checkpoint (metadata.version and feature levels) depends only on the Kafka version,
        # so it is made once per version and copied; meta.properties is per node.
        checkpoint = self._bootstrap_checkpoint()
        for nr, cluster_id in jobs:
            nr.data_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(checkpoint, nr.data_dir / "bootstrap.checkpoint")
            (nr.data_dir / "meta.properties").write_text(
                "#\n#written by kafkadrill as kafka-storage format would\n"
                f"node.id={nr.node.node_id}\ndirectory.id={new_cluster_id()}\n"
                f"version=1\ncluster.id={cluster_id}\n"
            )

    def _bootstrap_checkpoint(self) -> Path:
        """bootstrap.checkpoint of this Kafka version, made once with the storage tool."""
        assert self.kafka is not None
        target = cache_dir() / "bootstrap" / f"{self.kafka.version}-{self.kafka.source}"
        checkpoint = target / "bootstrap.checkpoint"
        if checkpoint.exists():
            return checkpoint
        tmp = Path(tempfile.mkdtemp(prefix="kafkadrill-format-"))
        try:
            props = tmp / "server.properties"
            props.write_text(
                cfg.render_properties(
                    {
                        "process.roles": "broker,controller",
                        "node.id": 1,
                        "controller.quorum.voters": "1@127.0.0.1:9093",
                        "listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
                        "controller.listener.names": "CONTROLLER",
                        "log.dirs": str(tmp / "data"),
                    }
                )
            )
            cmd = [
                *self._java(64),
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={new_cluster_id()}",
                "--config",
                str(props),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
            made = tmp / "data" / "bootstrap.checkpoint"
            if proc.returncode != 0 or not made.exists():
                raise TopologyError(
                    f"kafka-storage format failed (Kafka {self.kafka.version}):\n"
                    + (proc.stdout + proc.stderr)[-1500:]
                )
            target.mkdir(parents=True, exist_ok=True)
            part = target / f".bootstrap.checkpoint.{os.getpid()}"
            shutil.copyfile(made, part)
            part.replace(checkpoint)  # atomic: concurrent runs never see half a file
            return checkpoint
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _java(
        self,
        heap_mb: int,
        conf_dir: Path | None = None,
        log_dir: Path | None = None,
        hosts: bool = False,
    ) -> list[str]:
        """The JVM command line up to the main class; configs are read from `conf_dir`."""
        assert self.kafka is not None
        cmd = [
            "java",
            f"-Xmx{heap_mb}m",
            "-Xms32m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dkafkadrill.topology={self.plan.base}",
        ]
        if conf_dir is not None:
            cmd += [
                f"-Dlog4j2.configurationFile={conf_dir / 'log4j2.properties'}",
                f"-Dlog4j.configuration=file:{conf_dir / 'log4j.properties'}",
            ]
            if hosts:
                cmd.append(f"-Djdk.net.hosts.file={conf_dir / 'hosts'}")
        if log_dir is not None:
            cmd.append(f"-Dkafka.logs.dir={log_dir}")
        cmd += os.environ.get("KAFKADRILL_JAVA_OPTS", "").split()
        cmd += ["-cp", self.kafka.classpath]
        return cmd

    def _spawn_node(self, nr: NodeRuntime) -> None:
        assert self.supervisor is not None
        cmd = [
            *self._java(self.heap_mb, nr.dir, nr.log_dir, hosts=True),
            "kafka.Kafka",
            str(nr.dir / "server.properties"),
        ]
        self.supervisor.spawn(nr.name, cmd, nr.log_dir / "stdout.log")

    def node_names(self, cluster: str | None = None) -> list[str]:
        return [n for n, nr in self.nodes.items() if cluster is None or nr.cluster.name == cluster]

    def _node(self, cluster: str, node_id: int) -> NodeRuntime:
        name = f"{cluster}-n{node_id}"
        if name not in self.nodes:
            raise TopologyError(f"no node {node_id} in cluster {cluster}")
        return self.nodes[name]

    def _sup(self) -> Supervisor:
        if self.supervisor is None:
            raise TopologyError("topology is not started")
        return self.supervisor

    def _pid(self, cluster: str, node_id: int) -> int:
        return self._sup().children[self._node(cluster, node_id).name].pid

    def node_alive(self, cluster: str, node_id: int) -> bool:
        return self._sup().children[self._node(cluster, node_id).name].alive()

    def node_state(self, cluster: str, node_id: int) -> NodeState:
        return _process_state(self._pid(cluster, node_id))

    def node_kill(self, cluster: str, node_id: int) -> str:
        pid = self._pid(cluster, node_id)
        self._sup().kill(self._node(cluster, node_id).name)
        return f"SIGKILL pid {pid}"

    def node_stop(self, cluster: str, node_id: int, timeout: float = 30.0) -> str:
        pid = self._pid(cluster, node_id)
        self._sup().stop(self._node(cluster, node_id).name, timeout)
        return f"SIGTERM pid {pid}"

    def node_start(self, cluster: str, node_id: int) -> str:
        nr = self._node(cluster, node_id)
        if not self.node_alive(cluster, node_id):
            self._spawn_node(nr)
        return f"pid {self._pid(cluster, node_id)}"

    def node_pause(self, cluster: str, node_id: int) -> str:
        self._sup().signal(self._node(cluster, node_id).name, signal.SIGSTOP)
        return f"SIGSTOP pid {self._pid(cluster, node_id)}"

    def node_resume(self, cluster: str, node_id: int) -> str:
        self._sup().signal(self._node(cluster, node_id).name, signal.SIGCONT)
        return f"SIGCONT pid {self._pid(cluster, node_id)}"

    def ping(self, address: str, timeout: float = 1.0) -> float | None:
        return kafka_ping(address, timeout)

    def kafka_version(self) -> str | None:
        return self.kafka.version if self.kafka is not None else None

    # ----- health ----------------------------------------------------------------------------
    def _admin(self, cluster: str) -> Any:
        from confluent_kafka.admin import AdminClient

        return AdminClient(
            {
                "bootstrap.servers": self.bootstrap(cluster),
                "socket.connection.setup.timeout.ms": 3000,
                **QUIET,
            }
        )

    def wait_healthy(self, cluster: str, timeout: float = 90.0) -> None:
        """All nodes answer and are registered, and a write with acks=all succeeds."""
        wait_cluster_healthy(
            cluster,
            self.topology.cluster(cluster).size,
            self.bootstrap(cluster),
            lambda: self._check_alive(cluster),
            timeout,
        )

    def _check_alive(self, cluster: str) -> None:
        assert self.supervisor is not None
        for name in self.node_names(cluster):
            child = self.supervisor.children.get(name)
            if child is not None and not child.alive():
                log = self.nodes[name].log_dir / "stdout.log"
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                raise TopologyError(
                    f"{name} exited (code {child.popen.returncode}); see {log}\n{tail}"
                )

    def _create_topics(self, cluster: Cluster) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import NewTopic

        if not cluster.topics:
            return
        admin = self._admin(cluster.name)
        new = [
            NewTopic(t.name, t.partitions, t.replication_factor, config=dict(t.config))
            for t in cluster.topics
        ]
        for name, fut in admin.create_topics(new).items():
            try:
                fut.result(timeout=30)
            except KafkaException as exc:
                raise TopologyError(
                    f"cluster {cluster.name}: cannot create topic {name}: {exc}"
                ) from exc

    # ----- MirrorMaker 2 ---------------------------------------------------------------------
    @staticmethod
    def _mm2_name(flow: Flow) -> str:
        return f"mm2-{flow.source}-{flow.target}"

    def flows(self) -> list[Flow]:
        out = list(self.topology.flows)
        out += [f for f in self.flows_running.values() if f not in out]
        return out

    def flow(self, name: Flow | str | None = None) -> Flow:
        if isinstance(name, Flow):
            return name
        for f in self.flows():
            if name is None or f.name == name:
                return f
        raise TopologyError(f"unknown flow {name!r}")

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
        props = self._render_mm2(self.topology, f)
        (d / "mm2.properties").write_text(props)
        self._flow_props[f.name] = props
        log_dir = self.workdir / "logs" / name
        log_dir.mkdir(parents=True, exist_ok=True)
        log2, log1 = cfg.render_log_configs(str(log_dir / "mm2.log"))
        (d / "log4j2.properties").write_text(log2)
        (d / "log4j.properties").write_text(log1)
        cmd = [
            *self._java(self.mm2_heap_mb, d, log_dir),
            "org.apache.kafka.connect.mirror.MirrorMaker",
            str(d / "mm2.properties"),
            *cfg.mm2_args(self.topology, f),
        ]
        child = sup.spawn(name, cmd, log_dir / "stdout.log")
        self.flows_running[f.name] = f
        return f"started MirrorMaker 2 {f.name} (pid {child.pid})"

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
        return "down" if child is None else _process_state(child.pid)

    def flow_describe(self, flow: Flow | str | None = None) -> dict[str, Any]:
        f = self.flow(flow)
        name = self._mm2_name(f)
        child = self._sup().children.get(name)
        return {
            "flow": f.name,
            "engine": "mirrormaker2",
            "process": name,
            "pid": child.pid if child is not None else None,
            "alive": self.flow_alive(f),
            "properties": self._flow_props.get(f.name),
        }

    def wait_replicating(self, flow: Flow | str | None = None, timeout: float = 120.0) -> float:
        """Write a marker on the source and wait until MM2 has copied it; returns the seconds."""
        f = self.flow(flow)

        def check_alive() -> None:
            if not self.flow_alive(f):
                log = self.workdir / "logs" / self._mm2_name(f) / "stdout.log"
                raise TopologyError(f"MirrorMaker 2 {f.name} exited; see {log}")

        return wait_mm2_replicating(
            f, self.bootstrap(f.source), self.bootstrap(f.target), check_alive, timeout
        )

    # ----- description -----------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What is running and how it is configured (for environment.json and `status`)."""
        assert self.kafka is not None
        out: dict[str, Any] = {
            "runtime": "local",
            "kafka_version": self.kafka.version,
            "kafka_source": self.kafka.source,
            "toxiproxy_api": f"127.0.0.1:{self.plan.toxiproxy_api}",
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
