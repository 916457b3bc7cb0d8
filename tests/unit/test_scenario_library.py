"""Every scenario in scenarios/ validates, documents itself and stays CI-sized."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkadrill.scenario import load_scenario

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
FILES = sorted(LIBRARY.glob("*.yaml"))

REQUIRED = {
    "default",
    "broker-loss-acks-all",
    "broker-loss-acks-1",
    "leader-kill",
    "link-cut",
    "link-degraded",
    "mm2-crash",
    "az-partition",
    "region-outage-failover",
    "failback",
}


#: Library scenarios meant to run for long (benchmarks/long_drill.py), never in CI.
LONG_DRILLS = {"long-drill"}


def test_long_drills_are_not_in_the_drill_suite() -> None:
    suite = (Path(__file__).parents[2] / "drills" / "conftest.py").read_text()
    assert not any(f"{name}.yaml" in suite for name in LONG_DRILLS)


def test_library_is_complete() -> None:
    assert {p.stem for p in FILES} >= REQUIRED


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_scenario_validates(path: Path, tmp_path: Path) -> None:
    s = load_scenario(path)
    assert s.name == path.stem, "name is used in report paths: keep it equal to the file name"
    assert s.description
    # CI runs on 2 cores: keep drills short (failback needs a failover and a failback). The
    # long drills are not in the drill suite: they exist to be run for an hour.
    if path.stem not in LONG_DRILLS:
        assert s.duration_seconds <= 120
        assert s.warmup_seconds + s.duration_seconds <= 125
    # The resolved form (written to every run directory) must load back to the same drill.
    resolved = tmp_path / path.name
    resolved.write_text(s.resolved_yaml())
    assert load_scenario(resolved).schedule() == s.schedule()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_scenario_starts_with_what_it_proves(path: Path) -> None:
    head = path.read_text().splitlines()[:8]
    assert head[0].startswith("# ")
    text = "\n".join(head).lower()
    assert "proves" in text and "expected" in text


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_library_load_is_realistic(path: Path) -> None:
    """At least 1,000 msg/s in total, so replication lag (and with it RPO) is exercised,
    unless the scenario's header says why not (a line starting with '# Rate:')."""
    s = load_scenario(path)
    if s.runtime == "external" or "# Rate:" in path.read_text():
        return
    total = sum(p.count * (p.rate_per_second or 1e9) for p in s.workload.producer_groups())
    assert total >= 1000, f"{path.name}: {total} msg/s in total"
