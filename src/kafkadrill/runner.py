"""The drill runner: the one module that orchestrates every stage.

scenario -> topology (any registered runtime) -> workload + fault schedule + runbooks, all
appending to one history -> final heal-and-read-all -> checkers -> verdict against objectives ->
report. Each other stage only consumes the stage before it; checkers never touch Kafka. The
runner uses a runtime only through the `Runtime` protocol (runtimes/base.py) and time only
through a `Clock`, so it runs unchanged on the fake runtime in unit tests.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import platform
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafkadrill import __version__
from kafkadrill.clock import REAL, Clock
from kafkadrill.errors import KafkadrillError, ScenarioError, TopologyError
from kafkadrill.faults.base import FaultContext, fault_type
from kafkadrill.faults.driver import FaultDriver, Injected
from kafkadrill.history import Ev, HistoryWriter
from kafkadrill.plan import DrillPlan
from kafkadrill.runbooks.failover import (
    FAILBACK_NEEDS,
    FAILOVER_NEEDS,
    RunbookAborted,
    RunbookContext,
    end_total,
    run_failback,
    run_failover,
    wait_replicated,
)
from kafkadrill.runtimes.base import (
    Guarded,
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
from kafkadrill.timeline import (
    Heal,
    Inject,
    Operation,
    StartRunbook,
    plan_operations,
    run_operations,
)
from kafkadrill.topology import Flow, Topology
from kafkadrill.workload import CLIENT_LOGGER
from kafkadrill.workload.consumer import topic_pattern

Progress = Callable[[dict[str, Any]], None]
# Called with the running topology and the history just before the final read (after heal):
# tests use it to tamper with a cluster and check that the checkers see exactly that.
Hook = Callable[[Runtime, HistoryWriter], None]


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
    caps = rtype.capabilities_of(plan)
    for i, sf in enumerate(plan.schedule):
        lacks = set(fault_type(sf.fault).needs) - caps
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
        if lacks:
            problems.append(f"runbook {name} needs {sorted(lacks)}")
    if problems:
        raise ScenarioError(
            f"runtime '{rtype.name}' cannot run this scenario: " + "; ".join(problems),
            file=plan.source,
            field="timeline",
            fix=f"choose a runtime that has these capabilities (runtime '{rtype.name}' has "
            f"{sorted(caps)}), or drop those faults",
        )


@dataclass
class Drill:
    """State of one running drill (the pieces the phases share)."""

    plan: DrillPlan
    run_dir: Path
    history: HistoryWriter
    rt: Runtime
    progress: Progress
    clock: Clock = REAL
    producers: list[Any] = field(default_factory=list)
    consumers: list[Any] = field(default_factory=list)
    # Shared with the fault context (the same list object): clients are added at start.
    clients: list[Any] = field(default_factory=list)
    stop_producers: threading.Event = field(default_factory=threading.Event)
    stop_consumers: threading.Event = field(default_factory=threading.Event)
    stop_all: threading.Event = field(default_factory=threading.Event)
    faults: FaultDriver | None = None
    by_index: dict[int, Injected] = field(default_factory=dict)
    runbook_threads: list[threading.Thread] = field(default_factory=list)
    runbook_results: dict[str, Any] = field(default_factory=dict)
    runbook_errors: list[str] = field(default_factory=list)
    phase: str = "setup"
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ctx = FaultContext(self.rt, self.history, self.clients)
        self.faults = FaultDriver(ctx, self.history, lambda text: self.emit(event=text))

    @property
    def driver(self) -> FaultDriver:
        assert self.faults is not None
        return self.faults

    def set_phase(self, name: str) -> None:
        self.phase = name
        self.history.append(Ev.PHASE, name=name)
        self.emit()

    def emit(self, **extra: Any) -> None:
        self.progress(
            {
                "phase": self.phase,
                "t": self.history.now(),
                "acked": sum(p.acked for p in self.producers),
                "received": sum(c.received for c in self.consumers),
                "active_faults": [r.label for r in self.driver.active()] if self.faults else [],
                **extra,
            }
        )

    # ----- workload --------------------------------------------------------------------------
    def start_workload(self) -> None:
        kafka = self.rt.clients
        for spec in self.plan.producers:
            self.producers.append(
                kafka.producer(
                    spec,
                    self.history,
                    self._bootstrap,
                    self.history.run_id,
                    self.stop_producers,
                )
            )
        for cp in self.plan.consumers:
            # A consumer in a site of a multi-site cluster fetches from the replica in its site
            # (KIP-392; the stretch model sets RackAwareReplicaSelector on the brokers).
            spec_c = cp.spec
            if spec_c.site in self.rt.topology.cluster(spec_c.cluster).azs:
                spec_c = replace(spec_c, extra={"client.rack": spec_c.site, **spec_c.extra})
            self.consumers.append(
                kafka.consumer(spec_c, self.history, self._bootstrap, self.stop_consumers)
            )
        self.clients.extend([*self.producers, *self.consumers])
        for c in self.consumers:
            c.start()
        for p in self.producers:
            p.start()

    def _bootstrap(self, cluster: str, site: str) -> str:
        return self.rt.bootstrap(cluster, from_site=site)

    def client_errors(self) -> list[str]:
        return [
            f"{c.spec.name}: {c.error!r}"
            for c in [*self.producers, *self.consumers]
            if c.error is not None
        ]

    def check_clients(self) -> None:
        errors = self.client_errors()
        if errors:
            raise TopologyError(f"workload client crashed: {errors}")
        # Safety guards of runtimes that have them (external): they raise to abort the drill.
        if isinstance(self.rt, Guarded):
            self.rt.guard(self.history.now(), sum(p.acked for p in self.producers))

    # ----- operations of the fault phase -----------------------------------------------------
    def execute(self, op: Operation) -> None:
        if isinstance(op, Inject):
            sf = op.fault
            self.by_index[op.index] = self.driver.inject(
                sf.fault,
                dict(sf.params),
                fault_id=op.fault_id,
                target=sf.target(),
                origin=sf.origin,
                label=sf.describe(),
            )
        elif isinstance(op, Heal):
            if op.index in self.by_index:
                self.driver.heal(self.by_index[op.index])
        elif isinstance(op, StartRunbook):
            self.start_runbook(op)

    def heal_all(self) -> None:
        """Heal every fault, then make sure nothing survives (toxic, paused or dead node)."""
        error: TopologyError | None = None
        try:
            self.driver.heal_all()
        except TopologyError as exc:
            error = exc
        for name in self.rt.restore_all():
            self.history.append(Ev.HEAL_RESTART, node=name)
        if error is not None:
            raise error

    # ----- runbooks --------------------------------------------------------------------------
    def runbook_ctx(self) -> RunbookContext:
        return RunbookContext(
            self.rt,
            self.history,
            list(self.producers),
            list(self.consumers),
            self.plan.producers[0].topic,
            self.stop_all,
            self.runbook_results,
            self.clock,
        )

    def start_runbook(self, op: StartRunbook) -> None:
        fo, fb = self.plan.runbooks.failover, self.plan.runbooks.failback
        body: Callable[[RunbookContext], None]
        if op.runbook == "failover" and fo is not None:
            # Phases (detection...) are measured from the fault that triggered the runbook.
            self.history.append(
                Ev.RUNBOOK_TRIGGER, runbook="failover", fault_id=op.trigger_fault_id, at=op.at
            )
            body = functools.partial(
                run_failover,
                source=fo.source,
                target=fo.target,
                detect_seconds=fo.detect_failing_seconds,
                probe_interval=fo.probe_interval_seconds,
                stop_mm2=fo.stop_mm2,
                translate_offsets=fo.translate_offsets,
            )
        elif op.runbook == "failback" and fb is not None and fo is not None:
            body = functools.partial(
                run_failback,
                original=fo.source,
                current=fo.target,
                catch_up_timeout=fb.catch_up_timeout_seconds,
                translate_offsets=fb.translate_offsets,
            )
        else:
            return
        ctx = self.runbook_ctx()
        th = threading.Thread(
            target=self.run_runbook,
            name=op.runbook,
            args=(op.runbook, lambda: body(ctx)),
            daemon=True,
        )
        th.start()
        self.runbook_threads.append(th)

    def run_runbook(self, name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except RunbookAborted as exc:
            self.runbook_errors.append(str(exc))
        except Exception as exc:  # recorded: a crashed runbook is an error, not a result
            self.runbook_errors.append(f"{name}: {exc!r}")
            self.history.append(
                Ev.RUNBOOK_STEP,
                runbook=name,
                step="crash",
                status="fail",
                detail={"error": traceback.format_exc()},
            )

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Record the wall seconds a stage takes (real time, whatever the drill's clock)."""
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.timings[stage] = round(time.monotonic() - t0, 3)

    def sleep(self, seconds: float) -> None:
        """Sleep on the drill's clock; returns early when the drill is stopped."""
        deadline = self.clock.monotonic() + seconds
        while not self.stop_all.is_set():
            left = deadline - self.clock.monotonic()
            if left <= 0:
                return
            self.clock.wait(self.stop_all, min(left, 0.5))


