"""Sweeps without Kafka: value parsing, matrix expansion, validation before any drill runs,
error rows, Ctrl-C with a partial comparison. run_drill is replaced by a fake that writes a
synthetic run directory the way the real runner does."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import kafkadrill.sweep as sweep_mod
from kafkadrill.cli import main
from kafkadrill.errors import ScenarioError, TopologyError
from kafkadrill.report.store import new_run_dir, write_json
from kafkadrill.runner import DrillResult
from kafkadrill.scenario import Scenario
from kafkadrill.sweep import expand_matrix, parse_sets, run_sweep, split_values

SCENARIO = """\
name: tiny-broker-loss
duration_seconds: 30
warmup_seconds: 2
topology:
  nodes: {primary: 3, dr: 1}
  topics:
    - {name: orders, partitions: 3, replication_factor: 3, config: {min.insync.replicas: "2"}}
workload:
  producers: {count: 1, rate_per_second: 100, acks: all}
  consumers:
    - {group: billing, topic: orders}
timeline:
  - {at: 5, fault: node.kill, target: {cluster: primary, node: 1}, duration: 10}
objectives:
  max_lost: null
  max_duplicates: null
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(SCENARIO)
    return p


class FakeDrills:
    """Stands in for run_drill: records calls, writes run dirs, can crash or be interrupted."""

    def __init__(self, crash_at: set[int] = frozenset(), interrupt_at: int | None = None) -> None:
        self.calls: list[Scenario] = []
        self.crash_at = crash_at
        self.interrupt_at = interrupt_at

    def __call__(self, sc: Scenario, *, reports_dir: Path, **_: Any) -> DrillResult:
        i = len(self.calls)
        self.calls.append(sc)
        if i in self.crash_at:
            raise TopologyError("broker 2 did not start")  # before any run dir, like setup
        d = new_run_dir(reports_dir, sc.name)
        (d / "scenario.yaml").write_text(sc.resolved_yaml())
        acks = sc.workload.producers.acks
        lost = 0 if acks == "all" else 5 + i
        verdict = "PASS" if lost == 0 else "FAIL"
        error = None
        if i == self.interrupt_at:
            verdict, error = "UNKNOWN", "interrupted (Ctrl-C)"
        report = {
            "scenario": sc.name,
            "run_id": d.name,
            "seed": sc.seed,
            "verdict": verdict,
            "error": error,
            "rpo": {"acked": 100, "lost": lost, "window_seconds": lost / 10, "duplicates": 0},
            "rto": {"write_unavailable_seconds": 2.0 + i, "read_unavailable_seconds": 3.0},
        }
        write_json(d / "report.json", report)
        if i == self.interrupt_at:
            raise KeyboardInterrupt  # the real runner re-raises after writing the run dir
        return DrillResult(sc.name, d, verdict, report, error)


def test_split_values_escapes_quotes_and_flow_collections() -> None:
    assert split_values("all,1") == ["all", "1"]
    assert split_values(r"a\,b,c") == ["a,b", "c"]
    assert split_values('"x,y", z') == ['"x,y"', "z"]
    assert split_values("[a, b],{k: 1, j: 2},3") == ["[a, b]", "{k: 1, j: 2}", "3"]
    assert split_values("single") == ["single"]


def test_parse_sets_accumulates_repeated_keys_in_order() -> None:
    sets = parse_sets(["a.b=1,2", "c=x", "a.b=3", "a.b=2"])
    assert sets == {"a.b": ["1", "2", "3"], "c": ["x"]}
    with pytest.raises(ScenarioError, match="KEY=VALUE"):
        parse_sets(["no-equals-sign"])


def test_expand_matrix_is_a_cartesian_product_with_interleaved_repeats() -> None:
    pts = expand_matrix({"a": ["1", "2"], "b": ["x", "y", "z"], "c": ["k"]}, 2, base_seed=40)
    assert len(pts) == 2 * 3 * 2
    assert [p.index for p in pts] == list(range(12))
    combos = [dict(p.values) for p in pts[:6]]
    assert combos == [{"a": a, "b": b, "c": "k"} for a in ("1", "2") for b in ("x", "y", "z")]
    assert [dict(p.values) for p in pts[6:]] == combos  # repeat 1 comes after all of repeat 0
    assert {p.seed for p in pts[:6]} == {40} and {p.seed for p in pts[6:]} == {41}
    assert pts[7].overrides == {"a": "1", "b": "y", "c": "k", "seed": 41}
    assert pts[7].label(["a", "b"]) == "a=1, b=y"
    fixed = expand_matrix({"a": ["1", "2"]}, 3, base_seed=7, fixed_seed=True)
    assert {p.seed for p in fixed} == {7}
    swept = expand_matrix({"seed": ["1", "2"]}, 2, base_seed=7)
    assert [p.seed for p in swept] == [None] * 4
    assert [p.overrides["seed"] for p in swept] == ["1", "2", "1", "2"]
    with pytest.raises(ScenarioError):
        expand_matrix({"a": ["1"]}, 0, base_seed=0)


