"""Metadata changes on a flow's source cluster, watched until they show on its target.

What MM2 (and Confluent Replicator) automate besides records: a topic created, partitions
added, a topic config changed on the source must reach the target; a topic the flow's filter
excludes must never appear there. Each change is a timeline entry (registered like a fault, so
it is scheduled, validated and recorded the same way):

    topic.create      create a topic on the flow's source
    topic.partitions  raise a declared topic's partition count
    topic.config      set one config of a declared topic

inject() applies the change through an AdminClient on the source (the runtime's bootstrap
address) and starts a watcher that polls the target every `POLL_SECONDS`; verify() checks the
source really holds the change; heal() ends the watch window (the change itself stays: it is
not undone). The history gets `probe` events named `metadata` (state `applied`, then `seen`
or, at the end of the window, `not_seen`); the metadata checker turns them into figures.

Whether MM2 should carry a change is derived from the flow's own settings, the way MM2 decides
it: a topic is replicated iff it matches `topics` and not `topics.exclude` and is not internal;
a config iff `sync.topic.configs.enabled` and it does not match `config.properties.exclude`.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from typing import Any, ClassVar, Literal, Protocol

from pydantic import Field, field_validator

from kafkadrill.errors import TopologyError
from kafkadrill.faults.base import FaultContext, fault
from kafkadrill.faults.catalog import FaultParams, Problem, did_you_mean, known
from kafkadrill.runtimes.base import Cap, Runtime
from kafkadrill.topology import Flow, Topology

#: How often the watcher asks the target (the resolution of every figure it yields).
POLL_SECONDS = 0.25
PROBE = "metadata"  # the `name` of this module's probe events
Expect = Literal["replicated", "excluded"]

# MirrorMaker 2's defaults (Kafka 4.x DefaultTopicFilter / DefaultConfigPropertyFilter).
MM2_TOPICS_DEFAULT = ".*"
MM2_TOPICS_EXCLUDE_DEFAULT = r"mm2.*\.internal, .*\.replica, __.*"
MM2_CONFIG_EXCLUDE_DEFAULT = (
    r"follower\.replication\.throttled\.replicas, leader\.replication\.throttled\.replicas, "
    r"message\.timestamp\.difference\.max\.ms, log\.message\.timestamp\.before\.max\.ms, "
    r"log\.message\.timestamp\.after\.max\.ms, message\.timestamp\.type, "
    r"unclean\.leader\.election\.enable, min\.insync\.replicas"
)

#: Topic-level configs of Kafka 4.x (TopicConfig); a name outside this list is a typo here.
TOPIC_CONFIGS = (
    "cleanup.policy",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.type",
    "compression.zstd.level",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "follower.replication.throttled.replicas",
    "index.interval.bytes",
    "leader.replication.throttled.replicas",
    "local.retention.bytes",
    "local.retention.ms",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "remote.log.copy.disable",
    "remote.log.delete.on.disable",
    "remote.storage.enable",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
)
_TOPIC_RE = r"^[A-Za-z0-9._-]{1,200}$"


# --------------------------------------------------------------------------------------------
# What MM2 carries (pure)
# --------------------------------------------------------------------------------------------


def mm2_setting(flow: Flow, key: str, default: str) -> str:
    """A flow's MM2 setting as MM2 resolves it: `<source>-><target>.<key>`, else `<key>`."""
    props = flow.properties
    return str(props.get(f"{flow.name}.{key}", props.get(key, default)))


def _pattern_list(text: str) -> re.Pattern[str]:
    # MM2 joins the comma-separated list with '|' and requires a whole-name match.
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return re.compile("|".join(f"(?:{p})" for p in parts) if parts else r"(?!)")


def topic_expectation(flow: Flow, topic: str) -> Expect:
    """Would MM2 replicate `topic` of the flow's source? (re.error for a pattern Python cannot
    read.) The include list is the flow's `topics` (a `<flow>.topics` property overrides it)."""
    include = str(flow.properties.get(f"{flow.name}.topics", flow.topics))
    exclude = mm2_setting(flow, "topics.exclude", MM2_TOPICS_EXCLUDE_DEFAULT)
    internal = (
        topic.startswith(("__", "."))
        or (topic.startswith("mm2") and topic.endswith(".internal"))
        or topic.endswith(".checkpoints.internal")
    )
    # A topic that is already a copy from the target would loop back: MM2 skips it.
    cycle = flow.remote_topic(topic) != topic and topic.startswith(f"{flow.target}.")
    ok = (
        _pattern_list(include).fullmatch(topic) is not None
        and _pattern_list(exclude).fullmatch(topic) is None
        and not internal
        and not cycle
    )
    return "replicated" if ok else "excluded"


