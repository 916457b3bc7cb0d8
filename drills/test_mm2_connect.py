"""MirrorMaker 2 on Kafka Connect (issue 21): a task FAILED inside a live worker is seen and
recovered; a stopped connector proves itself.

scenarios/mm2-connect-task-fail.yaml runs MM2 as connectors on a Connect worker (REST on
loopback), sets the DR copy's max.message.bytes below a record batch so MirrorSource's tasks
fail with RecordTooLargeException while every process stays up, restores it and restarts the
failed tasks over REST; then stops the checkpoint connector for 10 s. What must hold, whatever
the exact timing:

- both faults proved themselves over REST: a task FAILED (with the broker's refusal as its
  cause), the checkpoint connector STOPPED;
- the task failure showed as a replication stall within 20 s of the change (lag above the
  3 s stall threshold; a task fails about 5 s after the change, measured) and replication
  resumed within 15 s of the heal;
- nothing acknowledged was lost (MM2 resumes from its committed source offsets).

The exact figures (visible after, resumed after, max lag) are in the report's replication
section and report.json `checkers.replication.figures.flows`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kafkadrill.history import read_history
from kafkadrill.history.events import Ev
from kafkadrill.pytest_plugin import DrillRunner, failure_text
from kafkadrill.runner import DrillResult

SCENARIO = Path(__file__).parent.parent / "scenarios" / "mm2-connect-task-fail.yaml"
VISIBLE_WITHIN_S = 20.0
RESUMED_WITHIN_S = 15.0


@pytest.fixture(scope="module")
def connect_drill(drill: DrillRunner) -> DrillResult:
    return drill(SCENARIO)


def _per_fault(result: DrillResult, fault_type: str) -> dict[str, Any]:
    flows = result.report["checkers"]["replication"]["figures"]["flows"]
    (fig,) = [f for f in flows["primary->dr"]["per_fault"].values() if f["type"] == fault_type]
    return dict(fig)


@pytest.mark.drill
def test_a_failed_task_is_seen_and_recovered(
    connect_drill: DrillResult, record_property: Callable[[str, Any], None]
) -> None:
    fig = _per_fault(connect_drill, "mm2.task_fail")
    for key in ("visible_after_s", "data_resumed_after_heal_s", "max_lag"):
        record_property(key, fig[key])
    if connect_drill.verdict != "PASS":
        pytest.fail(failure_text(connect_drill), pytrace=False)
    assert fig["data_stalled"], fig
    assert fig["visible_after_s"] is not None and fig["visible_after_s"] <= VISIBLE_WITHIN_S, fig
    resumed = fig["data_resumed_after_heal_s"]
    assert resumed is not None and resumed <= RESUMED_WITHIN_S, fig
    assert connect_drill.report["rpo"]["lost"] == 0


@pytest.mark.drill
def test_both_faults_proved_themselves_over_rest(connect_drill: DrillResult) -> None:
    faults = {f["type"]: f for f in connect_drill.report["faults"]}
    assert faults["mm2.task_fail"]["verified"] is True, faults["mm2.task_fail"]
    assert faults["mm2.connector_stop"]["verified"] is True, faults["mm2.connector_stop"]
    said = [
        str(e.get("detail"))
        for e in read_history(connect_drill.run_dir / "history.jsonl")
        if e.get("type") == Ev.FAULT_VERIFY
    ]
    assert any("FAILED" in d and "RecordTooLarge" in d for d in said), said
    assert any("MirrorCheckpointConnector STOPPED" in d for d in said), said
