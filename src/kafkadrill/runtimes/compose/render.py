"""Pure rendering of a Docker Compose project from a Topology (no Docker needed).

Network layout (why it looks like this):
- One compose network per site: every region gets one (`east`, `west`), every AZ of a multi-AZ
  cluster gets one too (`east-a`). A node sits on its region's network and, in a multi-AZ
  cluster, on its AZ's network; its name `n<id>.<cluster>.kd` is an alias on both. Cutting an
  AZ off is then a real network cut: disconnect its nodes from the region network and they
  keep only each other.
- Cross-region bytes cross the Toxiproxy container, which sits on every region network. A node
  advertises an `XDC` listener at its proxy (`toxiproxy.kd:<port>`), so MM2 in `west` reads
  `primary` only through proxies a link fault can cut or degrade; containers of one region
  cannot even resolve the names of another region's nodes.
- Host-side clients (the workload, kcat, a console producer) reach brokers only through ports
  published on 127.0.0.1: a `HOST` listener advertised at `127.0.0.1:<port>` for clients of the
  cluster's own region, and a `HOSTX` listener advertised at a Toxiproxy port published on
  127.0.0.1 for clients that are in another region (their bytes cross the link too).
- A baseline WAN between the AZs of one cluster (a stretch cluster's inter-site latency) needs
  every node-to-node path between two AZs to cross a proxy. Such a cluster's nodes sit only on
  their AZ's network; there Toxiproxy answers the names of the nodes of the *other* AZs (network
  aliases), on an address of its own per AZ network, and each node listens for brokers and
  controllers on a port of its own, so one proxy per (client AZ, node, listener) tells every
  path apart (`az_proxies`; the runtime creates them once it knows Toxiproxy's addresses).
  Toxiproxy reaches the nodes by their service names, which only the node carries.
- Nodes run with the same broker settings as the local runtime (`broker_defaults` plus the
  scenario's `broker_config`, KRaft combined nodes, `broker.rack` = the node's site); only the
  listener addresses differ.
- Every container, network and volume carries `io.kafkadrill.run=<run id>` (and, for a runtime,
  the runner's pid and start time) so leftovers of a dead runner can be found and removed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from kafkadrill.runtimes.shared import config as cfg
from kafkadrill.runtimes.shared.connect import ConnectSetup, connect_setup
from kafkadrill.runtimes.shared.ports import flow_slot
from kafkadrill.topology import MAX_CLUSTERS, Cluster, Flow, Node, TopicSpec, Topology, two_dc

LABEL_RUN = "io.kafkadrill.run"
LABEL_RUNNER_PID = "io.kafkadrill.runner-pid"
LABEL_RUNNER_START = "io.kafkadrill.runner-start"
LABEL_ROLE = "io.kafkadrill.role"

# Ports inside each node container (every container has its own address, so they repeat).
CLIENT_PORT = 9092
XDC_PORT = 9093
INTERNAL_PORT = 9094
CONTROLLER_PORT = 9095
HOST_PORT = 9096
HOSTX_PORT = 9097
TOXIPROXY_API_PORT = 8474
# AZ-WAN clusters (see the module doc): node i listens for brokers on 9100+i, controllers 9200+i.
AZ_INTERNAL_BASE = 9100
AZ_CONTROLLER_BASE = 9200
XDC_PROXY_BASE = 8500  # inside the Toxiproxy container: 8500 + 20*cluster + node index
TOXIPROXY_HOST = "toxiproxy.kd"
DATA_DIR = "/var/lib/kafka/data"
CONF_DIR = "/etc/kafkadrill"
LIBS = "/opt/kafka/libs/*"
# Host-port block: per cluster 50 ports: HOST at +1.., XDC probes at +11.., HOSTX at +21..;
# the Toxiproxy API is the block's last port.
HOST_BLOCK = 200
PER_CLUSTER = 50
PLAYGROUND_BASE = 19000
PLAYGROUND_PROJECT = "kafkadrill"
PLAYGROUND_RUN_ID = "playground"


@dataclass(frozen=True)
class ComposeOptions:
    project: str
    run_id: str
    kafka_image: str
    toxiproxy_image: str
    host_base: int
    runner_pid: int | None = None
    runner_start: float | None = None
    heap_mb: int = 256
    mm2_heap_mb: int = 256
    flows: tuple[Flow, ...] | None = None  # MM2 services to render (default: topology flows)
    extra_labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HostPorts:
    host: int  # published broker HOST listener
    hostx: int  # published Toxiproxy port in front of the HOSTX listener
    xdc_probe: int  # published Toxiproxy XDC proxy (what MM2 crosses), for fault probes only


def host_ports(topology: Topology, base: int) -> tuple[dict[tuple[str, int], HostPorts], int]:
    """Published ports of every node and of the Toxiproxy API, inside a 200-port block."""
    out: dict[tuple[str, int], HostPorts] = {}
    for ci, c in enumerate(topology.clusters):
        for ni, n in enumerate(c.nodes):
            first = base + PER_CLUSTER * ci
            out[(c.name, n.node_id)] = HostPorts(first + 1 + ni, first + 21 + ni, first + 11 + ni)
    return out, base + HOST_BLOCK - 1


def xdc_proxy_port(topology: Topology, cluster: str, node_id: int) -> int:
    ci = [c.name for c in topology.clusters].index(cluster)
    ni = [n.node_id for n in topology.cluster(cluster).nodes].index(node_id)
    return XDC_PROXY_BASE + 20 * ci + ni


def node_service(cluster: str, node_id: int) -> str:
    return f"{cluster}-n{node_id}"


def mm2_service(flow: Flow) -> str:
    return f"mm2-{flow.source}-{flow.target}"


def site_network(site: str) -> str:
    return f"site-{site}"


def az_wan(topology: Topology, cluster: Cluster) -> bool:
    """Does a baseline WAN link join two AZs of this cluster? Then its inter-AZ node paths
    cross proxies (see the module doc) instead of a shared region network."""
    azs = set(cluster.azs)
    return cluster.multi_az and any(w.a in azs and w.b in azs for w in topology.wan)


def node_ports(topology: Topology, cluster: Cluster, node: Node) -> tuple[int, int]:
    """(INTERNAL, CONTROLLER) ports of a node: shared ports, or per node in an AZ-WAN cluster
    (one Toxiproxy address per AZ must tell the nodes apart by port)."""
    if not az_wan(topology, cluster):
        return INTERNAL_PORT, CONTROLLER_PORT
    ni = [n.node_id for n in cluster.nodes].index(node.node_id)
    return AZ_INTERNAL_BASE + ni, AZ_CONTROLLER_BASE + ni


def upstream_host(topology: Topology, cluster: Cluster, node: Node) -> str:
    """How Toxiproxy names a node: its alias, or in an AZ-WAN cluster (where Toxiproxy itself
    answers the aliases of other AZs' nodes) its service name, which only the node carries."""
    if az_wan(topology, cluster):
        return node_service(cluster.name, node.node_id)
    return cfg.host_name(cluster.name, node.node_id)


def remote_topic(flow: Flow, topic: str) -> str:
    """DefaultReplicationPolicy prefixes the source cluster; IdentityReplicationPolicy keeps."""
    policy = flow.properties.get("replication.policy.class", "")
    return topic if policy.endswith("IdentityReplicationPolicy") else f"{flow.source}.{topic}"


def stable_id(*parts: str) -> str:
    """A KRaft id (URL-safe base64 of 16 bytes) derived from `parts`: the same project renders
    the same file, and an id never starts with '-' (the storage tool would take an option)."""
    salt = 0
    while True:
        raw = hashlib.sha256("|".join([*parts, str(salt)]).encode()).digest()[:16]
        out = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        if not out.startswith("-"):
            return out
        salt += 1


# ----- proxies --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComposeProxy:
    name: str
    listen_port: int  # inside the Toxiproxy container
    upstream: str  # container address
    client_site: str  # the side that connects
    server_site: str  # the side that serves
    host_port: int  # where it is published on 127.0.0.1

    @property
    def published(self) -> bool:
        """Published for clients (advertised), not only for probes."""
        return self.host_port == self.listen_port


def proxies(topology: Topology, base: int) -> list[ComposeProxy]:
    """Every proxied path: cross-region for containers (xdc-*, MM2) and for host clients of
    other regions (hostx-*); in multi-AZ clusters also same-region host clients (client-*)."""
    ports, _api = host_ports(topology, base)
    regions = topology.regions
    out = []
    for c in topology.clusters:
        remote = next((r for r in regions if r != c.region), "remote")
        for n in c.nodes:
            host = upstream_host(topology, c, n)
            if c.multi_az:
                # Same-region host clients of a multi-AZ cluster reach each node through a
                # proxy on the region network (as locally), so an AZ cut off that network
                # cuts them off its nodes too; a port published by the node would not be cut.
                hp = ports[(c.name, n.node_id)].host
                out.append(
                    ComposeProxy(
                        f"client-{c.name}-n{n.node_id}",
                        hp,
                        f"{host}:{HOST_PORT}",
                        "clients",
                        n.site,
                        hp,
                    )
                )
            out.append(
                ComposeProxy(
                    f"xdc-{c.name}-n{n.node_id}",
                    xdc_proxy_port(topology, c.name, n.node_id),
                    f"{host}:{XDC_PORT}",
                    remote,
                    c.region,
                    ports[(c.name, n.node_id)].xdc_probe,
                )
            )
            out.append(
                ComposeProxy(
                    f"hostx-{c.name}-n{n.node_id}",
                    ports[(c.name, n.node_id)].hostx,
                    f"{host}:{HOSTX_PORT}",
                    remote,
                    c.region,
                    ports[(c.name, n.node_id)].hostx,
                )
            )
    return out


@dataclass(frozen=True)
class AzProxy:
    """A node-to-node path between two AZs of an AZ-WAN cluster: clients in `client_site` dial
    the node's alias, which on their AZ's network is Toxiproxy; it listens on its own address
    there (known only once the container runs), at the node's own port."""

    name: str
    network: str  # the client AZ's network (compose name, without the project prefix)
    port: int
    upstream: str
    client_site: str
    server_site: str


def az_proxies(topology: Topology) -> list[AzProxy]:
    """One proxy per (client AZ, node of another AZ, listener) of every AZ-WAN cluster."""
    out = []
    for c in topology.clusters:
        if not az_wan(topology, c):
            continue
        for n in c.nodes:
            internal, controller = node_ports(topology, c, n)
            svc = node_service(c.name, n.node_id)
            for az in c.azs:
                if az == n.site:
                    continue
                for listener, port in (("internal", internal), ("controller", controller)):
                    out.append(
                        AzProxy(
                            f"az-{c.name}-n{n.node_id}-{listener}-from-{az}",
                            site_network(az),
                            port,
                            f"{svc}:{port}",
                            az,
                            n.site,
                        )
                    )
    return out


def toxiproxy_config(topology: Topology, base: int) -> str:
    return (
        json.dumps(
            [
                {
                    "name": p.name,
                    "listen": f"0.0.0.0:{p.listen_port}",
                    "upstream": p.upstream,
                    "enabled": True,
                }
                for p in proxies(topology, base)
            ],
            indent=1,
        )
        + "\n"
    )


# ----- node and MM2 configuration -------------------------------------------------------------


def server_properties(topology: Topology, cluster: Cluster, node: Node, base: int) -> str:
    """server.properties of a node container: the local runtime's settings, container
    listeners."""
    ports, _ = host_ports(topology, base)
    hp = ports[(cluster.name, node.node_id)]
    host = cfg.host_name(cluster.name, node.node_id)
    internal, controller = node_ports(topology, cluster, node)
    voters = ",".join(
        f"{n.node_id}@{cfg.host_name(cluster.name, n.node_id)}:"
        f"{node_ports(topology, cluster, n)[1]}"
        for n in cluster.nodes
    )
    props: dict[str, object] = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "controller.quorum.voters": voters,
        "listeners": (
            f"CLIENT://0.0.0.0:{CLIENT_PORT},XDC://0.0.0.0:{XDC_PORT},"
            f"INTERNAL://0.0.0.0:{internal},CONTROLLER://0.0.0.0:{controller},"
            f"HOST://0.0.0.0:{HOST_PORT},HOSTX://0.0.0.0:{HOSTX_PORT}"
        ),
        "advertised.listeners": (
            f"CLIENT://{host}:{CLIENT_PORT},"
            f"XDC://{TOXIPROXY_HOST}:{xdc_proxy_port(topology, cluster.name, node.node_id)},"
            f"INTERNAL://{host}:{internal},"
            # Followers dial the endpoint the leader advertises (see config.py).
            f"CONTROLLER://{host}:{controller},"
            f"HOST://127.0.0.1:{hp.host},HOSTX://127.0.0.1:{hp.hostx}"
        ),
        "listener.security.protocol.map": (
            "CLIENT:PLAINTEXT,XDC:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,"
            "HOST:PLAINTEXT,HOSTX:PLAINTEXT"
        ),
        "inter.broker.listener.name": "INTERNAL",
        "controller.listener.names": "CONTROLLER",
        "log.dirs": DATA_DIR,
        "broker.rack": node.site,
    }
    props.update(cfg.broker_defaults(cluster))
    if cluster.authorizer:
        props.update(cfg.authorizer_props(str(props["listener.security.protocol.map"])))
    props.update(cluster.broker_config)
    return cfg.render_properties(props)


