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


@pytest.fixture(scope="module", params=[1, 3], ids=["1+1", "3+3"])
def topology(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRuntime]:
    yield from _runtime(tmp_path_factory, request.param)
