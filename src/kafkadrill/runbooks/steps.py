"""What every runbook is made of: its context and its timed, recorded steps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kafkadrill.clock import REAL, Clock
from kafkadrill.history import Ev, HistoryWriter
from kafkadrill.runtimes.base import Runtime


class RunbookAborted(Exception):
    """A step failed; the failure is recorded in the history."""


class RunbookRefused(Exception):
    """The runbook's own policy refused to go on (a readiness gate): the step is recorded as
    failed and the drill goes on without it; what that cost is the drill's result, not an
    error of the drill."""


@dataclass
class RunbookContext:
    runtime: Runtime
    history: HistoryWriter
    producers: list[Any]
    consumers: list[Any]
    topic: str  # the workload topic (e.g. "orders")
    stop: threading.Event
    results: dict[str, Any] = field(default_factory=dict)
    clock: Clock = REAL
    # Clock time the fault phase ends: a step scheduled later than that never happens.
    faults_end: float | None = None
    # Copiers' output topics: created on the failover target with the workload topic (the
    # copiers are among `consumers`: redirected, and their groups' offsets translated).
    derived_topics: tuple[str, ...] = ()
    # The application's schema writer (topology.schema_registry): the failover checks what the
    # target's registry resolves, switches it to read-write and moves the writer there.
    schemas: Any = None
    # The application's ACLs (topology.acls): the failover's grant_acls step copies them.
    acls: tuple[Any, ...] = ()


@contextmanager
def step(ctx: RunbookContext, runbook: str, name: str) -> Iterator[dict[str, Any]]:
    """Record one timed step; the body may fill `detail`."""
    detail: dict[str, Any] = {}
    ctx.history.append(Ev.RUNBOOK_STEP, runbook=runbook, step=name, status="start", detail=None)
    try:
        yield detail
    except Exception as exc:
        detail["error"] = repr(exc)
        ctx.history.append(
            Ev.RUNBOOK_STEP, runbook=runbook, step=name, status="fail", detail=detail
        )
        raise RunbookAborted(f"{runbook}/{name}: {exc}") from exc
    ctx.history.append(Ev.RUNBOOK_STEP, runbook=runbook, step=name, status="ok", detail=detail)
