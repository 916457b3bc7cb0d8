"""Pure rendering of every config file a local topology needs.

Network layout (why it looks like this):
- CLIENT listener: same-site clients connect directly on 127.0.0.1.
- XDC listener: advertised at a Toxiproxy listener, so every byte a client in another site (MM2
  in `west` reading `primary`) exchanges with this cluster crosses a proxy a fault can cut.
- INTERNAL and CONTROLLER listeners are advertised by host name (`n2.primary.kd`). Each JVM gets
  its own hosts file (`-Djdk.net.hosts.file`); in a multi-AZ cluster node j resolves node i to
  127.77.j.i, where a dedicated proxy j->i listens. Every broker-to-broker path is then cuttable
  per pair, which is what a real AZ partition needs (a pause is not a partition).
"""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Mapping

from kafkadrill.runtimes.shared.ports import PortPlan
from kafkadrill.topology import (
    TOOL_PRINCIPAL,
    TOOL_SECRET,
    Cluster,
    Flow,
    Node,
    Topology,
    principal_secret,
)

MESH_NET = "127.77"


def host_name(cluster: str, node_id: int) -> str:
    return f"n{node_id}.{cluster}.kd"


def mesh_address(from_node: int, to_node: int) -> str:
    """The loopback address node `from_node` uses to reach `to_node` (proxy from->to)."""
    return f"{MESH_NET}.{from_node}.{to_node}"


CLIENT_NET = "127.78.0"


def site_host(site_index: int, node_id: int) -> str:
    """Where clients in site `site_index` of a multi-site cluster reach a node: the proxy
    (127.78.<index+1>.<id>) that carries their link to the node's site."""
    return f"127.78.{site_index + 1}.{node_id}"


def site_bootstrap(cluster: Cluster, plan: PortPlan, site: str) -> str:
    """Bootstrap servers for a client in one site of a multi-site cluster."""
    i = cluster.azs.index(site)
    return ",".join(
        f"{site_host(i, n.node_id)}:{plan.node(cluster.name, n.node_id).sites[i]}"
        for n in cluster.nodes
    )


def client_host(cluster: Cluster, node_id: int) -> str:
    """Where same-region clients reach a node. In a multi-AZ cluster that is a per-node proxy
    (127.78.0.<id>), so an AZ partition can cut clients off an isolated broker too; otherwise
    the broker itself."""
    return f"{CLIENT_NET}.{node_id}" if cluster.multi_az else "127.0.0.1"


def render_properties(props: Mapping[str, object]) -> str:
    # '#' only starts a comment at line start in .properties, so values are written verbatim.
    lines = []
    for key, value in props.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def broker_defaults(cluster: Cluster) -> dict[str, str]:
    """Settings a small test cluster needs; scenario broker_config overrides any of them."""
    n = cluster.size
    rf = min(3, n)
    return {
        "num.partitions": "3",
        "default.replication.factor": str(rf),
        "offsets.topic.replication.factor": str(rf),
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": str(min(2, rf)),
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "unclean.leader.election.enable": "false",
        "log.segment.bytes": str(64 * 1024 * 1024),
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.replica.fetchers": "1",
        "background.threads": "2",
        "log.cleaner.threads": "1",
        "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
    }


# Node-to-node traffic of a cluster with an authorizer logs in as the super user
# (topology.TOOL_PRINCIPAL): a fence must not stop replication or the KRaft quorum.


def authorizer_props(security_map: str, principals: tuple[str, ...] = ()) -> dict[str, str]:
    """Settings that give a cluster StandardAuthorizer ACLs a runbook can fence writes with.

    KRaft's authorizer refuses everyone but super users until it has loaded the metadata, and
    on PLAINTEXT every connection is `User:ANONYMOUS`: making ANONYMOUS a super user would
    also exempt the clients from a deny ACL. So the controller and inter-broker listeners
    authenticate (SASL/PLAIN) as one super user, clients stay anonymous, and resources
    without an ACL stay open to everyone (`allow.everyone.if.no.acl.found`).

    With application `principals` every listener authenticates, each principal has a password
    (`principal_secret`), kafkadrill's own clients log in as the super user, and a resource
    without an ACL is open to no one but the super user: a principal may do only what an ACL
    grants it, as on a production cluster."""
    pairs = [pair.split(":", 1) for pair in security_map.split(",")]
    sasl = {n for n, _ in pairs} if principals else {"INTERNAL", "CONTROLLER"}
    secured = ",".join(f"{n}:SASL_PLAINTEXT" if n in sasl else f"{n}:{proto}" for n, proto in pairs)
    users = "".join(
        f' user_{name}="{principal_secret(name)}"' for name in (TOOL_PRINCIPAL, *principals)
    )
    jaas = _super_user_jaas(users)
    return {
        "listener.security.protocol.map": secured,
        "sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        **{f"listener.name.{n.lower()}.plain.sasl.jaas.config": jaas for n in sorted(sasl)},
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false" if principals else "true",
        "super.users": f"User:{TOOL_PRINCIPAL}",
    }


