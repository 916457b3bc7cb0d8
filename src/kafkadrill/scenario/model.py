"""The scenario schema: pydantic models of a drill description (shape, types, defaults).

Every model forbids unknown keys, so a typo is an error with a "did you mean" suggestion; checks
that need the whole scenario live in rules/, reading YAML in safe_yaml.py, validation in load.py.
The format is documented field by field in docs/reference/scenario-format.md.
"""

from __future__ import annotations

import hashlib
import re
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from kafkadrill.checkers import ANOMALY_NAMES
from kafkadrill.faults import catalog
from kafkadrill.faults.schedule import ScheduledFault, TimelineEntry
from kafkadrill.runtime_options import options_model
from kafkadrill.scenario import derive
from kafkadrill.scenario.limits import MAX_TIMELINE_ENTRIES
from kafkadrill.scenario.model_dr import PRINCIPAL_RE, AclSpec, BackupSpec, SchemaRegistrySpec
from kafkadrill.scenario.model_types import (
    ConfigMap,
    Float,
    Int,
    _Model,
    _no_bool,
    _version_str,
)
from kafkadrill.topology import MAX_CLUSTERS, Topology, full_match_regex, topic_pattern

_INT32 = 2**31 - 1  # Kafka's int settings (ms, counts) are Java ints
_INT63 = 2**63 - 1  # JSON readers (orjson) and Java longs stop here
# expected_anomalies name checkers, as registered (@checker in kafkadrill.checkers): a FAIL
# from a listed checker is reported but allowed.
AnomalyName = Literal[ANOMALY_NAMES]  # type: ignore[valid-type]  # built from the registry
ANOMALIES: tuple[str, ...] = typing.get_args(AnomalyName)
CLUSTERS = ("primary", "dr")  # the built-in two-dc topology
NAME_RE = r"^[a-z0-9][a-z0-9-]*$"
# The `external:` section is the external runtime's own options model, looked up in the
# runtime_options registry so this schema imports no runtime (the JSON Schema is unchanged).
ExternalOptions: Any = options_model("external")


# --------------------------------------------------------------------------------------------
# Topology
# --------------------------------------------------------------------------------------------


class TopicModel(_Model):
    # Kafka's own rule (Topic.validate): these characters, at most 249 (200 here), not . or ..
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

    @field_validator("name")
    @classmethod
    def _not_dots(cls, v: str) -> str:
        # The pattern cannot say it (no look-ahead in pydantic's regex engine).
        if v in (".", ".."):
            raise ValueError(f"'{v}' is not a topic name Kafka accepts; give the topic a name")
        return v


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


Mm2Mode = Literal["dedicated", "connect"]


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
    mm2_mode: Mm2Mode | None = Field(default=None, description="over topology.mm2_mode")


BUILTIN_MODELS = ("active-passive", "active-active", "stretch", "backup")


#: Feature levels a scenario may set at format time (metadata.version and kraft.version follow
#: the Kafka version and the quorum; they are not a drill's setting).
FEATURES = ("transaction.version", "group.version", "eligible.leader.replicas.version",
            "share.version", "streams.version")  # fmt: skip
FeatureName = Literal[
    "transaction.version",
    "group.version",
    "eligible.leader.replicas.version",
    "share.version",
    "streams.version",
]


