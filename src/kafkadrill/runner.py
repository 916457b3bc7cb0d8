"""The drill runner: the one module that orchestrates every stage.

scenario -> topology (any registered runtime) -> workload + fault schedule + runbooks, all
appending to one history -> final heal-and-read-all -> checkers -> verdict against objectives ->
report. Each other stage only consumes the stage before it; checkers never touch Kafka. The
runner uses a runtime only through the `Runtime` protocol (runtimes/base.py) and time only
through a `Clock`, so it runs unchanged on the fake runtime in unit tests.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafkadrill import __version__
from kafkadrill.clock import REAL, Clock
from kafkadrill.drill import Drill, drill_body
from kafkadrill.drill import Hook as Hook  # re-exported: callers type their hooks with it
from kafkadrill.drill import Progress as Progress  # re-exported
from kafkadrill.errors import KafkadrillError, ScenarioError, TopologyError
from kafkadrill.faults.base import fault_type
from kafkadrill.history import Ev, HistoryWriter, open_history
from kafkadrill.history.merge import merge_segments
from kafkadrill.history.writer import COLUMNAR_NAME, JSONL_NAME
from kafkadrill.plan import DrillPlan
from kafkadrill.runbooks.failover import (
    FAILBACK_NEEDS,
    FAILOVER_NEEDS,
)
from kafkadrill.runtimes.base import (
    Cap,
    RecordsHistory,
    Runtime,
    RuntimeType,
    create_runtime,
    runtime_type,
)
from kafkadrill.runtimes.shared.pool import Lifecycle, TopologyPool, reusable
from kafkadrill.runtimes.shared.provision import TOXIPROXY_VERSION
from kafkadrill.scenario import Scenario, compile_plan
from kafkadrill.scenario.scope import scope_scenario
from kafkadrill.topology import Topology
from kafkadrill.workload import CLIENT_LOGGER


@dataclass
class DrillResult:
    scenario: str
    run_dir: Path
    verdict: str  # PASS | FAIL | UNKNOWN
    report: dict[str, Any]
    error: str | None = None
    infrastructure_error: bool = False
    # Wall seconds per stage (topology_start, steady, faults, heal, recover, settle, final_read,
    # report, total): where a drill's time goes, for benchmarks/drill_overhead.py.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return {"PASS": 0, "FAIL": 1}.get(self.verdict, 2)

    @property
    def failed_objectives(self) -> list[dict[str, Any]]:
        return [o for o in self.report.get("objectives", []) if o.get("verdict") == "FAIL"]


def require_capabilities(plan: DrillPlan, rtype: RuntimeType) -> None:
    """ScenarioError (before anything starts) if a fault or runbook of the plan needs
    something the runtime cannot do."""
    problems = []
    settings: list[str] = []  # topology settings the runtime lacks a capability for
    lacking: set[str] = set()
    caps = rtype.capabilities_of(plan)
    for i, sf in enumerate(plan.schedule):
        lacks = set(fault_type(sf.fault).needs) - caps
        lacking |= lacks
        if lacks:
            problems.append(f"fault #{i} {sf.fault} ({sf.describe()}) needs {sorted(lacks)}")
    runbooks = [
        ("failover", plan.runbooks.failover, FAILOVER_NEEDS),
        ("failback", plan.runbooks.failback, FAILBACK_NEEDS),
    ]
    for name, rb, needs in runbooks:
        lacks = set(needs) - caps if rb is not None else set()
        if name == "failover" and rb is not None and not rb.stop_mm2:
            lacks.discard("flow.stop")
        if name == "failover" and rb is not None and rb.fence is not None:
            lacks |= {Cap.ACL} - caps
        if name == "failback" and rb is not None and rb.strategy != "reverse":
            lacks |= {Cap.TOPIC_REWRITE} - caps
        lacking |= lacks
        if lacks:
            problems.append(f"runbook {name} needs {sorted(lacks)}")
    for what, wanted, cap in (
        ("topology.backup", plan.topology.backup, Cap.BACKUP),
        ("topology.schema_registry", plan.topology.schema_registry, Cap.SCHEMA_REGISTRY),
        (
            "workload.producers.workers",
            any(p.worker is not None for p in plan.producers) or None,
            Cap.WORKERS,
        ),
        (
            "topology.principals",
            any(c.principals for c in plan.topology.clusters) or None,
            Cap.PRINCIPALS,
        ),
    ):
        if wanted is not None and cap not in caps:
            lacking.add(cap)
            problems.append(f"{what} needs [{cap!r}]")
            settings.append(what)
    if problems:
        raise ScenarioError(
            f"runtime '{rtype.name}' cannot run this scenario: " + "; ".join(problems),
            file=plan.source,
            # A setting the runtime cannot honour is named itself, not the timeline.
            field=settings[0] if settings and len(settings) == len(problems) else "timeline",
            fix=_capability_fix(
                rtype,
                caps,
                lacking,
                " and ".join(
                    (["those faults and runbook steps"] if len(settings) < len(problems) else [])
                    + settings
                ),
            ),
        )


def _capability_fix(
    rtype: RuntimeType, caps: frozenset[str], lacking: set[str], drop: str = "those faults"
) -> str:
    # A runtime whose powers come from its adapters (external) is fixed by configuring them,
    # not by choosing another runtime: name the settings that give what is missing.
    how = rtype.how_to_get(lacking)
    if how:
        return f"configure the adapters that give them ({how}), or drop {drop}"
    return (
        f"choose a runtime that has these capabilities (runtime '{rtype.name}' has "
        f"{sorted(caps)}), or drop {drop}"
    )


def _versions(rt: Runtime | None) -> dict[str, Any]:
    from importlib import metadata

    import confluent_kafka

    from kafkadrill.runtimes.shared.provision import java_version

    try:
        java = java_version()
    except KafkadrillError:
        java = None
    kafka = rt.kafka_version() if rt is not None else None
    external = rt is not None and rt.kind == "external"
    # On clusters kafkadrill did not start the Kafka release is only what the scenario declares
    # (external.kafka_version: Kafka has no client API that returns it), and their MirrorMaker 2
    # is the team's own: say where the figure comes from, and claim none for MM2.
    source = {"kafka_version_source": "declared" if kafka else "unknown"} if external else {}
    return {
        "kafkadrill": __version__,
        "runtime": rt.kind if rt is not None else None,
        "kafka": kafka,
        **source,
        "mirrormaker2": None if external else kafka,
        "toxiproxy": TOXIPROXY_VERSION,
        # The installed distribution's version: confluent_kafka.version() gave "2" for 2.16.2.
        "confluent_kafka": metadata.version("confluent-kafka"),
        "librdkafka": confluent_kafka.libversion()[0],
        "python": sys.version.split()[0],
        "java": java,
        "os": platform.platform(),
    }


def _client_log_handler(run_dir: Path) -> logging.Handler:
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(run_dir / "logs" / "clients.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    CLIENT_LOGGER.addHandler(handler)
    CLIENT_LOGGER.setLevel(logging.INFO)
    return handler


def _prepare_runtime(
    scenario: Scenario, approved: DrillPlan, rtype: RuntimeType, run_id: str
) -> tuple[Scenario, dict[str, Any] | None]:
    """The scenario with run-scoped topic and group names if the runtime asks for them
    (isolation), and the runtime's extra options for the run (None: it has no preparation)."""
    powers = rtype.powers
    topics: dict[str, str] = {}
    groups: dict[str, str] = {}
    if powers.isolation_prefix is not None:
        prefix = powers.isolation_prefix(approved)
        scenario, topics, groups = scope_scenario(scenario, prefix, run_id)
    if powers.prepare is None:
        return scenario, None
    return scenario, powers.prepare(approved, run_id, topics, groups)


