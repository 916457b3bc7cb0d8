"""pytest plugin: drills as tests (registered through the `pytest11` entry point).

What it adds (docs/howto/run-drills-in-ci.md is the user guide):

- Scenario files as test items. A YAML file becomes a drill item when it is named on the command
  line (`pytest scenarios/link-cut.yaml`) or listed by a directory that opts in: a conftest.py
  with ``kafkadrill_scenarios = ["../scenarios/default.yaml", "*.yaml"]`` (glob patterns,
  relative to that conftest). No other YAML in the repository is ever collected.
- Error families mapped onto pytest outcomes: a bad scenario (ScenarioError) is a *collection
  error* naming file and field; the drill runs in the item's *setup*, so infrastructure trouble
  (TopologyError, verdict UNKNOWN) is a pytest *error*; the verdict is judged in the *call*
  phase, so a missed objective is a *failure* whose text is written for the on-call reader.
- Fixtures: ``drill`` (run a scenario, get a DrillResult) and ``kafkadrill_topology`` (start a
  two-DC topology and keep it for a module's tests).
- Options: --kafka-version, --runtime, --reports-dir, --seed, --repeat, --fresh-topology,
  --kafkadrill-junit.
- A terminal summary with every drill's verdict and report path.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from kafkadrill.errors import ScenarioError, TopologyError
from kafkadrill.runtimes.shared.pool import TopologyPool

if TYPE_CHECKING:
    from kafkadrill.runner import DrillResult
    from kafkadrill.runtimes.base import Runtime
    from kafkadrill.scenario import Scenario
    from kafkadrill.topology import Topology

__all__ = [
    "DrillFailed",
    "DrillInfrastructureError",
    "DrillRunner",
    "failure_text",
]

SCENARIOS_VAR = "kafkadrill_scenarios"  # the conftest.py variable a directory opts in with
YAML_SUFFIXES = (".yaml", ".yml")
MAX_LOST_SAMPLE = 5

log = logging.getLogger("kafkadrill.drill")


# --------------------------------------------------------------------------------------------
# Exceptions: how a drill outcome reaches pytest
# --------------------------------------------------------------------------------------------


class DrillFailed(AssertionError):
    """The drill ran and missed an objective (a pytest *failure*)."""

    def __init__(
        self, result: DrillResult, reproduce: str | None = None, source: str | None = None
    ) -> None:
        self.result = result
        super().__init__(failure_text(result, reproduce=reproduce, source=source))


class DrillInfrastructureError(TopologyError):
    """The drill could not decide: infrastructure failed or the verdict is UNKNOWN.

    Reported as a pytest *error*, never as a failure, even when raised in a test body.
    """

    def __init__(
        self, result: DrillResult, reproduce: str | None = None, source: str | None = None
    ) -> None:
        self.result = result
        super().__init__(failure_text(result, reproduce=reproduce, source=source))


# --------------------------------------------------------------------------------------------
# Failure text for the on-call reader
# --------------------------------------------------------------------------------------------


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{round(v, 3):g}"  # milliseconds are the useful precision for RPO/RTO
    return "-" if v is None else str(v)


def _show(path: Path | str) -> str:
    # Paths relative to where the reader ran pytest (shorter, clickable in CI logs).
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def _lost_sample(report: Mapping[str, Any]) -> list[str]:
    loss = (report.get("checkers") or {}).get("loss") or {}
    out = []
    for ev in (loss.get("evidence") or [])[:MAX_LOST_SAMPLE]:
        if not isinstance(ev, Mapping):
            continue
        where = "/".join(
            str(ev[k]) for k in ("cluster", "topic", "partition") if ev.get(k) is not None
        )
        bits = [where] if where else []
        if ev.get("offset") is not None:
            bits.append(f"offset {ev['offset']}")
        if ev.get("send_t") is not None:
            bits.append(f"sent t={float(ev['send_t']):.2f} s")
        out.append(f"{ev.get('id')} ({', '.join(bits)})" if bits else str(ev.get("id")))
    return out


def failure_text(
    result: DrillResult, *, reproduce: str | None = None, source: str | None = None
) -> str:
    """What an on-call engineer needs first: what failed, by how much, where the evidence is."""
    r = result.report or {}
    rpo, rto = r.get("rpo") or {}, r.get("rto") or {}
    lines = [
        f"drill {r.get('scenario', result.scenario)}: {result.verdict} "
        f"(seed {_fmt(r.get('seed'))}, run {_fmt(r.get('run_id'))})"
    ]
    if source:
        lines.append(f"  scenario file: {_show(source)}")
    if result.error:
        kind = "infrastructure error" if result.infrastructure_error else "error"
        first, *rest = result.error.strip().splitlines() or [""]
        lines.append(f"  {kind}: {first}")
        lines += [f"    {x}" for x in rest[-6:]]  # the end of a traceback is the useful part
    objectives = r.get("objectives") or []
    # MEASURED: a figure with no target, reported and never judged.
    missed = [o for o in objectives if o.get("verdict") not in ("PASS", "MEASURED")]
    if missed:
        lines.append("  objectives not met:")
        for o in missed:
            lines.append(
                f"    {o.get('verdict', '?'):7} {o.get('name')}: target {_fmt(o.get('target'))}, "
                f"observed {_fmt(o.get('observed'))}"
            )
    # Why the verdict is what it is when no objective says: each checker that did not pass,
    # with its first notes (an UNKNOWN names what it could not judge).
    for name, c in sorted((r.get("checkers") or {}).items()):
        if isinstance(c, Mapping) and c.get("status") in ("FAIL", "UNKNOWN"):
            notes = [str(n) for n in (c.get("notes") or [])][:3]
            lines.append(
                f"  checker {name}: {c.get('status')}" + "".join(f"\n    {n}" for n in notes)
            )
    sample = _lost_sample(r)
    if sample:
        lines.append(f"  lost ids ({len(sample)} of {_fmt(rpo.get('lost'))}): " + "; ".join(sample))
    if rpo:
        lines.append(
            f"  RPO: acked {_fmt(rpo.get('acked'))}, lost {_fmt(rpo.get('lost'))} "
            f"({_fmt(rpo.get('lost_bytes'))} bytes) over {_fmt(rpo.get('window_seconds'))} s, "
            f"duplicates {_fmt(rpo.get('duplicates'))}, unknown {_fmt(rpo.get('unknown'))}"
        )
    if rto:
        lines.append(
            f"  RTO: writes unavailable {_fmt(rto.get('write_unavailable_seconds'))} s, "
            f"reads unavailable {_fmt(rto.get('read_unavailable_seconds'))} s"
        )
    for f in (r.get("findings") or [])[:5]:
        if isinstance(f, Mapping):
            lines.append(f"  [{f.get('severity')}] {f.get('text')} -> {f.get('suggestion')}")
    lines.append(f"  report: {_show(result.run_dir / 'report.html')}")
    lines.append(f"          {_show(result.run_dir / 'report.md')}")
    if reproduce:
        lines.append(f"  reproduce: {reproduce}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Options and per-session state
# --------------------------------------------------------------------------------------------


@dataclass
class _Recorded:
    nodeid: str
    result: DrillResult


@dataclass
class _State:
    reports_dir: Path
    seed: int | None
    kafka_version: str | None
    repeat: int
    junit: Path | None
    runtime: str | None = None
    # One topology kept between consecutive drills of an equal topology (None: --fresh).
    pool: TopologyPool | None = None
    results: list[_Recorded] = field(default_factory=list)
    current: str = ""  # node id of the test running now (the session-scoped `drill` needs it)

    def overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.seed is not None:
            out["seed"] = self.seed
        if self.kafka_version:
            out["topology.kafka_version"] = self.kafka_version
        return out


_STATE = pytest.StashKey[_State]()


def _positive_int(text: str) -> int:
    import argparse

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("kafkadrill", "kafkadrill drills")
    g.addoption(
        "--kafka-version",
        dest="kafkadrill_kafka_version",
        default=None,
        metavar="VERSION",
        help="Run every drill on this Kafka version (overrides topology.kafka_version).",
    )
    g.addoption(
        "--runtime",
        dest="kafkadrill_runtime",
        default=None,
        metavar="NAME",
        help="What brings topologies to life: a registered runtime name (default: the "
        "scenario's `runtime`, else local; `kafkadrill runtimes` lists them).",
    )
    g.addoption(
        "--reports-dir",
        dest="kafkadrill_reports_dir",
        default="reports",
        metavar="DIR",
        help="Where run directories go (default: reports/, relative to the invocation dir).",
    )
    g.addoption(
        "--seed",
        dest="kafkadrill_seed",
        type=int,
        default=None,
        metavar="N",
        help="Override every drill's seed (repetition k of --repeat uses N+k-1).",
    )
    g.addoption(
        "--repeat",
        dest="kafkadrill_repeat",
        type=_positive_int,
        default=1,
        metavar="N",
        help="Run each scenario item N times (each with its own seed).",
    )
    g.addoption(
        "--fresh-topology",
        dest="kafkadrill_fresh",
        action="store_true",
        default=False,
        help="Start and stop a topology for every drill. Default: consecutive drills of an "
        "equal topology share one, with a verified reset between them (reports say which).",
    )
    g.addoption(
        "--kafkadrill-junit",
        dest="kafkadrill_junit",
        default=None,
        metavar="PATH",
        help="Also write a JUnit XML of drill results (figures as properties) to PATH.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: uses real Kafka, MirrorMaker 2 and Toxiproxy (slow)"
    )
    config.addinivalue_line(
        "markers", "drill: runs a real kafkadrill drill (minutes; select with -m drill)"
    )
    from kafkadrill.runtimes.base import runtime_names

    runtime = config.getoption("kafkadrill_runtime")
    if runtime is not None and runtime not in runtime_names():
        # Test-only runtimes (the fake) are refused: no drill report may come from them.
        raise pytest.UsageError(
            f"--runtime {runtime}: unknown runtime; available: {', '.join(runtime_names())}"
        )
    base = config.invocation_params.dir
    junit = config.getoption("kafkadrill_junit")
    config.stash[_STATE] = _State(
        reports_dir=base / config.getoption("kafkadrill_reports_dir"),
        seed=config.getoption("kafkadrill_seed"),
        kafka_version=config.getoption("kafkadrill_kafka_version"),
        repeat=config.getoption("kafkadrill_repeat"),
        junit=base / junit if junit else None,
        runtime=runtime,
        pool=None if config.getoption("kafkadrill_fresh") else TopologyPool(),
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    st = config.stash.get(_STATE, None)
    if st is not None and st.pool is not None:
        st.pool.close()  # the kept topology ends with the session (also after Ctrl-C)


def _state(config: pytest.Config) -> _State:
    return config.stash[_STATE]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before fixtures are set up: a module-scoped fixture calling `drill` runs in this item.
    st = _state(item.config)
    st.current = item.nodeid
    if st.pool is not None and not (
        isinstance(item, DrillItem) or "drill" in getattr(item, "fixturenames", ())
    ):
        # A test that runs no drill may start its own topology: the kept one must not idle
        # beside it on the same cores.
        st.pool.close()


# --------------------------------------------------------------------------------------------
# Running a drill (shared by scenario items and the `drill` fixture)
# --------------------------------------------------------------------------------------------


def _progress(name: str) -> Callable[[dict[str, Any]], None]:
    # Live progress for `--log-cli-level=INFO`: phases and fault events, not every tick.
    last = {"phase": None}

    def show(state: dict[str, Any]) -> None:
        phase = state.get("phase")
        if phase != last["phase"]:
            last["phase"] = phase
            log.info("%s: phase %s", name, phase)
        if state.get("event"):
            log.info("%s: [%6.1fs] %s", name, float(state.get("t") or 0), state["event"])

    return show


def _run(config: pytest.Config, nodeid: str, scenario: Scenario) -> DrillResult:
    # Looked up at call time so tests can replace kafkadrill.runner.run_drill.
    from kafkadrill import runner

    st = _state(config)
    log.info("%s: starting drill %s (seed %s)", nodeid, scenario.name, scenario.seed)
    result = runner.run_drill(
        scenario,
        runtime=st.runtime,
        reports_dir=st.reports_dir,
        progress=_progress(scenario.name),
        topology_progress=lambda m: log.info("%s: topology: %s", scenario.name, m),
        pool=st.pool,
    )
    st.results.append(_Recorded(nodeid, result))
    log.info("%s: %s, report %s", nodeid, result.verdict, result.run_dir / "report.html")
    return result


def _undecided(result: DrillResult) -> bool:
    # An UNKNOWN verdict means the drill could not decide (infrastructure, crash, a checker that
    # could not run): an error, the same split write_junit makes.
    return result.infrastructure_error or result.verdict not in ("PASS", "FAIL")


def _reproduce(scenario: Scenario, st: _State) -> str:
    target = _show(scenario.source) if scenario.source else scenario.name
    extra = f" --kafka-version {st.kafka_version}" if st.kafka_version else ""
    return f"pytest {target} --seed {scenario.seed}{extra}"


# --------------------------------------------------------------------------------------------
# Collection: scenario files as items
# --------------------------------------------------------------------------------------------


def _conftest_module(config: pytest.Config, path: Path) -> ModuleType | None:
    mod = config.pluginmanager.get_plugin(str(path))
    if isinstance(mod, ModuleType):
        return mod
    for plugin in config.pluginmanager.get_plugins():  # older pytest naming
        if isinstance(plugin, ModuleType) and getattr(plugin, "__file__", None) == str(path):
            return plugin
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in YAML_SUFFIXES and parent.session.isinitpath(file_path):
        # Named on the command line: the user asked for this scenario explicitly.
        return ScenarioFile.from_parent(parent, path=file_path)
    if file_path.name == "conftest.py":
        mod = _conftest_module(parent.config, file_path)
        if mod is not None and hasattr(mod, SCENARIOS_VAR):
            return DrillSuite.from_parent(parent, path=file_path)
    return None


class DrillSuite(pytest.File):
    """The scenarios a directory's conftest.py lists in `kafkadrill_scenarios`."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        mod = _conftest_module(self.config, self.path)
        patterns = getattr(mod, SCENARIOS_VAR, None)
        if isinstance(patterns, str) or not isinstance(patterns, list | tuple):
            raise ScenarioError(
                f"{SCENARIOS_VAR} must be a list of paths or glob patterns, got {patterns!r}",
                file=_show(self.path),
                field=SCENARIOS_VAR,
            )
        base = self.path.parent
        seen: set[Path] = set()
        for pattern in patterns:
            pattern = str(pattern)
            matches = sorted(p.resolve() for p in base.glob(pattern) if p.is_file())
            matches = [p for p in matches if p.suffix in YAML_SUFFIXES]
            if not matches:
                raise ScenarioError(
                    f"{pattern!r} matches no scenario file under {_show(base)}",
                    file=_show(self.path),
                    field=SCENARIOS_VAR,
                    fix="paths and globs are relative to this conftest.py",
                )
            for p in matches:
                if p not in seen:
                    seen.add(p)
                    yield ScenarioFile.from_parent(self, path=p)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, ScenarioError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class ScenarioFile(pytest.File):
    """One scenario file: validated at collection, one item per --repeat repetition."""

    def collect(self) -> Iterator[DrillItem]:
        from kafkadrill.scenario import load_scenario

        st = _state(self.config)
        # Validate now so a bad scenario is a collection error, before any drill starts.
        scenario = load_scenario(self.path, st.overrides() or None)
        base_seed = scenario.seed or 0
        for k in range(st.repeat):
            if st.repeat == 1:
                name, sc = scenario.name, scenario
            else:
                name = f"{scenario.name}[{k + 1}-{st.repeat}]"
                sc = load_scenario(self.path, {**st.overrides(), "seed": base_seed + k})
            item = DrillItem.from_parent(self, name=name, scenario=sc)
            item.add_marker(pytest.mark.drill)
            yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, ScenarioError):
            return str(excinfo.value)  # already names file, field, line and a fix
        return super().repr_failure(excinfo)


