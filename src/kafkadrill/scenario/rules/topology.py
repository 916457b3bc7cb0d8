"""Topology rules: clusters, nodes, AZs, replication factors, flows, topics and the baseline
WAN must fit together before anything starts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kafkadrill.faults.catalog import Problem, did_you_mean, known
from kafkadrill.scenario.derive import link_key
from kafkadrill.scenario.model import (
    CLUSTERS,
    NAME_RE,
    AzMap,
    ClusterConfigs,
    NodeCounts,
    TopicModel,
    TopologySpec,
)
from kafkadrill.scenario.rules.registry import RuleContext, rule
from kafkadrill.topology import DEFAULT_STRETCH_SITES, Topology

if TYPE_CHECKING:
    from kafkadrill.scenario.model import Scenario


@rule(10, needs_topology=False)
def topology_rule(ctx: RuleContext) -> list[Problem]:
    return _topology_problems(ctx.scenario)


@rule(20)
def wan_rule(ctx: RuleContext) -> list[Problem]:
    return _wan_problems(ctx.scenario, ctx.topology)


@dataclass(frozen=True)
class _BuiltOnly:
    """A setting that shapes what kafkadrill itself starts, so the external runtime (which
    drills clusters and services the user runs) refuses it."""

    field: str
    present: Callable[[Scenario], bool]
    why: str
    fix: str


_BUILT_ONLY = (
    _BuiltOnly(
        "topology.features",
        lambda s: bool(s.topology.features),
        "feature levels are set when kafkadrill formats the clusters it starts; the external "
        "runtime drills clusters you formatted",
        "remove topology.features (set them on your clusters with kafka-features.sh before the "
        "drill)",
    ),
    _BuiltOnly(
        "topology.mm2_mode",
        lambda s: (
            s.topology.mm2_mode == "connect"
            or any(f.mm2_mode == "connect" for f in s.topology.flows)
        ),
        "mm2_mode chooses how kafkadrill runs MirrorMaker 2; the external runtime drills the MM2 "
        "you run",
        "remove mm2_mode (point external.flows[].connect at your Kafka Connect REST API)",
    ),
    _BuiltOnly(
        "topology.backup",
        lambda s: s.topology.backup is not None or s.topology.model == "backup",
        "kafkadrill runs the backup's Kafka Connect worker; the external runtime drills the "
        "backups you run",
        "remove topology.backup (run the drill on the local runtime)",
    ),
    _BuiltOnly(
        "topology.schema_registry",
        lambda s: s.topology.schema_registry is not None,
        "kafkadrill runs the schema registries; the external runtime drills yours",
        "remove topology.schema_registry (run the drill on the local runtime)",
    ),
    _BuiltOnly(
        "topology.principals",
        lambda s: bool(s.topology.principals or s.topology.acls),
        "principals and their ACLs are set up on the clusters kafkadrill starts; the external "
        "runtime drills yours",
        "remove topology.principals and topology.acls (give your clients their credentials in "
        "external.clusters.<name>.client_config; run this drill on the local runtime)",
    ),
)


@rule(21, needs_topology=False)
def built_only_rule(ctx: RuleContext) -> list[Problem]:
    """Settings of what kafkadrill starts, refused on the external runtime (one table)."""
    s = ctx.scenario
    if s.external is None:
        return []
    return [Problem(b.field, b.why, b.fix) for b in _BUILT_ONLY if b.present(s)]


def _short(v: object) -> str:
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _int_or_none(v: str | None) -> int | None:
    # Bounded: int() of a 5000-digit string raises ValueError, and no setting needs 19 digits.
    if v is None or not re.fullmatch(r"\s*[+-]?[0-9]{1,18}\s*", v):
        return None
    return int(v)


def _wan_problems(s: Scenario, topo: Topology) -> list[Problem]:
    wan = s.topology.wan
    if wan is None:
        return []
    if s.external is not None:
        return [
            Problem(
                "topology.wan",
                "the external runtime drills your real network: kafkadrill cannot add a WAN",
                "remove topology.wan (add latency with a link.latency fault through your "
                "Toxiproxy if you want more)",
            )
        ]
    probs: list[Problem] = []
    known_links = [link.name for link in topo.links]
    for name, spec in wan.links.items():
        field = f"topology.wan.links.{name}"
        if not any(link_key(name) == {link.a, link.b} for link in topo.links):
            probs.append(
                Problem(
                    field,
                    f"no link {name!r} in this topology",
                    f"one of: {', '.join(known_links)}" + did_you_mean(name, known_links),
                )
            )
        if spec.jitter_ms > spec.latency_ms:
            probs.append(
                Problem(field, "jitter_ms exceeds latency_ms", "keep jitter_ms <= latency_ms")
            )
    if wan.jitter_ms > wan.latency_ms:
        probs.append(
            Problem("topology.wan", "jitter_ms exceeds latency_ms", "keep jitter_ms <= latency_ms")
        )
    return probs


def _stretch_problems(t: TopologySpec) -> list[Problem]:
    """A stretch cluster is one cluster: nothing of the dr cluster or MM2 may be configured."""
    probs: list[Problem] = []
    fix = "remove it (model: stretch has one cluster, primary, and no MM2)"
    # By value, not by presence: the resolved scenario written to every run directory spells
    # out the defaults (nodes.dr: 3) and must load back.
    default_dr = NodeCounts.model_fields["dr"].default
    for field, set_ in (
        ("nodes.dr", t.nodes.dr != default_dr),
        ("azs.dr", t.azs.dr is not None),
        ("cluster_config.dr", bool(t.cluster_config.dr)),
    ):
        if set_:
            probs.append(Problem(f"topology.{field}", "a stretch topology has no dr", fix))
    if t.mm2:
        probs.append(Problem("topology.mm2", "a stretch topology has no MM2 flow", fix))
    if t.mm2_mode != "dedicated":
        probs.append(Problem("topology.mm2_mode", "a stretch topology has no MM2 flow", fix))
    sites = t.azs.primary or list(DEFAULT_STRETCH_SITES)
    if len(set(sites)) < 2:
        probs.append(
            Problem(
                "topology.azs.primary",
                f"a stretch cluster spans sites; {len(set(sites))} given",
                "list 3 sites, e.g. [east-a, east-b, east-c]",
            )
        )
    elif t.nodes.primary < len(sites):
        probs.append(
            Problem(
                "topology.nodes.primary",
                f"{t.nodes.primary} node(s) cannot cover {len(sites)} sites",
                f"use at least {len(sites)} nodes (one per site)",
            )
        )
    return probs


def _counted_problem(
    field: str, key: str, val: Any, size: int, cname: str, grow: str
) -> Problem | None:
    """A replication factor or min.insync.replicas setting that cluster `cname` (`size` nodes)
    cannot honour."""
    n = _int_or_none(val)
    if n is None:
        return Problem(field, f"{key} is not an integer: {_short(val)}", "use a whole number >= 1")
    if n < 1:  # Kafka refuses to start with these below 1
        return Problem(field, f"{key}={n} must be at least 1", "use 1 or more")
    if n > size:
        return Problem(
            field,
            f"{key}={n} is larger than cluster '{cname}' ({size} nodes)",
            f"use <= {size} or raise {grow}",
        )
    return None


def _counted(key: str) -> bool:
    return key.endswith("replication.factor") or key == "min.insync.replicas"


def _az_problems(
    field: str,
    azs: list[str],
    nodes: int,
    regions: set[str],
    seen: dict[str, str],
    owner: str,
    *,
    grow: str,
    example: str,
) -> list[Problem]:
    probs: list[Problem] = []
    if not azs:
        probs.append(Problem(field, "empty AZ list", "omit it for a single-site cluster"))
    for az in azs:
        if not re.fullmatch(NAME_RE, az) or az in regions:
            probs.append(
                Problem(
                    field,
                    f"invalid AZ name '{az}': lower-case [a-z0-9-], not a region name "
                    f"({', '.join(sorted(regions))})",
                    example,
                )
            )
        elif az in seen:
            probs.append(Problem(field, f"AZ '{az}' is listed twice (also in {seen[az]})"))
        seen.setdefault(az, owner)
    if len(azs) > nodes:
        probs.append(
            Problem(field, f"{len(azs)} AZs but only {nodes} nodes: every AZ needs a node", grow)
        )
    return probs


def _custom_topology_problems(s: Scenario) -> list[Problem]:
    """`topology.clusters` / `topology.flows`: names, sizes, flows and where topics go."""
    t = s.topology
    if not t.clusters:
        return [Problem("topology.clusters", "model custom lists its clusters", "add clusters")]
    sizes = {c.name: c.nodes for c in t.clusters}
    names = [c.name for c in t.clusters]
    return [
        *_custom_model_problems(t),
        *_custom_cluster_problems(t),
        *_custom_flow_problems(t, sizes, names),
        *_custom_topic_problems(s, sizes, names),
    ]


def _custom_model_problems(t: TopologySpec) -> list[Problem]:
    """With topology.clusters, no built-in model and none of the built-in models' keys."""
    probs: list[Problem] = []
    if "model" in t.model_fields_set and t.model != "custom":
        probs.append(
            Problem(
                "topology.model",
                f"model {t.model} builds its own clusters (primary, dr); topology.clusters "
                "lists yours",
                "remove topology.model (or topology.clusters)",
            )
        )
    for name, default, per_cluster in (
        ("nodes", NodeCounts(), "nodes"),
        ("azs", AzMap(), "azs"),
        ("cluster_config", ClusterConfigs(), "broker_config"),
    ):
        # By value: the resolved scenario of a built-in model spells out these defaults.
        if getattr(t, name) != default:
            probs.append(
                Problem(
                    f"topology.{name}",
                    "belongs to the built-in models (primary, dr)",
                    f"set it per cluster: topology.clusters[i].{per_cluster}",
                )
            )
    return probs


