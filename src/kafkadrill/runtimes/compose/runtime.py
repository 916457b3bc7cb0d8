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

Cleanup: every container, network and volume carries the run id and the runner's pid and
start time as labels. `stop()` runs `down --volumes`; when a runner dies without it (SIGKILL),
the next start or `kafkadrill down` removes every labelled resource whose runner is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import json
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
from kafkadrill.faults.probe import kafka_ping
from kafkadrill.runtimes.base import Cap, LinkEffect, NodeState, register_runtime
from kafkadrill.runtimes.compose import render as cr
from kafkadrill.runtimes.shared.admin import admin_client, create_topics
from kafkadrill.runtimes.shared.config import host_name
from kafkadrill.runtimes.shared.health import wait_cluster_healthy
from kafkadrill.runtimes.shared.lifecycle import RuntimeLifecycle
from kafkadrill.runtimes.shared.ports import PortLease, allocate
from kafkadrill.runtimes.shared.provision import DEFAULT_KAFKA_VERSION
from kafkadrill.runtimes.shared.replication import wait_mm2_replicating
from kafkadrill.runtimes.shared.toxiproxy import ProxySpec, ToxiproxyClient, partition_streams
from kafkadrill.runtimes.shared.wan import apply_wan, describe_wan
from kafkadrill.topology import Cluster, Flow, Topology

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
        # Admin requests from the host through the published HOST listeners (metadata faults).
        Cap.TOPIC_ADMIN,
    }
)


# ----- docker helpers -------------------------------------------------------------------------


