"""ACL state across a flow: an ACL created on the source, watched until MirrorMaker 2's ACL
sync shows it on the target, and what the target then grants.

    acl.create   ALLOW a principal some operations on a declared topic of the flow's source

What the seeds ask (seed 001: "cluster state replication including ACLs"; issue 24): how long
until an ACL made on the primary is in force on DR, and which permissions DR really grants after
a failover. MM2 syncs topic ACLs (`sync.topic.acls.enabled`, every
`sync.topic.acls.interval.seconds`, default 600) and documents that it syncs them as read-only:
whether a producer's WRITE survives is measured here, not assumed. The change and its watch
follow the metadata changes (faults/metadata.py): `applied`, then `seen` (the target's ACLs on
the copy, as observed) or `not_seen`; the metadata checker times them and reports what the
target held (`observed`).

The clusters kafkadrill starts get an ACL authorizer when a timeline has `acl.create` (as for
the failover's ACL fence). Their clients are anonymous and a topic without ACLs stays open to
everyone; a topic with an ACL is closed to everyone else, so the scenario rules refuse
`acl.create` on a topic the workload uses. Not offered on the external runtime (ACLs on a
team's clusters are not a drill step kafkadrill takes).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from kafkadrill.faults.base import FaultContext, fault, read_back
from kafkadrill.faults.catalog import Problem
from kafkadrill.faults.metadata import (
    MetadataChange,
    MetadataParams,
    _expect_problem,
    derived_expectation,
)
from kafkadrill.faults.metadata_admin import MetadataAdmin
from kafkadrill.faults.mm2_filter import Expect, mm2_setting, topic_expectation
from kafkadrill.runtimes.base import Cap
from kafkadrill.topology import Flow, Topology

Operation = Literal[
    "READ", "WRITE", "DESCRIBE", "CREATE", "DELETE", "ALTER", "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS", "ALL",
]  # fmt: skip
#: MM2's default sync period (`sync.topic.acls.interval.seconds`): too long for a drill.
MAX_SYNC_INTERVAL_S = 60


def acl_expectation(flow: Flow, topic: str) -> Expect:
    """Would MM2 carry an ACL of `topic` to the target? Only with ACL sync on and the topic
    replicated (what it carries, and as which operations, is measured)."""
    if mm2_setting(flow, "sync.topic.acls.enabled", "true").strip().lower() != "true":
        return "excluded"
    return topic_expectation(flow, topic)


class AclCreateParams(MetadataParams):
    """acl.create: ALLOW `principal` the `operations` on a declared topic of the flow's source;
    watch the target for ACLs of that principal on the topic's copy."""

    change_kind: ClassVar[str] = "acl.create"
    principal: str = Field(default="User:kd-app", pattern=r"^User:[A-Za-z0-9._@-]{1,100}$")
    operations: list[Operation] = Field(
        default_factory=lambda: ["WRITE", "READ", "DESCRIBE"], min_length=1
    )
    expect: Expect | None = None  # null = derived from sync.topic.acls.enabled and the filter

    def check(self, topology: Topology) -> list[Problem]:
        f, problems = self._check_flow(topology)
        if f is None:
            return problems
        _spec, more = self._declared(topology, f)
        problems += more
        interval = mm2_setting(f, "sync.topic.acls.interval.seconds", "600")
        if not interval.isdigit() or int(interval) > MAX_SYNC_INTERVAL_S:
            problems.append(
                Problem(
                    "target.flow",
                    f"MirrorMaker 2 ({f.name}) syncs ACLs every {interval} s "
                    "(sync.topic.acls.interval.seconds; MM2's default is 600): the watch "
                    "would only measure that period",
                    "set topology.mm2.sync.topic.acls.interval.seconds to a few seconds "
                    f"(at most {MAX_SYNC_INTERVAL_S})",
                )
            )
        derived, more = derived_expectation(
            lambda: acl_expectation(f, self.topic), self.expect, "MM2 topic filter"
        )
        if derived is None:
            return problems + more
        enabled = mm2_setting(f, "sync.topic.acls.enabled", "true")
        why = f"sync.topic.acls.enabled {enabled}, topics '{f.topics}'"
        return problems + _expect_problem("params.expect", derived, self.expect, why)


@fault(
    "acl.create",
    AclCreateParams,
    # TOPIC_ADMIN as for the other metadata changes: not on a team's own clusters.
    needs={Cap.ACL, Cap.TOPIC_ADMIN},
    summary="ALLOW a principal operations on a topic of a flow's source; watch MM2's ACL sync "
    "on the target and record what it grants there",
)
class AclCreate(MetadataChange):
    kind = "acl.create"
    params: AclCreateParams

    def __init__(self, ctx: FaultContext, params: AclCreateParams) -> None:
        super().__init__(ctx, params)
        self.principal = params.principal
        self.operations = list(dict.fromkeys(params.operations))

    def expectation(self) -> Expect:
        return acl_expectation(self.flow, self.topic)

    def want(self) -> dict[str, Any]:
        return {"principal": self.principal, "operations": self.operations}

    def apply(self) -> None:
        self.source.create_acls(self.topic, self.principal, self.operations)

    def observe(self, admin: MetadataAdmin, topic: str) -> Any:
        # The principal's ACLs only: the copy may carry others (MM2's own, a team's).
        return [a for a in admin.topic_acls(topic) if a.split(" ", 1)[0] == self.principal]

    def shows(self, observed: Any) -> bool:
        return bool(observed)

    def verify(self) -> tuple[bool, str]:
        want = {f"{self.principal} ALLOW {op}" for op in self.operations}
        ok, held = read_back(
            lambda: self.observe(self.source, self.topic), lambda h: want <= set(h)
        )
        return ok, f"{self.flow.source}:{self.topic} {'holds' if ok else 'lacks'} {held!r}"

    def describe(self) -> str:
        return f"allowed {self.principal} {', '.join(self.operations)} on {self.topic}"
