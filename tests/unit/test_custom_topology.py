"""Free cluster names, several flows with their own MM2 settings, union consumers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kafkadrill.checkers import run_checkers
from kafkadrill.errors import ScenarioError
from kafkadrill.history import load_frames
from kafkadrill.runtimes.shared.config import (
    mm2_args,
    mm2_clusters,
    render_mm2_properties,
    render_server_properties,
    xdc_bootstrap,
)
from kafkadrill.runtimes.shared.ports import plan_ports
from kafkadrill.scenario import Scenario, load_scenario, located_problems
from kafkadrill.scenario.scope import scope_scenario
from kafkadrill.topology import subscribed

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "scenarios" / "hub-and-spoke.yaml"


def _hub(**topology: Any) -> dict[str, Any]:
    topo: dict[str, Any] = {
        "clusters": [
            {"name": "tokyo", "region": "apac", "nodes": 1},
            {"name": "paris", "region": "emea", "nodes": 1},
            {"name": "hub", "region": "us", "nodes": 1},
        ],
        "flows": [{"source": "tokyo", "target": "hub"}, {"source": "paris", "target": "hub"}],
        "topics": [{"name": "orders", "replication_factor": 1}],
    }
    topo.update(topology)
    return {
        "name": "hub",
        "duration_seconds": 20,
        "topology": topo,
        "workload": {
            "producers": [{"cluster": "tokyo"}, {"cluster": "paris"}],
            "consumers": [{"group": "a", "cluster": "hub", "pattern": r"(tokyo|paris)\.orders"}],
        },
    }


def _fields(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data, source="s.yaml")
    return [p.field for p in located_problems(err.value)]


def test_hub_and_spoke_builds_three_clusters_and_per_flow_settings() -> None:
    s = load_scenario(HUB)
    topo = s.to_topology()
    assert s.topology.model == "custom"
    assert [(c.name, c.region) for c in topo.clusters] == [
        ("tokyo", "apac"), ("paris", "emea"), ("hub", "us")
    ]  # fmt: skip
    # Topics go where producers write; the hub only receives copies.
    assert {c.name: [t.name for t in c.topics] for c in topo.clusters} == {
        "tokyo": ["orders"], "paris": ["orders"], "hub": []
    }  # fmt: skip
    flows = {f.name: f.properties for f in topo.flows}
    assert flows["tokyo->hub"] == {"sync.topic.configs.interval.seconds": "10"}
    assert flows["paris->hub"] == {"sync.topic.configs.enabled": "false"}
    # Clients default to their cluster's region.
    assert [p.site for p in s.workload.producer_groups()] == ["apac", "emea"]
    assert s.workload.consumers[0].site == "us"


def test_topology_mm2_is_the_base_of_every_flow() -> None:
    data = _hub(mm2={"tasks.max": "1", "emit.checkpoints.interval.seconds": "9"})
    data["topology"]["flows"][0]["mm2"] = {"tasks.max": "4"}
    topo = Scenario.from_dict(data).to_topology()
    assert topo.flows[0].properties == {"tasks.max": "4", "emit.checkpoints.interval.seconds": "9"}
    assert topo.flows[1].properties["tasks.max"] == "1"


def test_defaults_resolve_to_the_first_cluster() -> None:
    data = _hub()
    data["workload"] = {}
    s = Scenario.from_dict(data)
    assert (s.workload.producers.cluster, s.workload.producers.site) == ("tokyo", "apac")
    # Built-in models keep their names.
    s = Scenario.from_dict({"name": "ap", "runbooks": {"failover": {"trigger": {"at": 1}}}})
    fo = s.runbooks.failover
    assert fo is not None and (fo.from_cluster, fo.to_cluster) == ("primary", "dr")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"flows": [{"source": "tokio", "target": "hub"}]}, "topology.flows[0].source"),
        ({"flows": [{"source": "hub", "target": "hub"}]}, "topology.flows[0].target"),
        ({"model": "active-passive"}, "topology.model"),
        ({"nodes": {"primary": 1, "dr": 1}}, "topology.nodes"),
        ({"topics": [{"name": "orders", "replication_factor": 3}]},
         "topology.topics[0].replication_factor"),
        ({"topics": [{"name": "orders", "replication_factor": 1, "clusters": ["rome"]}]},
         "topology.topics[0].clusters"),
    ],
)  # fmt: skip
def test_bad_custom_topologies_name_the_field(change: dict[str, Any], field: str) -> None:
    assert field in _fields(_hub(**change))


def test_cluster_names_cannot_hold_dots() -> None:
    data = _hub()
    data["topology"]["clusters"][0]["name"] = "to.kyo"
    assert any(f.startswith("topology.clusters[0].name") for f in _fields(data))


def test_union_subscriptions_must_match_topics_of_their_cluster() -> None:
    data = _hub()
    data["workload"]["consumers"][0]["pattern"] = r"(tokyo|rome)\.ordrs"
    assert "workload.consumers[0].pattern" in _fields(data)
    data["workload"]["consumers"][0].pop("pattern")
    data["workload"]["consumers"][0]["topics"] = ["tokyo.orders", "rome.orders"]
    assert "workload.consumers[0].topics" in _fields(data)
    data["workload"]["consumers"][0]["pattern"] = "x"
    assert any(f.startswith("workload.consumers[0]") for f in _fields(data))


def test_a_pattern_matches_whole_names_only() -> None:
    s = load_scenario(HUB)
    sub = s.workload.consumers[0].subscription()
    assert subscribed(sub, "tokyo.orders") and subscribed(sub, "paris.orders")
    assert not subscribed(sub, "tokyo.orders2") and not subscribed(sub, "orders")


def test_run_scoping_renames_topics_inside_subscriptions() -> None:
    s = load_scenario(HUB)
    scoped, topics, _groups = scope_scenario(s, "kd", "r1")
    assert topics["orders"] == "kd-r1-orders"
    sub = scoped.workload.consumers[0].subscription()
    assert subscribed(sub, "paris.kd-r1-orders") and not subscribed(sub, "paris.orders")


def test_a_failover_needs_somewhere_to_go() -> None:
    data = {
        "name": "st",
        "topology": {"model": "stretch"},
        "runbooks": {"failover": {"trigger": {"at": 1}, "translate_offsets": False}},
    }
    assert "runbooks.failover.to" in _fields(data)


# -- MirrorMaker 2 processes and cross-region listeners ---------------------------------------


def test_each_mm2_process_knows_only_its_flows_clusters() -> None:
    topo = load_scenario(HUB).to_topology()
    plan = plan_ports(topo, 20000)
    tokyo_flow, paris_flow = topo.flows
    assert [c.name for c in mm2_clusters(topo, (paris_flow,))] == ["paris", "hub"]
    props = render_mm2_properties(topo, (paris_flow,), plan, "us")
    assert "clusters=paris,hub" in props.replace(" ", "")
    assert "tokyo" not in props  # no herder of tokyo's pairs: no shared Connect group
    # No reverse flow: the process also runs hub->paris, which emits the heartbeats that
    # paris.heartbeats on the hub copies.
    assert mm2_args(topo, tokyo_flow) == []


def test_three_regions_give_each_remote_region_its_own_listener_and_proxies() -> None:
    topo = load_scenario(HUB).to_topology()
    plan = plan_ports(topo, 20000)
    hub = topo.cluster("hub")
    props = render_server_properties(topo, hub, hub.nodes[0], plan, "/tmp/x")
    ports = plan.node("hub", 1)
    assert f"XDC2://127.0.0.1:{ports.xdc2_proxy}" in props
    assert xdc_bootstrap(hub, plan, topo, "apac") == f"127.0.0.1:{ports.xdc_proxy}"
    assert xdc_bootstrap(hub, plan, topo, "emea") == f"127.0.0.1:{ports.xdc2_proxy}"
    assert len(set(plan.all_ports())) == len(plan.all_ports())


# -- the union view, judged ---------------------------------------------------------------------


class H:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, type_: str, t: float, **f: Any) -> H:
        self.events.append({"seq": len(self.events), "t": t, "wall": 1e9 + t, "type": type_, **f})
        return self

    def send(self, p: str, seq: int, cluster: str) -> H:
        base = {"producer": p, "id": f"{p}:{seq}", "cluster": cluster, "topic": "orders"}
        self.add("send.invoke", 1.0, **base, key=None, size=100)
        return self.add("send.ok", 1.01, **base, partition=0, offset=seq, ts=1_000 + seq)

    def recv(self, p: str, seq: int, cluster: str, topic: str, *, group: str | None) -> H:
        origin = "tokyo" if p == "p0" else "paris"
        hdr = {"kd-id": f"{p}:{seq}", "kd-origin-cluster": origin, "kd-origin-site": "x"}
        return self.add("recv", 20.0 if group is None else 5.0, reader=group or "final",
                        group=group, final=group is None, cluster=cluster, topic=topic,
                        partition=0, offset=seq, ts=1_000 + seq, id=f"{p}:{seq}",
                        hdr=hdr)  # fmt: skip


def _union_history(union_skips: int, hub_skips: int) -> list[dict[str, Any]]:
    h = H()
    for i in range(4):
        h.send("p0", i, "tokyo").send("p1", i, "paris")
    for i in range(4 - union_skips):
        h.recv("p0", i, "hub", "tokyo.orders", group="analytics")
    for i in range(4):
        h.recv("p1", i, "hub", "paris.orders", group="analytics")
    topics = {"tokyo": ["orders"], "paris": ["orders"], "hub": ["tokyo.orders", "paris.orders"]}
    h.add("final_read.start", 19.0, clusters=["tokyo", "paris", "hub"], authoritative="tokyo",
          topics=topics,
          authoritative_for={"tokyo": "tokyo", "paris": "paris"}, aggregates=["hub"],
          union_groups={"analytics": "hub"})  # fmt: skip
    for i in range(4):
        h.recv("p0", i, "tokyo", "orders", group=None).recv("p1", i, "paris", "orders", group=None)
        h.recv("p1", i, "hub", "paris.orders", group=None)
    for i in range(4 - hub_skips):
        h.recv("p0", i, "hub", "tokyo.orders", group=None)
    for c in ("tokyo", "paris", "hub"):
        h.add("final_read.end", 21.0, cluster=c, records=0, complete=True)
    return h.events


def test_a_complete_union_view_passes() -> None:
    agg = run_checkers(load_frames(_union_history(0, 0)))["aggregation"]
    assert agg.status == "PASS", agg.figures
    assert agg.figures["union_groups"]["analytics"] == {
        "cluster": "hub", "acked": 8, "received": 8, "missing": 0, "missing_held": 0
    }  # fmt: skip


def test_a_union_group_that_missed_what_its_cluster_held_fails() -> None:
    agg = run_checkers(load_frames(_union_history(1, 0)))["aggregation"]
    assert agg.status == "FAIL"
    assert agg.figures["union_groups"]["analytics"]["missing"] == 1
    assert agg.figures["union_groups"]["analytics"]["missing_held"] == 1
    assert agg.figures["missing"] == 0  # the hub held it: replication was complete


def test_missing_that_was_never_replicated_is_told_apart() -> None:
    agg = run_checkers(load_frames(_union_history(1, 1)))["aggregation"]
    assert agg.status == "FAIL"
    u = agg.figures["union_groups"]["analytics"]
    assert (u["missing"], u["missing_held"]) == (1, 0)
    assert agg.figures["pairs"]["tokyo->hub"]["missing"] == 1


# -- findings -------------------------------------------------------------------------------


def test_findings_name_an_incomplete_union_view_and_a_writer_left_without_service() -> None:
    from kafkadrill.checkers.findings import derive_findings

    report: dict[str, Any] = {
        "rpo": {},
        "rto": {
            "write_unavailable_seconds": 0.1,
            "write_unavailable_worst_writer_seconds": 29.4,
            "write_unavailable_per_producer": {
                "p0": {"clusters": ["tokyo"], "seconds": 0.1},
                "p1": {"clusters": ["paris"], "seconds": 29.4},
            },
        },
        "checkers": {
            "aggregation": {
                "status": "FAIL",
                "figures": {
                    "pairs": {"paris->hub": {"acked": 10, "missing": 2}},
                    "union_groups": {
                        "analytics": {"cluster": "hub", "acked": 20, "received": 17,
                                      "missing": 3, "missing_held": 1},
                    },
                },
            }
        },
    }  # fmt: skip
    texts = [f["text"] for f in derive_findings(report)]
    assert any("2 of 10" in t and "paris never reached hub" in t for t in texts), texts
    assert any("Union consumer analytics on hub missed 3 of 20" in t for t in texts), texts
    assert any("producer p1 (writing to paris) went 29.4" in t for t in texts), texts


def test_the_runner_drills_a_hub_and_spoke_on_the_fake_runtime(tmp_path: Path) -> None:
    """End to end without Kafka: both spokes write, the hub is the aggregate, the union
    group's subscription is honoured and judged."""
    import json

    from kafkadrill.clock import ScaledClock
    from kafkadrill.runner import run_drill

    clock = ScaledClock(200.0)
    res = run_drill(
        load_scenario(HUB),
        runtime="fake",
        reports_dir=tmp_path,
        clock=clock,
        runtime_options={"clock": clock},
    )
    assert res.error is None, res.error
    events = [json.loads(x) for x in (res.run_dir / "history.jsonl").read_text().splitlines()]
    start = next(e for e in events if e["type"] == "final_read.start")
    assert start["authoritative_for"] == {"paris": "paris", "tokyo": "tokyo"}
    assert start["aggregates"] == ["hub"] and start["union_groups"] == {"analytics": "hub"}
    read_by_union = {e["topic"] for e in events if e["type"] == "recv" and not e["final"]}
    assert read_by_union == {"tokyo.orders", "paris.orders"}
    agg = res.report["checkers"]["aggregation"]
    assert agg["status"] == "PASS", agg
    assert agg["figures"]["union_groups"]["analytics"]["received"] > 0


