"""Checkers: pure functions history -> Verdict, plus the RPO/RTO summary and objectives.

Checkers never touch Kafka; they can be re-run offline on a stored history::

    verdicts = run_checkers(load_frames("history.jsonl"))
    summary = summarize(verdicts)               # report.json "rpo" / "rto"
    results = evaluate(verdicts, scenario_objectives)
    verdict = overall(results, verdicts)

See docs/explanation/checkers.md for what every figure means.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from kafkadrill.checkers._common import CHECKER_NAMES, Verdict, jsonable
from kafkadrill.checkers.aggregation import check_aggregation
from kafkadrill.checkers.cycles import check_cycles
from kafkadrill.checkers.duplicates import check_duplicates
from kafkadrill.checkers.latency import check_latency
from kafkadrill.checkers.loss import check_loss
from kafkadrill.checkers.metadata import check_metadata
from kafkadrill.checkers.objectives import (
    CHECKER_CRASHED,
    ObjectiveResult,
    evaluate,
    overall,
)
from kafkadrill.checkers.offsets import check_offsets
from kafkadrill.checkers.ordering import check_ordering
from kafkadrill.checkers.recovery import check_recovery
from kafkadrill.checkers.timestamps import check_timestamps
from kafkadrill.checkers.unknown import check_unknown
from kafkadrill.history import HistoryFrames, load_frames

__all__ = [
    "CHECKERS",
    "CHECKER_NAMES",
    "ObjectiveResult",
    "Verdict",
    "evaluate",
    "overall",
    "run_checkers",
    "summarize",
]

Checker = Callable[[HistoryFrames], Verdict]

#: name -> checker, in report order.
CHECKERS: dict[str, Checker] = {
    "loss": check_loss,
    "unknown": check_unknown,
    "duplicates": check_duplicates,
    "ordering": check_ordering,
    "timestamps": check_timestamps,
    "offsets": check_offsets,
    "recovery": check_recovery,
    "latency": check_latency,
    "cycles": check_cycles,
    "aggregation": check_aggregation,
    "metadata": check_metadata,
}
assert tuple(CHECKERS) == CHECKER_NAMES


def _run_one(name: str, fn: Checker, frames: HistoryFrames) -> Verdict:
    try:
        v = fn(frames)
        v.figures = jsonable(v.figures)
        v.evidence = jsonable(v.evidence)
        orjson.dumps(v.figures)  # a figure that cannot reach report.json is a checker bug
        return v
    except Exception as e:  # a crash is UNKNOWN, never PASS
        return Verdict(
            name,
            "UNKNOWN",
            {},
            [],
            [f"{CHECKER_CRASHED}: {type(e).__name__}: {e}", traceback.format_exc()],
        )


def run_checkers(
    frames: HistoryFrames | str | os.PathLike[str] | Iterable[Mapping[str, Any]],
    *,
    checkers: Mapping[str, Checker] | None = None,
) -> dict[str, Verdict]:
    """Run every checker (or the given ones) on a history; never raises for a checker bug."""
    if not isinstance(frames, HistoryFrames):
        frames = load_frames(Path(frames) if isinstance(frames, str) else frames)
    return {name: _run_one(name, fn, frames) for name, fn in (checkers or CHECKERS).items()}


def _get(verdicts: Mapping[str, Verdict], checker: str, key: str) -> Any:
    v = verdicts.get(checker)
    return None if v is None else v.figures.get(key)


def summarize(verdicts: Mapping[str, Verdict]) -> dict[str, dict[str, Any]]:
    """The stable ``rpo`` and ``rto`` blocks of report.json (null where not known)."""
    return {
        "rpo": {
            "acked": _get(verdicts, "loss", "acked"),
            "lost": _get(verdicts, "loss", "lost"),
            "lost_bytes": _get(verdicts, "loss", "lost_bytes"),
            "window_seconds": _get(verdicts, "loss", "window_seconds"),
            "duplicates": _get(verdicts, "duplicates", "duplicates"),
            "unknown": _get(verdicts, "unknown", "unknown"),
        },
        "rto": {
            "write_unavailable_seconds": _get(verdicts, "recovery", "write_unavailable_seconds"),
            "read_unavailable_seconds": _get(verdicts, "recovery", "read_unavailable_seconds"),
            "write_unavailable_per_producer": _get(
                verdicts, "recovery", "write_unavailable_per_producer"
            )
            or {},
            "write_unavailable_worst_writer_seconds": _get(
                verdicts, "recovery", "write_unavailable_worst_writer_seconds"
            ),
            "phases": _get(verdicts, "recovery", "phases") or {},
        },
    }