def container_bootstrap(topology: Topology, cluster: Cluster, from_region: str) -> str:
    """Bootstrap for a container in `from_region`: CLIENT in-region, else the XDC proxies."""
    if cluster.region == from_region:
        return ",".join(
            f"{cfg.host_name(cluster.name, n.node_id)}:{CLIENT_PORT}" for n in cluster.nodes
        )
    return ",".join(
        f"{TOXIPROXY_HOST}:{xdc_proxy_port(topology, cluster.name, n.node_id)}"
        for n in cluster.nodes
    )


def host_bootstrap(topology: Topology, cluster: Cluster, base: int, *, remote: bool) -> str:
    """Bootstrap for a client on the host: its own region's (HOST) or another's (HOSTX)."""
    ports, _ = host_ports(topology, base)
    out = []
    for n in cluster.nodes:
        hp = ports[(cluster.name, n.node_id)]
        out.append(f"127.0.0.1:{hp.hostx if remote else hp.host}")
    return ",".join(out)


def mm2_properties(topology: Topology, flow: Flow) -> str:
    """What a flow's MM2 container runs with: a dedicated MM2's properties, or in
    `mm2_mode: connect` the Connect worker's properties and its connectors' configs."""
    if flow.mode == "connect":
        return connect_setup_of(topology, flow).text()
    return cfg.render_properties(mm2_property_map(topology, flow))