def _creates_topics(scenario: Scenario) -> bool:
    """A drill that creates topics by name (topic.create) leaves them behind and checks MM2's
    filters against those exact names: it runs on a fresh topology, unscoped."""
    return any(getattr(e, "fault", None) == "topic.create" for e in scenario.timeline)


@contextlib.contextmanager
def _topology(
    name: str,
    topology: Topology,
    run_dir: Path,
    history: HistoryWriter,
    progress: Callable[[str], None] | None,
    options: dict[str, Any] | None,
    pool: TopologyPool | None,
) -> Iterator[tuple[Runtime, Lifecycle]]:
    """The drill's running topology: kept by the pool, or started and stopped here."""
    if pool is not None:
        with pool.lease(name, topology, run_dir, progress=progress, options=options) as got:
            yield got
        return
    rt = create_runtime(name, topology, run_dir, progress=progress, **(options or {}))
    if isinstance(rt, RecordsHistory):  # adapters record what they run into the history
        rt.attach_history(history)
    with rt:
        yield rt, Lifecycle(False, 1, str(run_dir), [], None)


def run_drill(
    scenario: Scenario,
    *,
    runtime: str | None = None,
    reports_dir: Path = Path("reports"),
    progress: Progress | None = None,
    topology_progress: Callable[[str], None] | None = None,
    before_final_read: Hook | None = None,
    clock: Clock = REAL,
    runtime_options: dict[str, Any] | None = None,
    operator: str | None = None,
    approved_by: str | None = None,
    confirmed: bool = False,
    pool: TopologyPool | None = None,
) -> DrillResult:
    """Run one drill end to end and write its run directory. Never raises for findings;
    raises ScenarioError for bad input before anything starts; KeyboardInterrupt propagates
    after the run directory is written.

    `runtime` names a registered runtime (default: the scenario's `runtime`, else "local").
    A runtime acting on clusters kafkadrill did not start (external) needs `confirmed`;
    `operator` / `approved_by` and the plan's hash (plan.txt) are recorded as evidence.
    With a `pool`, a runtime that can prove a reset keeps its topology for the next drill
    of an equal topology; such drills use run-scoped topic and group names."""
    from kafkadrill.report.store import new_run_dir
    from kafkadrill.runtimes.external.plan import plan_sha256

    t_total = time.monotonic()
    name = runtime or getattr(scenario, "runtime", None) or "local"
    rtype, approved = _checked(scenario, name, confirmed)
    plan_text = _plan_text(approved, name)
    run_dir = new_run_dir(reports_dir, scenario.name)
    run_id = run_dir.name
    scenario, extra = _prepare_runtime(scenario, approved, rtype, run_id)
    if extra is not None:
        runtime_options = {**extra, "confirmed": confirmed, **(runtime_options or {})}
    if pool is not None and (not reusable(name) or _creates_topics(scenario)):
        # Not for a kept topology: nothing kept may idle beside the fresh one it gets.
        pool.close()
        pool = None
    if pool is not None:
        scenario = scope_scenario(scenario, "kd", run_id)[0]
    if rtype.powers.defers_flow_wait:
        runtime_options = {"wait_flows": False, **(runtime_options or {})}
    # Compiled after the runtime's preparation and scoping: the phases work from this plan.
    plan = compile_plan(scenario)
    (run_dir / "scenario.yaml").write_text(plan.resolved_yaml)
    (run_dir / "plan.txt").write_text(plan_text)
    started = datetime.now(UTC)
    name_of = {"jsonl": JSONL_NAME, "columnar": COLUMNAR_NAME}
    history = open_history(run_dir / name_of[plan.history_format], run_id, clock=clock.monotonic)
    history.append(Ev.RUN_START, run_id=run_id, scenario=plan.name, seed=plan.seed, runtime=name)
    history.append(
        Ev.RUN_APPROVAL,
        operator=operator,
        approved_by=approved_by,
        plan_sha256=plan_sha256(plan_text),
        confirmed=confirmed,
    )
    run = _Run(name, plan, run_dir, history, clock, progress, topology_progress)
    outcome = _execute(run, before_final_read, runtime_options, pool)
    return _finish(run, outcome, started, t_total)


