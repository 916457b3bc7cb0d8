"""The pytest plugin, driven through pytester (pytest running pytest).

`kafkadrill.runner.run_drill` is replaced by a fake that returns DrillResult objects: these
tests are about collection, options and how outcomes reach pytest, not about Kafka (the real
`pytest drills/` is run end to end separately; see docs/howto/run-drills-in-ci.md). The fake
decides by scenario name: `ok-*` PASS, `bad-*` FAIL (max_lost missed), `broken-*` an
infrastructure failure (verdict UNKNOWN, infrastructure_error=True).
"""

from __future__ import annotations

import dataclasses
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kafkadrill import runner
from kafkadrill.runner import DrillResult
from kafkadrill.scenario import Scenario

pytest_plugins = ["pytester"]


@dataclass
class FakeRunner:
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, scenario: Scenario, *, reports_dir: Path, **_kw: Any) -> DrillResult:
        self.calls.append(
            {
                "name": scenario.name,
                "seed": scenario.seed,
                "kafka_version": scenario.topology.kafka_version,
                "acks": scenario.workload.producers.acks,
                "reports_dir": Path(reports_dir),
            }
        )
        run_dir = Path(reports_dir) / scenario.name / f"20260101T00000{len(self.calls)}Z"
        run_dir.mkdir(parents=True, exist_ok=True)
        lost = 3 if scenario.name.startswith("bad") else 0
        verdict = "PASS"
        error = None
        infra = False
        if scenario.name.startswith("bad"):
            verdict = "FAIL"
        elif scenario.name.startswith("broken"):
            verdict, error, infra = "UNKNOWN", "infrastructure: node primary-n2 did not start", True
        report = {
            "scenario": scenario.name,
            "run_id": run_dir.name,
            "seed": scenario.seed,
            "verdict": verdict,
            "error": error,
            "started_at": "2026-01-01T00:00:00Z",
            "finished_at": "2026-01-01T00:01:30Z",
            "objectives": [
                {
                    "name": "max_lost",
                    "target": 0,
                    "observed": lost,
                    "verdict": "FAIL" if lost else "PASS",
                },
                {"name": "rto_write_seconds", "target": 30, "observed": 4.2, "verdict": "PASS"},
            ],
            "rpo": {
                "acked": 4000,
                "lost": lost,
                "lost_bytes": 600,
                "window_seconds": 0.4,
                "duplicates": 0,
                "unknown": 1,
            },
            "rto": {"write_unavailable_seconds": 4.2, "read_unavailable_seconds": 5.0},
            "checkers": {
                "loss": {
                    "status": "FAIL" if lost else "PASS",
                    "evidence": [
                        {
                            "id": f"p0:{100 + i}",
                            "cluster": "primary",
                            "topic": "orders",
                            "partition": i,
                            "offset": 40 + i,
                            "send_t": 12.5 + i,
                        }
                        for i in range(lost)
                    ],
                }
            },
        }
        return DrillResult(scenario.name, run_dir, verdict, report, error, infra)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeRunner:
    # pytester.runpytest runs in this process, so the plugin sees the patched module attribute.
    f = FakeRunner()
    monkeypatch.setattr(runner, "run_drill", f)
    return f