def _custom_cluster_problems(t: TopologySpec) -> list[Problem]:
    """Cluster names are unique, AZs valid, counted broker settings fit each cluster."""
    probs: list[Problem] = []
    regions = {c.region for c in t.clusters}
    names: list[str] = []
    azs_seen: dict[str, str] = {}
    for i, c in enumerate(t.clusters):
        here = f"topology.clusters[{i}]"
        if c.name in names:
            probs.append(Problem(f"{here}.name", f"cluster '{c.name}' is defined twice"))
        names.append(c.name)
        if c.azs is not None:
            probs += _az_problems(
                f"{here}.azs",
                c.azs,
                c.nodes,
                regions,
                azs_seen,
                c.name,
                grow=f"raise {here}.nodes",
                example=f"e.g. {c.region}-a",
            )
        for key, val in {**t.broker_config, **c.broker_config}.items():
            own = key in c.broker_config
            field = f"{here}.broker_config.{key}" if own else f"topology.broker_config.{key}"
            if _counted(key):
                p = _counted_problem(field, key, val, c.nodes, c.name, f"{here}.nodes")
                probs += [p] if p else []
    return probs


def _custom_flow_problems(
    t: TopologySpec, sizes: dict[str, int], names: list[str]
) -> list[Problem]:
    """Flows join two known, different clusters once, with valid filters and a fitting RF."""
    probs: list[Problem] = []
    pairs: list[tuple[str, str]] = []
    for i, f in enumerate(t.flows):
        here = f"topology.flows[{i}]"
        for end, val in (("source", f.source), ("target", f.target)):
            if val not in sizes:
                probs.append(
                    Problem(
                        f"{here}.{end}",
                        f"unknown cluster '{val}'{did_you_mean(val, names)}; {known(names)}",
                    )
                )
        if f.source == f.target:
            probs.append(Problem(f"{here}.target", "a flow needs two different clusters"))
        if (f.source, f.target) in pairs:
            probs.append(
                Problem(here, f"flow {f.source}->{f.target} is defined twice", "merge them")
            )
        pairs.append((f.source, f.target))
        for pattern_field in ("topics", "groups"):
            try:
                re.compile(getattr(f, pattern_field))
            except re.error as e:
                probs.append(Problem(f"{here}.{pattern_field}", f"not a regular expression: {e}"))
        rf = {**t.mm2, **f.mm2}.get("replication.factor")
        if rf is not None and f.target in sizes:
            grow = f"topology.clusters[{names.index(f.target)}].nodes"
            field = (
                f"{here}.mm2.replication.factor"
                if "replication.factor" in f.mm2
                else "topology.mm2.replication.factor"
            )
            p = _counted_problem(field, "replication.factor", rf, sizes[f.target], f.target, grow)
            probs += [p] if p else []
    return probs


