"""Faults inside MirrorMaker 2 on Kafka Connect (`mm2_mode: connect`): one task or connector
fails or stops while the worker, and everything a process check sees, stays up.

    mm2.task_fail        the target refuses the records of one replicated topic: its copy's
                         `max.message.bytes` is set below a record batch, so MirrorSource's
                         producer gets RecordTooLargeException (not retriable) and Connect
                         fails the task; heal restores the setting and restarts failed tasks
    mm2.connector_stop   stop (or pause) one connector of the flow, e.g. the checkpoint
                         connector, over Connect REST; heal resumes it

What MM2 users report (Strimzi and Kafka trackers): connectors FAILED while the deployment
looks Ready, and checkpoints that stop while data still flows. Both are real causes here, not a
simulated flag: the first is a broker refusing records, the second Connect's own operation.
Each verify reads the connector's state back over REST (the task FAILED, the connector
STOPPED or PAUSED). What it cost is measured by the checkers on the history: the replication
checker's stall (when lag and heartbeats showed it, when it recovered), the checkpoints
checker's age at the failover decision.

Dedicated MM2 has no REST API to see or act on one task, so both faults need the flow in
`mm2_mode: connect` (a scenario error otherwise); the external runtime does not offer them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field

from kafkadrill.faults.base import FaultContext, fault
from kafkadrill.faults.catalog import Problem, known
from kafkadrill.faults.metadata_admin import confluent_admin
from kafkadrill.faults.mm2_filter import config_expectation
from kafkadrill.faults.process import Mm2Params
from kafkadrill.runtimes.base import Cap, RunsConnectors, Runtime
from kafkadrill.topology import Topology

#: Seconds verify waits for Connect to report the effect (a task fails on the first batch
#: it copies after the change: about 6 s measured, with records flowing).
VERIFY_S = 60.0
#: Seconds heal waits for the connector and its tasks to run again.
RESUME_S = 30.0
SETTING = "max.message.bytes"

#: Builds the admin seam for (runtime, cluster); unit tests replace it.
ADMIN_FACTORY: Callable[[Runtime, str], Any] = confluent_admin


def _connect_problems(topology: Topology, flow_name: str) -> list[Problem]:
    flow = next((f for f in topology.flows if f.name == flow_name), None)
    if flow is None or flow.mode == "connect":
        return []
    return [
        Problem(
            "target.flow",
            f"flow {flow_name} runs MirrorMaker 2 in dedicated mode, which has no REST API to "
            "see or act on one connector or task",
            "set topology.mm2_mode: connect (or mm2_mode: connect on the flow)",
        )
    ]


class TaskFailParams(Mm2Params):
    """mm2.task_fail: the flow's target refuses the copies of `topic` (a topic of the flow's
    source), so MirrorSource's tasks copying it fail inside a live worker."""

    target_fields: ClassVar[tuple[str, ...]] = ("flow", "topic")
    topic: str = "orders"
    max_message_bytes: int = Field(
        default=64,
        ge=0,
        le=1_000_000,
        description="the copy's max.message.bytes while in force (a record batch's header "
        "alone is 61 bytes)",
    )

    def check(self, topology: Topology) -> list[Problem]:
        problems = super().check(topology) + _connect_problems(topology, self.flow)
        flow = next((f for f in topology.flows if f.name == self.flow), None)
        if flow is None:
            return problems
        source = topology.cluster(flow.source)
        names = [t.name for t in source.topics]
        declared = next((t for t in source.topics if t.name == self.topic), None)
        if declared is None:
            problems.append(
                Problem(
                    "target.topic",
                    f"cluster '{source.name}' declares no topic '{self.topic}'; {known(names)}",
                )
            )
        elif SETTING in declared.config and config_expectation(flow, SETTING) == "replicated":
            problems.append(
                Problem(
                    "target.topic",
                    f"topic '{self.topic}' sets {SETTING}, which MirrorMaker 2 copies to the "
                    "target: it would undo the fault within a config sync",
                    f"drop {SETTING} from the topic's config, or exclude it from config sync",
                )
            )
        return problems

    def targets(self, topology: Topology) -> set[str]:
        # One connector, not the flow: a region outage or mm2.kill may overlap it (their
        # heals leave it to this fault's heal, which handles a flow that is down).
        return {f"connector:{self.flow}/source"}


class ConnectorStopParams(Mm2Params):
    """mm2.connector_stop: one connector of the flow stopped (or paused) over Connect REST."""

    connector: Literal["checkpoint", "source", "heartbeat"] = "checkpoint"
    how: Literal["stop", "pause"] = Field(
        default="stop",
        description="stop: the connector and its tasks shut down (Kafka 3.5+, STOPPED); "
        "pause: its tasks stay assigned but idle (PAUSED)",
    )

    def check(self, topology: Topology) -> list[Problem]:
        return super().check(topology) + _connect_problems(topology, self.flow)

    def targets(self, topology: Topology) -> set[str]:
        return {f"connector:{self.flow}/{self.connector}"}


def _connectors(rt: Runtime) -> RunsConnectors:
    if not isinstance(rt, RunsConnectors):
        raise TypeError(f"runtime {type(rt).__name__} cannot act on Connect connectors")
    return rt