def config_expectation(flow: Flow, config: str) -> Expect:
    """Would MM2 sync topic config `config` (set explicitly on the source) to the target?"""
    if mm2_setting(flow, "sync.topic.configs.enabled", "true").strip().lower() != "true":
        return "excluded"
    exclude = mm2_setting(flow, "config.properties.exclude", MM2_CONFIG_EXCLUDE_DEFAULT)
    return "excluded" if _pattern_list(exclude).fullmatch(config) else "replicated"


def _flow(topology: Topology, name: str) -> Flow | None:
    return next((f for f in topology.flows if f.name == name), None)


# --------------------------------------------------------------------------------------------
# Parameter models
# --------------------------------------------------------------------------------------------


class MetadataParams(FaultParams):
    """Common to topic.*: a flow (the change is made on its source, watched on its target)
    and a topic."""

    target_fields: ClassVar[tuple[str, ...]] = ("flow", "topic")
    change_kind: ClassVar[str] = ""
    flow: str = "primary->dr"
    topic: str = Field(pattern=_TOPIC_RE)

    def _check_flow(self, topology: Topology) -> tuple[Flow | None, list[Problem]]:
        f = _flow(topology, self.flow)
        if f is not None:
            return f, []
        names = [x.name for x in topology.flows]
        if not names:
            return None, [
                Problem(
                    "target.flow",
                    "this topology has no replication flow: a metadata change is measured on "
                    "a flow's target",
                    "use a two-cluster model (active-passive or active-active)",
                )
            ]
        return None, [
            Problem(
                "target.flow",
                f"unknown flow '{self.flow}'{did_you_mean(self.flow, names)}; {known(names)}",
            )
        ]

    def _declared(self, topology: Topology, f: Flow) -> tuple[Any, list[Problem]]:
        """The topic as declared on the flow's source (topology.topics), or a problem."""
        topics = {t.name: t for t in topology.cluster(f.source).topics}
        if self.topic in topics:
            return topics[self.topic], []
        return None, [
            Problem(
                "target.topic",
                f"{self.change_kind} needs a topic declared on '{f.source}' (topology.topics); "
                f"'{self.topic}' is not{did_you_mean(self.topic, topics)}; {known(topics)}",
                "declare it under topology.topics",
            )
        ]

    def targets(self, topology: Topology) -> set[str]:
        f = _flow(topology, self.flow)
        source = f.source if f else self.flow
        return {f"topic:{source}/{self.topic}/{self.change_kind}"}

    # No random draws: a metadata change names its topic, it is not a failure to sample.
    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return []


def _expect_problem(field: str, derived: Expect, stated: Expect | None, why: str) -> list[Problem]:
    if stated is None or stated == derived:
        return []
    return [
        Problem(
            field,
            f"expect is '{stated}' but this flow's MM2 settings would have the change "
            f"{derived} ({why})",
            "fix topology.mm2 (the filter) or the expectation",
        )
    ]


class TopicCreateParams(MetadataParams):
    """topic.create: create a topic on the flow's source; watch its copy on the target."""

    change_kind: ClassVar[str] = "topic.create"
    partitions: int = Field(default=3, ge=1, le=1000)
    replication_factor: int | None = Field(default=None, ge=1, le=9)
    expect: Expect | None = None  # null = derived from the flow's topic filter

    def check(self, topology: Topology) -> list[Problem]:
        f, problems = self._check_flow(topology)
        if f is None:
            return problems
        source = topology.cluster(f.source)
        if self.topic in {t.name for t in source.topics}:
            problems.append(
                Problem(
                    "target.topic",
                    f"'{self.topic}' is declared under topology.topics: it exists on "
                    f"'{f.source}' before the drill starts",
                    "name a topic that does not exist yet",
                )
            )
        if self.topic.startswith(("__", ".")) or self.topic == "kd-health":
            problems.append(
                Problem(
                    "target.topic",
                    f"'{self.topic}' is an internal name (Kafka's '__*', '.*', or kafkadrill's "
                    "kd-health)",
                    "name an ordinary topic",
                )
            )
        rf = self.replication_factor
        if rf is not None and rf > source.size:
            problems.append(
                Problem(
                    "params.replication_factor",
                    f"{rf} is larger than cluster '{source.name}' ({source.size} nodes)",
                    f"use at most {source.size}",
                )
            )
        try:
            derived = topic_expectation(f, self.topic)
        except re.error as exc:
            if self.expect is None:
                problems.append(
                    Problem(
                        "params.expect",
                        f"the flow's MM2 topic filter cannot be evaluated here ({exc})",
                        "state params.expect: replicated or excluded",
                    )
                )
            return problems
        include = f.properties.get(f"{f.name}.topics", f.topics)
        exclude = mm2_setting(f, "topics.exclude", MM2_TOPICS_EXCLUDE_DEFAULT)
        why = f"topics '{include}', topics.exclude '{exclude}'"
        return problems + _expect_problem("params.expect", derived, self.expect, why)