def flow_topics(plan: DrillPlan, flow: Flow) -> list[str]:
    """The workload topics a flow carries: those written on its source (active-passive: the
    producers' topic, also once they are redirected to the target)."""
    mine = [p.topic for p in plan.producers if p.cluster == flow.source]
    return list(dict.fromkeys(mine or [plan.producers[0].topic]))


def _prove_replication(drill: Drill, timeout: float = 120.0) -> None:
    """Steady state before the first fault: each running flow copies a probe record and its
    target has caught up with every record its source held when the check began."""
    rt, clock = drill.rt, drill.clock
    t0 = time.monotonic()
    for flow in rt.flows():
        if not rt.flow_alive(flow):
            continue
        rt.wait_replicating(flow, timeout=timeout)
        drill.timings.setdefault("steady_probe_copied", round(time.monotonic() - t0, 3))
        for topic in flow_topics(drill.plan, flow):
            source_end = end_total(rt, flow.source, topic)
            deadline = clock.monotonic() + timeout
            while end_total(rt, flow.target, flow.remote_topic(topic)) < source_end:
                if clock.monotonic() > deadline or drill.stop_all.is_set():
                    raise TopologyError(
                        f"steady state not reached: {flow.name} did not catch up on {topic} "
                        f"within {timeout:.0f} s before the first fault"
                    )
                clock.wait(drill.stop_all, 0.2)
    drill.timings["steady_replication_proven"] = round(time.monotonic() - t0, 3)


