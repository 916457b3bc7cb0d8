"""Links of the compose runtime: link faults on the Toxiproxy container's proxies, and AZ
partitions as network disconnects (or, in a cluster with a WAN between its AZs, as a black
hole on the proxies between them).

A cut is a timeout-0 toxic here, never a disabled proxy (see link_cut); probes are the
replication paths only. The shared mechanics are in runtimes/shared/links.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.base import LinkEffect
from kafkadrill.runtimes.compose import render as cr
from kafkadrill.runtimes.compose.docker import docker_cli
from kafkadrill.runtimes.shared.config import host_name
from kafkadrill.runtimes.shared.links import (
    ProxyLinks,
    Targets,
    apply_to_proxies,
    direction_streams,
    missing_toxics,
    paths_in_force,
    restore_proxies,
)
from kafkadrill.runtimes.shared.toxiproxy import ProxySpec, partition_streams
from kafkadrill.topology import Cluster


class ComposeLinks(ProxyLinks):
    """The link half of ComposeRuntime (a mixin: it works on the runtime's own state)."""

    project: str
    proxies: dict[str, ProxySpec]
    _cuts: dict[str, list[tuple[str, str, str]]]  # effect id -> disconnections
    _container: Callable[[str], str]  # the runtime's: container name of a service
    _base: Callable[[], int]  # the runtime's: base port of its lease

    def _create_az_proxies(self) -> None:
        """The inter-AZ node paths of AZ-WAN clusters: each proxy listens on Toxiproxy's own
        address on the client AZ's network (known only now) at the node's port."""
        wanted = cr.az_proxies(self.topology)
        if not wanted:
            return
        name = self._container("toxiproxy")
        out = docker_cli("inspect", "-f", "{{json .NetworkSettings.Networks}}", name)
        nets = json.loads(out or "{}")
        tp = self._tp()
        for ap in wanted:
            addr = (nets.get(f"{self.project}_{ap.network}") or {}).get("IPAddress")
            if not addr:
                raise TopologyError(
                    f"the Toxiproxy container has no address on network {ap.network} "
                    f"(it is on {sorted(nets)})"
                )
            spec = ProxySpec(
                ap.name, f"{addr}:{ap.port}", ap.upstream, ap.client_site, ap.server_site
            )
            tp.create(spec)
            self.proxies[spec.name] = spec

    def _link_targets(self, a: str, b: str, direction: str) -> Targets:
        # Between regions every proxy is matched by region; inside one, only two AZs of a
        # cluster whose inter-AZ paths cross proxies (a baseline WAN there) have a link.
        inside = self._region_of(a) == self._region_of(b)
        if inside and not any(
            cr.az_wan(self.topology, c) and {a, b} <= set(c.azs) for c in self.topology.clusters
        ):
            raise TopologyError(
                f"link {a}<->{b}: the compose runtime proxies links between regions, and "
                "between the AZs of a cluster that has a baseline WAN between them "
                "(topology.wan); otherwise inside a region use az.partition"
            )

        def site(s: str) -> str:
            return s if inside else self._region_of(s)

        pair = {site(a), site(b)}
        return [
            (p, direction_streams(p, direction, site))
            for p in self.proxies.values()
            if {site(p.client_site), site(p.server_site)} == pair
        ]

    def _apply(
        self,
        kind: str,
        targets: Targets,
        attributes: dict[str, Any],
        disable: bool,
        what: str,
    ) -> LinkEffect:
        name = f"kd-{uuid.uuid4().hex[:8]}"
        toxics, disabled = apply_to_proxies(self._tp(), kind, name, targets, attributes, disable)
        done = (
            f"disabled {len(disabled)} proxies in the Toxiproxy container"
            if disable
            else f"{kind} {attributes} on {len(toxics)} proxy stream(s) of {len(targets)} proxies"
        )
        hit = [p for p, s in targets if s or disable]
        # A black-holed probe costs its whole timeout, so faults probe the replication paths
        # (xdc-*, one per node); the host-client paths (hostx-*) carry the same toxics.
        probed = [p for p in hit if p.name.startswith("xdc-")] or hit
        return LinkEffect(
            kind=kind,
            paths=tuple(p.name for p in hit),
            probes=tuple(sorted({p.listen for p in probed})),
            detail=f"{done} ({what})",
            handle=("proxy", tuple(toxics), tuple(disabled)),
        )

    def link_cut(self, a: str, b: str, direction: str = "both") -> LinkEffect:
        """A black hole on every path of the link: a timeout-0 toxic holds every byte and never
        closes (what a WAN cut looks like: no reset, no answer). Unlike the local runtime, a
        both-ways cut does not disable the proxies: stopping a proxy waits for its accept loop,
        which hangs dialling a killed container (a region-outage drill saw the Toxiproxy API
        answer 503 after 5 s), while a toxic applies at once, to open connections too."""
        targets = self._link_targets(a, b, direction)
        return self._apply(
            "cut", targets, {"timeout": 0}, False, f"link {a}<->{b}, {direction}, black hole"
        )

    def link_toxic(
        self, a: str, b: str, direction: str, toxic: str, attributes: dict[str, Any]
    ) -> LinkEffect:
        targets = self._link_targets(a, b, direction)
        return self._apply(toxic, targets, attributes, False, f"link {a}<->{b}, {direction}")

    def az_partition(self, cluster: str, az: str, direction: str, cut_clients: bool) -> LinkEffect:
        """Disconnect the AZ's nodes from their region's network: they keep their AZ network
        (each other) and lose every other node, the region's containers, the cross-region
        proxies and the host's published ports."""
        c = self.topology.cluster(cluster)
        if not c.multi_az or az not in c.azs:
            raise TopologyError(
                f"az.partition: cluster {cluster} has no AZ {az!r} (its sites: {list(c.azs)})"
            )
        if cr.az_wan(self.topology, c):
            return self._az_cut_proxies(c, az, direction, cut_clients)
        if direction != "both":
            raise TopologyError(
                f"az.partition direction {direction!r}: the compose runtime cuts an AZ off with "
                "a network disconnect, which is both ways; use direction: both, or the local "
                "runtime for one-way partitions"
            )
        if not cut_clients:
            raise TopologyError(
                "az.partition with a workload client inside the isolated AZ: the compose "
                "runtime's host-side clients reach nodes through the region network, which the "
                "cut removes; put the clients outside the AZ or use the local runtime"
            )
        net = f"{self.project}_{cr.site_network(c.region)}"
        cuts: list[tuple[str, str, str]] = []
        for n in c.nodes:
            if n.site != az:
                continue
            name = self._container(cr.node_service(cluster, n.node_id))
            alias = host_name(cluster, n.node_id)
            docker_cli("network", "disconnect", "--force", net, name)
            cuts.append((name, net, alias))
        effect_id = uuid.uuid4().hex[:8]
        self._cuts[effect_id] = cuts
        ports, _ = cr.host_ports(self.topology, self._base())
        probes = tuple(
            f"127.0.0.1:{ports[(cluster, n.node_id)].host}" for n in c.nodes if n.site == az
        )
        return LinkEffect(
            kind="cut",
            paths=tuple(f"{name}@{net}" for name, net, _ in cuts),
            probes=probes,
            detail=(
                f"disconnected {len(cuts)} node container(s) of {az} from network {net}: "
                f"{az} of {cluster} is cut off from the other AZs, the region and its clients"
            ),
            handle=("network", effect_id),
        )

    def _az_cut_proxies(self, c: Cluster, az: str, direction: str, cut_clients: bool) -> LinkEffect:
        """az.partition in an AZ-WAN cluster: a black hole on every proxy between the AZ and
        the rest (node-to-node, and with `cut_clients` the host's paths to the AZ's nodes)."""
        mine = {cr.node_service(c.name, n.node_id) for n in c.nodes if n.site == az}
        targets: list[tuple[ProxySpec, list[str]]] = []
        for p in self.proxies.values():
            if p.name.startswith(f"az-{c.name}-"):
                inside_client, inside_server = p.client_site == az, p.server_site == az
                if inside_client == inside_server:
                    continue
            elif p.upstream.rsplit(":", 1)[0] in mine and not p.name.startswith("az-"):
                if not cut_clients and not p.name.startswith("xdc-"):
                    continue  # client-*/hostx-*: the host's clients keep their path
                inside_client = False  # the AZ's node serves; the client is outside
            else:
                continue
            targets.append((p, partition_streams(direction, inside_client)))
        return self._apply(
            "cut", targets, {"timeout": 0}, False, f"AZ {az} of {c.name}, {direction}"
        )

    def _on_network(self, container: str, net: str) -> bool:
        out = docker_cli(
            "inspect", "-f", "{{json .NetworkSettings.Networks}}", container, check=False
        )
        try:
            return net in json.loads(out or "{}")
        except ValueError:
            return False

    def link_in_force(self, effect: LinkEffect) -> tuple[bool, str]:
        if effect.handle[0] == "network":
            cuts = self._cuts.get(effect.handle[1], [])
            back = [name for name, net, _ in cuts if self._on_network(name, net)]
            if not cuts:
                return False, "no container was disconnected"
            return not back, (
                f"{len(cuts) - len(back)}/{len(cuts)} containers off their region network"
                + (f"; reconnected: {back}" if back else "")
            )
        tp = self._tp()
        _kind, toxics, disabled = effect.handle
        missing = missing_toxics(tp, toxics)
        # One listing for every proxy (a proxy gone from it counts as enabled: not cut).
        proxies = tp.proxies()
        enabled = [p for p in disabled if proxies.get(p, {}).get("enabled", True)]
        return paths_in_force(toxics, disabled, missing, enabled)

    def link_restore(self, effect: LinkEffect) -> str:
        if effect.handle[0] == "network":
            cuts = self._cuts.pop(effect.handle[1], [])
            for name, net, alias in cuts:
                self._reconnect(name, net, alias)
            return f"reconnected {len(cuts)} container(s) to their region network"
        _kind, toxics, disabled = effect.handle
        return restore_proxies(self._tp(), toxics, disabled)

    def _reconnect(self, name: str, net: str, alias: str) -> None:
        if not self._on_network(name, net):
            docker_cli("network", "connect", "--alias", alias, net, name)
