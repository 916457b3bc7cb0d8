"""topic.retention (issue 21): the scenario errors that would make it lie, and what it sets,
proves and restores (the admin API replaced by a recorder; the real effect is a drill's)."""

from __future__ import annotations

from typing import Any

import pytest

from kafkadrill.faults import base as fault_base
from kafkadrill.faults import retention
from kafkadrill.faults.base import FaultContext
from kafkadrill.faults.catalog import parse_fault
from kafkadrill.topology import two_dc

FAST = {"log.retention.check.interval.ms": "1000"}
NO_SYNC = {"config.properties.exclude": r"retention\.ms, segment\.ms"}


def _problems(topo: Any, **params: Any) -> list[str]:
    _, problems = parse_fault(
        "topic.retention",
        {"cluster": "primary", "topic": "orders"},
        {"retention_ms": 10000, **params},
        topo,
    )
    return [f"{p.field}: {p.message}" for p in problems]


def test_a_sound_setup_is_accepted() -> None:
    assert _problems(two_dc(1, broker_config=FAST, mm2=NO_SYNC)) == []


def test_retention_checked_every_5_minutes_is_refused() -> None:
    (msg,) = _problems(two_dc(1, mm2=NO_SYNC))
    assert "log.retention.check.interval.ms" in msg and "300000" in msg


def test_mm2_copying_the_retention_to_dr_is_refused() -> None:
    (msg,) = _problems(two_dc(1, broker_config=FAST))
    assert "copies retention.ms, segment.ms to 'dr'" in msg


def test_unknown_topic_is_named() -> None:
    _, problems = parse_fault(
        "topic.retention",
        {"cluster": "primary", "topic": "ordres"},
        {"retention_ms": 10000},
        two_dc(1, broker_config=FAST, mm2=NO_SYNC),
    )
    assert [p.field for p in problems] == ["target.topic"]


class Recorder:
    def __init__(self) -> None:
        self.values: dict[str, str | None] = {"retention.ms": None, "segment.ms": "60000"}
        self.starts = {0: 0, 1: 5}
        self.calls: list[dict[str, str | None]] = []

    def topic_level_configs(self, topic: str, names: tuple[str, ...]) -> dict[str, str | None]:
        return {n: self.values[n] for n in names}

    def alter_configs(self, topic: str, values: dict[str, str | None]) -> None:
        self.calls.append(dict(values))
        self.values.update(values)

    def log_starts(self, topic: str) -> dict[int, int]:
        return dict(self.starts)


def test_inject_verify_heal_restore_what_was_there(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    monkeypatch.setattr(retention, "CONFIGS_FACTORY", lambda rt, cluster: rec)
    params, problems = parse_fault(
        "topic.retention", {"cluster": "primary", "topic": "orders"}, {"retention_ms": 10000}
    )
    assert not problems and params is not None
    f = retention.TopicRetention(FaultContext(runtime=None), params)  # type: ignore[arg-type]
    said = f.inject()
    assert "retention.ms=10000" in said and "was retention.ms=default" in said
    assert f.verify()[0]
    rec.starts = {0: 40, 1: 5}  # retention deleted 40 records of partition 0
    out = f.heal()
    # retention.ms was not set on the topic: deleted again; segment.ms back to its value.
    assert rec.calls[-1] == {"retention.ms": None, "segment.ms": "60000"}
    assert "deleted 40 records" in out


def test_verify_fails_when_the_broker_kept_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fault_base, "READ_BACK_SECONDS", 0.3)
    rec = Recorder()
    rec.alter_configs = lambda topic, values: None  # type: ignore[method-assign]
    monkeypatch.setattr(retention, "CONFIGS_FACTORY", lambda rt, cluster: rec)
    params, _ = parse_fault(
        "topic.retention", {"cluster": "primary", "topic": "orders"}, {"retention_ms": 10000}
    )
    f = retention.TopicRetention(FaultContext(runtime=None), params)  # type: ignore[arg-type]
    f.inject()
    ok, detail = f.verify()
    assert not ok and "retention.ms=None" in detail


def test_verify_waits_for_a_broker_that_applies_the_change_late(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The alter returns when the controller committed it; the broker answering the describe
    may still show the old value for a moment (seen in a CI-like run): verify reads again."""
    rec = Recorder()
    monkeypatch.setattr(retention, "CONFIGS_FACTORY", lambda rt, cluster: rec)
    params, _ = parse_fault(
        "topic.retention", {"cluster": "primary", "topic": "orders"}, {"retention_ms": 10000}
    )
    f = retention.TopicRetention(FaultContext(runtime=None), params)  # type: ignore[arg-type]
    f.inject()
    real = rec.topic_level_configs
    stale = iter([{"retention.ms": None, "segment.ms": None}] * 2)
    rec.topic_level_configs = lambda topic, names: next(stale, None) or real(topic, names)  # type: ignore[method-assign]
    ok, detail = f.verify()
    assert ok and "retention.ms=10000" in detail