def _docker(*args: str, timeout: float = 120.0, check: bool = True) -> str:
    try:
        proc = subprocess.run(
            ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise TopologyError(
            "the compose runtime needs the docker CLI and a Docker engine "
            "(as root: bash .ci/docker-setup.sh)"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise TopologyError(f"docker {' '.join(args[:3])} timed out after {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        raise TopologyError(f"docker {' '.join(args[:4])} failed: {proc.stderr.strip()[-1500:]}")
    return proc.stdout


def docker_available() -> str | None:
    """None when a Docker engine answers and `docker compose` exists, else the reason."""
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        return f"no docker CLI or no answer: {exc}"
    if info.returncode != 0:
        return f"no Docker engine answers: {info.stderr.strip()[-300:]}"
    comp = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, timeout=20, check=False
    )
    if comp.returncode != 0:
        return "`docker compose` (Compose v2) is not installed"
    return None


def _runner_alive(pid: str, start: str) -> bool:
    try:
        proc = psutil.Process(int(pid))
        return abs(proc.create_time() - float(start)) < 1.0
    except (psutil.Error, ValueError):
        return False


def _labelled(kind: str) -> list[tuple[str, dict[str, str]]]:
    """(id, labels) of every container/network/volume carrying a kafkadrill runner label."""
    if kind == "container":
        ids = _docker("ps", "-aq", "--no-trunc", "--filter", f"label={cr.LABEL_RUNNER_PID}").split()
        cmd = ["container", "inspect"]
    else:
        ids = _docker(kind, "ls", "-q", "--filter", f"label={cr.LABEL_RUNNER_PID}").split()
        cmd = [kind, "inspect"]
    if not ids:
        return []
    data = json.loads(_docker(*cmd, *ids, check=False) or "[]")
    out = []
    for item in data:
        labels = (item.get("Config") or {}).get("Labels") if kind == "container" else None
        labels = labels if labels is not None else item.get("Labels") or {}
        out.append((item.get("Id") or item.get("Name"), labels))
    return out


def cleanup_stale(include_alive: bool = False) -> list[str]:
    """Remove every labelled container, network and volume whose runner is gone (or all of
    them with `include_alive`, for `kafkadrill down`). Returns what was removed."""
    if docker_available() is not None:
        return []
    removed: list[str] = []
    for kind in ("container", "network", "volume"):
        doomed = []
        for ident, labels in _labelled(kind):
            pid = labels.get(cr.LABEL_RUNNER_PID, "")
            start = labels.get(cr.LABEL_RUNNER_START, "")
            if include_alive or not _runner_alive(pid, start):
                doomed.append(ident)
                removed.append(f"{kind} {labels.get(cr.LABEL_RUN, '?')}/{ident[:12]}")
        if not doomed:
            continue
        if kind == "container":
            _docker("rm", "-f", "-v", *doomed, check=False, timeout=300)
        else:
            _docker(kind, "rm", *doomed, check=False, timeout=120)
    return removed


# ----- the runtime ----------------------------------------------------------------------------


@register_runtime(
    "compose",
    CAPABILITIES,
    "Docker Compose containers: KRaft nodes, MM2 and Toxiproxy with one network per site",
)
class ComposeRuntime(RuntimeLifecycle):
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

    def _create_az_proxies(self) -> None:
        """The inter-AZ node paths of AZ-WAN clusters: each proxy listens on Toxiproxy's own
        address on the client AZ's network (known only now) at the node's port."""
        wanted = cr.az_proxies(self.topology)
        if not wanted:
            return
        name = self._container("toxiproxy")
        out = _docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", name)
        nets = json.loads(out or "{}")
        tp = self._tp()
        for ap in wanted:
            addr = (nets.get(f"{self.project}_{ap.network}") or {}).get("IPAddress")
            if not addr:
                raise TopologyError(
                    f"the Toxiproxy container has no address on network {ap.network} "
                    f"(it is on {sorted(nets)})"
                )
            spec = ProxySpec(
                ap.name, f"{addr}:{ap.port}", ap.upstream, ap.client_site, ap.server_site
            )
            tp.create(spec)
            self.proxies[spec.name] = spec

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
            _docker("compose", "-f", str(self.compose_file), "kill", check=False, timeout=120)
            if self._compose is not None:
                with contextlib.suppress(subprocess.CalledProcessError):
                    self._compose.stop(down=True)
            # Anything compose did not remove (a container added outside it, a half-made
            # network) goes by label.
            self._remove_labelled()
        finally:
            if self.lease is not None:
                self.lease.close()

    def _remove_labelled(self) -> None:
        label = f"label={cr.LABEL_RUN}={self.run_id}"
        ids = _docker("ps", "-aq", "--filter", label, check=False).split()
        if ids:
            _docker("rm", "-f", "-v", *ids, check=False, timeout=300)
        for kind in ("network", "volume"):
            ids = _docker(kind, "ls", "-q", "--filter", label, check=False).split()
            if ids:
                _docker(kind, "rm", *ids, check=False)

    # ----- containers ------------------------------------------------------------------------
    def _container(self, service: str) -> str:
        return f"{self.project}-{service}-1"

    def _containers(self) -> dict[str, str]:
        out = _docker(
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
        out = _docker(
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

    def ping(self, address: str, timeout: float = 1.0) -> float | None:
        return kafka_ping(address, timeout)

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
            _docker("unpause", name, check=False)  # a frozen cgroup cannot take the signal
        _docker("kill", "--signal", "KILL", name, check=False)
        return f"docker kill -s KILL {name}"

    def node_stop(self, cluster: str, node_id: int, timeout: float = 30.0) -> str:
        name = self._container(self._node_service(cluster, node_id))
        if self.node_state(cluster, node_id) == "paused":
            _docker("unpause", name, check=False)
        _docker("stop", "-t", str(int(timeout)), name, timeout=timeout + 30)
        return f"docker stop {name} (SIGTERM, SIGKILL after {timeout:.0f}s)"

    def node_pause(self, cluster: str, node_id: int) -> str:
        name = self._container(self._node_service(cluster, node_id))
        _docker("pause", name)
        return f"docker pause {name} (cgroup freezer)"

    def node_resume(self, cluster: str, node_id: int) -> str:
        name = self._container(self._node_service(cluster, node_id))
        if self.node_state(cluster, node_id) == "paused":
            _docker("unpause", name)
        return f"docker unpause {name}"

    def node_start(self, cluster: str, node_id: int) -> str:
        name = self._container(self._node_service(cluster, node_id))
        state = self.node_state(cluster, node_id)
        if state == "paused":
            _docker("unpause", name)
        elif state == "down":
            _docker("start", name)
        return f"docker start {name} (same volume: the node keeps its data)"

    # ----- flows -----------------------------------------------------------------------------
    def flows(self) -> list[Flow]:
        out = list(self.topology.flows)
        out += [f for f in self.extra_flows if f not in out]
        return out

    def flow(self, name: Flow | str | None = None) -> Flow:
        if isinstance(name, Flow):
            return name
        for f in self.flows():
            if name is None or f.name == name:
                return f
        raise TopologyError(f"unknown flow {name!r}")

    def flow_start(self, flow: Flow | str | None = None) -> str:
        """Start a flow's MM2 container; a flow not in the project yet (e.g. the reverse flow
        of a failback) is rendered into it and created."""
        f = self.flow(flow)
        svc = cr.mm2_service(f)
        self._check_flow_target(f)
        if svc in self._containers():
            if self._state(svc) == "down":
                _docker("start", self._container(svc))
            return f"docker start {self._container(svc)}"
        if f not in self.flows():
            self.extra_flows.append(f)
        if f not in self.rendered_flows:
            self.rendered_flows.append(f)
        self._render()
        _docker(
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
        return f"created and started {self._container(svc)}"

    def flow_kill(self, flow: Flow | str | None = None) -> str:
        name = self._container(cr.mm2_service(self.flow(flow)))
        _docker("kill", "--signal", "KILL", name, check=False)
        return f"docker kill -s KILL {name}"

    def flow_stop(self, flow: Flow | str | None = None, timeout: float = 20.0) -> str:
        name = self._container(cr.mm2_service(self.flow(flow)))
        _docker("stop", "-t", str(int(timeout)), name, timeout=timeout + 30, check=False)
        return f"docker stop {name}"

    def flow_state(self, flow: Flow | str | None = None) -> NodeState:
        return self._state(cr.mm2_service(self.flow(flow)))

    def flow_alive(self, flow: Flow | str | None = None) -> bool:
        return self.flow_state(flow) == "running"

    def flow_describe(self, flow: Flow | str | None = None) -> dict[str, Any]:
        f = self.flow(flow)
        return {
            "flow": f.name,
            "engine": "mirrormaker2",
            "container": self._container(cr.mm2_service(f)),
            "alive": self.flow_alive(f),
            "properties": cr.mm2_properties(self.topology, f),
        }

    # ----- links -----------------------------------------------------------------------------
    def _tp(self) -> ToxiproxyClient:
        if self.toxiproxy is None:
            raise TopologyError("topology is not started")
        return self.toxiproxy

    def _apply_wan(self) -> None:
        self.wan_in_force = apply_wan(
            self._tp(), self.topology.wan, lambda a, b: self._link_targets(a, b, "both")
        )

    def _region_of(self, site: str) -> str:
        for c in self.topology.clusters:
            if site == c.region or site in c.azs:
                return c.region
        return site

    def _link_targets(self, a: str, b: str, direction: str) -> list[tuple[ProxySpec, list[str]]]:
        # Between regions every proxy is matched by region; inside one, only two AZs of a
        # cluster whose inter-AZ paths cross proxies (a baseline WAN there) have a link.
        inside = self._region_of(a) == self._region_of(b)
        if inside and not any(
            cr.az_wan(self.topology, c) and {a, b} <= set(c.azs) for c in self.topology.clusters
        ):
            raise TopologyError(
                f"link {a}<->{b}: the compose runtime proxies links between regions, and "
                "between the AZs of a cluster that has a baseline WAN between them "
                "(topology.wan); otherwise inside a region use az.partition"
            )

        def site(s: str) -> str:
            return s if inside else self._region_of(s)

        pair = {site(a), site(b)}
        out = []
        for p in self.proxies.values():
            if {site(p.client_site), site(p.server_site)} != pair:
                continue
            if direction == "both":
                out.append((p, ["upstream", "downstream"]))
                continue
            src, _, dst = direction.partition("->")
            stream = p.stream_for(site(src.strip()), site(dst.strip()))
            out.append((p, [stream] if stream else []))
        return out

    def _apply(
        self,
        kind: str,
        targets: list[tuple[ProxySpec, list[str]]],
        attributes: dict[str, Any],
        disable: bool,
        what: str,
    ) -> LinkEffect:
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
                tp.add_toxic(
                    proxy.name, tname, "timeout" if kind == "cut" else kind, stream, attributes
                )
                toxics.append((proxy.name, tname))
        done = (
            f"disabled {len(disabled)} proxies in the Toxiproxy container"
            if disable
            else f"{kind} {attributes} on {len(toxics)} proxy stream(s) of {len(targets)} proxies"
        )
        hit = [p for p, s in targets if s or disable]
        # A black-holed probe costs its whole timeout, so faults probe the replication paths
        # (xdc-*, one per node); the host-client paths (hostx-*) carry the same toxics.
        probed = [p for p in hit if p.name.startswith("xdc-")] or hit
        return LinkEffect(
            kind=kind,
            paths=tuple(p.name for p in hit),
            probes=tuple(sorted({p.listen for p in probed})),
            detail=f"{done} ({what})",
            handle=("proxy", tuple(toxics), tuple(disabled)),
        )

    def link_cut(self, a: str, b: str, direction: str = "both") -> LinkEffect:
        """A black hole on every path of the link: a timeout-0 toxic holds every byte and never
        closes (what a WAN cut looks like: no reset, no answer). Unlike the local runtime, a
        both-ways cut does not disable the proxies: stopping a proxy waits for its accept loop,
        which hangs dialling a killed container (a region-outage drill saw the Toxiproxy API
        answer 503 after 5 s), while a toxic applies at once, to open connections too."""
        targets = self._link_targets(a, b, direction)
        return self._apply(
            "cut", targets, {"timeout": 0}, False, f"link {a}<->{b}, {direction}, black hole"
        )

    def link_toxic(
        self, a: str, b: str, direction: str, toxic: str, attributes: dict[str, Any]
    ) -> LinkEffect:
        targets = self._link_targets(a, b, direction)
        return self._apply(toxic, targets, attributes, False, f"link {a}<->{b}, {direction}")

    def az_partition(self, cluster: str, az: str, direction: str, cut_clients: bool) -> LinkEffect:
        """Disconnect the AZ's nodes from their region's network: they keep their AZ network
        (each other) and lose every other node, the region's containers, the cross-region
        proxies and the host's published ports."""
        c = self.topology.cluster(cluster)
        if not c.multi_az or az not in c.azs:
            raise TopologyError(
                f"az.partition: cluster {cluster} has no AZ {az!r} (its sites: {list(c.azs)})"
            )
        if cr.az_wan(self.topology, c):
            return self._az_cut_proxies(c, az, direction, cut_clients)
        if direction != "both":
            raise TopologyError(
                f"az.partition direction {direction!r}: the compose runtime cuts an AZ off with "
                "a network disconnect, which is both ways; use direction: both, or the local "
                "runtime for one-way partitions"
            )
        if not cut_clients:
            raise TopologyError(
                "az.partition with a workload client inside the isolated AZ: the compose "
                "runtime's host-side clients reach nodes through the region network, which the "
                "cut removes; put the clients outside the AZ or use the local runtime"
            )
        net = f"{self.project}_{cr.site_network(c.region)}"
        cuts: list[tuple[str, str, str]] = []
        for n in c.nodes:
            if n.site != az:
                continue
            name = self._container(cr.node_service(cluster, n.node_id))
            alias = host_name(cluster, n.node_id)
            _docker("network", "disconnect", "--force", net, name)
            cuts.append((name, net, alias))
        effect_id = uuid.uuid4().hex[:8]
        self._cuts[effect_id] = cuts
        ports, _ = cr.host_ports(self.topology, self._base())
        probes = tuple(
            f"127.0.0.1:{ports[(cluster, n.node_id)].host}" for n in c.nodes if n.site == az
        )
        return LinkEffect(
            kind="cut",
            paths=tuple(f"{name}@{net}" for name, net, _ in cuts),
            probes=probes,
            detail=(
                f"disconnected {len(cuts)} node container(s) of {az} from network {net}: "
                f"{az} of {cluster} is cut off from the other AZs, the region and its clients"
            ),
            handle=("network", effect_id),
        )

    def _az_cut_proxies(self, c: Cluster, az: str, direction: str, cut_clients: bool) -> LinkEffect:
        """az.partition in an AZ-WAN cluster: a black hole on every proxy between the AZ and
        the rest (node-to-node, and with `cut_clients` the host's paths to the AZ's nodes)."""
        mine = {cr.node_service(c.name, n.node_id) for n in c.nodes if n.site == az}
        targets: list[tuple[ProxySpec, list[str]]] = []
        for p in self.proxies.values():
            if p.name.startswith(f"az-{c.name}-"):
                inside_client, inside_server = p.client_site == az, p.server_site == az
                if inside_client == inside_server:
                    continue
            elif p.upstream.rsplit(":", 1)[0] in mine and not p.name.startswith("az-"):
                if not cut_clients and not p.name.startswith("xdc-"):
                    continue  # client-*/hostx-*: the host's clients keep their path
                inside_client = False  # the AZ's node serves; the client is outside
            else:
                continue
            targets.append((p, partition_streams(direction, inside_client)))
        return self._apply(
            "cut", targets, {"timeout": 0}, False, f"AZ {az} of {c.name}, {direction}"
        )

    def _on_network(self, container: str, net: str) -> bool:
        out = _docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", container, check=False)
        try:
            return net in json.loads(out or "{}")
        except ValueError:
            return False

    def link_in_force(self, effect: LinkEffect) -> tuple[bool, str]:
        if effect.handle[0] == "network":
            cuts = self._cuts.get(effect.handle[1], [])
            back = [name for name, net, _ in cuts if self._on_network(name, net)]
            if not cuts:
                return False, "no container was disconnected"
            return not back, (
                f"{len(cuts) - len(back)}/{len(cuts)} containers off their region network"
                + (f"; reconnected: {back}" if back else "")
            )
        tp = self._tp()
        _kind, toxics, disabled = effect.handle
        missing = [f"{p}/{n}" for p, n in toxics if n not in {t["name"] for t in tp.toxics(p)}]
        proxies = tp.proxies()
        enabled = [p for p in disabled if proxies.get(p, {}).get("enabled", True)]
        total = len(toxics) + len(disabled)
        if not total:
            return False, "no path carries this link/direction"
        return not missing and not enabled, (
            f"{total - len(missing) - len(enabled)}/{total} paths affected"
            + (f"; missing toxics {missing}" if missing else "")
            + (f"; still enabled {enabled}" if enabled else "")
        )

    def link_restore(self, effect: LinkEffect) -> str:
        if effect.handle[0] == "network":
            cuts = self._cuts.pop(effect.handle[1], [])
            for name, net, alias in cuts:
                self._reconnect(name, net, alias)
            return f"reconnected {len(cuts)} container(s) to their region network"
        tp = self._tp()
        _kind, toxics, disabled = effect.handle
        for proxy, name in toxics:
            tp.remove_toxic(proxy, name)
        for proxy in disabled:
            tp.set_enabled(proxy, True)
        return f"removed {len(toxics)} toxic(s), re-enabled {len(disabled)} proxies"

    def _reconnect(self, name: str, net: str, alias: str) -> None:
        if not self._on_network(name, net):
            _docker("network", "connect", "--alias", alias, net, name)

    def restore_all(self) -> list[str]:
        done: list[str] = []
        if self.toxiproxy is not None:
            self.toxiproxy.reset()
            self._apply_wan()  # the baseline WAN is part of the topology, not a fault
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
    def _admin(self, cluster: str) -> Any:
        return admin_client(self.bootstrap(cluster))

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

    def wait_healthy(self, cluster: str, timeout: float = 90.0) -> None:
        """All nodes answer and are registered, and a write with acks=all succeeds."""
        wait_cluster_healthy(
            cluster,
            self.topology.cluster(cluster).size,
            self.bootstrap(cluster),
            lambda: self._check_alive(cluster),
            timeout,
        )

    def _create_topics(self, cluster: Cluster) -> None:
        if cluster.topics:  # no admin client (no connection) for a cluster without topics
            create_topics(self._admin(cluster.name), cluster)

    def wait_replicating(self, flow: Flow | str | None = None, timeout: float = 120.0) -> float:
        """Write a marker on the source and wait until MM2 has copied it; returns the seconds."""
        f = self.flow(flow)

        def check_alive() -> None:
            if not self.flow_alive(f):
                raise TopologyError(
                    f"MirrorMaker 2 {f.name} container {self._container(cr.mm2_service(f))} "
                    "is not running (its output: docker logs, or logs/ after the run)"
                )

        return wait_mm2_replicating(
            f, self.bootstrap(f.source), self.bootstrap(f.target), check_alive, timeout
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


def running_projects() -> list[dict[str, str]]:
    """Compose runtime projects on this machine with their runner's liveness (for status)."""
    if docker_available() is not None:
        return []
    seen: dict[str, dict[str, str]] = {}
    for _ident, labels in _labelled("container"):
        run = labels.get(cr.LABEL_RUN, "?")
        if run not in seen:
            alive = _runner_alive(
                labels.get(cr.LABEL_RUNNER_PID, ""), labels.get(cr.LABEL_RUNNER_START, "")
            )
            seen[run] = {
                "run_id": run,
                "project": labels.get("com.docker.compose.project", "?"),
                "runner_pid": labels.get(cr.LABEL_RUNNER_PID, "?"),
                "runner_alive": "yes" if alive else "no",
            }
    return list(seen.values())