def _custom_topic_problems(s: Scenario, sizes: dict[str, int], names: list[str]) -> list[Problem]:
    """Topics are defined once, on known clusters whose size fits their RF and min ISR."""
    t = s.topology
    probs: list[Problem] = []
    writers = {g.cluster for g in s.workload.producer_groups()}
    probs += _twice_defined_topics(t.topics)
    for i, topic in enumerate(t.topics):
        here = f"topology.topics[{i}]"
        for cname in topic.clusters or []:
            if cname not in sizes:
                probs.append(
                    Problem(
                        f"{here}.clusters",
                        f"unknown cluster '{cname}'{did_you_mean(cname, names)}; {known(names)}",
                    )
                )
        on = [c for c in (topic.clusters if topic.clusters is not None else writers) if c in sizes]
        for cname in on:
            if topic.replication_factor > sizes[cname]:
                probs.append(
                    Problem(
                        f"{here}.replication_factor",
                        f"replication_factor {topic.replication_factor} is larger than "
                        f"cluster '{cname}' ({sizes[cname]} nodes)",
                        f"use replication_factor <= {sizes[cname]}",
                    )
                )
        probs += _min_isr_problems(here, topic, t.broker_config)
    return probs


def _twice_defined_topics(topics: list[TopicModel]) -> list[Problem]:
    names = [t.name for t in topics]
    probs = [
        Problem(f"topology.topics[{i}].name", f"topic '{n}' is defined twice")
        for i, n in enumerate(names)
        if n in names[:i]
    ]
    return probs + _colliding_topics(names)


