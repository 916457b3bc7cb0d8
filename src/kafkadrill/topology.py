"""Topology model: pure data describing sites, clusters, flows and links.

Nothing here starts a process; runtimes (`local`, later `compose`) bring a Topology to life.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from itertools import combinations


def topic_pattern(topic: str) -> str:
    """Regex matching a topic and its MM2-renamed copies (`primary.orders`), also copies of
    copies (`dr.primary.orders`): a replication cycle, which the final read must see to report."""
    return rf"^([A-Za-z0-9_-]+\.)*{re.escape(topic)}$"


def full_match_regex(pattern: str) -> str:
    """A topic regex as a client subscription (a `^` entry is a regex to librdkafka) that
    matches whole names only, like Python's `re.fullmatch(pattern, topic)`."""
    return "^(" + pattern.removeprefix("^").removesuffix("$") + ")$"


def subscribed(subscription: list[str] | tuple[str, ...], topic: str) -> bool:
    """Whether a client subscription (names, or `^` regexes) covers `topic`."""
    return any(
        re.match(entry, topic) is not None if entry.startswith("^") else entry == topic
        for entry in subscription
    )


#: The super user the nodes of a cluster with an authorizer log in as (node to node), and, on a
#: cluster with application principals, every client kafkadrill itself runs (admin requests,
#: probes, final reads, MirrorMaker 2): they observe and repair, so ACLs must not stop them.
TOOL_PRINCIPAL = "kd-node"
TOOL_SECRET = "kd-node-secret"  # loopback or a container network of this machine only


def principal_secret(name: str) -> str:
    """The SASL/PLAIN password of a principal on the clusters kafkadrill starts (loopback or a
    container network of this machine only). Derived, so equal topologies stay equal; still a
    secret to the secret policy (by key and by the JAAS shape)."""
    import hashlib

    if name == TOOL_PRINCIPAL:
        return TOOL_SECRET
    return "kd-" + hashlib.sha256(f"kafkadrill principal {name}".encode()).hexdigest()[:20]


def sasl_client_conf(name: str) -> dict[str, str]:
    """librdkafka settings that log a client in as principal `name` (SASL/PLAIN)."""
    return {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": name,
        "sasl.password": principal_secret(name),
    }


@dataclass(frozen=True)
class Node:
    """One combined KRaft broker+controller."""

    node_id: int
    site: str  # an AZ name such as "east-a"; equal to the region when AZs are not modelled


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3
    replication_factor: int = 3
    config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Cluster:
    name: str
    region: str  # the region site ("east"); nodes sit in AZ sites inside it
    nodes: tuple[Node, ...]
    broker_config: dict[str, str] = field(default_factory=dict)
    topics: tuple[TopicSpec, ...] = ()
    # An ACL authorizer, so that a runbook can fence writes (runtimes.shared.config).
    authorizer: bool = False
    # Feature levels set when the cluster's storage is formatted (`kafka-storage format
    # --feature name=level`), e.g. (("transaction.version", 1),); () = the version's defaults.
    features: tuple[tuple[str, int], ...] = ()
    # Application principals (topology.principals): every client listener then authenticates
    # (SASL/PLAIN), no resource is open without an ACL, and kafkadrill's own clients log in as
    # the nodes' super user (TOOL_PRINCIPAL).
    principals: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.nodes)

    @property
    def azs(self) -> tuple[str, ...]:
        seen: list[str] = []
        for n in self.nodes:
            if n.site not in seen:
                seen.append(n.site)
        return tuple(seen)

    @property
    def multi_az(self) -> bool:
        return len(self.azs) > 1

    def node(self, node_id: int) -> Node:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(f"cluster {self.name!r} has no node {node_id}")


