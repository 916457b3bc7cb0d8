"""Judging a run: every figure, verdict, finding and the evidence block report.json carries,
computed once from the history's frames and the scenario's objectives.

The one path from a history to checker output: the runner's report and `kafkadrill check` both
come through :func:`judge`; the report (kafkadrill.report) only arranges and formats what it
returns. Pure: frames in, plain JSON-ready values out; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kafkadrill.checkers import evaluate, overall, run_checkers, summarize
from kafkadrill.checkers.evidence import evidence_block, verdict_limit
from kafkadrill.checkers.facts import faults_from_history, topology_from_history
from kafkadrill.checkers.findings import consumer_groups, group_table, merge_findings
from kafkadrill.checkers.findings.causes import fail_cause
from kafkadrill.checkers.objectives import ungoverned_failures
from kafkadrill.checkers.timeline import build_timeline, lag_at_faults
from kafkadrill.history import HistoryFrames

__all__ = ["complete", "judge"]


def _verdict(results: list[Any], verdicts: Mapping[str, Any], error: str | None) -> str:
    verdict = overall(results, verdicts)
    if error is not None:
        verdict = "UNKNOWN"  # a crashed or interrupted drill never reads as PASS
    return verdict


def judge(
    frames: HistoryFrames,
    objectives: Mapping[str, Any],
    *,
    error: str | None,
    expected_anomalies: Sequence[str] = (),
) -> dict[str, Any]:
    """Checker output as report.json's keys: ``verdict``, ``error``, ``objectives``,
    ``verdict_causes``, ``rpo``,
    ``rto``, ``faults``, ``topology``, ``failover``, ``replication``, ``expected_anomalies``,
    ``checkers``,
    ``consumer_groups``, ``replication_lag_at_faults``, ``timeline``, ``evidence`` and
    ``findings``.

    ``error``: why the run did not complete (from its history), or None.
    """
    events = frames.events  # rare events only: run.*, phases, faults, runbook steps, probes
    verdicts = run_checkers(frames)
    results = evaluate(verdicts, objectives)
    summary = summarize(verdicts)
    out: dict[str, Any] = {
        "verdict": _verdict(results, verdicts, error),
        "error": error,
        "objectives": [
            {"name": r.name, "target": r.target, "observed": r.observed, "verdict": r.verdict}
            for r in results
        ],
        # Why the drill FAILed beyond its objectives: each checker FAIL no objective governs.
        "verdict_causes": [
            {"checker": name, "cause": fail_cause(name, verdicts[name].figures)[0]}
            for name in ungoverned_failures(results, verdicts)
        ],
        "rpo": summary["rpo"],
        "rto": summary["rto"],
        "faults": faults_from_history(events),
        "topology": topology_from_history(events),
        # A failover's split writes and divergent tail: the split_writes checker's figures.
        "failover": verdicts["split_writes"].figures,
        # Replication stalls per flow and fault, heartbeats: the replication checker's figures.
        "replication": verdicts["replication"].figures,
        "expected_anomalies": list(expected_anomalies),
        "checkers": {
            name: {
                "status": v.status,
                "figures": v.figures,
                "evidence": v.evidence,
                "notes": v.notes,
            }
            for name, v in verdicts.items()
        },
        "consumer_groups": group_table(verdicts["offsets"].figures.get("per_group") or {}),
        "replication_lag_at_faults": lag_at_faults(frames),
        "timeline": build_timeline(frames),
    }
    # Auditors' block (who, which plan, targets vs measured, deviations); a fault that did not
    # verify on the external runtime caps the verdict at UNKNOWN.
    limit = verdict_limit(events, out)
    if limit is not None and out["verdict"] == "PASS":
        out["verdict"] = "UNKNOWN"
    out["evidence"] = {**evidence_block(events, out), "verdict_limited_by": limit}
    out["findings"] = merge_findings((), out)
    return out


def complete(report: Mapping[str, Any], frames: HistoryFrames) -> dict[str, Any]:
    """A copy of a report dict (as :func:`judge` output, a stored report.json, or a partial one
    from a direct caller) with the checker output it lacks filled in from the same functions
    :func:`judge` uses: ``timeline`` and ``replication_lag_at_faults`` (checkers.timeline),
    ``consumer_groups`` (the offsets checker's per-group figures) and ``findings`` (given
    findings first, derived ones appended)."""
    rep = dict(report)
    if "timeline" not in rep:
        rep["timeline"] = build_timeline(frames)
    if "replication_lag_at_faults" not in rep:
        rep["replication_lag_at_faults"] = lag_at_faults(frames)
    if "consumer_groups" not in rep:
        rep["consumer_groups"] = group_table(consumer_groups(rep))
    rep["findings"] = merge_findings(rep.get("findings") or [], rep)
    return rep
