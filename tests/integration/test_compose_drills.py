"""Drills from the scenario library on the compose runtime: the same objectives as locally.

Skipped (with the reason) when no Docker engine answers; CI sets one up (.ci/docker-setup.sh)
and builds the images (`kafkadrill images`; built here too when missing, no registry needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from kafkadrill.history import HistoryWriter, read_history
from kafkadrill.runner import DrillResult, Hook, run_drill
from kafkadrill.runtimes.base import Runtime
from kafkadrill.runtimes.compose.runtime import ComposeRuntime, docker_available
from kafkadrill.scenario import load_scenario

from .model_checks import assert_origins_whole

_why = docker_available()
pytestmark = [
    pytest.mark.integration,
    # The local runtime's drills re-run on containers: the release suite (README "Tests").
    pytest.mark.release,
    pytest.mark.skipif(_why is not None, reason=f"compose runtime needs Docker: {_why}"),
]
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="module", autouse=True)
def images() -> None:
    from kafkadrill.runtimes.compose.images import build_images

    build_images()  # the runtime then prefers these local builds over the official images


def _run(name: str, tmp_path: Path, before_final_read: Hook | None = None) -> DrillResult:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    result = run_drill(
        scenario, runtime="compose", reports_dir=tmp_path, before_final_read=before_final_read
    )
    assert not result.infrastructure_error, result.error
    env = (result.run_dir / "environment.json").read_text()
    assert '"compose"' in env, "the drill did not run on the compose runtime"
    return result


def test_default_broker_loss_loses_nothing(tmp_path: Path) -> None:
    result = _run("default", tmp_path)
    fault = result.report["faults"][0]
    assert fault["type"] == "node.kill" and fault["verified"], fault
    assert result.report["rpo"]["acked"] > 500
    assert result.report["rpo"]["lost"] == 0
    assert result.verdict == "PASS", result.report["objectives"]


def test_link_cut_meets_its_objectives(tmp_path: Path) -> None:
    result = _run("link-cut", tmp_path)
    fault = result.report["faults"][0]
    assert fault["type"] == "link.cut" and fault["verified"], fault
    assert result.verdict == "PASS", result.report["objectives"]


def test_az_partition_is_a_real_cut_and_majority_keeps_writing(tmp_path: Path) -> None:
    result = _run("az-partition", tmp_path)
    fault = result.report["faults"][0]
    assert fault["type"] == "az.partition" and fault["verified"], fault
    events = read_history(result.run_dir / "history.jsonl")
    inject = next(e["t"] for e in events if e["type"] == "fault.inject")
    heal = next(e["t"] for e in events if e["type"] == "fault.heal")
    during = [e for e in events if e["type"] == "send.ok" and inject + 15 < e["t"] < heal]
    assert during, "no acks=all write succeeded on the majority side during the cut"
    assert result.report["rpo"]["lost"] == 0
    assert result.verdict == "PASS", result.report["objectives"]


def test_region_outage_failover_runs_the_runbook(tmp_path: Path) -> None:
    result = _run("region-outage-failover", tmp_path)
    assert result.error is None, result.error
    fault = result.report["faults"][0]
    assert fault["type"] == "region.outage" and fault["verified"], fault
    steps = result.report["rto"]["phases"]["steps"]
    for name in ("detect", "stop_mm2", "translate_offsets", "redirect_producers"):
        assert steps[f"failover/{name}"]["status"] == "ok", steps
    # RPO is measured, whatever it is (as on the local runtime: MM2 lag at the outage).
    assert isinstance(result.report["rpo"]["lost"], int)


def test_active_active_region_loss_keeps_both_origins_whole(tmp_path: Path) -> None:
    """Two active regions, MM2 both ways in containers; east (nodes, its MM2, its links) is
    killed for 20 s: nothing acknowledged is lost on either side, nothing loops back, and once
    east is back both clusters hold every acknowledged write of both origins."""
    result = _run("active-active-region-outage", tmp_path)
    assert result.error is None, result.error
    fault = result.report["faults"][0]
    assert fault["type"] == "region.outage" and fault["verified"], fault
    # Each region's union consumer (its `orders` + the other's copy) received everything.
    assert_origins_whole(
        result.report,
        {"primary", "dr"},
        {"billing-east", "billing-west"},
        origin_topics_exact=True,
    )
    assert result.verdict == "PASS", result.report["objectives"]


def test_stretch_site_loss_over_a_real_inter_site_wan(tmp_path: Path) -> None:
    """A cluster over three sites with 5 ms between them: every node-to-node path between two
    sites crosses a Toxiproxy proxy carrying that WAN (checked on Toxiproxy itself), and losing
    one site loses nothing acknowledged; writes resume while it is still down."""
    wan: dict[str, Any] = {}

    def ask_toxiproxy(rt: Runtime, _history: HistoryWriter) -> None:
        assert isinstance(rt, ComposeRuntime) and rt.toxiproxy is not None
        tp = rt.toxiproxy
        proxies = [p for p in tp.proxies() if p.startswith("az-")]
        wan["proxies"] = proxies
        wan["latency"] = {
            p: sorted(t["attributes"]["latency"] for t in tp.toxics(p) if t["type"] == "latency")
            for p in proxies
        }

    result = _run("stretch-site-loss", tmp_path, before_final_read=ask_toxiproxy)
    assert result.error is None, result.error
    # 3 nodes x 2 other sites x (broker, controller) paths, each with 5 ms both ways.
    assert len(wan["proxies"]) == 12, wan
    assert all(v == [5, 5] for v in wan["latency"].values()), wan
    report = result.report
    assert report["rpo"]["acked"] > 0 and report["rpo"]["lost"] == 0, report["rpo"]
    fault = report["faults"][0]
    assert fault["type"] == "site.outage" and fault["verified"], fault
    recovery = report["checkers"]["recovery"]["figures"]
    assert recovery["writes_recovered"] and recovery["reads_recovered"], recovery
    gap = recovery["write_gap"]
    assert not gap["open"] and gap["to"] < fault["healed_t"], (gap, fault["healed_t"])
    assert result.verdict == "PASS", report["objectives"]


def test_topic_config_sync_on_compose_and_dr_agrees(tmp_path: Path) -> None:
    """Metadata changes made from the host through the published ports reach DR through MM2
    in its container; what the filters exclude never does. Checked from the history and by
    asking DR itself before the final read."""
    on_dr: dict[str, Any] = {}

    def ask_dr(rt: Runtime, _history: HistoryWriter) -> None:
        admin = AdminClient({"bootstrap.servers": rt.bootstrap("dr")})
        md = admin.list_topics(timeout=10)
        on_dr["topics"] = set(md.topics)
        inv = md.topics.get("primary.inventory")
        on_dr["partitions"] = len(inv.partitions) if inv else None
        res = ConfigResource(ResourceType.TOPIC, "primary.inventory")
        entries = admin.describe_configs([res])[res].result(timeout=10)
        on_dr["retention.ms"] = entries["retention.ms"].value
        on_dr["message.timestamp.type"] = entries["message.timestamp.type"].value

    result = _run("topic-config-sync", tmp_path, before_final_read=ask_dr)
    assert result.error is None, result.error
    changes = {c["what"] + "@" + c["topic"]: c for c in result.report["checkers"]["metadata"]
               ["figures"]["changes"]}  # fmt: skip
    assert len(changes) == 5, changes
    for key in ("create (3 partitions)@audit-events", "partitions -> 6@inventory",
                "retention.ms=3600000@inventory"):  # fmt: skip
        assert changes[key]["outcome"] == "synced", changes[key]
    for key in ("create (3 partitions)@scratch-tmp",
                "message.timestamp.type=LogAppendTime@inventory"):  # fmt: skip
        assert changes[key]["outcome"] == "never_appeared", changes[key]
        assert changes[key]["watched_seconds"] >= 20, changes[key]  # most of its window
    assert "primary.audit-events" in on_dr["topics"]
    assert not any("scratch-tmp" in t for t in on_dr["topics"]), on_dr["topics"]
    assert on_dr["partitions"] == 6 and on_dr["retention.ms"] == "3600000", on_dr
    assert on_dr["message.timestamp.type"] != "LogAppendTime", on_dr
    assert result.report["rpo"]["lost"] == 0
    assert result.verdict == "PASS", result.report["objectives"]


def test_mm2_on_kafka_connect_task_failure_is_seen_and_recovered(tmp_path: Path) -> None:
    # mm2_mode: connect on containers: the worker's REST port is published on 127.0.0.1.
    result = _run("mm2-connect-task-fail", tmp_path)
    faults = {f["type"]: f for f in result.report["faults"]}
    assert faults["mm2.task_fail"]["verified"], faults
    assert faults["mm2.connector_stop"]["verified"], faults
    flows = result.report["checkers"]["replication"]["figures"]["flows"]["primary->dr"]
    (fig,) = [f for f in flows["per_fault"].values() if f["type"] == "mm2.task_fail"]
    assert fig["data_stalled"] and fig["visible_after_s"] is not None, fig
    assert fig["data_resumed_after_heal_s"] is not None, fig
    assert result.report["rpo"]["lost"] == 0
    assert result.verdict == "PASS", result.report["objectives"]
