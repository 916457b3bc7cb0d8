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