def _scenario(name: str, extra: str = "") -> str:
    return f"name: {name}\nduration_seconds: 30\n{extra}"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A small project: a scenario library, a drills/ dir opting some of it in, other YAML."""
    lib = pytester.mkdir("scenarios")
    for name in ("ok-default", "ok-link-cut", "bad-loss", "broken-topology", "ok-unlisted"):
        (lib / f"{name}.yaml").write_text(_scenario(name))
    pytester.mkdir("config")
    (pytester.path / "config" / "settings.yaml").write_text("not: [a, scenario\n")
    pytester.mkdir("drills")
    (pytester.path / "drills" / "conftest.py").write_text(
        textwrap.dedent(
            """
            kafkadrill_scenarios = [
                "../scenarios/ok-*.yaml",
                "../scenarios/bad-loss.yaml",
                "../scenarios/broken-topology.yaml",
            ]
            """
        )
    )
    return pytester


# ----- collection -----------------------------------------------------------------------------


def test_collects_only_the_scenarios_a_directory_opts_in(project: pytest.Pytester) -> None:
    res = project.runpytest("drills", "--collect-only", "-q")
    res.stdout.fnmatch_lines(
        [
            # In the order the suite lists them; a glob expands sorted.
            "scenarios/ok-default.yaml::ok-default",
            "scenarios/ok-link-cut.yaml::ok-link-cut",
            "scenarios/ok-unlisted.yaml::ok-unlisted",
            "scenarios/bad-loss.yaml::bad-loss",
            "scenarios/broken-topology.yaml::broken-topology",
            "*5 tests collected*",
        ]
    )
    # From the root nothing else turns into a test: config/settings.yaml is not a scenario and
    # scenarios/ itself does not opt in (each scenario is collected once, via drills/).
    res = project.runpytest("--collect-only", "-q")
    res.stdout.fnmatch_lines(["*5 tests collected*"])
    res.stdout.no_fnmatch_line("*settings.yaml*")
    assert res.ret == 0


def test_a_yaml_named_on_the_command_line_is_collected(project: pytest.Pytester) -> None:
    res = project.runpytest("scenarios/ok-unlisted.yaml", "--collect-only", "-q")
    res.stdout.fnmatch_lines(["scenarios/ok-unlisted.yaml::ok-unlisted", "*1 test collected*"])


def test_k_selects_drills_by_scenario_name(project: pytest.Pytester, fake: FakeRunner) -> None:
    res = project.runpytest("drills", "-k", "link-cut or default")
    res.assert_outcomes(passed=2, deselected=3)
    assert sorted(c["name"] for c in fake.calls) == ["ok-default", "ok-link-cut"]


def test_bad_scenario_is_a_collection_error_naming_file_and_field(
    project: pytest.Pytester, fake: FakeRunner
) -> None:
    (project.path / "scenarios" / "ok-default.yaml").write_text(
        _scenario("ok-default", "workload:\n  producers: {acks: '7'}\n")
    )
    res = project.runpytest("drills")
    res.assert_outcomes(errors=1)
    res.stdout.fnmatch_lines(
        [
            "*ERROR collecting scenarios/ok-default.yaml*",
            "*ok-default.yaml*field 'workload.producers.acks'*",
        ]
    )
    res.stdout.no_fnmatch_line("*Traceback*")
    assert fake.calls == []  # pytest stops before running anything after a collection error


def test_suite_entry_matching_nothing_is_a_collection_error(project: pytest.Pytester) -> None:
    (project.path / "drills" / "conftest.py").write_text(
        'kafkadrill_scenarios = ["../scenarios/nope.yaml"]\n'
    )
    res = project.runpytest("drills")
    res.assert_outcomes(errors=1)
    res.stdout.fnmatch_lines(["*conftest.py*kafkadrill_scenarios*'../scenarios/nope.yaml'*"])


# ----- outcomes -------------------------------------------------------------------------------


def test_pass_fail_and_infrastructure_error_are_reported_as_such(
    project: pytest.Pytester, fake: FakeRunner
) -> None:
    res = project.runpytest("drills", "-k", "ok-default or bad or broken", "-rA")
    res.assert_outcomes(passed=1, failed=1, errors=1)
    out = res.stdout.str()
    # The failure: objective target vs observed, lost ids, RPO/RTO, report paths, reproduce.
    res.stdout.fnmatch_lines(
        [
            "*drill bad-loss: FAIL (seed *, run *",
            "  scenario file: scenarios/bad-loss.yaml",
            "*FAIL    max_lost: target 0, observed 3",
            "*lost ids (3 of 3): p0:100 (primary/orders/0, offset 40, sent t=12.50 s)*",
            "*RPO: acked 4000, lost 3 (600 bytes) over 0.4 s, duplicates 0, unknown 1",
            "*RTO: writes unavailable 4.2 s, reads unavailable 5 s",
            "  report: reports/bad-loss/*/report.html",
            "          reports/bad-loss/*/report.md",
            "  reproduce: pytest scenarios/bad-loss.yaml --seed *",
        ]
    )
    # The infrastructure failure is an ERROR at setup, with its cause, not a failure.
    res.stdout.fnmatch_lines(
        [
            "*ERROR at setup of drill broken-topology*",
            "*infrastructure error: infrastructure: node primary-n2 did not start*",
        ]
    )
    assert "FAILED scenarios/broken-topology.yaml" not in out
    assert "ERROR scenarios/bad-loss.yaml" not in out
    assert "Traceback" not in out  # domain text, not plugin internals
    # The terminal summary lists every drill with its verdict and report.
    res.stdout.fnmatch_lines(
        [
            "*= kafkadrill drills =*",
            "PASS*scenarios/ok-default.yaml::ok-default (seed *): lost 0/4000*",
            "*reports/ok-default/*/report.html",
            "FAIL*scenarios/bad-loss.yaml::bad-loss*lost 3/4000*",
            "UNKNOWN*scenarios/broken-topology.yaml::broken-topology*",
            "*error: infrastructure: node primary-n2 did not start",
        ]
    )


def test_undecided_verdict_without_error_is_an_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeRunner()

    def undecided(scenario: Scenario, **kw: Any) -> DrillResult:
        res = fake(scenario, **kw)
        res.verdict = res.report["verdict"] = "UNKNOWN"
        res.report["objectives"][0]["verdict"] = "UNKNOWN"
        return res

    monkeypatch.setattr(runner, "run_drill", undecided)
    pytester.makefile(".yaml", **{"ok-x": _scenario("ok-x")})
    res = pytester.runpytest("ok-x.yaml")
    res.assert_outcomes(errors=1)
    res.stdout.fnmatch_lines(["*drill ok-x: UNKNOWN*", "*UNKNOWN max_lost*"])


# ----- options --------------------------------------------------------------------------------


def test_options_reach_every_drill(project: pytest.Pytester, fake: FakeRunner) -> None:
    res = project.runpytest(
        "drills",
        "-k",
        "ok-default",
        "--seed",
        "7",
        "--kafka-version",
        "3.9.1",
        "--reports-dir",
        "out/drills",
        "--runtime",
        "local",
    )
    res.assert_outcomes(passed=1)
    assert fake.calls == [
        {
            "name": "ok-default",
            "seed": 7,
            "kafka_version": "3.9.1",
            "acks": "all",
            "reports_dir": project.path / "out" / "drills",
        }
    ]


def test_repeat_makes_one_item_per_repetition_with_its_own_seed(
    project: pytest.Pytester, fake: FakeRunner
) -> None:
    res = project.runpytest("drills", "-k", "ok-default", "--repeat", "3", "--seed", "10", "-v")
    res.assert_outcomes(passed=3)
    res.stdout.fnmatch_lines(
        [
            "*ok-default.yaml::ok-default[[]1-3] PASSED*",
            "*ok-default.yaml::ok-default[[]2-3] PASSED*",
            "*ok-default.yaml::ok-default[[]3-3] PASSED*",
        ]
    )
    assert [c["seed"] for c in fake.calls] == [10, 11, 12]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runtime", "kompose"], "*--runtime kompose: unknown runtime; available: *local*"),
        # The fake runtime runs no Kafka: no drill report may come from it.
        (["--runtime", "fake"], "*--runtime fake: unknown runtime; available: *local*"),
        (["--repeat", "0"], "*--repeat*must be at least 1*"),
    ],
)
def test_bad_options_are_usage_errors(
    project: pytest.Pytester, args: list[str], message: str
) -> None:
    res = project.runpytest("drills", *args)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines([message])


def test_junit_of_drill_results(project: pytest.Pytester, fake: FakeRunner) -> None:
    res = project.runpytest("drills", "--kafkadrill-junit", "out/drills.xml")
    res.assert_outcomes(passed=3, failed=1, errors=1)
    res.stdout.fnmatch_lines(["*JUnit XML of drill results: *out/drills.xml"])
    suite = ET.parse(project.path / "out" / "drills.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("5", "1", "1")
    cases = {tc.get("name"): tc for tc in suite.iter("testcase")}
    bad = cases["bad-loss"]
    assert bad.find("failure") is not None
    assert cases["broken-topology"].find("error") is not None
    props = {p.get("name"): p.get("value") for p in bad.iter("property")}
    assert props["rpo.lost"] == "3"
    assert props["objective.max_lost.observed"] == "3"


# ----- fixtures -------------------------------------------------------------------------------


def test_drill_fixture_runs_scenarios_with_overrides(
    project: pytest.Pytester, fake: FakeRunner
) -> None:
    project.makepyfile(
        test_py_drill="""
        import pytest

        @pytest.fixture(scope="module", params=["all", "1"])
        def result(request, drill):
            return drill("scenarios/ok-default.yaml", workload__producers__acks=request.param)

        def test_relation(result):
            assert result.verdict == "PASS"
            assert result.report["rpo"]["lost"] == 0

        @pytest.fixture
        def broken(drill):
            return drill("scenarios/broken-topology.yaml")

        def test_broken_setup(broken):
            pass

        def test_broken_in_body(drill):
            drill("scenarios/broken-topology.yaml", seed=5)
        """
    )
    res = project.runpytest("test_py_drill.py", "--seed", "3")
    res.assert_outcomes(passed=2, errors=2)
    assert [(c["name"], c["acks"], c["seed"]) for c in fake.calls] == [
        ("ok-default", "all", 3),
        ("ok-default", "1", 3),
        ("broken-topology", "all", 3),
        ("broken-topology", "all", 5),  # an explicit override beats --seed
    ]
    # Infrastructure is an error in setup and in a test body alike, never a failure.
    res.stdout.fnmatch_lines(["*ERROR at setup of test_broken_setup*"])
    res.stdout.fnmatch_lines(["*ERROR at call of test_broken_in_body*"])
    res.stdout.fnmatch_lines(["*infrastructure error: *node primary-n2 did not start*"])
    assert "failed" not in res.stdout.lines[-1]
    # Drills run from fixtures are in the summary under the test that ran them.
    res.stdout.fnmatch_lines(
        [
            "*= kafkadrill drills =*",
            "PASS*test_py_drill.py::test_relation[[]all[]] (ok-default) (seed 3)*",
            "PASS*test_py_drill.py::test_relation[[]1[]] (ok-default) (seed 3)*",
            "UNKNOWN*test_py_drill.py::test_broken_setup (broken-topology)*",
        ]
    )


def test_drill_fixture_bad_override_names_the_field(
    project: pytest.Pytester, fake: FakeRunner
) -> None:
    project.makepyfile(
        test_py_drill="""
        import pytest
        from kafkadrill.errors import ScenarioError

        def test_typo(drill):
            with pytest.raises(ScenarioError, match="workload.producers.akcs"):
                drill("scenarios/ok-default.yaml", workload__producers__akcs="1")
        """
    )
    project.runpytest("test_py_drill.py").assert_outcomes(passed=1)
    assert fake.calls == []


def test_topology_fixture_starts_once_per_module_and_stops(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kafkadrill.runtimes import base as runtime

    events: list[str] = []

    class FakeRuntime:
        def __init__(self, topology: Any, workdir: Path, **_options: Any) -> None:
            self.topology = topology
            self.workdir = workdir

        def __enter__(self) -> FakeRuntime:
            events.append(f"start {len(self.topology.clusters[0].nodes)}")
            return self

        def __exit__(self, *exc: object) -> None:
            events.append("stop")

    local = runtime.runtime_type("local")
    monkeypatch.setitem(runtime.RUNTIMES, "local", dataclasses.replace(local, factory=FakeRuntime))
    pytester.makepyfile(
        test_topo="""
        def test_a(kafkadrill_topology):
            assert kafkadrill_topology(3) is kafkadrill_topology(3)

        def test_b(kafkadrill_topology):
            kafkadrill_topology(3)
            kafkadrill_topology(nodes=1)
        """
    )
    pytester.runpytest("test_topo.py").assert_outcomes(passed=2)
    assert events == ["start 3", "start 1", "stop", "stop"]


def test_root_conftest_does_not_register_the_plugin_twice(pytester: pytest.Pytester) -> None:
    root_conftest = Path(__file__).parents[2] / "conftest.py"
    pytester.makeconftest(root_conftest.read_text())
    pytester.makepyfile(test_x="def test_x(drill): pass")
    pytester.runpytest("test_x.py").assert_outcomes(passed=1)


def test_failure_text_names_the_checkers_behind_an_unknown(tmp_path: Path) -> None:
    """An UNKNOWN with every objective met says which checker could not judge and why;
    MEASURED figures (no target) are not listed as objectives not met."""
    from kafkadrill.pytest_plugin import failure_text

    report = {
        "scenario": "s",
        "objectives": [
            {"name": "max_lost", "target": 0, "observed": 0, "verdict": "PASS"},
            {"name": "max_duplicates", "target": None, "observed": 3, "verdict": "MEASURED"},
        ],
        "checkers": {
            "loss": {"status": "PASS", "notes": []},
            "copier": {"status": "UNKNOWN", "notes": ["not judged: c on primary: 40 input"]},
        },
    }
    text = failure_text(DrillResult("s", tmp_path, "UNKNOWN", report))
    assert "objectives not met" not in text
    assert "checker copier: UNKNOWN" in text and "not judged: c on primary: 40 input" in text
    assert "checker loss" not in text
