"""The deployment-models table: its scenarios and its layout (the figures come from reports)."""

from __future__ import annotations

from typing import Any

import pytest

from kafkadrill.models import MODELS, claims_table, model_scenario
from kafkadrill.report.compare import RunRecord, build_comparison


@pytest.mark.parametrize("model", MODELS)
def test_every_model_is_a_valid_drill_under_the_same_load_and_wan(model: str) -> None:
    sc = model_scenario(model, latency_ms=12, rate=1000, seed=7)
    topo = sc.to_topology()
    assert topo.wan and all(w.latency_ms == 12 for w in topo.wan)
    assert sum(g.rate_per_second or 0 for g in sc.workload.producer_groups()) == 1000
    (fault,) = sc.schedule()
    assert fault.at == 10
    assert {"active-passive": 1, "active-active": 2, "stretch": 0, "backup": 0}[model] == len(
        topo.flows
    )
    assert (topo.backup is not None) == (model == "backup")


def _rec(model: str, lost: int, wdown: float, p50: float) -> RunRecord:
    report: dict[str, Any] = {
        "verdict": "PASS",
        "error": None,
        "rpo": {"lost": lost, "window_seconds": 0.5 * lost},
        "rto": {"write_unavailable_seconds": wdown, "read_unavailable_seconds": wdown + 1},
        "checkers": {
            "latency": {"figures": {"per_phase": {"steady": {"p50_ms": p50, "p99_ms": 9 * p50}}}}
        },
    }
    return RunRecord(None, report=report, setting={"model": model})


def test_claims_table_puts_each_seed_claim_beside_median_and_spread() -> None:
    recs = [
        _rec("active-passive", 40, 12.0, 30.0),
        _rec("active-passive", 10, 14.0, 32.0),
        _rec("active-passive", 20, 13.0, 31.0),
        _rec("stretch", 0, 9.0, 60.0),
    ]
    table = claims_table(build_comparison(recs, title="t"))
    lines = table.splitlines()
    assert lines[0] == "| Aspect | active-passive | stretch |"
    lost = next(x for x in lines if x.startswith("| RPO: acked messages lost"))
    assert "seed: Minutes; measured: 20 (10–40)" in lost
    assert "seed: Zero; measured: 0" in lost
    lat = next(x for x in lines if x.startswith("| Produce latency"))
    assert "31 (30–32) / 279 (270–288)" in lat and "seed: Cross-DC latency" in lat
    assert lines[-1].startswith("| Runs | 3 run(s): PASS×3 | 1 run(s): PASS×1")