class TopologySpec(_Model):
    builtin: Literal["two-dc"] = "two-dc"
    model: Literal["active-passive", "active-active", "stretch", "backup", "custom"] = Field(
        default="active-passive",
        description="active-passive: primary in east, dr in west, MM2 primary->dr; "
        "backup: the same clusters without MM2, primary backed up (topology.backup, default "
        "from primary, worker in west) and restored into dr by the failover; "
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
    mm2_mode: Mm2Mode = Field(
        default="dedicated",
        description="how every flow's MirrorMaker 2 runs: dedicated (the MirrorMaker driver, "
        "one process per flow) or connect (MirrorSource, Checkpoint and Heartbeat connectors "
        "on a Kafka Connect worker with REST on loopback, as Strimzi runs MM2; needed by the "
        "faults that act on one connector or task)",
    )
    features: dict[FeatureName, Annotated[int, Field(ge=0, le=99)]] = Field(
        default_factory=dict,
        description="feature levels every cluster is formatted with (kafka-storage format "
        "--feature), e.g. {transaction.version: 1, group.version: 0}; kafkadrill-started "
        "runtimes only",
    )
    wan: WanSpec | None = Field(
        default=None, description="baseline latency/jitter/bandwidth per link for the whole run"
    )
    backup: BackupSpec | None = Field(
        default=None,
        description="back a cluster up through a Kafka Connect sink (model backup: on by "
        "default); local runtime",
    )
    schema_registry: SchemaRegistrySpec | None = Field(
        default=None,
        description="a schema registry on every cluster, replicated through MM2 (local runtime)",
    )
    principals: list[Annotated[str, Field(pattern=PRINCIPAL_RE)]] = Field(
        default_factory=list,
        max_length=32,
        description="application principals (SASL/PLAIN on every client listener, ACLs "
        "enforced, nothing open without one); producers and groups name theirs with "
        "`principal` (local runtime)",
    )
    acls: list[AclSpec] = Field(
        default_factory=list, max_length=200, description="ACLs held from the start"
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
                sizes += [self.nodes.dr] if self.model in ("active-passive", "backup") else []
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


class TransactionsSpec(_Model):
    size: Int = Field(default=10, ge=1, le=100_000, description="messages per transaction")
    abort_ratio: Float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="share of transactions aborted on purpose, evenly spread",
    )
    timeout_ms: Int = Field(
        default=15000, ge=1000, le=900_000, description="the producer's transaction.timeout.ms"
    )


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
    principal: str | None = Field(
        default=None, description="log in as this topology.principals entry (null = none)"
    )
    transactions: TransactionsSpec | None = Field(
        default=None,
        description="write in transactions (transactional.id per producer and run); "
        "needs acks: all and idempotence",
    )
    workers: Int = Field(
        default=0,
        ge=0,
        le=32,
        description="worker processes the group's producers run in, spread evenly (0 = threads "
        "of the runner); needs history_format: columnar",
    )
    worker_command: list[str] | None = Field(
        default=None,
        min_length=1,
        description="start each worker through this command, which ends with the Python that "
        "runs it (e.g. [ssh, loadgen-1, python3]): its spec and commands travel on its stdin, "
        "its status and segment on its stdout, and it keeps its own clock (null = a child "
        "process of the runner)",
    )

    @model_validator(mode="after")
    def _resolve_idempotence(self) -> ProducerSpec:
        if self.transactions is not None:
            # librdkafka refuses a message timeout above the transaction timeout: an unset
            # delivery_timeout_ms follows it down.
            if "delivery_timeout_ms" not in self.model_fields_set:
                self.delivery_timeout_ms = min(
                    self.delivery_timeout_ms, self.transactions.timeout_ms
                )
            # A transactional producer is idempotent by definition (librdkafka refuses else).
            if self.acks != "all":
                raise ValueError("transactions need acks: all (set acks: all or drop transactions)")
            if self.enable_idempotence is False:
                raise ValueError("transactions need idempotence (drop enable_idempotence: false)")
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
    isolation_level: Literal["read_committed", "read_uncommitted"] = Field(
        default="read_committed",
        description="read_committed skips records of aborted and open transactions",
    )
    site: str | None = Field(default=None, description="null = the region of its cluster")
    cluster: str | None = Field(
        default=None, description="null = the first cluster (built-in models: primary)"
    )
    config: ConfigMap = Field(default_factory=dict, description="extra client properties")
    principal: str | None = Field(
        default=None, description="log in as this topology.principals entry (null = none)"
    )

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


class CopierSpec(_Model):
    """A read-process-write copier (issue 23): consumes `from_topic`, produces each record to
    `to_topic` and commits its offsets in one transaction (exactly once, KIP-98/KIP-447)."""

    group: str = Field(pattern=r"^[A-Za-z0-9._-]+$", description="the copier's consumer group")
    to_topic: str = Field(
        pattern=r"^[A-Za-z0-9._-]{1,200}$",
        description="the output topic; created like the input (partitions, rf, configs) "
        "unless declared under topology.topics",
    )
    from_topic: str | None = Field(
        default=None, description="null = the workload topic (workload.producers.topic)"
    )
    cluster: str | None = Field(default=None, description="null = the producers' cluster")
    site: str | None = Field(default=None, description="null = the region of its cluster")
    count: Int = Field(default=1, ge=1, le=32, description="members of the group")
    transaction_timeout_ms: Int = Field(
        default=15000, ge=1000, le=900_000, description="its producer's transaction.timeout.ms"
    )
    max_batch: Int = Field(default=500, ge=1, le=100_000, description="records per transaction")
    config: ConfigMap = Field(
        default_factory=dict, description="extra client properties (consumer and producer)"
    )


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
    copiers: list[CopierSpec] = Field(
        default_factory=list,
        max_length=8,
        description="read-process-write copiers with exactly-once transactions",
    )

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


class FenceSpec(_Model):
    """Deny writes on the old primary, so that a client that missed the redirect cannot write
    there (split writes). `acl`: a DENY WRITE ACL on the workload topic for every principal
    (the clusters get an ACL authorizer); the runbook verifies it with a real write."""

    method: Literal["acl"] = "acl"
    position: Literal["before_redirect", "after_redirect"] = Field(
        default="before_redirect",
        description="fence, then redirect (no split writes once it holds), or redirect first",
    )
    from_site: str | None = Field(
        default=None,
        description="where the operator reaches the old primary from (null = its own region, "
        "an out-of-band path such as a bastion there)",
    )
    timeout_seconds: Float = Field(
        default=60,
        gt=0,
        le=3600,
        description="keep trying this long while the old primary does not answer",
    )


class StragglerSpec(_Model):
    """Producers that miss the redirect and keep writing to the old primary (a stale DNS
    entry, a client that never got the new bootstrap)."""

    producers: Int = Field(ge=1, le=64, description="the last N producers miss the redirect")
    redirect_after_seconds: Float | None = Field(
        default=None,
        ge=0,
        le=86400,
        description="seconds after the others until they move too (null = never)",
    )


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
    fence: FenceSpec | None = Field(default=None, description="null = no fence")
    stragglers: StragglerSpec | None = Field(
        default=None, description="producers that miss the redirect (null = none)"
    )
    max_checkpoint_age_seconds: Float | None = Field(
        default=None,
        gt=0,
        le=86400,
        description="readiness gate: refuse to fail over (the runbook stops before moving "
        "any client) when a workload group has no MM2 checkpoint for a partition of the "
        "workload topic, or its oldest is older than this; null = no gate (readiness is "
        "recorded either way)",
    )
    grant_acls: bool = Field(
        default=False,
        description="a `grant_acls` step before the redirect: the ACLs topology.acls gives on "
        "`from` are created on `to` (what a runbook must do when MM2 syncs topic ACLs "
        "read-only and group ACLs not at all)",
    )
    restore_backup: bool = Field(
        default=False,
        description="restore topology.backup into the target (a `restore` step after "
        "prepare_topics, instead of translating offsets): the DR site's data is the backup's",
    )


class FailbackRunbook(_Model):
    at: Float = Field(ge=0, description="seconds into the fault phase")
    catch_up_timeout_seconds: Float = Field(default=60, gt=0, le=86400)
    translate_offsets: bool = True
    strategy: Literal["reverse", "rebuild", "truncate"] = Field(
        default="reverse",
        description="what happens to the original's divergent tail: kept (reverse), replaced "
        "by the DR copy (rebuild), or cut off after what reached DR (truncate)",
    )


class Runbooks(_Model):
    failover: FailoverRunbook | None = None
    failback: FailbackRunbook | None = None


class FinalRead(_Model):
    timeout_seconds: Float = Field(default=60, gt=0, le=86400)


def _max_count(description: str) -> Any:
    """An optional upper bound on a count (null: measured and reported only)."""
    return Field(default=None, ge=0, le=_INT63, description=description)


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
    max_split_writes: Int | None = _max_count(
        "writes the old primary acknowledged after the failover decision"
    )
    max_aborted_reads_on_copies: Int | None = _max_count(
        "records of aborted transactions read_committed readers returned on a "
        "cluster other than the transaction's (replicated as ordinary records)"
    )
    max_torn_transactions_on_copies: Int | None = _max_count(
        "committed transactions only partly present on a cluster other than "
        "the transaction's (replication stopped mid-transaction)"
    )
    max_replication_recovery_seconds: Float | None = Field(
        default=None,
        ge=0,
        description="after every heal of a fault that stalled a flow: seconds until its data "
        "caught up and MM2 heartbeats were fresh again",
    )
    require_ordering: bool = False
    require_timestamps_preserved: bool = True
    expected_anomalies: list[AnomalyName] = Field(
        default_factory=list, description="checkers whose FAIL is reported but allowed"
    )


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------


# The whole validation pipeline (overrides, this schema, the rules) lives in load.py, which needs
# this model: load.py installs itself here when imported (the package __init__ imports it before
# anyone can hold a Scenario), so `Scenario.from_dict` works without an import circle.
Validator = Callable[..., "Scenario"]
_VALIDATOR: list[Validator] = []


def install_validator(build: Validator) -> None:
    """Called by load.py: `build(data, source=, overrides=, lines=)` validates both passes."""
    _VALIDATOR[:] = [build]


def _derived_seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") & 0x7FFFFFFF


class Scenario(_Model):
    """A validated drill. Build with `load_scenario` / `Scenario.from_dict`; treat as read-only."""

    name: str = Field(pattern=NAME_RE, max_length=80, description="used in report paths")
    description: str = ""
    seed: Int | None = Field(
        default=None, ge=-_INT63, le=_INT63, description="null = derived from name"
    )
    duration_seconds: Float = Field(default=60, gt=0, le=86400)
    warmup_seconds: Float = Field(default=5, ge=0, le=3600)
    history_format: Literal["jsonl", "columnar"] = Field(
        default="jsonl",
        description="columnar: the compact history.arrow (long drills); jsonl: history.jsonl",
    )
    topology: TopologySpec = Field(default_factory=TopologySpec)
    workload: WorkloadSpec = Field(default_factory=WorkloadSpec)
    timeline: list[TimelineEntry] = Field(default_factory=list, max_length=MAX_TIMELINE_ENTRIES)
    runbooks: Runbooks = Field(default_factory=Runbooks)
    final_read: FinalRead = Field(default_factory=FinalRead)
    objectives: Objectives = Field(default_factory=Objectives)
    runtime: str | None = Field(default=None, description="null = local; `external`: see below")
    external: ExternalOptions | None = Field(
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
    def _resolve_max_skipped(self) -> Scenario:
        """max_skipped is 0 by default, but skips exist only for a consumer group: without one
        the default resolves to null (not judged; the resolved scenario says so). A stated one
        is refused by the objective rule (nothing observed must not read as PASS)."""
        o = self.objectives
        if not self.workload.consumers and "max_skipped" not in o.model_fields_set:
            o.max_skipped = None
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
        for cp in w.copiers:
            if cp.cluster is None:
                cp.cluster = w.producers.cluster
            if cp.site is None and cp.cluster in regions:
                cp.site = regions[cp.cluster]
            if cp.from_topic is None:
                cp.from_topic = w.producers.topic
        fo = self.runbooks.failover
        if fo is not None:
            if fo.from_cluster is None:
                fo.from_cluster = w.producers.cluster
            if fo.to_cluster is None:
                fo.to_cluster = next((t for s, t in flows if s == fo.from_cluster), None)
            if fo.to_cluster is None and fo.restore_backup:
                # Restored, not replicated: the backup's target is the other cluster.
                fo.to_cluster = next((c for c in regions if c != fo.from_cluster), None)
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
        if t.model == "backup":
            return {"primary": "east", "dr": "west"}, []
        flows = [("primary", "dr")] + ([("dr", "primary")] if t.model == "active-active" else [])
        return {"primary": "east", "dr": "west"}, flows

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls, data: Any, *, source: str | None = None, overrides: dict[str, Any] | None = None
    ) -> Scenario:
        """Validate a parsed scenario (both passes); raise ScenarioError naming `source`."""
        return _VALIDATOR[0](data, source=source, overrides=overrides, lines={})

    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from, if any."""
        return self._source

    # -- derived views ------------------------------------------------------------------------

    def to_topology(self) -> Topology:
        """The topology this scenario describes (built, or described by `external`)."""
        return derive.topology_of(self)

    def schedule(self) -> list[ScheduledFault]:
        """The concrete fault schedule (random entries drawn with `seed`), sorted by `at`."""
        if self._schedule is None:
            self._schedule = derive.schedule_of(self)
        return list(self._schedule)

    def failover_watch_at(self) -> float | None:
        """Seconds into the fault phase when the failover runbook starts probing, or None."""
        return derive.failover_watch_at(self)

    def resolved_yaml(self) -> str:
        """The fully resolved scenario (defaults filled in, secrets redacted) as YAML.

        Loading it again gives the same scenario; the expanded schedule is appended as comments
        so the run directory shows exactly what was injected.
        """
        return derive.resolved_yaml(self)


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
