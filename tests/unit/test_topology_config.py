"""Pure rendering of server.properties / mm2.properties / hosts files, and port plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkadrill.runtimes.shared import config as cfg
from kafkadrill.runtimes.shared.ports import BLOCK, FIRST_BASE, LAST_BASE, allocate, plan_ports
from kafkadrill.topology import DEFAULT_PRIMARY_AZS, Flow, two_dc


def _props(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out[k] = v
    return out


def test_port_plan_is_disjoint_and_inside_one_block() -> None:
    topo = two_dc(3)
    plan = plan_ports(topo, 20400)
    ports = plan.all_ports()
    assert len(ports) == len(set(ports)), "two listeners share a port"
    assert all(20400 <= p < 20400 + BLOCK for p in ports)
    assert plan.toxiproxy_api == 20400 + BLOCK - 1


def test_port_blocks_stay_below_the_ephemeral_range() -> None:
    assert LAST_BASE + BLOCK <= 32768
    assert FIRST_BASE >= 1024


def test_two_topologies_get_different_blocks() -> None:
    topo = two_dc(1)
    a = allocate(topo)
    try:
        b = allocate(topo)
        try:
            assert set(a.plan.all_ports()).isdisjoint(b.plan.all_ports())
        finally:
            b.close()
    finally:
        a.close()


def test_server_properties_listeners_and_overrides() -> None:
    topo = two_dc(3, broker_config={"num.io.threads": "7", "min.insync.replicas": "2"})
    plan = plan_ports(topo, 21000)
    primary = topo.cluster("primary")
    node = primary.nodes[1]
    p = _props(cfg.render_server_properties(topo, primary, node, plan, "/data/x"))
    ports = plan.node("primary", node.node_id)
    assert p["node.id"] == "2"
    assert p["process.roles"] == "broker,controller"
    # Cross-site clients are sent to the proxy, never straight to the broker.
    assert f"XDC://127.0.0.1:{ports.xdc_proxy}" in p["advertised.listeners"]
    assert f"XDC://127.0.0.1:{ports.xdc}" in p["listeners"]
    assert f"INTERNAL://n2.primary.kd:{ports.internal}" in p["advertised.listeners"]
    # KRaft followers dial the leader's advertised controller endpoint: it must be the name
    # that resolves to the per-pair proxy, not the bind address.
    assert f"CONTROLLER://n2.primary.kd:{ports.controller}" in p["advertised.listeners"]
    assert p["controller.quorum.voters"].count("@") == 3
    assert "1@n1.primary.kd:" in p["controller.quorum.voters"]
    assert p["offsets.topic.replication.factor"] == "3"
    assert p["num.io.threads"] == "7"  # scenario override wins over the defaults
    assert p["min.insync.replicas"] == "2"
    assert p["log.dirs"] == "/data/x"


def test_single_node_cluster_uses_rf_1_for_internal_topics() -> None:
    topo = two_dc(1)
    plan = plan_ports(topo, 21000)
    c = topo.cluster("dr")
    p = _props(cfg.render_server_properties(topo, c, c.nodes[0], plan, "/d"))
    assert p["offsets.topic.replication.factor"] == "1"
    assert p["transaction.state.log.min.isr"] == "1"


def test_hosts_file_gives_each_pair_its_own_address_in_a_multi_az_cluster() -> None:
    topo = two_dc(3, primary_azs=DEFAULT_PRIMARY_AZS)
    c = topo.cluster("primary")
    assert c.multi_az
    hosts = cfg.render_hosts_file(c, c.nodes[0], mesh=True)
    assert "127.0.0.1 n1.primary.kd" in hosts
    assert "127.77.1.2 n2.primary.kd" in hosts
    assert "127.77.1.3 n3.primary.kd" in hosts
    flat = cfg.render_hosts_file(c, c.nodes[0], mesh=False)
    assert "127.77." not in flat


def test_mm2_properties_avoid_the_known_traps() -> None:
    topo = two_dc(3, mm2={"offset.lag.max": "10"})
    plan = plan_ports(topo, 21000)
    flow = topo.flows[0]
    text = cfg.render_mm2_properties(topo, (flow,), plan, "west")
    p = _props(text)
    assert p["clusters"] == "primary,dr"
    assert p["primary->dr.enabled"] == "true"
    assert p["dr->primary.enabled"] == "false"
    assert p["offset-syncs.topic.location"] == "target"
    assert p["dr.offset.flush.interval.ms"] == "5000"  # worker setting needs the prefix
    # Both herders (primary->dr on dr, dr->primary on primary) reassign a rejoined worker's
    # connectors at once: Connect's 5-minute default stalled heartbeats after a link cut.
    assert p["dr.scheduled.rebalance.max.delay.ms"] == "0"
    assert p["primary.scheduled.rebalance.max.delay.ms"] == "0"
    assert p["offset.lag.max"] == "10"
    # MM2 runs in west: primary (east) is reached only through its XDC proxies.
    xdc = [str(plan.node("primary", n.node_id).xdc_proxy) for n in topo.cluster("primary").nodes]
    assert all(port in p["primary.bootstrap.servers"] for port in xdc)
    client = [str(plan.node("dr", n.node_id).client) for n in topo.cluster("dr").nodes]
    assert all(port in p["dr.bootstrap.servers"] for port in client)


def test_reverse_flow_runs_in_the_other_region() -> None:
    topo = two_dc(1)
    plan = plan_ports(topo, 21000)
    text = cfg.render_mm2_properties(topo, (Flow("dr", "primary"),), plan, "east")
    p = _props(text)
    assert p["dr->primary.enabled"] == "true"
    assert p["primary->dr.enabled"] == "false"
    assert str(plan.node("dr", 1).xdc_proxy) in p["dr.bootstrap.servers"]


def test_properties_values_keep_hash_characters() -> None:
    # In .properties '#' starts a comment only at line start: values are written verbatim.
    assert cfg.render_properties({"a": "x#y"}) == "a=x#y\n"


@pytest.mark.parametrize("version,log4j2", [("4.3.1", True), ("3.9.1", False)])
def test_pom_has_the_right_logging_binding(version: str, log4j2: bool) -> None:
    from kafkadrill.runtimes.shared.provision import render_pom

    pom = render_pom(version)
    assert f"<kafka.version>{version}</kafka.version>" in pom
    assert ("log4j-slf4j-impl" in pom) == log4j2
    assert "connect-mirror" in pom


def test_missing_tool_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from kafkadrill.errors import ProvisionError
    from kafkadrill.runtimes.shared import provision

    monkeypatch.setattr(provision.shutil, "which", lambda _name: None)
    with pytest.raises(ProvisionError, match="apt-get install maven"):
        provision.require_tool("mvn", "to fetch jars", "apt-get install maven")


def test_bad_kafka_version_is_rejected_before_maven(monkeypatch: pytest.MonkeyPatch) -> None:
    from kafkadrill.errors import ProvisionError
    from kafkadrill.runtimes.shared import provision

    monkeypatch.delenv("KAFKA_HOME", raising=False)
    with pytest.raises(ProvisionError, match=r"X\.Y\.Z"):
        provision.ensure_kafka("latest")


def test_cluster_ids_never_look_like_options() -> None:
    from kafkadrill.runtimes.local.runtime import new_cluster_id

    ids = [new_cluster_id() for _ in range(3000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)


def test_kafka_home_is_used_when_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kafkadrill.runtimes.shared import provision

    libs = tmp_path / "libs"
    libs.mkdir()
    for jar in ("kafka_2.13-3.9.1.jar", "kafka_2.13-3.9.1-test.jar", "connect-mirror-3.9.1.jar"):
        (libs / jar).write_bytes(b"")
    monkeypatch.setenv("KAFKA_HOME", str(tmp_path))
    dist = provision.ensure_kafka()
    assert (dist.version, dist.source, dist.libs) == ("3.9.1", "KAFKA_HOME", libs)
    assert dist.classpath == f"{libs}/*"


def test_kafka_home_without_mirrormaker_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kafkadrill.errors import ProvisionError
    from kafkadrill.runtimes.shared import provision

    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "kafka_2.13-4.3.1.jar").write_bytes(b"")
    monkeypatch.setenv("KAFKA_HOME", str(tmp_path))
    with pytest.raises(ProvisionError, match="connect-mirror"):
        provision.ensure_kafka()


def test_clients_of_a_multi_az_cluster_go_through_per_node_proxies() -> None:
    topo = two_dc(3, primary_azs=DEFAULT_PRIMARY_AZS)
    plan = plan_ports(topo, 21000)
    primary, dr = topo.cluster("primary"), topo.cluster("dr")
    p = _props(cfg.render_server_properties(topo, primary, primary.nodes[2], plan, "/d"))
    port = plan.node("primary", 3).client
    assert f"CLIENT://127.78.0.3:{port}" in p["advertised.listeners"]
    assert f"CLIENT://127.0.0.1:{port}" in p["listeners"]  # the proxy forwards here
    assert cfg.client_bootstrap(primary, plan).startswith("127.78.0.1:")
    assert cfg.client_bootstrap(dr, plan).startswith("127.0.0.1:")  # single AZ: direct