@fault(
    "mm2.task_fail",
    TaskFailParams,
    needs={Cap.FLOW_CONNECTOR, Cap.TOPIC_ADMIN},
    summary="the target refuses one topic's copies (max.message.bytes): MirrorSource's "
    "tasks FAIL in a live Connect worker; heal restores it and restarts failed tasks",
)
class Mm2TaskFail:
    def __init__(self, ctx: FaultContext, params: TaskFailParams) -> None:
        self.rt = _connectors(ctx.runtime)
        self.flow = ctx.runtime.flow(params.flow)
        self.params = params
        self.copy = self.flow.remote_topic(params.topic)
        self.admin = ADMIN_FACTORY(ctx.runtime, self.flow.target)
        self.before: str | None = None
        self.injected = 0.0
        self.alive = lambda: ctx.runtime.flow_alive(self.flow)

    def _where(self) -> str:
        return f"{self.flow.target}:{self.copy}"

    def inject(self) -> str:
        self.before = self.admin.topic_level_configs(self.copy, (SETTING,)).get(SETTING)
        self.admin.alter_configs(self.copy, {SETTING: str(self.params.max_message_bytes)})
        self.injected = time.monotonic()
        return (
            f"{self._where()}: {SETTING}={self.params.max_message_bytes} "
            f"(was {self.before or 'default'})"
        )

    def verify(self) -> tuple[bool, str]:
        st = _poll(
            self.rt, self.flow, "source", lambda s: s.failed_tasks > 0, self.injected + VERIFY_S
        )
        after = time.monotonic() - self.injected
        if not st.failed_tasks:
            return False, f"no task failed within {VERIFY_S:.0f} s: {st.text()}"
        cause = next((t.splitlines()[0] for t in st.traces if t), "")
        # The first line is Connect's wrapper; the broker's refusal is the "Caused by".
        why = next(
            (ln.strip() for t in st.traces for ln in t.splitlines() if "RecordTooLarge" in ln),
            cause,
        )
        return True, f"{st.text()} {after:.1f} s after the change; {why[:200]}"

    def heal(self) -> str:
        self.admin.alter_configs(self.copy, {SETTING: self.before})
        restored = f"{self._where()}: {SETTING} {self.before or 'default'} again"
        if not self.alive():
            return f"{restored}; MirrorMaker 2 {self.flow.name} is not running: no task to restart"
        done = self.rt.flow_connector(self.flow, "source", "restart_failed")
        st, waited = _wait_running(self.rt, self.flow, "source", 0)
        return f"{restored}; {done}; {st.text()} after {waited:.1f} s"


@fault(
    "mm2.connector_stop",
    ConnectorStopParams,
    needs={Cap.FLOW_CONNECTOR},
    summary="stop or pause one MirrorMaker 2 connector of a flow (e.g. checkpoints) over "
    "Connect REST; resumed at heal",
)
class Mm2ConnectorStop:
    def __init__(self, ctx: FaultContext, params: ConnectorStopParams) -> None:
        self.rt = _connectors(ctx.runtime)
        self.flow = ctx.runtime.flow(params.flow)
        self.params = params
        self.tasks = 0
        self.alive = lambda: ctx.runtime.flow_alive(self.flow)

    def _status(self) -> Any:
        return self.rt.flow_connector_status(self.flow, self.params.connector)

    def inject(self) -> str:
        before = self._status()
        self.tasks = len(before.tasks)
        done = self.rt.flow_connector(self.flow, self.params.connector, self.params.how)
        return f"{done} (was {before.text()})"

    def verify(self) -> tuple[bool, str]:
        want = "STOPPED" if self.params.how == "stop" else "PAUSED"
        st = _poll(
            self.rt,
            self.flow,
            self.params.connector,
            lambda s: s.state == want,
            time.monotonic() + VERIFY_S,
        )
        return st.state == want, st.text()

    def heal(self) -> str:
        if not self.alive():
            # e.g. a failover runbook stopped the flow: its worker is not there to resume it.
            return f"MirrorMaker 2 {self.flow.name} is not running: nothing to resume"
        done = self.rt.flow_connector(self.flow, self.params.connector, "resume")
        st, waited = _wait_running(self.rt, self.flow, self.params.connector, self.tasks)
        return f"{done}; {st.text()} after {waited:.1f} s"


def _poll(
    rt: RunsConnectors, flow: Any, role: str, done: Callable[[Any], bool], until: float
) -> Any:
    """The connector's status every 0.5 s until `done(status)` or the monotonic time `until`
    has passed (it is read at least once); the last status read."""
    st = rt.flow_connector_status(flow, role)
    while not done(st) and time.monotonic() < until:
        time.sleep(0.5)
        st = rt.flow_connector_status(flow, role)
    return st


def _wait_running(rt: RunsConnectors, flow: Any, role: str, tasks: int) -> tuple[Any, float]:
    """Wait (up to RESUME_S) until the connector and at least `tasks` tasks run again."""
    t0 = time.monotonic()
    st = _poll(rt, flow, role, lambda s: s.running and len(s.tasks) >= tasks, t0 + RESUME_S)
    return st, time.monotonic() - t0
