"""The DrillPlan (kafkadrill.plan) compiled from a scenario, and the import rules around it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kafkadrill.plan import DrillPlan
from kafkadrill.scenario import Scenario, compile_plan, load_scenario
from kafkadrill.scenario.rules import RULES
from kafkadrill.timeline import StartRunbook, plan_operations

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "kafkadrill"
LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml"))


def _imports(path: Path) -> set[str]:
    """Every kafkadrill module a file imports, at any level (TYPE_CHECKING blocks excluded)."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for ch in ast.iter_child_nodes(node):
            if isinstance(ch, ast.If) and "TYPE_CHECKING" in ast.unparse(ch.test):
                continue
            if isinstance(ch, ast.Import):
                out.update(a.name for a in ch.names)
            elif isinstance(ch, ast.ImportFrom) and ch.module and not ch.level:
                out.add(ch.module)
            visit(ch)

    visit(ast.parse(path.read_text()))
    return {m for m in out if m.startswith("kafkadrill")}


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_plan_matches_the_scenario(path: Path) -> None:
    sc = load_scenario(path)
    plan = compile_plan(sc)
    assert isinstance(plan, DrillPlan)
    assert (plan.name, plan.seed, plan.source) == (sc.name, sc.seed, sc.source)
    assert plan.topology == sc.to_topology()
    assert list(plan.schedule) == sc.schedule()
    assert plan.resolved_yaml == sc.resolved_yaml()
    assert plan.objectives.as_dict() == sc.objectives.model_dump(mode="json")
    groups = sc.workload.producer_groups()
    assert len(plan.producers) == sum(g.count for g in groups)
    assert len({p.name for p in plan.producers}) == len(plan.producers)
    assert [p.topic for p in plan.producers][:1] == [groups[0].topic]
    assert len(plan.consumers) == sum(c.count for c in sc.workload.consumers)
    fo = plan.runbooks.failover
    if fo is not None:
        assert fo.watch_at == sc.failover_watch_at()
    assert ("external" in plan.runtime_options) == (sc.external is not None)


def test_plan_operations_start_the_failover_at_its_trigger_fault() -> None:
    sc = Scenario.from_dict(
        {
            "name": "t",
            "duration_seconds": 30,
            "timeline": [
                {"at": 4, "fault": "node.kill", "target": {"cluster": "primary", "node": 1}},
            ],
            "runbooks": {"failover": {"trigger": {"on_fault": 0}}, "failback": {"at": 25}},
        }
    )
    ops = plan_operations(compile_plan(sc))
    starts = [op for op in ops if isinstance(op, StartRunbook)]
    assert starts == [StartRunbook(4, "failover", "f0"), StartRunbook(25, "failback")]


def test_rules_run_in_one_ordered_registry() -> None:
    orders = [r.order for r in RULES]
    assert orders == sorted(orders)
    assert [r.name for r in RULES][:1] == ["topology_rule"]


def test_the_scenario_package_imports_no_runtime() -> None:
    for path in (SRC / "scenario").rglob("*.py"):
        bad = {m for m in _imports(path) if m.startswith("kafkadrill.runtimes")}
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


@pytest.mark.parametrize("module", ["plan.py", "timeline.py", "runtime_options.py"])
def test_below_the_runner_no_scenario_schema(module: str) -> None:
    bad = {m for m in _imports(SRC / module) if m.startswith("kafkadrill.scenario")}
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "check readiness (MM2 checkpoints per group: recorded, no gate)"),
        (
            {"runbooks.failover.max_checkpoint_age_seconds": 7.5},
            "check readiness (gate: REFUSE the failover unless every group has a checkpoint "
            "for every partition, the oldest at most 7.5 s old)",
        ),
        ({"runbooks.failover.translate_offsets": False}, "no readiness check"),
    ],
)
def test_plan_states_the_failover_readiness_check(
    overrides: dict[str, object], expected: str
) -> None:
    from kafkadrill.runtimes.external.plan import render_plan

    sc = load_scenario(ROOT / "scenarios" / "stale-checkpoints-failover.yaml", overrides or None)
    text = render_plan(compile_plan(sc), "local")
    assert expected in text, text


def test_plan_text_states_transactions_and_isolation() -> None:
    from kafkadrill.runtimes.external.plan import render_plan

    plan = compile_plan(load_scenario(ROOT / "scenarios" / "transactions-leader-kill.yaml"))
    text = render_plan(plan)
    assert "transactions of 50, 20% aborted on purpose, timeout 15000 ms" in text
    audit = next(line for line in text.splitlines() if "consumer group audit" in line)
    assert "read_uncommitted" in audit
    billing = next(line for line in text.splitlines() if "consumer group billing" in line)
    assert "read_" not in billing  # read_committed, the default, is not repeated
