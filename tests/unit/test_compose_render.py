"""The compose renderer (pure) and the top-level docker-compose.yml it generates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kafkadrill.runtimes.compose import render as cr
from kafkadrill.runtimes.shared.config import broker_defaults
from kafkadrill.runtimes.shared.provision import DEFAULT_KAFKA_VERSION
from kafkadrill.topology import DEFAULT_PRIMARY_AZS, Flow, Topology, WanLink, two_dc

ROOT = Path(__file__).resolve().parents[2]


def _opts(**kw: object) -> cr.ComposeOptions:
    base: dict[str, object] = {
        "project": "kd-test",
        "run_id": "run-1",
        "kafka_image": "k:1",
        "toxiproxy_image": "t:1",
        "host_base": 24000,
        "runner_pid": 4242,
        "runner_start": 1700000000.5,
    }
    base.update(kw)
    return cr.ComposeOptions(**base)  # type: ignore[arg-type]


def _props(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out[k] = v
    return out


def test_top_level_compose_file_is_the_rendered_default() -> None:
    on_disk = (ROOT / "docker-compose.yml").read_text()
    rendered = cr.playground_yaml(DEFAULT_KAFKA_VERSION)
    assert on_disk == rendered, (
        "docker-compose.yml drifted from the renderer: regenerate it with "
        "`python3 -m kafkadrill.runtimes.compose.render > docker-compose.yml`"
    )


def test_playground_lets_users_create_topics_on_first_use() -> None:
    project = yaml.safe_load(cr.playground_yaml(DEFAULT_KAFKA_VERSION))
    for name, conf in project["configs"].items():
        if name.endswith("-server-properties"):
            assert _props(conf["content"])["auto.create.topics.enable"] == "true"


@pytest.mark.parametrize("nodes", [1, 2, 3, 5, 9])
def test_any_cluster_size_renders_services_volumes_and_unique_ports(nodes: int) -> None:
    topo = two_dc(nodes)
    project = cr.render(topo, _opts())
    services = project["services"]
    assert {f"primary-n{i}" for i in range(1, nodes + 1)} <= set(services)
    assert {f"dr-n{i}" for i in range(1, nodes + 1)} <= set(services)
    assert "mm2-primary-dr" in services and "toxiproxy" in services
    host_ports = [p for s in services.values() for p in s.get("ports", [])]
    assert all(p.startswith("127.0.0.1:") for p in host_ports)
    published = [p.split(":")[1] for p in host_ports]
    assert len(published) == len(set(published))
    assert all(24000 <= int(p) < 24200 for p in published)
    voters = _props(project["configs"]["primary-n1-server-properties"]["content"])
    assert voters["controller.quorum.voters"].count("@") == nodes


def test_every_container_network_and_volume_is_labelled_with_run_and_runner() -> None:
    project = cr.render(two_dc(3, primary_azs=DEFAULT_PRIMARY_AZS), _opts())
    things = [
        *project["services"].values(),
        *project["networks"].values(),
        *project["volumes"].values(),
    ]
    for thing in things:
        labels = thing["labels"]
        assert labels[cr.LABEL_RUN] == "run-1"
        assert labels[cr.LABEL_RUNNER_PID] == "4242"
        assert labels[cr.LABEL_RUNNER_START] == "1700000000.50"


def test_one_network_per_site_and_nodes_only_on_their_own() -> None:
    topo = two_dc(3, primary_azs=DEFAULT_PRIMARY_AZS)
    project = cr.render(topo, _opts())
    nets = set(project["networks"])
    assert nets == {cr.site_network(s) for s in ("east", "west", *DEFAULT_PRIMARY_AZS)}
    n1 = project["services"]["primary-n1"]["networks"]
    assert set(n1) == {"site-east", "site-east-a"}
    assert set(project["services"]["dr-n1"]["networks"]) == {"site-west"}
    # MM2 lives in the target's region and can reach primary only through Toxiproxy.
    assert project["services"]["mm2-primary-dr"]["networks"] == ["site-west"]
    tp = project["services"]["toxiproxy"]["networks"]
    assert set(tp) == {"site-east", "site-west"}


def test_nodes_run_the_local_runtime_broker_settings() -> None:
    topo = two_dc(3, broker_config={"min.insync.replicas": "2", "num.io.threads": "3"})
    project = cr.render(topo, _opts())
    props = _props(project["configs"]["primary-n2-server-properties"]["content"])
    for key, value in broker_defaults(topo.cluster("primary")).items():
        if key != "num.io.threads":
            assert props[key] == value, key
    assert props["num.io.threads"] == "3" and props["min.insync.replicas"] == "2"
    assert props["process.roles"] == "broker,controller"
    assert props["broker.rack"] == "east"
    adv = dict(item.split("://") for item in props["advertised.listeners"].split(","))
    assert adv["HOST"].startswith("127.0.0.1:")
    assert adv["XDC"].startswith(f"{cr.TOXIPROXY_HOST}:")
    assert adv["INTERNAL"] == "n2.primary.kd:9094"


def test_mm2_reads_remote_clusters_through_the_xdc_proxies() -> None:
    topo = two_dc(3)
    props = _props(cr.mm2_properties(topo, topo.flows[0]))
    assert props["primary.bootstrap.servers"].startswith(f"{cr.TOXIPROXY_HOST}:")
    assert props["dr.bootstrap.servers"].startswith("n1.dr.kd:")
    assert props["primary->dr.enabled"] == "true" and props["dr->primary.enabled"] == "false"
    assert props["offset-syncs.topic.location"] == "target"


def test_every_cross_region_path_has_a_proxy_whose_upstream_is_that_node() -> None:
    topo = two_dc(4, 2)
    proxies = cr.proxies(topo, 24000)
    config = yaml.safe_load(cr.toxiproxy_config(topo, 24000))
    assert len(config) == len(proxies) == 2 * (4 + 2)
    for p in proxies:
        kind, cluster, node = p.name.split("-")
        host = f"{node}.{cluster}.kd"
        assert p.upstream.startswith(host + ":")
        assert p.server_site == topo.cluster(cluster).region
        assert p.client_site != p.server_site
        assert p.published == (kind == "hostx")


def test_extra_flows_render_their_own_mm2_service() -> None:
    topo = two_dc(3)
    reverse = Flow("dr", "primary")
    project = cr.render(topo, _opts(flows=(*topo.flows, reverse)))
    assert project["services"]["mm2-dr-primary"]["networks"] == ["site-east"]


def test_dollar_signs_are_escaped_for_compose_interpolation() -> None:
    topo = two_dc(1)
    project = cr.render(topo, _opts())
    script = project["configs"]["node-sh"]["content"]
    assert "$$KD_CLUSTER_ID" in script and "$KD_CLUSTER_ID" not in script.replace("$$", "")


def test_ids_are_stable_and_never_start_with_a_dash() -> None:
    assert cr.stable_id("a", "b") == cr.stable_id("a", "b")
    assert all(not cr.stable_id("p", str(i)).startswith("-") for i in range(500))
    assert len(cr.stable_id("x")) == 22


def test_remote_topic_follows_the_replication_policy() -> None:
    assert cr.remote_topic(Flow("primary", "dr"), "orders") == "primary.orders"
    identity = Flow(
        "primary",
        "dr",
        {"replication.policy.class": "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"},
    )
    assert cr.remote_topic(identity, "orders") == "orders"


def test_three_clusters_fit_the_port_block() -> None:
    base = two_dc(9)
    third = base.clusters[1].__class__("audit", "north", base.clusters[1].nodes)
    topo = Topology("t3", (*base.clusters, third), base.flows)
    ports, api = cr.host_ports(topo, 30000)
    values = [p.host for p in ports.values()] + [p.hostx for p in ports.values()] + [api]
    assert len(values) == len(set(values)) and max(values) < 30200


def test_multi_az_host_clients_cross_a_proxy_on_the_region_network() -> None:
    topo = two_dc(3, primary_azs=DEFAULT_PRIMARY_AZS)
    project = cr.render(topo, _opts())
    ports, _ = cr.host_ports(topo, 24000)
    assert project["services"]["primary-n1"]["ports"] == []  # never published by the node
    tp_ports = project["services"]["toxiproxy"]["ports"]
    host = ports[("primary", 1)].host
    assert f"127.0.0.1:{host}:{host}" in tp_ports
    clients = [p for p in cr.proxies(topo, 24000) if p.name.startswith("client-primary-")]
    assert [p.server_site for p in clients] == list(DEFAULT_PRIMARY_AZS)
    # dr is single-AZ: its nodes publish their HOST listener themselves.
    assert project["services"]["dr-n1"]["ports"] == [f"127.0.0.1:{ports[('dr', 1)].host}:9096"]


def test_containers_never_forward_dns_beyond_themselves() -> None:
    project = cr.render(two_dc(3), _opts())
    for name, svc in project["services"].items():
        assert svc["dns"] == ["127.0.0.1"], name


def _stretch(latency_ms: float = 5.0) -> Topology:
    """One cluster over three AZs with a WAN between every pair of them (the stretch model)."""
    topo = two_dc(3, 1, primary_azs=DEFAULT_PRIMARY_AZS)
    primary = topo.cluster("primary")
    wan = tuple(
        WanLink(a, b, latency_ms) for i, a in enumerate(primary.azs) for b in primary.azs[i + 1 :]
    )
    return Topology("stretch", (primary,), (), None, wan)


def test_an_inter_az_wan_puts_every_node_path_between_azs_behind_a_proxy() -> None:
    topo = _stretch()
    primary = topo.cluster("primary")
    assert cr.az_wan(topo, primary)
    project = cr.render(topo, _opts())
    aliases = {f"n{n.node_id}.primary.kd": n.site for n in primary.nodes}
    tp_nets = project["services"]["toxiproxy"]["networks"]
    for n in primary.nodes:
        svc = project["services"][f"primary-n{n.node_id}"]
        # Only its AZ's network: a shared region network would bypass the proxies.
        assert svc["networks"] == {
            cr.site_network(n.site): {"aliases": [f"n{n.node_id}.primary.kd"]}
        }
        # On that network Toxiproxy answers exactly the other AZs' node names.
        answered = set(tp_nets[cr.site_network(n.site)]["aliases"])
        assert answered == {a for a, site in aliases.items() if site != n.site}
    pairs = cr.az_proxies(topo)
    # one per (client AZ, node of another AZ, listener): 3 nodes x 2 other AZs x 2 listeners
    assert len(pairs) == 12 and len({p.name for p in pairs}) == 12
    seen = set()
    for p in pairs:
        assert p.client_site != p.server_site and p.network == cr.site_network(p.client_site)
        node = int(p.upstream.split(":")[0].rsplit("-n", 1)[1])
        assert primary.node(node).site == p.server_site
        assert p.upstream == f"primary-n{node}:{p.port}"  # the service name, not the alias
        seen.add((p.network, p.port))
    assert len(seen) == 12, "two paths share a Toxiproxy address"


def test_an_inter_az_wan_gives_each_node_its_own_broker_and_controller_ports() -> None:
    topo = _stretch()
    project = cr.render(topo, _opts())
    ports = set()
    for n in topo.cluster("primary").nodes:
        props = _props(project["configs"][f"primary-n{n.node_id}-server-properties"]["content"])
        adv = dict(item.split("://") for item in props["advertised.listeners"].split(","))
        lis = dict(item.split("://") for item in props["listeners"].split(","))
        for name in ("INTERNAL", "CONTROLLER"):
            port = int(adv[name].rsplit(":", 1)[1])
            assert lis[name] == f"0.0.0.0:{port}"
            ports.add(port)
        voters = props["controller.quorum.voters"].split(",")
        assert (
            f"{n.node_id}@n{n.node_id}.primary.kd:{adv['CONTROLLER'].rsplit(':', 1)[1]}" in voters
        )
    assert len(ports) == 6
    # Without a WAN between its AZs a multi-AZ cluster keeps the shared ports and region net.
    plain = two_dc(3, primary_azs=DEFAULT_PRIMARY_AZS)
    assert not cr.az_wan(plain, plain.cluster("primary")) and cr.az_proxies(plain) == []
