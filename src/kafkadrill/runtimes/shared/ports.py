"""Port plans: every listener and proxy of a topology inside one block of ports.

Blocks sit below Linux's ephemeral range (32768+) so client sockets never collide with them,
and a block is claimed with an flock so two topologies on one machine never share ports.
"""

from __future__ import annotations

import fcntl
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kafkadrill.errors import TopologyError
from kafkadrill.topology import MAX_CLUSTERS, Topology

BLOCK = 400
FIRST_BASE = 20000
LAST_BASE = 32000  # the last block ending below 32768, Linux's default ephemeral start
PER_CLUSTER = 128
MAX_SITES = 5  # AZ sites of one multi-site cluster with their own client listener
PER_NODE = 7 + MAX_SITES
MAX_NODES = PER_CLUSTER // PER_NODE


@dataclass(frozen=True)
class NodePorts:
    client: int  # same-site clients
    xdc: int  # cross-site clients connect here only through the proxy below
    internal: int  # inter-broker replication
    controller: int  # KRaft quorum
    xdc_proxy: int  # the Toxiproxy listener advertised on the XDC listener
    # With three regions a node has a second remote region: its own listener (XDC2) and
    # proxy, so each region's clients cross their own link to reach it.
    xdc2: int = 0
    xdc2_proxy: int = 0
    # Multi-site clusters: one client listener per site (SITE<i>), advertised at that site's
    # proxies, so a client in one site crosses the inter-site link to a broker in another.
    sites: tuple[int, ...] = ()


@dataclass(frozen=True)
class PortPlan:
    base: int
    nodes: dict[tuple[str, int], NodePorts]
    toxiproxy_api: int

    def node(self, cluster: str, node_id: int) -> NodePorts:
        return self.nodes[(cluster, node_id)]

    def all_ports(self) -> list[int]:
        out = [self.toxiproxy_api]
        for p in self.nodes.values():
            out += [p.client, p.xdc, p.internal, p.controller, p.xdc_proxy, p.xdc2, p.xdc2_proxy]
            out += list(p.sites)
        return out


#: Kafka Connect REST listeners (`mm2_mode: connect`): the ports between the clusters' share
#: of the block and the Toxiproxy API, one per flow.
CONNECT_FIRST = MAX_CLUSTERS * PER_CLUSTER
assert MAX_CLUSTERS**2 <= BLOCK - 1 - CONNECT_FIRST, "a Connect REST port for every flow"


def flow_slot(topology: Topology, source: str, target: str) -> int:
    """A flow's fixed slot (0..MAX_CLUSTERS**2-1) from its ends' positions: the same whether
    the flow runs from the start or is added later (a failback's reverse flow)."""
    names = [c.name for c in topology.clusters]
    return names.index(source) * MAX_CLUSTERS + names.index(target)


def connect_rest_port(plan: PortPlan, topology: Topology, source: str, target: str) -> int:
    """The REST port of the Connect worker of the flow `source->target`."""
    return plan.base + CONNECT_FIRST + flow_slot(topology, source, target)


#: The backup's Kafka Connect worker (topology.backup): the port after the flows' ones.
BACKUP_REST = CONNECT_FIRST + MAX_CLUSTERS**2
assert BACKUP_REST < BLOCK - 1, "the backup worker's REST port below the Toxiproxy API"


def backup_rest_port(plan: PortPlan) -> int:
    return plan.base + BACKUP_REST


#: Schema registries (topology.schema_registry): HTTP and Quarkus' management interface (it
#: cannot be switched off at run time) in the last two ports of the cluster's own share, past
#: its nodes' ports.
assert MAX_NODES * PER_NODE <= PER_CLUSTER - 2, "room for a registry's two ports per cluster"


def registry_port(plan: PortPlan, topology: Topology, cluster: str) -> int:
    names = [c.name for c in topology.clusters]
    return plan.base + names.index(cluster) * PER_CLUSTER + PER_CLUSTER - 1


def registry_management_port(plan: PortPlan, topology: Topology, cluster: str) -> int:
    return registry_port(plan, topology, cluster) - 1


def plan_ports(topology: Topology, base: int) -> PortPlan:
    """Pure: the port of every listener given the block's base."""
    if len(topology.clusters) > MAX_CLUSTERS:
        raise TopologyError(f"at most {MAX_CLUSTERS} clusters per topology")
    nodes: dict[tuple[str, int], NodePorts] = {}
    for ci, cluster in enumerate(topology.clusters):
        if cluster.size > MAX_NODES:
            raise TopologyError(f"cluster {cluster.name}: at most {MAX_NODES} nodes")
        if len(cluster.azs) > MAX_SITES:
            raise TopologyError(f"cluster {cluster.name}: at most {MAX_SITES} AZ sites")
        for ni, node in enumerate(cluster.nodes):
            p = base + ci * PER_CLUSTER + ni * PER_NODE
            sites = tuple(p + 7 + i for i in range(len(cluster.azs))) if cluster.multi_az else ()
            nodes[(cluster.name, node.node_id)] = NodePorts(
                p, p + 1, p + 2, p + 3, p + 4, p + 5, p + 6, sites
            )
    return PortPlan(base, nodes, base + BLOCK - 1)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Kafka and Toxiproxy bind with SO_REUSEADDR, so a port in TIME_WAIT is usable.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def lock_dir() -> Path:
    d = Path(os.environ.get("KAFKADRILL_STATE", "/tmp/kafkadrill-state")) / "ports"
    d.mkdir(parents=True, exist_ok=True)
    return d


class PortLease:
    """A claimed port block; released on close (or when the process dies: flock)."""

    def __init__(self, plan: PortPlan, handle: IO[str]) -> None:
        self.plan = plan
        self._handle = handle

    def close(self) -> None:
        if not self._handle.closed:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()


def allocate(topology: Topology, *, start: int | None = None) -> PortLease:
    """Claim the first free block whose ports are all bindable right now."""
    first = start if start is not None else FIRST_BASE
    for base in range(first, LAST_BASE + 1, BLOCK):
        handle = open(lock_dir() / f"{base}.lock", "w")  # noqa: SIM115 - held for the lease
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        plan = plan_ports(topology, base)
        if all(_bindable(p) for p in plan.all_ports()):
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            return PortLease(plan, handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
    raise TopologyError(
        f"no free port block between {FIRST_BASE} and {LAST_BASE + BLOCK - 1} on 127.0.0.1"
    )
