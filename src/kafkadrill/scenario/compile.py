"""Scenario -> DrillPlan: the validated input compiled once, by the runner, into plain typed parts
(kafkadrill.plan) that everything below the runner works from."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kafkadrill.plan import (
    AclPlan,
    ConsumerGroupPlan,
    ConsumerPlan,
    CopierGroupPlan,
    DrillPlan,
    FailbackPlan,
    FailoverPlan,
    FencePlan,
    ObjectivesPlan,
    ProducerGroupPlan,
    ReportSubject,
    RunbooksPlan,
    StragglerPlan,
)
from kafkadrill.scenario.derive import trigger_fault
from kafkadrill.secrets import find_secrets
from kafkadrill.topology import sasl_client_conf
from kafkadrill.workload.consumer import ConsumerSpec
from kafkadrill.workload.copier import CopierSpec
from kafkadrill.workload.producer import ProducerSpec

if TYPE_CHECKING:
    from kafkadrill.faults.schedule import ScheduledFault
    from kafkadrill.scenario.model import ProducerSpec as ScenarioProducerSpec
    from kafkadrill.scenario.model import Scenario, WorkloadSpec

__all__ = ["compile_plan", "stored_report_subject"]


def compile_plan(scenario: Scenario) -> DrillPlan:
    """The plan of a validated scenario (raises ScenarioError if its timeline cannot be planned)."""
    schedule = scenario.schedule()
    dumped = scenario.model_dump(mode="json", by_alias=True)
    return DrillPlan(
        name=scenario.name,
        description=scenario.description,
        seed=scenario.seed or 0,
        source=scenario.source,
        runtime=scenario.runtime,
        duration_seconds=scenario.duration_seconds,
        warmup_seconds=scenario.warmup_seconds,
        history_format=scenario.history_format,
        topology=scenario.to_topology(),
        schedule=tuple(schedule),
        producers=producer_specs(scenario.workload),
        consumers=consumer_plans(scenario.workload),
        producer_groups=producer_groups(scenario.workload),
        consumer_groups=consumer_groups(scenario.workload),
        runbooks=runbooks_plan(scenario, schedule),
        objectives=ObjectivesPlan(**_objectives(scenario)),
        final_read_timeout_seconds=scenario.final_read.timeout_seconds,
        runtime_options={} if scenario.external is None else {"external": scenario.external},
        resolved_yaml=scenario.resolved_yaml(),
        secrets=frozenset(find_secrets(dumped)),
        copiers=copier_specs(scenario.workload),
        copier_groups=copier_groups(scenario.workload),
        acls=tuple(
            AclPlan(
                a.principal,
                a.cluster,
                "topic" if a.topic is not None else "group",
                str(a.topic if a.topic is not None else a.group),
                tuple(a.operations),
            )
            for a in scenario.topology.acls
        ),
    )


def producer_specs(w: WorkloadSpec) -> tuple[ProducerSpec, ...]:
    """One client spec per producer (`count` of each group), named p0, p1... across groups:
    message ids are <producer>:<seq>, so names must be unique in the run."""
    out: list[ProducerSpec] = []
    workers = 0  # worker indices run across groups: each group has its own processes
    for ps in w.producer_groups():
        for i in range(ps.count):
            out.append(
                ProducerSpec(
                    name=f"p{len(out)}",
                    cluster=str(ps.cluster),
                    topic=ps.topic,
                    site=str(ps.site),
                    rate_per_second=ps.rate_per_second,
                    acks=ps.acks,
                    enable_idempotence=bool(ps.enable_idempotence),
                    linger_ms=ps.linger_ms,
                    retries=ps.retries,
                    delivery_timeout_ms=ps.delivery_timeout_ms,
                    request_timeout_ms=ps.request_timeout_ms,
                    message_bytes=ps.message_bytes,
                    extra={**_login(ps.principal), **ps.config},
                    worker=workers + i % ps.workers if ps.workers else None,
                    worker_command=ps.worker_command if ps.workers else None,
                    **_txn(ps),
                )
            )
        workers += min(ps.workers, ps.count)
    return tuple(out)


def _login(principal: str | None) -> dict[str, str]:
    """A workload client's own SASL login (topology.principals); {} = the runtime's."""
    return {} if principal is None else sasl_client_conf(principal)


def _txn(ps: ScenarioProducerSpec) -> dict[str, Any]:
    t = ps.transactions
    if t is None:
        return {}
    return {"txn_size": t.size, "txn_abort_ratio": t.abort_ratio, "txn_timeout_ms": t.timeout_ms}


def consumer_plans(w: WorkloadSpec) -> tuple[ConsumerPlan, ...]:
    """One client spec per consumer (`count` members of each group, `<group>-<i>`). The
    runner adds `client.rack` for the running topology's sites."""
    return tuple(
        ConsumerPlan(
            ConsumerSpec(
                name=f"{cs.group}-{i}",
                group=cs.group,
                cluster=str(cs.cluster),
                topic=cs.topic,
                site=str(cs.site),
                commit_interval_ms=cs.commit_interval_ms,
                auto_offset_reset=cs.auto_offset_reset,
                isolation_level=cs.isolation_level,
                extra={**_login(cs.principal), **cs.config},
                subscription=tuple(cs.subscription()),
            ),
            union=cs.union,
        )
        for cs in w.consumers
        for i in range(cs.count)
    )