class TopicPartitionsParams(MetadataParams):
    """topic.partitions: raise a declared topic's partition count on the flow's source."""

    change_kind: ClassVar[str] = "topic.partitions"
    count: int = Field(ge=2, le=1000, description="the new partition count (a total)")

    def check(self, topology: Topology) -> list[Problem]:
        f, problems = self._check_flow(topology)
        if f is None:
            return problems
        spec, problems = self._declared(topology, f)
        if spec is not None and self.count <= spec.partitions:
            problems.append(
                Problem(
                    "params.count",
                    f"'{self.topic}' already has {spec.partitions} partitions; Kafka only adds "
                    f"partitions, so count must exceed {spec.partitions}",
                    f"use count >= {spec.partitions + 1}",
                )
            )
        if spec is not None:
            try:
                if topic_expectation(f, self.topic) == "excluded":
                    problems.append(
                        Problem(
                            "target.topic",
                            f"'{self.topic}' is excluded by the flow's topic filter: it has no "
                            "copy on the target whose partitions could be watched",
                            "pick a replicated topic",
                        )
                    )
            except re.error:
                pass  # measured as it comes
        return problems


class TopicConfigParams(MetadataParams):
    """topic.config: set one config of a declared topic on the flow's source."""

    change_kind: ClassVar[str] = "topic.config"
    config: str = Field(description="topic config name, e.g. retention.ms")
    value: str
    expect: Expect | None = None  # null = derived from config.properties.exclude

    def targets(self, topology: Topology) -> set[str]:
        # Two different configs of one topic may change at once; one config twice may not.
        return {f"{t}/{self.config}" for t in super().targets(topology)}

    @field_validator("value", mode="before")
    @classmethod
    def _as_text(cls, v: Any) -> Any:
        # Kafka wants strings; YAML gives numbers and booleans.
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return str(v)
        return v

    def check(self, topology: Topology) -> list[Problem]:
        f, problems = self._check_flow(topology)
        if f is None:
            return problems
        spec, problems = self._declared(topology, f)
        if self.config not in TOPIC_CONFIGS:
            problems.append(
                Problem(
                    "params.config",
                    f"'{self.config}' is not a topic config"
                    f"{did_you_mean(self.config, TOPIC_CONFIGS)}",
                    "use a topic-level config name (Kafka's TopicConfig), e.g. retention.ms",
                )
            )
            return problems
        if spec is not None and spec.config.get(self.config) == self.value:
            problems.append(
                Problem(
                    "params.value",
                    f"'{self.topic}' is declared with {self.config}={self.value} already: "
                    "nothing would change",
                    "choose a different value",
                )
            )
        rf = spec.replication_factor if spec is not None else 0
        # Kafka accepts any value here and refuses acks=all writes later.
        if (
            self.config == "min.insync.replicas"
            and spec is not None
            and not (self.value.isdigit() and 1 <= int(self.value) <= rf)
        ):
            problems.append(
                Problem("params.value", f"min.insync.replicas must be 1..{rf} (the topic's RF)")
            )
        try:
            derived = config_expectation(f, self.config)
        except re.error as exc:
            if self.expect is None:
                problems.append(
                    Problem(
                        "params.expect",
                        f"the flow's config.properties.exclude cannot be evaluated here ({exc})",
                        "state params.expect: replicated or excluded",
                    )
                )
            return problems
        exclude = mm2_setting(f, "config.properties.exclude", MM2_CONFIG_EXCLUDE_DEFAULT)
        enabled = mm2_setting(f, "sync.topic.configs.enabled", "true")
        why = f"config.properties.exclude '{exclude}', sync.topic.configs.enabled {enabled}"
        return problems + _expect_problem("params.expect", derived, self.expect, why)


# --------------------------------------------------------------------------------------------
# Admin access (a seam: unit tests pass their own)
# --------------------------------------------------------------------------------------------


class MetadataAdmin(Protocol):
    """What the changes and the watcher need of one cluster."""

    def partitions(self, topic: str) -> int | None:
        """The topic's partition count, None if it does not exist."""
        ...

    def config(self, topic: str, name: str) -> str | None:
        """The topic's current value of config `name`, None if the topic does not exist."""
        ...

    def create_topic(self, topic: str, partitions: int, replication_factor: int) -> None: ...
    def create_partitions(self, topic: str, count: int) -> None: ...
    def set_config(self, topic: str, name: str, value: str) -> None: ...


