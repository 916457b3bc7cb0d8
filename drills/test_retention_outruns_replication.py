"""Retention outrunning replication (issue 21): loss the source's retention caused is reported
as such, never as plain loss.

scenarios/retention-outruns-replication.yaml keeps 8 s of `orders` on primary while MirrorMaker 2
is down for 26 s, brings MM2 back (it resumes from the earliest record left), then loses the
east region and fails over to dr. What must hold, whatever the exact timing:

- the fault proved itself: the retention was set, read back, and its heal reports records
  retention deleted while it was in force;
- writes were lost (MM2 was down for three times the retention: this cannot come out zero), and
  every lost write has a cause: some expired at the source, none lost at the origin (acks=all,
  min.insync.replicas=2, no broker lost its log), none unattributed;
- the scenario's objectives (0 skipped, service back on dr within 30 s) hold.

The exact split (expired vs never replicated) depends on how fast MM2 resumes: it is reported
(terminal summary, JUnit properties, report.json `checkers.loss.figures.by_cause`), not pinned.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kafkadrill.history import read_history
from kafkadrill.pytest_plugin import DrillRunner, failure_text
from kafkadrill.runner import DrillResult

SCENARIO = Path(__file__).parent.parent / "scenarios" / "retention-outruns-replication.yaml"


@pytest.fixture(scope="module")
def retention_drill(drill: DrillRunner) -> DrillResult:
    return drill(SCENARIO)


@pytest.mark.drill
def test_expired_writes_are_reported_as_expired(
    retention_drill: DrillResult, record_property: Callable[[str, Any], None]
) -> None:
    report = retention_drill.report
    loss = report["checkers"]["loss"]["figures"]
    causes = loss["by_cause"]
    for name, n in causes.items():
        record_property(name, n)
    if retention_drill.verdict != "PASS":
        pytest.fail(failure_text(retention_drill), pytrace=False)
    assert loss["lost"] > 0, "MM2 was down 3x the retention: some writes must have expired"
    assert sum(causes.values()) == loss["lost"], causes
    assert causes["expired_at_source"] > 0, causes
    assert causes["lost_at_origin"] == 0, causes
    assert causes["unattributed"] == 0, causes


@pytest.mark.drill
def test_the_retention_fault_proved_itself(retention_drill: DrillResult) -> None:
    (fault,) = [f for f in retention_drill.report["faults"] if f["type"] == "topic.retention"]
    assert fault["verified"] is True, fault
    healed = [
        e
        for e in read_history(retention_drill.run_dir / "history.jsonl")
        if e.get("type") == "fault.heal" and "retention deleted" in str(e.get("detail"))
    ]
    assert healed, "the heal did not report what retention deleted"
    deleted = re.search(r"retention deleted (\d+) records", str(healed[0]["detail"]))
    assert deleted and int(deleted.group(1)) > 0, healed[0]["detail"]