def _colliding_topics(names: list[str]) -> list[Problem]:
    """Kafka refuses a topic whose name equals another's once '.' and '_' are made the same
    (their metric names would collide): `a.b` beside `a_b` fails at creation, mid-setup."""
    seen: dict[str, str] = {}
    probs = []
    for i, n in enumerate(names):
        key = n.replace(".", "_")
        other = seen.setdefault(key, n)
        if other != n:
            probs.append(
                Problem(
                    f"topology.topics[{i}].name",
                    f"topic '{n}' collides with topic '{other}': Kafka treats '.' and '_' in "
                    "topic names as the same and refuses the second",
                    "rename one of them",
                )
            )
    return probs


def _min_isr_problems(here: str, topic: TopicModel, cluster_cfg: dict[str, Any]) -> list[Problem]:
    own = topic.config.get("min.insync.replicas")
    min_isr = _int_or_none(own if own is not None else cluster_cfg.get("min.insync.replicas"))
    if own is not None and min_isr is None:
        return [Problem(f"{here}.config.min.insync.replicas", f"not an integer: {_short(own)}")]
    if own is not None and min_isr is not None and min_isr < 1:
        # Kafka rejects 0 and -1 when the topic is created, after the clusters started.
        return [
            Problem(
                f"{here}.config.min.insync.replicas",
                f"min.insync.replicas {min_isr} must be at least 1",
                f"use 1..{topic.replication_factor} (2 with replication_factor 3 is usual)",
            )
        ]
    if min_isr is not None and min_isr > topic.replication_factor:
        field = (
            f"{here}.config.min.insync.replicas"
            if own is not None
            else "topology.broker_config.min.insync.replicas"
        )
        return [
            Problem(
                field,
                f"min.insync.replicas {min_isr} is larger than topic '{topic.name}' "
                f"replication_factor {topic.replication_factor}: acks=all writes could never "
                "succeed",
                f"use min.insync.replicas <= {topic.replication_factor}",
            )
        ]
    return []


