"""Process faults: kill / stop / pause a node, kill a partition leader, kill a flow's process.

Each fault type is registered once, below its implementation: parameter model, capabilities
and plan text (what `kafkadrill plan` prints for it on the external runtime) together.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from pydantic import Field

from kafkadrill.faults.base import FaultContext, PlanOps, PlanText, fault
from kafkadrill.faults.catalog import (
    FaultParams,
    Problem,
    check_cluster,
    did_you_mean,
    find_cluster,
    known,
)
from kafkadrill.runtimes.base import Cap
from kafkadrill.topology import Topology

# --------------------------------------------------------------------------------------------
# Parameter models
# --------------------------------------------------------------------------------------------


class NodeParams(FaultParams):
    """node.kill / node.stop / node.pause: one broker process."""

    target_fields: ClassVar[tuple[str, ...]] = ("cluster", "node")
    cluster: str
    node: int

    def check(self, topology: Topology) -> list[Problem]:
        problems = check_cluster(topology, self.cluster)
        c = find_cluster(topology, self.cluster)
        if c is not None and self.node not in [n.node_id for n in c.nodes]:
            ids = [n.node_id for n in c.nodes]
            problems.append(
                Problem("target.node", f"cluster '{c.name}' has no node {self.node}; {known(ids)}")
            )
        return problems

    def targets(self, topology: Topology) -> set[str]:
        return {f"node:{self.cluster}/{self.node}"}

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [{"cluster": c.name, "node": n.node_id} for c in topology.clusters for n in c.nodes]


class LeaderParams(FaultParams):
    """leader.kill: SIGKILL whichever node leads the partition when the fault fires."""

    target_fields: ClassVar[tuple[str, ...]] = ("cluster", "topic", "partition")
    cluster: str
    topic: str
    partition: int = Field(default=0, ge=0)

    def check(self, topology: Topology) -> list[Problem]:
        problems = check_cluster(topology, self.cluster)
        c = find_cluster(topology, self.cluster)
        if c is None:
            return problems
        topics = {t.name: t for t in c.topics}
        t = topics.get(self.topic)
        if t is None:
            problems.append(
                Problem(
                    "target.topic",
                    f"cluster '{c.name}' has no topic '{self.topic}'"
                    f"{did_you_mean(self.topic, topics)}; {known(topics)}",
                )
            )
        elif self.partition >= t.partitions:
            problems.append(
                Problem(
                    "target.partition",
                    f"topic '{t.name}' has partitions 0..{t.partitions - 1}, not {self.partition}",
                )
            )
        return problems

    def targets(self, topology: Topology) -> set[str]:
        return {f"leaders:{self.cluster}"}

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [
            {"cluster": c.name, "topic": t.name, "partition": p}
            for c in topology.clusters
            for t in c.topics
            for p in range(t.partitions)
        ]


class Mm2Params(FaultParams):
    """mm2.kill: SIGKILL the MirrorMaker 2 process of a flow (it is restarted at heal)."""

    target_fields: ClassVar[tuple[str, ...]] = ("flow",)
    flow: str = "primary->dr"

    def check(self, topology: Topology) -> list[Problem]:
        names = [f.name for f in topology.flows]
        if self.flow in names:
            return []
        return [
            Problem(
                "target.flow",
                f"unknown flow '{self.flow}'{did_you_mean(self.flow, names)}; {known(names)}",
            )
        ]

    def targets(self, topology: Topology) -> set[str]:
        return {f"flow:{self.flow}"}

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [{"flow": f.name} for f in topology.flows]


# --------------------------------------------------------------------------------------------
# Implementations and registrations
# --------------------------------------------------------------------------------------------


def node_plan(inject: str, heal: str, want: str = "down") -> PlanText:
    """Plan text of a fault on one node: runtime operations `inject` then `heal`; verify
    expects the node state `want`."""

    def plan(p: NodeParams, ops: PlanOps) -> list[str]:
        return ops.node_ops(p.cluster, p.node, inject, heal, want)

    return plan


class NodeFault:
    mode = "kill"

    def __init__(self, ctx: FaultContext, params: NodeParams) -> None:
        self._target(ctx, params.cluster, params.node)

    def _target(self, ctx: FaultContext, cluster: str, node: int) -> None:
        self.ctx = ctx
        self.cluster = str(cluster)
        self.node = int(node)

    def inject(self) -> str:
        rt = self.ctx.runtime
        if self.mode == "kill":
            how = rt.node_kill(self.cluster, self.node)
        elif self.mode == "stop":
            how = rt.node_stop(self.cluster, self.node)
        else:
            how = rt.node_pause(self.cluster, self.node)
        return f"{self.mode} {self.cluster} node {self.node} ({how})"

    def verify(self) -> tuple[bool, str]:
        want = "paused" if self.mode == "pause" else "down"
        # A signal takes effect a moment after it is sent (SIGSTOP, a container kill).
        deadline = time.monotonic() + 5.0
        while True:
            state = self.ctx.runtime.node_state(self.cluster, self.node)
            if state == want or time.monotonic() > deadline:
                return state == want, f"{self.cluster} node {self.node} is {state}"
            time.sleep(0.05)

    def heal(self) -> str:
        rt = self.ctx.runtime
        where = f"{self.cluster} node {self.node}"
        if self.mode == "pause":
            return f"resumed {where} ({rt.node_resume(self.cluster, self.node)})"
        return f"restarted {where} ({rt.node_start(self.cluster, self.node)})"


@fault(
    "node.kill",
    NodeParams,
    needs={Cap.NODE_KILL, Cap.NODE_START},
    summary="SIGKILL one broker; restarted at heal",
    plan=node_plan("node_kill", "node_start"),
)
class NodeKill(NodeFault):
    mode = "kill"


@fault(
    "node.stop",
    NodeParams,
    needs={Cap.NODE_STOP, Cap.NODE_START},
    summary="SIGTERM one broker (clean shutdown); restarted at heal",
    plan=node_plan("node_stop", "node_start"),
)
class NodeStop(NodeFault):
    mode = "stop"


@fault(
    "node.pause",
    NodeParams,
    needs={Cap.NODE_PAUSE},
    summary="SIGSTOP one broker (alive but frozen); SIGCONT at heal",
    plan=node_plan("node_pause", "node_resume", want="paused"),
)
class NodePause(NodeFault):
    mode = "pause"


def partition_leader(ctx: FaultContext, cluster: str, topic: str, partition: int) -> int:
    return ctx.runtime.clients.leader(ctx.runtime.bootstrap(cluster), topic, partition)


def leader_plan(p: LeaderParams, ops: PlanOps) -> list[str]:
    # The leader is only known when the fault fires.
    node = f"<leader of {ops.scoped(p.topic)}-{p.partition}>"
    return ops.node_ops(p.cluster, node, "node_kill", "node_start")


@fault(
    "leader.kill",
    LeaderParams,
    needs={Cap.NODE_KILL, Cap.NODE_START},
    summary="SIGKILL the current leader of a partition",
    plan=leader_plan,
)
class LeaderKill(NodeFault):
    mode = "kill"

    def __init__(self, ctx: FaultContext, params: LeaderParams) -> None:
        self.topic = params.topic
        self.partition = params.partition
        leader = partition_leader(ctx, params.cluster, self.topic, self.partition)
        self._target(ctx, params.cluster, leader)

    def inject(self) -> str:
        return f"leader of {self.topic}-{self.partition}: " + super().inject()


class CoordinatorParams(FaultParams):
    """coordinator.kill: SIGKILL whichever node coordinates a consumer group when the fault
    fires (the leader of the group's `__consumer_offsets` partition)."""

    target_fields: ClassVar[tuple[str, ...]] = ("cluster", "group")
    cluster: str
    group: str = Field(min_length=1, description="a workload consumer group")

    def check(self, topology: Topology) -> list[Problem]:
        # That the group is one of the workload's is a scenario rule (rules/clients.py).
        return check_cluster(topology, self.cluster)

    def targets(self, topology: Topology) -> set[str]:
        return {f"leaders:{self.cluster}"}

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return []  # a group is the workload's: not drawn at random


def coordinator_plan(p: CoordinatorParams, ops: PlanOps) -> list[str]:
    # The coordinator is only known when the fault fires.
    node = f"<coordinator of group {ops.scoped(p.group)}>"
    return ops.node_ops(p.cluster, node, "node_kill", "node_start")


@fault(
    "coordinator.kill",
    CoordinatorParams,
    needs={Cap.NODE_KILL, Cap.NODE_START},
    summary="SIGKILL the node coordinating a consumer group",
    plan=coordinator_plan,
)
class CoordinatorKill(NodeFault):
    """The broker loss that costs a consumer group the most: its members' heartbeats and
    commits go to the coordinator, so the group waits for a new one (and, with the classic
    protocol, its sessions may time out first). Which broker that is depends on the group's
    name, so a plain node.kill hits it in some runs and not in others."""

    mode = "kill"

    def __init__(self, ctx: FaultContext, params: CoordinatorParams) -> None:
        self.group = params.group
        rt = ctx.runtime
        node = rt.clients.coordinator(rt.bootstrap(params.cluster), self.group)
        self._target(ctx, params.cluster, node)

    def inject(self) -> str:
        return f"coordinator of group {self.group}: " + super().inject()


def mm2_plan(p: Mm2Params, ops: PlanOps) -> list[str]:
    return ops.flow_ops(p.flow, "flow_kill", "flow_start")


@fault(
    "mm2.kill",
    Mm2Params,
    needs={Cap.FLOW_KILL, Cap.FLOW_START},
    summary="SIGKILL the MirrorMaker 2 process of a flow",
    plan=mm2_plan,
)
class Mm2Kill:
    def __init__(self, ctx: FaultContext, params: Mm2Params) -> None:
        self.ctx = ctx
        self.flow = params.flow

    def inject(self) -> str:
        return f"kill MirrorMaker 2 {self.flow} ({self.ctx.runtime.flow_kill(self.flow)})"

    def verify(self) -> tuple[bool, str]:
        deadline = time.monotonic() + 5.0
        while self.ctx.runtime.flow_alive(self.flow) and time.monotonic() < deadline:
            time.sleep(0.05)
        ok = not self.ctx.runtime.flow_alive(self.flow)
        return ok, f"MirrorMaker 2 {self.flow} {'is gone' if ok else 'is still running'}"

    def heal(self) -> str:
        # Restart is asynchronous; replication resumes on its own.
        return self.ctx.runtime.flow_start(self.flow)
