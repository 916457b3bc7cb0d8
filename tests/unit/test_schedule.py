"""Fault schedules: seeded, reproducible, never overlapping on one target; the fault catalog."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkadrill.errors import ScenarioError
from kafkadrill.faults import catalog
from kafkadrill.faults.schedule import ScheduledFault, expand_timeline
from kafkadrill.topology import two_dc

TOPO = two_dc(3, primary_azs=("east-a", "east-b", "east-c"))
RANDOM: dict[str, Any] = {
    "random": {
        "count": 6,
        "faults": ["node.kill", "link.latency", "az.partition", "leader.kill"],
        "between": [5, 50],
        "duration": [5, 15],
    }
}


def dump(schedule: list[ScheduledFault]) -> bytes:
    return json.dumps([f.to_dict() for f in schedule], sort_keys=True).encode()


def overlapping_pairs(schedule: list[ScheduledFault]) -> list[tuple[str, str]]:
    out = []
    for i, a in enumerate(schedule):
        for b in schedule[i + 1 :]:
            # Back to back is not overlapping, also when at + duration rounds a hair past the
            # next start in binary floating point (0.3 + 0.6 > 0.9).
            if (
                a.at < b.end - 1e-6
                and b.at < a.end - 1e-6
                and (catalog.targets_of(a, topology=TOPO) & catalog.targets_of(b, topology=TOPO))
            ):
                out.append((a.origin, b.origin))
    return out


def test_same_seed_same_schedule_byte_identical() -> None:
    a = expand_timeline([RANDOM], seed=7, topology=TOPO, duration_seconds=60)
    b = expand_timeline([RANDOM], seed=7, topology=TOPO, duration_seconds=60)
    assert dump(a) == dump(b)
    assert len(a) == 6


def test_different_seeds_differ() -> None:
    dumps = {
        dump(expand_timeline([RANDOM], seed=s, topology=TOPO, duration_seconds=60))
        for s in range(5)
    }
    assert len(dumps) == 5


def test_known_schedule_is_stable_across_versions() -> None:
    # Pin one draw: a change here silently changes every seeded drill users have recorded.
    sched = expand_timeline(
        [
            {
                "random": {
                    "count": 2,
                    "faults": ["node.kill"],
                    "between": [0, 30],
                    "duration": [5, 10],
                }
            }
        ],
        seed=42,
        topology=two_dc(3),
        duration_seconds=30,
    )
    assert [(f.at, f.duration, f.params) for f in sched] == EXPECTED_SEED_42


EXPECTED_SEED_42 = [
    (4.1, 9.2, {"cluster": "dr", "node": 1}),
    (15.7, 5.8, {"cluster": "primary", "node": 3}),
]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31 - 1))
def test_random_schedule_invariants(seed: int) -> None:
    fixed = {
        "at": 10,
        "fault": "node.kill",
        "target": {"cluster": "primary", "node": 2},
        "duration": 20,
    }
    sched = expand_timeline([fixed, RANDOM], seed=seed, topology=TOPO, duration_seconds=60)
    assert [f.at for f in sched] == sorted(f.at for f in sched)
    assert overlapping_pairs(sched) == []
    randoms = [f for f in sched if f.index == 1]
    assert sorted(f.origin for f in randoms) == [f"timeline[1].random#{k}" for k in range(6)]
    for f in randoms:
        assert f.at >= 5 and f.end <= 50 + 1e-9
        assert 5 <= f.duration <= 15
        assert round(f.at * 10) == f.at * 10  # on the 0.1 s grid
        assert f.fault in RANDOM["random"]["faults"]
        catalog.parse_fault(f.fault, f.target(), None, TOPO)  # a valid target


def test_fixed_entry_fields() -> None:
    (f,) = expand_timeline(
        [
            {
                "at": 3,
                "fault": "link.latency",
                "target": {"link": "west<->east"},
                "params": {"latency_ms": 250},
                "duration": 4,
            }
        ],
        seed=1,
        topology=TOPO,
        duration_seconds=10,
    )
    assert (f.at, f.duration, f.fault, f.index, f.origin) == (
        3,
        4,
        "link.latency",
        0,
        "timeline[0]",
    )
    assert f.params == {
        "link": "east<->west",
        "direction": "both",
        "latency_ms": 250,
        "jitter_ms": 0,
    }
    assert f.target() == {"link": "east<->west", "direction": "both"}
    assert f.end == 7


def test_fixed_overlap_raises() -> None:
    with pytest.raises(ScenarioError, match=r"timeline\[1\].*overlaps timeline\[0\]"):
        expand_timeline(
            [
                {
                    "at": 0,
                    "fault": "az.partition",
                    "target": {"cluster": "primary", "az": "east-a"},
                    "duration": 10,
                },
                {
                    "at": 5,
                    "fault": "link.cut",
                    "target": {"link": "east-a<->east-b"},
                    "duration": 10,
                },
            ],
            seed=1,
            topology=TOPO,
            duration_seconds=30,
        )


def test_random_params_and_unknown_params() -> None:
    sched = expand_timeline(
        [
            {
                "random": {
                    "count": 2,
                    "faults": ["link.latency"],
                    "duration": [1, 2],
                    "params": {"link.latency": {"latency_ms": 300}},
                }
            }
        ],
        seed=3,
        topology=TOPO,
        duration_seconds=30,
    )
    assert {f.params["latency_ms"] for f in sched} == {300}
    with pytest.raises(ScenarioError, match=r"latency_m.*did you mean 'latency_ms'"):
        expand_timeline(
            [
                {
                    "random": {
                        "count": 1,
                        "faults": ["link.latency"],
                        "duration": [1, 2],
                        "params": {"link.latency": {"latency_m": 300}},
                    }
                }
            ],
            seed=3,
            topology=TOPO,
            duration_seconds=30,
        )


def test_impossible_random_placement() -> None:
    with pytest.raises(ScenarioError, match="could only place 1 of 2"):
        expand_timeline(
            [
                {
                    "random": {
                        "count": 2,
                        "faults": ["region.outage"],
                        "between": [0, 10],
                        "duration": [8, 10],
                    }
                }
            ],
            seed=1,
            topology=two_dc(3),
            duration_seconds=10,
        )


@pytest.mark.parametrize(
    ("spec", "expect"),
    [
        ({"count": 1, "faults": ["az.partition"], "duration": [1, 2]}, "no possible target"),
        (
            {"count": 1, "faults": ["node.kill"], "between": [0, 90], "duration": [1, 2]},
            "after duration_seconds",
        ),
        (
            {"count": 1, "faults": ["node.kill"], "between": [0, 5], "duration": [8, 9]},
            "does not fit",
        ),
        ({"count": 1, "faults": ["node.kil"], "duration": [1, 2]}, "did you mean 'node.kill'"),
        ({"count": 1, "faults": ["node.kill"], "duration": [3, 2]}, "0 < min <= max"),
    ],
)
def test_bad_random_spec(spec: dict[str, Any], expect: str) -> None:
    with pytest.raises((ScenarioError, ValueError), match=expect):
        expand_timeline([{"random": spec}], seed=1, topology=two_dc(3), duration_seconds=60)


# -- catalog -----------------------------------------------------------------------------------


def test_catalog_names() -> None:
    assert list(catalog.FAULT_TYPES) == [
        "node.kill",
        "node.stop",
        "node.pause",
        "leader.kill",
        "coordinator.kill",
        "mm2.kill",
        "link.cut",
        "link.latency",
        "link.bandwidth",
        "link.reset",
        "az.partition",
        "region.outage",
        "site.outage",
        "topic.create",
        "topic.partitions",
        "topic.config",
        "topic.retention",
        "mm2.state_loss",
        "mm2.offsets_loss",
        "mm2.task_fail",
        "mm2.connector_stop",
        "acl.create",
    ]
    assert all(catalog.FAULT_SUMMARIES[n] for n in catalog.FAULT_TYPES)


def test_targets_of() -> None:
    assert catalog.targets_of("node.kill", {"cluster": "primary", "node": 2}) == {"node:primary/2"}
    east = catalog.targets_of("region.outage", {"region": "east"}, TOPO)
    assert {
        "node:primary/1",
        "node:primary/3",
        "flow:primary->dr",
        "cluster:primary",
        "link:east<->west/cut",
        "link:east-a<->east-c/latency",
        "az:primary/east-b",
        "leaders:primary",
    } <= east
    assert not any(t.startswith("node:dr/") for t in east)
    az = catalog.targets_of("az.partition", {"cluster": "primary", "az": "east-c"}, TOPO)
    assert "link:east-a<->east-c/cut" in az and "link:east-a<->east-b/cut" not in az
    with pytest.raises(ValueError, match="needs the topology"):
        catalog.targets_of("region.outage", {"region": "east"})
    with pytest.raises(ValueError, match="unknown fault type"):
        catalog.targets_of("disk.fill", {})


def test_register_extends_catalog() -> None:
    from kafkadrill.faults.base import fault, unregister
    from kafkadrill.faults.process import NodeParams

    class DiskParams(NodeParams):
        fill_percent: int = 90

    @fault("disk.fill", DiskParams, needs={"node.stop"}, summary="fill a broker's disk")
    class DiskFill:  # the implementation is registered in the same step as the parameters
        pass

    try:
        (f,) = expand_timeline(
            [
                {
                    "at": 1,
                    "fault": "disk.fill",
                    "target": {"cluster": "dr", "node": 1},
                    "params": {"fill_percent": 50},
                    "duration": 2,
                }
            ],
            seed=1,
            topology=TOPO,
            duration_seconds=10,
        )
        assert f.params == {"cluster": "dr", "node": 1, "fill_percent": 50}
    finally:
        unregister("disk.fill")


def test_parse_fault_reports_bad_setting() -> None:
    _, problems = catalog.parse_fault(
        "link.bandwidth", {"link": "east<->west"}, {"rate_kbps": 0}, TOPO
    )
    assert problems and problems[0].field == "params.rate_kbps"
    assert "greater than 0" in problems[0].message