def _topology_problems(s: Scenario) -> list[Problem]:
    t = s.topology
    if t.clusters or t.model == "custom":
        return _custom_topology_problems(s)
    probs: list[Problem] = _stretch_problems(t) if t.model == "stretch" else []
    if t.flows:
        probs.append(
            Problem(
                "topology.flows",
                f"model {t.model} builds its own flows",
                "list your clusters under topology.clusters to give flows",
            )
        )
    for i, topic in enumerate(t.topics):
        if topic.clusters is not None:
            probs.append(
                Problem(
                    f"topology.topics[{i}].clusters",
                    f"model {t.model} creates topics on primary (active-active: on both)",
                    "remove it, or list your clusters under topology.clusters",
                )
            )
    sizes = {"primary": t.nodes.primary, "dr": t.nodes.dr}
    regions = {"primary": "east", "dr": "west"}
    all_azs: dict[str, str] = {}
    for cname in CLUSTERS:
        azs = getattr(t.azs, cname)
        if azs is not None:
            probs += _az_problems(
                f"topology.azs.{cname}",
                azs,
                sizes[cname],
                set(regions.values()),
                all_azs,
                cname,
                grow=f"raise topology.nodes.{cname}",
                example=f"e.g. {regions[cname]}-a",
            )

    clusters_cfg = {c: {**t.broker_config, **getattr(t.cluster_config, c)} for c in CLUSTERS}
    for cname in CLUSTERS:
        for key, val in clusters_cfg[cname].items():
            own = key in getattr(t.cluster_config, cname)
            field = (
                f"topology.cluster_config.{cname}.{key}" if own else f"topology.broker_config.{key}"
            )
            if _counted(key):
                grow = f"topology.nodes.{cname}"
                p = _counted_problem(field, key, val, sizes[cname], cname, grow)
                probs += [p] if p else []
    mm2_rf = _int_or_none(t.mm2.get("replication.factor"))
    if mm2_rf is not None and mm2_rf > sizes["dr"]:
        probs.append(
            Problem(
                "topology.mm2.replication.factor",
                f"{mm2_rf} is larger than cluster 'dr' ({sizes['dr']} nodes)",
                f"use <= {sizes['dr']}",
            )
        )

    probs += _twice_defined_topics(t.topics)
    for i, topic in enumerate(t.topics):
        here = f"topology.topics[{i}]"
        if topic.replication_factor > sizes["primary"]:
            probs.append(
                Problem(
                    f"{here}.replication_factor",
                    f"replication_factor {topic.replication_factor} is larger than "
                    f"cluster 'primary' ({sizes['primary']} nodes)",
                    f"use replication_factor <= {sizes['primary']} or raise topology.nodes.primary",
                )
            )
        probs += _min_isr_problems(here, topic, clusters_cfg["primary"])
    return probs


@rule(23)
def backup_rule(ctx: RuleContext) -> list[Problem]:
    """topology.backup names a cluster and a region of the topology; a failover that restores
    needs a backup of the cluster it fails over from; kafkadrill runs the backup's worker, so
    not on the external runtime."""
    s, topo = ctx.scenario, ctx.topology
    probs: list[Problem] = []
    fo = s.runbooks.failover if s.runbooks is not None else None
    restores = fo is not None and fo.restore_backup
    backup = topo.backup
    if backup is None:
        if restores:
            probs.append(
                Problem(
                    "runbooks.failover.restore_backup",
                    "the failover restores a backup but the topology has none",
                    "add topology.backup (or use topology.model: backup), or set "
                    "restore_backup: false",
                )
            )
        return probs
    if s.external is not None:
        return []  # refused by built_only_rule
    names = [c.name for c in topo.clusters]
    if backup.source not in names:
        probs.append(
            Problem(
                "topology.backup.from",
                f"unknown cluster {backup.source!r}{did_you_mean(backup.source, names)}",
                f"name one of {names}",
            )
        )
    if backup.region not in topo.regions:
        probs.append(
            Problem(
                "topology.backup.region",
                f"unknown region {backup.region!r}",
                f"name one of {list(topo.regions)} (or leave it null)",
            )
        )
    try:
        re.compile(backup.topics)
    except re.error as exc:
        probs.append(Problem("topology.backup.topics", f"not a regex: {exc}", "fix the regex"))
    if restores and fo is not None and fo.from_cluster != backup.source:
        probs.append(
            Problem(
                "runbooks.failover.restore_backup",
                f"the failover leaves {fo.from_cluster!r} but the backup is of {backup.source!r}",
                "back up the cluster the failover leaves (topology.backup.from)",
            )
        )
    return probs


@rule(24)
def schema_registry_rule(ctx: RuleContext) -> list[Problem]:
    """topology.schema_registry names a cluster of the topology; kafkadrill runs the
    registries, so not on the external runtime."""
    s, reg = ctx.scenario, ctx.topology.schema_registry
    if reg is None:
        return []
    if s.external is not None:
        return []  # refused by built_only_rule
    names = [c.name for c in ctx.topology.clusters]
    if reg.source not in names:
        return [
            Problem(
                "topology.schema_registry.from",
                f"unknown cluster {reg.source!r}{did_you_mean(reg.source, names)}",
                f"name one of {names}",
            )
        ]
    return []
