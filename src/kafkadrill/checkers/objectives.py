"""Objectives: what the scenario demands, evaluated against checker verdicts.

Checkers report strict properties (loss PASS iff nothing lost); the scenario decides what the
drill tolerates. Each objective *governs* the checkers it reads: once a scenario states an
objective for a checker (even ``None`` = measure only), that objective decides for that checker.
A checker no objective governs counts with its strict status, unless it is listed in
``expected_anomalies`` (its FAIL is reported but allowed). A checker that crashed is UNKNOWN and
makes the drill UNKNOWN: a crash never reads as PASS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from kafkadrill.checkers._common import Verdict, jsonable
from kafkadrill.checkers.registry import registered

ObjectiveVerdict = Literal["PASS", "FAIL", "UNKNOWN", "MEASURED"]
CHECKER_CRASHED = "checker raised"  # marker note of a crashed checker (see run_checkers)


@dataclass(frozen=True)
class ObjectiveResult:
    name: str
    target: Any
    observed: Any
    verdict: ObjectiveVerdict  # MEASURED: no target given (measure only)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


def _fig(checker: str, key: str) -> Callable[[Mapping[str, Verdict]], Any]:
    return lambda v: v[checker].figures.get(key)


def _status(checker: str) -> Callable[[Mapping[str, Verdict]], Any]:
    return lambda v: v[checker].status == "PASS"


# name -> (checkers it depends on / governs, observed value, comparison kind)
_OBJECTIVES: dict[str, tuple[tuple[str, ...], Callable[[Mapping[str, Verdict]], Any], str]] = {
    "max_lost": (("loss",), _fig("loss", "lost"), "max"),
    "max_rpo_seconds": (("loss",), _fig("loss", "window_seconds"), "max"),
    "max_rto_seconds": (("recovery",), _fig("recovery", "write_unavailable_seconds"), "max"),
    "max_read_unavailable_seconds": (
        ("recovery",),
        _fig("recovery", "read_unavailable_seconds"),
        "max",
    ),
    "max_duplicates": (("duplicates",), _fig("duplicates", "duplicates"), "max"),
    "max_consumer_rereads": (("offsets",), _fig("offsets", "rereads"), "max"),
    "max_skipped": (("offsets",), _fig("offsets", "skipped"), "max"),
    "max_produce_p99_ms": (
        ("latency",),
        lambda v: (v["latency"].figures.get("overall") or {}).get("p99_ms"),
        "max",
    ),
    # Limits the changes that did show; one that never showed (or an excluded one that
    # appeared) fails the metadata checker itself, which this objective does not govern.
    "max_metadata_sync_seconds": (("metadata",), _fig("metadata", "max_sync_seconds"), "max"),
    # Limits the writes the old primary acknowledged after the failover decision; a fence that
    # did not hold fails the split_writes checker itself, which this objective does not govern.
    "max_split_writes": (
        ("split_writes",),
        lambda v: (v["split_writes"].figures.get("split_writes") or {}).get("count"),
        "max",
    ),
    # Aborted records a read_committed reader returned on a copy (MM2 copies them as ordinary
    # records unless its source consumer reads committed); on the origin the checker fails.
    "max_aborted_reads_on_copies": (
        ("aborted_read",),
        _fig("aborted_read", "elsewhere"),
        "max",
    ),
    # Transactions only partly present on a copy (MM2 copies record by record); torn on the
    # origin fails the torn_transaction checker itself.
    "max_torn_transactions_on_copies": (
        ("torn_transaction",),
        _fig("torn_transaction", "elsewhere"),
        "max",
    ),
    # Replication healthy again after every heal: data caught up and heartbeats fresh.
    "max_replication_recovery_seconds": (
        ("replication",),
        _fig("replication", "max_recovery_after_heal_s"),
        "max",
    ),
    "require_ordering": (("ordering",), _status("ordering"), "require"),
    "require_timestamps_preserved": (("timestamps",), _status("timestamps"), "require"),
}
OBJECTIVE_NAMES = (*_OBJECTIVES, "expected_anomalies")
EXPECTED = "expected_anomalies"
# Objectives that depend on a checker without governing it: its strict status still counts.
_NOT_GOVERNING = frozenset(
    {
        "max_metadata_sync_seconds",
        "max_split_writes",
        "max_aborted_reads_on_copies",
        "max_torn_transactions_on_copies",
        "max_replication_recovery_seconds",
    }
)


def _no_fault(v: Mapping[str, Verdict]) -> bool:
    return not v["recovery"].figures.get("faults")


def _no_metadata_change(v: Mapping[str, Verdict]) -> bool:
    return not v["metadata"].figures.get("changes")


def _no_failover(v: Mapping[str, Verdict]) -> bool:
    return not v["split_writes"].figures.get("applicable")


def _no_transactions(v: Mapping[str, Verdict]) -> bool:
    return not v["aborted_read"].figures.get("applicable")


def _no_replication_stall(v: Mapping[str, Verdict]) -> bool:
    # No flow, or no healed fault stalled one: nothing had to recover.
    return v["replication"].figures.get("max_recovery_after_heal_s") is None


# Objectives whose observed value is null because there was nothing for them to judge (the
# checker says so): with no fault nothing was unavailable, with no metadata change nothing had
# to sync, with no failover nothing was written on both sides. Any other null observation is
# nothing observed: UNKNOWN, never PASS. That includes max_skipped without any consumer group:
# a scenario without consumers does not judge it (its default resolves to null and the plan
# leaves it out; a stated one is refused at validation), so meeting it here means nothing
# was observed.
_NOT_APPLICABLE: dict[str, Callable[[Mapping[str, Verdict]], bool]] = {
    "max_rto_seconds": _no_fault,
    "max_read_unavailable_seconds": _no_fault,
    "max_metadata_sync_seconds": _no_metadata_change,
    "max_split_writes": _no_failover,
    "max_aborted_reads_on_copies": _no_transactions,
    "max_torn_transactions_on_copies": _no_transactions,
    "max_replication_recovery_seconds": _no_replication_stall,
}


def governed_by(name: str) -> tuple[str, ...]:
    """Checkers an objective governs (the ones it depends on, unless _NOT_GOVERNING)."""
    return _OBJECTIVES[name][0] if name in _OBJECTIVES and name not in _NOT_GOVERNING else ()


def evaluate(
    verdicts: Mapping[str, Verdict], objectives: Mapping[str, Any]
) -> list[ObjectiveResult]:
    """One result per objective key present (in a stable order). Unknown keys raise ValueError."""
    unknown = sorted(set(objectives) - set(OBJECTIVE_NAMES))
    if unknown:
        raise ValueError(f"unknown objectives {unknown}; known: {list(OBJECTIVE_NAMES)}")
    results: list[ObjectiveResult] = []
    for name, (deps, observe, kind) in _OBJECTIVES.items():
        if name not in objectives:
            continue
        target = objectives[name]
        if name == "max_skipped" and target is None:
            target = 0  # a consumer skipping messages is never fine by default
        if kind == "require" and target is False:
            target = None  # "not required" is measure only
        if any(d not in verdicts or verdicts[d].status == "UNKNOWN" for d in deps):
            observed = None if kind == "require" else _safe(observe, verdicts)
            results.append(ObjectiveResult(name, target, observed, "UNKNOWN"))
            continue
        observed = observe(verdicts)
        if target is None:
            verdict: ObjectiveVerdict = "MEASURED"
        elif kind == "require":
            verdict = "PASS" if observed else "FAIL"
        elif observed is None:
            # Not applicable (no fault -> no unavailability): nothing exceeded the target.
            # Otherwise nothing was observed (e.g. no consumer receipts for max_skipped).
            applicable = name not in _NOT_APPLICABLE or not _NOT_APPLICABLE[name](verdicts)
            verdict = "UNKNOWN" if applicable else "PASS"
        elif observed > target:
            verdict = "FAIL"
        else:
            # A lower bound under the target (still recovering when measuring stopped) says
            # nothing about the target.
            verdict = "UNKNOWN" if _lower_bound(name, verdicts) else "PASS"
        results.append(ObjectiveResult(name, target, observed, verdict))
    if EXPECTED in objectives:
        expected = list(objectives[EXPECTED] or [])
        known = [spec.name for spec in registered()]
        bad = [c for c in expected if c not in known and c not in verdicts]
        if bad:
            raise ValueError(f"{EXPECTED}: unknown checkers {bad}; known: {known}")
        failed = [c for c in expected if c in verdicts and verdicts[c].status == "FAIL"]
        results.append(ObjectiveResult(EXPECTED, expected, failed, "MEASURED"))
    return results


#: Objectives whose observed value is only a lower bound while a gap is still open when
#: measuring stopped (writers or readers not back by the end of the run): -> that gap.
_OPEN_GAP = {"max_rto_seconds": "write_gap", "max_read_unavailable_seconds": "read_gap"}


def _lower_bound(name: str, verdicts: Mapping[str, Verdict]) -> bool:
    if name in _OPEN_GAP:
        gap = verdicts["recovery"].figures.get(_OPEN_GAP[name])
        return isinstance(gap, Mapping) and bool(gap.get("open"))
    return name == "max_replication_recovery_seconds" and bool(
        verdicts["replication"].figures.get("max_recovery_is_lower_bound")
    )


def _safe(observe: Callable[[Mapping[str, Verdict]], Any], verdicts: Mapping[str, Verdict]) -> Any:
    try:
        return observe(verdicts)
    except KeyError:
        return None


def crashed(v: Verdict) -> bool:
    return v.status == "UNKNOWN" and any(n.startswith(CHECKER_CRASHED) for n in v.notes)


def _governed_and_expected(results: Sequence[ObjectiveResult]) -> tuple[set[str], set[str]]:
    """Checkers a stated objective governs, and the anomalies the scenario expects."""
    governed: set[str] = set()
    expected: set[str] = set()
    for r in results:
        governed.update(governed_by(r.name))
        if r.name == EXPECTED:
            expected.update(r.target or [])
    return governed, expected


def overall(
    results: Sequence[ObjectiveResult], verdicts: Mapping[str, Verdict]
) -> Literal["PASS", "FAIL", "UNKNOWN"]:
    """Drill verdict. FAIL dominates (it cannot turn into PASS with more information), then
    UNKNOWN, then PASS."""
    governed, expected = _governed_and_expected(results)
    statuses = [r.verdict for r in results if r.name != EXPECTED]
    for name, v in verdicts.items():
        if crashed(v):
            statuses.append("UNKNOWN")
        elif name not in governed and not (name in expected and v.status == "FAIL"):
            statuses.append(v.status)
    if "FAIL" in statuses:
        return "FAIL"
    if "UNKNOWN" in statuses:
        return "UNKNOWN"
    return "PASS"


def ungoverned_failures(
    results: Sequence[ObjectiveResult], verdicts: Mapping[str, Verdict]
) -> list[str]:
    """Checkers whose strict FAIL counts in the drill verdict: no stated objective governs
    them and the scenario does not expect their anomaly (see :func:`overall`)."""
    governed, expected = _governed_and_expected(results)
    return [
        name
        for name, v in verdicts.items()
        if v.status == "FAIL" and name not in governed and name not in expected
    ]
