"""Views derived from a validated scenario: its topology, fault schedule, failover watch time and
resolved YAML. They read the scenario through `ScenarioParts`, a structural type of what they
use (the model's Scenario has it), so the model can offer them as methods and this module needs
no import of the model: no import circle, not even for type checking. compile.py builds the
DrillPlan from them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

import yaml

from kafkadrill import __version__
from kafkadrill.errors import ScenarioError
from kafkadrill.faults.schedule import ScheduledFault, plan_timeline
from kafkadrill.scenario.errors import validation_error
from kafkadrill.secrets import redact
from kafkadrill.topology import (
    DEFAULT_STRETCH_SITES,
    Backup,
    Cluster,
    Flow,
    SchemaRegistry,
    TopicSpec,
    Topology,
    WanLink,
    nodes_round_robin,
    stretch,
    two_dc,
)


class WanParts(Protocol):
    """A WAN section (`topology.wan`) or one of its named links, as read here."""

    latency_ms: float
    jitter_ms: float
    bandwidth_kbps: int | None


class ScenarioParts(Protocol):
    """What these views read of a validated scenario (kafkadrill.scenario.model.Scenario)."""

    name: str
    seed: int | None
    duration_seconds: float
    topology: Any  # TopologySpec
    external: Any  # ExternalSpec | None
    workload: Any  # WorkloadSpec
    timeline: Any  # the timeline entries
    runbooks: Any  # RunbooksSpec

    @property
    def source(self) -> str | None: ...

    def to_topology(self) -> Topology: ...

    def schedule(self) -> list[ScheduledFault]: ...

    def model_dump(self, **kwargs: Any) -> dict[str, Any]: ...


def topology_of(s: ScenarioParts) -> Topology:
    """The topology a scenario describes (built, or described by `external`)."""
    t = s.topology
    if s.external is not None:  # clusters described, not built: names, nodes, flows
        topics = tuple(
            TopicSpec(x.name, x.partitions, x.replication_factor, dict(x.config)) for x in t.topics
        )
        return s.external.to_topology(s.name, topics, s.workload.producers.cluster)
    built = _with_backup(_with_copier_topics(_built_topology(s), s), s)
    built = _with_schema_registry(built, s)
    fo = s.runbooks.failover if s.runbooks is not None else None
    acls = any(getattr(e, "fault", None) == "acl.create" for e in s.timeline)
    if acls or (fo is not None and fo.fence is not None and fo.fence.method == "acl"):
        # ACLs (the fence, or ACL sync drilled): the clusters kafkadrill starts get an
        # authorizer.
        built = replace(built, clusters=tuple(replace(c, authorizer=True) for c in built.clusters))
    if t.principals:  # every client authenticates; only ACLs open resources
        names = tuple(t.principals)
        built = replace(
            built,
            clusters=tuple(replace(c, authorizer=True, principals=names) for c in built.clusters),
        )
    if t.features:
        levels = tuple(sorted(t.features.items()))
        built = replace(built, clusters=tuple(replace(c, features=levels) for c in built.clusters))
    return built


def _with_schema_registry(topo: Topology, s: ScenarioParts) -> Topology:
    """topology.schema_registry: its journal topic (named after the producers' topic, so it is
    run-scoped with it) created on the source cluster with the drill's topics: one partition
    (the journal is one ordered log), records kept forever."""
    spec = s.topology.schema_registry
    if spec is None:
        return topo
    source = spec.source or s.workload.producers.cluster or topo.clusters[0].name
    journal = f"{s.workload.producers.topic}-schemas"
    reg = SchemaRegistry(source, journal, spec.register_every_seconds)
    clusters = []
    for c in topo.clusters:
        if c.name == source and not any(t.name == journal for t in c.topics):
            rf = min(3, c.size)
            c = replace(c, topics=(*c.topics, TopicSpec(journal, 1, rf, {"retention.ms": "-1"})))
        clusters.append(c)
    return replace(topo, clusters=tuple(clusters), schema_registry=reg)


def _with_backup(topo: Topology, s: ScenarioParts) -> Topology:
    """topology.backup (model backup: on by default), its worker in the region of a cluster
    other than its source unless set (a loss of the source's region spares the backup)."""
    t = s.topology
    spec = t.backup
    if spec is None and t.model != "backup":
        return topo
    source = spec.source if spec is not None else "primary"
    region = spec.region if spec is not None else None
    if region is None:
        names = [c.name for c in topo.clusters]
        other = next((c for c in topo.clusters if c.name != source), None)
        src_region = topo.cluster(source).region if source in names else None
        region = other.region if other is not None else (src_region or "east")
    return replace(
        topo,
        backup=Backup(
            source,
            region,
            spec.flush_seconds if spec is not None else 10.0,
            spec.topics if spec is not None else ".*",
        ),
    )


def _with_copier_topics(topo: Topology, s: ScenarioParts) -> Topology:
    """Each copier's output topic on its cluster, created as the workload topics are (the
    runtime creates a cluster's `topics`), like its input: same partitions, rf and configs
    (a topic declared under topology.topics is kept as declared)."""
    copiers = getattr(s.workload, "copiers", None) or []
    if not copiers:
        return topo
    clusters = list(topo.clusters)
    for cp in copiers:
        at = next((i for i, c in enumerate(clusters) if c.name == cp.cluster), None)
        if at is None:
            continue  # an unknown cluster: the copier rule says so
        c = clusters[at]
        if any(t.name == cp.to_topic for t in c.topics):
            continue
        like = next((t for t in c.topics if t.name == cp.from_topic), None)
        like = like or next(
            (t for x in clusters for t in x.topics if t.name == cp.from_topic), TopicSpec("")
        )
        out = TopicSpec(cp.to_topic, like.partitions, like.replication_factor, dict(like.config))
        clusters[at] = replace(c, topics=(*c.topics, out))
    return replace(topo, clusters=tuple(clusters))


def _built_topology(s: ScenarioParts) -> Topology:
    t = s.topology
    topics = tuple(
        TopicSpec(x.name, x.partitions, x.replication_factor, dict(x.config)) for x in t.topics
    )
    if t.clusters:
        return _custom_topology(s, topics)
    if t.model == "stretch":
        built = stretch(
            t.nodes.primary,
            name=s.name,
            sites=tuple(t.azs.primary or DEFAULT_STRETCH_SITES),
            topics=topics,
            broker_config={**t.broker_config, **t.cluster_config.primary},
            kafka_version=t.kafka_version,
        )
        return replace(built, wan=_wan_links(t.wan, built, stretch=True))
    topo = two_dc(
        t.nodes.primary,
        t.nodes.dr,
        name=s.name,
        primary_azs=tuple(t.azs.primary) if t.azs.primary else None,
        dr_azs=tuple(t.azs.dr) if t.azs.dr else None,
        topics=topics,
        broker_config=dict(t.broker_config),
        mm2=dict(t.mm2),
        kafka_version=t.kafka_version,
        both_ways=t.model == "active-active",
    )
    if t.model == "backup":
        topo = replace(topo, flows=())  # the backup is the only copy
    per_cluster = t.cluster_config.model_dump()
    clusters = tuple(
        replace(c, broker_config={**c.broker_config, **per_cluster.get(c.name, {})})
        for c in topo.clusters
    )
    topo = replace(
        topo,
        clusters=clusters,
        flows=tuple(replace(f, mode=t.mm2_mode) for f in topo.flows),
    )
    return replace(topo, wan=_wan_links(t.wan, topo))


def _custom_topology(s: ScenarioParts, topics: tuple[TopicSpec, ...]) -> Topology:
    """`topology.clusters` and `topology.flows` as given; a topic is created where its
    `clusters` say, else on every cluster a producer group writes to."""
    t = s.topology
    writers = {g.cluster for g in s.workload.producer_groups()}
    where = {x.name: x.clusters for x in t.topics}
    clusters = tuple(
        Cluster(
            c.name,
            c.region,
            nodes_round_robin(c.nodes, tuple(c.azs) if c.azs else None, c.region),
            {**t.broker_config, **c.broker_config},
            tuple(
                x
                for x in topics
                if (c.name in where[x.name] if where[x.name] is not None else c.name in writers)
            ),
        )
        for c in t.clusters
    )
    flows = tuple(
        Flow(f.source, f.target, {**t.mm2, **f.mm2}, f.topics, f.groups, f.mm2_mode or t.mm2_mode)
        for f in t.flows
    )
    topo = Topology(s.name, clusters, flows, t.kafka_version)
    return replace(topo, wan=_wan_links(t.wan, topo))


def schedule_of(s: ScenarioParts) -> list[ScheduledFault]:
    """The concrete fault schedule (random entries drawn with `seed`), sorted by `at`."""
    faults, problems = plan_timeline(
        s.timeline,
        seed=s.seed or 0,
        topology=s.to_topology(),
        duration_seconds=s.duration_seconds,
    )
    if problems:
        raise validation_error(problems, s.source, {})
    return faults


def failover_watch_at(s: ScenarioParts) -> float | None:
    """Seconds into the fault phase when the failover runbook starts probing, or None."""
    fo = s.runbooks.failover
    if fo is None:
        return None
    if fo.trigger.at is not None:
        return fo.trigger.at
    sf = trigger_fault(fo.trigger.on_fault, s.schedule())
    return None if sf is None else sf.at


def resolved_yaml(s: ScenarioParts) -> str:
    """The fully resolved scenario (defaults filled in, secrets redacted) as YAML.

    Loading it again gives the same scenario; the expanded schedule is appended as comments
    so the run directory shows exactly what was injected.
    """
    data = redact(s.model_dump(mode="json", by_alias=True))
    head = [
        f"# resolved by kafkadrill {__version__}" + (f" from {s.source}" if s.source else ""),
        f"# seed {s.seed}; times are seconds after warmup",
    ]
    body = yaml.safe_dump(
        data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100
    )
    try:
        sched = s.schedule()
    except ScenarioError:
        sched = []
    tail = (
        ["# schedule:"]
        + [
            f"#   at {f.at:g}s for {f.duration:g}s: {f.fault} {_inline_params(f.params)}"
            f"  <- {f.origin}"
            for f in sched
        ]
        if sched
        else []
    )
    return "\n".join(head) + "\n" + body + ("\n".join(tail) + "\n" if tail else "")


def _inline_params(params: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in params.items()) + "}"


def trigger_fault(
    on_fault: int | str | None, schedule: list[ScheduledFault]
) -> ScheduledFault | None:
    """The scheduled fault a failover trigger (`on_fault`: timeline index or type) names."""
    for sf in schedule:  # sorted by time: the first match is the earliest
        if (isinstance(on_fault, int) and sf.index == on_fault) or sf.fault == on_fault:
            return sf
    return None


# --------------------------------------------------------------------------------------------
# Redaction: the product-wide policy lives in kafkadrill.secrets (re-exported here as `redact`)


def _wan_links(wan: Any, topo: Topology, *, stretch: bool = False) -> tuple[WanLink, ...]:
    """The WAN per link: named links as given, every other cross-region link (stretch: every
    link between the cluster's sites) the defaults. `wan`: the WanParts defaults with a
    `links` mapping of name -> WanParts, or None."""
    if wan is None:
        return ()
    out: list[WanLink] = []
    regions = set(topo.regions)
    for link in topo.links:
        spec: WanParts | None = next(
            (v for k, v in wan.links.items() if link_key(k) == {link.a, link.b}), None
        )
        if spec is None and (stretch or {link.a, link.b} <= regions):
            spec = wan
        if spec is not None:
            out.append(
                WanLink(link.a, link.b, spec.latency_ms, spec.jitter_ms, spec.bandwidth_kbps)
            )
    return tuple(out)


def link_key(name: str) -> set[str]:
    a, _, b = name.partition("<->")
    return {a.strip(), b.strip()}
