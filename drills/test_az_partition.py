"""An AZ partition of a 3-AZ primary: the objectives of scenarios/az-partition.yaml, plus what
YAML cannot state - the fault was a real network cut (Kafka requests across it failed) and the
majority side kept acknowledging acks=all writes while it lasted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkadrill.history import read_history
from kafkadrill.pytest_plugin import DrillRunner, failure_text
from kafkadrill.runner import DrillResult

SCENARIO = Path(__file__).parent.parent / "scenarios" / "az-partition.yaml"


@pytest.fixture(scope="module")
def partition(drill: DrillRunner) -> DrillResult:
    return drill(SCENARIO)


@pytest.mark.drill
def test_az_partition_meets_its_objectives(partition: DrillResult) -> None:
    if partition.verdict != "PASS":
        pytest.fail(failure_text(partition), pytrace=False)
    assert partition.report["rpo"]["lost"] == 0


@pytest.mark.drill
def test_the_cut_was_real_and_the_majority_kept_writing(partition: DrillResult) -> None:
    fault = partition.report["faults"][0]
    assert fault["type"] == "az.partition"
    assert fault["verified"], fault["verify_detail"]
    assert "cut path(s) fail" in fault["verify_detail"]
    events = read_history(partition.run_dir / "history.jsonl")
    inject = next(e["t"] for e in events if e["type"] == "fault.inject")
    heal = next(e["t"] for e in events if e["type"] == "fault.heal")
    # After the ISR has dropped the isolated replica (replica.lag.time.max.ms 10 s), writes go on.
    during = [e for e in events if e["type"] == "send.ok" and inject + 15 < e["t"] < heal]
    assert during, "no acks=all write succeeded on the majority side during the cut"
