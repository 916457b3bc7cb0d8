"""The plugin's topology and fault fixtures on a real topology: inject, verify, always heal."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psutil
import pytest

from kafkadrill.faults.probe import kafka_ping

pytestmark = pytest.mark.integration


def test_faults_are_injected_and_verified(
    kafkadrill_topology: Callable[..., Any], kafkadrill_fault: Callable[..., Any]
) -> None:
    rt = kafkadrill_topology(1)
    cut = kafkadrill_fault(rt, "link.cut", link="east<->west", direction="both")
    assert cut.verified, cut.verify_detail
    for proxy in rt.link_proxies("east", "west"):
        assert kafka_ping(proxy.listen, 1.0) is None
    paused = kafkadrill_fault(rt, "node.pause", cluster="dr", node=1)
    assert paused.verified
    assert psutil.Process(rt.node_pid("dr", 1)).status() == psutil.STATUS_STOPPED


def test_the_previous_tests_faults_were_healed(kafkadrill_topology: Callable[..., Any]) -> None:
    rt = kafkadrill_topology(1)  # the same running topology (module scope)
    for proxy in rt.link_proxies("east", "west"):
        assert kafka_ping(proxy.listen, 3.0) is not None, f"{proxy.name} still cut"
    proc = psutil.Process(rt.node_pid("dr", 1))
    deadline = time.monotonic() + 5  # SIGCONT, like SIGSTOP, takes effect asynchronously
    while proc.status() == psutil.STATUS_STOPPED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.status() != psutil.STATUS_STOPPED
    rt.wait_healthy("dr", timeout=60)
