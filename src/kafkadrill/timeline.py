"""The fault phase as data: a typed, ordered list of operations and one interpreter for it.

`plan_operations(plan)` turns the drill plan's schedule and runbooks into operations
(inject, heal, start a runbook) at seconds into the fault phase; `run_operations` executes them
at their time on a given clock. Both are free of Kafka, so they are unit-tested on a fast clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from kafkadrill.clock import Clock
from kafkadrill.faults.schedule import ScheduledFault
from kafkadrill.plan import DrillPlan


@dataclass(frozen=True)
class Heal:
    at: float
    index: int  # the fault's index in the schedule
    order = 0  # at the same instant: heal first, then inject, then runbooks


@dataclass(frozen=True)
class Inject:
    at: float
    index: int
    fault: ScheduledFault
    order = 1

    @property
    def fault_id(self) -> str:
        return f"f{self.index}"


@dataclass(frozen=True)
class StartRunbook:
    at: float
    runbook: str  # "failover" | "failback"
    trigger_fault_id: str | None = None  # the fault the runbook reacts to, if any
    order = 2


Operation = Heal | Inject | StartRunbook


def plan_operations(plan: DrillPlan) -> list[Operation]:
    """Every operation of the fault phase, in execution order."""
    ops: list[Operation] = []
    for i, sf in enumerate(plan.schedule):
        ops.append(Inject(sf.at, i, sf))
        if not sf.open_ended:
            ops.append(Heal(sf.end, i))
    fo = plan.runbooks.failover
    if fo is not None:
        # The trigger was resolved against the schedule when the plan was compiled.
        if fo.watch_at is not None:
            ops.append(StartRunbook(fo.watch_at, "failover", fo.trigger_fault_id))
        fb = plan.runbooks.failback
        if fb is not None:
            ops.append(StartRunbook(fb.at, "failback"))
    return sorted(ops, key=lambda op: (op.at, op.order))


def run_operations(
    ops: list[Operation],
    execute: Callable[[Operation], None],
    *,
    clock: Clock,
    stop: threading.Event,
    duration: float,
    check: Callable[[], None] = lambda: None,
    tick: float = 0.2,
) -> list[Operation]:
    """Execute each operation when its time comes, until `duration` seconds have passed and
    every operation due by then has run. `check` runs every tick (it raises to abort).
    Returns the operations left for later (heals due after the end: the caller heals all)."""
    t0 = clock.monotonic()
    pending = [op for op in ops if op.at <= duration]
    later = [op for op in ops if op.at > duration]
    while not stop.is_set():
        now = clock.monotonic() - t0
        while pending and pending[0].at <= now:
            execute(pending.pop(0))
            if stop.is_set():
                break
        if not pending and now >= duration:
            break
        check()
        nxt = pending[0].at if pending else duration
        clock.wait(stop, max(0.0, min(tick, nxt - now)))
    return pending + later
