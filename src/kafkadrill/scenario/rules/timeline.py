"""Timeline rule: the fault count limit, then the planned schedule (targets, overlaps, times)."""

from __future__ import annotations

from kafkadrill.faults.catalog import Problem
from kafkadrill.faults.schedule import FixedFault, RandomFaults, plan_timeline
from kafkadrill.scenario.limits import MAX_SCHEDULED_FAULTS
from kafkadrill.scenario.rules.registry import RuleContext, rule


@rule(40)
def timeline_rule(ctx: RuleContext) -> list[Problem]:
    """Plans the schedule into `ctx.schedule` for the rules after it (none when over the limit)."""
    s = ctx.scenario
    n_faults = sum(e.random.count if isinstance(e, RandomFaults) else 1 for e in s.timeline)
    if n_faults > MAX_SCHEDULED_FAULTS:
        # Placing random faults is quadratic in their number: refuse before spending minutes.
        ctx.schedule = []
        return [
            Problem(
                "timeline",
                f"{n_faults} faults (fixed entries plus random counts); the limit is "
                f"{MAX_SCHEDULED_FAULTS}",
                "lower the random counts or split the drill",
            )
        ]
    ctx.schedule, problems = plan_timeline(
        s.timeline, seed=s.seed or 0, topology=ctx.topology, duration_seconds=s.duration_seconds
    )
    return problems


@rule(41)
def acl_topic_rule(ctx: RuleContext) -> list[Problem]:
    """An ACL closes its topic to every other principal (kafkadrill's clients are anonymous on
    the clusters it starts): acl.create on a topic the workload uses would stop the workload."""
    s = ctx.scenario
    used: set[str] = {p.topic for p in s.workload.producer_groups()}
    for c in s.workload.consumers:
        used.add(c.topic)
        used.update(getattr(c, "topics", None) or [])
    probs = []
    for i, e in enumerate(s.timeline):
        if not isinstance(e, FixedFault) or e.fault != "acl.create":
            continue
        topic = (e.target or {}).get("topic")
        if topic in used:
            probs.append(
                Problem(
                    f"timeline[{i}].target.topic",
                    f"'{topic}' is a workload topic: an ACL on it refuses every other "
                    "principal, the workload's anonymous clients and MirrorMaker 2 included",
                    "declare another topic under topology.topics for the ACL",
                )
            )
    return probs
