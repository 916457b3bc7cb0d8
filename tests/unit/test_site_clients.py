"""Clients inside a site of a multi-site (stretch) cluster cross their site's link to reach
a broker in another site: per-site listeners and proxies (no process started here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kafkadrill.runtimes.local.runtime import LocalRuntime
from kafkadrill.runtimes.shared.config import render_server_properties, site_bootstrap
from kafkadrill.runtimes.shared.ports import plan_ports
from kafkadrill.runtimes.shared.toxiproxy import ProxySpec
from kafkadrill.topology import stretch


class _Lease:
    def __init__(self, plan: Any) -> None:
        self.plan = plan


class _Toxiproxy:
    def __init__(self) -> None:
        self.disabled: list[str] = []

    def create(self, spec: ProxySpec) -> None:
        pass

    def set_enabled(self, name: str, enabled: bool) -> None:
        if not enabled:
            self.disabled.append(name)


def _runtime(tmp_path: Path) -> tuple[LocalRuntime, _Toxiproxy]:
    rt = LocalRuntime(stretch(3), tmp_path)
    rt.lease = _Lease(plan_ports(rt.topology, 20000))  # type: ignore[assignment]
    tp = _Toxiproxy()
    rt.toxiproxy = tp  # type: ignore[assignment]
    rt._create_proxies()
    return rt, tp


def test_each_site_has_its_own_listener_advertised_at_its_proxies() -> None:
    topo = stretch(3)
    plan = plan_ports(topo, 20000)
    c = topo.cluster("primary")
    props = render_server_properties(topo, c, c.nodes[1], plan, "/tmp/x")
    ports = plan.node("primary", 2)
    assert len(ports.sites) == 3
    for i, port in enumerate(ports.sites):
        assert f"SITE{i}://127.0.0.1:{port}" in props
        assert f"SITE{i}://127.78.{i + 1}.2:{port}" in props
    assert site_bootstrap(c, plan, "east-b").split(",") == [
        f"127.78.2.{n.node_id}:{plan.node('primary', n.node_id).sites[1]}" for n in c.nodes
    ]


def test_a_client_in_a_site_reaches_other_sites_through_their_link(tmp_path: Path) -> None:
    rt, _tp = _runtime(tmp_path)
    # node 2 is in east-b: a client in east-a crosses east-a<->east-b, one in east-b does not.
    link = {p.name for p in rt._link_proxies("east-a", "east-b")}
    assert "client-primary-n2-east-a" in link and "client-primary-n1-east-b" in link
    assert "client-primary-n2-east-b" not in link
    assert rt.bootstrap("primary", from_site="east-a").startswith("127.78.1.1:")
    assert rt.bootstrap("primary").startswith("127.78.0.1:")  # no site: the shared proxies


def test_an_az_partition_with_clients_cuts_site_clients_across_it_only(tmp_path: Path) -> None:
    rt, tp = _runtime(tmp_path)
    rt.az_partition("primary", "east-a", "both", True)
    cut = set(tp.disabled)
    assert "client-primary-n1-east-b" in cut  # east-b's clients lose the isolated broker
    assert "client-primary-n2-east-a" in cut  # east-a's clients lose the other sites
    assert "client-primary-n1-east-a" not in cut  # inside the AZ: still reachable
    assert "client-primary-n2-east-b" not in cut
    tp.disabled.clear()
    rt.az_partition("primary", "east-a", "both", False)
    assert not any(n.endswith(("-east-a", "-east-b", "-east-c")) for n in tp.disabled
                   if n.startswith("client-"))  # fmt: skip
