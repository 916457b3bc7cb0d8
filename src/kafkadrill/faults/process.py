"""Process faults: kill / stop / pause a node, kill a partition leader, kill a flow's process."""

from __future__ import annotations

import time
from typing import Any

from kafkadrill.faults.base import FaultContext, fault
from kafkadrill.faults.catalog import LeaderParams, Mm2Params, NodeParams
from kafkadrill.runtimes.base import Cap


class NodeFault:
    mode = "kill"

    def __init__(self, ctx: FaultContext, params: dict[str, Any]) -> None:
        self.ctx = ctx
        self.cluster = str(params["cluster"])
        self.node = int(params["node"])

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
)
class NodeKill(NodeFault):
    mode = "kill"


@fault(
    "node.stop",
    NodeParams,
    needs={Cap.NODE_STOP, Cap.NODE_START},
    summary="SIGTERM one broker (clean shutdown); restarted at heal",
)
class NodeStop(NodeFault):
    mode = "stop"


@fault(
    "node.pause",
    NodeParams,
    needs={Cap.NODE_PAUSE},
    summary="SIGSTOP one broker (alive but frozen); SIGCONT at heal",
)
class NodePause(NodeFault):
    mode = "pause"


def partition_leader(ctx: FaultContext, cluster: str, topic: str, partition: int) -> int:
    return ctx.runtime.clients.leader(ctx.runtime.bootstrap(cluster), topic, partition)


@fault(
    "leader.kill",
    LeaderParams,
    needs={Cap.NODE_KILL, Cap.NODE_START},
    summary="SIGKILL the current leader of a partition",
)
class LeaderKill(NodeFault):
    mode = "kill"

    def __init__(self, ctx: FaultContext, params: dict[str, Any]) -> None:
        self.topic = str(params["topic"])
        self.partition = int(params.get("partition", 0))
        leader = partition_leader(ctx, str(params["cluster"]), self.topic, self.partition)
        super().__init__(ctx, {"cluster": params["cluster"], "node": leader})

    def inject(self) -> str:
        return f"leader of {self.topic}-{self.partition}: " + super().inject()


@fault(
    "mm2.kill",
    Mm2Params,
    needs={Cap.FLOW_KILL, Cap.FLOW_START},
    summary="SIGKILL the MirrorMaker 2 process of a flow",
)
class Mm2Kill:
    def __init__(self, ctx: FaultContext, params: dict[str, Any]) -> None:
        self.ctx = ctx
        self.flow = str(params.get("flow", "primary->dr"))

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
