"""One running drill: its shared state (Drill) and its phases, from a started topology to the
final read: steady state, faults and runbooks, heal, recovery, settling, final read. The runner
(kafkadrill.runner) builds the plan, starts the topology, calls `drill_body` and writes the
report; this module works from the plan only.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kafkadrill.clock import REAL, Clock
from kafkadrill.dr_toolbox import record_backup, record_schemas, schema_writer
from kafkadrill.errors import TopologyError
from kafkadrill.faults.base import FaultContext
from kafkadrill.faults.driver import FaultDriver, Injected
from kafkadrill.history import Ev, HistoryWriter
from kafkadrill.plan import DrillPlan
from kafkadrill.runbooks.acls import create_start_acls
from kafkadrill.runbooks.failback import run_failback
from kafkadrill.runbooks.failover import (
    STILL_SECONDS,
    RunbookAborted,
    RunbookContext,
    RunbookRefused,
    end_total,
    run_failover,
    wait_replicated,
    written_in_transactions,
)
from kafkadrill.runbooks.fencing import FENCE_KEY, unfence
from kafkadrill.runbooks.steps import step
from kafkadrill.runtimes.base import (
    Guarded,
    Runtime,
)
from kafkadrill.timeline import (
    Heal,
    Inject,
    Operation,
    StartRunbook,
    plan_operations,
    run_operations,
)
from kafkadrill.topology import Flow
from kafkadrill.workload.consumer import topic_pattern
from kafkadrill.workload.schemas import SchemaWriter
from kafkadrill.workload.workers import WorkerLost, WorkerProcess, make_workers

Progress = Callable[[dict[str, Any]], None]
# Called with the running topology and the history just before the final read (after heal):
# tests use it to tamper with a cluster and check that the checkers see exactly that.
Hook = Callable[[Runtime, HistoryWriter], None]

_log = logging.getLogger("kafkadrill.monitor")


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
    copiers: list[Any] = field(default_factory=list)  # read-process-write members
    workers: list[WorkerProcess] = field(default_factory=list)  # producers' own processes
    schemas: SchemaWriter | None = None  # the application's schema evolution, if any
    # Shared with the fault context (the same list object): clients are added at start.
    clients: list[Any] = field(default_factory=list)
    stop_producers: threading.Event = field(default_factory=threading.Event)
    stop_consumers: threading.Event = field(default_factory=threading.Event)
    stop_all: threading.Event = field(default_factory=threading.Event)
    faults: FaultDriver | None = None
    by_index: dict[int, Injected] = field(default_factory=dict)
    runbook_threads: list[threading.Thread] = field(default_factory=list)
    faults_end: float | None = None  # clock time the fault phase's schedule ends
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
                # Sends that failed or whose outcome is unknown, so far.
                "errors": sum(
                    getattr(p, "failed", 0) + getattr(p, "unknown", 0) for p in self.producers
                ),
                "received": sum(c.received for c in self.consumers),
                "active_faults": [r.label for r in self.driver.active()] if self.faults else [],
                **extra,
            }
        )

    # ----- workload --------------------------------------------------------------------------
    def start_workload(self) -> None:
        kafka = self.rt.clients
        self.workers = make_workers(
            [kafka.client_spec(s) for s in self.plan.producers if s.worker is not None],
            self.history,
            self._bootstrap,
            self.run_dir,
            self.stop_producers,
        )
        remote = {p.spec.name: p for w in self.workers for p in w.producers}
        for spec in self.plan.producers:  # in plan order, wherever each runs
            self.producers.append(
                remote.get(spec.name)
                or kafka.producer(
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
        for cs in self.plan.copiers:
            # They stop with the consumers: they read, and catch up in the settle phase.
            self.copiers.append(
                kafka.copier(
                    cs, self.history, self._bootstrap, self.history.run_id, self.stop_consumers
                )
            )
        self.clients.extend([*self.producers, *self.consumers, *self.copiers])
        for c in [*self.consumers, *self.copiers]:
            c.start()
        for p in self.producers:
            p.start()
        self.schemas = schema_writer(
            self.rt, self.plan, self.history, self.stop_producers, self.producers
        )
        if self.schemas is not None:
            self.schemas.start()

    def _bootstrap(self, cluster: str, site: str) -> str:
        return self.rt.bootstrap(cluster, from_site=site)

    def client_errors(self) -> list[str]:
        """Crashed clients: the drill stops at once. A lost worker is not one of them (see
        :meth:`lost_workers`)."""
        return [
            f"{c.spec.name}: {c.error!r}"
            for c in [*self.producers, *self.consumers, *self.copiers]
            if c.error is not None and not isinstance(c.error, WorkerLost)
        ]

    def lost_workers(self) -> list[str]:
        """Workers that ended without their final status. The drill runs on to its final read,
        so the evidence is whole (the lost worker's unrecorded outcomes are unknown sends),
        and the run then ends in error: it never reads as a pass."""
        return [w.lost for w in self.workers if w.lost is not None]

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
        self.lift_fence()
        if error is not None:
            raise error

    def lift_fence(self) -> None:
        """A fence the failover left in force is lifted with the faults (recorded as a step)."""
        if FENCE_KEY not in self.runbook_results:
            return
        ctx = self.runbook_ctx()
        try:
            with step(ctx, "failover", "unfence") as d:
                d.update(unfence(ctx) or {})
        except RunbookAborted as exc:
            raise TopologyError(f"could not lift the failover's fence: {exc}") from exc

    # ----- runbooks --------------------------------------------------------------------------
    def runbook_ctx(self) -> RunbookContext:
        return RunbookContext(
            self.rt,
            self.history,
            list(self.producers),
            # A copier is a group consumer to the runbooks: redirected, its group's offsets
            # translated, as an operator fails over any consuming application.
            [*self.consumers, *self.copiers],
            self.plan.producers[0].topic,
            self.stop_all,
            self.runbook_results,
            self.clock,
            self.faults_end,
            tuple(self.plan.derived_topics),
            self.schemas,
            self.plan.acls,
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
                fence=fo.fence,
                stragglers=fo.stragglers,
                max_checkpoint_age=fo.max_checkpoint_age_seconds,
                restore=fo.restore,
                grant_acls=fo.grant_acls,
            )
        elif op.runbook == "failback" and fb is not None and fo is not None:
            body = functools.partial(
                run_failback,
                original=fo.source,
                current=fo.target,
                catch_up_timeout=fb.catch_up_timeout_seconds,
                translate_offsets=fb.translate_offsets,
                strategy=fb.strategy,
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
            if isinstance(exc.__cause__, RunbookRefused):
                # The scenario's own gate said no: clients stay where they are, and the
                # checkers measure what that cost (service not restored).
                self.runbook_results[f"{name}_refused"] = str(exc.__cause__)
                self.emit(event=f"runbook {name} refused: {exc.__cause__}")
            else:
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


#: Monitor samples per heartbeat read (about every 2 s at 1 s samples): each read is a consumer
#: round trip to the flow's target, the lag sample two end-offset reads per topic.
HEARTBEAT_EVERY = 2


def _monitor(drill: Drill, interval: float = 1.0) -> None:
    """Probe replication per flow into the history (what a monitor would have shown): the lag
    of each topic every `interval`, the age of the newest heartbeat on the target every
    HEARTBEAT_EVERY samples."""
    n = 0
    while not drill.clock.wait(drill.stop_all, interval):
        if drill.history.closed:
            return  # the run ended without stopping us: nothing may be written after its end
        try:
            _lag_samples(drill, heartbeats=n % HEARTBEAT_EVERY == 0)
            if n % HEARTBEAT_EVERY == 0:
                _lso_samples(drill)
        except Exception as exc:  # a monitor that cannot sample logs it, never a traceback
            if drill.history.closed:
                return  # the run closed its history while we sampled
            _log.warning("replication-lag monitor skipped a sample: %r", exc)
        n += 1
        drill.emit()


def _heartbeat_age(rt: Runtime, flow: Flow) -> float | None:
    """Seconds since the newest heartbeat that reached the flow's target (`<source>.heartbeats`
    under the default policy); None when it cannot be read (never raises)."""
    try:
        age = rt.clients.newest_record_age(
            rt.bootstrap(flow.target), flow.remote_topic("heartbeats")
        )
    except Exception:  # an unreachable target is what faults do
        return None
    return None if age is None else round(age, 3)


def _lag_samples(drill: Drill, heartbeats: bool = False) -> None:
    """One `replication_lag` probe per flow and topic; with `heartbeats`, the flow's first probe
    also carries `heartbeat_age_s` (null: sampled, unreadable)."""
    rt = drill.rt
    for flow in rt.flows():
        alive = rt.flow_alive(flow)
        extra: dict[str, Any] = {}
        if heartbeats:
            extra["heartbeat_age_s"] = _heartbeat_age(rt, flow)
        for topic in flow_topics(drill.plan, flow):
            try:
                src = end_total(rt, flow.source, topic)
                dst = end_total(rt, flow.target, flow.remote_topic(topic))
                fields: dict[str, Any] = {
                    "source_end": src,
                    "target_end": dst,
                    "lag": max(0, src - dst),
                }
            except Exception:  # an unreachable cluster is what faults do; skip the sample
                fields = {"lag": None}
            if written_in_transactions(drill.plan.producers, topic):
                # Its lag counts control records MM2 never copies: the checker judges it apart.
                fields["txn"] = True
            drill.history.append(
                Ev.PROBE,
                name="replication_lag",
                flow=flow.name,
                topic=topic,
                **fields,
                mm2_alive=alive,
                **extra,
            )
            extra = {}


def _lso_watch(drill: Drill) -> list[tuple[str, str]]:
    """(cluster, topic) pairs whose last stable offset is watched: every topic written in
    transactions, on every cluster (producers move on failover), and its copies (MM2 in
    exactly-once mode writes transactions too)."""
    topics = list(dict.fromkeys(p.topic for p in drill.plan.producers if p.txn_size))
    pairs = [(c.name, t) for c in drill.rt.topology.clusters for t in topics]
    pairs += [(f.target, f.remote_topic(t)) for f in drill.rt.flows() for t in topics]
    return list(dict.fromkeys(pairs))


def _lso_samples(drill: Drill) -> None:
    """One `lso` probe per watched (cluster, topic) that exists: partitions whose LSO is below
    the high watermark (an open transaction), and the transaction timeout, past which the
    coordinator aborts an open transaction (hanging_transaction judges them)."""
    pairs = _lso_watch(drill)
    if not pairs:
        return
    rt = drill.rt
    timeout_ms = max(p.txn_timeout_ms for p in drill.plan.producers if p.txn_size)
    for cluster, topic in pairs:
        try:
            offsets = rt.clients.stable_offsets(rt.bootstrap(cluster), topic)
        except Exception:  # an unreachable cluster is what faults do
            fields: dict[str, Any] = {"gap": None, "open": None}
        else:
            if not offsets:
                continue  # not created there (yet)
            open_ = [[p, lso, hw] for p, (lso, hw) in offsets.items() if lso < hw]
            fields = {"gap": sum(hw - lso for _, lso, hw in open_), "open": open_}
        drill.history.append(
            Ev.PROBE,
            name="lso",
            cluster=cluster,
            topic=topic,
            txn_timeout_ms=timeout_ms,
            **fields,
        )


def _fault_phase(drill: Drill) -> None:
    plan = drill.plan
    drill.faults_end = drill.clock.monotonic() + plan.duration_seconds
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


def _copiers_behind(drill: Drill, quiet: float) -> bool:
    """Whether a copier member may still have input to copy: it has not been connected,
    assigned and without new records for `quiet` seconds (a wait condition only: the copier
    checker judges from the history what was copied)."""
    now = time.monotonic()  # idle_since is the member's own (real) monotonic time
    return any(c.idle_since is None or now - c.idle_since < quiet for c in drill.copiers)


def _copier_inputs(drill: Drill) -> list[tuple[str, str]]:
    """(cluster, topic) pairs the copiers read now: their input topic and its MM2 copies on
    the cluster each member is on."""
    pairs: list[tuple[str, str]] = []
    for c in drill.copiers:
        topic = c.spec.from_topic
        pairs.append((c.cluster, topic))
        pairs += [
            (c.cluster, f.remote_topic(topic)) for f in drill.rt.flows() if f.target == c.cluster
        ]
    return list(dict.fromkeys(pairs))


def _copier_input_open(drill: Drill) -> bool:
    """Whether a copier's input holds an open transaction (LSO below the high watermark): the
    records after it cannot be read read_committed until it ends, by commit, abort or the
    coordinator's timeout abort of a producer's in-doubt transaction. An idle copier is not
    caught up then (a wait condition only; a cluster that does not answer is not waited for)."""
    rt = drill.rt
    for cluster, topic in _copier_inputs(drill):
        try:
            offsets = rt.clients.stable_offsets(rt.bootstrap(cluster), topic)
        except Exception:
            continue
        if any(lso < hw for lso, hw in offsets.values()):
            return True
    return False


def _settle_consumers(drill: Drill, quiet: float = 2.0, timeout: float = 45.0) -> None:
    """Let consumers and copiers read what is left before they stop: idle for `quiet`
    seconds, every union group has received as many records as were acknowledged, no
    transaction open on a copier's input for `quiet` seconds and every copier idle on its
    input (or `timeout`)."""
    clock = drill.clock
    deadline = clock.monotonic() + timeout
    last, since = -1, clock.monotonic()
    open_seen = clock.monotonic() if drill.copiers else -quiet
    never = threading.Event()
    while clock.monotonic() < deadline:
        now_count = sum(c.received for c in drill.consumers)
        now_count += sum(c.copied for c in drill.copiers)
        if drill.copiers and _copier_input_open(drill):
            open_seen = clock.monotonic()
        if now_count != last:
            last, since = now_count, clock.monotonic()
        elif (
            clock.monotonic() - since >= quiet
            and clock.monotonic() - open_seen >= quiet
            and not _unions_behind(drill)
            and not _copiers_behind(drill, quiet)
        ):
            return
        clock.wait(never, 0.5)


def _final_read_phase(drill: Drill, answers: Callable[[str], bool] | None = None) -> None:
    """Read every acknowledged write back from each cluster (`answers`: only the clusters
    for which it is true, after a failed heal)."""
    plan, rt = drill.plan, drill.rt
    # The cluster the runbooks left the service on; a straggler producer still writing to the
    # old primary must not make it authoritative.
    rb = drill.runbook_results
    authoritative = rb.get("failed_back_to") or rb.get("failed_over_to")
    if authoritative is None:
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
    derived = _derived_topics(drill, clusters)
    if derived:
        extra["derived"] = derived
    drill.history.append(
        Ev.FINAL_READ_START,
        clusters=clusters,
        authoritative=authoritative,
        topics=topics,
        isolation="read_committed",
        **extra,
    )
    timeout = drill.plan.final_read_timeout_seconds
    for c in clusters:
        log_start = _log_starts(drill, c, topics[c])
        records, complete = rt.clients.final_read(
            drill.history, rt.bootstrap(c), c, topics[c], timeout
        )
        more: dict[str, Any] = {}
        if derived.get(c):
            # A read of its own: `records` and `complete` keep meaning the workload's topics.
            n, done = rt.clients.final_read(drill.history, rt.bootstrap(c), c, derived[c], timeout)
            more["derived"] = {"records": n, "complete": done}
        drill.history.append(
            Ev.FINAL_READ_END,
            cluster=c,
            records=records,
            complete=complete,
            log_start=log_start,
            **more,
        )
        drill.emit(event=f"final read of {c}: {records} records, complete={complete}")


def _derived_topics(drill: Drill, clusters: list[str]) -> dict[str, list[str]]:
    """Per cluster, the copiers' output topics it holds, and MM2's copies of them (a flow's
    topic filter is `.*` unless the scenario narrows it: the copy on the target is read too and
    judged apart, as copies of the workload are)."""
    names = drill.plan.derived_topics
    if not names:
        return {}
    rt = drill.rt
    patterns = [re.compile(topic_pattern(t)) for t in names]
    out: dict[str, list[str]] = {}
    for c in clusters:
        try:
            held = rt.clients.topics(rt.bootstrap(c))
        except Exception as exc:  # the workload read of this cluster says whether it answers
            _log.warning("topics of %s not listed for the copiers' output: %r", c, exc)
            continue
        mine = [t for t in held if any(p.match(t) for p in patterns)]
        if mine:
            out[c] = mine
    return out


def _log_starts(drill: Drill, cluster: str, topics: list[str]) -> list[list[Any]] | None:
    """Where each partition's log begins (above 0 only): records below it were deleted, by
    retention for instance, which the loss checker tells apart from records never written."""
    try:
        bootstrap = drill.rt.bootstrap(cluster)
        starts = {t: drill.rt.clients.log_starts(bootstrap, t) for t in topics}
    except Exception as exc:  # a cluster that cannot say: the checker leaves causes open
        _log.warning("log start offsets of %s not read: %r", cluster, exc)
        return None
    return [[t, p, lo] for t, parts in starts.items() for p, lo in sorted(parts.items()) if lo > 0]


def drill_body(drill: Drill, before_final_read: Hook | None) -> dict[str, Any]:
    """Every phase from a started topology to the final read; returns environment.json."""
    plan, rt = drill.plan, drill.rt
    environment = rt.describe()
    features = {c.name: dict(c.features) for c in rt.topology.clusters if c.features}
    if environment.get("wan"):
        drill.history.append(
            Ev.WAN, links=environment["wan"], in_force=environment.get("wan_in_force") or []
        )
    drill.set_phase("steady")
    monitor = threading.Thread(target=_monitor, args=(drill,), daemon=True)
    monitor.start()
    with drill.timed("steady"):
        create_start_acls(rt, drill.history, plan.acls)  # before the first request
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
                        txn = written_in_transactions(plan.producers, topic)
                        still = STILL_SECONDS if txn else None
                        wait_replicated(rt, flow, topic, 60, drill.clock, still_for=still)
    with drill.timed("settle"):
        _settle_consumers(drill)
        drill.stop_consumers.set()
        for c in [*drill.consumers, *drill.copiers]:
            c.join(timeout=30)
        drill.stop_all.set()
        monitor.join(timeout=10)
    if before_final_read is not None:
        before_final_read(rt, drill.history)
    record_backup(drill.rt, drill.history)
    record_schemas(drill.rt, drill.history, drill.schemas)
    drill.set_phase("final_read")
    with drill.timed("final_read"):
        _final_read_phase(drill)
    out = rt.describe() or environment
    # The levels the clusters were formatted with (topology.features); absent: the defaults.
    return {**out, "features": features} if features else out


def _heal_phase(drill: Drill) -> None:
    """Stop the producers, heal every fault (raises TopologyError if one cannot be healed)."""
    drill.set_phase("heal")
    with drill.timed("heal"):
        drill.stop_producers.set()
        for p in drill.producers:
            p.join(timeout=p.spec.delivery_timeout_ms / 1000.0 + 30.0)
        if drill.schemas is not None:
            drill.schemas.join(timeout=15.0)  # at most one registry call in flight
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
    for c in [*drill.consumers, *drill.copiers]:
        c.join(timeout=30)
    drill.stop_all.set()
    if before_final_read is not None:
        before_final_read(rt, drill.history)
    drill.set_phase("final_read")
    with drill.timed("final_read"):
        _final_read_phase(drill, answers)
