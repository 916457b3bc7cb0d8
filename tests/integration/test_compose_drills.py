"""Drills from the scenario library on the compose runtime: the same objectives as locally.

Skipped (with the reason) when no Docker engine answers; CI sets one up (.ci/docker-setup.sh)
and builds the images (`kafkadrill images`; built here too when missing, no registry needed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkadrill.history import read_history
from kafkadrill.runner import DrillResult, run_drill
from kafkadrill.scenario import load_scenario
from kafkadrill.topology.compose import docker_available

_why = docker_available()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(_why is not None, reason=f"compose runtime needs Docker: {_why}"),
]
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="module", autouse=True)
def images() -> None:
    from kafkadrill.topology.images import build_images

    build_images()  # the runtime then prefers these local builds over the official images


def _run(name: str, tmp_path: Path) -> DrillResult:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    result = run_drill(scenario, runtime="compose", reports_dir=tmp_path)
    assert not result.infrastructure_error, result.error
    env = (result.run_dir / "environment.json").read_text()
    assert '"compose"' in env, "the drill did not run on the compose runtime"
    return result


def test_default_broker_loss_loses_nothing(tmp_path: Path) -> None:
    result = _run("default", tmp_path)
    fault = result.report["faults"][0]
    assert fault["type"] == "node.kill" and fault["verified"], fault
    assert result.report["rpo"]["acked"] > 500
    assert result.report["rpo"]["lost"] == 0
    assert result.verdict == "PASS", result.report["objectives"]


def test_link_cut_meets_its_objectives(tmp_path: Path) -> None:
    result = _run("link-cut", tmp_path)
    fault = result.report["faults"][0]
    assert fault["type"] == "link.cut" and fault["verified"], fault
    assert result.verdict == "PASS", result.report["objectives"]


def test_az_partition_is_a_real_cut_and_majority_keeps_writing(tmp_path: Path) -> None:
    result = _run("az-partition", tmp_path)
    fault = result.report["faults"][0]
    assert fault["type"] == "az.partition" and fault["verified"], fault
    events = read_history(result.run_dir / "history.jsonl")
    inject = next(e["t"] for e in events if e["type"] == "fault.inject")
    heal = next(e["t"] for e in events if e["type"] == "fault.heal")
    during = [e for e in events if e["type"] == "send.ok" and inject + 15 < e["t"] < heal]
    assert during, "no acks=all write succeeded on the majority side during the cut"
    assert result.report["rpo"]["lost"] == 0
    assert result.verdict == "PASS", result.report["objectives"]


def test_region_outage_failover_runs_the_runbook(tmp_path: Path) -> None:
    result = _run("region-outage-failover", tmp_path)
    assert result.error is None, result.error
    fault = result.report["faults"][0]
    assert fault["type"] == "region.outage" and fault["verified"], fault
    steps = result.report["rto"]["phases"]["steps"]
    for name in ("detect", "stop_mm2", "translate_offsets", "redirect_producers"):
        assert steps[f"failover/{name}"]["status"] == "ok", steps
    # RPO is measured, whatever it is (as on the local runtime: MM2 lag at the outage).
    assert isinstance(result.report["rpo"]["lost"], int)