@pytest.mark.parametrize(
    ("sets", "needle"),
    [
        ({"workload.producers.acks": ["all", "1", "2"]}, "workload.producers.acks=2"),
        ({"workload.producers.ackz": ["all", "1"]}, "workload.producers.ackz"),
        # valid alone, invalid together: the fault would outlast the drill
        ({"duration_seconds": ["30", "10"], "timeline[0].at": ["1"]}, "duration_seconds=10"),
    ],
)
def test_every_combination_is_validated_before_any_drill_runs(
    scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sets: Any, needle: str
) -> None:
    fake = FakeDrills()
    monkeypatch.setattr(sweep_mod, "run_drill", fake)
    with pytest.raises(ScenarioError) as info:
        run_sweep(scenario_file, sets, repeat=2, reports_dir=tmp_path / "reports")
    assert needle in str(info.value)
    assert fake.calls == []  # nothing ran
    assert not (tmp_path / "reports").exists()  # not even a sweep directory


def test_sweep_runs_every_drill_keeps_errors_and_compares(
    scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDrills(crash_at={1})
    monkeypatch.setattr(sweep_mod, "run_drill", fake)
    reports = tmp_path / "reports"
    res = run_sweep(
        scenario_file,
        {"workload.producers.acks": ["all", "1"], "duration_seconds": ["25"]},
        repeat=2,
        reports_dir=reports,
    )
    assert len(fake.calls) == 4 and res.interrupted is None
    base = fake.calls[0].seed
    assert [sc.seed for sc in fake.calls] == [base, base, base + 1, base + 1]
    assert [sc.workload.producers.acks for sc in fake.calls] == ["all", "1", "all", "1"]
    assert {sc.duration_seconds for sc in fake.calls} == {25}
    assert [r.verdict for r in res.runs] == ["PASS", "ERROR", "PASS", "FAIL"]
    assert res.exit_code == 2  # an error row makes the sweep an error, like `kafkadrill run`
    assert res.out_dir.parent == reports / "sweep" / "tiny-broker-loss"

    doc = orjson.loads((res.out_dir / "sweep.json").read_bytes())
    assert doc["status"] == "completed" and doc["varying"] == ["workload.producers.acks"]
    assert [r["setting"] for r in doc["runs"]] == [
        "workload.producers.acks=all",
        "workload.producers.acks=1",
    ] * 2
    assert doc["runs"][1]["run_dir"] is None and "broker 2" in doc["runs"][1]["error"]
    assert all(r["run_dir"] for i, r in enumerate(doc["runs"]) if i != 1)

    comp = res.comparison
    assert comp is not None
    assert [g.label for g in comp.groups] == [
        "workload.producers.acks=all",
        "workload.producers.acks=1",
    ]
    g_one = comp.groups[1]
    assert len(g_one.runs) == 2 and g_one.errors == 1
    rows = list(csv.DictReader(io.StringIO((res.out_dir / "compare.csv").read_text())))
    assert rows[1]["lost_n"] == "1" and rows[1]["lost_median"] == "8"  # the crash is no figure
    assert (
        "fixed overrides in every drill: duration_seconds=25"
        in (res.out_dir / "compare.md").read_text()
    )
    for name in ("compare.html", "runs.csv", "compare.json", "plots/compare.png"):
        assert (res.out_dir / name).is_file()


def test_ctrl_c_stops_after_the_current_drill_and_writes_a_partial_comparison(
    scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDrills(interrupt_at=1)
    monkeypatch.setattr(sweep_mod, "run_drill", fake)
    res = run_sweep(
        scenario_file,
        {"workload.producers.acks": ["all", "1"]},
        repeat=3,
        reports_dir=tmp_path / "reports",
        seed=9,
    )
    assert len(fake.calls) == 2 and res.planned == 6
    assert {sc.seed for sc in fake.calls} == {9}
    assert res.interrupted == "Ctrl-C" and res.exit_code == 130
    # the interrupted drill's run dir is found and kept, with its report
    assert res.runs[1].run_dir is not None and res.runs[1].verdict == "UNKNOWN"
    doc = orjson.loads((res.out_dir / "sweep.json").read_bytes())
    assert doc["status"] == "interrupted"
    assert [r["verdict"] for r in doc["runs"]] == ["PASS", "UNKNOWN"] + ["NOT RUN"] * 4
    md = (res.out_dir / "compare.md").read_text()
    assert "INTERRUPTED (Ctrl-C) after 2 of 6 drills" in md
    assert "interrupted (Ctrl-C)" in md


def test_sweep_cli_fails_fast_on_a_bad_value(
    scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDrills()
    monkeypatch.setattr(sweep_mod, "run_drill", fake)
    args = ["sweep", str(scenario_file), "--set", "workload.producers.acks=all,2"]
    res = CliRunner().invoke(main, [*args, "--reports-dir", str(tmp_path / "r")])
    assert res.exit_code == 2 and fake.calls == []
    assert "workload.producers.acks=2" in res.output


def test_sweep_cli_prints_the_table(
    scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep_mod, "run_drill", FakeDrills())
    args = ["sweep", str(scenario_file), "--set", "workload.producers.acks=all,1"]
    res = CliRunner().invoke(main, [*args, "--reports-dir", str(tmp_path / "r")])
    assert res.exit_code == 1, res.output  # one setting FAILs
    assert "| G2 | workload.producers.acks=1 | 1 | FAIL×1 | 0 | 6 |" in res.output
    assert "sweep.json" in res.output
