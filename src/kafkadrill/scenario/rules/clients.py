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


def _worker_problems(s: Scenario, producers: list[tuple[str, ProducerSpec]]) -> list[Problem]:
    """Producers in worker processes write columnar segments the runner merges, and take
    commands (pause, redirect) but not the schema writer's headers, set in the runner."""
    probs: list[Problem] = []
    for here, p in producers:
        if not p.workers:
            if p.worker_command is not None:
                probs.append(
                    Problem(
                        f"{here}.worker_command",
                        "a worker command starts worker processes, and this group has none",
                        "set workers: 1 or more, or drop worker_command",
                    )
                )
            continue
        if p.worker_command is not None and not all(a.strip() for a in p.worker_command):
            probs.append(
                Problem(
                    f"{here}.worker_command",
                    "an empty argument in the worker command",
                    "give each argument as a non-empty string, e.g. [ssh, loadgen-1, python3]",
                )
            )
        if s.history_format != "columnar":
            probs.append(
                Problem(
                    f"{here}.workers",
                    "workers write columnar history segments that the runner merges",
                    "set history_format: columnar (or workers: 0)",
                )
            )
        if p.workers > p.count:
            probs.append(
                Problem(
                    f"{here}.workers",
                    f"{p.workers} workers for {p.count} producer(s): a worker would have none",
                    f"set workers: {p.count} or less, or raise count",
                )
            )
        reg = s.topology.schema_registry
        if reg is not None and reg.register_every_seconds is not None:
            probs.append(
                Problem(
                    f"{here}.workers",
                    "the schema evolution (topology.schema_registry.register_every_seconds) "
                    "sets headers on producers of the runner's process only",
                    "set workers: 0, or drop register_every_seconds",
                )
            )
    return probs


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
    probs += _worker_problems(s, producers)
    for here, p in producers:
        if p.enable_idempotence and p.acks != "all":
            probs.append(
                Problem(
                    f"{here}.enable_idempotence",
                    f"idempotence requires acks=all (acks is {p.acks})",
                    "set enable_idempotence: false or acks: all",
                )
            )
        t = p.transactions
        if t is not None and p.delivery_timeout_ms > t.timeout_ms:
            probs.append(
                Problem(
                    f"{here}.delivery_timeout_ms",
                    "a transactional producer's delivery timeout must be <= its "
                    f"transactions.timeout_ms (the client refuses otherwise): "
                    f"{p.delivery_timeout_ms} > {t.timeout_ms}",
                    f"set delivery_timeout_ms: {t.timeout_ms} (or less) or raise "
                    "transactions.timeout_ms",
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
    for i, c in enumerate(s.workload.consumers):
        probs += _group_protocol_problems(
            f"workload.consumers[{i}].config", c.config, s.topology.kafka_version
        )
    groups = [c.group for c in s.workload.consumers]
    for i, entry in enumerate(s.timeline):
        named = getattr(entry, "target", None) or {}
        if getattr(entry, "fault", None) == "coordinator.kill" and named.get("group") not in groups:
            probs.append(
                Problem(
                    f"timeline[{i}].target.group",
                    f"coordinator.kill needs a workload consumer group, got "
                    f"{named.get('group')!r}{did_you_mean(str(named.get('group')), groups)}; "
                    f"{known(groups)}",
                )
            )
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


#: Client settings KIP-848's consumer group protocol refuses (the broker decides them).
CLASSIC_ONLY = ("session.timeout.ms", "heartbeat.interval.ms", "partition.assignment.strategy")


def _group_protocol_problems(
    here: str, config: dict[str, Any], kafka_version: str | None
) -> list[Problem]:
    """`group.protocol` is classic or consumer; the consumer protocol needs Kafka 4.0+ brokers
    and refuses the classic protocol's client-side session and assignment settings (the client
    would refuse to start mid-drill; said here, before anything starts)."""
    protocol = str(config.get("group.protocol", "classic")).lower()
    if protocol not in ("classic", "consumer"):
        return [
            Problem(
                f"{here}.group.protocol",
                f"unknown group protocol '{config['group.protocol']}'",
                "use classic (the default) or consumer (KIP-848, Kafka 4.0+)",
            )
        ]
    if protocol == "classic":
        return []
    major = int(kafka_version.split(".")[0]) if kafka_version else None
    if major is not None and major < 4:
        return [
            Problem(
                f"{here}.group.protocol",
                f"the consumer group protocol (KIP-848) is GA from Kafka 4.0; "
                f"topology.kafka_version is {kafka_version}",
                "use group.protocol: classic, or Kafka 4.0 or later",
            )
        ]
    return [
        Problem(
            f"{here}.{key}",
            f"{key} cannot be set with group.protocol=consumer (the broker decides it: "
            "group.consumer.* settings)",
            "remove it, or set group.consumer.session.timeout.ms / "
            "group.consumer.heartbeat.interval.ms in topology.broker_config",
        )
        for key in CLASSIC_ONLY
        if key in config
    ]
