"""The DrillPlan: what everything below the runner works from.

A scenario (kafkadrill.scenario, the validated input) is compiled once by the runner into a plan
of plain, frozen, typed parts: the topology, the concrete fault schedule, one runtime spec per
workload client, the runbooks with their trigger resolved, the objectives, the final read and
the runtime's options. Modules below the runner take the plan (or the parts they need), so they
never import the scenario schema or loader. Built by `kafkadrill.scenario.compile.compile_plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from kafkadrill.faults.schedule import ScheduledFault
from kafkadrill.topology import Topology
from kafkadrill.workload.consumer import ConsumerSpec
from kafkadrill.workload.copier import CopierSpec
from kafkadrill.workload.producer import ProducerSpec

__all__ = [
    "ConsumerGroupPlan",
    "ConsumerPlan",
    "CopierGroupPlan",
    "DrillPlan",
    "FailbackPlan",
    "FailoverPlan",
    "FencePlan",
    "ObjectivesPlan",
    "ProducerGroupPlan",
    "ReportSubject",
    "RunbooksPlan",
    "StragglerPlan",
]


@dataclass(frozen=True)
class ConsumerPlan:
    """One workload reader: its client spec and whether it is a union view (it must receive
    every acknowledged write of every origin; the aggregation checker judges it)."""

    spec: ConsumerSpec
    union: bool = False


@dataclass(frozen=True)
class ProducerGroupPlan:
    """One producer group as the scenario declares it (`count` clients of these settings): what
    `kafkadrill plan` shows; the clients themselves are DrillPlan.producers."""

    count: int
    cluster: str
    site: str
    topic: str
    acks: str
    rate_per_second: float | None
    # "transactions of 50, 20% aborted on purpose, timeout 15000 ms"; None: not transactional
    transactions: str | None = None


@dataclass(frozen=True)
class ConsumerGroupPlan:
    """One consumer group as the scenario declares it (`count` members): what `kafkadrill
    plan` shows; the members themselves are DrillPlan.consumers."""

    group: str
    cluster: str
    topic: str
    count: int
    union: bool
    topics: tuple[str, ...] | None  # exactly these topics instead of `topic`
    pattern: str | None  # topics matching this instead of `topic`
    isolation: str = "read_committed"


@dataclass(frozen=True)
class CopierGroupPlan:
    """One copier as the scenario declares it (`count` members): what `kafkadrill plan`
    shows; the members themselves are DrillPlan.copiers."""

    group: str
    cluster: str
    from_topic: str
    to_topic: str
    count: int
    transaction_timeout_ms: int
    max_batch: int


@dataclass(frozen=True)
class FencePlan:
    method: str  # "acl"
    position: str  # "before_redirect" | "after_redirect"
    from_site: str | None  # None = the old primary's own region
    timeout_seconds: float


@dataclass(frozen=True)
class StragglerPlan:
    producers: int  # the last N producers miss the redirect
    redirect_after_seconds: float | None  # None = they never move


@dataclass(frozen=True)
class AclPlan:
    """An ACL a principal holds from the start (run-scoped names): ALLOW `operations` on one
    topic or group of `cluster`."""

    principal: str
    cluster: str
    resource: str  # "topic" | "group"
    name: str
    operations: tuple[str, ...]


@dataclass(frozen=True)
class FailoverPlan:
    """The failover runbook with its ends and trigger resolved against the schedule."""

    source: str | None  # the cluster failed over from (the producers' cluster by default)
    target: str | None  # the cluster failed over to
    # Seconds into the fault phase when it starts probing the source; None = its trigger
    # fault is not in the schedule (it never starts).
    watch_at: float | None
    trigger_index: int | None  # schedule index of the fault that triggers it, if any
    detect_failing_seconds: float
    probe_interval_seconds: float
    stop_mm2: bool
    translate_offsets: bool
    fence: FencePlan | None = None
    stragglers: StragglerPlan | None = None
    max_checkpoint_age_seconds: float | None = None  # the readiness gate (None: record only)
    restore: bool = False  # restore the backup (topology.backup) into the target
    grant_acls: bool = False  # create on the target the ACLs the plan gives on the source

    @property
    def trigger_fault_id(self) -> str | None:
        """The id the history gives the trigger fault (`f<index>`), if any."""
        return None if self.trigger_index is None else f"f{self.trigger_index}"


@dataclass(frozen=True)
class FailbackPlan:
    at: float  # seconds into the fault phase
    catch_up_timeout_seconds: float
    translate_offsets: bool
    strategy: str = "reverse"  # reverse | rebuild | truncate (runbooks/failback.py)


@dataclass(frozen=True)
class RunbooksPlan:
    failover: FailoverPlan | None = None
    failback: FailbackPlan | None = None


@dataclass(frozen=True)
class ObjectivesPlan:
    """What the drill must show; None = measured and reported, not judged. The fields and their
    order are the scenario's `objectives` (report.json lists them in this order)."""

    max_lost: int | None
    max_rpo_seconds: float | None
    max_rto_seconds: float | None
    max_read_unavailable_seconds: float | None
    max_duplicates: int | None
    max_consumer_rereads: int | None
    max_skipped: int | None
    max_produce_p99_ms: float | None
    max_metadata_sync_seconds: float | None
    max_split_writes: int | None
    max_aborted_reads_on_copies: int | None
    max_torn_transactions_on_copies: int | None
    max_replication_recovery_seconds: float | None
    require_ordering: bool
    require_timestamps_preserved: bool
    expected_anomalies: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The objectives as JSON-ready data (as the scenario's objectives dump)."""
        out = asdict(self)
        out["expected_anomalies"] = list(self.expected_anomalies)
        return out


@dataclass(frozen=True)
class ReportSubject:
    """What a report needs of the drill besides its history: who it is, what it must show and
    which values no output may hold. `kafkadrill check` builds it from the stored scenario."""

    name: str
    description: str
    seed: int
    objectives: dict[str, Any]  # as the scenario's objectives dump (JSON-ready, ordered)
    expected_anomalies: tuple[str, ...]
    secrets: frozenset[str]


@dataclass(frozen=True)
class DrillPlan:
    """One drill, compiled: everything below the runner reads this, never the scenario."""

    name: str
    description: str
    seed: int
    source: str | None  # the scenario file, for messages
    runtime: str | None  # the scenario's runtime (None = the caller's choice, else local)
    duration_seconds: float
    warmup_seconds: float
    topology: Topology
    schedule: tuple[ScheduledFault, ...]
    producers: tuple[ProducerSpec, ...]  # one per producer client, in start order
    consumers: tuple[ConsumerPlan, ...]  # one per consumer client, in start order
    producer_groups: tuple[ProducerGroupPlan, ...]  # as declared, the first is `producers`
    consumer_groups: tuple[ConsumerGroupPlan, ...]  # as declared
    runbooks: RunbooksPlan
    objectives: ObjectivesPlan
    final_read_timeout_seconds: float
    # The runtime's own options section by scenario key (`external`: its options model).
    runtime_options: Mapping[str, Any]
    resolved_yaml: str  # the resolved scenario (secrets redacted), as written to the run dir
    secrets: frozenset[str]  # secret values the scenario holds: never shown in any output
    # Read-process-write copiers (workload/copier.py): one spec per member, in start order,
    # and the copiers as declared (for the plan text).
    copiers: tuple[CopierSpec, ...] = ()
    copier_groups: tuple[CopierGroupPlan, ...] = ()
    acls: tuple[AclPlan, ...] = ()  # created before the workload starts (topology.acls)
    history_format: str = "jsonl"  # jsonl: history.jsonl; columnar: history.arrow

    @property
    def derived_topics(self) -> list[str]:
        """The topics copiers write (each once): read by the final read apart from the
        workload's (final_read.start `derived`)."""
        return list(dict.fromkeys(c.to_topic for c in self.copiers))

    @property
    def producer_topics(self) -> list[str]:
        """The topics producers write, in order, each once."""
        return list(dict.fromkeys(p.topic for p in self.producers))

    @property
    def union_groups(self) -> dict[str, str]:
        """Union consumer groups -> their cluster."""
        return {c.spec.group: c.spec.cluster for c in self.consumers if c.union}

    def report_subject(self) -> ReportSubject:
        """The parts of the plan the report is built from."""
        objectives = self.objectives.as_dict()
        if not self.consumer_groups:
            # No consumer group: nothing could be skipped or observed, so max_skipped is not
            # judged (to the judge a null max_skipped means 0, which would read as met).
            objectives.pop("max_skipped", None)
        return ReportSubject(
            name=self.name,
            description=self.description,
            seed=self.seed,
            objectives=objectives,
            expected_anomalies=self.objectives.expected_anomalies,
            secrets=self.secrets,
        )
