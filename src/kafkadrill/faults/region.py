"""Region and site outages: every node of a region (or of some sites of a multi-site cluster),
with the applications running there."""

from __future__ import annotations

import time
from typing import Any

from kafkadrill.faults.base import FaultContext, fault
from kafkadrill.faults.catalog import RegionParams, SiteParams
from kafkadrill.runtimes.base import Cap, LinkEffect


@fault(
    "region.outage",
    RegionParams,
    needs={Cap.NODE_KILL, Cap.NODE_START, Cap.FLOW_KILL, Cap.FLOW_START, Cap.LINK_CUT},
    summary="a whole region (nodes, MM2, links) goes dark",
)
class RegionOutage:
    def __init__(self, ctx: FaultContext, params: dict[str, Any]) -> None:
        self.ctx = ctx
        self.region = str(params["region"])
        self.killed: list[tuple[str, int]] = []
        self.cuts: list[LinkEffect] = []
        self.flows_killed: list[str] = []
        self.paused: list[Any] = []

    def _sites(self) -> set[str]:
        sites = {self.region}
        for c in self.ctx.runtime.topology.cluster_in(self.region):
            sites |= set(c.azs)
        return sites

    def inject(self) -> str:
        rt = self.ctx.runtime
        # Clients first: the applications in the region die with it.
        for client in self.ctx.clients:
            if client.site in self._sites() and not client.paused.is_set():
                client.paused.set()
                self.paused.append(client)
        for c in rt.topology.cluster_in(self.region):
            for n in c.nodes:
                if rt.node_alive(c.name, n.node_id):
                    rt.node_kill(c.name, n.node_id)
                    self.killed.append((c.name, n.node_id))
        # Replication processes run in their target's region.
        for flow in rt.flows():
            if rt.topology.cluster(flow.target).region == self.region and rt.flow_alive(flow):
                rt.flow_kill(flow)
                self.flows_killed.append(flow.name)
        for other in rt.topology.regions:
            if other != self.region:
                self.cuts.append(rt.link_cut(self.region, other, "both"))
        return (
            f"region {self.region}: killed {len(self.killed)} node(s), "
            f"{len(self.flows_killed)} replication process(es), cut "
            f"{sum(len(c.paths) for c in self.cuts)} cross-site paths, "
            f"stopped {len(self.paused)} client(s)"
        )

    def verify(self) -> tuple[bool, str]:
        rt = self.ctx.runtime
        up = [f"{c}/{n}" for c, n in self.killed if rt.node_state(c, n) != "down"]
        answering = [a for cut in self.cuts for a in cut.probes if rt.ping(a, 1.0) is not None]
        ok = bool(self.killed) and not up and not answering
        return ok, (
            f"{len(self.killed)} node(s) down, "
            f"{sum(len(c.probes) for c in self.cuts)} cross-site paths refuse"
            if ok
            else f"still up: {up}; answering: {answering}"
        )

    def heal(self) -> str:
        rt = self.ctx.runtime
        for cut in self.cuts:
            rt.link_restore(cut)
        for cluster, node in self.killed:
            rt.node_start(cluster, node)
        # Clients that were failed over elsewhere stay there; the others come back.
        resumed = 0
        region_clusters = {c.name for c in rt.topology.cluster_in(self.region)}
        for client in self.paused:
            if client.cluster in region_clusters:
                client.paused.clear()
                resumed += 1
        for flow in self.flows_killed:
            rt.flow_start(flow)
        return (
            f"region {self.region}: restarted {len(self.killed)} node(s) with their data, "
            f"restored {len(self.cuts)} link(s), resumed {resumed} client(s)"
        )


@fault(
    "site.outage",
    SiteParams,
    needs={Cap.NODE_KILL, Cap.NODE_START},
    summary="one or more sites of a multi-site (stretch) cluster lose power",
)
class SiteOutage:
    """Power loss in the sites: their brokers are SIGKILLed together and their clients stop.

    The links need no cut: nothing is left in the sites to answer. Heal restarts the nodes with
    their data (the site comes back) and resumes its clients.
    """

    def __init__(self, ctx: FaultContext, params: dict[str, Any]) -> None:
        self.ctx = ctx
        self.cluster = str(params["cluster"])
        self.sites = [str(s) for s in params["sites"]]
        self.killed: list[int] = []
        self.paused: list[Any] = []

    def inject(self) -> str:
        rt = self.ctx.runtime
        for client in self.ctx.clients:
            if client.site in self.sites and not client.paused.is_set():
                client.paused.set()
                self.paused.append(client)
        for n in rt.topology.cluster(self.cluster).nodes:
            if n.site in self.sites and rt.node_alive(self.cluster, n.node_id):
                rt.node_kill(self.cluster, n.node_id)
                self.killed.append(n.node_id)
        return (
            f"sites {', '.join(self.sites)} of {self.cluster}: killed node(s) "
            f"{self.killed}, stopped {len(self.paused)} client(s)"
        )

    def verify(self) -> tuple[bool, str]:
        rt = self.ctx.runtime
        deadline = time.monotonic() + 5.0  # a kill takes effect a moment after the signal
        while True:
            up = [n for n in self.killed if rt.node_state(self.cluster, n) != "down"]
            if not up or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        ok = bool(self.killed) and not up
        return ok, (
            f"{len(self.killed)} node(s) of {self.cluster} down in {', '.join(self.sites)}"
            if ok
            else f"still up: {up}"
            if self.killed
            else "no node was running in those sites"
        )

    def heal(self) -> str:
        rt = self.ctx.runtime
        for n in self.killed:
            rt.node_start(self.cluster, n)
        for client in self.paused:
            client.paused.clear()
        return (
            f"sites {', '.join(self.sites)}: restarted node(s) {self.killed} with their data, "
            f"resumed {len(self.paused)} client(s)"
        )
