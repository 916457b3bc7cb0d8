"""Scenario files: load, validate and resolve a drill description (YAML -> `Scenario`).

Everything a drill needs is checked here, before anything starts: a bad scenario raises one
ScenarioError that names the file, every bad field path (`timeline[2].fault`), the YAML line and
what would be valid. The format is documented field by field in docs/reference/scenario-format.md.

Validation runs in two passes: pydantic checks shape and types (every model forbids unknown keys,
so a typo is an error with a "did you mean" suggestion), then `_semantic_problems` checks what
needs the whole scenario (targets exist in the topology, RF fits the cluster, faults do not
overlap, runbook times fit the duration...).
"""

from __future__ import annotations

import hashlib
import re
import stat
import types
import typing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from kafkadrill import __version__
from kafkadrill.checkers import ANOMALY_NAMES
from kafkadrill.errors import ScenarioError
from kafkadrill.faults import catalog
from kafkadrill.faults.catalog import Problem, did_you_mean, known
from kafkadrill.faults.schedule import (
    ENTRY_TAGS,
    FixedFault,
    RandomFaults,
    ScheduledFault,
    TimelineEntry,
    plan_timeline,
)
from kafkadrill.runtimes.external.config import ExternalSpec
from kafkadrill.runtimes.shared.ports import MAX_CLUSTERS
from kafkadrill.secrets import REDACTED, find_secrets, is_secret_key, redact, replace_known
from kafkadrill.topology import (
    DEFAULT_STRETCH_SITES,
    Cluster,
    Flow,
    TopicSpec,
    Topology,
    WanLink,
    full_match_regex,
    nodes_round_robin,
    stretch,
    subscribed,
    topic_pattern,
    two_dc,
)

__all__ = [
    "ANOMALIES",
    "LIMITS",
    "REDACTED",
    "LocatedProblem",
    "Scenario",
    "ScenarioValidationError",
    "apply_overrides",
    "load_scenario",
    "located_problems",
    "redact",
    "scenario_json_schema",
]

# -- input limits ------------------------------------------------------------------------------
# A scenario is a few KB written by a person. These bounds turn hostile or broken input (an
# alias bomb, /dev/zero, a generated 50 MB timeline) into a clear error in milliseconds instead of
# minutes of CPU or a MemoryError. Documented in docs/reference/scenario-format.md.
MAX_FILE_BYTES = 1 << 20  # 1 MiB; the largest library scenario is ~3 KB
MAX_DEPTH = 32  # nesting of mappings/sequences; the schema itself needs 7
MAX_NODES = 20_000  # YAML nodes after alias expansion (library scenarios: < 300)
MAX_ALIASES = 100  # *alias references
MAX_SCALAR_DIGITS = 40  # an integer literal longer than this is no count, port or seed
MAX_TIMELINE_ENTRIES = 200
MAX_SCHEDULED_FAULTS = 200  # fixed entries + the sum of random counts
LIMITS = {
    "file_bytes": MAX_FILE_BYTES,
    "depth": MAX_DEPTH,
    "nodes": MAX_NODES,
    "aliases": MAX_ALIASES,
    "integer_digits": MAX_SCALAR_DIGITS,
    "timeline_entries": MAX_TIMELINE_ENTRIES,
    "scheduled_faults": MAX_SCHEDULED_FAULTS,
}
_INT32 = 2**31 - 1  # Kafka's int settings (ms, counts) are Java ints
_INT63 = 2**63 - 1  # JSON readers (orjson) and Java longs stop here
# expected_anomalies name checkers, as registered (@checker in kafkadrill.checkers): a FAIL
# from a listed checker is reported but allowed.
AnomalyName = Literal[ANOMALY_NAMES]  # type: ignore[valid-type]  # built from the registry
ANOMALIES: tuple[str, ...] = typing.get_args(AnomalyName)
CLUSTERS = ("primary", "dr")  # the built-in two-dc topology
_NAME_RE = r"^[a-z0-9][a-z0-9-]*$"


@dataclass(frozen=True)
class LocatedProblem:
    """One problem with where it is: for `kafkadrill validate` and other tools."""

    file: str | None
    field: str
    line: int | None
    message: str
    fix: str | None = None

    def format(self) -> str:
        """`file:line: field: message (fix: ...)`, the form compilers and CI annotate."""
        where = ":".join(x for x in (self.file, str(self.line) if self.line else None) if x)
        text = f"{where}: " if where else ""
        text += f"{self.field}: {self.message}" if self.field else self.message
        return text + (f" (fix: {self.fix})" if self.fix else "")


class ScenarioValidationError(ScenarioError):
    """A ScenarioError that also carries every individual problem (for tools and tests)."""

    def __init__(
        self,
        message: str,
        problems: list[Problem],
        *,
        file: str | None = None,
        field: str | None = None,
        fix: str | None = None,
        lines: list[int | None] | None = None,
    ) -> None:
        # With several problems the header names no single field (each line names its own), but
        # .field still points at the first for programs.
        super().__init__(message, file=file, field=field if len(problems) == 1 else None, fix=fix)
        self.field = field
        self.problems = problems
        self.lines = lines if lines is not None else [None] * len(problems)

    @property
    def located(self) -> list[LocatedProblem]:
        return [
            LocatedProblem(self.file, p.field, line, p.message, p.fix)
            for p, line in zip(self.problems, self.lines, strict=True)
        ]


def located_problems(err: ScenarioError) -> list[LocatedProblem]:
    """Every problem of a ScenarioError with file, field path and line (where known)."""
    if isinstance(err, ScenarioValidationError):
        return err.located
    return [
        LocatedProblem(err.file, err.field or "", getattr(err, "line", None), err.message, err.fix)
    ]


# --------------------------------------------------------------------------------------------
# Small types
# --------------------------------------------------------------------------------------------


def _no_bool(v: Any) -> Any:
    # YAML `false` is a bool, and pydantic's lax mode would read it as 0: `max_lost: false`
    # must not silently mean "no loss allowed". A count or a time is a number.
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got {str(v).lower()} (a boolean)")
    return v


Int = Annotated[int, BeforeValidator(_no_bool)]
Float = Annotated[float, BeforeValidator(_no_bool)]


def _config_str(v: Any) -> Any:
    # Kafka properties are strings; YAML gives ints/bools. Render them the way Kafka spells them.
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return v


ConfigValue = Annotated[str, BeforeValidator(_config_str)]
ConfigMap = dict[str, ConfigValue]


def _version_str(v: Any) -> Any:
    # `kafka_version: 3.9` parses as a float in YAML; a version is a string.
    return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


class _Model(BaseModel):
    # NaN and infinity are never a valid time or count (and break arithmetic downstream).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


# --------------------------------------------------------------------------------------------
# Topology
# --------------------------------------------------------------------------------------------


class TopicModel(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9._-]{1,200}$")
    partitions: Int = Field(default=3, ge=1, le=1000)
    replication_factor: Int = Field(default=3, ge=1, le=9)
    config: ConfigMap = Field(
        default_factory=dict, description="topic configs, e.g. min.insync.replicas"
    )
    clusters: list[str] | None = Field(
        default=None,
        description="topology.clusters only: where it is created; null = every cluster a "
        "producer group writes to",
    )


class NodeCounts(_Model):
    primary: Int = Field(default=3, ge=1, le=9)
    dr: Int = Field(default=3, ge=1, le=9)


class AzMap(_Model):
    """AZ names per cluster; nodes are placed round-robin (node 1 in the first AZ...)."""

    primary: list[str] | None = None
    dr: list[str] | None = None


class ClusterConfigs(_Model):
    """Per-cluster broker settings, layered over the shared `broker_config`."""

    primary: ConfigMap = Field(default_factory=dict)
    dr: ConfigMap = Field(default_factory=dict)


class WanLinkSpec(_Model):
    latency_ms: Float = Field(default=0, ge=0, le=10_000, description="one way")
    jitter_ms: Float = Field(default=0, ge=0, le=10_000, description="varies each delay by ±")
    bandwidth_kbps: Int | None = Field(
        default=None, ge=8, le=100_000_000, description="per direction; null = uncapped"
    )


