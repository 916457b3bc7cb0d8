"""Two real drills on one kept topology (what `pytest drills/` does between drills of an equal
topology): the second gets the first's clusters only after a verified reset, sees none of the
first's records, and a node left dead between them is restarted and checked first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil
import pytest

from kafkadrill.runner import DrillResult, run_drill
from kafkadrill.runtimes.shared.pool import TopologyPool
from kafkadrill.scenario import load_scenario

pytestmark = [pytest.mark.integration]

SCENARIO = Path(__file__).parent.parent.parent / "scenarios" / "default.yaml"
# What this proves is the reset and the isolation, not the broker loss: the shortest drill
# whose fault still elects new leaders and heals before the end.
SHORT = {"duration_seconds": 18, "timeline[0].at": 3, "timeline[0].duration": 8}


def _events(result: DrillResult) -> list[dict[str, Any]]:
    lines = (result.run_dir / "history.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _java_pids() -> set[int]:
    own = psutil.Process().children(recursive=True)
    return {p.pid for p in own if "java" in " ".join(p.cmdline())}


def test_a_kept_topology_is_reset_and_isolates_the_next_drill(tmp_path: Path) -> None:
    pool = TopologyPool()
    try:
        first = run_drill(load_scenario(SCENARIO, SHORT), reports_dir=tmp_path, pool=pool)
        assert first.verdict == "PASS", first.error
        kept = pool.rt
        assert kept is not None
        kept.node_kill("primary", 3)  # left behind: the reset must bring it back first
        second = run_drill(load_scenario(SCENARIO, SHORT), reports_dir=tmp_path, pool=pool)
        assert second.verdict == "PASS", second.error
        assert pool.rt is kept  # the same running topology
    finally:
        pool.close()
    assert not _java_pids(), "the kept topology's JVMs outlived pool.close()"

    topology = next(e for e in _events(second) if e["type"] == "topology")
    assert topology["reused"] is True and topology["drill"] == 2
    assert topology["started_in"] == str(first.run_dir)
    assert any(line.startswith("restored: restarted") for line in topology["reset"])
    assert "6 nodes running" in topology["reset"]
    assert second.report["topology"]["reused"] is True

    # Isolation: each drill wrote, read and finally read only its own run-scoped topics.
    for result in (first, second):
        scope = f"kd-{result.run_dir.name.lower()}-"
        events = _events(result)
        written = {e["topic"] for e in events if e["type"] == "send.ok"}
        assert written and all(t.startswith(scope) for t in written), written
        final = next(e for e in events if e["type"] == "final_read.start")
        for cluster, topics in final["topics"].items():
            assert topics and all(scope in t for t in topics), (cluster, topics)
        read = {e["topic"] for e in events if e["type"] == "recv"}
        assert read and all(scope in t for t in read), read
        groups = {e["group"] for e in events if e["type"] == "recv" and e.get("group")}
        assert all(g.startswith(scope) for g in groups), groups
    assert second.report["rpo"]["lost"] == 0

    # The kept topology logged in a home of its own: both sealed run directories are intact
    # after it served the second drill, and each holds the node logs as they were at its end.
    from kafkadrill.report.manifest import verify

    for result in (first, second):
        state = verify(result.run_dir)
        assert state.ok, state.summary()
        assert (result.run_dir / "logs" / "primary-n1" / "server.log").stat().st_size > 0