#: The Connect REST port inside an MM2 container (`mm2_mode: connect`).
CONNECT_REST = 8083


def connect_host_port(topology: Topology, base: int, flow: Flow) -> int:
    """The host port (127.0.0.1) published for a flow's Connect REST API."""
    return base + PER_CLUSTER * MAX_CLUSTERS + flow_slot(topology, flow.source, flow.target)


def connect_setup_of(topology: Topology, flow: Flow) -> ConnectSetup:
    """The flow's Connect worker and connectors, with the addresses of the container network."""
    return connect_setup(
        flow,
        mm2_property_map(topology, flow),
        f"http://0.0.0.0:{CONNECT_REST}",
        mm2_service(flow),
        reverse_heartbeats=not cfg.has_reverse_flow(topology, flow),
    )


def mm2_property_map(topology: Topology, flow: Flow) -> dict[str, object]:
    """One dedicated MM2 per flow, in the target's region (as the local runtime does)."""
    region = topology.cluster(flow.target).region
    props: dict[str, object] = {"clusters": ",".join(c.name for c in topology.clusters)}
    for c in topology.clusters:
        props[f"{c.name}.bootstrap.servers"] = container_bootstrap(topology, c, region)
    names = [c.name for c in topology.clusters]
    for src in names:
        for dst in names:
            if src != dst:
                props[f"{src}->{dst}.enabled"] = "false"
    props[f"{flow.name}.enabled"] = "true"
    props[f"{flow.name}.topics"] = flow.topics
    props[f"{flow.name}.groups"] = flow.groups
    props.update(cfg.mm2_defaults(flow, topology.cluster(flow.target)))
    props.update(flow.properties)
    return props