def _monitor(drill: Drill, interval: float = 1.0) -> None:
    """Probe replication lag per flow into the history (what a monitor would have shown)."""
    rt = drill.rt
    while not drill.clock.wait(drill.stop_all, interval):
        for flow, topic in [(f, t) for f in rt.flows() for t in flow_topics(drill.plan, f)]:
            alive = rt.flow_alive(flow)
            try:
                src = end_total(rt, flow.source, topic)
                dst = end_total(rt, flow.target, flow.remote_topic(topic))
                drill.history.append(
                    Ev.PROBE,
                    name="replication_lag",
                    flow=flow.name,
                    source_end=src,
                    target_end=dst,
                    lag=max(0, src - dst),
                    mm2_alive=alive,
                )
            except Exception:  # an unreachable cluster is what faults do; skip the sample
                drill.history.append(
                    Ev.PROBE, name="replication_lag", flow=flow.name, lag=None, mm2_alive=alive
                )
        drill.emit()


def _fault_phase(drill: Drill) -> None:
    plan = drill.plan
    run_operations(
        plan_operations(plan),
        drill.execute,
        clock=drill.clock,
        stop=drill.stop_all,
        duration=plan.duration_seconds,
        check=drill.check_clients,
    )
    overran = any(th.is_alive() for th in drill.runbook_threads)
    for th in drill.runbook_threads:
        deadline = drill.clock.monotonic() + 120
        while th.is_alive() and drill.clock.monotonic() < deadline:
            th.join(timeout=0.05)
        if th.is_alive():
            drill.runbook_errors.append(f"runbook {th.name} did not finish in 120 s")
    if overran:
        # A runbook finished after the planned end: keep the workload running a little so
        # that service on the cluster it moved clients to is actually observed.
        drill.emit(event="runbook finished after the planned end; observing 10 s more")
        drill.sleep(10.0)


