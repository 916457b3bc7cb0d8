"""Baseline WAN (scenario -> topology -> toxics) and the produce-latency checker."""

from __future__ import annotations

from typing import Any

import pytest

from kafkadrill.checkers.latency import check_latency
from kafkadrill.errors import ScenarioError
from kafkadrill.history import load_frames
from kafkadrill.report.sections.latency import latency_section
from kafkadrill.runtimes.shared.toxiproxy import ProxySpec
from kafkadrill.runtimes.shared.wan import apply_wan, describe_wan, wan_toxics
from kafkadrill.scenario import Scenario
from kafkadrill.topology import WanLink


def _events(sends: list[tuple[float, float, str]], faults: list[tuple[float, float | None]]):
    ev: list[dict[str, Any]] = []

    def add(type_: str, t: float, **f: Any) -> None:
        ev.append({"seq": len(ev), "t": t, "wall": 1e9 + t, "type": type_, **f})

    add("wan", 0.0, links=[{"link": "east<->west", "latency_ms": 20}], in_force=["x"])
    items: list[tuple[float, str, dict[str, Any]]] = []
    for i, (sent, acked, cluster) in enumerate(sends):
        base = {"producer": "p0", "id": f"p0:{i}", "cluster": cluster, "topic": "orders"}
        items.append((sent, "send.invoke", {**base, "key": None, "size": 100}))
        items.append((acked, "send.ok", {**base, "partition": 0, "offset": i, "ts": 1}))
    for n, (a, h) in enumerate(faults):
        items.append((a, "fault.inject", {"fault_id": f"f{n}", "fault": "x", "target": None,
                                          "params": {}}))  # fmt: skip
        if h is not None:
            items.append((h, "fault.heal", {"fault_id": f"f{n}", "ok": True, "detail": None}))
    for t, typ, f in sorted(items, key=lambda x: x[0]):
        add(typ, t, **f)
    return ev


def test_latency_is_split_by_the_phase_the_record_was_sent_in() -> None:
    sends = [
        (1.0, 1.010, "primary"),  # steady: 10 ms
        (2.0, 2.030, "primary"),  # steady: 30 ms
        (5.0, 5.500, "primary"),  # under the fault (4..8): 500 ms
        (9.0, 9.020, "dr"),  # after heal: 20 ms, acked by dr
    ]
    v = check_latency(load_frames(_events(sends, [(4.0, 8.0)])))
    f = v.figures
    assert v.status == "PASS"
    assert f["per_phase"]["steady"]["count"] == 2
    assert f["per_phase"]["steady"]["max_ms"] == pytest.approx(30.0)
    assert f["per_phase"]["under_fault"]["p50_ms"] == pytest.approx(500.0)
    assert f["per_phase"]["after_heal"]["max_ms"] == pytest.approx(20.0)
    assert f["overall"]["count"] == 4 and f["overall"]["max_ms"] == pytest.approx(500.0)
    assert set(f["per_cluster"]) == {"primary", "dr"}
    assert f["per_cluster"]["dr"]["after_heal"]["count"] == 1
    assert f["per_cluster"]["primary"]["after_heal"]["count"] == 0
    assert f["wan"]["links"][0]["latency_ms"] == 20


def test_a_fault_never_healed_lasts_to_the_end() -> None:
    sends = [(1.0, 1.01, "primary"), (6.0, 6.5, "primary"), (9.0, 9.6, "primary")]
    f = check_latency(load_frames(_events(sends, [(4.0, None)]))).figures
    assert f["per_phase"]["under_fault"]["count"] == 2
    assert f["per_phase"]["after_heal"]["count"] == 0


def test_no_acked_send_measures_nothing() -> None:
    f = check_latency(load_frames([])).figures
    assert f["overall"] == {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}


def test_report_section_shows_the_wan_and_the_phases() -> None:
    sends = [(1.0, 1.01, "primary"), (5.0, 5.5, "dr")]
    v = check_latency(load_frames(_events(sends, [(4.0, 8.0)])))
    blocks = latency_section({"checkers": {"latency": {"figures": v.figures}}}, {})
    text = repr(blocks)
    assert "east<->west" in text and "while a fault was in force" in text
    assert "500.0 ms" in text


SCEN: dict[str, Any] = {
    "name": "wan",
    "description": "x",
    "duration_seconds": 10,
    "workload": {"producers": {"rate_per_second": 1000}},
}


def _sc(wan: dict[str, Any], **topo: Any) -> Scenario:
    return Scenario.from_dict({**SCEN, "topology": {"wan": wan, **topo}}, source="w.yaml")


def test_wan_defaults_apply_to_cross_region_links_only() -> None:
    sc = _sc(
        {
            "latency_ms": 25,
            "jitter_ms": 5,
            "bandwidth_kbps": 10_000,
            "links": {"east-a <-> east-b": {"latency_ms": 1}},
        },
        azs={"primary": ["east-a", "east-b", "east-c"]},
    )
    wan = {w.name: w for w in sc.to_topology().wan}
    assert wan["east<->west"] == WanLink("east", "west", 25, 5, 10_000)
    assert wan["east-a<->east-b"].latency_ms == 1
    assert "east-a<->east-c" not in wan  # AZ links only when named


@pytest.mark.parametrize(
    ("wan", "field", "words"),
    [
        ({"latency_ms": 5, "jitter_ms": 9}, "topology.wan", "jitter_ms exceeds"),
        ({"links": {"east<->north": {}}}, "topology.wan.links.east<->north", "no link"),
        ({"latency_ms": -1}, "topology.wan.latency_ms", ""),
    ],
)
def test_bad_wan_is_a_scenario_error_naming_the_field(
    wan: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as ei:
        _sc(wan)
    assert field in str(ei.value) and words in str(ei.value)


def test_wan_toxics_and_their_application() -> None:
    link = WanLink("east", "west", 30, 4, 800)
    assert wan_toxics(link) == [
        ("latency", {"latency": 30, "jitter": 4}),
        ("bandwidth", {"rate": 100}),  # Toxiproxy counts KB/s
    ]
    assert wan_toxics(WanLink("east", "west")) == []

    calls: list[tuple[str, ...]] = []

    class TP:
        def add_toxic(self, proxy: str, name: str, kind: str, stream: str, attrs: Any) -> None:
            calls.append((proxy, name, kind, stream))

    proxies = [(ProxySpec("xdc-1", "a", "b", "west", "east"), ["upstream", "downstream"])]
    done = apply_wan(TP(), (link,), lambda a, b: proxies)  # type: ignore[arg-type]
    assert len(calls) == 4 and {c[3] for c in calls} == {"upstream", "downstream"}
    assert "30 ms one way" in done[0] and "1 proxies" in done[0]
    assert describe_wan((link,))[0]["round_trip_ms"] == 60
