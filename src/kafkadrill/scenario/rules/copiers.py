"""Copier rules: a copier reads a workload topic of a cluster that will hold it and writes a
topic of its own, which nothing else reads or writes (its records are the workload's ids on a
second topic: the final read keeps them apart, so no other reader may mix them in)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kafkadrill.faults.catalog import Problem, did_you_mean, known
from kafkadrill.scenario.rules.clients import topic_names
from kafkadrill.scenario.rules.registry import RuleContext, rule
from kafkadrill.topology import subscribed, topic_pattern

if TYPE_CHECKING:
    from kafkadrill.scenario.model import CopierSpec, Scenario


@rule(35)
def copier_rule(ctx: RuleContext) -> list[Problem]:
    s = ctx.scenario
    if not s.workload.copiers:
        return []
    topics = topic_names(ctx.topology)
    outputs = {cp.to_topic for cp in s.workload.copiers}
    probs: list[Problem] = []
    for i, cp in enumerate(s.workload.copiers):
        here = f"workload.copiers[{i}]"
        probs += _where(here, cp, topics, outputs, ctx.topology.sites)
        probs += _output(here, cp, s)
    groups = [c.group for c in s.workload.consumers]
    mine: list[str] = []
    for i, cp in enumerate(s.workload.copiers):
        if cp.group in groups or cp.group in mine:
            probs.append(
                Problem(
                    f"workload.copiers[{i}].group",
                    f"group '{cp.group}' is already used by "
                    + ("a consumer group" if cp.group in groups else "another copier"),
                    "give the copier a group of its own (use count for several members)",
                )
            )
        mine.append(cp.group)
    return probs


def _where(
    here: str, cp: CopierSpec, topics: dict[str, list[str]], outputs: set[str], sites: list[str]
) -> list[Problem]:
    """Its cluster, site and input exist; the input is not a copier's output."""
    if cp.cluster not in topics:
        return [
            Problem(
                f"{here}.cluster",
                f"unknown cluster '{cp.cluster}'{did_you_mean(str(cp.cluster), topics)}; "
                f"{known(topics)}",
            )
        ]
    probs: list[Problem] = []
    inputs = [t for t in topics[str(cp.cluster)] if t not in outputs]
    if cp.from_topic in outputs:
        probs.append(
            Problem(
                f"{here}.from_topic",
                f"'{cp.from_topic}' is a copier's output: a copier reads a workload topic",
                f"read one of {', '.join(inputs)}",
            )
        )
    elif cp.from_topic not in inputs:
        probs.append(
            Problem(
                f"{here}.from_topic",
                f"cluster '{cp.cluster}' has no topic '{cp.from_topic}'"
                f"{did_you_mean(str(cp.from_topic), inputs)}; {known(inputs)}",
                "read a topic a producer group writes (the default: workload.producers.topic)",
            )
        )
    if cp.site is not None and cp.site not in sites:
        probs.append(
            Problem(
                f"{here}.site",
                f"unknown site '{cp.site}'{did_you_mean(cp.site, sites)}; {known(sites)}",
            )
        )
    return probs


def _output(here: str, cp: CopierSpec, s: Scenario) -> list[Problem]:
    """`to_topic` is the copier's alone: no producer writes it, it is no workload topic's MM2
    copy (nor the reverse), no other copier writes it and no consumer group reads it."""
    name = cp.to_topic
    field = f"{here}.to_topic"
    fix = f"name the output topic for the copier alone, e.g. {cp.from_topic}-copy"
    written = [p.topic for p in s.workload.producer_groups()]
    clash = [
        t
        for t in dict.fromkeys([*written, str(cp.from_topic)])
        if re.match(topic_pattern(t), name) or re.match(topic_pattern(name), t)
    ]
    if clash:
        return [
            Problem(
                field,
                f"'{name}' is (or is named like a replicated copy of) the workload topic "
                f"'{clash[0]}': the final read could not tell the copy from the workload",
                fix,
            )
        ]
    probs: list[Problem] = []
    others = [c.to_topic for c in s.workload.copiers if c is not cp]
    if name in others:
        probs.append(Problem(field, f"'{name}' is written by another copier too", fix))
    readers = [c.group for c in s.workload.consumers if subscribed(c.subscription(), name)]
    if readers:
        probs.append(
            Problem(
                field,
                f"consumer group '{readers[0]}' reads '{name}': its receipts would mix the "
                "copies into the workload's reads",
                "narrow that group's topics/pattern, or name the output topic differently",
            )
        )
    return probs