class DrillItem(pytest.Item):
    """One drill run. Setup runs it (errors are errors); call judges its verdict (failures)."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.result: DrillResult | None = None

    def setup(self) -> None:
        self.result = _run(self.config, self.nodeid, self.scenario)
        self.user_properties += [
            ("verdict", self.result.verdict),
            ("run_dir", str(self.result.run_dir)),
        ]
        if _undecided(self.result):
            raise DrillInfrastructureError(self.result, self._reproduce(), self.scenario.source)

    def runtest(self) -> None:
        assert self.result is not None
        if self.result.verdict == "FAIL":
            raise DrillFailed(self.result, self._reproduce(), self.scenario.source)

    def _reproduce(self) -> str:
        return _reproduce(self.scenario, _state(self.config))

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> Any:
        if isinstance(excinfo.value, DrillFailed | DrillInfrastructureError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"drill {self.name}"


# --------------------------------------------------------------------------------------------
# Outcomes: infrastructure is an error in every phase, with the short text
# --------------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield
    if call.excinfo is not None and call.excinfo.errisinstance(DrillInfrastructureError):
        # pytest would print a traceback through the plugin; the message is what matters.
        report.longrepr = str(call.excinfo.value)
        # Raised in a test body (the `drill` fixture called from a test) it would count as a
        # failure; mark it so pytest_report_teststatus files it under errors.
        report.kafkadrill_infrastructure = True  # type: ignore[attr-defined]
    return report  # type: ignore[return-value]


def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, str] | None:
    if getattr(report, "kafkadrill_infrastructure", False) and report.when == "call":
        return "error", "E", "ERROR"
    return None


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


class DrillRunner:
    """`drill(path_or_scenario, **overrides) -> DrillResult` (the `drill` fixture).

    Runs one drill end to end (on the session's kept topology when it is equal and its reset
    is proven, else a fresh one; `--fresh-topology`: always fresh) and returns
    the result with its figures, whatever the verdict: a Python drill asserts what it means.
    Raises DrillInfrastructureError (a pytest error) when the drill could not decide.
    Overrides are dotted scenario keys; in keyword form ``__`` stands for ``.``
    (``workload__producers__acks="1"``). They win over --seed / --kafka-version, which fill in.
    Relative paths are relative to the rootdir.
    """

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._config = request.config

    def scenario(self, path_or_scenario: str | Path | Scenario, **overrides: Any) -> Scenario:
        """The scenario `drill(...)` would run (validated; ScenarioError if bad)."""
        from kafkadrill.scenario import Scenario, load_scenario

        ov = {**_state(self._config).overrides()}
        ov.update({k.replace("__", "."): v for k, v in overrides.items()})
        if isinstance(path_or_scenario, Scenario):
            data = path_or_scenario.model_dump(mode="json", by_alias=True)
            return Scenario.from_dict(data, source=path_or_scenario.source, overrides=ov or None)
        path = Path(path_or_scenario)
        if not path.is_absolute():
            path = self._config.rootpath / path
        return load_scenario(path, ov or None)

    def __call__(self, path_or_scenario: str | Path | Scenario, **overrides: Any) -> DrillResult:
        sc = self.scenario(path_or_scenario, **overrides)
        nodeid = _state(self._config).current or self._request.node.nodeid
        result = _run(self._config, f"{nodeid} ({sc.name})", sc)
        if _undecided(result):
            raise DrillInfrastructureError(result, f"pytest {nodeid} --seed {sc.seed}", sc.source)
        return result


@pytest.fixture(scope="session")
def drill(request: pytest.FixtureRequest) -> DrillRunner:
    """Run a scenario: ``result = drill("scenarios/x.yaml", seed=3)``. Session-scoped so that
    module-scoped fixtures can run a drill once in their setup (infrastructure -> error)."""
    return DrillRunner(request)


TopologyFactory = Callable[..., "Runtime"]


@pytest.fixture(scope="module")
def kafkadrill_topology(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TopologyFactory]:
    """Start a real two-DC topology and reuse it for the module's tests:
    ``rt = kafkadrill_topology(nodes=3, azs=False)`` or ``kafkadrill_topology(topology)``.

    Same arguments -> the same running runtime (`--runtime`, default local); everything stops
    when the module ends.
    The `drill` fixture does not use it: run_drill starts a fresh topology per drill (a drill
    must not inherit a previous drill's faults or data). Module scope, not session, so a
    topology does not keep six JVMs busy while later modules run drills on a small machine.
    """
    from kafkadrill.runtimes.base import create_runtime
    from kafkadrill.topology import DEFAULT_PRIMARY_AZS, Topology, two_dc

    st = _state(request.config)
    running: dict[Any, Runtime] = {}
    with contextlib.ExitStack() as stack:

        def start(
            nodes: int | Topology = 3, *, azs: bool = False, kafka_version: str | None = None
        ) -> Runtime:
            if isinstance(nodes, Topology):
                key: Any = nodes
                topo = nodes
            else:
                version = kafka_version or st.kafka_version
                key = (nodes, azs, version)
                topo = two_dc(
                    nodes, kafka_version=version, primary_azs=DEFAULT_PRIMARY_AZS if azs else None
                )
            if key not in running:
                workdir = tmp_path_factory.mktemp(f"topology-{len(running)}")
                rt = create_runtime(st.runtime or "local", topo, workdir)
                running[key] = stack.enter_context(rt)
            return running[key]

        yield start


@dataclass
class InjectedFault:
    """A fault injected by `kafkadrill_fault`: what was done and whether it took effect."""

    name: str
    params: dict[str, Any]
    detail: str
    verified: bool
    verify_detail: str
    healed: bool = False
    heal_detail: str | None = None


FaultInjector = Callable[..., InjectedFault]


@pytest.fixture
def kafkadrill_fault(tmp_path: Path) -> Iterator[FaultInjector]:
    """Inject a registered fault into a running topology; every fault is healed at teardown
    (newest first), whatever the test did:
    ``kafkadrill_fault(rt, "node.kill", cluster="primary", node=2)``.

    Injection, verification and healing are recorded in a history under the test's tmp_path,
    like in a drill. A fault that does not verify fails the test at once.
    """
    from kafkadrill.errors import TopologyError
    from kafkadrill.faults.base import FaultContext
    from kafkadrill.faults.driver import FaultDriver
    from kafkadrill.history import HistoryWriter

    history = HistoryWriter(tmp_path / "faults-history.jsonl", "fixture")
    drivers: list[FaultDriver] = []
    records: list[tuple[Any, InjectedFault]] = []

    def inject(runtime: Runtime, name: str, **params: Any) -> InjectedFault:
        driver = next((d for d in drivers if d.ctx.runtime is runtime), None)
        if driver is None:
            driver = FaultDriver(FaultContext(runtime, history), history)
            drivers.append(driver)
        rec = driver.inject(name, dict(params), fault_id=f"f{len(records)}")
        record = InjectedFault(name, dict(params), rec.detail, rec.verified, rec.verify_detail)
        records.append((rec, record))
        if not rec.verified:
            pytest.fail(
                f"fault {name} {params} did not take effect: {rec.verify_detail}", pytrace=False
            )
        return record

    try:
        yield inject
    finally:
        errors = []
        for driver in reversed(drivers):
            try:
                driver.heal_all()
            except TopologyError as exc:  # keep healing the others, then report
                errors.append(str(exc))
        for rec, record in records:
            record.healed, record.heal_detail = rec.healed, rec.heal_detail
        history.close()
        if errors:
            raise TopologyError(f"healing failed: {errors}")


# --------------------------------------------------------------------------------------------
# Session end: JUnit of drill results, terminal summary
# --------------------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    st = session.config.stash.get(_STATE, None)
    if st is None or st.junit is None:
        return
    from kafkadrill.report.junit import write_junit

    write_junit([r.result.report for r in st.results], st.junit)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    st = config.stash.get(_STATE, None)
    if st is None or (not st.results and st.junit is None):
        return
    tr = terminalreporter
    tr.write_sep("=", "kafkadrill drills")
    colours = {"PASS": {"green": True}, "FAIL": {"red": True}}
    for rec in st.results:
        res = rec.result
        rpo = (res.report or {}).get("rpo") or {}
        rto = (res.report or {}).get("rto") or {}
        tr.write(f"{res.verdict:8}", bold=True, **colours.get(res.verdict, {"yellow": True}))
        tr.write_line(
            f"{rec.nodeid} (seed {_fmt((res.report or {}).get('seed'))}): lost "
            f"{_fmt(rpo.get('lost'))}/{_fmt(rpo.get('acked'))}, writes unavailable "
            f"{_fmt(rto.get('write_unavailable_seconds'))} s"
        )
        if res.error:
            tr.write_line(f"         error: {res.error.strip().splitlines()[0]}")
        tr.write_line(f"         {_show(res.run_dir / 'report.html')}")
    if st.junit is not None:
        tr.write_line(f"JUnit XML of drill results: {_show(st.junit)}")
