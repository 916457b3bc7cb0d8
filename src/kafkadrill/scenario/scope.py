"""Run-scoped names for a scenario: kafkadrill.isolation renames its data, this validates the
result again, so the runner compiles a plan that already has the run's topic and group names."""

from __future__ import annotations

from kafkadrill.isolation import scope_names
from kafkadrill.scenario.model import Scenario

__all__ = ["scope_scenario"]


def scope_scenario(
    scenario: Scenario, prefix: str, run_id: str
) -> tuple[Scenario, dict[str, str], dict[str, str]]:
    """The scenario with every topic (declared or written by a client) and consumer group
    renamed to run-scoped names. Returns (scenario, topic renames, group renames)."""
    data, topics, groups = scope_names(
        scenario.model_dump(mode="json", by_alias=True), prefix, run_id
    )
    return Scenario.from_dict(data, source=scenario.source), topics, groups