def _unions_behind(drill: Drill) -> bool:
    """Whether a union consumer group has received fewer records than were acknowledged (a
    wait condition only: the aggregation checker judges what each group actually got)."""
    acked = sum(p.acked for p in drill.producers)
    unions = set(drill.plan.union_groups)
    return any(
        sum(c.received for c in drill.consumers if c.spec.group == g) < acked for g in unions
    )


def _settle_consumers(drill: Drill, quiet: float = 2.0, timeout: float = 45.0) -> None:
    """Let consumers read what is left before they stop: idle for `quiet` seconds, and every
    union group has received as many records as were acknowledged (or `timeout`)."""
    clock = drill.clock
    deadline = clock.monotonic() + timeout
    last, since = -1, clock.monotonic()
    never = threading.Event()
    while clock.monotonic() < deadline:
        now_count = sum(c.received for c in drill.consumers)
        if now_count != last:
            last, since = now_count, clock.monotonic()
        elif clock.monotonic() - since >= quiet and not _unions_behind(drill):
            return
        clock.wait(never, 0.5)


def _final_read_phase(drill: Drill, answers: Callable[[str], bool] | None = None) -> None:
    """Read every acknowledged write back from each cluster (`answers`: only the clusters
    for which it is true, after a failed heal)."""
    plan, rt = drill.plan, drill.rt
    authoritative = drill.producers[0].cluster if drill.producers else plan.producers[0].cluster
    clusters = [authoritative] + [c.name for c in rt.topology.clusters if c.name != authoritative]
    if answers is not None:
        clusters = [c for c in clusters if answers(c)]
    patterns = [re.compile(topic_pattern(t)) for t in plan.producer_topics]
    topics = {
        c: [t for t in rt.clients.topics(rt.bootstrap(c)) if any(p.match(t) for p in patterns)]
        for c in clusters
    }
    extra: dict[str, Any] = {}
    origins = sorted({p.cluster for p in plan.producers})
    if len(origins) > 1:
        # Several origins (active-active, fan-in): each origin's acked writes must survive on
        # their own cluster (loss), and every cluster that receives a flow from each other
        # origin must end up holding everyone's (aggregation).
        flows = rt.topology.flows
        holds = {c: {c} | {f.source for f in flows if f.target == c} for c in clusters}
        extra = {
            "authoritative_for": {c: c for c in origins},
            "aggregates": [c for c in clusters if set(origins) <= holds[c]],
        }
    unions = plan.union_groups
    if unions:
        extra["union_groups"] = unions
    drill.history.append(
        Ev.FINAL_READ_START, clusters=clusters, authoritative=authoritative, topics=topics, **extra
    )
    timeout = drill.plan.final_read_timeout_seconds
    for c in clusters:
        records, complete = rt.clients.final_read(
            drill.history, rt.bootstrap(c), c, topics[c], timeout
        )
        drill.history.append(Ev.FINAL_READ_END, cluster=c, records=records, complete=complete)
        drill.emit(event=f"final read of {c}: {records} records, complete={complete}")


