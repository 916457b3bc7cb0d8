"""What the report says of the environment (issue 19, found on the external runtime)."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from kafkadrill.report.sections.appendix import appendix_section
from kafkadrill.runner import _versions


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
