"""What several readers derive from the same non-message events, defined once.

Checkers, the report (plots, report.json, run status) and the external runtime's evidence all
need the fault windows (inject -> verify -> heal per fault), the runbook steps, how the run
started and ended, and the final read's attempt. Each used to fold the raw events its own way;
these are the one definition. Pure functions of the events (``HistoryFrames.events`` or any
list of event dicts, message events are skipped); given a ``HistoryFrames`` the result is kept
in its ``cache`` so checkers and the report fold each history once. Results are shared: callers
must not mutate them.

Every field is read with ``.get``: the report also folds unvalidated lists (tests, hand-made
histories), where any field may be missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from kafkadrill.history.events import Ev

if TYPE_CHECKING:
    from kafkadrill.history.frames import HistoryFrames

__all__ = [
    "FaultWindow",
    "FinalReadEvents",
    "RunBounds",
    "RunbookStep",
    "fault_windows",
    "final_read_events",
    "run_bounds",
    "runbook_steps",
]

Event = Mapping[str, Any]
Events = Iterable[Event]
_T = TypeVar("_T")


def _memo(source: HistoryFrames | Events, key: str, fold: Callable[[Events], _T]) -> _T:
    """``fold(events)``, kept in ``source.cache`` when ``source`` is a HistoryFrames.

    Duck-typed on purpose: importing the frames class would load pandas / pyarrow into the
    light modules that fold plain event lists (run status, evidence). The entry remembers the
    events list it was folded from: the report's redacted frames share the cache but carry
    other (redacted) events, and must never get the folds of the unredacted ones."""
    cache = getattr(source, "cache", None)
    if cache is None:
        return fold(source)  # type: ignore[arg-type]
    events = source.events  # type: ignore[union-attr]
    key = f"fold:{key}"
    hit = cache.get(key)
    if hit is None or hit[0] is not events:
        hit = cache[key] = (events, fold(events))
    return hit[1]  # type: ignore[no-any-return]


# -- fault windows ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FaultWindow:
    """One injected fault: its ``fault.inject`` event and the ``fault.verify`` /
    ``fault.heal`` events of the same ``fault_id`` written after it, in file order."""

    fault_id: Any
    inject: Event
    verifies: tuple[Event, ...] = ()
    heals: tuple[Event, ...] = ()

    @property
    def fault(self) -> Any:
        """The fault's type name (``node.kill``, ``link.cut``, ...)."""
        return self.inject.get("fault")

    @property
    def verify(self) -> Event | None:
        """The last verification (the driver writes one per injection)."""
        return self.verifies[-1] if self.verifies else None

    @property
    def heal(self) -> Event | None:
        """The last heal (the driver writes one per fault); None: never healed."""
        return self.heals[-1] if self.heals else None


def _fault_windows(events: Events) -> tuple[FaultWindow, ...]:
    # fault_id -> [inject, verifies, heals]; dicts keep first-injection order, and a
    # re-injection of an id (never written by the driver) restarts that fault's record.
    open_: dict[Any, tuple[Event, list[Event], list[Event]]] = {}
    for e in events:
        typ = e.get("type")
        fid = e.get("fault_id")
        if typ == Ev.FAULT_INJECT:
            open_[fid] = (e, [], [])
        elif typ == Ev.FAULT_VERIFY and fid in open_:
            open_[fid][1].append(e)
        elif typ == Ev.FAULT_HEAL and fid in open_:
            open_[fid][2].append(e)
    return tuple(FaultWindow(fid, i, tuple(v), tuple(h)) for fid, (i, v, h) in open_.items())


def fault_windows(source: HistoryFrames | Events) -> tuple[FaultWindow, ...]:
    """Every injected fault in order of injection, one per ``fault_id``."""
    return _memo(source, "fault_windows", _fault_windows)


# -- runbook steps ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RunbookStep:
    """The ``runbook.step`` events (start, then ok | fail) of one step of one runbook."""

    runbook: Any
    step: Any
    events: tuple[Event, ...] = field(default=())


def _runbook_steps(events: Events) -> tuple[RunbookStep, ...]:
    steps: dict[tuple[Any, Any], list[Event]] = {}
    for e in events:
        if e.get("type") == Ev.RUNBOOK_STEP:
            steps.setdefault((e.get("runbook"), e.get("step")), []).append(e)
    return tuple(RunbookStep(rb, st, tuple(evs)) for (rb, st), evs in steps.items())


def runbook_steps(source: HistoryFrames | Events) -> tuple[RunbookStep, ...]:
    """Every runbook step in order of its first event."""
    return _memo(source, "runbook_steps", _runbook_steps)


# -- how the run started and ended -----------------------------------------------------------
@dataclass(frozen=True)
class RunBounds:
    """``start``: the first ``run.start``; ``end``: the last ``run.end`` (the runner writes one,
    last); ``last_t``: ``t`` of the last event that has the key (None when none has)."""

    start: Event | None
    end: Event | None
    last_t: Any


def _run_bounds(events: Events) -> RunBounds:
    start: Event | None = None
    end: Event | None = None
    last_t: Any = None
    for e in events:
        typ = e.get("type")
        if typ == Ev.RUN_START and start is None:
            start = e
        elif typ == Ev.RUN_END:
            end = e
        last_t = e.get("t", last_t)
    return RunBounds(start, end, last_t)


def run_bounds(source: HistoryFrames | Events) -> RunBounds:
    """How the run started and ended, as recorded."""
    return _memo(source, "run_bounds", _run_bounds)


# -- the final read --------------------------------------------------------------------------
@dataclass(frozen=True)
class FinalReadEvents:
    """``first_start``: the first ``final_read.start`` (the workload stopped there);
    ``start``: the last one (a retried final read supersedes earlier attempts);
    ``complete``: cluster -> ``complete`` of the ``final_read.end`` events after ``start``
    (the last per cluster wins); ``log_start``: cluster -> {(topic, partition): log start
    offset} from the same events (absent partitions start at 0; a cluster whose event has no
    log start is left out: where its logs began is unknown)."""

    first_start: Event | None
    start: Event | None
    complete: Mapping[str, bool]
    log_start: Mapping[str, Mapping[tuple[str, int], int]] = field(default_factory=dict)


def _final_read_events(events: Events) -> FinalReadEvents:
    starts: list[Event] = []
    ends: list[Event] = []
    for e in events:
        typ = e.get("type")
        if typ == Ev.FINAL_READ_START:
            starts.append(e)
        elif typ == Ev.FINAL_READ_END:
            ends.append(e)
    if not starts:
        return FinalReadEvents(None, None, {})
    start = starts[-1]
    seq0 = int(start.get("seq", -1))
    after = [e for e in ends if int(e.get("seq", 0)) > seq0]
    complete = {str(e.get("cluster")): bool(e.get("complete")) for e in after}
    log_start: dict[str, dict[tuple[str, int], int]] = {}
    for e in after:
        items = e.get("log_start")
        if isinstance(items, list):
            log_start[str(e.get("cluster"))] = {
                (str(i[0]), int(i[1])): int(i[2])
                for i in items
                if isinstance(i, list) and len(i) == 3
            }
    return FinalReadEvents(starts[0], start, complete, log_start)


def final_read_events(source: HistoryFrames | Events) -> FinalReadEvents:
    """The final read's attempt and which clusters it read completely."""
    return _memo(source, "final_read_events", _final_read_events)
