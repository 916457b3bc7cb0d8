"""The compose runtime's pure decisions (no Docker): which proxies a link or an AZ cut acts on
in a cluster whose AZs are joined by a baseline WAN, and which WANs it refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.base import LinkEffect
from kafkadrill.runtimes.compose import render as cr
from kafkadrill.runtimes.compose.runtime import ComposeRuntime
from kafkadrill.runtimes.shared.toxiproxy import ProxySpec
from kafkadrill.topology import (
    DEFAULT_PRIMARY_AZS,
    Cluster,
    Node,
    Topology,
    WanLink,
    two_dc,
)


def _stretch(flows: bool = False) -> Topology:
    """primary over three AZs with a WAN between them; with `flows`, active-active with dr."""
    topo = two_dc(3, 1, primary_azs=DEFAULT_PRIMARY_AZS, both_ways=flows)
    primary = topo.cluster("primary")
    wan = (WanLink("east-a", "east-b", 5), WanLink("east-a", "east-c", 5))
    clusters = topo.clusters if flows else (primary,)
    return Topology("stretch", clusters, topo.flows if flows else (), None, wan)


def _runtime(topo: Topology, tmp_path: Path) -> ComposeRuntime:
    """A runtime whose proxies are what start() would create (addresses made up)."""
    rt = ComposeRuntime(topo, tmp_path)
    for i, p in enumerate(cr.az_proxies(topo)):
        rt.proxies[p.name] = ProxySpec(
            p.name, f"10.0.{i}.2:{p.port}", p.upstream, p.client_site, p.server_site
        )
    for p in cr.proxies(topo, 24000):
        rt.proxies[p.name] = ProxySpec(
            p.name, f"127.0.0.1:{p.host_port}", p.upstream, p.client_site, p.server_site
        )
    return rt


def test_a_link_between_two_azs_targets_only_their_node_paths(tmp_path: Path) -> None:
    rt = _runtime(_stretch(), tmp_path)
    both = rt._link_targets("east-a", "east-b", "both")
    assert both and all(streams == ["upstream", "downstream"] for _, streams in both)
    assert {frozenset((p.client_site, p.server_site)) for p, _ in both} == {
        frozenset(("east-a", "east-b"))
    }
    assert len(both) == 4  # n1 from east-b and n2 from east-a, broker and controller each
    one_way = rt._link_targets("east-a", "east-b", "east-a->east-b")
    for p, streams in one_way:
        assert streams == (["upstream"] if p.client_site == "east-a" else ["downstream"])


def test_an_az_cut_black_holes_every_path_into_and_out_of_the_az(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = _runtime(_stretch(), tmp_path)
    seen: dict[str, Any] = {}

    def fake_apply(kind: str, targets: Any, attrs: Any, disable: bool, what: str) -> LinkEffect:
        seen.update(kind=kind, targets=targets, disable=disable)
        return LinkEffect(kind, (), (), what)

    monkeypatch.setattr(rt, "_apply", fake_apply)
    rt.az_partition("primary", "east-a", "both", True)
    names = {p.name for p, _ in seen["targets"]}
    az = {n for n in names if n.startswith("az-")}
    # every inter-AZ path with east-a at one end (n1 from b and c, n2 and n3 from a) x 2
    assert len(az) == 8 and all("east-a" in n or "-n1-" in n for n in az)
    assert {"client-primary-n1", "xdc-primary-n1", "hostx-primary-n1"} <= names
    assert not any(n.endswith(("-n2", "-n3")) and not n.startswith("az-") for n in names)
    assert seen["kind"] == "cut" and not seen["disable"]
    rt.az_partition("primary", "east-a", "isolate-in", False)
    names = {p.name for p, _ in seen["targets"]}
    assert "client-primary-n1" not in names  # the host's clients keep their path
    for p, streams in seen["targets"]:
        inside_client = p.client_site == "east-a"
        assert streams == (["downstream"] if inside_client else ["upstream"]), p.name


def test_mm2_writing_into_a_cluster_with_an_inter_az_wan_is_refused(tmp_path: Path) -> None:
    both = _stretch(flows=True)
    rt = ComposeRuntime(both, tmp_path)
    with pytest.raises(TopologyError, match=r"dr->primary writes to primary.*topology\.wan"):
        rt._check_wan()
    ComposeRuntime(_stretch(), tmp_path)._check_wan()  # a stretch cluster alone is fine
    # Reading it from another region crosses the XDC proxies: active-passive is fine.
    one_way = Topology("ap", both.clusters, both.flows[:1], None, both.wan)
    ComposeRuntime(one_way, tmp_path)._check_wan()
    with pytest.raises(TopologyError, match="dr->primary"):
        ComposeRuntime(one_way, tmp_path).flow_start(both.flows[1])  # a failback's reverse flow
    # A region and one of its AZs: no cluster's AZ pair, so no proxy would carry it.
    inside = Topology("x", both.clusters[:1], (), None, (WanLink("east", "east-a", 5),))
    with pytest.raises(TopologyError, match="not AZs of one multi-AZ cluster"):
        ComposeRuntime(inside, tmp_path)._check_wan()


def test_three_regions_are_refused_before_anything_starts(tmp_path: Path) -> None:
    topo = two_dc(1)
    third = Cluster("hub", "us", (Node(1, "us"),))
    three = Topology("hub", (*topo.clusters, third), topo.flows)
    with pytest.raises(TopologyError, match=r"3 regions \(east, west, us\).*--runtime local"):
        ComposeRuntime(three, tmp_path)._check_regions()
    ComposeRuntime(topo, tmp_path)._check_regions()
