"""Links of the local runtime: its Toxiproxy process, one proxy per cross-site path (and per
broker pair inside multi-AZ clusters), and the link faults on them.

A both-ways cut disables the proxies (their connections drop, new ones are refused); a one-way
cut is a timeout-0 toxic on one stream. The shared mechanics (streams of a direction, applying,
verifying and healing toxics, the baseline WAN) are in runtimes/shared/links.py.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.base import LinkEffect
from kafkadrill.runtimes.shared import config as cfg
from kafkadrill.runtimes.shared.links import (
    ProxyLinks,
    Targets,
    apply_to_proxies,
    direction_streams,
    missing_toxics,
    paths_in_force,
    restore_proxies,
)
from kafkadrill.runtimes.shared.processes import Supervisor
from kafkadrill.runtimes.shared.toxiproxy import ProxySpec, ToxiproxyClient, partition_streams
from kafkadrill.runtimes.shared.wan import PREFIX


class LocalLinks(ProxyLinks):
    """The link half of LocalRuntime (a mixin: it works on the runtime's own state)."""

    plan: Any
    workdir: Path
    supervisor: Supervisor | None
    toxiproxy_bin: Path | None
    proxies: dict[str, ProxySpec]

    def _start_toxiproxy(self) -> None:
        assert self.supervisor is not None and self.toxiproxy_bin is not None
        api = self.plan.toxiproxy_api
        self.supervisor.spawn(
            "toxiproxy",
            [str(self.toxiproxy_bin), "-host", "127.0.0.1", "-port", str(api)],
            self.workdir / "logs" / "toxiproxy" / "stdout.log",
        )
        self.toxiproxy = ToxiproxyClient(f"127.0.0.1:{api}")
        deadline = time.monotonic() + 15
        while not self.toxiproxy.ping():
            if not self.supervisor.children["toxiproxy"].alive():
                raise TopologyError("Toxiproxy exited at start; see logs/toxiproxy/stdout.log")
            if time.monotonic() > deadline:
                raise TopologyError("Toxiproxy API did not answer within 15 s")
            time.sleep(0.05)

    def _add_proxy(self, spec: ProxySpec) -> None:
        assert self.toxiproxy is not None
        self.toxiproxy.create(spec)
        self.proxies[spec.name] = spec

    def _create_proxies(self) -> None:
        assert self.toxiproxy is not None
        for c in self.topology.clusters:
            # One proxy per node and remote region: each region's clients cross their own link.
            remote = cfg.remote_regions(self.topology, c) or ("remote",)
            for index, region in enumerate(remote):
                for n in c.nodes:
                    p = self.plan.node(c.name, n.node_id)
                    spec = ProxySpec(
                        f"xdc-{c.name}-n{n.node_id}" + (f"-{region}" if index else ""),
                        f"127.0.0.1:{cfg.xdc_proxy_port(self.plan, c, n.node_id, index)}",
                        f"127.0.0.1:{p.xdc2 if index else p.xdc}",
                        client_site=region,
                        server_site=c.region,
                    )
                    self._add_proxy(spec)
            if not c.multi_az:
                continue
            for n in c.nodes:
                # Same-region clients reach each node of a multi-AZ cluster through a proxy.
                port = self.plan.node(c.name, n.node_id).client
                spec = ProxySpec(
                    f"client-{c.name}-n{n.node_id}",
                    f"{cfg.client_host(c, n.node_id)}:{port}",
                    f"127.0.0.1:{port}",
                    client_site="clients",
                    server_site=n.site,
                )
                self._add_proxy(spec)
                # Clients inside a site reach every node through their site's own proxy: the
                # link between their site and the node's (WAN latency, cuts) is on the path.
                for i, site in enumerate(c.azs):
                    port = self.plan.node(c.name, n.node_id).sites[i]
                    spec = ProxySpec(
                        f"client-{c.name}-n{n.node_id}-{site}",
                        f"{cfg.site_host(i, n.node_id)}:{port}",
                        f"127.0.0.1:{port}",
                        client_site=site,
                        server_site=n.site,
                    )
                    self._add_proxy(spec)
            for src in c.nodes:
                for dst in c.nodes:
                    if src.node_id == dst.node_id:
                        continue
                    p = self.plan.node(c.name, dst.node_id)
                    addr = cfg.mesh_address(src.node_id, dst.node_id)
                    for kind, port in (("int", p.internal), ("ctl", p.controller)):
                        spec = ProxySpec(
                            f"mesh-{c.name}-n{src.node_id}-n{dst.node_id}-{kind}",
                            f"{addr}:{port}",
                            f"127.0.0.1:{port}",
                            client_site=src.site,
                            server_site=dst.site,
                        )
                        self._add_proxy(spec)

    def _link_proxies(self, site_a: str, site_b: str) -> list[ProxySpec]:
        """Every proxy carrying bytes between two sites (regions or AZs)."""
        pair = {site_a, site_b}
        out = []
        for spec in self.proxies.values():
            if {self._region_of(spec.client_site), self._region_of(spec.server_site)} == pair or {
                spec.client_site,
                spec.server_site,
            } == pair:
                out.append(spec)
        return out

    def _apply(
        self,
        kind: str,
        targets: Targets,
        attributes: dict[str, Any],
        disable: bool,
        what: str,
    ) -> LinkEffect:
        """Disable whole proxies (`disable`) or add one toxic per (proxy, stream)."""
        name = f"kd-{uuid.uuid4().hex[:8]}"
        toxics, disabled = apply_to_proxies(self._tp(), kind, name, targets, attributes, disable)
        done = (
            f"disabled {len(disabled)} proxies"
            if disable
            else f"{kind} {attributes} on {len(toxics)} proxy stream(s) of {len(targets)} proxies"
        )
        return LinkEffect(
            kind=kind,
            paths=tuple(p.name for p, s in targets if s or disable),
            probes=tuple(sorted({p.listen for p, s in targets if s or disable})),
            detail=f"{done} ({what})",
            handle=(tuple(toxics), tuple(disabled)),
        )

    def _link_targets(self, a: str, b: str, direction: str) -> Targets:
        return [(p, direction_streams(p, direction)) for p in self._link_proxies(a, b)]

    def link_cut(self, a: str, b: str, direction: str = "both") -> LinkEffect:
        targets = self._link_targets(a, b, direction)
        # Both directions: disabling a proxy drops its connections and refuses new ones.
        # One direction: a timeout-0 toxic holds every byte that way and never closes.
        return self._apply(
            "cut", targets, {"timeout": 0}, direction == "both", f"link {a}<->{b}, {direction}"
        )

    def link_toxic(
        self, a: str, b: str, direction: str, toxic: str, attributes: dict[str, Any]
    ) -> LinkEffect:
        targets = self._link_targets(a, b, direction)
        return self._apply(toxic, targets, attributes, False, f"link {a}<->{b}, {direction}")

    def az_partition(self, cluster: str, az: str, direction: str, cut_clients: bool) -> LinkEffect:
        """Cut the broker-to-broker and controller paths between one AZ and the rest (and, if
        `cut_clients`, the client paths to the isolated brokers)."""
        targets: list[tuple[ProxySpec, list[str]]] = []
        azs = set(self.topology.cluster(cluster).azs)
        for p in self.proxies.values():
            # A client in a site of this cluster: its paths cross the partition like the
            # brokers' own (below), when clients are cut too.
            site_client = p.name.startswith(f"client-{cluster}-") and p.client_site in azs
            if cut_clients and p.name.startswith(f"client-{cluster}-") and not site_client:
                if p.server_site != az:
                    continue
                # The shared clients sit outside every AZ: requests enter it, replies leave.
                targets.append((p, partition_streams(direction, inside_client=False)))
                continue
            if not (p.name.startswith(f"mesh-{cluster}-") or (cut_clients and site_client)):
                continue
            inside_client, inside_server = p.client_site == az, p.server_site == az
            if inside_client == inside_server:
                continue
            targets.append((p, partition_streams(direction, inside_client)))
        effect = self._apply(
            "cut", targets, {"timeout": 0}, direction == "both", f"AZ {az} of {cluster}"
        )
        clients = sum(1 for p, _ in targets if p.name.startswith("client-"))
        return LinkEffect(
            effect.kind,
            effect.paths,
            effect.probes,
            f"{effect.detail}: {len(targets) - clients} broker-to-broker and {clients} client "
            f"paths between {az} and the rest of {cluster}",
            effect.handle,
        )

    def link_in_force(self, effect: LinkEffect) -> tuple[bool, str]:
        tp = self._tp()
        toxics, disabled = effect.handle
        missing = missing_toxics(tp, toxics)
        enabled = [p for p in disabled if tp.enabled(p)]
        return paths_in_force(toxics, disabled, missing, enabled)

    def link_restore(self, effect: LinkEffect) -> str:
        toxics, disabled = effect.handle
        return restore_proxies(self._tp(), toxics, disabled)

    def _verify_links(self) -> list[str]:
        """Every proxy enabled and carrying only the baseline WAN's toxics."""
        tp = self._tp()
        proxies = tp.proxies()
        for name in self.proxies:
            info = proxies.get(name)
            if info is None or not info.get("enabled"):
                raise TopologyError(f"reset: proxy {name} is missing or disabled")
            extra = [t["name"] for t in info.get("toxics", []) if not t["name"].startswith(PREFIX)]
            if extra:
                raise TopologyError(f"reset: proxy {name} still has toxics {extra}")
        return [f"{len(self.proxies)} proxies enabled, no toxic beyond the baseline WAN"]