def _versions(rt: Runtime | None) -> dict[str, Any]:
    import confluent_kafka

    from kafkadrill.runtimes.shared.provision import java_version

    try:
        java = java_version()
    except KafkadrillError:
        java = None
    kafka = rt.kafka_version() if rt is not None else None
    return {
        "kafkadrill": __version__,
        "runtime": rt.kind if rt is not None else None,
        "kafka": kafka,
        "mirrormaker2": kafka,
        "toxiproxy": TOXIPROXY_VERSION,
        "confluent_kafka": confluent_kafka.version()[0],
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


def _drill_body(drill: Drill, before_final_read: Hook | None) -> dict[str, Any]:
    """Every phase from a started topology to the final read; returns environment.json."""
    plan, rt = drill.plan, drill.rt
    environment = rt.describe()
    if environment.get("wan"):
        drill.history.append(
            Ev.WAN, links=environment["wan"], in_force=environment.get("wan_in_force") or []
        )
    drill.set_phase("steady")
    monitor = threading.Thread(target=_monitor, args=(drill,), daemon=True)
    monitor.start()
    with drill.timed("steady"):
        drill.start_workload()
        drill.sleep(plan.warmup_seconds)
        # MirrorMaker 2 may still be starting (its start overlaps the warmup): faults begin
        # only once every flow copies and has caught up with what the workload wrote.
        _prove_replication(drill)
    drill.set_phase("faults")
    try:
        with drill.timed("faults"):
            _fault_phase(drill)
    except BaseException:
        _heal_phase(drill)  # heal always runs; its own error, if any, is the one raised
        raise
    try:
        _heal_phase(drill)
    except TopologyError:
        # Issue 19: a failed heal must not cancel the final read of the clusters that are up.
        # The run stays UNKNOWN (infrastructure error), but its report has their figures.
        _read_what_answers(drill, before_final_read)
        raise
    with drill.timed("recover"):
        for c in rt.topology.clusters:
            rt.wait_healthy(c.name, timeout=120)
        if "failed_over_to" not in drill.runbook_results:
            for flow in rt.flows():
                if rt.flow_alive(flow):
                    for topic in flow_topics(plan, flow):
                        wait_replicated(rt, flow, topic, 60, drill.clock)
    with drill.timed("settle"):
        _settle_consumers(drill)
        drill.stop_consumers.set()
        for c in drill.consumers:
            c.join(timeout=30)
        drill.stop_all.set()
        monitor.join(timeout=10)
    if before_final_read is not None:
        before_final_read(rt, drill.history)
    drill.set_phase("final_read")
    with drill.timed("final_read"):
        _final_read_phase(drill)
    return rt.describe() or environment


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


def _heal_phase(drill: Drill) -> None:
    """Stop the producers, heal every fault (raises TopologyError if one cannot be healed)."""
    drill.set_phase("heal")
    with drill.timed("heal"):
        drill.stop_producers.set()
        for p in drill.producers:
            p.join(timeout=p.spec.delivery_timeout_ms / 1000.0 + 30.0)
        drill.heal_all()


def _read_what_answers(drill: Drill, before_final_read: Hook | None, timeout: float = 30.0) -> None:
    """After a failed heal: stop the consumers and read back from the clusters that answer
    (no recovery wait, no settling: a cluster that did not come back is skipped)."""
    rt = drill.rt

    def answers(cluster: str) -> bool:
        try:
            rt.wait_healthy(cluster, timeout=timeout)
        except TopologyError:
            return False
        return True

    drill.stop_consumers.set()
    for c in drill.consumers:
        c.join(timeout=30)
    drill.stop_all.set()
    if before_final_read is not None:
        before_final_read(rt, drill.history)
    drill.set_phase("final_read")
    with drill.timed("final_read"):
        _final_read_phase(drill, answers)


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
    history = HistoryWriter(run_dir / "history.jsonl", run_id, clock=clock.monotonic)
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
            body = _drill_body(out.drill, before_final_read)
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


def _finish(run: _Run, out: _Outcome, started: datetime, t_total: float) -> DrillResult:
    """Close the history (run.end), write the reports and return the result; re-raises a
    KeyboardInterrupt once the run directory is written."""
    from kafkadrill.report.build import build_and_write

    drill, error = out.drill, out.error
    runbook_errors = drill.runbook_errors if drill is not None else []
    if runbook_errors and error is None:
        error = "runbook failed: " + "; ".join(runbook_errors)
    status = "completed" if error is None else ("interrupted" if out.interrupted else "error")
    run.history.append(Ev.RUN_END, status=status, error=error)
    run.history.close()
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