class WanSpec(WanLinkSpec):
    """Baseline WAN, in force for the whole run; faults act on top of it.

    The top-level values apply to every cross-region link; `links` sets a link by name
    (`east<->west`, or an AZ link of a multi-AZ cluster such as `east-a<->east-b`)."""

    links: dict[str, WanLinkSpec] = Field(default_factory=dict, max_length=64)


#: Cluster names become MM2 cluster aliases and remote-topic prefixes (`east.orders`): no dots.
_CLUSTER_NAME = r"^[a-z][a-z0-9-]{0,30}$"


class ClusterSpec(_Model):
    """One cluster of a topology with free names (`topology.clusters`)."""

    name: str = Field(pattern=_CLUSTER_NAME, description="MM2 alias and remote-topic prefix")
    region: str = Field(pattern=_CLUSTER_NAME, description="its datacenter; links join regions")
    nodes: Int = Field(default=3, ge=1, le=9)
    azs: list[str] | None = Field(
        default=None, description="AZ sites inside the region; nodes placed round-robin"
    )
    broker_config: ConfigMap = Field(
        default_factory=dict, description="layered over topology.broker_config"
    )


class FlowSpec(_Model):
    """One MirrorMaker 2 replication flow (`topology.flows`); each runs as its own MM2
    process in the target's region."""

    source: str
    target: str
    mm2: ConfigMap = Field(
        default_factory=dict, description="MM2 properties of this flow, over topology.mm2"
    )
    topics: str = Field(default=".*", min_length=1, description="MM2 topics filter (regex)")
    groups: str = Field(default=".*", min_length=1, description="MM2 groups filter (regex)")


BUILTIN_MODELS = ("active-passive", "active-active", "stretch")


class TopologySpec(_Model):
    builtin: Literal["two-dc"] = "two-dc"
    model: Literal["active-passive", "active-active", "stretch", "custom"] = Field(
        default="active-passive",
        description="active-passive: primary in east, dr in west, MM2 primary->dr; "
        "active-active: the same clusters with MM2 both ways (primary->dr and dr->primary); "
        "stretch: one cluster `primary` over the sites in azs.primary (default east-a/b/c), "
        "no MM2; custom: the clusters and flows listed under clusters/flows (set by giving "
        "clusters)",
    )
    clusters: list[ClusterSpec] = Field(
        default_factory=list,
        max_length=MAX_CLUSTERS,
        description="clusters with free names (instead of a built-in model's primary/dr)",
    )
    flows: list[FlowSpec] = Field(
        default_factory=list, max_length=16, description="MM2 flows between topology.clusters"
    )
    kafka_version: Annotated[str | None, BeforeValidator(_version_str)] = None
    nodes: NodeCounts = Field(default_factory=NodeCounts)
    azs: AzMap = Field(default_factory=AzMap)
    broker_config: ConfigMap = Field(default_factory=dict)
    cluster_config: ClusterConfigs = Field(default_factory=ClusterConfigs)
    topics: list[TopicModel] = Field(
        default_factory=list,
        max_length=100,
        description="created on primary; empty = one 'orders' topic",
    )
    mm2: ConfigMap = Field(default_factory=dict, description="MM2 properties, primary->dr flow")
    wan: WanSpec | None = Field(
        default=None, description="baseline latency/jitter/bandwidth per link for the whole run"
    )

    @model_validator(mode="after")
    def _default_topics(self) -> TopologySpec:
        if self.clusters and "model" not in self.model_fields_set:
            self.model = "custom"
        if not self.topics:
            if self.clusters:
                sizes = [c.nodes for c in self.clusters]
            else:
                sizes = [self.nodes.primary]
                sizes += [self.nodes.dr] if self.model == "active-passive" else []
            rf = min(3, *sizes)
            self.topics = [
                TopicModel(
                    name="orders",
                    partitions=3,
                    replication_factor=rf,
                    config={"min.insync.replicas": str(min(2, rf))},
                )
            ]
        return self


# --------------------------------------------------------------------------------------------
# Workload
# --------------------------------------------------------------------------------------------


def _acks(v: Any) -> Any:
    # YAML `acks: 1` is an int and Kafka also spells all as -1; normalise to "all" | "1" | "0".
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    return {"-1": "all", "all": "all", "1": "1", "0": "0"}.get(s, v)


class ProducerSpec(_Model):
    count: Int = Field(default=1, ge=1, le=32)
    rate_per_second: Float | None = Field(
        default=200, gt=0, le=1_000_000, description="per producer; null = as fast as possible"
    )
    acks: Annotated[Literal["all", "1", "0"], BeforeValidator(_acks)] = "all"
    enable_idempotence: bool | None = Field(default=None, description="null = true iff acks=all")
    linger_ms: Int = Field(default=5, ge=0, le=_INT32)
    retries: Int | None = Field(default=None, ge=0, le=_INT32, description="null = client default")
    delivery_timeout_ms: Int = Field(default=30000, gt=0, le=_INT32)
    request_timeout_ms: Int = Field(default=10000, gt=0, le=_INT32)
    message_bytes: Int = Field(default=200, ge=64, le=1_000_000)
    topic: str = "orders"
    site: str | None = Field(default=None, description="null = the region of its cluster")
    cluster: str | None = Field(
        default=None, description="null = the first cluster (built-in models: primary)"
    )
    config: ConfigMap = Field(default_factory=dict, description="extra client properties")

    @model_validator(mode="after")
    def _resolve_idempotence(self) -> ProducerSpec:
        if self.enable_idempotence is None:
            self.enable_idempotence = self.acks == "all"
        return self


class ConsumerSpec(_Model):
    group: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    count: Int = Field(default=1, ge=1, le=32)
    topic: str = Field(
        default="orders", description="reads this topic and every MM2 copy of it (`dr.orders`)"
    )
    topics: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="instead of topic: exactly these topics (e.g. [orders, west.orders])",
    )
    pattern: str | None = Field(
        default=None, min_length=1, description="instead of topic: every topic matching a regex"
    )
    union: bool = Field(
        default=False,
        description="a union view: it must receive every acknowledged write of every origin "
        "(judged by the aggregation checker)",
    )
    commit_interval_ms: Int = Field(
        default=1000, ge=0, le=_INT32, description="0 = commit after each poll"
    )
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    site: str | None = Field(default=None, description="null = the region of its cluster")
    cluster: str | None = Field(
        default=None, description="null = the first cluster (built-in models: primary)"
    )
    config: ConfigMap = Field(default_factory=dict, description="extra client properties")

    @model_validator(mode="after")
    def _one_subscription(self) -> ConsumerSpec:
        given = [k for k in ("topics", "pattern") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError("give topics or pattern, not both")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as e:
                raise ValueError(f"pattern is not a regular expression: {e}") from None
        return self

    def subscription(self) -> list[str]:
        """What the client subscribes to (a `^` entry is a regex to librdkafka)."""
        if self.topics is not None:
            return list(self.topics)
        if self.pattern is not None:
            return [full_match_regex(self.pattern)]
        return [topic_pattern(self.topic)]


class WorkloadSpec(_Model):
    producers: ProducerSpec = Field(
        default_factory=ProducerSpec,
        description="one producer group; a list gives several (the first is `producers`, the "
        "rest `more_producers`)",
    )
    more_producers: list[ProducerSpec] = Field(
        default_factory=list,
        max_length=8,
        description="further producer groups, each with its own cluster, site and topic "
        "(active-active: writers in both regions at once)",
    )
    consumers: list[ConsumerSpec] = Field(default_factory=list, max_length=32)

    @model_validator(mode="before")
    @classmethod
    def _producer_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("producers"), list):
            groups = data["producers"]
            if not groups:
                raise ValueError("producers: an empty list; give at least one producer group")
            if "more_producers" in data:
                raise ValueError("give producers as a list or use more_producers, not both")
            data = {**data, "producers": groups[0], "more_producers": groups[1:]}
        return data

    def producer_groups(self) -> list[ProducerSpec]:
        return [self.producers, *self.more_producers]


