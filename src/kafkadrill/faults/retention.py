"""Retention outrunning replication: the source deletes records MirrorMaker 2 has not copied.

    topic.retention   shorten a topic's retention on one cluster for the fault's duration

What MM2 users report: during a long link cut or MM2 stall, the source's retention deletes
records MM2 has not copied yet. When MM2 resumes, its consumer position is out of range and it
starts again from the earliest record left: the gap never reaches the DR copy, silently (no MM2
metric shows it). A drill compresses hours into seconds, so the fault sets a short
`retention.ms` (and a short `segment.ms`, since only closed segments are deleted) on the source
topic while the cut lasts, and restores the previous values at heal (a value that was not set
on the topic is deleted again, so the cluster default applies).

The fault proves its setting took effect (verify reads the configs back) and its heal reports
what retention really deleted during the window (log start offsets at heal minus at inject).
Which acknowledged records that cost, and why, is the loss checker's figure `by_cause`
(expired at the source vs never replicated vs lost at the origin).

Kafka checks retention every `log.retention.check.interval.ms` (default 5 minutes), so the
cluster must set it at most `retention_ms`; and MM2 copies topic configs to the target unless
`config.properties.exclude` names them, which would shorten the DR copy's retention too. Both
are scenario errors, named before anything starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import Field

from kafkadrill.faults.base import FaultContext, fault, read_back
from kafkadrill.faults.catalog import (
    FaultParams,
    Problem,
    check_cluster,
    find_cluster,
    known,
)
from kafkadrill.faults.metadata_admin import ConfluentAdmin
from kafkadrill.faults.mm2_filter import config_expectation
from kafkadrill.runtimes.base import Cap, Runtime
from kafkadrill.topology import Topology

#: The configs the fault sets on the topic (and restores at heal).
CONFIGS = ("retention.ms", "segment.ms")
CHECK_INTERVAL = "log.retention.check.interval.ms"


class RetentionParams(FaultParams):
    """topic.retention: a short retention on one declared topic of one cluster."""

    target_fields: ClassVar[tuple[str, ...]] = ("cluster", "topic")
    cluster: str
    topic: str
    retention_ms: int = Field(ge=1000, le=86_400_000, description="retention while in force")
    segment_ms: int = Field(
        default=1000,
        ge=100,
        le=86_400_000,
        description="segment roll time while in force: only closed segments are deleted",
    )

    def check(self, topology: Topology) -> list[Problem]:
        problems = check_cluster(topology, self.cluster)
        c = find_cluster(topology, self.cluster)
        if c is None:
            return problems
        names = [t.name for t in c.topics]
        if self.topic not in names:
            problems.append(
                Problem(
                    "target.topic",
                    f"cluster '{c.name}' declares no topic '{self.topic}'; {known(names)}",
                )
            )
        interval = c.broker_config.get(CHECK_INTERVAL)
        if interval is None or not interval.isdigit() or int(interval) > self.retention_ms:
            problems.append(
                Problem(
                    "params.retention_ms",
                    f"Kafka enforces retention only every {CHECK_INTERVAL} (default 300000 ms; "
                    f"cluster '{c.name}' sets {interval or 'nothing'}), so records would not "
                    "expire within the fault",
                    f"set topology.broker_config.{CHECK_INTERVAL} to at most "
                    f'{self.retention_ms} (e.g. "1000")',
                )
            )
        for flow in topology.flows:
            if flow.source != self.cluster:
                continue
            synced = [k for k in CONFIGS if config_expectation(flow, k) == "replicated"]
            if synced:
                problems.append(
                    Problem(
                        "params.retention_ms",
                        f"MirrorMaker 2 ({flow.name}) copies {', '.join(synced)} to "
                        f"'{flow.target}': the DR copy would expire as fast as the source",
                        "exclude them from config sync, e.g. topology.mm2."
                        "config.properties.exclude: 'retention\\.ms, segment\\.ms, ...' (keep "
                        "MM2's default entries), or sync.topic.configs.enabled: false",
                    )
                )
        return problems

    def targets(self, topology: Topology) -> set[str]:
        return {f"topic:{self.cluster}/{self.topic}"}


class TopicConfigs(ConfluentAdmin):
    """What the fault needs of one cluster: its topic configs (the metadata faults' admin) and
    where each partition's log begins (a seam for unit tests)."""

    def __init__(self, runtime: Runtime, cluster: str) -> None:
        super().__init__(
            runtime.bootstrap(cluster), dict(getattr(runtime.clients, "config", None) or {})
        )
        self.clients = runtime.clients
        self.bootstrap = runtime.bootstrap(cluster)

    def log_starts(self, topic: str) -> dict[int, int]:
        """Log start offset (low watermark) per partition."""
        return self.clients.log_starts(self.bootstrap, topic)


#: Builds the admin seam for (runtime, cluster); unit tests replace it.
CONFIGS_FACTORY: Callable[[Runtime, str], Any] = TopicConfigs


@fault(
    "topic.retention",
    RetentionParams,
    needs={Cap.TOPIC_RETENTION},
    summary="shorten a topic's retention on one cluster; restored at heal",
)
class TopicRetention:
    def __init__(self, ctx: FaultContext, params: RetentionParams) -> None:
        self.params = params
        self.admin = CONFIGS_FACTORY(ctx.runtime, params.cluster)
        self.wanted = {
            "retention.ms": str(params.retention_ms),
            "segment.ms": str(params.segment_ms),
        }
        self.before: dict[str, str | None] = {}
        self.starts: dict[int, int] = {}

    def _where(self) -> str:
        return f"{self.params.cluster}:{self.params.topic}"

    def inject(self) -> str:
        self.before = self.admin.topic_level_configs(self.params.topic, CONFIGS)
        self.starts = self.admin.log_starts(self.params.topic)
        self.admin.alter_configs(self.params.topic, dict(self.wanted))
        was = ", ".join(f"{k}={v or 'default'}" for k, v in self.before.items())
        now = ", ".join(f"{k}={v}" for k, v in self.wanted.items())
        return f"{self._where()}: {now} (was {was})"

    def verify(self) -> tuple[bool, str]:
        ok, seen = read_back(
            lambda: self.admin.topic_level_configs(self.params.topic, CONFIGS),
            lambda got: all(got.get(k) == v for k, v in self.wanted.items()),
        )
        shown = ", ".join(f"{k}={seen.get(k)}" for k in CONFIGS)
        return ok, f"{self._where()} reads back {shown}"

    def heal(self) -> str:
        starts = self.admin.log_starts(self.params.topic)
        self.admin.alter_configs(self.params.topic, dict(self.before))
        deleted = sum(max(0, lo - self.starts.get(p, 0)) for p, lo in starts.items())
        restored = ", ".join(f"{k}={v or 'default'}" for k, v in self.before.items())
        effect = (
            f"retention deleted {deleted} records while in force"
            if deleted
            else "retention deleted nothing while in force"
        )
        return f"{self._where()}: restored {restored}; {effect}"