class ConfluentAdmin:
    """MetadataAdmin over a confluent-kafka AdminClient (kept for the whole watch)."""

    def __init__(self, bootstrap: str, config: dict[str, Any] | None = None) -> None:
        from confluent_kafka.admin import AdminClient

        self.admin = AdminClient(
            {
                "bootstrap.servers": bootstrap,
                "socket.connection.setup.timeout.ms": 3000,
                "log_level": 0,
                **(config or {}),
            }
        )

    def partitions(self, topic: str) -> int | None:
        md = self.admin.list_topics(timeout=10)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            return None
        return len(t.partitions)

    def config(self, topic: str, name: str) -> str | None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import ConfigResource, ResourceType

        res = ConfigResource(ResourceType.TOPIC, topic)
        try:
            entries = self.admin.describe_configs([res])[res].result(timeout=10)
        except KafkaException as exc:
            if "UNKNOWN_TOPIC" in str(exc):
                return None
            raise
        entry = entries.get(name)
        return None if entry is None else entry.value

    def create_topic(self, topic: str, partitions: int, replication_factor: int) -> None:
        from confluent_kafka.admin import NewTopic

        for fut in self.admin.create_topics(
            [NewTopic(topic, partitions, replication_factor)]
        ).values():
            fut.result(timeout=30)

    def create_partitions(self, topic: str, count: int) -> None:
        from confluent_kafka.admin import NewPartitions

        for fut in self.admin.create_partitions([NewPartitions(topic, count)]).values():
            fut.result(timeout=30)

    def set_config(self, topic: str, name: str, value: str) -> None:
        from confluent_kafka.admin import (
            AlterConfigOpType,
            ConfigEntry,
            ConfigResource,
            ResourceType,
        )

        entry = ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
        res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
        for fut in self.admin.incremental_alter_configs([res]).values():
            fut.result(timeout=30)


def confluent_admin(runtime: Runtime, cluster: str) -> MetadataAdmin:
    # The runtime's client settings (security of an external cluster) apply to admin too.
    config = dict(getattr(runtime.clients, "config", None) or {})
    return ConfluentAdmin(runtime.bootstrap(cluster), config)


#: How the changes reach a cluster; unit tests replace it.
ADMIN_FACTORY: Callable[[Runtime, str], MetadataAdmin] = confluent_admin


# --------------------------------------------------------------------------------------------
# Implementations
# --------------------------------------------------------------------------------------------


class MetadataChange:
    """Apply a change on the flow's source, then watch the target until it shows."""

    kind = ""

    def __init__(self, ctx: FaultContext, params: Any) -> None:
        if ctx.history is None:
            raise TopologyError(f"{self.kind} records what it measures: it needs a history")
        self.ctx = ctx
        self.history = ctx.history
        self.params = params
        self.flow = ctx.runtime.flow(params.flow)
        self.topic = params.topic
        self.remote = self.flow.remote_topic(self.topic)
        self.change_id = uuid.uuid4().hex[:12]
        self.source = ADMIN_FACTORY(ctx.runtime, self.flow.source)
        self.target = ADMIN_FACTORY(ctx.runtime, self.flow.target)
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.seen: Any = None
        self.last: Any = None
        self.poll_error: str | None = None

    # ----- per kind ------------------------------------------------------------------------
    def expectation(self) -> Expect:
        raise NotImplementedError

    def want(self) -> dict[str, Any]:
        """What the change sets (recorded with it)."""
        raise NotImplementedError

    def apply(self) -> None:
        raise NotImplementedError

    def observe(self, admin: MetadataAdmin, topic: str) -> Any:
        """The state the change is about, on one cluster (None: the topic does not exist)."""
        raise NotImplementedError

    def shows(self, observed: Any) -> bool:
        """Does `observed` carry the change?"""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    # ----- the sequence --------------------------------------------------------------------
    def _event(self, state: str, **fields: Any) -> None:
        self.history.append("probe", name=PROBE, change_id=self.change_id, state=state, **fields)

    def inject(self) -> str:
        # topic.partitions states no expectation: it is always derived from the flow.
        expect = str(getattr(self.params, "expect", None) or self.expectation())
        try:
            before = self.observe(self.target, self.remote)
            self.apply()
        except Exception as exc:  # the cluster refused or did not answer: infrastructure
            raise TopologyError(
                f"{self.kind} on {self.flow.source}:{self.topic} failed: {type(exc).__name__}: "
                f"{exc}"
            ) from exc
        self._event(
            "applied",
            change=self.kind,
            flow=self.flow.name,
            source=self.flow.source,
            target=self.flow.target,
            topic=self.topic,
            remote_topic=self.remote,
            want=self.want(),
            expect=expect,
            before=before,
            already=self.shows(before),
            poll_seconds=POLL_SECONDS,
        )
        self.thread = threading.Thread(
            target=self._watch, name=f"kd-metadata-{self.change_id}", daemon=True
        )
        self.thread.start()
        return (
            f"{self.describe()} on {self.flow.source}; watching {self.flow.target}:"
            f"{self.remote} (MM2 should have it {expect})"
        )

    def _watch(self) -> None:
        while not self.stop.is_set():
            try:
                observed = self.observe(self.target, self.remote)
            except Exception as exc:  # a slow or refused poll is retried, and kept as evidence
                self.poll_error = f"{type(exc).__name__}: {exc}"
            else:
                self.last = observed
                if self.shows(observed):
                    self.seen = observed
                    self._event("seen", observed=observed)
                    return
            self.stop.wait(POLL_SECONDS)

    def verify(self) -> tuple[bool, str]:
        state = self.observe(self.source, self.topic)
        ok = self.shows(state)
        return ok, f"{self.flow.source}:{self.topic} {'has' if ok else 'lacks'} it ({state!r})"

    def heal(self) -> str:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
        where = f"{self.flow.target}:{self.remote}"
        if self.seen is not None:
            return f"watch ended: {where} showed it ({self.seen!r})"
        self._event("not_seen", last=self.last, poll_error=self.poll_error)
        return f"watch ended: {where} never showed it (last seen state {self.last!r})"


