"""Real topologies for integration tests (real Kafka, real MM2, real Toxiproxy)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kafkadrill.runtimes.local.runtime import LocalRuntime
from kafkadrill.topology import two_dc


def _runtime(tmp_path_factory: pytest.TempPathFactory, nodes: int) -> Iterator[LocalRuntime]:
    workdir: Path = tmp_path_factory.mktemp(f"topology-{nodes}x{nodes}")
    with LocalRuntime(two_dc(nodes), workdir) as rt:
        yield rt


# 1+1 on every landing. 3+3 before a release: on every landing the drill suite already cuts,
# heals and restarts MM2 on 3+3 topologies (link-cut, mm2-crash, region-outage-failover) and
# checks the final read on DR; this module re-proves it at the primitive level.
@pytest.fixture(
    scope="module",
    params=[pytest.param(1, id="1+1"), pytest.param(3, id="3+3", marks=pytest.mark.release)],
)
def topology(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRuntime]:
    yield from _runtime(tmp_path_factory, request.param)