def java_client_sasl(cluster: Cluster, prefix: str = "") -> dict[str, str]:
    """A Java client's settings (MirrorMaker 2, under `prefix`) to log in as the super user
    on a cluster with application principals; {} on any other cluster."""
    if not cluster.principals:
        return {}
    return {
        f"{prefix}security.protocol": "SASL_PLAINTEXT",
        f"{prefix}sasl.mechanism": "PLAIN",
        f"{prefix}sasl.jaas.config": _super_user_jaas(),
    }


def _super_user_jaas(users: str = "") -> str:
    """PLAIN login as the super user; `users` (a listener's): the accounts it accepts."""
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{TOOL_PRINCIPAL}" password="{TOOL_SECRET}"{users};'
    )


def render_server_properties(
    topology: Topology,
    cluster: Cluster,
    node: Node,
    plan: PortPlan,
    log_dir: str,
) -> str:
    ports = plan.node(cluster.name, node.node_id)
    voters = ",".join(
        f"{n.node_id}@{host_name(cluster.name, n.node_id)}:"
        f"{plan.node(cluster.name, n.node_id).controller}"
        for n in cluster.nodes
    )
    remote = remote_regions(topology, cluster)
    site_names = [f"SITE{i}" for i in range(len(ports.sites))]
    site_listen = "".join(
        f",{name}://127.0.0.1:{port}" for name, port in zip(site_names, ports.sites, strict=True)
    )
    site_adv = "".join(
        f",{name}://{site_host(i, node.node_id)}:{port}"
        for i, (name, port) in enumerate(zip(site_names, ports.sites, strict=True))
    )
    site_map = "".join(f",{name}:PLAINTEXT" for name in site_names)
    xdc2 = (
        (
            f",XDC2://127.0.0.1:{ports.xdc2}",
            f",XDC2://127.0.0.1:{ports.xdc2_proxy}",
            ",XDC2:PLAINTEXT",
        )
        if len(remote) > 1
        else ("", "", "")
    )
    props: dict[str, object] = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "controller.quorum.voters": voters,
        "listeners": (
            f"CLIENT://127.0.0.1:{ports.client},XDC://127.0.0.1:{ports.xdc},"
            f"INTERNAL://127.0.0.1:{ports.internal},CONTROLLER://127.0.0.1:{ports.controller}"
            + xdc2[0]
            + site_listen
        ),
        "advertised.listeners": (
            f"CLIENT://{client_host(cluster, node.node_id)}:{ports.client},"
            f"XDC://127.0.0.1:{ports.xdc_proxy},"
            f"INTERNAL://{host_name(cluster.name, node.node_id)}:{ports.internal},"
            # KRaft followers connect to the endpoint the leader advertises; without this they
            # would use the bind address and bypass the per-pair proxies (seen in a CI run: an
            # "isolated" controller leader stayed leader through a whole AZ cut).
            f"CONTROLLER://{host_name(cluster.name, node.node_id)}:{ports.controller}"
            + xdc2[1]
            + site_adv
        ),
        "listener.security.protocol.map": (
            "CLIENT:PLAINTEXT,XDC:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
            + xdc2[2]
            + site_map
        ),
        "inter.broker.listener.name": "INTERNAL",
        "controller.listener.names": "CONTROLLER",
        "log.dirs": log_dir,
        "broker.rack": node.site,
    }
    props.update(broker_defaults(cluster))
    if cluster.authorizer:
        props.update(
            authorizer_props(str(props["listener.security.protocol.map"]), cluster.principals)
        )
    props.update(cluster.broker_config)
    return render_properties(props)


def render_hosts_file(cluster: Cluster, node: Node, *, mesh: bool) -> str:
    """The hosts file of one node's JVM (it replaces DNS for that JVM entirely)."""
    lines = ["127.0.0.1 localhost", f"127.0.0.1 {socket.gethostname()}"]
    for other in cluster.nodes:
        if mesh and other.node_id != node.node_id:
            addr = mesh_address(node.node_id, other.node_id)
        else:
            addr = "127.0.0.1"
        lines.append(f"{addr} {host_name(cluster.name, other.node_id)}")
    return "\n".join(lines) + "\n"


