"""Active-active: producer groups, MM2 both ways, per-origin loss, cycles and aggregation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kafkadrill.checkers import run_checkers
from kafkadrill.checkers.cycles import prefixes
from kafkadrill.errors import ScenarioError
from kafkadrill.history import load_frames
from kafkadrill.runtimes.shared.config import mm2_args, render_mm2_properties
from kafkadrill.runtimes.shared.ports import allocate
from kafkadrill.scenario import Scenario
from kafkadrill.topology import two_dc

ROOT = Path(__file__).resolve().parents[2]


class H:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, type_: str, t: float, **f: Any) -> H:
        self.events.append({"seq": len(self.events), "t": t, "wall": 1e9 + t, "type": type_, **f})
        return self

    def send(self, p: str, seq: int, cluster: str, t: float = 1.0) -> H:
        base = {"producer": p, "id": f"{p}:{seq}", "cluster": cluster, "topic": "orders"}
        self.add("send.invoke", t, **base, key=None, size=100)
        return self.add("send.ok", t + 0.01, **base, partition=0, offset=seq, ts=1_000 + seq)

    def read(self, p: str, seq: int, cluster: str, topic: str, offset: int) -> H:
        origin = "primary" if p == "p0" else "dr"
        hdr = {"kd-id": f"{p}:{seq}", "kd-origin-cluster": origin, "kd-origin-site": "x"}
        return self.add("recv", 20.0, reader="final", group=None, final=True, cluster=cluster,
                        topic=topic, partition=0, offset=offset, ts=1_000 + seq,
                        id=f"{p}:{seq}", hdr=hdr)  # fmt: skip

    def final(self, topics: dict[str, list[str]], **extra: Any) -> H:
        return self.add("final_read.start", 19.0, clusters=["primary", "dr"],
                        authoritative="primary", topics=topics, **extra)  # fmt: skip

    def end(self) -> H:
        self.add("final_read.end", 21.0, cluster="primary", records=0, complete=True)
        return self.add("final_read.end", 21.0, cluster="dr", records=0, complete=True)


AA = {"authoritative_for": {"primary": "primary", "dr": "dr"}, "aggregates": ["primary", "dr"]}
TOPICS = {"primary": ["orders", "dr.orders"], "dr": ["orders", "primary.orders"]}


def _complete_history() -> H:
    h = H()
    for i in range(3):
        h.send("p0", i, "primary").send("p1", i, "dr")
    h.final(TOPICS, **AA)
    for i in range(3):
        h.read("p0", i, "primary", "orders", i).read("p1", i, "primary", "dr.orders", i)
        h.read("p1", i, "dr", "orders", i).read("p0", i, "dr", "primary.orders", i)
    return h.end()


def test_complete_active_active_history_passes() -> None:
    v = run_checkers(load_frames(_complete_history().events))
    assert v["loss"].status == "PASS" and v["loss"].figures["lost"] == 0
    assert v["loss"].figures["per_origin"] == {
        "primary": {"acked": 3, "lost": 0}, "dr": {"acked": 3, "lost": 0}
    }  # fmt: skip
    assert v["cycles"].status == "PASS", v["cycles"].figures
    agg = v["aggregation"]
    assert agg.status == "PASS" and agg.figures["missing"] == 0
    assert agg.figures["pairs"]["dr->primary"] == {"acked": 3, "missing": 0}
    assert v["duplicates"].figures["duplicates"] == 0


def test_loss_is_judged_on_each_origin_cluster() -> None:
    """dr's ids are not on primary's own topic - only its copy is: still not lost (the
    authoritative cluster for dr's writes is dr), while a dr id absent on dr is lost."""
    h = H()
    h.send("p0", 0, "primary").send("p1", 0, "dr").send("p1", 1, "dr")
    h.final(TOPICS, **AA)
    h.read("p0", 0, "primary", "orders", 0).read("p1", 0, "dr", "orders", 0)
    h.read("p0", 0, "dr", "primary.orders", 0).read("p1", 0, "primary", "dr.orders", 0)
    h.read("p1", 1, "primary", "dr.orders", 1)  # only the copy of p1:1 survived
    v = run_checkers(load_frames(h.end().events))
    assert v["loss"].figures["lost"] == 1
    assert v["loss"].figures["per_origin"]["dr"] == {"acked": 2, "lost": 1}
    assert v["loss"].figures["lost_ids"][0]["id"] == "p1:1"
    # ...and dr's aggregate misses it too, primary's does not.
    pairs = v["aggregation"].figures["pairs"]
    assert pairs["dr->dr"]["missing"] == 1 and pairs["dr->primary"]["missing"] == 0
    assert v["aggregation"].status == "FAIL"


def test_without_authoritative_for_one_cluster_judges_all() -> None:
    h = H()
    h.send("p0", 0, "primary").send("p1", 0, "dr")
    h.final({"primary": ["orders"], "dr": ["orders"]})
    h.read("p0", 0, "primary", "orders", 0).read("p1", 0, "dr", "orders", 0)
    v = run_checkers(load_frames(h.end().events))
    assert v["loss"].figures["lost"] == 1  # p1:0 is not on primary, the authoritative cluster
    assert v["aggregation"].figures["applicable"] is False


def test_a_cycle_topic_and_an_id_back_at_its_origin_fail() -> None:
    h = _complete_history()
    h.events.pop()  # reopen the final read: add a looped copy before its end
    h.events.pop()
    h.events[[e["type"] for e in h.events].index("final_read.start")]["topics"]["primary"].append(
        "dr.primary.orders"
    )
    h.read("p0", 1, "primary", "dr.primary.orders", 7)
    v = run_checkers(load_frames(h.end().events))
    c = v["cycles"]
    assert c.status == "FAIL"
    assert c.figures["cycle_topics"] == ["primary:dr.primary.orders"]
    assert c.figures["ids_back_at_origin"] == 1 and c.evidence[0]["id"] == "p0:1"


def test_prefixes_only_count_cluster_names() -> None:
    names = {"primary", "dr"}
    assert prefixes("dr.primary.orders", names) == ["dr", "primary"]
    assert prefixes("app.orders", names) == []
    assert prefixes("primary.app.orders", names) == ["primary"]


BASE: dict[str, Any] = {"name": "aa", "description": "x", "duration_seconds": 20,
                        "topology": {"model": "active-active"}}  # fmt: skip


def test_producer_groups_from_a_list() -> None:
    sc = Scenario.from_dict(
        {
            **BASE,
            "workload": {
                "producers": [
                    {"rate_per_second": 1000, "cluster": "primary", "site": "east"},
                    {"rate_per_second": 1000, "cluster": "dr", "site": "west"},
                ]
            },
        },
        source="aa.yaml",
    )
    groups = sc.workload.producer_groups()
    assert [(g.cluster, g.site) for g in groups] == [("primary", "east"), ("dr", "west")]
    topo = sc.to_topology()
    assert [f.name for f in topo.flows] == ["primary->dr", "dr->primary"]
    assert [t.name for t in topo.cluster("dr").topics] == ["orders"]
    # The resolved scenario (written to every run directory) loads back to the same groups.
    again = Scenario.from_dict(
        __import__("yaml").safe_load(sc.resolved_yaml()), source="resolved.yaml"
    )
    assert again.workload.producer_groups() == groups


@pytest.mark.parametrize(
    ("workload", "words"),
    [
        ({"producers": []}, "empty list"),
        ({"producers": [{"rate_per_second": 1000}], "more_producers": []}, "not both"),
        ({"producers": [{"rate_per_second": 1000}, {"cluster": "nowhere"}]}, "more_producers"),
    ],
)
def test_bad_producer_groups(workload: dict[str, Any], words: str) -> None:
    with pytest.raises(ScenarioError, match=words):
        Scenario.from_dict({**BASE, "workload": workload}, source="aa.yaml")


def test_two_mm2_processes_each_run_only_their_target() -> None:
    aa = two_dc(1, both_ways=True)
    assert [mm2_args(aa, f) for f in aa.flows] == [["--clusters", "dr"], ["--clusters", "primary"]]
    ap = two_dc(1)
    assert mm2_args(ap, ap.flows[0]) == []  # keeps the reverse heartbeats (primary.heartbeats)
    lease = allocate(aa)
    try:
        props = render_mm2_properties(aa, (aa.flows[1],), lease.plan, "east")
    finally:
        lease.close()
    assert "dr->primary.enabled = true" in props or "dr->primary.enabled=true" in props


def test_the_runner_drives_both_origins_and_judges_each_on_its_own_cluster(
    tmp_path: Path,
) -> None:
    """End to end on the fake runtime (no Kafka): writers on both clusters, the final read names
    each origin's authoritative cluster and both aggregates."""
    import json

    from kafkadrill.clock import ScaledClock
    from kafkadrill.runner import run_drill
    from kafkadrill.scenario import load_scenario

    clock = ScaledClock(200.0)
    sc = load_scenario(ROOT / "scenarios" / "active-active-region-outage.yaml")
    res = run_drill(
        sc, runtime="fake", reports_dir=tmp_path, clock=clock, runtime_options={"clock": clock}
    )
    assert res.error is None, res.error
    events = [json.loads(x) for x in (res.run_dir / "history.jsonl").read_text().splitlines()]
    start = next(e for e in events if e["type"] == "final_read.start")
    assert start["authoritative_for"] == {"primary": "primary", "dr": "dr"}
    assert start["aggregates"] == ["primary", "dr"]
    acked_on = {e["cluster"] for e in events if e["type"] == "send.ok"}
    assert acked_on == {"primary", "dr"}
    producers = {e["producer"] for e in events if e["type"] == "send.invoke"}
    assert producers == {"p0", "p1"}
    checkers = res.report["checkers"]
    assert set(checkers["loss"]["figures"]["per_origin"]) == {"primary", "dr"}
    assert checkers["aggregation"]["figures"]["applicable"] is True
    assert checkers["cycles"]["status"] == "PASS"
