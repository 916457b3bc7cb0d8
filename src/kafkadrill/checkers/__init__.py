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
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from kafkadrill.checkers._common import Verdict, jsonable
from kafkadrill.checkers.aborted_read import check_aborted_read  # noqa: F401  (registers it)
from kafkadrill.checkers.aggregation import check_aggregation  # noqa: F401  (registers it)
from kafkadrill.checkers.authorization import check_authorization  # noqa: F401  (registers it)
from kafkadrill.checkers.backup import check_backup  # noqa: F401  (registers it)
from kafkadrill.checkers.checkpoints import check_checkpoints  # noqa: F401  (registers it)
from kafkadrill.checkers.clocks import check_clocks  # noqa: F401  (registers it)
from kafkadrill.checkers.copier import check_copier  # noqa: F401  (registers it)
from kafkadrill.checkers.cycles import check_cycles  # noqa: F401  (registers it)
from kafkadrill.checkers.duplicates import check_duplicates  # noqa: F401  (registers it)
from kafkadrill.checkers.hanging_transaction import (  # noqa: F401  (registers it)
    check_hanging_transaction,
)
from kafkadrill.checkers.inconsistent_offsets import (  # noqa: F401  (registers it)
    check_inconsistent_offsets,
)
from kafkadrill.checkers.latency import check_latency  # noqa: F401  (registers it)
from kafkadrill.checkers.loss import check_loss  # noqa: F401  (registers it)
from kafkadrill.checkers.lost_writes import check_lost_writes  # noqa: F401  (registers it)
from kafkadrill.checkers.metadata import check_metadata  # noqa: F401  (registers it)
from kafkadrill.checkers.objectives import (
    CHECKER_CRASHED,
    ObjectiveResult,
    evaluate,
    overall,
)
from kafkadrill.checkers.offsets import check_offsets  # noqa: F401  (registers it)
from kafkadrill.checkers.ordering import check_ordering  # noqa: F401  (registers it)
from kafkadrill.checkers.per_minute import check_per_minute  # noqa: F401  (registers it)
from kafkadrill.checkers.poll_order import check_poll_order  # noqa: F401  (registers it)
from kafkadrill.checkers.recovery import check_recovery  # noqa: F401  (registers it)
from kafkadrill.checkers.registry import CheckerFn, anomaly_names, registered
from kafkadrill.checkers.replication import check_replication  # noqa: F401  (registers it)
from kafkadrill.checkers.schemas import check_schemas  # noqa: F401  (registers it)
from kafkadrill.checkers.send_order import check_send_order  # noqa: F401  (registers it)
from kafkadrill.checkers.split_writes import check_split_writes  # noqa: F401  (registers it)
from kafkadrill.checkers.timestamps import check_timestamps  # noqa: F401  (registers it)
from kafkadrill.checkers.torn_transaction import (  # noqa: F401  (registers it)
    check_torn_transaction,
)
from kafkadrill.checkers.unknown import check_unknown  # noqa: F401  (registers it)
from kafkadrill.history import HistoryFrames, load_frames
from kafkadrill.history.memory import release_freed

# The checker modules register themselves (@checker) when imported above: the registry, not a
# hand-kept list, says which checkers run, in which order, and which may be expected anomalies.
__all__ = [
    "ANOMALY_NAMES",
    "CHECKERS",
    "CHECKER_NAMES",
    "ObjectiveResult",
    "Verdict",
    "evaluate",
    "overall",
    "run_checkers",
    "summarize",
]

Checker = CheckerFn

#: name -> checker, in report order (from the @checker registrations).
CHECKERS: dict[str, Checker] = {spec.name: spec.fn for spec in registered()}
#: Every checker run_checkers runs, in report order.
CHECKER_NAMES: tuple[str, ...] = tuple(CHECKERS)
#: The checkers a scenario may list in ``expected_anomalies``.
ANOMALY_NAMES: tuple[str, ...] = anomaly_names()


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
    out = {}
    for name, fn in (checkers or CHECKERS).items():
        out[name] = _run_one(name, fn, frames)
        release_freed()  # a checker's working set, before the next one allocates its own
    return out


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
            "write_unavailable_worst_writer": _get(
                verdicts, "recovery", "write_unavailable_worst_writer"
            ),
            "phases": _get(verdicts, "recovery", "phases") or {},
        },
    }