def client_bootstrap(cluster: Cluster, plan: PortPlan) -> str:
    return ",".join(
        f"{client_host(cluster, n.node_id)}:{plan.node(cluster.name, n.node_id).client}"
        for n in cluster.nodes
    )


def remote_regions(topology: Topology, cluster: Cluster) -> tuple[str, ...]:
    """The regions whose clients reach `cluster` across a link, in topology order: the first
    through the XDC listener and its proxies, a second (three regions) through XDC2."""
    return tuple(r for r in topology.regions if r != cluster.region)


def xdc_proxy_port(plan: PortPlan, cluster: Cluster, node_id: int, index: int) -> int:
    ports = plan.node(cluster.name, node_id)
    return ports.xdc2_proxy if index == 1 else ports.xdc_proxy


def xdc_bootstrap(
    cluster: Cluster, plan: PortPlan, topology: Topology | None = None, region: str | None = None
) -> str:
    """Bootstrap servers for clients in another region (`region`; default the first remote
    one): the proxies that carry that region's link to each node."""
    remote = remote_regions(topology, cluster) if topology is not None else ()
    index = remote.index(region) if region in remote else 0
    return ",".join(
        f"127.0.0.1:{xdc_proxy_port(plan, cluster, n.node_id, index)}" for n in cluster.nodes
    )


def mm2_defaults(flow: Flow, target: Cluster) -> dict[str, str]:
    rf = str(min(3, target.size))
    t = flow.target
    s = flow.source
    return {
        "replication.factor": rf,
        "checkpoints.topic.replication.factor": rf,
        "heartbeats.topic.replication.factor": rf,
        "offset-syncs.topic.replication.factor": rf,
        # The default puts offset-syncs on the source, which is gone after a region loss.
        "offset-syncs.topic.location": "target",
        f"{t}.config.storage.replication.factor": rf,
        f"{t}.offset.storage.replication.factor": rf,
        f"{t}.status.storage.replication.factor": rf,
        f"{s}.config.storage.replication.factor": str(min(3, target.size)),
        f"{s}.offset.storage.replication.factor": str(min(3, target.size)),
        f"{s}.status.storage.replication.factor": str(min(3, target.size)),
        # Connect's defaults (25 offset and 5 status partitions per herder, on both clusters)
        # only slow MM2's start: one flow needs one partition of each.
        f"{t}.offset.storage.partitions": "1",
        f"{t}.status.storage.partitions": "1",
        f"{s}.offset.storage.partitions": "1",
        f"{s}.status.storage.partitions": "1",
        "emit.heartbeats.interval.seconds": "1",
        "emit.checkpoints.interval.seconds": "5",
        "sync.group.offsets.enabled": "true",
        "sync.group.offsets.interval.seconds": "5",
        "refresh.topics.interval.seconds": "5",
        "refresh.groups.interval.seconds": "5",
        "sync.topic.configs.interval.seconds": "10",
        # Worker settings need the target prefix, or MM2 silently ignores them.
        f"{t}.offset.flush.interval.ms": "5000",
        # A dedicated MM2 is the only worker of each herder's Connect group. When a herder
        # loses its group coordinator longer than the session timeout (a link cut, for the
        # herder whose group lives across the WAN) it rejoins under a new member id, and the
        # incremental cooperative assignor holds the "departed" member's connectors and tasks
        # for this delay (Connect's default: 5 minutes) in case it returns: its heartbeats
        # stopped for 135-194 s after a 20 s cut (measured). With one worker nobody else can
        # return, so reassign at once. A scenario may set Connect's default back to drill it.
        f"{t}.scheduled.rebalance.max.delay.ms": "0",
        f"{s}.scheduled.rebalance.max.delay.ms": "0",
        "tasks.max": "2",
        # Every bundled plugin has a ServiceLoader manifest (KIP-898): without this MM2 scans
        # the whole classpath by reflection once for itself and once per herder's worker
        # (4-8.5 s of CPU each on 2 cores, measured): unprefixed for the first, with the
        # cluster prefix for the workers.
        "plugin.discovery": "service_load",
        f"{t}.plugin.discovery": "service_load",
        f"{s}.plugin.discovery": "service_load",
    }


