"""Drill arms that override a scenario also carry their own name (reports/<name>/...)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from kafkadrill.scenario import load_scenario

DRILLS = Path(__file__).resolve().parents[2] / "drills"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_drill_{name}", DRILLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("acks", ["all", "1"])
def test_each_broker_loss_arm_is_named_after_its_acks(acks: str) -> None:
    mod = _module("test_broker_loss_acks")
    sc = load_scenario(mod.SCENARIO, mod.arm(acks))
    assert sc.workload.producers.acks == acks
    # Before: the acks=all arm wrote its report under broker-loss-acks-1.
    assert sc.name == f"broker-loss-acks-{acks}"
