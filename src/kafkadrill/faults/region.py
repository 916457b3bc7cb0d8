"""Full region outage: every node of the region's clusters, its links, and its clients."""

from __future__ import annotations

from typing import Any

import psutil

from kafkadrill.faults.base import FaultContext, implements
from kafkadrill.faults.probe import kafka_ping


@implements("region.outage")
class RegionOutage:
    def __init__(self, ctx: FaultContext, params: dict[str, Any]) -> None:
        self.ctx = ctx
        self.region = str(params["region"])
        self.killed: list[tuple[str, int, int]] = []
        self.disabled: list[str] = []
        self.mm2_killed: list[str] = []
        self.paused: list[Any] = []

    def _sites(self) -> set[str]:
        sites = {self.region}
        for c in self.ctx.runtime.topology.cluster_in(self.region):
            sites |= set(c.azs)
        return sites

    def inject(self) -> str:
        rt = self.ctx.runtime
        assert rt.toxiproxy is not None
        # Clients first: the applications in the region die with it.
        for client in self.ctx.clients:
            if client.site in self._sites() and not client.paused.is_set():
                client.paused.set()
                self.paused.append(client)
        for c in rt.topology.cluster_in(self.region):
            for n in c.nodes:
                if rt.node_alive(c.name, n.node_id):
                    pid = rt.node_pid(c.name, n.node_id)
                    rt.kill_node(c.name, n.node_id)
                    self.killed.append((c.name, n.node_id, pid))
        for flow in list(rt.flows_running.values()):
            if rt.topology.cluster(flow.target).region == self.region and rt.mm2_alive(flow):
                rt.kill_mm2(flow)
                self.mm2_killed.append(flow.name)
        for other in rt.topology.regions:
            if other == self.region:
                continue
            for p in rt.link_proxies(self.region, other):
                rt.toxiproxy.set_enabled(p.name, False)
                self.disabled.append(p.name)
        return (
            f"region {self.region}: killed {len(self.killed)} node(s), "
            f"{len(self.mm2_killed)} MM2 process(es), cut {len(self.disabled)} proxies, "
            f"stopped {len(self.paused)} client(s)"
        )

    def verify(self) -> tuple[bool, str]:
        alive = [
            pid
            for _c, _n, pid in self.killed
            if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        ]
        rt = self.ctx.runtime
        answering = [
            p.listen
            for p in rt.proxies.values()
            if p.name in self.disabled and kafka_ping(p.listen, 1.0) is not None
        ]
        ok = bool(self.killed) and not alive and not answering
        return ok, (
            f"{len(self.killed)} node process(es) gone, {len(self.disabled)} cross-site "
            f"paths refuse"
            if ok
            else f"alive: {alive}; answering: {answering}"
        )

    def heal(self) -> str:
        rt = self.ctx.runtime
        assert rt.toxiproxy is not None
        for name in self.disabled:
            rt.toxiproxy.set_enabled(name, True)
        for cluster, node, _pid in self.killed:
            rt.start_node(cluster, node)
        # Clients that were failed over elsewhere stay there; the others come back.
        resumed = 0
        for client in self.paused:
            if client.cluster in {c.name for c in rt.topology.cluster_in(self.region)}:
                client.paused.clear()
                resumed += 1
        for flow in self.mm2_killed:
            rt.start_mm2(flow)
        return (
            f"region {self.region}: restarted {len(self.killed)} node(s) with their data, "
            f"re-enabled {len(self.disabled)} proxies, resumed {resumed} client(s)"
        )
