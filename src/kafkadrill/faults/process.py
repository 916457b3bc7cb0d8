"""Process faults: kill / stop / pause a node, kill a partition leader, kill MM2."""

from __future__ import annotations

import time
from typing import Any

import psutil

from kafkadrill.faults.base import FaultContext, implements


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


class NodeFault:
    def __init__(self, ctx: FaultContext, params: dict[str, Any], mode: str) -> None:
        self.ctx = ctx
        self.cluster = str(params["cluster"])
        self.node = int(params["node"])
        self.mode = mode
        self.pid = 0

    def inject(self) -> str:
        rt = self.ctx.runtime
        self.pid = rt.node_pid(self.cluster, self.node)
        if self.mode == "kill":
            rt.kill_node(self.cluster, self.node)
        elif self.mode == "stop":
            rt.stop_node(self.cluster, self.node)
        else:
            rt.pause_node(self.cluster, self.node)
        return f"{self.mode} {self.cluster} node {self.node} (pid {self.pid})"

    def verify(self) -> tuple[bool, str]:
        if self.mode == "pause":
            # SIGSTOP is asynchronous: the state flips to "stopped" a moment after kill().
            deadline = time.monotonic() + 5.0
            while True:
                try:
                    status = psutil.Process(self.pid).status()
                except psutil.NoSuchProcess:
                    return False, f"pid {self.pid} vanished instead of pausing"
                if status == psutil.STATUS_STOPPED or time.monotonic() > deadline:
                    return status == psutil.STATUS_STOPPED, f"pid {self.pid} status {status}"
                time.sleep(0.05)
        ok = _gone(self.pid)
        return ok, f"pid {self.pid} {'is gone' if ok else 'is still running'}"

    def heal(self) -> str:
        rt = self.ctx.runtime
        if self.mode == "pause":
            rt.resume_node(self.cluster, self.node)
            return f"resumed {self.cluster} node {self.node}"
        rt.start_node(self.cluster, self.node)
        pid = rt.node_pid(self.cluster, self.node)
        return f"restarted {self.cluster} node {self.node} (pid {pid})"


@implements("node.kill")
def _kill(ctx: FaultContext, params: dict[str, Any]) -> NodeFault:
    return NodeFault(ctx, params, "kill")


@implements("node.stop")
def _stop(ctx: FaultContext, params: dict[str, Any]) -> NodeFault:
    return NodeFault(ctx, params, "stop")


@implements("node.pause")
def _pause(ctx: FaultContext, params: dict[str, Any]) -> NodeFault:
    return NodeFault(ctx, params, "pause")


def partition_leader(ctx: FaultContext, cluster: str, topic: str, partition: int) -> int:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": ctx.runtime.bootstrap(cluster), "log_level": 0})
    md = admin.list_topics(topic, timeout=10)
    leader: int = md.topics[topic].partitions[partition].leader
    return leader


@implements("leader.kill")
class LeaderKill(NodeFault):
    def __init__(self, ctx: FaultContext, params: dict[str, Any]) -> None:
        self.topic = str(params["topic"])
        self.partition = int(params.get("partition", 0))
        leader = partition_leader(ctx, str(params["cluster"]), self.topic, self.partition)
        super().__init__(ctx, {"cluster": params["cluster"], "node": leader}, "kill")

    def inject(self) -> str:
        return f"leader of {self.topic}-{self.partition}: " + super().inject()


@implements("mm2.kill")
class Mm2Kill:
    def __init__(self, ctx: FaultContext, params: dict[str, Any]) -> None:
        self.ctx = ctx
        self.flow = str(params.get("flow", "primary->dr"))
        self.pid = 0

    def inject(self) -> str:
        rt = self.ctx.runtime
        assert rt.supervisor is not None
        self.pid = rt.supervisor.children[rt.mm2_name(rt._flow(self.flow))].pid
        rt.kill_mm2(self.flow)
        return f"SIGKILL MirrorMaker 2 {self.flow} (pid {self.pid})"

    def verify(self) -> tuple[bool, str]:
        ok = _gone(self.pid)
        return ok, f"pid {self.pid} {'is gone' if ok else 'is still running'}"

    def heal(self) -> str:
        self.ctx.runtime.start_mm2(self.flow)
        time.sleep(0)  # restart is asynchronous; replication resumes on its own
        return f"restarted MirrorMaker 2 {self.flow}"
