"""The `compose` runtime: a topology as Docker Compose containers on a real Docker engine.

The project comes from compose_render.py (pure); testcontainers-python's `DockerCompose` runs
`docker compose up` / `down --volumes`; single containers are driven with the `docker` CLI
(kill, stop, pause, start, network disconnect), which testcontainers does not cover.

What a fault does here (compare the local runtime, where nodes are processes):
- node.kill = `docker kill` (SIGKILL to the container's init, the JVM); node.stop = `docker
  stop` (SIGTERM, then SIGKILL); node.pause = `docker pause` (cgroup freezer); node.start =
  `docker start` (same container, same volume: the node comes back with its data).
- link faults act on the Toxiproxy container's API (published on 127.0.0.1), on the same
  per-broker proxies that every cross-region byte crosses.
- az.partition disconnects the AZ's nodes from their region's network: they keep only their
  AZ's network, so they still see each other but nothing else (a real cut, not a pause). In a
  cluster with a baseline WAN between its AZs (a stretch cluster) every inter-AZ path crosses a
  proxy already (compose_render.az_proxies), so the cut is a black hole on those proxies, as
  the local runtime does it, and may be one way.

Split by job: docker.py (the docker CLI, leftovers of dead runners), links.py (link faults and
AZ partitions); this module holds the lifecycle, containers, nodes, flows, health and the
description.

Cleanup: every container, network and volume carries the run id and the runner's pid and
start time as labels. `stop()` runs `down --volumes`; when a runner dies without it (SIGKILL),
the run's reaper (reaper.py, a watcher outside the runner's session) removes them within
seconds, and the next start or `kafkadrill down` removes whatever a dead reaper left.
"""

from __future__ import annotations

import atexit
import contextlib
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.base import Cap, NodeState, find_flow, register_runtime
from kafkadrill.runtimes.compose import render as cr
from kafkadrill.runtimes.compose.docker import cleanup_stale, docker_available, docker_cli
from kafkadrill.runtimes.compose.docker import running_projects as running_projects  # re-export
from kafkadrill.runtimes.compose.links import ComposeLinks
from kafkadrill.runtimes.compose.reaper import Reaper, start_reaper
from kafkadrill.runtimes.shared.admin import StartedClusters
from kafkadrill.runtimes.shared.connect import ConnectorOps, ConnectRest
from kafkadrill.runtimes.shared.lifecycle import RuntimeLifecycle
from kafkadrill.runtimes.shared.ports import PortLease, allocate
from kafkadrill.runtimes.shared.provision import DEFAULT_KAFKA_VERSION
from kafkadrill.runtimes.shared.replication import wait_mm2_replicating
from kafkadrill.runtimes.shared.toxiproxy import ProxySpec, ToxiproxyClient
from kafkadrill.runtimes.shared.wan import describe_wan
from kafkadrill.topology import Flow, Topology

Progress = Callable[[str], None]

CAPABILITIES = frozenset(
    {
        Cap.NODE_KILL,
        Cap.NODE_STOP,
        Cap.NODE_PAUSE,
        Cap.NODE_START,
        Cap.FLOW_KILL,
        Cap.FLOW_STOP,
        Cap.FLOW_START,
        Cap.LINK_CUT,
        Cap.LINK_TOXIC,
        Cap.AZ_PARTITION,
        # Admin requests from the host through the published HOST listeners (metadata faults,
        # the fence's ACLs, the failback's topic rewrites, a shortened retention).
        Cap.TOPIC_ADMIN,
        Cap.ACL,
        Cap.TOPIC_REWRITE,
        Cap.TOPIC_RETENTION,
        Cap.MM2_STATE,
        # mm2_mode: connect flows publish their worker's REST API on 127.0.0.1.
        Cap.FLOW_CONNECTOR,
    }
)


# ----- the runtime ----------------------------------------------------------------------------


