"""Semantic rules: what needs the whole scenario (targets exist in the topology, RF fits the
cluster, faults do not overlap, runbook times fit the duration...).

Importing this package registers every rule (a new rule module is imported here); each rule's
`order` says when it runs: topology (10) gates the rest, then WAN (20), clients (30),
copiers (35), the timeline (40, plans the schedule), runbooks (50, read it) and objectives (60).
"""

from __future__ import annotations

from kafkadrill.scenario.rules import (
    clients,
    copiers,
    principals,
    runbooks,
    timeline,
    topology,
)
from kafkadrill.scenario.rules.clients import topic_names
from kafkadrill.scenario.rules.registry import RULES, Rule, RuleContext, rule, semantic_problems

RULE_MODULES = (
    topology,
    principals,
    clients,
    copiers,
    timeline,
    runbooks,
)  # imported for their registrations

__all__ = [
    "RULES",
    "RULE_MODULES",
    "Rule",
    "RuleContext",
    "rule",
    "semantic_problems",
    "topic_names",
]
