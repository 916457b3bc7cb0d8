"""Backup and restore through Kafka Connect (issue 24; seed 001): replication off, primary
backed up by kafkadrill's sink connector every 5 s, region east lost for good, the backup
restored into dr by the failover runbook (scenarios/backup-restore.yaml).

Asserted (what a backup-and-restore procedure must give):
- the restore gives back exactly what the backup holds: none lost, none twice, none in another
  partition, none out of order, headers intact (the backup checker FAILs the drill otherwise);
- what dr lacks after the restore is never more than what the backup lacked at the disaster
  (the restore adds no loss of its own);
- the backup's gap at the disaster is bounded by its frequency: its window is at most the flush
  interval plus 5 s of margin for the worker's read lag on 2 cores;
- not vacuous: thousands of records were backed up before the disaster and restored.

Reported, not asserted: the backup RPO at the disaster (records and window), records the
surviving worker flushed after it, restore time and rate, where the groups resumed (re-reads).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kafkadrill.pytest_plugin import DrillRunner, failure_text
from kafkadrill.runner import DrillResult

SCENARIO = Path(__file__).parent.parent / "scenarios" / "backup-restore.yaml"
FLUSH_SECONDS = 5.0
READ_LAG_MARGIN_S = 5.0


@pytest.fixture(scope="module")
def backup_drill(drill: DrillRunner) -> DrillResult:
    return drill(SCENARIO, **{"topology.backup.flush_seconds": FLUSH_SECONDS})


@pytest.mark.drill
def test_restore_gives_back_what_the_backup_holds(
    backup_drill: DrillResult, record_property: Callable[[str, Any], None]
) -> None:
    if backup_drill.verdict != "PASS":
        pytest.fail(failure_text(backup_drill, source=str(SCENARIO)), pytrace=False)
    v = backup_drill.report["checkers"]["backup"]
    f = v["figures"]
    restore, fid = f["restore"], f["fidelity"]
    for key in ("not_backed_up_at_disaster", "rpo_window_seconds", "not_backed_up_in_the_end"):
        record_property(key, f[key])
    record_property("restore_seconds", restore["seconds"])
    record_property("restore_records_per_second", restore["records_per_second"])
    assert v["status"] == "PASS", (v["notes"], v["evidence"])
    assert restore["status"] == "ok", restore
    assert f["backed_up_at_disaster"] > 2000, f
    assert restore["records"] >= f["backed_up_at_disaster"], (restore, f)
    assert fid["read_complete"], fid
    for key in ("lost", "duplicated", "moved", "reordered", "headers_altered"):
        assert fid[key] == 0, (key, fid, v["evidence"])
    lost = backup_drill.report["rpo"]["lost"]
    assert lost <= f["not_backed_up_at_disaster"], (lost, f)
    assert f["rpo_window_seconds"] <= FLUSH_SECONDS + READ_LAG_MARGIN_S, f