LOG4J2_CONSOLE = """status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""

LOG4J1_CONSOLE = """log4j.rootLogger=INFO, O
log4j.appender.O=org.apache.log4j.ConsoleAppender
log4j.appender.O.layout=org.apache.log4j.PatternLayout
log4j.appender.O.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
"""

# The node entry script works on kafkadrill's images and on the official apache/kafka image:
# formats storage on first start (from the image's prepared bootstrap checkpoint when there is
# one and no feature level is set, else with the storage tool), then runs the broker with the
# rendered server.properties.
NODE_SCRIPT = f"""set -e
d={DATA_DIR}
c={CONF_DIR}
if [ ! -f "$d/meta.properties" ]; then
  if [ -z "$KD_FEATURES" ] && [ -f /opt/kafkadrill/bootstrap.checkpoint ]; then
    cp /opt/kafkadrill/bootstrap.checkpoint "$d/bootstrap.checkpoint"
    printf 'node.id=%s\\ndirectory.id=%s\\nversion=1\\ncluster.id=%s\\n' \\
      "$KD_NODE_ID" "$KD_DIRECTORY_ID" "$KD_CLUSTER_ID" > "$d/meta.properties"
  else
    java -cp '{LIBS}' kafka.tools.StorageTool format --cluster-id="$KD_CLUSTER_ID" \\
      --config "$c/server.properties" --ignore-formatted $KD_FEATURES
  fi
