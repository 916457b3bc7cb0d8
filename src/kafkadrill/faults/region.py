"""Region and site outages: every node of a region (or of some sites of a multi-site cluster),
with the applications running there.

Each fault type is registered once, below its implementation: parameter model, capabilities
and plan text (what `kafkadrill plan` prints for it on the external runtime) together.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from pydantic import Field

from kafkadrill.errors import TopologyError
from kafkadrill.faults.base import FaultContext, PlanOps, fault
from kafkadrill.faults.catalog import (
    FaultParams,
    Problem,
    check_cluster,
    did_you_mean,
    find_cluster,
    known,
    link_ids,
)
from kafkadrill.runtimes.base import (
    Cap,
    LinkEffect,
    RunsBackup,
    RunsSchemaRegistry,
    Runtime,
    StartsNodesTogether,
)
from kafkadrill.topology import Topology

# --------------------------------------------------------------------------------------------
# Parameter models
# --------------------------------------------------------------------------------------------


class RegionParams(FaultParams):
    """region.outage: every node, MM2 process and link of a region goes dark at once."""

    target_fields: ClassVar[tuple[str, ...]] = ("region",)
    needs_topology: ClassVar[bool] = True  # its identities are everything inside the region
    region: str

    def check(self, topology: Topology) -> list[Problem]:
        if self.region in topology.regions:
            return []
        return [
            Problem(
                "target.region",
                f"unknown region '{self.region}'"
                f"{did_you_mean(self.region, topology.regions)}; {known(topology.regions)}",
            )
        ]

    def targets(self, topology: Topology) -> set[str]:
        ids = {f"region:{self.region}"}
        sites = {self.region}
        clusters = topology.cluster_in(self.region)
        for c in clusters:
            ids |= {f"cluster:{c.name}", f"leaders:{c.name}"}
            ids |= {f"node:{c.name}/{n.node_id}" for n in c.nodes}
            ids |= {f"az:{c.name}/{az}" for az in c.azs}
            sites |= set(c.azs)
        for lk in topology.links:
            if {lk.a, lk.b} & sites:
                ids |= link_ids(lk.name)
        names = {c.name for c in clusters}
        # MM2 for a flow runs in the target's region and reads from the source: either side down
        # stops it.
        ids |= {f"flow:{f.name}" for f in topology.flows if {f.source, f.target} & names}
        return ids

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [{"region": r} for r in topology.regions]


class SiteParams(FaultParams):
    """site.outage: every node of one or more sites (AZs / datacenters of a multi-site
    cluster) dies at once, with the applications running there."""

    target_fields: ClassVar[tuple[str, ...]] = ("cluster", "sites")
    cluster: str
    sites: list[str] = Field(min_length=1, max_length=9)

    def check(self, topology: Topology) -> list[Problem]:
        problems = check_cluster(topology, self.cluster)
        c = find_cluster(topology, self.cluster)
        if c is None:
            return problems
        if not c.multi_az:
            problems.append(
                Problem(
                    "target.cluster",
                    f"cluster '{c.name}' sits in one site; site.outage needs a multi-site "
                    "cluster (use region.outage or node.kill)",
                    f"set topology.azs.{c.name} to a list of site names",
                )
            )
            return problems
        for site in self.sites:
            if site not in c.azs:
                problems.append(
                    Problem(
                        "target.sites",
                        f"cluster '{c.name}' has no site '{site}'"
                        f"{did_you_mean(site, c.azs)}; {known(c.azs)}",
                    )
                )
        if len(set(self.sites)) != len(self.sites):
            problems.append(Problem("target.sites", "a site is listed twice"))
        elif not problems and set(self.sites) == set(c.azs):
            problems.append(
                Problem(
                    "target.sites",
                    f"every site of cluster '{c.name}' would be lost: nothing is left to measure",
                    "leave at least one site, or use region.outage",
                )
            )
        return problems

    def targets(self, topology: Topology) -> set[str]:
        c = find_cluster(topology, self.cluster)
        nodes = [n for n in (c.nodes if c else ()) if n.site in self.sites]
        ids = {f"az:{self.cluster}/{s}" for s in self.sites}
        ids |= {f"node:{self.cluster}/{n.node_id}" for n in nodes}
        ids.add(f"leaders:{self.cluster}")
        for lk in topology.links:
            if {lk.a, lk.b} & set(self.sites):
                ids |= link_ids(lk.name)
        return ids

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [
            {"cluster": c.name, "sites": [az]}
            for c in topology.clusters
            if c.multi_az
            for az in c.azs
        ]


# --------------------------------------------------------------------------------------------
# Implementations and registrations
# --------------------------------------------------------------------------------------------


def start_nodes(rt: Runtime, nodes: list[tuple[str, int]]) -> str:
    """Start the nodes of an outage together where the runtime can (a fully-down KRaft
    cluster needs a majority up: a start that waits for readiness never returns alone);
    otherwise one after the other (those runtimes' starts do not wait). Either way a failure
    names every node that failed, not only the last. Returns what the runtime verified."""
    if isinstance(rt, StartsNodesTogether):
        return rt.nodes_start(nodes)
    failed: list[str] = []
    for cluster, node in nodes:
        try:
            rt.node_start(cluster, node)
        except TopologyError as exc:
            failed.append(f"{cluster}/{node}: {exc}")
    if failed:
        raise TopologyError(
            f"{len(failed)} of {len(nodes)} node(s) did not start: {'; '.join(failed)}"
        )
    return ""  # these runtimes' heal text stays as it was: their starts verify nothing


def region_plan(p: RegionParams, ops: PlanOps) -> list[str]:
    """Every node of the region killed, the flows that run there killed, its links cut."""
    out = []
    topo = ops.topo
    for c in topo.cluster_in(p.region):
        for n in c.nodes:
            out += [
                f"[{c.name}/{n.node_id}] {x}"
                for x in ops.node_ops(c.name, n.node_id, "node_kill", "node_start")
            ]
    for f in topo.flows:
        if topo.cluster(f.target).region == p.region:
            out += [f"[{f.name}] {x}" for x in ops.flow_ops(f.name, "flow_kill", "flow_start")]
    for other in topo.regions:
        if other != p.region:
            out += ops.link_ops(f"{p.region}<->{other}", "both", "cut", {})
    return out


@fault(
    "region.outage",
    RegionParams,
    needs={Cap.NODE_KILL, Cap.NODE_START, Cap.FLOW_KILL, Cap.FLOW_START, Cap.LINK_CUT},
    summary="a whole region (nodes, MM2, links) goes dark",
    plan=region_plan,
)
class RegionOutage:
    def __init__(self, ctx: FaultContext, params: RegionParams) -> None:
        self.ctx = ctx
        self.region = params.region
        self.killed: list[tuple[str, int]] = []
        self.cuts: list[LinkEffect] = []
        self.flows_killed: list[str] = []
        self.paused: list[Any] = []
        self.backup_killed = False
        self.registries_killed: list[str] = []

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
        self._kill_dr_toolbox(rt)
        for other in rt.topology.regions:
            if other != self.region:
                self.cuts.append(rt.link_cut(self.region, other, "both"))
        return (
            f"region {self.region}: killed {len(self.killed)} node(s), "
            f"{len(self.flows_killed)} replication process(es)"
            + (", the backup's worker" if self.backup_killed else "")
            + (
                f", {len(self.registries_killed)} schema registr(ies)"
                if self.registries_killed
                else ""
            )
            + ", cut "
            f"{sum(len(c.paths) for c in self.cuts)} cross-site paths, "
            f"stopped {len(self.paused)} client(s)"
        )

    def _kill_dr_toolbox(self, rt: Runtime) -> None:
        """The backup's worker and the schema registries that run in the region die with it."""
        backup = rt.topology.backup
        ours = backup is not None and backup.region == self.region
        if ours and isinstance(rt, RunsBackup) and rt.backup_alive():
            rt.backup_kill()
            self.backup_killed = True
        if rt.topology.schema_registry is not None and isinstance(rt, RunsSchemaRegistry):
            for c in rt.topology.cluster_in(self.region):
                if rt.registry_kill(c.name):
                    self.registries_killed.append(c.name)

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
        started = start_nodes(rt, self.killed) if self.killed else ""
        # Clients that were failed over elsewhere stay there; the others come back.
        resumed = 0
        region_clusters = {c.name for c in rt.topology.cluster_in(self.region)}
        for client in self.paused:
            if client.cluster in region_clusters:
                client.paused.clear()
                resumed += 1
        for flow in self.flows_killed:
            rt.flow_start(flow)
        toolbox = []
        if self.backup_killed and isinstance(rt, RunsBackup):
            rt.backup_start()
            toolbox.append("the backup's worker")
        if isinstance(rt, RunsSchemaRegistry):
            for cluster in self.registries_killed:
                rt.registry_start(cluster)
                toolbox.append(f"the schema registry of {cluster}")
        return (
            f"region {self.region}: restarted {len(self.killed)} node(s) with their data"
            + "".join(f", {t}" for t in toolbox)
            + f", restored {len(self.cuts)} link(s), resumed {resumed} client(s)"
            + (f" ({started})" if started else "")
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

    def __init__(self, ctx: FaultContext, params: SiteParams) -> None:
        self.ctx = ctx
        self.cluster = params.cluster
        self.sites = list(params.sites)
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
        nodes = [(self.cluster, n) for n in self.killed]
        started = start_nodes(rt, nodes) if nodes else ""
        for client in self.paused:
            client.paused.clear()
        return (
            f"sites {', '.join(self.sites)}: restarted node(s) {self.killed} with their data, "
            f"resumed {len(self.paused)} client(s)" + (f" ({started})" if started else "")
        )