@dataclass(frozen=True)
class Flow:
    """An MM2 replication flow `source->target`; MM2 runs in the target's region."""

    source: str
    target: str
    properties: dict[str, str] = field(default_factory=dict)
    topics: str = ".*"
    groups: str = ".*"
    #: How MM2 runs: `dedicated` (the MirrorMaker driver, one process per flow) or `connect`
    #: (MM2's connectors on a Kafka Connect worker with REST, the way Strimzi runs it).
    mode: str = "dedicated"

    @property
    def name(self) -> str:
        return f"{self.source}->{self.target}"

    def remote_topic(self, topic: str) -> str:
        """DefaultReplicationPolicy: `orders` from `primary` is `primary.orders` on the target;
        IdentityReplicationPolicy keeps the name."""
        policy = self.properties.get("replication.policy.class", "")
        return topic if policy.endswith("IdentityReplicationPolicy") else f"{self.source}.{topic}"


@dataclass(frozen=True)
class Backup:
    """A backup of `source`'s topics by a Kafka Connect sink connector running in `region`
    (kafkadrill's own, writing segment files: runtimes/shared/backup.py). A segment is in the
    backup once written, every `flush_seconds` (Connect's offset flush: the backup frequency)."""

    source: str
    region: str
    flush_seconds: float = 10.0
    topics: str = ".*"  # regex over the source's topics (internal and MM2 topics never)


@dataclass(frozen=True)
class SchemaRegistry:
    """A schema registry on every cluster (runtimes/shared/schema_registry.py): `source`'s
    writes the `journal` topic, MM2 mirrors it, every flow target's replays its copy read-only
    until a failover switches it. The application registers a new value schema version every
    `register_every_seconds` (None: never)."""

    source: str
    journal: str
    register_every_seconds: float | None = 3.0

    def journal_on(self, topology: Topology, cluster: str) -> tuple[str, bool]:
        """(the journal topic `cluster`'s registry replays, read-only?)."""
        if cluster == self.source:
            return self.journal, False
        flow = next(
            (f for f in topology.flows if f.source == self.source and f.target == cluster), None
        )
        if flow is None:
            return self.journal, False  # its own registry, not a replica
        return flow.remote_topic(self.journal), True


@dataclass(frozen=True)
class Link:
    """A network path between two sites; every byte between them crosses a proxy."""

    a: str
    b: str

    @property
    def name(self) -> str:
        return f"{self.a}<->{self.b}"


@dataclass(frozen=True)
class WanLink:
    """The baseline network between two sites, in force for the whole run (faults add to it).

    `latency_ms` is one way: a request and its answer each cross it, so a round trip costs
    twice that. `jitter_ms` varies each delay by up to that much; `bandwidth_kbps` caps the
    throughput per direction and per proxied connection path (None = uncapped).
    """

    a: str
    b: str
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    bandwidth_kbps: int | None = None

    @property
    def name(self) -> str:
        return f"{self.a}<->{self.b}"

    def matches(self, link: Link) -> bool:
        return {self.a, self.b} == {link.a, link.b}


@dataclass(frozen=True)
class Topology:
    name: str
    clusters: tuple[Cluster, ...]
    flows: tuple[Flow, ...] = ()
    kafka_version: str | None = None  # None = the provisioned default
    wan: tuple[WanLink, ...] = ()
    backup: Backup | None = None
    schema_registry: SchemaRegistry | None = None

    def cluster(self, name: str) -> Cluster:
        for c in self.clusters:
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.clusters)
        raise KeyError(f"unknown cluster {name!r} (known: {known})")

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.region for c in self.clusters))

    @property
    def sites(self) -> tuple[str, ...]:
        out: list[str] = list(self.regions)
        for c in self.clusters:
            out.extend(az for az in c.azs if az not in out)
        return tuple(out)

    @property
    def links(self) -> tuple[Link, ...]:
        """Region-to-region links plus AZ-to-AZ links inside multi-AZ clusters."""
        out = [Link(a, b) for a, b in combinations(self.regions, 2)]
        for c in self.clusters:
            if c.multi_az:
                out.extend(Link(a, b) for a, b in combinations(c.azs, 2))
        return tuple(out)

    def cluster_in(self, region: str) -> tuple[Cluster, ...]:
        return tuple(c for c in self.clusters if c.region == region)


# Clusters per topology: every cluster gets its own block of ports (runtimes/shared/ports.py),
# and the scenario schema bounds topology.clusters by it; kept here so neither imports the other.
MAX_CLUSTERS = 3
DEFAULT_PRIMARY_AZS = ("east-a", "east-b", "east-c")
DEFAULT_DR_AZS = ("west-a", "west-b", "west-c")


