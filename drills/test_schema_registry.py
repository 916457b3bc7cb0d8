"""Schema registry DR (issue 24; seed 002): Apicurio Registry on each cluster, its KafkaSQL
journal mirrored by MM2, dr's registry read-only until the failover switches it
(scenarios/schema-registry-failover.yaml).

Asserted (what replication and the runbook must give):
- schemas replicate: every id the application registered more than 10 s before the region loss
  resolves on dr at the decision (MM2 copies the journal continuously; only the tail of its lag
  may be missing);
- the switch works: dr's registry takes the application's next registration within 10 s of the
  read-write step;
- an id two registries resolve to different schemas is only ever one that never reached dr
  (the replica gives ids from what it replayed);
- not vacuous: versions were registered on primary before the loss, and checked at the decision.

Reported, not asserted: the schema RPO (ids and acked records dr could not resolve), the
switch time, versions registered on dr during the outage and unknown to primary at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kafkadrill.pytest_plugin import DrillRunner, failure_text
from kafkadrill.runner import DrillResult

SCENARIO = Path(__file__).parent.parent / "scenarios" / "schema-registry-failover.yaml"
REPLICATION_MARGIN_S = 10.0
SWITCH_MARGIN_S = 10.0


@pytest.fixture(scope="module")
def schema_drill(drill: DrillRunner) -> DrillResult:
    return drill(SCENARIO)


@pytest.mark.drill
def test_schemas_replicate_and_dr_takes_writes_after_the_switch(
    schema_drill: DrillResult, record_property: Callable[[str, Any], None]
) -> None:
    if schema_drill.verdict != "PASS":
        pytest.fail(failure_text(schema_drill, source=str(SCENARIO)), pytrace=False)
    v = schema_drill.report["checkers"]["schemas"]
    f = v["figures"]
    dec, switch = f["at_decision"], f["switch"]
    for key in ("ids_missing", "records_unresolvable", "oldest_missing_age_at_fault_s"):
        record_property(key, dec[key])
    record_property("switch_seconds", switch["seconds"])
    record_property("first_write_after_switch_s", switch["first_write_after_switch_s"])
    record_property("collisions", f["collisions"])
    assert f["registered"].get("primary", 0) >= 3, f
    assert dec["ids_checked"] >= 3, dec
    age = dec["oldest_missing_age_at_fault_s"]
    assert age is None or age <= REPLICATION_MARGIN_S, dec
    assert switch["status"] == "ok", switch
    first = switch["first_write_after_switch_s"]
    assert first is not None and first <= SWITCH_MARGIN_S, switch
    never_copied = set(dec["ids_missing"]) | set(dec["ids_different"])
    assert set(f["collisions"]) <= never_copied, (f["collisions"], dec)
