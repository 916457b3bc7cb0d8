"""What the report says of the environment (issue 19, found on the external runtime)."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from kafkadrill.errors import ScenarioError
from kafkadrill.report.html_page import render_html
from kafkadrill.report.markdown import render_markdown
from kafkadrill.report.sections.appendix import appendix_section
from kafkadrill.report.sections.common import UNKNOWN_KAFKA
from kafkadrill.runner import _versions
from kafkadrill.runtimes.external.runtime import ExternalRuntime
from kafkadrill.scenario import Scenario

SAMPLE_REPORT = Path(__file__).resolve().parents[1] / "fixtures" / "sample_run" / "report.json"


def _text(blocks: list[Any]) -> str:
    return " ".join(str(getattr(b, "text", "")) for b in blocks)


def test_the_client_library_version_is_the_installed_distribution() -> None:
    # confluent_kafka.version() said "2" for 2.16.2.
    assert _versions(None)["confluent_kafka"] == metadata.version("confluent-kafka")


def test_external_clusters_are_not_said_to_be_started_for_the_drill() -> None:
    report = {
        "versions": {"runtime": "external"},
        "topology": {"reused": False, "why_fresh": None},
    }
    text = _text(appendix_section(report, {}))
    assert "started for this drill" not in text
    assert "team's own clusters" in text


def test_a_local_topology_still_says_it_was_started() -> None:
    report = {"versions": {"runtime": "local"}, "topology": {"reused": False, "why_fresh": None}}
    assert "started for this drill" in _text(appendix_section(report, {}))


def test_markdown_and_html_carry_the_exercise_evidence() -> None:
    from kafkadrill.report.sections import build_blocks

    report = {
        "evidence": {
            "operator": "alice",
            "approved_by": "bob",
            "confirmed": True,
            "plan_sha256": "ab12",
            "plan_file": "plan.txt",
            "runtime": "external",
            "steady_state": {"ok": True, "checks": [{"name": "isr", "ok": True, "detail": "3/3"}]},
            "targets_vs_measured": [
                {"name": "max_lost", "target": 0, "observed": 0, "verdict": "PASS"}
            ],
            "adapter_calls": 4,
            "deviations": ["heal of f0 failed: timeout"],
            "outcome": "PASS",
            "verdict_limited_by": None,
        }
    }
    blocks = build_blocks(report, {})
    text = repr(blocks)
    for needle in ("Exercise evidence", "alice", "bob", "ab12", "isr", "max_lost", "heal of f0"):
        assert needle in text, needle


# -- the external runtime's Kafka version: declared, or said to be unknown ------------------------
def _external(**external: Any) -> ExternalRuntime:
    data: dict[str, Any] = {
        "name": "ext",
        "runtime": "external",
        "workload": {"consumers": [{"group": "billing"}]},
        "external": {
            "clusters": {
                "primary": {"region": "east", "bootstrap": "127.0.0.1:1"},
                "dr": {"region": "west", "bootstrap": "127.0.0.1:2"},
            },
            "flows": [{"source": "primary", "target": "dr"}],
            **external,
        },
    }
    s = Scenario.from_dict(data)
    assert s.external is not None
    return ExternalRuntime(
        s.to_topology(), Path("/nonexistent"), external=s.external, confirmed=True
    )


def test_external_kafka_version_is_the_declared_one_and_says_so() -> None:
    rt = _external(kafka_version="3.9.1")
    assert rt.kafka_version() == "3.9.1"
    v = _versions(rt)
    assert v["kafka"] == "3.9.1" and v["kafka_version_source"] == "declared"
    assert v["mirrormaker2"] is None  # the team's own MM2: not the clusters' release
    blocks = repr(appendix_section({"versions": v}, {}))
    assert "3.9.1 (declared in external.kafka_version)" in blocks and "'None'" not in blocks


def test_undeclared_external_kafka_version_is_explained_not_none() -> None:
    v = _versions(_external())
    assert v["kafka"] is None and v["kafka_version_source"] == "unknown"  # report.json: null
    report = json.loads(SAMPLE_REPORT.read_text())
    report["versions"] = v
    md = render_markdown(report, {})
    assert "| kafka | `" + UNKNOWN_KAFKA + "` |" in md  # appendix B
    assert "kafka unknown (not declared in external.kafka" in md  # the header's Versions row
    assert "kafka None" not in md and "mirrormaker2 None" not in md
    html = render_html(report, {})
    assert "not declared in external.kafka_version; Kafka has no client API" in html
    blocks = repr(appendix_section(report, {}))
    assert "not declared in external.kafka_version" in blocks and "'None'" not in blocks


@pytest.mark.parametrize("version", ["abc", "", "3", "3.9.1; rm -rf /", True])
def test_external_kafka_version_must_be_a_release(version: Any) -> None:
    with pytest.raises(ScenarioError) as info:
        _external(kafka_version=version)
    assert info.value.field == "external.kafka_version"