fi
exec java $KD_JAVA_OPTS -Dlog4j2.configurationFile="$c/log4j2.properties" \\
  -Dlog4j.configuration="file:$c/log4j.properties" -cp '{LIBS}' kafka.Kafka "$c/server.properties"
"""

CONNECT_SCRIPT = f"""set -e
c={CONF_DIR}
exec java $KD_JAVA_OPTS -Dlog4j2.configurationFile="$c/log4j2.properties" \\
  -Dlog4j.configuration="file:$c/log4j.properties" -cp '{LIBS}' \\
  org.apache.kafka.connect.cli.ConnectDistributed "$c/worker.properties"
"""

MM2_SCRIPT = f"""set -e
c={CONF_DIR}
exec java $KD_JAVA_OPTS -Dlog4j2.configurationFile="$c/log4j2.properties" \\
  -Dlog4j.configuration="file:$c/log4j.properties" -cp '{LIBS}' \\
  org.apache.kafka.connect.mirror.MirrorMaker "$c/mm2.properties" $KD_MM2_ARGS
"""


def java_opts(heap_mb: int) -> str:
    # A 1 s DNS cache: after a network cut or a container restart a node's address can change.
    return (
        f"-Xmx{heap_mb}m -Xms32m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "
        "-XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true "
        "-Dsun.net.inetaddr.ttl=1 -Dsun.net.inetaddr.negative.ttl=0"
    )


def _esc(text: str) -> str:
    """Compose interpolates `$` everywhere (configs, commands, environment)."""
    return text.replace("$", "$$")


# ----- the project ----------------------------------------------------------------------------


@dataclass
class _Project:
    """The compose project as it is being rendered (insertion order is the file's order)."""

    labels: dict[str, str]
    configs: dict[str, Any]
    services: dict[str, Any] = field(default_factory=dict)
    networks: dict[str, Any] = field(default_factory=dict)
    volumes: dict[str, Any] = field(default_factory=dict)
    # Docker's embedded DNS answers the project's names and forwards any other name to the
    # host's resolvers; pointing containers at 127.0.0.1 makes unknown names (a stopped node,
    # a typo) fail at once and keeps DNS traffic inside the container (a run showed 5 s API
    # stalls while Toxiproxy resolved names of killed nodes).
    dns: dict[str, Any] = field(default_factory=lambda: {"dns": ["127.0.0.1"], "dns_search": ["."]})

    def net(self, site: str) -> str:
        name = site_network(site)
        self.networks.setdefault(name, {"labels": dict(self.labels)})
        return name


def render(topology: Topology, opts: ComposeOptions) -> dict[str, Any]:
    """The compose project (a dict ready for YAML) for `topology`."""
    labels: dict[str, str] = {LABEL_RUN: opts.run_id, **opts.extra_labels}
    if opts.runner_pid is not None:
        labels[LABEL_RUNNER_PID] = str(opts.runner_pid)
    if opts.runner_start is not None:
        labels[LABEL_RUNNER_START] = f"{opts.runner_start:.2f}"
    ports, api_port = host_ports(topology, opts.host_base)
    configs: dict[str, Any] = {
        "log4j2": {"content": LOG4J2_CONSOLE},
        "log4j": {"content": LOG4J1_CONSOLE},
        "node-sh": {"content": _esc(NODE_SCRIPT)},
        "mm2-sh": {"content": _esc(MM2_SCRIPT)},
        "toxiproxy-json": {"content": toxiproxy_config(topology, opts.host_base)},
    }
    pr = _Project(labels, configs)
    _render_toxiproxy(pr, topology, opts, api_port)
    for c in topology.clusters:
        cluster_id = stable_id(opts.project, opts.run_id, c.name)
        for n in c.nodes:
            _render_node(pr, topology, opts, c, n, cluster_id, ports)
    flows = topology.flows if opts.flows is None else opts.flows
    if any(f.mode == "connect" for f in flows):
        configs["connect-sh"] = {"content": _esc(CONNECT_SCRIPT)}
    for flow in flows:
        _render_mm2(pr, topology, opts, flow)
    return {
        "name": opts.project,
        "services": pr.services,
        "networks": pr.networks,
        "volumes": pr.volumes,
        "configs": pr.configs,
    }


def _render_toxiproxy(
    pr: _Project, topology: Topology, opts: ComposeOptions, api_port: int
) -> None:
    tp_nets: dict[str, Any] = {pr.net(r): {"aliases": [TOXIPROXY_HOST]} for r in topology.regions}
    for c in topology.clusters:
        if az_wan(topology, c):
            # On each AZ's network Toxiproxy answers the names of the other AZs' nodes.
            for az in c.azs:
                others = [cfg.host_name(c.name, n.node_id) for n in c.nodes if n.site != az]
                tp_nets[pr.net(az)] = {"aliases": others}
    published = [f"127.0.0.1:{api_port}:{TOXIPROXY_API_PORT}"]
    published += [
        f"127.0.0.1:{p.host_port}:{p.listen_port}" for p in proxies(topology, opts.host_base)
    ]
    pr.services["toxiproxy"] = {
        "image": opts.toxiproxy_image,
        **pr.dns,
        "command": ["-host=0.0.0.0", "-config=/toxiproxy.json"],
        "environment": {"LOG_LEVEL": "info"},
        "configs": [{"source": "toxiproxy-json", "target": "/toxiproxy.json"}],
        "ports": published,
        "networks": tp_nets,
        "labels": {**pr.labels, LABEL_ROLE: "toxiproxy"},
    }


def _render_node(
    pr: _Project,
    topology: Topology,
    opts: ComposeOptions,
    c: Cluster,
    n: Node,
    cluster_id: str,
    ports: dict[tuple[str, int], Any],
) -> None:
    svc = node_service(c.name, n.node_id)
    alias = cfg.host_name(c.name, n.node_id)
    conf = f"{svc}-server-properties"
    pr.configs[conf] = {"content": _esc(server_properties(topology, c, n, opts.host_base))}
    vol = f"{svc}-data"
    pr.volumes[vol] = {"labels": dict(pr.labels)}
    node_nets: dict[str, Any] = {}
    if not az_wan(topology, c):
        node_nets[pr.net(c.region)] = {"aliases": [alias]}
    if c.multi_az:  # an AZ-WAN cluster's nodes sit only here (see the module doc)
        node_nets[pr.net(n.site)] = {"aliases": [alias]}
    pr.services[svc] = {
        "image": opts.kafka_image,
        "hostname": alias,
        **pr.dns,
        "entrypoint": ["/bin/sh", f"{CONF_DIR}/node.sh"],
        "environment": {
            "KD_NODE_ID": str(n.node_id),
            "KD_CLUSTER_ID": cluster_id,
            "KD_DIRECTORY_ID": stable_id(opts.project, opts.run_id, svc),
            "KD_JAVA_OPTS": java_opts(opts.heap_mb),
            # topology.features: formatted by the storage tool, not from the image's checkpoint.
            **(
                {"KD_FEATURES": " ".join(f"--feature={k}={v}" for k, v in c.features)}
                if c.features
                else {}
            ),
        },
        "configs": [
            {"source": "node-sh", "target": f"{CONF_DIR}/node.sh"},
            {"source": conf, "target": f"{CONF_DIR}/server.properties"},
            {"source": "log4j2", "target": f"{CONF_DIR}/log4j2.properties"},
            {"source": "log4j", "target": f"{CONF_DIR}/log4j.properties"},
        ],
        "volumes": [f"{vol}:{DATA_DIR}"],
        "ports": [] if c.multi_az else [f"127.0.0.1:{ports[(c.name, n.node_id)].host}:{HOST_PORT}"],
        "networks": node_nets,
        "stop_grace_period": "20s",
        "labels": {
            **pr.labels,
            LABEL_ROLE: "node",
            "io.kafkadrill.cluster": c.name,
            "io.kafkadrill.node": str(n.node_id),
            "io.kafkadrill.site": n.site,
        },
    }


def _render_mm2(pr: _Project, topology: Topology, opts: ComposeOptions, flow: Flow) -> None:
    svc = mm2_service(flow)
    conf = f"{svc}-properties"
    region = topology.cluster(flow.target).region
    env = {"KD_JAVA_OPTS": java_opts(opts.mm2_heap_mb)}
    extra: dict[str, Any] = {}
    if flow.mode == "connect":
        # The connectors are PUT over REST by the runtime once the worker answers.
        worker = connect_setup_of(topology, flow).worker
        pr.configs[conf] = {"content": _esc(cfg.render_properties(worker))}
        script, props_file = "connect", "worker.properties"
        port = connect_host_port(topology, opts.host_base, flow)
        extra["ports"] = [f"127.0.0.1:{port}:{CONNECT_REST}"]
    else:
        pr.configs[conf] = {"content": _esc(mm2_properties(topology, flow))}
        script, props_file = "mm2", "mm2.properties"
        if a := cfg.mm2_args(topology, flow):
            env["KD_MM2_ARGS"] = " ".join(a)
    pr.services[svc] = {
        "image": opts.kafka_image,
        **pr.dns,
        "entrypoint": ["/bin/sh", f"{CONF_DIR}/{script}.sh"],
        "environment": env,
        "configs": [
            {"source": f"{script}-sh", "target": f"{CONF_DIR}/{script}.sh"},
            {"source": conf, "target": f"{CONF_DIR}/{props_file}"},
            {"source": "log4j2", "target": f"{CONF_DIR}/log4j2.properties"},
            {"source": "log4j", "target": f"{CONF_DIR}/log4j.properties"},
        ],
        **extra,
        "networks": [pr.net(region)],
        "stop_grace_period": "10s",
        "labels": {**pr.labels, LABEL_ROLE: "mm2", "io.kafkadrill.flow": flow.name},
    }


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # plain repeated values, no &anchors: the file is meant to be read


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # Multi-line strings (configs) as literal blocks, so the file reads like the configs.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def to_yaml(project: dict[str, Any], header: str = "") -> str:
    body = yaml.dump(project, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
    return header + body


# ----- the top-level docker-compose.yml ------------------------------------------------------

PLAYGROUND_HEADER = """\
# kafkadrill's default two-DC topology as a standalone Compose project. GENERATED by
# `python3 -m kafkadrill.runtimes.compose.render > docker-compose.yml`; a unit test fails when
# this file and the renderer drift apart, so edit the renderer, not this file.
#
#   docker compose up -d          (images: `kafkadrill images`, or set KAFKA_IMAGE/TOXIPROXY_IMAGE)
#
# primary (region east), from the host:   127.0.0.1:19001,127.0.0.1:19002,127.0.0.1:19003
# dr      (region west), from the host:   127.0.0.1:19051,127.0.0.1:19052,127.0.0.1:19053
# the same clusters through the cross-DC link (Toxiproxy): primary 19021-19023, dr 19071-19073
# Toxiproxy API: http://127.0.0.1:19199   MirrorMaker 2 copies primary's topics to dr as
# primary.<topic>. Topics are created on first use here (auto.create.topics.enable=true).
#
"""


def playground_topology() -> Topology:
    """The default two-DC topology (3+3, MM2 primary->dr) with auto topic creation, as a user
    trying Kafka expects of a playground (drills keep it off: a typo must not create a
    topic)."""
    topo = two_dc(3, broker_config={"auto.create.topics.enable": "true"})
    topics: tuple[TopicSpec, ...] = ()
    return Topology(
        "playground",
        tuple(
            Cluster(c.name, c.region, c.nodes, dict(c.broker_config), topics) for c in topo.clusters
        ),
        topo.flows,
        topo.kafka_version,
    )


def playground_yaml(kafka_version: str) -> str:
    """The top-level docker-compose.yml. Image names are compose variables with defaults: the
    images `kafkadrill images` builds are named by content, so the file names the official
    ones and `KAFKA_IMAGE` / `TOXIPROXY_IMAGE` select local builds."""
    from kafkadrill.runtimes.compose.images import OFFICIAL_KAFKA, OFFICIAL_TOXIPROXY
    from kafkadrill.runtimes.shared.provision import TOXIPROXY_VERSION

    opts = ComposeOptions(
        project=PLAYGROUND_PROJECT,
        run_id=PLAYGROUND_RUN_ID,
        kafka_image=f"${{KAFKA_IMAGE:-{OFFICIAL_KAFKA}:{kafka_version}}}",
        toxiproxy_image=f"${{TOXIPROXY_IMAGE:-{OFFICIAL_TOXIPROXY}:{TOXIPROXY_VERSION}}}",
        host_base=PLAYGROUND_BASE,
    )
    return to_yaml(render(playground_topology(), opts), PLAYGROUND_HEADER)


if __name__ == "__main__":
    from kafkadrill.runtimes.shared.provision import DEFAULT_KAFKA_VERSION

    print(playground_yaml(DEFAULT_KAFKA_VERSION), end="")
