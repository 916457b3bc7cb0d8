"""Runbook and objective rules: failover/failback ends, triggers and times fit the topology,
the schedule and the duration; expected anomalies are not forbidden by an objective; an
objective only a consumer group can observe has one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kafkadrill.faults import catalog
from kafkadrill.faults.catalog import Problem, did_you_mean, known
from kafkadrill.faults.schedule import ScheduledFault
from kafkadrill.scenario.derive import trigger_fault
from kafkadrill.scenario.rules.registry import RuleContext, rule
from kafkadrill.topology import Topology

if TYPE_CHECKING:
    from kafkadrill.scenario.model import FailbackRunbook, FailoverRunbook, Scenario


@rule(50)
def runbook_rule(ctx: RuleContext) -> list[Problem]:
    return _runbook_problems(ctx.scenario, ctx.topology, ctx.schedule)


@rule(60)
def objective_rule(ctx: RuleContext) -> list[Problem]:
    return _objective_problems(ctx.scenario)


def _runbook_problems(s: Scenario, topo: Topology, schedule: list[ScheduledFault]) -> list[Problem]:
    fo, fb = s.runbooks.failover, s.runbooks.failback
    probs: list[Problem] = []
    watch: float | None = None
    if fo is not None:
        probs += _failover_end_problems(fo, topo)
        probs += _fence_and_straggler_problems(s, fo, topo)
        trigger_probs, watch = _trigger_problems(s, fo, schedule)
        probs += trigger_probs
        dur = s.duration_seconds
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
        probs += _failback_problems(s, fb, fo, watch, topo, schedule)
    return probs


def _fence_and_straggler_problems(
    s: Scenario, fo: FailoverRunbook, topo: Topology
) -> list[Problem]:
    """Stragglers are some of the producers; the fence is reached from a known site."""
    probs: list[Problem] = []
    total = sum(g.count for g in s.workload.producer_groups())
    if fo.stragglers is not None and fo.stragglers.producers > total:
        probs.append(
            Problem(
                "runbooks.failover.stragglers.producers",
                f"{fo.stragglers.producers} stragglers, but the workload has {total} producers",
                f"set it to at most {total}, or raise workload.producers.count",
            )
        )
    sites = {c.region for c in topo.clusters} | {a for c in topo.clusters for a in c.azs}
    if fo.fence is not None and fo.fence.from_site is not None and fo.fence.from_site not in sites:
        probs.append(
            Problem(
                "runbooks.failover.fence.from_site",
                f"unknown site {fo.fence.from_site!r}{did_you_mean(fo.fence.from_site, sites)}",
                f"use one of {', '.join(sorted(sites))}, or null for the old primary's region",
            )
        )
    return probs


def _failover_end_problems(fo: FailoverRunbook, topo: Topology) -> list[Problem]:
    """The failover's `from` and `to` name two clusters, joined by a flow if it translates."""
    probs: list[Problem] = []
    names = [c.name for c in topo.clusters]
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
    return probs


def _trigger_problems(
    s: Scenario, fo: FailoverRunbook, schedule: list[ScheduledFault]
) -> tuple[list[Problem], float | None]:
    """Problems of the failover trigger, and when the runbook starts watching (None: unknown)."""
    probs: list[Problem] = []
    dur = s.duration_seconds
    trig = fo.trigger
    watch: float | None = None
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
    if trig.on_fault is not None and not probs:
        sf = trigger_fault(trig.on_fault, schedule)
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
    return probs, watch


def _failback_problems(
    s: Scenario,
    fb: FailbackRunbook,
    fo: FailoverRunbook | None,
    watch: float | None,
    topo: Topology,
    schedule: list[ScheduledFault],
) -> list[Problem]:
    """Failback follows a failover, within the run, after the outage it reverses has healed."""
    probs: list[Problem] = []
    dur = s.duration_seconds
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
                f"{fb.at:g} s is not after the failover ({watch + fo.detect_failing_seconds:g} s)",
            )
        )
    if fo is not None and fo.from_cluster in [c.name for c in topo.clusters]:
        region = topo.cluster(fo.from_cluster).region
        for sf in schedule:
            if sf.fault == "region.outage" and sf.params.get("region") == region and sf.end > fb.at:
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
    return probs + _consumer_objective_problems(s)


# Objectives only a workload consumer group can make observable (skips and rereads are counted
# from a group's commits and receipts, read unavailability from its receipts): without one there
# is nothing to judge, and an objective with nothing observed must not read as met.
CONSUMER_OBJECTIVES = ("max_skipped", "max_consumer_rereads", "max_read_unavailable_seconds")


def _consumer_objective_problems(s: Scenario) -> list[Problem]:
    if s.workload.consumers:
        return []
    return [
        Problem(
            f"objectives.{name}",
            f"{name} needs a consumer group to be observed, and workload.consumers is empty: "
            "nothing would be observed",
            f"add a consumer group under workload.consumers, or remove {name}",
        )
        for name in CONSUMER_OBJECTIVES
        if getattr(s.objectives, name) is not None
    ]
