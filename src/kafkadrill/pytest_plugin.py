"""pytest plugin: drills as tests (registered through the `pytest11` entry point)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: uses real Kafka, MirrorMaker 2 and Toxiproxy (slow)"
    )