def nodes_round_robin(count: int, azs: tuple[str, ...] | None, region: str) -> tuple[Node, ...]:
    if azs is None:
        return tuple(Node(i + 1, region) for i in range(count))
    # Round-robin over AZs, the usual rack-aware layout.
    return tuple(Node(i + 1, azs[i % len(azs)]) for i in range(count))


def two_dc(
    nodes: int = 3,
    dr_nodes: int | None = None,
    *,
    name: str = "two-dc",
    primary_azs: tuple[str, ...] | None = None,
    dr_azs: tuple[str, ...] | None = None,
    topics: tuple[TopicSpec, ...] | None = None,
    broker_config: dict[str, str] | None = None,
    mm2: dict[str, str] | None = None,
    kafka_version: str | None = None,
    both_ways: bool = False,
) -> Topology:
    """The default topology: `primary` in `east`, `dr` in `west`, MM2 primary->dr (and
    dr->primary with `both_ways`: active-active; DefaultReplicationPolicy prefixes keep MM2
    from copying a record back to its origin)."""
    dr_nodes = nodes if dr_nodes is None else dr_nodes
    rf = min(3, nodes, dr_nodes)
    if topics is None:
        topics = (TopicSpec("orders", partitions=3, replication_factor=rf),)
    primary = Cluster(
        "primary",
        "east",
        nodes_round_robin(nodes, primary_azs, "east"),
        dict(broker_config or {}),
        topics,
    )
    dr = Cluster(
        "dr", "west", nodes_round_robin(dr_nodes, dr_azs, "west"), dict(broker_config or {}), ()
    )
    if both_ways:
        # Each side has its own topics (the same names) and receives the other's copies.
        dr = replace(dr, topics=topics)
        flows: tuple[Flow, ...] = (
            Flow("primary", "dr", dict(mm2 or {})),
            Flow("dr", "primary", dict(mm2 or {})),
        )
    else:
        flows = (Flow("primary", "dr", dict(mm2 or {})),)
    return Topology(name, (primary, dr), flows, kafka_version)


DEFAULT_STRETCH_SITES = ("east-a", "east-b", "east-c")
#: Brokers serve consumers from the replica in the consumer's site (KIP-392): what makes reads
#: local in a stretch cluster.
RACK_AWARE_SELECTOR = "org.apache.kafka.common.replica.RackAwareReplicaSelector"


def stretch(
    nodes: int = 3,
    *,
    name: str = "stretch",
    sites: tuple[str, ...] = DEFAULT_STRETCH_SITES,
    region: str = "east",
    topics: tuple[TopicSpec, ...] | None = None,
    broker_config: dict[str, str] | None = None,
    kafka_version: str | None = None,
) -> Topology:
    """One cluster `primary` stretched over several sites (broker.rack = site; every node is a
    broker and a KRaft controller, placed round-robin, so the controllers span the sites too).
    No second cluster and no replication flow: the cluster's own replication is the DR."""
    if topics is None:
        rf = min(3, nodes)
        topics = (TopicSpec("orders", 3, rf, {"min.insync.replicas": str(min(2, rf))}),)
    config = {"replica.selector.class": RACK_AWARE_SELECTOR, **(broker_config or {})}
    cluster = Cluster("primary", region, nodes_round_robin(nodes, sites, region), config, topics)
    return Topology(name, (cluster,), (), kafka_version)


def reuse_key(topology: Topology) -> Topology:
    """What must be equal for a running topology to serve another drill: clusters (nodes,
    sites, broker settings), the baseline WAN and the Kafka version. Topics (run-scoped, made
    per drill), replication flows (restarted per drill) and the name may differ."""
    return replace(
        topology,
        name="",
        clusters=tuple(replace(c, topics=()) for c in topology.clusters),
        flows=(),
        backup=None,  # its worker restarts per drill, over the drill's topics
        schema_registry=None,  # likewise the registries, on the drill's journal
    )
