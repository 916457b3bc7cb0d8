"""The drill runner: the one module that orchestrates every stage.

scenario -> topology (local runtime) -> workload + fault schedule + runbooks, all appending to
one history -> final heal-and-read-all -> checkers -> verdict against objectives -> report.
Each other stage only consumes the stage before it; checkers never touch Kafka.
"""

from __future__ import annotations

import logging
import platform
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafkadrill import __version__
from kafkadrill.errors import KafkadrillError, TopologyError
from kafkadrill.faults.base import ActiveFault, FaultContext, create
from kafkadrill.faults.schedule import ScheduledFault
from kafkadrill.history import HistoryWriter
from kafkadrill.runbooks.failover import (
    RunbookAborted,
    RunbookContext,
    end_total,
    run_failback,
    run_failover,
    wait_replicated,
)
from kafkadrill.scenario import Scenario
from kafkadrill.topology.local import LocalRuntime
from kafkadrill.topology.provision import TOXIPROXY_VERSION
from kafkadrill.workload import CLIENT_LOGGER
from kafkadrill.workload.consumer import (
    ConsumerSpec,
    WorkloadConsumer,
    final_read,
    topic_pattern,
)
from kafkadrill.workload.producer import ProducerSpec, WorkloadProducer

Progress = Callable[[dict[str, Any]], None]
# Called with the running topology and the history just before the final read (after heal):
# tests use it to tamper with a cluster and check that the checkers see exactly that.
Hook = Callable[[LocalRuntime, HistoryWriter], None]


@dataclass
class DrillResult:
    scenario: str
    run_dir: Path
    verdict: str  # PASS | FAIL | UNKNOWN
    report: dict[str, Any]
    error: str | None = None
    infrastructure_error: bool = False

    @property
    def exit_code(self) -> int:
        return {"PASS": 0, "FAIL": 1}.get(self.verdict, 2)

    @property
    def failed_objectives(self) -> list[dict[str, Any]]:
        return [o for o in self.report.get("objectives", []) if o.get("verdict") == "FAIL"]


@dataclass
class _Active:
    sf: ScheduledFault
    fault_id: str
    impl: ActiveFault
    healed: bool = False