def test_a_union_group_moved_by_a_failover_is_judged_where_it_ended() -> None:
    events = _union_history(1, 0)
    # The group was redirected to paris, which holds no copy of tokyo's missing write.
    events.insert(
        len(events) - 3,
        {"seq": 0, "t": 10.0, "wall": 1e9 + 10, "type": "redirect", "client": "analytics-0",
         "role": "consumer", "group": "analytics", "from_cluster": "hub", "to_cluster": "paris"},
    )  # fmt: skip
    for i, e in enumerate(events):
        e["seq"] = i
    u = run_checkers(load_frames(events))["aggregation"].figures["union_groups"]["analytics"]
    assert u["cluster"] == "paris"
    assert (u["missing"], u["missing_held"]) == (1, 0)


def test_a_writers_clusters_are_listed_in_the_order_it_first_wrote_to_them() -> None:
    import pandas as pd

    from kafkadrill.checkers.recovery import _first_seen

    col = pd.Series(
        pd.Categorical(["dr", "primary", "dr", None, "west"], categories=["primary", "west", "dr"])
    )
    assert _first_seen(col) == ["dr", "primary", "nan", "west"]
    assert _first_seen(col) == [str(c) for c in dict.fromkeys(col.astype(str))]
    assert _first_seen(col.iloc[:0]) == []
