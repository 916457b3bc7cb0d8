"""The typed Report model report.json is serialised from, and its JSON Schema.

Built from checker output (:func:`kafkadrill.checkers.judge.judge`) plus the run's identity;
the report code formats it and never recomputes a figure. report.json has the stable keys of
the contract first (DESIGN.md "Contracts", docs/reference/report-layout.md), then the others in
the order the report was built: judge() builds them in the field order below, a direct caller's
partial report keeps its own (as report.json always has). Keys a caller did not give stay
absent (a partial report from a direct caller is written as given, never padded with nulls);
keys the model does not know are kept after the known ones (readers ignore unknown keys).

Values are checked, not converted: a figure keeps the exact type and value a checker gave it,
so the bytes of report.json are what the checkers computed. The schema is checked in as
docs/reference/report-schema.json (a unit test keeps it equal to :func:`report_json_schema`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt, StrictStr

__all__ = [
    "STABLE_KEYS",
    "CheckerResult",
    "Evidence",
    "Failover",
    "FailoverDivergentTail",
    "FailoverSplitWrites",
    "Fault",
    "Finding",
    "LagAtFault",
    "Objective",
    "Replication",
    "ReplicationFlow",
    "Report",
    "Rpo",
    "Rto",
    "report_document",
    "report_json_schema",
]

#: A figure: an integer or a float, never a bool or a string; None where not known.
Number = StrictInt | StrictFloat | None
Text = StrictStr | None


class _Part(BaseModel):
    # extra="allow": a key a newer checker adds is kept, after the known ones.
    model_config = ConfigDict(extra="allow")


class Objective(_Part):
    """One objective of the scenario against what was measured."""

    name: StrictStr | None = None
    target: Any = None
    observed: Any = None
    verdict: Text = None  # PASS | FAIL | UNKNOWN | MEASURED


class Rpo(_Part):
    """Recovery point: acknowledged messages lost, duplicated, unknown, and the window."""

    acked: Number = None
    lost: Number = None
    lost_bytes: Number = None
    window_seconds: Number = None
    duplicates: Number = None
    unknown: Number = None


class Rto(_Part):
    """Recovery time: how long writers and readers were without service, phase by phase."""

    write_unavailable_seconds: Number = None
    read_unavailable_seconds: Number = None
    write_unavailable_per_producer: dict[str, Any] | None = None
    write_unavailable_worst_writer_seconds: Number = None
    phases: dict[str, Any] | None = None


class Fault(_Part):
    """One injected fault, when it was injected and healed, and whether it verified."""

    id: Text = None
    type: Text = None
    target: Any = None
    params: Any = None
    injected_at: Text = None
    injected_t: Number = None
    healed_at: Text = None
    healed_t: Number = None
    verified: StrictBool | None = None
    verify_detail: Any = None
    heal_detail: Any = None


class CheckerResult(_Part):
    """One checker's verdict: its status, figures, evidence rows and notes."""

    status: Text = None  # PASS | FAIL | UNKNOWN
    figures: dict[str, Any] | None = None
    evidence: list[Any] | None = None
    notes: list[Any] | None = None


class LagAtFault(_Part):
    """The last replication-lag probe of a flow at or before a fault."""

    tag: Text = None
    fault: Text = None
    target: Any = None
    fault_t: Number = None
    flow: Text = None
    probe_t: Number = None
    lag: Any = None
    heartbeat_age_s: Number = None


class Evidence(_Part):
    """The auditors' block: who, which plan, targets vs measured, deviations, outcome."""

    operator: Any = None
    approved_by: Any = None
    confirmed: Any = None
    plan_sha256: Text = None
    plan_file: Text = None
    runtime: Text = None
    steady_state: dict[str, Any] | None = None
    targets_vs_measured: list[Objective] | None = None
    measured: dict[str, Any] | None = None
    adapter_calls: Number = None
    deviations: list[StrictStr] | None = None
    outcome: Text = None
    verdict: Text = None
    verdict_limited_by: Text = None


class FailoverSplitWrites(_Part):
    """Writes the old primary acknowledged after the failover decision (checkers.md)."""

    count: Number = None
    per_producer: dict[str, Any] | None = None
    producers: list[StrictStr] | None = None
    stragglers: list[StrictStr] | None = None
    first_ack_after_decision_s: Number = None
    last_ack_after_decision_s: Number = None
    reached_dr: Number = None
    not_reached_dr: Number = None
    seen_by_consumer: Number = None
    acked_through_fence: Number = None
    sent_through_fence: Number = None


class FailoverDivergentTail(_Part):
    """Writes the old primary acknowledged that DR's final read does not hold (checkers.md)."""

    count: Number = None
    acked_on_old_primary: Number = None
    before_decision: Number = None
    after_decision: Number = None
    held_on_old_primary: Number = None
    not_held_on_old_primary: Number = None
    nowhere: Number = None
    first_ack_t: Number = None
    last_ack_t: Number = None
    first_ack_after_decision_s: Number = None
    last_ack_after_decision_s: Number = None


