"""acl.create (issue 24): an ACL granted on a flow's source, watched on its target. Parameter
checks, the scenario rule that keeps it off workload topics, the change against recorder admins,
and the metadata checker's figures for it. Real MM2: scenarios/acl-sync.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kafkadrill.checkers.metadata import KINDS
from kafkadrill.errors import ScenarioError
from kafkadrill.faults import acl_sync, metadata
from kafkadrill.faults.base import FaultContext
from kafkadrill.faults.catalog import parse_fault
from kafkadrill.history import HistoryWriter
from kafkadrill.scenario import load_scenario
from kafkadrill.topology import TopicSpec, two_dc

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "acl-sync.yaml"


def _topo(**mm2: str) -> Any:
    topics = (TopicSpec("orders", 3, 1), TopicSpec("payments", 1, 1))
    return two_dc(1, topics=topics, mm2={"sync.topic.acls.interval.seconds": "5", **mm2})


def test_a_declared_topic_and_a_short_sync_interval_pass() -> None:
    _, problems = parse_fault("acl.create", {"topic": "payments"}, {}, _topo())
    assert problems == []


def test_mm2s_default_sync_interval_is_refused_with_the_fix() -> None:
    _, problems = parse_fault(
        "acl.create",
        {"topic": "payments"},
        {},
        _topo(**{"sync.topic.acls.interval.seconds": "600"}),
    )
    assert [p.field for p in problems] == ["target.flow"]
    assert "sync.topic.acls.interval.seconds" in (problems[0].fix or "")


def test_expectation_follows_acl_sync_and_the_topic_filter() -> None:
    flow = _topo().flows[0]
    assert acl_sync.acl_expectation(flow, "payments") == "replicated"
    off = _topo(**{"sync.topic.acls.enabled": "false"}).flows[0]
    assert acl_sync.acl_expectation(off, "payments") == "excluded"
    _, problems = parse_fault(
        "acl.create", {"topic": "payments"}, {"expect": "replicated"},
        _topo(**{"sync.topic.acls.enabled": "false"}),
    )  # fmt: skip
    assert [p.field for p in problems] == ["params.expect"]


def test_a_workload_topic_is_refused(tmp_path: Path) -> None:
    text = SCENARIO.read_text().replace("topic: payments}, params", "topic: orders}, params")
    bad = tmp_path / "acl.yaml"
    bad.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert "timeline[0].target.topic" in str(err.value) and "workload topic" in str(err.value)


def test_the_library_scenario_gets_an_authorizer() -> None:
    topo = load_scenario(SCENARIO).to_topology()
    assert all(c.authorizer for c in topo.clusters)


class Admin:
    def __init__(self, held: list[str]) -> None:
        self.held = held
        self.created: list[tuple[str, str, list[str]]] = []

    def topic_acls(self, topic: str) -> list[str]:
        return list(self.held)

    def create_acls(self, topic: str, principal: str, operations: list[str]) -> None:
        self.created.append((topic, principal, operations))
        self.held += [f"{principal} ALLOW {op}" for op in operations]


class Rt:
    topology = _topo()

    def flow(self, name: str) -> Any:
        return self.topology.flows[0]


def test_the_change_applies_on_the_source_and_sees_only_its_principal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = Admin([])
    # The target already holds another principal's ACL: not the change.
    target = Admin(["User:other ALLOW READ"])
    admins = {"primary": source, "dr": target}
    monkeypatch.setattr(metadata, "ADMIN_FACTORY", lambda rt, cluster: admins[cluster])
    monkeypatch.setattr(metadata, "POLL_SECONDS", 0.01)
    params: Any
    params, _ = parse_fault("acl.create", {"topic": "payments"}, {"principal": "User:app"}, None)
    with HistoryWriter(tmp_path / "h.jsonl", "run") as history:
        f = acl_sync.AclCreate(FaultContext(runtime=Rt(), history=history), params)  # type: ignore[arg-type]
        said = f.inject()
        assert "allowed User:app WRITE, READ, DESCRIBE on payments" in said
        assert source.created == [("payments", "User:app", ["WRITE", "READ", "DESCRIBE"])]
        assert f.verify()[0]
        target.held += ["User:app ALLOW READ"]  # what MM2 carries
        assert f.thread is not None
        f.thread.join(5)  # the watcher ends once the target shows it
        healed = f.heal()
    assert "['User:app ALLOW READ']" in healed


def test_the_metadata_checker_counts_acl_changes() -> None:
    assert "acl.create" in KINDS