@dataclass
class Drill:
    """State of one running drill (the pieces the phases share)."""

    scenario: Scenario
    run_dir: Path
    history: HistoryWriter
    rt: LocalRuntime
    progress: Progress
    producers: list[WorkloadProducer] = field(default_factory=list)
    consumers: list[WorkloadConsumer] = field(default_factory=list)
    stop_producers: threading.Event = field(default_factory=threading.Event)
    stop_consumers: threading.Event = field(default_factory=threading.Event)
    stop_all: threading.Event = field(default_factory=threading.Event)
    active: list[_Active] = field(default_factory=list)
    runbook_results: dict[str, Any] = field(default_factory=dict)
    runbook_errors: list[str] = field(default_factory=list)
    phase: str = "setup"

    def set_phase(self, name: str) -> None:
        self.phase = name
        self.history.append("phase", name=name)
        self.emit()

    def emit(self, **extra: Any) -> None:
        self.progress(
            {
                "phase": self.phase,
                "t": self.history.now(),
                "acked": sum(p.acked for p in self.producers),
                "received": sum(c.received for c in self.consumers),
                "active_faults": [a.sf.describe() for a in self.active if not a.healed],
                **extra,
            }
        )

    # ----- workload --------------------------------------------------------------------------
    def start_workload(self) -> None:
        w = self.scenario.workload
        ps = w.producers
        boot = self._bootstrap
        for i in range(ps.count):
            spec = ProducerSpec(
                name=f"p{i}",
                cluster=ps.cluster,
                topic=ps.topic,
                site=ps.site,
                rate_per_second=ps.rate_per_second,
                acks=ps.acks,
                enable_idempotence=bool(ps.enable_idempotence),
                linger_ms=ps.linger_ms,
                retries=ps.retries,
                delivery_timeout_ms=ps.delivery_timeout_ms,
                request_timeout_ms=ps.request_timeout_ms,
                message_bytes=ps.message_bytes,
                extra=dict(ps.config),
            )
            self.producers.append(
                WorkloadProducer(spec, self.history, boot, self.history.run_id, self.stop_producers)
            )
        for cs in w.consumers:
            for i in range(cs.count):
                spec_c = ConsumerSpec(
                    name=f"{cs.group}-{i}",
                    group=cs.group,
                    cluster=cs.cluster,
                    topic=cs.topic,
                    site=cs.site,
                    commit_interval_ms=cs.commit_interval_ms,
                    auto_offset_reset=cs.auto_offset_reset,
                    extra=dict(cs.config),
                )
                self.consumers.append(
                    WorkloadConsumer(spec_c, self.history, boot, self.stop_consumers)
                )
        for c in self.consumers:
            c.start()
        for p in self.producers:
            p.start()

    def _bootstrap(self, cluster: str, site: str) -> str:
        return self.rt.bootstrap(cluster, from_site=site)

    def client_errors(self) -> list[str]:
        return [
            f"{c.name}: {c.error!r}"
            for c in [*self.producers, *self.consumers]
            if c.error is not None
        ]

    # ----- faults ----------------------------------------------------------------------------
    def inject(self, sf: ScheduledFault, n: int) -> None:
        fault_id = f"f{n}"
        ctx = FaultContext(self.rt, self.history, [*self.producers, *self.consumers])
        impl = create(sf.fault, ctx, dict(sf.params))
        self.history.append(
            "fault.inject",
            fault_id=fault_id,
            fault=sf.fault,
            target=sf.target(),
            params=dict(sf.params),
            origin=sf.origin,
        )
        active = _Active(sf, fault_id, impl)
        self.active.append(active)
        detail = impl.inject()
        ok, vdetail = impl.verify()
        self.history.append("fault.verify", fault_id=fault_id, ok=ok, detail=f"{detail}; {vdetail}")
        self.emit(event=f"injected {sf.describe()} (verified: {ok})")

    def heal(self, active: _Active) -> None:
        if active.healed:
            return
        active.healed = True
        try:
            detail = active.impl.heal()
            self.history.append("fault.heal", fault_id=active.fault_id, ok=True, detail=detail)
        except Exception as exc:
            self.history.append("fault.heal", fault_id=active.fault_id, ok=False, detail=repr(exc))
            raise
        self.emit(event=f"healed {active.sf.describe()}")

    def heal_all(self) -> None:
        errors = []
        for active in reversed(self.active):
            try:
                self.heal(active)
            except Exception as exc:
                errors.append(repr(exc))
        # Belt and braces: no toxic, disabled proxy, paused or dead node survives the drill.
        if self.rt.toxiproxy is not None:
            self.rt.toxiproxy.reset()
        for name, nr in self.rt.nodes.items():
            cluster, node_id = nr.cluster.name, nr.node.node_id
            self.rt.resume_node(cluster, node_id)
            if not self.rt.node_alive(cluster, node_id):
                self.rt.start_node(cluster, node_id)
                self.history.append("heal.restart", node=name)
        if errors:
            raise TopologyError(f"healing failed: {errors}")

    # ----- runbooks --------------------------------------------------------------------------
    def runbook_ctx(self) -> RunbookContext:
        return RunbookContext(
            self.rt,
            self.history,
            list(self.producers),
            list(self.consumers),
            self.scenario.workload.producers.topic,
            self.stop_all,
            self.runbook_results,
        )

    def start_runbook(self, name: str, body: Callable[[RunbookContext], None]) -> threading.Thread:
        """Run a runbook on its own thread (it waits on probes while faults go on)."""
        ctx = self.runbook_ctx()
        th = threading.Thread(
            target=self.run_runbook, name=name, args=(name, lambda: body(ctx)), daemon=True
        )
        th.start()
        return th

    def run_runbook(self, name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except RunbookAborted as exc:
            self.runbook_errors.append(str(exc))
        except Exception as exc:  # recorded: a crashed runbook is an error, not a result
            self.runbook_errors.append(f"{name}: {exc!r}")
            self.history.append(
                "runbook.step",
                runbook=name,
                step="crash",
                status="fail",
                detail={"error": traceback.format_exc()},
            )


def _sleep_until(deadline: float, stop: threading.Event) -> None:
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        stop.wait(min(left, 0.5))


def _monitor(drill: Drill, interval: float = 1.0) -> None:
    """Probe replication lag per flow into the history (what a monitor would have shown)."""
    topic = drill.scenario.workload.producers.topic
    while not drill.stop_all.wait(interval):
        for flow in list(drill.rt.flows_running.values()):
            try:
                src = end_total(drill.rt, flow.source, topic)
                dst = end_total(drill.rt, flow.target, drill.rt.remote_topic(flow, topic))
                drill.history.append(
                    "probe",
                    name="replication_lag",
                    flow=flow.name,
                    source_end=src,
                    target_end=dst,
                    lag=max(0, src - dst),
                    mm2_alive=drill.rt.mm2_alive(flow),
                )
            except Exception:  # an unreachable cluster is what faults do; skip the sample
                drill.history.append(
                    "probe",
                    name="replication_lag",
                    flow=flow.name,
                    lag=None,
                    mm2_alive=drill.rt.mm2_alive(flow),
                )
        drill.emit()


def _fault_phase(drill: Drill) -> None:
    sc = drill.scenario
    t0 = time.monotonic()
    schedule = sc.schedule()
    events: list[tuple[float, int, str, Any]] = []
    for i, sf in enumerate(schedule):
        events.append((sf.at, 1, "inject", (i, sf)))
    fo = sc.runbooks.failover
    watch_at = sc.failover_watch_at()
    threads: list[threading.Thread] = []
    if fo is not None and watch_at is not None:
        events.append((watch_at, 2, "failover", None))
    fb = sc.runbooks.failback
    if fb is not None:
        events.append((fb.at, 3, "failback", None))
    events.sort(key=lambda e: (e[0], e[1]))
    by_index: dict[int, _Active] = {}
    pending_heals: list[tuple[float, int]] = []
    end = t0 + sc.duration_seconds
    queue = list(events)
    while not drill.stop_all.is_set():
        now = time.monotonic()
        # heals due
        for at, idx in sorted(pending_heals):
            if t0 + at <= now:
                pending_heals.remove((at, idx))
                drill.heal(by_index[idx])
        if queue and t0 + queue[0][0] <= now:
            at, _prio, kind, arg = queue.pop(0)
            if kind == "inject":
                idx, sf = arg
                drill.inject(sf, idx)
                by_index[idx] = drill.active[-1]
                if not sf.open_ended:
                    pending_heals.append((sf.end, idx))
            elif kind == "failover" and fo is not None:
                # Phases (detection...) are measured from the fault that triggered the runbook.
                trigger = next(
                    (
                        f"f{i}"
                        for i, sf in enumerate(schedule)
                        if fo.trigger.at is None and sf.at == at
                    ),
                    None,
                )
                drill.history.append("runbook.trigger", runbook="failover", fault_id=trigger, at=at)
                threads.append(
                    drill.start_runbook(
                        "failover",
                        lambda ctx: run_failover(
                            ctx,
                            source=fo.from_cluster,
                            target=fo.to_cluster,
                            detect_seconds=fo.detect_failing_seconds,
                            probe_interval=fo.probe_interval_seconds,
                            stop_mm2=fo.stop_mm2,
                            translate_offsets=fo.translate_offsets,
                        ),
                    )
                )
            elif kind == "failback" and fb is not None and fo is not None:
                threads.append(
                    drill.start_runbook(
                        "failback",
                        lambda ctx: run_failback(
                            ctx,
                            original=fo.from_cluster,
                            current=fo.to_cluster,
                            catch_up_timeout=fb.catch_up_timeout_seconds,
                            translate_offsets=fb.translate_offsets,
                        ),
                    )
                )
            continue
        if now >= end and not pending_heals and not queue:
            break
        if now >= end + 1 and not queue:
            break  # heals scheduled past the end happen in heal_all
        errors = drill.client_errors()
        if errors:
            raise TopologyError(f"workload client crashed: {errors}")
        nxt = min([end] + [t0 + e[0] for e in queue[:1]] + [t0 + a for a, _ in pending_heals])
        drill.stop_all.wait(max(0.0, min(0.2, nxt - time.monotonic())))
    overran = any(th.is_alive() for th in threads)
    for th in threads:
        th.join(timeout=120)
        if th.is_alive():
            drill.runbook_errors.append(f"runbook {th.name} did not finish in 120 s")
    if overran:
        # A runbook finished after the planned end: keep the workload running a little so
        # that service on the cluster it moved clients to is actually observed.
        drill.emit(event="runbook finished after the planned end; observing 10 s more")
        _sleep_until(time.monotonic() + 10.0, drill.stop_all)


def _settle_consumers(drill: Drill, quiet: float = 3.0, timeout: float = 45.0) -> None:
    """Let consumers read what is left before they stop (idle for `quiet` seconds)."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_count = sum(c.received for c in drill.consumers)
        if now_count != last:
            last, since = now_count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.5)


def _final_read_phase(drill: Drill) -> None:
    topic = drill.scenario.workload.producers.topic
    rt = drill.rt
    authoritative = (
        drill.producers[0].cluster if drill.producers else drill.scenario.workload.producers.cluster
    )
    clusters = [authoritative] + [c.name for c in rt.topology.clusters if c.name != authoritative]
    topics: dict[str, list[str]] = {}
    from confluent_kafka.admin import AdminClient

    pattern = re.compile(topic_pattern(topic))
    for c in clusters:
        names = (
            AdminClient({"bootstrap.servers": rt.bootstrap(c), "log_level": 0})
            .list_topics(timeout=15)
            .topics
        )
        topics[c] = sorted(t for t in names if pattern.match(t))
    drill.history.append(
        "final_read.start", clusters=clusters, authoritative=authoritative, topics=topics
    )
    timeout = drill.scenario.final_read.timeout_seconds
    for c in clusters:
        records, complete = final_read(drill.history, rt.bootstrap(c), c, topics[c], timeout)
        drill.history.append("final_read.end", cluster=c, records=records, complete=complete)
        drill.emit(event=f"final read of {c}: {records} records, complete={complete}")


def _versions(rt: LocalRuntime | None) -> dict[str, Any]:
    import confluent_kafka

    from kafkadrill.topology.provision import java_version

    try:
        java = java_version()
    except KafkadrillError:
        java = None
    return {
        "kafkadrill": __version__,
        "kafka": rt.kafka.version if rt is not None and rt.kafka is not None else None,
        "mirrormaker2": rt.kafka.version if rt is not None and rt.kafka is not None else None,
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


def run_drill(
    scenario: Scenario,
    *,
    reports_dir: Path = Path("reports"),
    progress: Progress | None = None,
    topology_progress: Callable[[str], None] | None = None,
    before_final_read: Hook | None = None,
) -> DrillResult:
    """Run one drill end to end and write its run directory. Never raises for findings;
    raises ScenarioError for bad input before anything starts; KeyboardInterrupt propagates
    after the run directory is written."""
    from kafkadrill.report.store import new_run_dir

    schedule = scenario.schedule()  # validates the timeline before anything starts
    del schedule
    run_dir = new_run_dir(reports_dir, scenario.name)
    (run_dir / "scenario.yaml").write_text(scenario.resolved_yaml())
    run_id = run_dir.name
    started = datetime.now(UTC)
    history = HistoryWriter(run_dir / "history.jsonl", run_id)
    history.append("run.start", run_id=run_id, scenario=scenario.name, seed=scenario.seed)
    error: str | None = None
    infra = False
    interrupted: BaseException | None = None
    rt: LocalRuntime | None = None
    environment: dict[str, Any] = {}
    runbook_errors: list[str] = []
    drill: Drill | None = None
    log_handler = _client_log_handler(run_dir)
    try:
        topo = scenario.to_topology()
        rt = LocalRuntime(topo, run_dir, progress=topology_progress)
        drill = Drill(scenario, run_dir, history, rt, progress or (lambda _d: None))
        drill.set_phase("setup")
        with rt:
            environment = rt.describe()
            drill.set_phase("steady")
            monitor = threading.Thread(target=_monitor, args=(drill,), daemon=True)
            monitor.start()
            drill.start_workload()
            _sleep_until(time.monotonic() + scenario.warmup_seconds, drill.stop_all)
            drill.set_phase("faults")
            try:
                _fault_phase(drill)
            finally:
                drill.set_phase("heal")
                drill.stop_producers.set()
                for p in drill.producers:
                    p.join(timeout=p.spec.delivery_timeout_ms / 1000.0 + 30.0)
                drill.heal_all()
            for c in topo.clusters:
                rt.wait_healthy(c.name, timeout=120)
            failed_over = "failed_over_to" in drill.runbook_results
            if not failed_over:
                for flow in list(rt.flows_running.values()):
                    if rt.mm2_alive(flow):
                        wait_replicated(
                            rt, flow.source, flow.target, scenario.workload.producers.topic, 60
                        )
            _settle_consumers(drill)
            drill.stop_consumers.set()
            for c in drill.consumers:
                c.join(timeout=30)
            drill.stop_all.set()
            monitor.join(timeout=10)
            if before_final_read is not None:
                before_final_read(rt, history)
            drill.set_phase("final_read")
            _final_read_phase(drill)
            runbook_errors = drill.runbook_errors
            environment = rt.describe()
    except KeyboardInterrupt as exc:
        interrupted = exc
        error = "interrupted (Ctrl-C)"
    except TopologyError as exc:
        infra = True
        error = f"infrastructure: {exc}"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    finally:
        if drill is not None:
            drill.stop_all.set()
            drill.stop_producers.set()
            drill.stop_consumers.set()
    CLIENT_LOGGER.removeHandler(log_handler)
    log_handler.close()
    if runbook_errors and error is None:
        error = "runbook failed: " + "; ".join(runbook_errors)
    status = "completed" if error is None else ("interrupted" if interrupted else "error")
    history.append("run.end", status=status, error=error)
    history.close()
    from kafkadrill.report.build import build_and_write

    report = build_and_write(
        run_dir,
        scenario,
        started=started,
        finished=datetime.now(UTC),
        error=error,
        versions=_versions(rt),
        environment=environment,
    )
    result = DrillResult(scenario.name, run_dir, report["verdict"], report, error, infra)
    if interrupted is not None:
        raise interrupted
    return result