@register_runtime(
    "compose",
    CAPABILITIES,
    "Docker Compose containers: KRaft nodes, MM2 and Toxiproxy with one network per site",
)
class ComposeRuntime(ComposeLinks, ConnectorOps, StartedClusters, RuntimeLifecycle):
    """Context manager: `with ComposeRuntime(topology, run_dir) as rt: ...`."""

    kind = "compose"
    capabilities = CAPABILITIES

    def __init__(
        self,
        topology: Topology,
        workdir: Path,
        *,
        progress: Progress | None = None,
        kafka_image: str | None = None,
        toxiproxy_image: str | None = None,
        heap_mb: int = 256,
        mm2_heap_mb: int = 256,
        start_flows: bool = True,
        **_options: Any,
    ) -> None:
        self.topology = topology
        self.workdir = Path(workdir)
        self.progress: Progress = progress or (lambda _msg: None)
        self.kafka_image = kafka_image
        self.toxiproxy_image = toxiproxy_image
        self.heap_mb = heap_mb
        self.mm2_heap_mb = mm2_heap_mb
        self.start_flows = start_flows
        self.timings: dict[str, float] = {}
        # Compose project names allow lowercase letters, digits, '-' and '_' only.
        safe = re.sub(r"[^a-z0-9_-]+", "-", topology.name.lower()).strip("-_")[:40] or "topology"
        self.run_id = f"{safe}-{uuid.uuid4().hex[:8]}"
        self.project = f"kd-{self.run_id}"
        self.lease: PortLease | None = None
        self.toxiproxy: ToxiproxyClient | None = None
        self.proxies: dict[str, ProxySpec] = {}
        self.wan_in_force: list[str] = []
        self.extra_flows: list[Flow] = []  # flows started later (e.g. a failback's reverse)
        # Flows that have an MM2 service in the project.
        self.rendered_flows: list[Flow] = list(topology.flows) if start_flows else []
        self.opts: cr.ComposeOptions | None = None
        self._compose: Any = None
        self._started = False
        self._cuts: dict[str, list[tuple[str, str, str]]] = {}  # effect id -> disconnections
        self._lock = threading.Lock()
        self._clients: Any = None
        self._reaper: Reaper | None = None

    @property
    def clients(self) -> Any:
        """Workload clients (confluent-kafka), as the local runtime hands out."""
        if self._clients is None:
            from kafkadrill.workload.access import ConfluentClients

            self._clients = ConfluentClients()
        return self._clients

    # ----- lifecycle -------------------------------------------------------------------------
    @property
    def compose_dir(self) -> Path:
        return self.workdir / "compose"

    @property
    def compose_file(self) -> Path:
        return self.compose_dir / "docker-compose.yml"

    def _render(self) -> None:
        assert self.opts is not None
        opts = cr.ComposeOptions(**{**self.opts.__dict__, "flows": tuple(self.rendered_flows)})
        self.compose_dir.mkdir(parents=True, exist_ok=True)
        header = f"# kafkadrill compose runtime, run {self.run_id} (rendered; do not edit)\n"
        self.compose_file.write_text(cr.to_yaml(cr.render(self.topology, opts), header))

    def start(self) -> None:
        from testcontainers.compose import DockerCompose

        from kafkadrill.runtimes.compose.images import image_exists, resolve_images

        t0 = time.monotonic()
        why = docker_available()
        if why is not None:
            raise TopologyError(f"compose runtime: {why} (as root: bash .ci/docker-setup.sh)")
        self._check_regions()
        self._check_wan()
        removed = cleanup_stale()
        if removed:
            self.progress(f"removed {len(removed)} leftovers of dead runners")
        images = resolve_images(self.kafka_version(), self.kafka_image, self.toxiproxy_image)
        for image in (images.kafka, images.toxiproxy):
            if not image_exists(image):
                self.progress(f"image {image} is not here; docker compose will try to pull it")
        self.lease = allocate(self.topology)
        me = psutil.Process()
        self.opts = cr.ComposeOptions(
            project=self.project,
            run_id=self.run_id,
            kafka_image=images.kafka,
            toxiproxy_image=images.toxiproxy,
            host_base=self.lease.plan.base,
            runner_pid=me.pid,
            runner_start=me.create_time(),
            heap_mb=self.heap_mb,
            mm2_heap_mb=self.mm2_heap_mb,
        )
        self._started = True
        atexit.register(self.stop)
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        self._render()
        # Before anything exists: if this runner is killed from here on, the reaper removes it.
        self._reaper = start_reaper(
            self.run_id, self.compose_file, self.workdir / "logs" / "reaper.log"
        )
        base = self.lease.plan.base
        for p in cr.proxies(self.topology, base):
            spec = ProxySpec(
                p.name, f"127.0.0.1:{p.host_port}", p.upstream, p.client_site, p.server_site
            )
            self.proxies[spec.name] = spec
        _ports, api = cr.host_ports(self.topology, base)
        # Disabling a proxy closes its connections; on a loaded machine that took seconds.
        self.toxiproxy = ToxiproxyClient(f"127.0.0.1:{api}", timeout=30.0)

        self.progress(f"docker compose up ({images.kafka}, {images.toxiproxy})")
        self._compose = DockerCompose(
            str(self.compose_dir), compose_file_name="docker-compose.yml", wait=False
        )
        try:
            self._compose.start()
        except subprocess.CalledProcessError as exc:
            err = (exc.stderr or b"").decode(errors="replace")[-1500:]
            hint = (
                " (no registry here? build images with `kafkadrill images`)"
                if "pull" in err
                else ""
            )
            raise TopologyError(f"docker compose up failed{hint}: {err}") from exc
        self.timings["containers_started_s"] = time.monotonic() - t0
        deadline = time.monotonic() + 15
        while not self.toxiproxy.ping():
            if time.monotonic() > deadline:
                raise TopologyError("the Toxiproxy container's API did not answer within 15 s")
            time.sleep(0.1)
        self._create_az_proxies()
        self._apply_wan()
        for cluster in self.topology.clusters:
            self.progress(f"waiting for cluster {cluster.name} to be healthy")
            self.wait_healthy(cluster.name)
        self.timings["clusters_healthy_s"] = time.monotonic() - t0
        for cluster in self.topology.clusters:
            self._create_topics(cluster)
        if self.start_flows:
            for flow in self.topology.flows:
                self._put_connectors(flow)
                self.progress(f"waiting for MirrorMaker 2 {flow.name} to replicate")
                self.wait_replicating(flow)
        self.timings["ready_s"] = time.monotonic() - t0
        self.progress("ready")

    def _check_regions(self) -> None:
        """Cross-region proxies are one per node and listener, shared by every other region
        (compose_render.proxies): with three regions a link's WAN or cut would reach only
        some of its paths, so such a topology is refused rather than drilled wrongly."""
        regions = self.topology.regions
        if len(regions) > 2:
            raise TopologyError(
                f"compose runtime: {len(regions)} regions ({', '.join(regions)}) in "
                "topology.clusters; its cross-region proxies cannot tell more than two regions' "
                "links apart. Use --runtime local (a listener per remote region) or place the "
                "clusters in at most two regions"
            )

    def _check_wan(self) -> None:
        """A WAN inside a region is carried only between the AZs of one multi-AZ cluster (its
        node paths then cross per-AZ proxies); anything else would be silently ignored."""
        for w in self.topology.wan:
            if self._region_of(w.a) != self._region_of(w.b):
                continue
            owner = next(
                (c for c in self.topology.clusters if {w.a, w.b} <= set(c.azs) and c.multi_az),
                None,
            )
            if owner is None:
                raise TopologyError(
                    f"compose runtime: topology.wan link {w.name} joins two sites of one region "
                    "that are not AZs of one multi-AZ cluster; nothing would carry it. Set the "
                    "WAN between regions or between a cluster's azs, or use --runtime local"
                )
            for f in self.topology.flows:
                self._check_flow_target(f)

    def _check_flow_target(self, flow: Flow) -> None:
        """MM2 runs in its target's region and writes to the target over the region network,
        which an AZ-WAN cluster's nodes are not on (only Toxiproxy spans their AZs). Reading
        such a cluster from another region works: that crosses the XDC proxies."""
        target = self.topology.cluster(flow.target)
        if cr.az_wan(self.topology, target):
            raise TopologyError(
                f"compose runtime: MirrorMaker 2 flow {flow.name} writes to {target.name}, "
                f"whose AZs are joined by a baseline WAN (topology.wan): not supported on "
                "compose; drop the WAN between its azs or use --runtime local"
            )

    def collect_logs(self) -> None:
        """Every container's output into logs/<service>/stdout.log of the run directory."""
        for svc, name in self._containers().items():
            out = subprocess.run(
                ["docker", "logs", "--timestamps", name],
                capture_output=True,
                timeout=60,
                check=False,
            )
            d = self.workdir / "logs" / svc
            d.mkdir(parents=True, exist_ok=True)
            (d / "stdout.log").write_bytes(out.stdout + out.stderr)

    def stop(self) -> None:
        """Logs into the run directory, then `down --volumes`. Idempotent."""
        with self._lock:
            if not self._started:
                return
            self._started = False
        try:
            # Logs are evidence, not a reason to leave containers behind.
            with contextlib.suppress(OSError, subprocess.SubprocessError, TopologyError):
                self.collect_logs()
            # Containers are disposable: SIGKILL first makes `down` take a second, not 20.
            docker_cli("compose", "-f", str(self.compose_file), "kill", check=False, timeout=120)
            if self._compose is not None:
                with contextlib.suppress(subprocess.CalledProcessError):
                    self._compose.stop(down=True)
            # Anything compose did not remove (a container added outside it, a half-made
            # network) goes by label.
            self._remove_labelled()
            # Only a stop that got this far releases the reaper; otherwise it sweeps too.
            if self._reaper is not None:
                self._reaper.release()
        finally:
            if self.lease is not None:
                self.lease.close()

    def _remove_labelled(self) -> None:
        label = f"label={cr.LABEL_RUN}={self.run_id}"
        ids = docker_cli("ps", "-aq", "--filter", label, check=False).split()
        if ids:
            docker_cli("rm", "-f", "-v", *ids, check=False, timeout=300)
        for kind in ("network", "volume"):
            ids = docker_cli(kind, "ls", "-q", "--filter", label, check=False).split()
            if ids:
                docker_cli(kind, "rm", *ids, check=False)

    # ----- containers ------------------------------------------------------------------------
    def _container(self, service: str) -> str:
        return f"{self.project}-{service}-1"

    def _containers(self) -> dict[str, str]:
        out = docker_cli(
            "ps",
            "-a",
            "--filter",
            f"label={cr.LABEL_RUN}={self.run_id}",
            "--format",
            '{{.Names}}\t{{.Label "com.docker.compose.service"}}',
            check=False,
        )
        rows = [line.split("\t") for line in out.splitlines() if "\t" in line]
        return {svc: name for name, svc in rows}

    def _state(self, service: str) -> NodeState:
        out = docker_cli(
            "inspect", "-f", "{{.State.Status}}", self._container(service), check=False
        ).strip()
        if out == "paused":
            return "paused"
        return "running" if out in ("running", "restarting") else "down"

    def _node_service(self, cluster: str, node_id: int) -> str:
        c = self.topology.cluster(cluster)
        if node_id not in {n.node_id for n in c.nodes}:
            raise TopologyError(f"no node {node_id} in cluster {cluster}")
        return cr.node_service(cluster, node_id)

    # ----- addresses -------------------------------------------------------------------------
    def _base(self) -> int:
        if self.lease is None:
            raise TopologyError("topology is not started")
        return self.lease.plan.base

    def bootstrap(self, cluster: str, from_site: str | None = None) -> str:
        """Host-side bootstrap: the HOST listeners for a client in the cluster's region, the
        HOSTX proxies (across the link) for a client in another region."""
        c = self.topology.cluster(cluster)
        remote = not (from_site is None or from_site == c.region or from_site in c.azs)
        return cr.host_bootstrap(self.topology, c, self._base(), remote=remote)

    def kafka_version(self) -> str | None:
        return self.topology.kafka_version or DEFAULT_KAFKA_VERSION

    # ----- nodes -----------------------------------------------------------------------------
    def node_state(self, cluster: str, node_id: int) -> NodeState:
        return self._state(self._node_service(cluster, node_id))

    def node_alive(self, cluster: str, node_id: int) -> bool:
        return self.node_state(cluster, node_id) != "down"

    def node_kill(self, cluster: str, node_id: int) -> str:
        name = self._container(self._node_service(cluster, node_id))
        if self.node_state(cluster, node_id) == "paused":
            docker_cli("unpause", name, check=False)  # a frozen cgroup cannot take the signal
        docker_cli("kill", "--signal", "KILL", name, check=False)
        return f"docker kill -s KILL {name}"

    def node_stop(self, cluster: str, node_id: int, timeout: float = 30.0) -> str:
        name = self._container(self._node_service(cluster, node_id))
        if self.node_state(cluster, node_id) == "paused":
            docker_cli("unpause", name, check=False)
        docker_cli("stop", "-t", str(int(timeout)), name, timeout=timeout + 30)
        return f"docker stop {name} (SIGTERM, SIGKILL after {timeout:.0f}s)"

    def node_pause(self, cluster: str, node_id: int) -> str:
        name = self._container(self._node_service(cluster, node_id))
        docker_cli("pause", name)
        return f"docker pause {name} (cgroup freezer)"

    def node_resume(self, cluster: str, node_id: int) -> str:
        name = self._container(self._node_service(cluster, node_id))
        if self.node_state(cluster, node_id) == "paused":
            docker_cli("unpause", name)
        return f"docker unpause {name}"

    def node_start(self, cluster: str, node_id: int) -> str:
        name = self._container(self._node_service(cluster, node_id))
        state = self.node_state(cluster, node_id)
        if state == "paused":
            docker_cli("unpause", name)
        elif state == "down":
            docker_cli("start", name)
        return f"docker start {name} (same volume: the node keeps its data)"

    # ----- flows -----------------------------------------------------------------------------
    def flows(self) -> list[Flow]:
        out = list(self.topology.flows)
        out += [f for f in self.extra_flows if f not in out]
        return out

    def flow(self, name: Flow | str | None = None) -> Flow:
        return find_flow(self.flows(), name)

    def flow_start(self, flow: Flow | str | None = None) -> str:
        """Start a flow's MM2 container; a flow not in the project yet (e.g. the reverse flow
        of a failback) is rendered into it and created."""
        f = self.flow(flow)
        svc = cr.mm2_service(f)
        self._check_flow_target(f)
        if svc in self._containers():
            if self._state(svc) == "down":
                docker_cli("start", self._container(svc))
            return f"docker start {self._container(svc)}" + self._put_connectors(f)
        if f not in self.flows():
            self.extra_flows.append(f)
        if f not in self.rendered_flows:
            self.rendered_flows.append(f)
        self._render()
        docker_cli(
            "compose",
            "-f",
            str(self.compose_file),
            "up",
            "-d",
            "--no-deps",
            "--no-recreate",
            svc,
            timeout=300,
        )
        return f"created and started {self._container(svc)}" + self._put_connectors(f)

    def _put_connectors(self, f: Flow) -> str:
        """In mm2_mode connect: wait for the worker's REST API, then PUT the connectors that
        differ from what it runs (a restarted worker keeps them in its config topic)."""
        if f.mode != "connect":
            return ""
        self.progress(f"putting MirrorMaker 2 {f.name}'s connectors on Kafka Connect")
        connectors = cr.connect_setup_of(self.topology, f).connectors
        up = self.connect_rest(f).bring_up(connectors, lambda: self._check_flow_running(f))
        return f"; Kafka Connect {up}"

    def connect_rest(self, flow: Flow) -> ConnectRest:
        assert self.lease is not None
        port = cr.connect_host_port(self.topology, self.lease.plan.base, flow)
        return ConnectRest(f"http://127.0.0.1:{port}")

    def connect_names(self, flow: Flow) -> list[str]:
        return list(cr.connect_setup_of(self.topology, flow).connectors)

    def flow_kill(self, flow: Flow | str | None = None) -> str:
        name = self._container(cr.mm2_service(self.flow(flow)))
        docker_cli("kill", "--signal", "KILL", name, check=False)
        return f"docker kill -s KILL {name}"

    def flow_stop(self, flow: Flow | str | None = None, timeout: float = 20.0) -> str:
        name = self._container(cr.mm2_service(self.flow(flow)))
        docker_cli("stop", "-t", str(int(timeout)), name, timeout=timeout + 30, check=False)
        return f"docker stop {name}"

    def flow_state(self, flow: Flow | str | None = None) -> NodeState:
        return self._state(cr.mm2_service(self.flow(flow)))

    def flow_alive(self, flow: Flow | str | None = None) -> bool:
        return self.flow_state(flow) == "running"

    def flow_describe(self, flow: Flow | str | None = None) -> dict[str, Any]:
        f = self.flow(flow)
        return {
            "flow": f.name,
            "engine": "mirrormaker2" if f.mode != "connect" else "mirrormaker2-connect",
            "container": self._container(cr.mm2_service(f)),
            "alive": self.flow_alive(f),
            "properties": cr.mm2_properties(self.topology, f),
        }

    # ----- reset -----------------------------------------------------------------------------
    def restore_all(self) -> list[str]:
        done: list[str] = []
        self._reset_links()  # every proxy enabled, no toxic, the baseline WAN again
        for effect_id in list(self._cuts):
            for name, net, alias in self._cuts.pop(effect_id):
                self._reconnect(name, net, alias)
                done.append(f"reconnected {name} to {net}")
        for c in self.topology.clusters:
            for n in c.nodes:
                state = self.node_state(c.name, n.node_id)
                if state == "paused":
                    self.node_resume(c.name, n.node_id)
                    done.append(f"resumed {c.name}-n{n.node_id}")
                elif state == "down":
                    self.node_start(c.name, n.node_id)
                    done.append(f"restarted {c.name}-n{n.node_id}")
        return done

    # ----- health ----------------------------------------------------------------------------
    def _check_alive(self, cluster: str) -> None:
        c = self.topology.cluster(cluster)
        for n in c.nodes:
            svc = cr.node_service(cluster, n.node_id)
            if self._state(svc) == "down":
                tail = subprocess.run(
                    ["docker", "logs", "--tail", "30", self._container(svc)],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                )
                out = (tail.stdout + tail.stderr)[-1500:]
                raise TopologyError(f"container {self._container(svc)} exited:\n{out}")

    def wait_replicating(self, flow: Flow | str | None = None, timeout: float = 120.0) -> float:
        """Write a marker on the source and wait until MM2 has copied it; returns the seconds."""
        f = self.flow(flow)
        return wait_mm2_replicating(
            f,
            self.bootstrap(f.source),
            self.bootstrap(f.target),
            lambda: self._check_flow_running(f),
            timeout,
        )

    def _check_flow_running(self, f: Flow) -> None:
        if not self.flow_alive(f):
            raise TopologyError(
                f"MirrorMaker 2 {f.name} container {self._container(cr.mm2_service(f))} "
                "is not running (its output: docker logs, or logs/ after the run)"
            )

    # ----- description -----------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        base = self._base()
        _ports, api = cr.host_ports(self.topology, base)
        assert self.opts is not None
        out: dict[str, Any] = {
            "runtime": "compose",
            "project": self.project,
            "run_id": self.run_id,
            "compose_file": str(self.compose_file),
            "images": {"kafka": self.opts.kafka_image, "toxiproxy": self.opts.toxiproxy_image},
            "kafka_version": self.kafka_version(),
            "toxiproxy_api": f"127.0.0.1:{api}",
            "bootstrap": {c.name: self.bootstrap(c.name) for c in self.topology.clusters},
            "remote_bootstrap": {
                c.name: cr.host_bootstrap(self.topology, c, base, remote=True)
                for c in self.topology.clusters
            },
            "nodes": {},
            "mm2": {f.name: cr.mm2_properties(self.topology, f) for f in self.flows()},
            "proxies": [s.__dict__ for s in self.proxies.values()],
            "wan": describe_wan(self.topology.wan),
            "wan_in_force": list(self.wan_in_force),
        }
        for c in self.topology.clusters:
            for n in c.nodes:
                svc = cr.node_service(c.name, n.node_id)
                out["nodes"][svc] = {
                    "site": n.site,
                    "container": self._container(svc),
                    "server.properties": cr.server_properties(self.topology, c, n, base),
                }
        return out

    def environment(self) -> dict[str, str]:
        """What a shell needs to talk to this project (`docker compose -p ...`)."""
        return {"COMPOSE_PROJECT_NAME": self.project, "COMPOSE_FILE": str(self.compose_file)}
