"""Findings and suggested actions, derived from a report dict (checker figures, objectives).

Rules read structured output only: checker names, statuses and figures, objective verdicts. They
never parse free text and never recompute a figure from the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafkadrill.report.format import checker, figures, fmt, fmt_s, human, num

__all__ = [
    "SEVERITY_ORDER",
    "consumer_groups",
    "derive_findings",
    "group_table",
    "rereads_expected",
]

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}
#: The checker that judges consumer re-reads and skips, and the objective that governs it.
REREAD_CHECKER = "offsets"
REREAD_OBJECTIVE = "max_consumer_rereads"


def consumer_groups(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Per-group figures: report.json's ``consumer_groups``, else the offsets checker's
    ``per_group`` (the same figures; the report never counts them itself)."""
    groups = report.get("consumer_groups")
    if not isinstance(groups, Mapping):
        groups = figures(report, REREAD_CHECKER).get("per_group")
    if not isinstance(groups, Mapping):
        return {}
    return {str(g): v for g, v in groups.items() if isinstance(v, Mapping)}


def group_table(per_group: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """report.json's ``consumer_groups``: the offsets checker's per-group figures, without
    the per-partition detail (that stays in ``checkers.offsets``)."""
    keys = ("received", "distinct", "rereads", "skipped", "foreign")
    return {str(g): {k: v.get(k) for k in keys} for g, v in per_group.items()}


def rereads_expected(report: Mapping[str, Any]) -> bool:
    """Re-reads are allowed by the scenario: it lists the offsets checker among its expected
    anomalies, or its max_consumer_rereads objective held (or only measures)."""
    if REREAD_CHECKER in (report.get("expected_anomalies") or []):
        return True
    return any(
        isinstance(o, Mapping)
        and o.get("name") == REREAD_OBJECTIVE
        and o.get("verdict") in ("PASS", "MEASURED")
        for o in report.get("objectives") or []
    )


def _find_key(obj: Any, key: str) -> Any:
    """First value of ``key`` anywhere in nested dicts/lists (e.g. a producer's ``acks``)."""
    if isinstance(obj, Mapping):
        if key in obj:
            return obj[key]
        for v in obj.values():
            found = _find_key(v, key)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for v in obj:
            found = _find_key(v, key)
            if found is not None:
                return found
    return None


_PHASE_ADVICE = {
    "detection": "alert on replication heartbeat age / probe failures with a shorter interval "
    "and fewer consecutive misses",
    "decision": "pre-approve the failover decision in the runbook (automate it when the "
    "region is confirmed down)",
    "failover": "pre-stage offset translation (keep MM2 checkpoints fresh with "
    "emit.checkpoints.interval.seconds) and script the client redirects",
    "first_write": "check how long producers take to switch bootstrap servers and refresh "
    "metadata after the redirect (metadata.max.age.ms)",
}


def derive_findings(report: Mapping[str, Any]) -> list[dict[str, str]]:
    """Findings and suggested actions from the figures: ``{severity, text, suggestion}``.

    Reads only the report dict (checker figures, objectives, faults, the replication lag at
    each fault); never the history."""
    out: list[dict[str, str]] = []

    def add(sev: str, text: str, suggestion: str) -> None:
        out.append({"severity": sev, "text": text, "suggestion": suggestion})

    rpo = report.get("rpo") or {}
    rto = report.get("rto") or {}
    if report.get("error") or report.get("verdict") == "UNKNOWN":
        why = f": {report.get('error')}" if report.get("error") else ""
        add(
            "high",
            f"The drill did not reach a verdict{why}.",
            "Fix the cause and re-run: an UNKNOWN drill proves nothing either way.",
        )
    for f in report.get("faults") or []:
        if f.get("verified") is False:
            add(
                "high",
                f"Fault {f.get('type')} on {f.get('target')} was not verified to take "
                "effect: the drill may not have tested what it claims.",
                "Check the fault's verification detail in the timeline and the logs.",
            )
    lost = num(rpo.get("lost"))
    window = num(rpo.get("window_seconds"))
    loss_fig = figures(report, "loss")
    if loss_fig.get("final_read_complete") is False:
        add(
            "high",
            "The final read of the authoritative cluster did not complete: missing "
            "messages are unseen, not proven lost.",
            "Give the final read more time (or fix the cluster) and re-check the history.",
        )
    if lost:
        add(
            "high",
            f"{fmt(int(lost))} acknowledged messages ({fmt(rpo.get('lost_bytes'))} "
            f"bytes) were lost; RPO window {fmt_s(window)}.",
            "See the lost-message samples and the per-partition counts below.",
        )
        lags = [
            a
            for a in report.get("replication_lag_at_faults") or []
            if isinstance(a, Mapping) and num(a.get("heartbeat_age_s")) is not None
        ]
        # The fault that cut off the in-flight data: the first one injected after the earliest
        # lost ack (an earlier, unrelated fault -- an MM2 restart -- is not the cause).
        lost_t = [
            t
            for e in checker(report, "loss").get("evidence") or []
            if isinstance(e, Mapping)
            and (t := num(e.get("ack_t", e.get("send_t", e.get("t"))))) is not None
        ]
        if lost_t and lags:
            after = [a for a in lags if a["fault_t"] >= min(lost_t)]
            first = min((a["fault_t"] for a in after), default=None)
            lags = [a for a in after if a["fault_t"] == first] if after else lags[-1:]
        if window is not None and lags:
            a = min(lags, key=lambda a: abs(float(a["heartbeat_age_s"]) - window))
            lag_s = float(a["heartbeat_age_s"])
            if abs(window - lag_s) <= max(0.5, 0.35 * max(window, lag_s)):
                add(
                    "medium",
                    f"The RPO window ({fmt_s(window)}) roughly equals the replication lag at "
                    f"{a['tag']} ({a['flow']}: heartbeat age {fmt_s(lag_s)}): the loss is the "
                    "replication backlog that was still in flight.",
                    "Review MM2 throughput and its checkpoint/sync intervals "
                    "(emit.checkpoints.interval.seconds, sync.group.offsets.interval.seconds, "
                    "tasks.max, cross-DC link bandwidth), and alert when heartbeat age "
                    "exceeds the RPO objective.",
                )
        acks = _find_key({k: v for k, v in report.items() if k != "checkers"}, "acks")
        if acks is not None and str(acks).strip() in ("0", "1"):
            add(
                "high",
                f"Producers used acks={acks}: an acknowledged write can be lost when "
                "a leader fails before followers copy it.",
                "Use acks=all with min.insync.replicas >= 2 (and enable.idempotence=true).",
            )
    dup_fig = figures(report, "duplicates")
    repl_dups = num(dup_fig.get("extra_copies", rpo.get("duplicates")))
    if repl_dups:
        mm2_restart = any(
            any(
                w in f"{f.get('target')} {f.get('type')}".lower()
                for w in ("mm2", "mirror", "connect", "replicator")
            )
            for f in report.get("faults") or []
        )
        if mm2_restart:
            add(
                "medium",
                f"{fmt(int(repl_dups))} replication duplicates after an MM2 "
                "restart: MM2 re-copied records since its last committed source "
                "offset.",
                "Lower the MM2 worker offset flush interval (<target>.offset.flush.interval.ms,"
                " default 60000) to shrink the re-copy window; consumers must be idempotent.",
            )
        else:
            add(
                "medium",
                f"{fmt(int(repl_dups))} duplicate copies (same id at another offset) in "
                "the final read.",
                "Enable producer idempotence (enable.idempotence=true) and check MM2 restarts "
                "in the logs.",
            )
    groups = consumer_groups(report)
    rereads = {g: int(v.get("rereads") or 0) for g, v in groups.items()}
    if sum(rereads.values()):
        expected = rereads_expected(report)
        detail = ", ".join(f"{g} {fmt(n)}" for g, n in rereads.items() if n)
        add(
            "info" if expected else "low",
            f"Consumer groups re-read {fmt(sum(rereads.values()))} messages after the "
            f"failover ({detail})" + (" — expected by the scenario." if expected else "."),
            "Expected with MM2 offset translation (conservative since Kafka 3.5: up to "
            "offset.lag.max records behind). Keep consumers idempotent; lower offset.lag.max "
            "to shrink re-reads.",
        )
    for g, v in groups.items():
        if v.get("skipped"):
            add(
                "high",
                f"Consumer group {g} skipped {fmt(v['skipped'])} messages it never "
                "received although they exist on the cluster.",
                "Check translated offsets (MM2 checkpoints) and that no reset to 'latest' "
                "happened; sync.group.offsets only writes to empty groups.",
            )
    unknown = num(rpo.get("unknown"))
    if unknown:
        add(
            "info",
            f"{fmt(int(unknown))} sends ended with an unknown outcome; they are not "
            "counted as lost.",
            "Reconcile them by id in the final read if the application needs exactly-once.",
        )
    phases = rto.get("phases") or {}
    det, rb = num(phases.get("detection_seconds")), num(phases.get("runbook_seconds"))
    fw = num(phases.get("first_write_on_target_seconds"))
    if det is not None and fw:
        parts = {
            "detection": det,
            "failover": rb or 0.0,
            "first_write": max(fw - det - (rb or 0.0), 0.0),
        }
        worst = max(parts, key=lambda k: parts[k])
        add(
            "info",
            f"Of the {fmt_s(round(fw, 3))} from the fault to the first write on the "
            f"failover cluster, {human(worst)} took the most "
            f"({fmt_s(round(parts[worst], 3))}).",
            f"To shorten it: {_PHASE_ADVICE[worst]}.",
        )
    steps = phases.get("steps") if isinstance(phases.get("steps"), Mapping) else {}
    for name, st in steps.items():
        if isinstance(st, Mapping) and st.get("status") not in ("ok", None):
            add(
                "high",
                f"Runbook step {name} ended {st.get('status')}.",
                "Read its detail in the timeline and the logs; fix the runbook and re-run.",
            )
    for o in report.get("objectives") or []:
        if o.get("verdict") == "FAIL" and "rto" in str(o.get("name")).lower():
            add(
                "high",
                f"Objective {o.get('name')} missed: observed {fmt(o.get('observed'))} "
                f"vs target {fmt(o.get('target'))}.",
                "Look at the longest RTO phase and automate the runbook steps in it.",
            )
    for ch in figures(report, "metadata").get("changes") or []:
        if not isinstance(ch, Mapping) or ch.get("outcome") not in ("not_synced", "appeared"):
            continue
        where = f"{ch.get('target')}:{ch.get('remote_topic')}"
        if ch.get("outcome") == "not_synced":
            add(
                "high",
                f"{ch.get('tag')} {ch.get('change')} {ch.get('what')} on {ch.get('topic')} never "
                f"showed on {where} within {fmt_s(ch.get('watched_seconds'))}.",
                "Check the MM2 log for topic creation / config sync errors; compare its "
                "refresh.topics.interval.seconds and sync.topic.configs.interval.seconds with "
                "the watch window.",
            )
        else:
            add(
                "high",
                f"{ch.get('tag')} {ch.get('change')} {ch.get('what')} on {ch.get('topic')} "
                f"appeared on {where} although the flow's filter excludes it.",
                "Check the effective topics / topics.exclude / config.properties.exclude of the "
                "flow in its mm2.properties.",
            )
    agg = figures(report, "aggregation")
    for pair, f in (agg.get("pairs") or {}).items():
        if isinstance(f, Mapping) and num(f.get("missing")):
            origin, _, cluster = str(pair).partition("->")
            add(
                "high",
                f"{fmt(f.get('missing'))} of {fmt(f.get('acked'))} acknowledged writes of "
                f"{origin} never reached {cluster}: its aggregate view is incomplete.",
                f"Check the flow {origin}->{cluster} (MM2 log, its topics filter, the "
                "replication lag when the drill ended).",
            )
    for group, u in (agg.get("union_groups") or {}).items():
        if not isinstance(u, Mapping) or not num(u.get("missing")):
            continue
        held = num(u.get("missing_held")) or 0
        add(
            "high",
            f"Union consumer {group} on {u.get('cluster')} missed {fmt(u.get('missing'))} of "
            f"{fmt(u.get('acked'))} acknowledged writes; {fmt(held)} of them were on its "
            "cluster at the final read.",
            "Those held but not received point at the group's subscription (topics / "
            "pattern) or its reading; the rest at replication."
            if held
            else "The cluster never held them: check the flows into it.",
        )
    writers = rto.get("write_unavailable_per_producer") or {}
    overall = num(rto.get("write_unavailable_seconds"))
    worst = num(rto.get("write_unavailable_worst_writer_seconds"))
    if len(writers) > 1 and worst is not None and overall is not None and worst > overall + 5:
        name, w = max(
            ((n, w) for n, w in writers.items() if num(w.get("seconds")) is not None),
            key=lambda nw: num(nw[1].get("seconds")) or 0.0,
        )
        add(
            "medium",
            f"Writes as a whole were unavailable {fmt_s(overall)}, but producer {name} "
            f"(writing to {' → '.join(w.get('clusters') or [])}) went {fmt_s(worst)} without "
            "an acknowledgement.",
            "The overall figure counts any writer's acknowledgement as service: judge each "
            "region's applications by their own writers (RTO section).",
        )
    for name, c in (report.get("checkers") or {}).items():
        if isinstance(c, Mapping) and c.get("status") == "UNKNOWN":
            notes = "; ".join(str(n) for n in c.get("notes") or []) or "no detail"
            add(
                "medium",
                f"Checker {name} is UNKNOWN ({notes}): its property is not proven.",
                "Fix the cause and re-run the checkers offline: kafkadrill check RUN_DIR.",
            )
    return out
