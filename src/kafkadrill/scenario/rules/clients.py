"""Client rules: producers and consumers name clusters, sites and topics that will exist, with
client settings the Kafka client accepts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kafkadrill.faults.catalog import Problem, did_you_mean, known
from kafkadrill.scenario.rules.registry import RuleContext, rule
from kafkadrill.topology import Topology, subscribed

if TYPE_CHECKING:
    from kafkadrill.scenario.model import ConsumerSpec, ProducerSpec, Scenario


@rule(30)
def client_rule(ctx: RuleContext) -> list[Problem]:
    return _client_problems(ctx.scenario, ctx.topology)


def topic_names(topo: Topology) -> dict[str, list[str]]:
    """Per cluster, the workload topic names it will hold: its own and MM2's copies (named by
    each flow's replication policy: `east.orders`, or `orders` with the identity policy)."""
    topics = {c.name: [t.name for t in c.topics] for c in topo.clusters}
    for f in topo.flows:
        own = [t.name for t in topo.cluster(f.source).topics]
        topics[f.target] = list(dict.fromkeys(topics[f.target] + [f.remote_topic(t) for t in own]))
    return topics


def _subscription_problems(here: str, c: ConsumerSpec, topics: list[str]) -> list[Problem]:
    """A consumer's explicit topics/pattern must name topics its cluster will hold: a typo
    would otherwise read nothing and look like loss."""
    if c.topics is not None:
        return [
            Problem(
                f"{here}.topics",
                f"cluster '{c.cluster}' has no topic '{t}'{did_you_mean(t, topics)}; "
                f"{known(topics)}",
            )
            for t in c.topics
            if t not in topics
        ]
    assert c.pattern is not None
    if not any(subscribed(c.subscription(), t) for t in topics):
        return [
            Problem(
                f"{here}.pattern",
                f"'{c.pattern}' matches no topic of cluster '{c.cluster}'; {known(topics)}",
                "the pattern must match whole names, e.g. '(west\\.)?orders'",
            )
        ]
    return []


def _client_problems(s: Scenario, topo: Topology) -> list[Problem]:
    probs: list[Problem] = []
    topics = topic_names(topo)
    producers: list[tuple[str, ProducerSpec]] = [("workload.producers", s.workload.producers)]
    producers += [
        (f"workload.more_producers[{i}]", p) for i, p in enumerate(s.workload.more_producers)
    ]
    clients: list[tuple[str, Any]] = list(producers)
    clients += [(f"workload.consumers[{i}]", c) for i, c in enumerate(s.workload.consumers)]
    for here, c in clients:
        if c.cluster not in topics:
            probs.append(
                Problem(
                    f"{here}.cluster",
                    f"unknown cluster '{c.cluster}'"
                    f"{did_you_mean(c.cluster, topics)}; {known(topics)}",
                )
            )
        elif getattr(c, "topics", None) is not None or getattr(c, "pattern", None) is not None:
            probs += _subscription_problems(here, c, topics[c.cluster])
        elif c.topic not in topics[c.cluster]:
            probs.append(
                Problem(
                    f"{here}.topic",
                    f"cluster '{c.cluster}' has no topic "
                    f"'{c.topic}'{did_you_mean(c.topic, topics[c.cluster])}; "
                    f"{known(topics[c.cluster])}",
                    "declare it under topology.topics",
                )
            )
        if c.site is not None and c.site not in topo.sites:
            probs.append(
                Problem(
                    f"{here}.site",
                    f"unknown site '{c.site}'"
                    f"{did_you_mean(c.site, topo.sites)}; {known(topo.sites)}",
                )
            )
    for here, p in producers:
        if p.enable_idempotence and p.acks != "all":
            probs.append(
                Problem(
                    f"{here}.enable_idempotence",
                    f"idempotence requires acks=all (acks is {p.acks})",
                    "set enable_idempotence: false or acks: all",
                )
            )
        if p.delivery_timeout_ms < p.linger_ms + p.request_timeout_ms:
            probs.append(
                Problem(
                    f"{here}.delivery_timeout_ms",
                    "must be >= linger_ms + request_timeout_ms (the client refuses "
                    f"otherwise): {p.delivery_timeout_ms} < "
                    f"{p.linger_ms + p.request_timeout_ms}",
                )
            )
    groups = [c.group for c in s.workload.consumers]
    for i, g in enumerate(groups):
        if g in groups[:i]:
            probs.append(
                Problem(
                    f"workload.consumers[{i}].group",
                    f"group '{g}' is used twice",
                    "use count for several members of one group",
                )
            )
    return probs
