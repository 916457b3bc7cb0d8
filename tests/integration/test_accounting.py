"""Exact accounting on a real topology: a clean run is clean, deleted records are exactly lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient

from kafkadrill.history import HistoryWriter, read_history
from kafkadrill.runner import run_drill
from kafkadrill.runtimes.local.runtime import LocalRuntime
from kafkadrill.scenario import Scenario

pytestmark = pytest.mark.integration


def _scenario(name: str, history_format: str = "jsonl", **objectives: Any) -> Scenario:
    return Scenario.from_dict(
        {
            "name": name,
            "history_format": history_format,
            "duration_seconds": 8,
            "warmup_seconds": 2,
            "topology": {
                "nodes": {"primary": 1, "dr": 1},
                "topics": [{"name": "orders", "partitions": 3, "replication_factor": 1}],
            },
            "workload": {
                "producers": {"count": 2, "rate_per_second": 150, "acks": "all"},
                "consumers": [{"group": "billing", "commit_interval_ms": 500}],
            },
            "final_read": {"timeout_seconds": 30},
            "objectives": {"max_lost": 0, "max_duplicates": 0, "max_skipped": 0, **objectives},
        }
    )


def test_clean_run_reports_nothing_lost_and_passes(tmp_path: Path) -> None:
    result = run_drill(_scenario("clean-run", max_consumer_rereads=0), reports_dir=tmp_path)
    rpo = result.report["rpo"]
    assert result.error is None, result.error
    assert rpo["acked"] > 1500  # 2 producers x 150/s x ~10 s
    assert rpo["lost"] == 0
    assert rpo["duplicates"] == 0
    assert rpo["unknown"] == 0
    assert result.verdict == "PASS", result.report["objectives"]
    for name in (
        "report.json",
        "report.md",
        "report.html",
        "history.jsonl",
        "MANIFEST.sha256",
        "environment.json",
        "scenario.yaml",
    ):
        assert (result.run_dir / name).is_file(), name


def test_deleted_records_are_exactly_the_lost_ones(tmp_path: Path) -> None:
    cut: dict[str, int] = {}

    def delete_half_of_partition_0(rt: LocalRuntime, history: HistoryWriter) -> None:
        admin = AdminClient({"bootstrap.servers": rt.bootstrap("primary"), "log_level": 0})
        consumer_tp = TopicPartition("orders", 0)
        from confluent_kafka import Consumer

        c = Consumer(
            {"bootstrap.servers": rt.bootstrap("primary"), "group.id": "t-wm", "log_level": 0}
        )
        _lo, hi = c.get_watermark_offsets(consumer_tp, timeout=10)
        c.close()
        cut["offset"] = hi // 2
        futs = admin.delete_records([TopicPartition("orders", 0, cut["offset"])])
        for f in futs.values():
            f.result(timeout=30)

    # Written columnar (history.arrow): the exact figures hold on the compact history too (the
    # clean run above writes JSON Lines).
    result = run_drill(
        _scenario("deleted-records", history_format="columnar"),
        reports_dir=tmp_path,
        before_final_read=delete_half_of_partition_0,
    )
    assert result.error is None, result.error
    assert not (result.run_dir / "history.jsonl").exists()
    events = read_history(result.run_dir / "history.arrow", validate=True)
    deleted = {
        e["id"]
        for e in events
        if e["type"] == "send.ok"
        and e["cluster"] == "primary"
        and e["partition"] == 0
        and e["offset"] < cut["offset"]
    }
    assert len(deleted) > 100
    loss = result.report["checkers"]["loss"]
    assert result.report["rpo"]["lost"] == len(deleted)
    sample = {s["id"] for s in loss["evidence"] if "id" in s}
    assert sample and sample <= deleted
    assert result.verdict == "FAIL"
    failed = {o["name"] for o in result.failed_objectives}
    assert "max_lost" in failed
