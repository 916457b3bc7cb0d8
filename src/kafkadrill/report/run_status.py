"""How a run ended, read from its history alone (docs/reference/history-format.md).

The history is the single source of truth: whether a drill completed is what its ``run.end``
event says, not what an earlier report.json claimed. A run that did not complete (``run.end``
with status ``error`` / ``interrupted``, no ``run.end`` because a crash cut the history, no
``run.start``) is judged UNKNOWN with the reason as its error: a crash never reads as PASS.

Pure: takes the history's non-message events (``HistoryFrames.events`` or any iterable of event
dicts; message events are skipped) and does no I/O, so the runner's report path and
``kafkadrill check`` derive the same status from the same history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kafkadrill.history.folds import run_bounds

__all__ = ["COMPLETED", "RunStatus", "run_status"]

COMPLETED = "completed"
#: ``run.end`` statuses the format defines; anything else is read as a run that did not complete.
END_STATUSES = ("completed", "error", "interrupted")


@dataclass(frozen=True)
class RunStatus:
    """``status``: the ``run.end`` status, or ``"missing"`` when the history has no ``run.end``.

    ``error`` is None only for a completed run; otherwise it is the reason, for humans: the
    ``run.end`` error text verbatim when there is one.
    """

    status: str
    error: str | None

    @property
    def completed(self) -> bool:
        return self.error is None


def run_status(events: Iterable[Mapping[str, Any]]) -> RunStatus:
    """The run's status from its ``run.start`` / ``run.end`` events (the last ``run.end`` wins,
    as the runner writes exactly one, last)."""
    bounds = run_bounds(events)
    end, last_t = bounds.end, bounds.last_t
    if bounds.start is None:
        return RunStatus(
            "missing",
            "history has no run.start event: not a complete drill history",
        )
    if end is None:
        where = f" (last event at t={last_t:.3f} s)" if isinstance(last_t, int | float) else ""
        return RunStatus(
            "missing",
            "history has no run.end event: the run was cut off (crash or kill) before it "
            f"finished{where}",
        )
    status = end.get("status")
    if status == COMPLETED:
        return RunStatus(COMPLETED, None)
    reason = end.get("error")
    if status not in END_STATUSES:
        return RunStatus(
            str(status),
            f"run.end has status {status!r}, not one of {', '.join(END_STATUSES)}",
        )
    if reason in (None, "") or not str(reason).strip():
        return RunStatus(str(status), f"run.end has status {status!r} and no error text")
    # Verbatim: the same text the runner put in its report, so `check` reproduces it exactly.
    return RunStatus(str(status), str(reason))
