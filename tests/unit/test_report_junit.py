"""JUnit XML: one testcase per drill, failure on FAIL, error on UNKNOWN, figures as properties."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from kafkadrill.report.junit import write_junit


def _report(scenario: str, verdict: str, **extra: Any) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "run_id": f"{scenario}-1",
        "seed": 7,
        "verdict": verdict,
        "started_at": "2026-11-22T03:15:00Z",
        "finished_at": "2026-11-22T03:16:30Z",
        "objectives": [
            {
                "name": "max_lost",
                "target": 0,
                "observed": 3 if verdict == "FAIL" else 0,
                "verdict": verdict if verdict != "UNKNOWN" else "UNKNOWN",
            }
        ],
        "rpo": {
            "acked": 100,
            "lost": 3,
            "lost_bytes": 600,
            "window_seconds": 1.5,
            "duplicates": 0,
            "unknown": 0,
        },
        "rto": {
            "write_unavailable_seconds": 4.25,
            "read_unavailable_seconds": None,
            "phases": {"detection_seconds": 2.0, "steps": {}},
        },
        **extra,
    }


def test_junit_cases_failures_errors_and_properties(tmp_path: Path) -> None:
    path = write_junit(
        [
            _report("broker-loss", "PASS"),
            _report("region-outage", "FAIL"),
            _report("az-partition", "UNKNOWN", error="TopologyError: node 2 \x07 died"),
        ],
        tmp_path / "junit.xml",
    )
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = {c.get("classname"): c for c in suite.iter("testcase")}
    assert set(cases) == {
        "kafkadrill.broker-loss",
        "kafkadrill.region-outage",
        "kafkadrill.az-partition",
    }
    assert cases["kafkadrill.broker-loss"].find("failure") is None
    failure = cases["kafkadrill.region-outage"].find("failure")
    assert failure is not None and "max_lost: observed 3, target 0" in failure.get("message", "")
    error = cases["kafkadrill.az-partition"].find("error")
    assert error is not None and "TopologyError" in error.get("message", "")
    assert cases["kafkadrill.region-outage"].get("time") == "90.000"
    props = {
        p.get("name"): p.get("value") for p in cases["kafkadrill.region-outage"].iter("property")
    }
    assert props["rpo.lost"] == "3" and props["rto.write_unavailable_seconds"] == "4.25"
    assert props["rto.read_unavailable_seconds"] == ""
    assert props["rto.phases.detection_seconds"] == "2.0"
    assert props["objective.max_lost.verdict"] == "FAIL" and props["seed"] == "7"


def test_same_scenario_twice_gets_unique_names(tmp_path: Path) -> None:
    a = _report("s", "PASS")
    b = {**_report("s", "PASS"), "run_id": "s-2"}
    root = ET.parse(write_junit([a, b], tmp_path / "j.xml")).getroot()
    names = [c.get("name") for c in root.iter("testcase")]
    assert names == ["s[s-1]", "s[s-2]"]
