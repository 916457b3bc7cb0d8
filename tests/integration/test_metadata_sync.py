"""Metadata replication for real: the topic-config-sync scenario on a local 1+1 topology.

What must hold, with margins (never an exact time): the created topic and the added partitions
and the retention.ms change show on DR inside their watch windows; the topic matching
topics.exclude and the config MM2's default filter excludes never do. Checked twice: from the
history (the metadata checker) and, independently, by asking DR itself before the final read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from kafkadrill.history import HistoryWriter
from kafkadrill.runner import run_drill
from kafkadrill.runtimes.base import Runtime
from kafkadrill.scenario import load_scenario

pytestmark = pytest.mark.integration

SCENARIO = Path(__file__).parents[2] / "scenarios" / "topic-config-sync.yaml"


def test_topic_config_sync_scenario_passes_and_dr_agrees(tmp_path: Path) -> None:
    seen_on_dr: dict[str, Any] = {}

    def ask_dr(rt: Runtime, _history: HistoryWriter) -> None:
        admin = AdminClient({"bootstrap.servers": rt.bootstrap("dr")})
        md = admin.list_topics(timeout=10)
        seen_on_dr["topics"] = set(md.topics)
        inv = md.topics.get("primary.inventory")
        seen_on_dr["inventory_partitions"] = len(inv.partitions) if inv else None
        res = ConfigResource(ResourceType.TOPIC, "primary.inventory")
        entries = admin.describe_configs([res])[res].result(timeout=10)
        seen_on_dr["retention.ms"] = entries["retention.ms"].value
        seen_on_dr["message.timestamp.type"] = entries["message.timestamp.type"].value

    scenario = load_scenario(SCENARIO)
    result = run_drill(scenario, reports_dir=tmp_path, before_final_read=ask_dr)
    assert result.error is None, result.error
    meta = result.report["checkers"]["metadata"]
    changes = {(c["topic"], c["what"]): c for c in meta["figures"]["changes"]}
    assert len(changes) == 5, changes

    for key in (
        ("audit-events", "create (3 partitions)"),
        ("inventory", "partitions -> 6"),
        ("inventory", "retention.ms=3600000"),
    ):
        c = changes[key]
        assert c["outcome"] == "synced", c
        # Showed inside its window (30-35 s); MM2 here refreshes topics every 5 s and syncs
        # configs every 10 s, so anything near the window means something is wrong.
        assert 0 < c["sync_seconds"] < 30, c
    for key in (("scratch-tmp", "create (3 partitions)"),
                ("inventory", "message.timestamp.type=LogAppendTime")):  # fmt: skip
        c = changes[key]
        assert c["outcome"] == "never_appeared", c
        assert c["watched_seconds"] >= 20, c  # absent through (most of) its 30-35 s window

    # DR itself, asked after the faults phase (independent of the history).
    assert "primary.audit-events" in seen_on_dr["topics"]
    assert not any("scratch-tmp" in t for t in seen_on_dr["topics"]), seen_on_dr["topics"]
    assert seen_on_dr["inventory_partitions"] == 6
    assert seen_on_dr["retention.ms"] == "3600000"
    assert seen_on_dr["message.timestamp.type"] != "LogAppendTime"

    assert meta["status"] == "PASS", meta
    assert result.verdict == "PASS", result.report["objectives"]
    assert result.report["rpo"]["lost"] == 0
    assert "Metadata replication" in (result.run_dir / "report.md").read_text()
