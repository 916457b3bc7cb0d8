"""The failback strategies' rewrite of the original's topic (runbooks/failback.py), on fake
clients: what each strategy keeps and discards of a divergent tail (pure logic, no Kafka)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kafkadrill.history import HistoryWriter
from kafkadrill.runbooks.failback import discard_tail, mirrored_prefix
from kafkadrill.runbooks.steps import RunbookAborted, RunbookContext
from kafkadrill.topology import two_dc
from kafkadrill.workload import payload
from kafkadrill.workload.topic_copy import Record


def rec(part: int, off: int, seq: int | None) -> Record:
    value = b"not ours" if seq is None else payload.encode("run1", "p0", seq, 0, 100)
    return Record(part, off, None, value, (), 1000 + off)


class Clients:
    def __init__(self, topics: dict[tuple[str, str], dict[int, list[Record]]]) -> None:
        self.topics = topics
        self.rewritten: dict[str, dict[int, list[Record]]] = {}

    def read_topic(self, bootstrap: str, topic: str) -> dict[int, list[Record]]:
        return self.topics.get((bootstrap, topic), {})

    def rewrite_topic(self, bootstrap: str, topic: str, records: dict[int, list[Record]]) -> int:
        self.rewritten[f"{bootstrap}/{topic}"] = records
        return sum(len(v) for v in records.values())


class Runtime:
    def __init__(self, clients: Clients) -> None:
        self.topology = two_dc(1)
        self.clients = clients

    def bootstrap(self, cluster: str, from_site: str | None = None) -> str:
        return cluster


def ctx(clients: Clients, tmp_path: Any) -> RunbookContext:
    history = HistoryWriter(tmp_path / "h.jsonl", "r")
    return RunbookContext(Runtime(clients), history, [], [], "orders", threading.Event())  # type: ignore[arg-type]


# primary: partition 0 holds p0:0..4, partition 1 holds p0:10..12 and someone else's record.
MINE = {
    0: [rec(0, i, i) for i in range(5)],
    1: [rec(1, 0, 10), rec(1, 1, None), rec(1, 2, 11), rec(1, 3, 12)],
}
# dr's copy (primary.orders): p0:0..2 (one twice: MM2 at-least-once) and p0:10, p0:11.
COPY = {
    0: [rec(0, 0, 0), rec(0, 1, 1), rec(0, 2, 1), rec(0, 3, 2)],
    1: [rec(1, 0, 10), rec(1, 1, 11)],
}


def test_mirrored_prefix_stops_at_the_first_record_the_target_lacks() -> None:
    held = {r.id for recs in COPY.values() for r in recs}
    keep = mirrored_prefix(MINE, held)
    assert [r.offset for r in keep[0]] == [0, 1, 2]  # p0:3, p0:4 never reached dr
    # someone else's record counts as held; p0:12 did not reach dr
    assert [r.offset for r in keep[1]] == [0, 1, 2]


def test_truncate_keeps_the_offsets_of_what_it_keeps(tmp_path: Any) -> None:
    clients = Clients({("primary", "orders"): MINE, ("dr", "primary.orders"): COPY})
    ev = discard_tail(ctx(clients, tmp_path), "primary", "dr", "truncate")
    kept = clients.rewritten["primary/orders"]
    assert [r.offset for r in kept[0]] == [0, 1, 2]
    assert ev["discarded_ids"] == 3  # p0:3, p0:4, p0:12
    assert ev["records_before"] == 9 and ev["kept"] == 6


def test_rebuild_takes_the_dr_copy_duplicates_included(tmp_path: Any) -> None:
    clients = Clients({("primary", "orders"): MINE, ("dr", "primary.orders"): COPY})
    ev = discard_tail(ctx(clients, tmp_path), "primary", "dr", "rebuild")
    kept = clients.rewritten["primary/orders"]
    assert kept == {0: COPY[0], 1: COPY[1]}
    assert ev["discarded_ids"] == 4  # p0:3, p0:4, p0:12 and the record that was not ours
    assert ev["from_copy"] == "dr:primary.orders"


def test_without_a_forward_flow_nothing_tells_what_reached_dr(tmp_path: Any) -> None:
    clients = Clients({})
    with pytest.raises(RunbookAborted, match="no flow dr->primary"):
        discard_tail(ctx(clients, tmp_path), "dr", "primary", "truncate")


def test_a_runtime_without_acls_or_rewrites_refuses_before_anything_starts() -> None:
    from pathlib import Path

    from kafkadrill.errors import ScenarioError
    from kafkadrill.runner import require_capabilities
    from kafkadrill.runtimes.base import runtime_type
    from kafkadrill.scenario import load_scenario
    from kafkadrill.scenario.compile import compile_plan

    lib = Path(__file__).parents[2] / "scenarios"
    fenced = compile_plan(load_scenario(lib / "split-writes-fenced.yaml"))
    with pytest.raises(ScenarioError, match=r"runbook failover needs \['acl'\]"):
        require_capabilities(fenced, runtime_type("fake"))
    require_capabilities(fenced, runtime_type("local"))
    tail = load_scenario(
        lib / "failback-divergent-tail.yaml", overrides={"runbooks.failback.strategy": "truncate"}
    )
    with pytest.raises(ScenarioError, match=r"runbook failback needs \['topic.rewrite'\]"):
        require_capabilities(compile_plan(tail), runtime_type("fake"))


def test_stragglers_do_not_move_once_a_failback_began(tmp_path: Any) -> None:
    from kafkadrill.runbooks.failover import redirect_stragglers

    class Producer:
        spec = type("Spec", (), {"name": "p1"})

        def __init__(self) -> None:
            self.moved: list[str] = []

        def redirect(self, cluster: str, site: str) -> None:
            self.moved.append(cluster)

    c = ctx(Clients({}), tmp_path)
    c.results["failback_started"] = True
    p = Producer()
    redirect_stragglers(c, [p], "dr", "west", 0.0)
    assert p.moved == []
    c.results.pop("failback_started")
    redirect_stragglers(c, [p], "dr", "west", 0.0)
    assert p.moved == ["dr"]