def mm2_clusters(topology: Topology, flows: tuple[Flow, ...]) -> tuple[Cluster, ...]:
    """The clusters an MM2 process running `flows` knows: only their ends. MM2 runs a herder
    (a Connect group `<source>-mm2` on the target) for every pair of the clusters it knows,
    enabled or not; two processes that both knew a third cluster would join the same groups
    with different settings and fight over the connectors (hub and spoke: tokyo->hub and
    paris->hub would both run a paris->hub herder)."""
    names = {n for f in flows for n in (f.source, f.target)}
    return tuple(c for c in topology.clusters if c.name in names)


def mm2_args(topology: Topology, flow: Flow) -> list[str]:
    """Command-line arguments of the MM2 process of `flow` (it knows only its two clusters).

    When the reverse flow runs too (active-active), each process must run only the herders for
    its own target (`--clusters`): otherwise both run both pairs, join the same Connect groups
    with different `enabled` settings and fight over the connectors. Without a reverse flow
    the process also runs the reverse pair, which emits the heartbeats that
    `<source>.heartbeats` on the target copies (the runtimes' replication health check).
    """
    if has_reverse_flow(topology, flow):
        return ["--clusters", flow.target]
    return []


def has_reverse_flow(topology: Topology, flow: Flow) -> bool:
    """Does the topology replicate target->source too (active-active)?"""
    return any(f.source == flow.target and f.target == flow.source for f in topology.flows)


def render_mm2_properties(
    topology: Topology,
    flows: tuple[Flow, ...],
    plan: PortPlan,
    mm2_region: str,
    generation: int = 0,
) -> str:
    """`mm2_property_map` as a properties file."""
    return render_properties(mm2_property_map(topology, flows, plan, mm2_region, generation))


def mm2_property_map(
    topology: Topology,
    flows: tuple[Flow, ...],
    plan: PortPlan,
    mm2_region: str,
    generation: int = 0,
) -> dict[str, object]:
    """One dedicated MM2 process running `flows`; it lives in `mm2_region`.

    A cluster in MM2's own region is reached on its CLIENT listener; a cluster in another region
    only through its XDC proxies. `generation` > 0 (a process restarted on a topology kept
    for another drill) gives each flow's herder a new Connect group and config topic: the
    stored task configs of the previous process name the previous drill's topics, and
    replacing them costs a task reconfiguration and rebalance (10-15 s measured). Source
    offsets stay in the shared offset topic, so nothing already copied is copied again.
    """
    ends = mm2_clusters(topology, flows)
    props: dict[str, object] = {"clusters": ",".join(c.name for c in ends)}
    for c in ends:
        props[f"{c.name}.bootstrap.servers"] = (
            client_bootstrap(c, plan)
            if c.region == mm2_region
            else xdc_bootstrap(c, plan, topology, mm2_region)
        )
        props.update(java_client_sasl(c, f"{c.name}."))
    names = [c.name for c in ends]
    for src in names:
        for dst in names:
            if src != dst:
                props[f"{src}->{dst}.enabled"] = "false"
    for flow in flows:
        props[f"{flow.name}.enabled"] = "true"
        props[f"{flow.name}.topics"] = flow.topics
        props[f"{flow.name}.groups"] = flow.groups
        props.update(mm2_defaults(flow, topology.cluster(flow.target)))
        if generation > 0:
            t, src = flow.target, flow.source
            props[f"{t}.group.id"] = f"{src}-mm2-g{generation}"
            props[f"{t}.config.storage.topic"] = f"mm2-configs.{src}.g{generation}.internal"
            props[f"{t}.status.storage.topic"] = f"mm2-status.{src}.g{generation}.internal"
        props.update(flow.properties)
    return props


LOG4J2_TEMPLATE = """status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""

LOG4J1_TEMPLATE = """log4j.rootLogger=INFO, F
log4j.appender.F=org.apache.log4j.FileAppender
log4j.appender.F.File={log}
log4j.appender.F.layout=org.apache.log4j.PatternLayout
log4j.appender.F.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
"""


def render_log_configs(log_file: str) -> tuple[str, str]:
    """(log4j2.properties for Kafka 4.x, log4j.properties for Kafka 3.x)."""
    return LOG4J2_TEMPLATE.format(log=log_file), LOG4J1_TEMPLATE.format(log=log_file)


def new_cluster_id() -> str:
    """URL-safe base64 of 16 random bytes, never starting with '-' (like Kafka's own
    Uuid.randomUuid): the storage tool would read such an id as an option."""
    while True:
        cid = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid
