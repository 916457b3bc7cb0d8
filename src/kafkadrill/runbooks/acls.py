"""The application's ACLs (topology.acls): created on their cluster before the workload
starts, and on the failover's target by its `grant_acls` step.

MirrorMaker 2 syncs topic ACLs to the copies it writes, read-only (it drops WRITE and any DENY)
and group ACLs not at all, so a principal that could write and commit on the old primary may
be refused both on the DR cluster: `grant_acls` is what a runbook must do about it, and a drill
without it measures what its absence costs (the authorization checker)."""

from __future__ import annotations

from typing import Any

from kafkadrill.faults.metadata_admin import ConfluentAdmin
from kafkadrill.history import Ev, HistoryWriter
from kafkadrill.plan import AclPlan
from kafkadrill.runtimes.base import Runtime

#: Operations a consumer needs on a copy it reads on the target (MM2 names it `<source>.<topic>`).
READ_OPS = ("READ", "DESCRIBE")


def create_acls(
    rt: Runtime, history: HistoryWriter, acls: list[AclPlan], cluster: str, origin: str
) -> list[str]:
    """ALLOW each entry's operations to its principal on `cluster` (the entry's own cluster
    ignored); records an `acl.grant` event per entry; -> what was created, as text."""
    if not acls:
        return []
    admin = ConfluentAdmin(rt.bootstrap(cluster), dict(getattr(rt.clients, "config", {}) or {}))
    done: list[str] = []
    for a in acls:
        admin.create_acls(a.name, f"User:{a.principal}", list(a.operations), a.resource)
        history.append(
            Ev.ACL_GRANT,
            cluster=cluster,
            principal=a.principal,
            resource=a.resource,
            name=a.name,
            operations=list(a.operations),
            origin=origin,
        )
        done.append(f"{cluster}: User:{a.principal} {','.join(a.operations)} {a.resource} {a.name}")
    return done


def create_start_acls(rt: Runtime, history: HistoryWriter, acls: tuple[AclPlan, ...]) -> None:
    """topology.acls, each on its own cluster, before the workload's first request."""
    for cluster in dict.fromkeys(a.cluster for a in acls):
        create_acls(rt, history, [a for a in acls if a.cluster == cluster], cluster, "start")


def grant_on_target(
    rt: Runtime, history: HistoryWriter, acls: tuple[AclPlan, ...], source: str, target: str
) -> dict[str, Any]:
    """The failover's `grant_acls` step: the ACLs the plan gives on `source`, created on
    `target` under the same names, and READ/DESCRIBE on the copies MM2 writes there of each
    topic (so the groups that resume on them may read)."""
    mine = [a for a in acls if a.cluster == source]
    copies = [
        AclPlan(a.principal, target, "topic", f.remote_topic(a.name), READ_OPS)
        for a in mine
        if a.resource == "topic" and set(a.operations) & {"READ", "ALL"}
        for f in rt.topology.flows
        if f.source == source and f.target == target
    ]
    return {"granted": create_acls(rt, history, [*mine, *copies], target, "failover")}
