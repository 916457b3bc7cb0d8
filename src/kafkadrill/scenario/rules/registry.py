"""The registry of semantic rules: checks that need the whole scenario, in one ordered list.

A rule is a small function `RuleContext -> list[Problem]` registered with `@rule(order=...)`;
the rules run (and report) by `order`, not by import order, so sorting imports cannot change
what a user sees. rules/__init__.py imports every rule module, which registers them.
Rules that need the built topology run only once the topology rules found nothing that would
make it misleading (unknown AZs, cluster names, flows): every later check would only repeat it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kafkadrill.faults.catalog import Problem
from kafkadrill.faults.schedule import ScheduledFault
from kafkadrill.topology import Topology

if TYPE_CHECKING:
    from kafkadrill.scenario.model import Scenario


@dataclass
class RuleContext:
    """What a rule reads: the scenario, its topology once built, and the schedule once planned
    (the timeline rule plans it; the runbook rules check against it)."""

    scenario: Scenario
    built: Topology | None = None
    schedule: list[ScheduledFault] = field(default_factory=list)

    @property
    def topology(self) -> Topology:
        assert self.built is not None, "a rule that needs the topology ran before it was built"
        return self.built


RuleFn = Callable[[RuleContext], list[Problem]]


@dataclass(frozen=True)
class Rule:
    order: int
    name: str
    check: RuleFn
    needs_topology: bool


RULES: list[Rule] = []

# Problems in these fields mean the topology cannot be built faithfully.
_BROKEN = ("topology.azs", "topology.clusters", "topology.flows", "topology.model")


def rule(order: int, *, needs_topology: bool = True) -> Callable[[RuleFn], RuleFn]:
    """Register a semantic rule; rules run by ascending `order` (ties: registration order)."""

    def add(fn: RuleFn) -> RuleFn:
        RULES.append(Rule(order, fn.__name__, fn, needs_topology))
        RULES.sort(key=lambda r: r.order)  # stable: equal orders keep registration order
        return fn

    return add


def _broken(probs: list[Problem]) -> bool:
    return any(p.field.startswith(_BROKEN) or p.field.endswith("].clusters") for p in probs)


def semantic_problems(s: Scenario) -> list[Problem]:
    """Every registered rule's problems, in order; on success the planned schedule is kept on
    the scenario so it is not drawn twice."""
    ctx = RuleContext(s)
    probs: list[Problem] = []
    for r in RULES:
        if r.needs_topology and ctx.built is None:
            if _broken(probs):
                return probs  # a bad topology (AZs, names, flows): every later check would mislead
            ctx.built = s.to_topology()
        probs += r.check(ctx)
    if not probs:
        s._schedule = ctx.schedule  # the same package's cache (see Scenario.schedule)
    return probs