class Failover(_Part):
    """A failover's split writes and divergent tail: the split_writes checker's figures."""

    applicable: StrictBool | None = None
    old_primary: Text = None
    dr: Text = None
    decision_t: Number = None
    decision_from: Text = None  # decide | redirect_producers | redirect
    clusters_from: Text = None  # decide | redirect
    redirect_producers_end_t: Number = None
    window_end_t: Number = None
    straggler_grace_seconds: Number = None
    fence: dict[str, Any] | None = None  # status, t, method, cluster, position
    split_writes: FailoverSplitWrites | None = None
    divergent_tail: FailoverDivergentTail | None = None


class ReplicationFlow(_Part):
    """One flow's replication health: stalls, and per fault how replication stopped and came
    back (the replication checker's figures, docs/explanation/checkers.md)."""

    samples: Number = None
    unreadable_samples: Number = None
    heartbeat_samples: Number = None
    heartbeat_unreadable_samples: Number = None
    steady_lag: Number = None
    stalls: list[dict[str, Any]] | None = None  # kind, topic, start_t, end_t, seconds, faults...
    per_fault: dict[str, dict[str, Any]] | None = None  # fault_id -> visible_after_s, ...
    last_heartbeat_t: Number = None
    last_heartbeat_age_s: Number = None
    heartbeats_stale_at_end: StrictBool | None = None


class Replication(_Part):
    """Replication stalls and MM2 heartbeats per flow: the replication checker's figures."""

    applicable: StrictBool | None = None
    data_stall_seconds: Number = None
    heartbeat_stale_seconds: Number = None
    monitor_end_t: Number = None
    flows: dict[str, ReplicationFlow] | None = None
    heartbeats_stale_at_end: list[StrictStr] | None = None


class Finding(_Part):
    """A finding and the action it suggests (checkers.findings rules)."""

    severity: Text = None  # high | medium | low | info
    text: Text = None
    suggestion: Text = None


#: The contract's stable keys, first in report.json (the Report model's first eleven fields).
STABLE_KEYS = (
    "scenario",
    "run_id",
    "started_at",
    "finished_at",
    "seed",
    "verdict",
    "objectives",
    "rpo",
    "rto",
    "faults",
    "versions",
)


class Report(_Part):
    """report.json. The first eleven fields are the contract's stable keys."""

    scenario: Text = None
    run_id: Text = None
    started_at: Text = None
    finished_at: Text = None
    seed: StrictInt | None = None
    verdict: Text = None  # PASS | FAIL | UNKNOWN
    objectives: list[Objective] | None = None
    rpo: Rpo | None = None
    rto: Rto | None = None
    faults: list[Fault] | None = None
    versions: dict[str, Any] | None = None
    # -- additional keys, in the order report.json has always had them
    description: Text = None
    error: Text = None
    # checkers.judge: each checker FAIL no objective governs, with its cause
    verdict_causes: list[dict[str, Any]] | None = None
    topology: dict[str, Any] | None = None
    failover: Failover | None = None  # checkers.split_writes: split writes, divergent tail
    replication: Replication | None = None  # checkers.replication: stalls, heartbeats
    expected_anomalies: list[StrictStr] | None = None
    checkers: dict[str, CheckerResult] | None = None
    consumer_groups: dict[str, dict[str, Any]] | None = None
    replication_lag_at_faults: list[LagAtFault] | None = None
    timeline: list[dict[str, Any]] | None = None
    evidence: Evidence | None = None
    recheck: dict[str, Any] | None = None  # `kafkadrill check` only: the original's state
    findings: list[Finding] | None = None
    report_files: dict[str, StrictStr] | None = None


def report_document(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report.json document of a report dict: validated by :class:`Report`, the keys it
    has in the model's order, unknown keys after them in their own order."""
    doc = Report.model_validate(dict(report)).model_dump(mode="python", exclude_unset=True)
    # Top level: the stable keys first, then the rest in the order the report was built
    # (judge() builds them in the model's order; a direct caller's partial report keeps its own).
    head = [k for k in STABLE_KEYS if k in doc]
    return {k: doc[k] for k in [*head, *(k for k in report if k in doc and k not in head)]}


def report_json_schema() -> dict[str, Any]:
    """JSON Schema of report.json (docs/reference/report-schema.json)."""
    schema = Report.model_json_schema()
    schema["$id"] = "https://kafkadrill.dev/schemas/report.json"
    schema["title"] = "kafkadrill report.json"
    return schema


assert tuple(Report.model_fields)[: len(STABLE_KEYS)] == STABLE_KEYS