def _checked(scenario: Scenario, name: str, confirmed: bool) -> tuple[RuntimeType, DrillPlan]:
    """The runtime type and the plan as approved; ScenarioError before anything starts if the
    runtime is unknown, cannot run the plan, or needs a confirmation not given."""
    rtype = runtime_type(name)  # unknown runtime: ScenarioError before anything starts
    # Compiled first for the checks and the plan text (compiling validates the timeline); the
    # phases use the plan compiled again after the runtime's preparation and scoping.
    approved = compile_plan(scenario)
    require_capabilities(approved, rtype)
    if rtype.powers.needs_confirmation and not confirmed:
        raise ScenarioError(
            f"runtime '{name}' acts on clusters kafkadrill did not start: confirmation needed",
            file=scenario.source,
            field="runtime",
            fix="read `kafkadrill plan`, then run with --yes (or answer yes)",
        )
    return rtype, approved


def _plan_text(approved: DrillPlan, name: str) -> str:
    """The text `kafkadrill plan` prints for this drill, stored as plan.txt."""
    from kafkadrill.runtimes.external.plan import render_plan

    try:
        return render_plan(approved, name)
    except Exception as exc:  # the plan is evidence, not a precondition of local drills
        return f"plan could not be rendered: {exc!r}\n"


@dataclass
class _Run:
    """What the steps of one run share once its run directory and history exist."""

    runtime: str
    plan: DrillPlan
    run_dir: Path
    history: HistoryWriter
    clock: Clock
    progress: Progress | None
    topology_progress: Callable[[str], None] | None


@dataclass
class _Outcome:
    """How the drill itself ended (before the report)."""

    error: str | None = None
    infra: bool = False
    interrupted: BaseException | None = None
    rt: Runtime | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    drill: Drill | None = None


