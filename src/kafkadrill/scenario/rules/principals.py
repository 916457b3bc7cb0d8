"""Principal rules (topology.principals, topology.acls, a client's `principal`): every name
refers to something the scenario declares, and what kafkadrill cannot yet log in as a
principal's cluster expects is refused before anything starts."""

from __future__ import annotations

from collections.abc import Callable

from kafkadrill.faults.catalog import Problem, did_you_mean
from kafkadrill.scenario.rules.clients import topic_names
from kafkadrill.scenario.rules.registry import RuleContext, rule
from kafkadrill.topology import Topology

#: What runs Java clients kafkadrill does not log in yet (refused beside principals): the
#: setting, what it runs, whether a topology has it.
_NOT_WITH: tuple[tuple[str, str, Callable[[Topology], bool]], ...] = (
    ("topology.backup", "the backup's Kafka Connect worker", lambda t: t.backup is not None),
    ("topology.schema_registry", "the schema registries", lambda t: t.schema_registry is not None),
    (
        "topology.mm2_mode",
        "MirrorMaker 2 on Kafka Connect (mm2_mode: connect)",
        lambda t: any(f.mode == "connect" for f in t.flows),
    ),
)


@rule(25)
def principals_rule(ctx: RuleContext) -> list[Problem]:
    s, topo = ctx.scenario, ctx.topology
    names = list(s.topology.principals)
    probs: list[Problem] = []
    fo = s.runbooks.failover if s.runbooks is not None else None
    if not names:
        if s.topology.acls:
            probs.append(
                Problem(
                    "topology.acls",
                    "ACLs name principals, none is declared",
                    "declare them in topology.principals",
                )
            )
        if fo is not None and fo.grant_acls:
            probs.append(
                Problem(
                    "runbooks.failover.grant_acls",
                    "there are no principals' ACLs to grant",
                    "declare topology.principals and topology.acls, or drop it",
                )
            )
        return probs + _client_principals(ctx, names)
    for field, what, present in _NOT_WITH:
        if present(topo):
            probs.append(
                Problem(
                    field,
                    f"{what} cannot log in to clusters with principals yet (every client "
                    "listener then authenticates)",
                    f"drop {field} or topology.principals",
                )
            )
    clusters = [c.name for c in topo.clusters]
    held = topic_names(topo)
    groups = [c.group for c in s.workload.consumers]
    for i, a in enumerate(s.topology.acls):
        here = f"topology.acls[{i}]"
        if a.principal not in names:
            probs.append(
                Problem(
                    f"{here}.principal",
                    f"unknown principal {a.principal!r}{did_you_mean(a.principal, names)}",
                    f"name one of {names}",
                )
            )
        if a.cluster not in clusters:
            probs.append(
                Problem(
                    f"{here}.cluster",
                    f"unknown cluster {a.cluster!r}{did_you_mean(a.cluster, clusters)}",
                    f"name one of {clusters}",
                )
            )
            continue
        topics = held.get(a.cluster, []) + [p.topic for p in s.workload.producer_groups()]
        if a.topic is not None and a.topic not in topics:
            probs.append(
                Problem(
                    f"{here}.topic",
                    f"{a.cluster} holds no topic {a.topic!r}{did_you_mean(a.topic, topics)}",
                    f"name one of {topics}",
                )
            )
        if a.group is not None and a.group not in groups:
            probs.append(
                Problem(
                    f"{here}.group",
                    f"no consumer group {a.group!r}{did_you_mean(a.group, groups)}",
                    f"name one of {groups}",
                )
            )
    return probs + _client_principals(ctx, names)


def _client_principals(ctx: RuleContext, names: list[str]) -> list[Problem]:
    """A producer's or group's `principal` is declared."""
    w = ctx.scenario.workload
    named = [
        *(
            (
                f"workload.producers[{i}].principal" if i else "workload.producers.principal",
                p.principal,
            )
            for i, p in enumerate(w.producer_groups())
        ),
        *((f"workload.consumers[{i}].principal", c.principal) for i, c in enumerate(w.consumers)),
    ]
    return [
        Problem(
            field,
            f"unknown principal {who!r}{did_you_mean(who, names)}",
            f"declare it in topology.principals (known: {names})",
        )
        for field, who in named
        if who is not None and who not in names
    ]
