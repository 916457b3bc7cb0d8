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
it (faults/mm2_filter.py); the changes reach the clusters through faults/metadata_admin.py.
This module holds the three fault types: parameter models, implementations, registrations.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import Field, field_validator

from kafkadrill.errors import TopologyError
from kafkadrill.faults.base import FaultContext, fault, read_back
from kafkadrill.faults.catalog import FaultParams, Problem, did_you_mean, known
from kafkadrill.faults.metadata_admin import MetadataAdmin, confluent_admin
from kafkadrill.faults.mm2_filter import (
    MM2_CONFIG_EXCLUDE_DEFAULT,
    MM2_TOPICS_EXCLUDE_DEFAULT,
    TOPIC_CONFIGS,
    Expect,
    config_expectation,
    mm2_setting,
    topic_expectation,
)
from kafkadrill.history import Ev
from kafkadrill.runtimes.base import Cap, Runtime
from kafkadrill.topology import Flow, Topology

#: How often the watcher asks the target (the resolution of every figure it yields).
POLL_SECONDS = 0.25
PROBE = "metadata"  # the `name` of this module's probe events

_TOPIC_RE = r"^[A-Za-z0-9._-]{1,200}$"


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


def derived_expectation(
    derive: Callable[[], Expect], stated: Expect | None, what: str
) -> tuple[Expect | None, list[Problem]]:
    """What MM2 would do with a change, derived from the flow's settings; None (and a problem
    unless the scenario states `expect`) when a pattern of `what` cannot be evaluated here."""
    try:
        return derive(), []
    except re.error as exc:
        if stated is not None:
            return None, []
        return None, [
            Problem(
                "params.expect",
                f"the flow's {what} cannot be evaluated here ({exc})",
                "state params.expect: replicated or excluded",
            )
        ]


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
        derived, more = derived_expectation(
            lambda: topic_expectation(f, self.topic), self.expect, "MM2 topic filter"
        )
        if derived is None:
            return problems + more
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
        derived, more = derived_expectation(
            lambda: config_expectation(f, self.config), self.expect, "config.properties.exclude"
        )
        if derived is None:
            return problems + more
        exclude = mm2_setting(f, "config.properties.exclude", MM2_CONFIG_EXCLUDE_DEFAULT)
        enabled = mm2_setting(f, "sync.topic.configs.enabled", "true")
        why = f"config.properties.exclude '{exclude}', sync.topic.configs.enabled {enabled}"
        return problems + _expect_problem("params.expect", derived, self.expect, why)


# Admin access (faults/metadata_admin.py) is a seam: unit tests replace the factory.
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
        self.history.append(Ev.PROBE, name=PROBE, change_id=self.change_id, state=state, **fields)

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
        ok, state = read_back(lambda: self.observe(self.source, self.topic), self.shows)
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
