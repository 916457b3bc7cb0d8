"""The stretch model (one cluster over three sites) and the site.outage fault, without Kafka."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kafkadrill.clock import ScaledClock
from kafkadrill.errors import ScenarioError
from kafkadrill.runner import run_drill
from kafkadrill.runtimes import base as rtmod
from kafkadrill.runtimes.fake import FakeRuntime
from kafkadrill.scenario import Scenario
from kafkadrill.topology import RACK_AWARE_SELECTOR

BASE: dict[str, Any] = {
    "name": "stretch",
    "description": "x",
    "duration_seconds": 30,
    "topology": {"model": "stretch"},
    "workload": {
        "producers": {"rate_per_second": 1000, "site": "east-b"},
        "consumers": [{"group": "g", "site": "east-c"}],
    },
}
SITE_LOSS = {"at": 10, "fault": "site.outage", "target": {"cluster": "primary",
             "sites": ["east-a"]}, "duration": 10}  # fmt: skip


def _sc(**over: Any) -> Scenario:
    data = json.loads(json.dumps(BASE))
    for k, v in over.items():
        if k == "topology":
            data["topology"].update(v)
        else:
            data[k] = v
    return Scenario.from_dict(data, source="stretch.yaml")


def test_stretch_is_one_rack_aware_cluster_over_three_sites() -> None:
    topo = _sc(topology={"wan": {"latency_ms": 5}}).to_topology()
    (c,) = topo.clusters
    assert c.name == "primary" and c.azs == ("east-a", "east-b", "east-c")
    assert [n.site for n in c.nodes] == ["east-a", "east-b", "east-c"]
    assert c.broker_config["replica.selector.class"] == RACK_AWARE_SELECTOR
    assert topo.flows == ()
    (t,) = c.topics
    assert t.replication_factor == 3 and t.config["min.insync.replicas"] == "2"
    # The WAN defaults apply between the sites (there is no cross-region link).
    assert sorted(w.name for w in topo.wan) == [
        "east-a<->east-b", "east-a<->east-c", "east-b<->east-c"
    ]  # fmt: skip
    assert all(w.latency_ms == 5 for w in topo.wan)


@pytest.mark.parametrize(
    ("topology", "field"),
    [
        ({"nodes": {"primary": 3, "dr": 2}}, "topology.nodes.dr"),
        ({"azs": {"dr": ["west-a", "west-b"]}}, "topology.azs.dr"),
        ({"mm2": {"sync.group.offsets.enabled": "true"}}, "topology.mm2"),
        ({"azs": {"primary": ["east-a"]}}, "topology.azs.primary"),
        ({"nodes": {"primary": 2}}, "topology.nodes.primary"),
    ],
)
def test_stretch_refuses_what_it_does_not_have(topology: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioError) as ei:
        _sc(topology=topology)
    assert field in str(ei.value)


def test_a_workload_on_dr_names_the_missing_cluster() -> None:
    bad = json.loads(json.dumps(BASE["workload"]))
    bad["producers"]["cluster"] = "dr"
    with pytest.raises(ScenarioError, match=r"workload\.producers\.cluster"):
        _sc(workload=bad)


@pytest.mark.parametrize(
    ("sites", "words"),
    [
        (["east-a", "east-b", "east-c"], "every site"),
        (["east-x"], "no site 'east-x'"),
        (["east-a", "east-a"], "twice"),
    ],
)
def test_bad_site_outage_targets(sites: list[str], words: str) -> None:
    with pytest.raises(ScenarioError, match=words):
        _sc(timeline=[{**SITE_LOSS, "target": {"cluster": "primary", "sites": sites}}])


def test_site_outage_needs_a_multi_site_cluster() -> None:
    data = {**BASE, "topology": {}, "workload": {"producers": {"rate_per_second": 1000}}}
    data["timeline"] = [SITE_LOSS]
    with pytest.raises(ScenarioError, match="multi-site"):
        Scenario.from_dict(data, source="x.yaml")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeRuntime]]:
    made: list[FakeRuntime] = []
    base = rtmod.runtime_type("fake")

    def factory(topology: Any, workdir: Path, **options: Any) -> FakeRuntime:
        made.append(FakeRuntime(topology, workdir, **options))
        return made[-1]

    monkeypatch.setitem(
        rtmod.RUNTIMES, "fake-s", dataclasses.replace(base, name="fake-s", factory=factory)
    )
    yield made


def test_site_outage_kills_the_sites_nodes_and_brings_them_back(
    tmp_path: Path, fake: list[FakeRuntime]
) -> None:
    clock = ScaledClock(200.0)
    res = run_drill(
        _sc(
            timeline=[
                {**SITE_LOSS, "target": {"cluster": "primary", "sites": ["east-a", "east-b"]}}
            ]
        ),
        runtime="fake-s",
        reports_dir=tmp_path,
        clock=clock,
        runtime_options={"clock": clock},
    )
    assert res.error is None, res.error
    (rt,) = fake
    kills = [d for _t, op, d in rt.ops if op == "node.kill"]
    starts = [d for _t, op, d in rt.ops if op == "node.start"]
    assert len(kills) == 2 and len(starts) == 2, rt.ops
    (f,) = res.report["faults"]
    assert f["verified"] is True
    # The producer sat in east-b: it stopped with its site and resumed at the heal.
    events = [json.loads(x) for x in (res.run_dir / "history.jsonl").read_text().splitlines()]
    inject = next(e for e in events if e["type"] == "fault.inject")
    heal = next(e for e in events if e["type"] == "fault.heal")
    during = [
        e for e in events if e["type"] == "send.invoke" and inject["t"] + 0.5 < e["t"] < heal["t"]
    ]
    assert not during
    assert any(e["type"] == "send.invoke" and e["t"] > heal["t"] for e in events)