def copier_specs(w: WorkloadSpec) -> tuple[CopierSpec, ...]:
    """One client spec per copier member (`count` of each copier, `<group>-<i>`)."""
    return tuple(
        CopierSpec(
            name=f"{cp.group}-{i}",
            group=cp.group,
            cluster=str(cp.cluster),
            site=str(cp.site),
            from_topic=str(cp.from_topic),
            to_topic=cp.to_topic,
            transaction_timeout_ms=cp.transaction_timeout_ms,
            max_batch=cp.max_batch,
            extra=dict(cp.config),
        )
        for cp in w.copiers
        for i in range(cp.count)
    )


def copier_groups(w: WorkloadSpec) -> tuple[CopierGroupPlan, ...]:
    """The copiers as declared (for the plan text)."""
    return tuple(
        CopierGroupPlan(
            group=cp.group,
            cluster=str(cp.cluster),
            from_topic=str(cp.from_topic),
            to_topic=cp.to_topic,
            count=cp.count,
            transaction_timeout_ms=cp.transaction_timeout_ms,
            max_batch=cp.max_batch,
        )
        for cp in w.copiers
    )


def producer_groups(w: WorkloadSpec) -> tuple[ProducerGroupPlan, ...]:
    """The producer groups as declared (for the plan text)."""
    return tuple(
        ProducerGroupPlan(
            count=p.count,
            cluster=str(p.cluster),
            site=str(p.site),
            topic=p.topic,
            acks=p.acks,
            rate_per_second=p.rate_per_second,
            transactions=None
            if p.transactions is None
            else f"transactions of {p.transactions.size}, "
            f"{p.transactions.abort_ratio:.0%} aborted on purpose, "
            f"timeout {p.transactions.timeout_ms} ms",
        )
        for p in w.producer_groups()
    )


def consumer_groups(w: WorkloadSpec) -> tuple[ConsumerGroupPlan, ...]:
    """The consumer groups as declared (for the plan text)."""
    return tuple(
        ConsumerGroupPlan(
            group=c.group,
            cluster=str(c.cluster),
            topic=c.topic,
            count=c.count,
            union=c.union,
            topics=None if c.topics is None else tuple(c.topics),
            pattern=c.pattern,
            isolation=str(c.config.get("isolation.level", c.isolation_level)),
        )
        for c in w.consumers
    )


def runbooks_plan(s: Scenario, schedule: list[ScheduledFault]) -> RunbooksPlan:
    """The runbooks with the failover's trigger resolved against the schedule."""
    fo, fb = s.runbooks.failover, s.runbooks.failback
    failover = None
    if fo is not None:
        index = None
        at = fo.trigger.at
        if at is None:
            sf = trigger_fault(fo.trigger.on_fault, schedule)
            if sf is not None:
                at, index = sf.at, schedule.index(sf)
        failover = FailoverPlan(
            source=fo.from_cluster,
            target=fo.to_cluster,
            watch_at=at,
            trigger_index=index,
            detect_failing_seconds=fo.detect_failing_seconds,
            probe_interval_seconds=fo.probe_interval_seconds,
            stop_mm2=fo.stop_mm2,
            translate_offsets=fo.translate_offsets,
            fence=None
            if fo.fence is None
            else FencePlan(
                fo.fence.method,
                fo.fence.position,
                fo.fence.from_site,
                fo.fence.timeout_seconds,
            ),
            stragglers=None
            if fo.stragglers is None
            else StragglerPlan(fo.stragglers.producers, fo.stragglers.redirect_after_seconds),
            max_checkpoint_age_seconds=fo.max_checkpoint_age_seconds,
            restore=fo.restore_backup,
            grant_acls=fo.grant_acls,
        )
    failback = (
        None
        if fb is None
        else FailbackPlan(fb.at, fb.catch_up_timeout_seconds, fb.translate_offsets, fb.strategy)
    )
    return RunbooksPlan(failover, failback)


def _objectives(s: Scenario) -> dict[str, Any]:
    data = s.objectives.model_dump()
    data["expected_anomalies"] = tuple(data["expected_anomalies"])
    return data


def stored_report_subject(path: Path) -> ReportSubject:
    """The report subject of a stored (resolved) scenario.yaml: what `kafkadrill check` judges
    a stored history against. Loading and compiling happen here, above the report."""
    from kafkadrill.scenario.load import load_scenario

    return compile_plan(load_scenario(path)).report_subject()
