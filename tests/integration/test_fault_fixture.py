"""The plugin's topology and fault fixtures on a real topology: inject, verify, always heal."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from kafkadrill.faults.probe import kafka_ping

pytestmark = pytest.mark.integration


def test_faults_are_injected_and_verified(
    kafkadrill_topology: Callable[..., Any], kafkadrill_fault: Callable[..., Any]
) -> None:
    rt = kafkadrill_topology(1)
    cut = kafkadrill_fault(rt, "link.cut", link="east<->west", direction="both")
    assert cut.verified, cut.verify_detail
    for addr in rt.bootstrap("dr", from_site="east").split(","):
        assert kafka_ping(addr, 1.0) is None, f"{addr} answers across a cut link"
    paused = kafkadrill_fault(rt, "node.pause", cluster="dr", node=1)
    assert paused.verified
    assert rt.node_state("dr", 1) == "paused"


def test_the_previous_tests_faults_were_healed(kafkadrill_topology: Callable[..., Any]) -> None:
    rt = kafkadrill_topology(1)  # the same running topology (module scope)
    for addr in rt.bootstrap("dr", from_site="east").split(","):
        assert kafka_ping(addr, 3.0) is not None, f"{addr} still cut"
    deadline = time.monotonic() + 5  # SIGCONT, like SIGSTOP, takes effect asynchronously
    while rt.node_state("dr", 1) == "paused" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rt.node_state("dr", 1) == "running"
    rt.wait_healthy("dr", timeout=60)