@fault(
    "topic.create",
    TopicCreateParams,
    needs={Cap.TOPIC_ADMIN},
    summary="create a topic on a flow's source; watch for its copy on the target",
)
class TopicCreate(MetadataChange):
    kind = "topic.create"

    params: TopicCreateParams

    def __init__(self, ctx: FaultContext, params: TopicCreateParams) -> None:
        super().__init__(ctx, params)
        self.partitions = params.partitions
        size = ctx.runtime.topology.cluster(self.flow.source).size
        rf = params.replication_factor
        self.rf = rf if rf is not None else min(3, size)

    def expectation(self) -> Expect:
        return topic_expectation(self.flow, self.topic)

    def want(self) -> dict[str, Any]:
        return {"partitions": self.partitions, "replication_factor": self.rf}

    def apply(self) -> None:
        self.source.create_topic(self.topic, self.partitions, self.rf)

    def observe(self, admin: MetadataAdmin, topic: str) -> Any:
        return admin.partitions(topic)

    def shows(self, observed: Any) -> bool:
        return observed is not None  # the topic exists

    def describe(self) -> str:
        return f"created {self.topic} ({self.partitions} partitions, RF {self.rf})"


@fault(
    "topic.partitions",
    TopicPartitionsParams,
    needs={Cap.TOPIC_ADMIN},
    summary="add partitions to a topic on a flow's source; watch its copy on the target",
)
class TopicPartitions(MetadataChange):
    kind = "topic.partitions"
    params: TopicPartitionsParams

    def expectation(self) -> Expect:
        return topic_expectation(self.flow, self.topic)

    def want(self) -> dict[str, Any]:
        return {"partitions": self.params.count}

    def apply(self) -> None:
        self.source.create_partitions(self.topic, self.params.count)

    def observe(self, admin: MetadataAdmin, topic: str) -> Any:
        return admin.partitions(topic)

    def shows(self, observed: Any) -> bool:
        return observed is not None and observed >= self.params.count

    def describe(self) -> str:
        return f"raised {self.topic} to {self.params.count} partitions"


@fault(
    "topic.config",
    TopicConfigParams,
    needs={Cap.TOPIC_ADMIN},
    summary="set a topic config on a flow's source; watch its copy on the target",
)
class TopicConfig(MetadataChange):
    kind = "topic.config"
    params: TopicConfigParams

    def expectation(self) -> Expect:
        return config_expectation(self.flow, self.params.config)

    def want(self) -> dict[str, Any]:
        return {"config": self.params.config, "value": self.params.value}

    def apply(self) -> None:
        self.source.set_config(self.topic, self.params.config, self.params.value)

    def observe(self, admin: MetadataAdmin, topic: str) -> Any:
        return admin.config(topic, self.params.config)

    def shows(self, observed: Any) -> bool:
        return observed == self.params.value

    def describe(self) -> str:
        return f"set {self.topic} {self.params.config}={self.params.value}"
