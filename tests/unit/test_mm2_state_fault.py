"""mm2.offsets_loss (issue 21): kill first, then delete the offsets topic MM2 really uses; the
verification needs both; heal restarts the flow. Runtime and admin are recorders here; the
re-copy itself is scenarios/mm2-offsets-lost.yaml on real MM2."""

from __future__ import annotations

from typing import Any

import pytest

from kafkadrill.faults import mm2_state
from kafkadrill.faults.base import FaultContext
from kafkadrill.faults.catalog import parse_fault
from kafkadrill.topology import Flow, two_dc


class Rt:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.alive = True

    def flow(self, name: str) -> Flow:
        return Flow("primary", "dr", properties={"dr.offset.storage.topic": "my-offsets"})

    def flow_kill(self, flow: Flow) -> str:
        self.calls.append("kill")
        self.alive = False
        return "SIGKILL"

    def flow_alive(self, flow: Flow) -> bool:
        return self.alive

    def flow_start(self, flow: Flow) -> str:
        self.calls.append("start")
        self.alive = True
        return "started"


class Admin:
    def __init__(self, rt: Rt) -> None:
        self.rt = rt
        self.topics = {"my-offsets"}

    def partitions(self, topic: str) -> int | None:
        return 1 if topic in self.topics else None

    def delete_topic(self, topic: str) -> None:
        assert not self.rt.alive, "a live MM2 would recreate its offsets topic"
        self.rt.calls.append(f"delete {topic}")
        self.topics.discard(topic)


def test_unknown_flow_is_named() -> None:
    _, problems = parse_fault("mm2.offsets_loss", {"flow": "dr->primary"}, {}, two_dc(1))
    assert [p.field for p in problems] == ["target.flow"]


def test_default_offsets_topic_is_mm2s() -> None:
    assert mm2_state.offsets_topic(Flow("primary", "dr")) == "mm2-offsets.primary.internal"


def test_kill_delete_verify_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    rt = Rt()
    admin = Admin(rt)
    monkeypatch.setattr(mm2_state, "ADMIN_FACTORY", lambda runtime, cluster: admin)
    params: Any
    params, _ = parse_fault("mm2.offsets_loss", {"flow": "primary->dr"}, {})
    f = mm2_state.Mm2OffsetsLoss(FaultContext(runtime=rt), params)  # type: ignore[arg-type]
    assert "dr:my-offsets deleted" in f.inject()
    assert f.verify(timeout=0)[0]
    assert "without my-offsets" in f.heal()
    assert rt.calls == ["kill", "delete my-offsets", "start"]


def test_a_topic_that_stays_fails_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    rt = Rt()
    admin = Admin(rt)
    admin.delete_topic = lambda topic: None  # type: ignore[method-assign]
    monkeypatch.setattr(mm2_state, "ADMIN_FACTORY", lambda runtime, cluster: admin)
    params: Any
    params, _ = parse_fault("mm2.offsets_loss", {"flow": "primary->dr"}, {})
    f = mm2_state.Mm2OffsetsLoss(FaultContext(runtime=rt), params)  # type: ignore[arg-type]
    f.inject()
    ok, detail = f.verify(timeout=0)
    assert not ok and "still exists" in detail


def test_state_loss_deletes_every_internal_topic_named(monkeypatch: pytest.MonkeyPatch) -> None:
    rt = Rt()
    admin = Admin(rt)
    admin.topics = {"my-offsets", "mm2-configs.primary.internal"}  # status already gone
    monkeypatch.setattr(mm2_state, "ADMIN_FACTORY", lambda runtime, cluster: admin)
    params: Any
    params, problems = parse_fault("mm2.state_loss", {"flow": "primary->dr"}, {})
    assert not problems and params.topics == ["offsets", "configs", "status"]
    f = mm2_state.Mm2StateLoss(FaultContext(runtime=rt), params)  # type: ignore[arg-type]
    said = f.inject()
    assert "dr:my-offsets deleted" in said and "dr:mm2-configs.primary.internal deleted" in said
    assert "dr:mm2-status.primary.internal was already absent" in said
    ok, detail = f.verify(timeout=0)
    assert ok, detail
    f.heal()
    assert rt.calls == ["kill", "delete my-offsets", "delete mm2-configs.primary.internal", "start"]


def test_state_loss_refuses_a_topic_kind_mm2_does_not_have() -> None:
    _, problems = parse_fault("mm2.state_loss", {"flow": "primary->dr"}, {"topics": ["logs"]})
    assert problems and "topics" in problems[0].field


def test_internal_topic_names_follow_mm2_and_its_overrides() -> None:
    flow = Flow("east", "west", properties={"west.status.storage.topic": "st"})
    assert mm2_state.state_topic(flow, "configs") == "mm2-configs.east.internal"
    assert mm2_state.state_topic(flow, "status") == "st"