def _execute(
    run: _Run,
    before_final_read: Hook | None,
    runtime_options: dict[str, Any] | None,
    pool: TopologyPool | None,
) -> _Outcome:
    """Start (or lease) the topology and run every phase; errors become the outcome."""
    out = _Outcome()
    history = run.history
    log_handler = _client_log_handler(run.run_dir)
    timings: dict[str, float] = {}
    try:
        history.append(Ev.PHASE, name="setup")
        t_start = time.monotonic()
        with _topology(
            run.runtime,
            run.plan.topology,
            run.run_dir,
            history,
            run.topology_progress,
            runtime_options,
            pool,
        ) as (rt, life):
            out.rt = rt
            timings["topology_start"] = round(time.monotonic() - t_start, 3)
            history.append(Ev.TOPOLOGY, **life.event())
            progress = run.progress or (lambda _d: None)
            out.drill = Drill(run.plan, run.run_dir, history, rt, progress, run.clock)
            out.drill.timings = timings
            body = drill_body(out.drill, before_final_read)
            out.environment = {**body, "topology": life.event()}
            t_stop = time.monotonic()
        timings["topology_stop"] = round(time.monotonic() - t_stop, 3)
    except KeyboardInterrupt as exc:
        out.interrupted = exc
        out.error = "interrupted (Ctrl-C)"
    except TopologyError as exc:
        out.infra = True
        out.error = f"infrastructure: {exc}"
    except Exception as exc:
        out.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    finally:
        if out.drill is not None:
            _stop_clients(out.drill)
    CLIENT_LOGGER.removeHandler(log_handler)
    log_handler.close()
    return out


def _stop_clients(drill: Drill) -> None:
    """After an error the clients may still be running: give them a bounded moment to finish
    their last events, so nothing is appended after run.end."""
    drill.stop_all.set()
    drill.stop_producers.set()
    drill.stop_consumers.set()
    deadline = time.monotonic() + 10.0
    for c in [*drill.producers, *drill.consumers]:
        c.join(timeout=max(0.0, deadline - time.monotonic()))


def _end_workers(drill: Drill) -> None:
    """A worker still running now (an error stopped the drill before it drained) is killed,
    so that none of its events comes after run.end; its segment keeps what it wrote."""
    for w in drill.workers:
        w.kill()
        w.join(timeout=5.0)


def _merge_workers(run: _Run, drill: Drill) -> None:
    """Fold the workers' segments into the run's history (the single source of truth)."""
    segments = [w.segment for w in drill.workers if w.segment.exists()]
    own_clocks = any(not w.shared for w in drill.workers)  # else no correction to read
    merge_segments(run.history.path, segments, own_clocks=own_clocks)


def _finish(run: _Run, out: _Outcome, started: datetime, t_total: float) -> DrillResult:
    """Close the history (run.end), write the reports and return the result; re-raises a
    KeyboardInterrupt once the run directory is written."""
    from kafkadrill.report.build import build_and_write

    drill, error = out.drill, out.error
    runbook_errors = drill.runbook_errors if drill is not None else []
    if runbook_errors and error is None:
        error = "runbook failed: " + "; ".join(runbook_errors)
    lost = drill.lost_workers() if drill is not None else []
    if lost and error is None:
        error = "workload worker lost: " + "; ".join(lost)
    if drill is not None:
        _end_workers(drill)  # after the count of lost ones: these are killed by the runner
    status = "completed" if error is None else ("interrupted" if out.interrupted else "error")
    run.history.append(Ev.RUN_END, status=status, error=error)
    run.history.close()
    if drill is not None and drill.workers:
        _merge_workers(run, drill)
    t_report = time.monotonic()
    environment = out.environment
    if drill is not None:
        # Where the wall time went (benchmarks, CI logs); not a figure of the drill.
        environment = {
            **environment,
            "stage_seconds": {**drill.timings, "until_report": round(t_report - t_total, 3)},
        }
    report = build_and_write(
        run.run_dir,
        run.plan.report_subject(),
        started=started,
        finished=datetime.now(UTC),
        error=error,
        versions=_versions(out.rt),
        environment=environment,
    )
    timings = dict(drill.timings) if drill is not None else {}
    timings["report"] = round(time.monotonic() - t_report, 3)
    timings["total"] = round(time.monotonic() - t_total, 3)
    # The report's error went through the secret policy; the raw one may hold a credential.
    shown = report.get("error") if error is not None else None
    result = DrillResult(
        run.plan.name, run.run_dir, report["verdict"], report, shown, out.infra, timings
    )
    if out.interrupted is not None:
        raise out.interrupted
    return result