# --------------------------------------------------------------------------------------------
# Runbooks, final read, objectives
# --------------------------------------------------------------------------------------------


class FailoverTrigger(_Model):
    """When the failover runbook starts watching primary health: at a time or with a fault."""

    at: Float | None = Field(default=None, ge=0)
    on_fault: Annotated[int | str | None, BeforeValidator(_no_bool)] = Field(
        default=None, description="timeline index or fault type (first such fault)"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> FailoverTrigger:
        if (self.at is None) == (self.on_fault is None):
            raise ValueError(
                "give exactly one of 'at' (seconds) or 'on_fault' (timeline index or fault type)"
            )
        return self


class FailoverRunbook(_Model):
    trigger: FailoverTrigger
    detect_failing_seconds: Float = Field(
        default=5,
        ge=0,
        le=86400,
        description="primary health probe must fail this long before failover",
    )
    probe_interval_seconds: Float = Field(default=1, gt=0, le=3600)
    stop_mm2: bool = Field(default=True, description="stop the flow first (no split brain)")
    translate_offsets: bool = Field(default=True, description="reset DR groups from checkpoints")
    from_cluster: str | None = Field(
        default=None, alias="from", description="null = the producers' cluster"
    )
    to_cluster: str | None = Field(
        default=None, alias="to", description="null = the target of a flow from `from`"
    )


class FailbackRunbook(_Model):
    at: Float = Field(ge=0, description="seconds into the fault phase")
    catch_up_timeout_seconds: Float = Field(default=60, gt=0, le=86400)
    translate_offsets: bool = True


class Runbooks(_Model):
    failover: FailoverRunbook | None = None
    failback: FailbackRunbook | None = None


class FinalRead(_Model):
    timeout_seconds: Float = Field(default=60, gt=0, le=86400)


class Objectives(_Model):
    """What the drill must show; null = measured and reported, not judged."""

    max_lost: Int | None = Field(default=0, ge=0, le=_INT63)
    max_rpo_seconds: Float | None = Field(default=None, ge=0)
    max_rto_seconds: Float | None = Field(default=None, ge=0)
    max_read_unavailable_seconds: Float | None = Field(default=None, ge=0)
    max_duplicates: Int | None = Field(default=None, ge=0, le=_INT63)
    max_consumer_rereads: Int | None = Field(default=None, ge=0, le=_INT63)
    max_skipped: Int | None = Field(default=0, ge=0, le=_INT63)
    max_produce_p99_ms: Float | None = Field(
        default=None, ge=0, description="p99 send -> ack latency over the whole run"
    )
    max_metadata_sync_seconds: Float | None = Field(
        default=None, ge=0, description="seconds until a topic.* change shows on the target"
    )
    require_ordering: bool = False
    require_timestamps_preserved: bool = True
    expected_anomalies: list[AnomalyName] = Field(
        default_factory=list, description="checkers whose FAIL is reported but allowed"
    )


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------


def _derived_seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") & 0x7FFFFFFF


class Scenario(_Model):
    """A validated drill. Build with `load_scenario` / `Scenario.from_dict`; treat as read-only."""

    name: str = Field(pattern=_NAME_RE, max_length=80, description="used in report paths")
    description: str = ""
    seed: Int | None = Field(
        default=None, ge=-_INT63, le=_INT63, description="null = derived from name"
    )
    duration_seconds: Float = Field(default=60, gt=0, le=86400)
    warmup_seconds: Float = Field(default=5, ge=0, le=3600)
    topology: TopologySpec = Field(default_factory=TopologySpec)
    workload: WorkloadSpec = Field(default_factory=WorkloadSpec)
    timeline: list[TimelineEntry] = Field(default_factory=list, max_length=MAX_TIMELINE_ENTRIES)
    runbooks: Runbooks = Field(default_factory=Runbooks)
    final_read: FinalRead = Field(default_factory=FinalRead)
    objectives: Objectives = Field(default_factory=Objectives)
    runtime: str | None = Field(default=None, description="null = local; `external`: see below")
    external: ExternalSpec | None = Field(
        default=None, description="clusters kafkadrill did not start (runtime: external)"
    )

    _source: str | None = PrivateAttr(default=None)
    _schedule: list[ScheduledFault] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _resolve_seed(self) -> Scenario:
        if self.seed is None:
            self.seed = _derived_seed(self.name)
        return self

    @model_validator(mode="after")
    def _resolve_clusters(self) -> Scenario:
        """Fill in the clients' cluster and site and the failover's ends (null = derived), so
        the resolved scenario names them and everything downstream sees concrete names."""
        regions, flows = self.cluster_layout()
        first = next(iter(regions), None)
        w = self.workload
        for client in [*w.producer_groups(), *w.consumers]:
            if client.cluster is None:
                client.cluster = first
            if client.site is None and client.cluster in regions:
                client.site = regions[client.cluster]
        fo = self.runbooks.failover
        if fo is not None:
            if fo.from_cluster is None:
                fo.from_cluster = w.producers.cluster
            if fo.to_cluster is None:
                fo.to_cluster = next((t for s, t in flows if s == fo.from_cluster), None)
        return self

    def cluster_layout(self) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """Cluster name -> region, in order, and the replication flows (source, target), as
        the scenario declares them (before any topology is built)."""
        t = self.topology
        if self.external is not None:
            ext = self.external
            return (
                {n: c.region for n, c in ext.clusters.items()},
                [(f.source, f.target) for f in ext.flows],
            )
        if t.clusters:
            return {c.name: c.region for c in t.clusters}, [(f.source, f.target) for f in t.flows]
        if t.model == "stretch":
            return {"primary": "east"}, []
        flows = [("primary", "dr")] + ([("dr", "primary")] if t.model == "active-active" else [])
        return {"primary": "east", "dr": "west"}, flows

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls, data: Any, *, source: str | None = None, overrides: dict[str, Any] | None = None
    ) -> Scenario:
        """Validate a parsed scenario (both passes); raise ScenarioError naming `source`."""
        return _build(data, source=source, overrides=overrides, lines={})

    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from, if any."""
        return self._source

    # -- derived views ------------------------------------------------------------------------

    def to_topology(self) -> Topology:
        t = self.topology
        if self.external is not None:  # clusters described, not built: names, nodes, flows
            topics = tuple(
                TopicSpec(x.name, x.partitions, x.replication_factor, dict(x.config))
                for x in t.topics
            )
            return self.external.to_topology(self.name, topics, self.workload.producers.cluster)
        topics = tuple(
            TopicSpec(x.name, x.partitions, x.replication_factor, dict(x.config)) for x in t.topics
        )
        if t.clusters:
            return self._custom_topology(topics)
        if t.model == "stretch":
            built = stretch(
                t.nodes.primary,
                name=self.name,
                sites=tuple(t.azs.primary or DEFAULT_STRETCH_SITES),
                topics=topics,
                broker_config={**t.broker_config, **t.cluster_config.primary},
                kafka_version=t.kafka_version,
            )
            return replace(built, wan=_wan_links(t.wan, built, stretch=True))
        topo = two_dc(
            t.nodes.primary,
            t.nodes.dr,
            name=self.name,
            primary_azs=tuple(t.azs.primary) if t.azs.primary else None,
            dr_azs=tuple(t.azs.dr) if t.azs.dr else None,
            topics=topics,
            broker_config=dict(t.broker_config),
            mm2=dict(t.mm2),
            kafka_version=t.kafka_version,
            both_ways=t.model == "active-active",
        )
        per_cluster = t.cluster_config.model_dump()
        clusters = tuple(
            replace(c, broker_config={**c.broker_config, **per_cluster.get(c.name, {})})
            for c in topo.clusters
        )
        topo = replace(topo, clusters=clusters)
        return replace(topo, wan=_wan_links(t.wan, topo))

    def _custom_topology(self, topics: tuple[TopicSpec, ...]) -> Topology:
        """`topology.clusters` and `topology.flows` as given; a topic is created where its
        `clusters` say, else on every cluster a producer group writes to."""
        t = self.topology
        writers = {g.cluster for g in self.workload.producer_groups()}
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
            Flow(f.source, f.target, {**t.mm2, **f.mm2}, f.topics, f.groups) for f in t.flows
        )
        topo = Topology(self.name, clusters, flows, t.kafka_version)
        return replace(topo, wan=_wan_links(t.wan, topo))

    def schedule(self) -> list[ScheduledFault]:
        """The concrete fault schedule (random entries drawn with `seed`), sorted by `at`."""
        if self._schedule is None:
            faults, problems = plan_timeline(
                self.timeline,
                seed=self.seed or 0,
                topology=self.to_topology(),
                duration_seconds=self.duration_seconds,
            )
            if problems:
                raise _error(problems, self._source, {})
            self._schedule = faults
        return list(self._schedule)

    def failover_watch_at(self) -> float | None:
        """Seconds into the fault phase when the failover runbook starts probing, or None."""
        fo = self.runbooks.failover
        if fo is None:
            return None
        if fo.trigger.at is not None:
            return fo.trigger.at
        sf = _trigger_fault(fo.trigger.on_fault, self.schedule())
        return None if sf is None else sf.at

    def resolved_yaml(self) -> str:
        """The fully resolved scenario (defaults filled in, secrets redacted) as YAML.

        Loading it again gives the same scenario; the expanded schedule is appended as comments
        so the run directory shows exactly what was injected.
        """
        data = redact(self.model_dump(mode="json", by_alias=True))
        head = [
            f"# resolved by kafkadrill {__version__}"
            + (f" from {self._source}" if self._source else ""),
            f"# seed {self.seed}; times are seconds after warmup",
        ]
        body = yaml.safe_dump(
            data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100
        )
        try:
            sched = self.schedule()
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


def _trigger_fault(
    on_fault: int | str | None, schedule: list[ScheduledFault]
) -> ScheduledFault | None:
    for sf in schedule:  # sorted by time: the first match is the earliest
        if (isinstance(on_fault, int) and sf.index == on_fault) or sf.fault == on_fault:
            return sf
    return None


# --------------------------------------------------------------------------------------------
# Redaction: the product-wide policy lives in kafkadrill.secrets (re-exported here as `redact`)
# --------------------------------------------------------------------------------------------

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """`text` with control characters escaped (a BEL or ESC in a key must not reach a terminal
    raw; newlines are kept, error texts use them between problems)."""
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _safe_text(text: str | None, secrets: set[str]) -> str | None:
    return None if text is None else _printable(replace_known(text, secrets))


def _redact_error(err: ScenarioError, secrets: set[str]) -> ScenarioError:
    """The same error with every secret value and control character taken out of its texts:
    error messages are printed to consoles and CI logs."""
    if isinstance(err, ScenarioValidationError):
        problems = [
            Problem(
                _safe_text(p.field, secrets) or "",
                _safe_text(p.message, secrets) or "",
                _safe_text(p.fix, secrets),
            )
            for p in err.problems
        ]
        out: ScenarioError = ScenarioValidationError(
            _safe_text(err.message, secrets) or "",
            problems,
            file=_safe_text(err.file, set()),
            field=_safe_text(err.field, secrets),
            fix=_safe_text(err.fix, secrets),
            lines=err.lines,
        )
    else:
        out = ScenarioError(
            _safe_text(err.message, secrets) or "",
            file=_safe_text(err.file, set()),
            field=_safe_text(err.field, secrets),
            fix=_safe_text(err.fix, secrets),
        )
    if getattr(err, "line", None) is not None:
        out.line = err.line  # type: ignore[attr-defined]
    return out


# --------------------------------------------------------------------------------------------
# YAML reading (bounded, with line numbers)
# --------------------------------------------------------------------------------------------

Loc = tuple[str | int, ...]  # a path into the scenario data

# The C loader (libyaml) when installed: the same YAML, parsed several times faster.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAML_LOADER_NAME = _BaseLoader.__name__


class _LimitError(ScenarioError):
    """A size/depth/alias/count limit was exceeded (not a syntax error)."""


def _limit_error(
    message: str, source: str | None, fix: str, line: int | None = None
) -> _LimitError:
    err = _LimitError(message + (f" (line {line})" if line else ""), file=source, fix=fix)
    err.line = line  # type: ignore[attr-defined]
    return err


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    # int("9" * 5000) raises ValueError inside PyYAML (Python's 4300-digit limit) and a long
    # sexagesimal literal costs quadratic time: no scenario integer needs more than a few digits.
    if len(node.value) > MAX_SCALAR_DIGITS:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"integer literal with {len(node.value)} characters "
            f"(limit {MAX_SCALAR_DIGITS}); quote it if it is text",
            node.start_mark,
        )
    return yaml.SafeLoader.construct_yaml_int(loader, node)


class _ScenarioLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    pass


_ScenarioLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _read_yaml(path: Path) -> tuple[Any, dict[Loc, int]]:
    return _parse_yaml(_read_text(path), str(path))


def _read_text(path: Path) -> str:
    """The file's text, after checking it is a regular file of at most MAX_FILE_BYTES.

    Never reads more than the limit: a device (/dev/zero), a FIFO or a huge file is refused
    from its metadata, and the read itself is bounded in case the size lied (/proc files).
    """
    src = _printable(str(path))
    try:
        st = path.stat()
    except FileNotFoundError:
        raise _not_found(path) from None
    except ValueError as e:  # "embedded null byte"
        raise ScenarioError(f"invalid path ({e})", file=src, fix="check the path") from None
    except OSError as e:
        raise ScenarioError(
            f"cannot read: {e.strerror or e}", file=src, fix="check the path and permissions"
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise ScenarioError(
            "is a directory, not a scenario file",
            file=src,
            fix=f"pass a .yaml file (e.g. {src.rstrip('/')}/*.yaml)",
        )
    if not stat.S_ISREG(st.st_mode):
        raise ScenarioError(
            "is not a regular file (a device, pipe or socket)",
            file=src,
            fix="pass a scenario .yaml file",
        )
    too_big = _limit_error(
        f"file is larger than the {MAX_FILE_BYTES // 1024} KiB limit for a scenario",
        src,
        "a scenario is a few KB: split it, or generate fewer timeline entries",
    )
    if st.st_size > MAX_FILE_BYTES:
        raise too_big
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ScenarioError(
            f"cannot read: {e.strerror or e}", file=src, fix="check the path and permissions"
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise too_big
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ScenarioError(
            f"not UTF-8 text: byte 0x{data[e.start]:02x} at line {line}",
            file=src,
            fix="save the file as UTF-8",
        ) from None


def _line_col(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def _check_events(text: str, source: str | None) -> None:
    """Depth, node and alias limits, checked on the event stream before anything is built
    (libyaml's composer recurses in C: depth must be bounded before it runs)."""
    depth = nodes = aliases = 0
    fix_depth = "a scenario needs only a few levels: flatten the data"
    for ev in yaml.parse(text, Loader=_ScenarioLoader):
        if isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            nodes += 1
            if depth > MAX_DEPTH:
                raise _limit_error(
                    f"nested more than {MAX_DEPTH} levels deep",
                    source,
                    fix_depth,
                    ev.start_mark.line + 1,
                )
        elif isinstance(ev, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(ev, yaml.AliasEvent):
            aliases += 1
            nodes += 1
            if aliases > MAX_ALIASES:
                raise _limit_error(
                    f"more than {MAX_ALIASES} YAML aliases (*name)",
                    source,
                    "write the values out, or use fewer anchors",
                    ev.start_mark.line + 1,
                )
        elif isinstance(ev, yaml.ScalarEvent):
            nodes += 1
        if nodes > MAX_NODES:
            raise _limit_error(
                f"more than {MAX_NODES} YAML values",
                source,
                "a scenario has a few hundred values: shorten it",
                ev.start_mark.line + 1,
            )


def _check_expansion(root: yaml.Node, source: str | None) -> None:
    """Nodes after alias expansion (a 600-byte "billion laughs" file expands to 10^9 values),
    and no alias inside its own anchor (a recursive structure)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _limit_error(
                "a YAML alias refers to its own anchor (a recursive structure)",
                source,
                "remove the self-reference",
                node.start_mark.line + 1,
            )
        active.add(key)
        n = 1
        if isinstance(node, yaml.MappingNode):
            n += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            n += sum(size(v) for v in node.value)
        active.discard(key)
        sizes[key] = n
        if n > MAX_NODES:
            raise _limit_error(
                f"YAML aliases expand to more than {MAX_NODES} values",
                source,
                "write the values out, or use fewer nested aliases",
                node.start_mark.line + 1,
            )
        return n

    size(root)  # depth is bounded by _check_events, so this recursion is too


def _yaml_error(e: yaml.YAMLError, text: str, source: str | None) -> ScenarioError:
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = str(e.problem or e.context or "syntax error")
        if e.context and e.context_mark is not None and e.problem:
            # The parser notices late: an unclosed '{' on line 4 is reported on line 5.
            what += f" ({e.context} started at line {e.context_mark.line + 1})"
        err = ScenarioError(
            f"invalid YAML{where}: {what}",
            file=source,
            fix="quote the value, or use a shorter number"
            if "integer literal" in what
            else "check indentation, colons and quotes on that line",
        )
        err.line = mark.line + 1 if mark else None  # type: ignore[attr-defined]
        return err
    if isinstance(e, yaml.reader.ReaderError):
        line, col = _line_col(text, e.position)
        err = ScenarioError(
            f"invalid YAML at line {line}, column {col}: character "
            f"#x{e.character if isinstance(e.character, int) else ord(e.character):04x} "
            "(a control character) is not allowed",
            file=source,
            fix='remove it, or write it escaped in a double-quoted string ("\\a")',
        )
        err.line = line  # type: ignore[attr-defined]
        return err
    return ScenarioError(f"invalid YAML: {_printable(str(e))}", file=source)


def _parse_yaml(text: str, source: str | None) -> tuple[Any, dict[Loc, int]]:
    if len(text) > MAX_FILE_BYTES:
        raise _limit_error(
            f"more than {MAX_FILE_BYTES // 1024} KiB of YAML",
            source,
            "a scenario is a few KB: shorten it",
        )
    try:
        _check_events(text, source)
        loader = _ScenarioLoader(text)
        try:
            node = loader.get_single_node()
            lines: dict[Loc, int] = {}
            if node is not None:
                _check_expansion(node, source)
                _index_lines(node, (), lines, source)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        raise _yaml_error(e, text, source) from None
    return data, lines


def _index_lines(node: yaml.Node, path: Loc, out: dict[Loc, int], source: str | None) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for knode, vnode in node.value:
            line = knode.start_mark.line + 1
            if not isinstance(knode, yaml.ScalarNode):
                err = ScenarioError(
                    f"a {'list' if isinstance(knode, yaml.SequenceNode) else 'mapping'} "
                    f"used as a key at line {line}",
                    file=source,
                    field=_fmt_path(path) or None,
                    fix="keys are plain names (`? [a, b]` complex keys are not supported)",
                )
                err.line = line  # type: ignore[attr-defined]
                raise err
            key = knode.value
            if key in seen:
                # PyYAML silently keeps the last duplicate; a repeated key is always a mistake.
                err = ScenarioError(
                    f"duplicate key '{_printable(key)}' at line {line} (first at line {seen[key]})",
                    file=source,
                    field=_printable(_fmt_path((*path, key))),
                    fix="merge the two entries",
                )
                err.line = line  # type: ignore[attr-defined]
                raise err
            seen[key] = line
            out[(*path, key)] = line
            _index_lines(vnode, (*path, key), out, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            _index_lines(item, (*path, i), out, source)


def _not_found(path: Path) -> ScenarioError:
    fix = "check the path"
    parent = path.parent
    if parent.is_dir():
        names = sorted(p.name for p in parent.glob("*.yaml"))
        if names:
            fix += f"{did_you_mean(path.name, names)}; files in {parent}: {', '.join(names)}"
    return ScenarioError("scenario file not found", file=_printable(str(path)), fix=fix)


# --------------------------------------------------------------------------------------------
# Overrides (`kafkadrill sweep --set workload.producers.acks=1`)
# --------------------------------------------------------------------------------------------


def _unwrap(tp: Any) -> Any:
    """Strip Annotated / Optional wrappers down to the type that holds data."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for n, f in model.model_fields.items():
        if key in (n, f.alias):
            return f.annotation
    return None


def _split_key(key: str) -> list[str | int]:
    # "timeline[2].at" and "timeline.2.at" both mean element 2 of timeline.
    parts: list[str | int] = []
    for seg in key.split("."):
        m = re.fullmatch(r"([^\[\]]*)((?:\[[0-9]{1,9}\])*)", seg)
        if not m:
            parts.append(seg)
            continue
        if m.group(1):
            g = m.group(1)
            parts.append(int(g) if re.fullmatch(r"[0-9]{1,9}", g) else g)
        parts += [int(i) for i in re.findall(r"\[([0-9]{1,9})\]", m.group(2))]
    return parts


def _override_parts(key: Any) -> list[str | int]:
    if not isinstance(key, str):
        raise ScenarioError(
            f"override key must be text, got {type(key).__name__}",
            fix="use a dotted key such as workload.producers.acks",
        )
    shown = _printable(key)
    if not key.strip():
        raise ScenarioError(
            "empty override key",
            field=repr(key),
            fix="use a dotted key such as workload.producers.acks=1",
        )
    if any(not seg.strip() for seg in key.split(".")):
        raise ScenarioError(
            "override key has an empty part (a leading, trailing or doubled '.')",
            field=shown,
            fix="write the path as a.b.c, e.g. workload.producers.acks",
        )
    if _CONTROL_RE.search(key):
        raise ScenarioError(
            "override key holds a control character",
            field=shown,
            fix="retype the key",
        )
    return _split_key(key)


def _override_value(v: Any, key: str) -> Any:
    if not isinstance(v, str):
        return v
    try:
        data, _ = _parse_yaml(v, None)  # "1" -> 1, "null" -> None, "[a, b]" -> list
    except _LimitError as e:
        raise ScenarioError(f"override value: {e.message}", field=key, fix=e.fix) from None
    except ScenarioError:
        return v  # not YAML: the text itself (validation says if text is wrong there)
    return data


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Apply dotted-key overrides to raw scenario data (before validation); returns a copy.

    Keys follow the scenario schema, so config maps take the rest of the key as one property
    name: `topology.broker_config.min.insync.replicas=2`. String values are parsed as YAML.
    Raises ScenarioError (field = the override key) for a path the schema does not have, an
    empty key, or a path through a value that is not a mapping or list in the data.
    """
    import copy

    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario is a mapping of keys, got {type(data).__name__}",
            fix="start with `name: my-drill`",
        )
    _check_data(data, None)
    out = copy.deepcopy(data)
    for key, raw in overrides.items():
        parts = _override_parts(key)
        _set_path(out, parts, _override_value(raw, key), key)
    return out


def _not_container(key: str, done: list[str | int], node: Any, want: str) -> ScenarioError:
    where = _fmt_path(tuple(done)) or "the scenario"
    return ScenarioError(
        f"override: {where} is {_kind(node)} in the scenario, not {want}",
        field=_printable(key),
        fix=f"fix {where} in the file, or override {where} itself",
    )


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    names = {dict: "a mapping", list: "a list", str: "text", bool: "a boolean"}
    names |= {int: "a number", float: "a number"}
    return names.get(type(v), f"a {type(v).__name__}")


def _set_path(data: Any, parts: list[str | int], value: Any, key: str) -> None:
    tp: Any = Scenario
    node = data
    i = 0
    shown = _printable(key)
    while i < len(parts):
        part = parts[i]
        last = i == len(parts) - 1
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if _is_model(tp):
            if not isinstance(part, str) or _field_by_key(tp, part) is None:
                names = _field_names(tp)
                raise ScenarioError(
                    f"override: no field '{_printable(str(part))}' here"
                    f"{did_you_mean(part, names)}; valid: {', '.join(names)}",
                    field=shown,
                )
            if not isinstance(node, dict):
                raise _not_container(key, parts[:i], node, "a mapping")
            sub = _field_by_key(tp, part)
            if last:
                node[part] = value
                return
            nxt = _unwrap(sub)
            if not isinstance(node.get(part), dict | list):
                node[part] = [] if typing.get_origin(nxt) is list else {}
            node, tp = node[part], sub
        elif origin is list:
            if not isinstance(node, list):
                raise _not_container(key, parts[:i], node, "a list")
            if not isinstance(part, int) or part > len(node):
                raise ScenarioError(
                    f"override: '{_printable(str(part))}' is not an index of "
                    f"{_fmt_path(tuple(parts[:i]))}, which has {len(node)} entries",
                    field=shown,
                    fix=f"use an index 0..{len(node) - 1}, or {len(node)} to append"
                    if node
                    else "use index 0 to add the first entry",
                )
            if part == len(node):
                node.append({})
            if last:
                node[part] = value
                return
            item_tp = typing.get_args(tp)[0]
            if _unwrap(item_tp) is not item_tp or typing.get_origin(_unwrap(item_tp)) in (
                Union,
                types.UnionType,
            ):
                # The timeline's union: pick the member from the data, as validation will.
                item = node[part]
                item_tp = (
                    RandomFaults if isinstance(item, dict) and "random" in item else FixedFault
                )
            node, tp = node[part], item_tp
        elif origin is dict:
            if not isinstance(node, dict):
                raise _not_container(key, parts[:i], node, "a mapping")
            val_tp = _unwrap(typing.get_args(tp)[1])
            if typing.get_origin(val_tp) is dict and not last:
                # dict of dicts (random params per fault type, whose names hold dots): the
                # longest prefix that is an existing key or a fault type names the entry.
                rest = [str(p) for p in parts[i:]]
                for j in range(len(rest) - 1, 0, -1):
                    name = ".".join(rest[:j])
                    if name in node or name in catalog.FAULT_TYPES or j == 1:
                        if not isinstance(node.setdefault(name, {}), dict):
                            raise _not_container(key, [*parts[:i], name], node[name], "a mapping")
                        node = node[name]
                        tp = val_tp
                        i += j
                        break
                continue
            # A property map: the rest of the key is one property name ("min.insync.replicas").
            node[".".join(str(p) for p in parts[i:])] = value
            return
        else:
            raise ScenarioError(
                f"override: '{_printable(str(part))}' goes below a plain value "
                f"({_fmt_path(tuple(parts[:i]))} holds a single value)",
                field=shown,
                fix=f"override {_fmt_path(tuple(parts[:i]))} itself",
            )
        i += 1


def _check_data(data: Any, source: str | None) -> None:
    """Depth, size and cycle limits on already-parsed data (Scenario.from_dict callers and
    override values bypass the YAML checks); iterative, so deep input cannot overflow."""
    count = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    on_path: set[int] = set()
    # A container is "entered" when pushed; cycles show up as revisiting an id on the stack.
    exits: list[tuple[int, int]] = []
    while stack:
        o, depth = stack.pop()
        while exits and exits[-1][1] >= depth:
            on_path.discard(exits.pop()[0])
        count += 1
        if count > MAX_NODES:
            raise _limit_error(
                f"more than {MAX_NODES} values", source, "a scenario has a few hundred values"
            )
        if isinstance(o, dict | list | tuple):
            if depth > MAX_DEPTH:
                raise _limit_error(
                    f"nested more than {MAX_DEPTH} levels deep",
                    source,
                    "a scenario needs only a few levels: flatten the data",
                )
            if id(o) in on_path:
                raise _limit_error(
                    "the data contains itself (a cycle)", source, "remove the self-reference"
                )
            on_path.add(id(o))
            exits.append((id(o), depth))
            children = [*o.keys(), *o.values()] if isinstance(o, dict) else list(o)
            stack.extend((c, depth + 1) for c in children)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

_TYPE_NAMES = {"int", "str", "float", "bool", "none", "list", "dict"}


def _fmt_path(loc: Loc) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    out: list[str | int] = []
    for i, p in enumerate(loc):
        # Drop discriminator tags (timeline[i].<tag>) and union-member names pydantic adds.
        if (
            i > 0
            and isinstance(loc[i - 1], int)
            and loc[:1] == ("timeline",)
            and i == 2
            and p in ENTRY_TAGS
        ):
            continue
        if isinstance(p, str) and (
            p in _TYPE_NAMES or p.startswith(("function-", "literal[")) or "[" in p
        ):
            continue
        out.append(p)
    return tuple(out)


def _model_at(raw_loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class at a raw pydantic error location (tags still in), if any."""
    tp: Any = Scenario
    for p in raw_loc:
        tp = _unwrap(tp)
        if typing.get_origin(tp) in (Union, types.UnionType):
            tp = ENTRY_TAGS.get(str(p))  # the timeline union: the tag names the member
            continue
        if _is_model(tp):
            tp = _field_by_key(tp, str(p))
        elif typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
        if tp is None:
            return None
    tp = _unwrap(tp)
    return tp if _is_model(tp) else None


def _pydantic_problems(err: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for e in err.errors():
        raw_loc = tuple(e["loc"])
        loc = _clean_loc(raw_loc)
        msg = e["msg"].removeprefix("Value error, ")
        fix = None
        if e["type"] == "extra_forbidden" and loc:
            parent = _model_at(raw_loc[:-1])
            names = _field_names(parent) if parent else []
            msg = f"unknown key '{loc[-1]}'{did_you_mean(loc[-1], names)}"
            if names:
                msg += f"; valid keys: {', '.join(names)}"
        elif e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] == "union_tag_invalid" or e["type"] == "union_tag_not_found":
            msg = "a timeline entry is either {at, fault, target, duration} or {random: {...}}"
        elif (
            "input" in e
            and e["type"] != "value_error"
            and not isinstance(e["input"], dict | list)
            and not any(is_secret_key(p) for p in loc)  # never echo a secret's value
        ):
            got = repr(e["input"])
            msg = f"{msg} (got {got if len(got) <= 80 else got[:77] + '...'})"
        if (
            loc
            and loc[0] == "timeline"
            and len(loc) >= 3
            and loc[2] == "fault"
            and "unknown fault type" in msg
        ):
            fix = "use one of the fault types above"
        key = (_fmt_path(loc), msg)
        if key not in seen:
            seen.add(key)
            problems.append(Problem(_fmt_path(loc), msg, fix))
    return problems


def _parse_field(field: str) -> Loc:
    return tuple(_split_key(field)) if field else ()


def _line_for(field: str, lines: dict[Loc, int]) -> int | None:
    loc = _parse_field(field)
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _error(
    problems: list[Problem], source: str | None, lines: dict[Loc, int]
) -> ScenarioValidationError:
    def where(p: Problem) -> str:
        line = _line_for(p.field, lines)
        return f" (line {line})" if line else ""

    # Report in file order: easier to fix top to bottom.
    problems = sorted(problems, key=lambda p: _line_for(p.field, lines) or 1 << 30)
    at = [_line_for(p.field, lines) for p in problems]
    if len(problems) == 1:
        p = problems[0]
        return ScenarioValidationError(
            p.message + where(p),
            problems,
            file=source,
            field=p.field or None,
            fix=p.fix,
            lines=at,
        )
    body = "\n".join(
        f"  - {p.field or '(top level)'}{where(p)}: {p.message}"
        + (f" (fix: {p.fix})" if p.fix else "")
        for p in problems
    )
    return ScenarioValidationError(
        f"{len(problems)} problems:\n{body}",
        problems,
        file=source,
        field=problems[0].field or None,
        lines=at,
    )


# --------------------------------------------------------------------------------------------
# Semantic checks (need the whole scenario)
# --------------------------------------------------------------------------------------------


def _short(v: object) -> str:
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _int_or_none(v: str | None) -> int | None:
    # Bounded: int() of a 5000-digit string raises ValueError, and no setting needs 19 digits.
    if v is None or not re.fullmatch(r"\s*[+-]?[0-9]{1,18}\s*", v):
        return None
    return int(v)


def _wan_links(
    wan: WanSpec | None, topo: Topology, *, stretch: bool = False
) -> tuple[WanLink, ...]:
    """The WAN per link: named links as given, every other cross-region link (stretch: every
    link between the cluster's sites) the defaults."""
    if wan is None:
        return ()
    out: list[WanLink] = []
    regions = set(topo.regions)
    for link in topo.links:
        spec: WanLinkSpec | None = next(
            (v for k, v in wan.links.items() if _link_key(k) == {link.a, link.b}), None
        )
        if spec is None and (stretch or {link.a, link.b} <= regions):
            spec = wan
        if spec is not None:
            out.append(
                WanLink(link.a, link.b, spec.latency_ms, spec.jitter_ms, spec.bandwidth_kbps)
            )
    return tuple(out)


def _link_key(name: str) -> set[str]:
    a, _, b = name.partition("<->")
    return {a.strip(), b.strip()}


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
        if not any(_link_key(name) == {link.a, link.b} for link in topo.links):
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
        if not re.fullmatch(_NAME_RE, az) or az in regions:
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
    probs: list[Problem] = []
    if not t.clusters:
        return [Problem("topology.clusters", "model custom lists its clusters", "add clusters")]
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
    sizes = {c.name: c.nodes for c in t.clusters}
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
    return [
        Problem(f"topology.topics[{i}].name", f"topic '{n}' is defined twice")
        for i, n in enumerate(names)
        if n in names[:i]
    ]


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


def topic_names(topo: Topology) -> dict[str, list[str]]:
    """Per cluster, the workload topic names it will hold: its own and MM2's copies (named by
    each flow's replication policy: `east.orders`, or `orders` with the identity policy)."""
    topics = {c.name: [t.name for t in c.topics] for c in topo.clusters}
    for f in topo.flows:
        own = [t.name for t in topo.cluster(f.source).topics]
        topics[f.target] = list(dict.fromkeys(topics[f.target] + [f.remote_topic(t) for t in own]))
    return topics


def _subscription_problems(here: str, c: ConsumerSpec, topics: list[str]) -> list[Problem]:
    """A consumer's explicit topics/pattern must name topics its cluster will hold: a typo
    would otherwise read nothing and look like loss."""
    if c.topics is not None:
        return [
            Problem(
                f"{here}.topics",
                f"cluster '{c.cluster}' has no topic '{t}'{did_you_mean(t, topics)}; "
                f"{known(topics)}",
            )
            for t in c.topics
            if t not in topics
        ]
    assert c.pattern is not None
    if not any(subscribed(c.subscription(), t) for t in topics):
        return [
            Problem(
                f"{here}.pattern",
                f"'{c.pattern}' matches no topic of cluster '{c.cluster}'; {known(topics)}",
                "the pattern must match whole names, e.g. '(west\\.)?orders'",
            )
        ]
    return []


def _client_problems(s: Scenario, topo: Topology) -> list[Problem]:
    probs: list[Problem] = []
    topics = topic_names(topo)
    producers: list[tuple[str, ProducerSpec]] = [("workload.producers", s.workload.producers)]
    producers += [
        (f"workload.more_producers[{i}]", p) for i, p in enumerate(s.workload.more_producers)
    ]
    clients: list[tuple[str, Any]] = list(producers)
    clients += [(f"workload.consumers[{i}]", c) for i, c in enumerate(s.workload.consumers)]
    for here, c in clients:
        if c.cluster not in topics:
            probs.append(
                Problem(
                    f"{here}.cluster",
                    f"unknown cluster '{c.cluster}'"
                    f"{did_you_mean(c.cluster, topics)}; {known(topics)}",
                )
            )
        elif getattr(c, "topics", None) is not None or getattr(c, "pattern", None) is not None:
            probs += _subscription_problems(here, c, topics[c.cluster])
        elif c.topic not in topics[c.cluster]:
            probs.append(
                Problem(
                    f"{here}.topic",
                    f"cluster '{c.cluster}' has no topic "
                    f"'{c.topic}'{did_you_mean(c.topic, topics[c.cluster])}; "
                    f"{known(topics[c.cluster])}",
                    "declare it under topology.topics",
                )
            )
        if c.site is not None and c.site not in topo.sites:
            probs.append(
                Problem(
                    f"{here}.site",
                    f"unknown site '{c.site}'"
                    f"{did_you_mean(c.site, topo.sites)}; {known(topo.sites)}",
                )
            )
    for here, p in producers:
        if p.enable_idempotence and p.acks != "all":
            probs.append(
                Problem(
                    f"{here}.enable_idempotence",
                    f"idempotence requires acks=all (acks is {p.acks})",
                    "set enable_idempotence: false or acks: all",
                )
            )
        if p.delivery_timeout_ms < p.linger_ms + p.request_timeout_ms:
            probs.append(
                Problem(
                    f"{here}.delivery_timeout_ms",
                    "must be >= linger_ms + request_timeout_ms (the client refuses "
                    f"otherwise): {p.delivery_timeout_ms} < "
                    f"{p.linger_ms + p.request_timeout_ms}",
                )
            )
    groups = [c.group for c in s.workload.consumers]
    for i, g in enumerate(groups):
        if g in groups[:i]:
            probs.append(
                Problem(
                    f"workload.consumers[{i}].group",
                    f"group '{g}' is used twice",
                    "use count for several members of one group",
                )
            )
    return probs


def _runbook_problems(s: Scenario, topo: Topology, schedule: list[ScheduledFault]) -> list[Problem]:
    probs: list[Problem] = []
    dur = s.duration_seconds
    fo, fb = s.runbooks.failover, s.runbooks.failback
    names = [c.name for c in topo.clusters]
    watch: float | None = None
    if fo is not None:
        for key, val in (("from", fo.from_cluster), ("to", fo.to_cluster)):
            if val is None:
                probs.append(
                    Problem(
                        f"runbooks.failover.{key}",
                        f"no replication flow from '{fo.from_cluster}': nothing to fail over to",
                        "name the cluster to fail over to (runbooks.failover.to)",
                    )
                )
            elif val not in names:
                probs.append(
                    Problem(
                        f"runbooks.failover.{key}",
                        f"unknown cluster '{val}'{did_you_mean(val, names)}; {known(names)}",
                    )
                )
        if fo.from_cluster == fo.to_cluster:
            probs.append(Problem("runbooks.failover.to", "'to' must differ from 'from'"))
        clusters_ok = not probs  # a flow check on an unknown cluster would only repeat it
        flows = [f.name for f in topo.flows]
        flow = f"{fo.from_cluster}->{fo.to_cluster}"
        if fo.translate_offsets and flow not in flows and clusters_ok:
            probs.append(
                Problem(
                    "runbooks.failover.translate_offsets",
                    f"no replication flow {flow} to translate offsets from; {known(flows)}",
                    "set translate_offsets: false",
                )
            )
        trig = fo.trigger
        n_before = len(probs)
        if trig.at is not None:
            watch = trig.at
            if trig.at >= dur:
                probs.append(
                    Problem(
                        "runbooks.failover.trigger.at",
                        f"{trig.at:g} s is not before duration_seconds ({dur:g})",
                        f"use at < {dur:g} or raise duration_seconds",
                    )
                )
        elif isinstance(trig.on_fault, int):
            if not 0 <= trig.on_fault < len(s.timeline):
                probs.append(
                    Problem(
                        "runbooks.failover.trigger.on_fault",
                        f"no timeline entry {trig.on_fault} (timeline has "
                        f"{len(s.timeline)} entries, 0..{len(s.timeline) - 1})",
                    )
                )
        elif trig.on_fault not in catalog.FAULT_TYPES:
            probs.append(
                Problem(
                    "runbooks.failover.trigger.on_fault",
                    catalog.unknown_fault_message(trig.on_fault),
                )
            )
        if trig.on_fault is not None and len(probs) == n_before:
            sf = _trigger_fault(trig.on_fault, schedule)
            if sf is None:
                probs.append(
                    Problem(
                        "runbooks.failover.trigger.on_fault",
                        f"no {trig.on_fault} fault in the timeline",
                        "add it to the timeline or use trigger.at",
                    )
                )
            else:
                watch = sf.at
        if watch is not None and watch + fo.detect_failing_seconds > dur:
            probs.append(
                Problem(
                    "runbooks.failover.detect_failing_seconds",
                    f"failover would start at {watch + fo.detect_failing_seconds:g} "
                    f"s, after duration_seconds ({dur:g})",
                    "lower detect_failing_seconds or raise duration_seconds",
                )
            )
    if fb is not None:
        if fo is None:
            probs.append(
                Problem(
                    "runbooks.failback",
                    "failback needs a failover runbook",
                    "add runbooks.failover",
                )
            )
        if fb.at > dur:
            probs.append(
                Problem(
                    "runbooks.failback.at",
                    f"{fb.at:g} s is after duration_seconds ({dur:g})",
                    f"use at <= {dur:g} or raise duration_seconds",
                )
            )
        if fo is not None and watch is not None and fb.at <= watch + fo.detect_failing_seconds:
            probs.append(
                Problem(
                    "runbooks.failback.at",
                    f"{fb.at:g} s is not after the failover "
                    f"({watch + fo.detect_failing_seconds:g} s)",
                )
            )
        if fo is not None and fo.from_cluster in names:
            region = topo.cluster(fo.from_cluster).region
            for sf in schedule:
                if (
                    sf.fault == "region.outage"
                    and sf.params.get("region") == region
                    and sf.end > fb.at
                ):
                    probs.append(
                        Problem(
                            "runbooks.failback.at",
                            f"{fb.at:g} s is before {sf.origin} ({sf.describe()}) heals at "
                            f"{sf.end:g} s: there is nothing to fail back to",
                            f"use at >= {sf.end:g}",
                        )
                    )
    return probs


def _objective_problems(s: Scenario) -> list[Problem]:
    o = s.objectives
    probs: list[Problem] = []
    # An expected anomaly is reported but allowed, yet an objective that governs the same checker
    # decides for it: a zero limit there would silently override the expectation.
    strict = {
        "loss": ("max_lost", o.max_lost == 0),
        "duplicates": ("max_duplicates", o.max_duplicates == 0),
        "ordering": ("require_ordering", o.require_ordering),
        "timestamps": ("require_timestamps_preserved", o.require_timestamps_preserved),
    }
    for name in o.expected_anomalies:
        if name in strict and strict[name][1]:
            fld = strict[name][0]
            fix = f"set {fld}: false" if fld.startswith("require") else f"set {fld}: null"
            probs.append(
                Problem(
                    f"objectives.{fld}",
                    f"'{name}' is an expected anomaly but {fld} forbids it",
                    fix,
                )
            )
    return probs


def _semantic_problems(s: Scenario) -> list[Problem]:
    probs = _topology_problems(s)
    broken = ("topology.azs", "topology.clusters", "topology.flows", "topology.model")
    if any(p.field.startswith(broken) or p.field.endswith("].clusters") for p in probs):
        return probs  # a bad topology (AZs, names, flows): every later check would mislead
    topo = s.to_topology()
    probs += _wan_problems(s, topo)
    probs += _client_problems(s, topo)
    n_faults = sum(e.random.count if isinstance(e, RandomFaults) else 1 for e in s.timeline)
    if n_faults > MAX_SCHEDULED_FAULTS:
        # Placing random faults is quadratic in their number: refuse before spending minutes.
        probs.append(
            Problem(
                "timeline",
                f"{n_faults} faults (fixed entries plus random counts); the limit is "
                f"{MAX_SCHEDULED_FAULTS}",
                "lower the random counts or split the drill",
            )
        )
        schedule: list[ScheduledFault] = []
    else:
        schedule, tprobs = plan_timeline(
            s.timeline, seed=s.seed or 0, topology=topo, duration_seconds=s.duration_seconds
        )
        probs += tprobs
    probs += _runbook_problems(s, topo, schedule)
    probs += _objective_problems(s)
    if not probs:
        s._schedule = schedule
    return probs


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def _build(
    data: Any, *, source: str | None, overrides: dict[str, Any] | None, lines: dict[Loc, int]
) -> Scenario:
    secrets: set[str] = set()
    try:
        if isinstance(data, dict | list):
            _check_data(data, source)
            secrets = find_secrets(data)
        if overrides:
            if not isinstance(overrides, dict):
                raise ScenarioError(
                    "overrides must map dotted keys to values", file=source, fix="use KEY=VALUE"
                )
            secrets |= find_secrets({str(k): v for k, v in overrides.items()})
            for k, v in overrides.items():
                if is_secret_key(k) and isinstance(v, str) and v.strip():
                    secrets.add(v)  # a --set secret, even a short one, is never echoed
        return _build_checked(data, source=source, overrides=overrides, lines=lines)
    except ScenarioError as e:
        # Error texts reach consoles and CI logs: no secret value, no raw control character.
        raise _redact_error(e, secrets) from None


def _build_checked(
    data: Any, *, source: str | None, overrides: dict[str, Any] | None, lines: dict[Loc, int]
) -> Scenario:
    if data is None:
        raise ScenarioError("empty scenario", file=source, fix="at least give a name")
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario is a mapping of keys, got {type(data).__name__}",
            file=source,
            fix="start with `name: my-drill`",
        )
    if overrides:
        try:
            data = apply_overrides(data, overrides)
        except ScenarioError as e:
            raise ScenarioError(
                e.message,
                file=source,
                field=e.field,
                fix=e.fix or "check the --set key (a dotted path of the scenario format)",
            ) from None
        # Overridden values did not come from the file: drop their line numbers.
        for key in overrides:
            loc = tuple(_split_key(str(key)))
            for p in [p for p in lines if p[: len(loc)] == loc]:
                del lines[p]
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as e:
        raise _error(_pydantic_problems(e), source, lines) from None
    scn._source = source
    problems = _semantic_problems(scn)
    if problems:
        raise _error(problems, source, lines)
    return scn


def load_scenario(path: Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, override and validate a scenario file; raise ScenarioError on any problem.

    `overrides` maps dotted keys to values (`{"workload.producers.acks": "1"}`), applied before
    validation; string values are parsed as YAML scalars.
    """
    path = Path(path)
    try:
        data, lines = _read_yaml(path)
    except ScenarioError as e:
        raise _redact_error(e, set()) from None
    return _build(data, source=_printable(str(path)), overrides=overrides, lines=lines)


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of the scenario format (for editors and `kafkadrill schema`)."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "kafkadrill scenario"
    schema["description"] = (
        "A kafkadrill drill: topology, workload, fault timeline, runbooks "
        "and objectives. See docs/reference/scenario-format.md."
    )
    # Fault type names live in a registry (extensible), so add them at export time.
    defs = schema.get("$defs", {})
    if "FixedFault" in defs:
        defs["FixedFault"]["properties"]["fault"]["enum"] = catalog.fault_names()
    if "RandomSpec" in defs:
        defs["RandomSpec"]["properties"]["faults"]["items"]["enum"] = catalog.fault_names()
    return schema
