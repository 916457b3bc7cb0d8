"""The findings rules: each a small function report -> findings, run in :data:`FINDING_RULES`.

A rule reads structured checker output only: checker names, statuses and figures, objective
verdicts, the fault table, the replication lag at each fault. It never parses free text and
never recomputes a figure from the history. The order of FINDING_RULES is the order findings of
the same severity are listed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafkadrill.checkers.findings.base import Finding, FindingRule, Report
from kafkadrill.checkers.findings.base import one as _one
from kafkadrill.checkers.findings.causes import EXPLAINED_ELSEWHERE, fail_cause
from kafkadrill.checkers.findings.failover import (
    fence_did_not_hold,
    principals_refused_on_dr,
    split_writes,
)
from kafkadrill.checkers.findings.replication import (
    heartbeats_behind_data,
    replication_still_behind,
)
from kafkadrill.checkers.findings.text import checker, figures, fmt, fmt_s, human, num

__all__ = [
    "FINDING_RULES",
    "Finding",
    "FindingRule",
    "consumer_groups",
    "group_table",
    "rereads_expected",
]

#: The checker that judges consumer re-reads and skips, and the objective that governs it.
REREAD_CHECKER = "offsets"
REREAD_OBJECTIVE = "max_consumer_rereads"


def consumer_groups(report: Report) -> dict[str, Mapping[str, Any]]:
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


def rereads_expected(report: Report) -> bool:
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


# -- the run itself ------------------------------------------------------------------------
def no_verdict(report: Report) -> list[Finding]:
    if not (report.get("error") or report.get("verdict") == "UNKNOWN"):
        return []
    why = f": {report.get('error')}" if report.get("error") else ""
    return [
        _one(
            "high",
            f"The drill did not reach a verdict{why}.",
            "Fix the cause and re-run: an UNKNOWN drill proves nothing either way.",
        )
    ]


def unverified_faults(report: Report) -> list[Finding]:
    return [
        _one(
            "high",
            f"Fault {f.get('type')} on {f.get('target')} was not verified to take "
            "effect: the drill may not have tested what it claims.",
            "Check the fault's verification detail in the timeline and the logs.",
        )
        for f in report.get("faults") or []
        if f.get("verified") is False
    ]


def final_read_incomplete(report: Report) -> list[Finding]:
    if figures(report, "loss").get("final_read_complete") is not False:
        return []
    return [
        _one(
            "high",
            "The final read of the authoritative cluster did not complete: missing "
            "messages are unseen, not proven lost.",
            "Give the final read more time (or fix the cluster) and re-check the history.",
        )
    ]


# -- RPO -------------------------------------------------------------------------------------
def _lost(report: Report) -> float | None:
    return num((report.get("rpo") or {}).get("lost"))


#: What each cause of loss (the loss checker's ``by_cause``) says, and what to do about it.
_LOSS_CAUSES = {
    "expired_at_source": (
        "expired at the source before replication",
        "The source's retention deleted records MirrorMaker 2 had not copied: keep retention.ms "
        "of replicated topics above the longest replication outage you must survive, and alert "
        "on replication lag and heartbeat age long before it.",
    ),
    "never_replicated": (
        "never replicated (still on the old primary)",
        "Replication was behind when the service moved: that backlog is the RPO (see the lag "
        "at the fault); those records return only if reconciled from the old primary.",
    ),
    "lost_at_origin": (
        "lost at the origin",
        "The origin cluster itself lost acknowledged writes: use acks=all, "
        "min.insync.replicas >= 2 and unclean.leader.election.enable=false.",
    ),
    "unattributed": ("of unknown cause", ""),
}


def _by_cause(
    causes: Mapping[str, Any] | None, table: Mapping[str, tuple[str, str]]
) -> tuple[str, str]:
    """("N what; M what", the advice of each cause present) for a checker's counts by cause."""
    named = [(k, int(n)) for k, n in (causes or {}).items() if k in table and num(n)]
    split = "; ".join(f"{fmt(n)} {table[k][0]}" for k, n in named)
    return split, " ".join(table[k][1] for k, _ in named if table[k][1])


def acked_loss(report: Report) -> list[Finding]:
    rpo = report.get("rpo") or {}
    lost = _lost(report)
    if not lost:
        return []
    split, advice = _by_cause(figures(report, "loss").get("by_cause"), _LOSS_CAUSES)
    return [
        _one(
            "high",
            f"{fmt(int(lost))} acknowledged messages ({fmt(rpo.get('lost_bytes'))} "
            f"bytes) were lost; RPO window {fmt_s(num(rpo.get('window_seconds')))}"
            + (f": {split}." if split else "."),
            advice or "See the lost-message samples and the per-partition counts below.",
        )
    ]


def _lags_at_cause(report: Report) -> list[Mapping[str, Any]]:
    """Lag probes at the fault that cut off the in-flight data: the first one injected after
    the earliest lost ack (an earlier, unrelated fault -- an MM2 restart -- is not the cause)."""
    lags = [
        a
        for a in report.get("replication_lag_at_faults") or []
        if isinstance(a, Mapping) and num(a.get("heartbeat_age_s")) is not None
    ]
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
    return lags


def loss_is_replication_backlog(report: Report) -> list[Finding]:
    window = num((report.get("rpo") or {}).get("window_seconds"))
    if not _lost(report):
        return []
    lags = _lags_at_cause(report)
    if window is None or not lags:
        return []
    a = min(lags, key=lambda a: abs(float(a["heartbeat_age_s"]) - window))
    lag_s = float(a["heartbeat_age_s"])
    if abs(window - lag_s) > max(0.5, 0.35 * max(window, lag_s)):
        return []
    return [
        _one(
            "medium",
            f"The RPO window ({fmt_s(window)}) roughly equals the replication lag at "
            f"{a['tag']} ({a['flow']}: heartbeat age {fmt_s(lag_s)}): the loss is the "
            "replication backlog that was still in flight.",
            "Review MM2 throughput and its checkpoint/sync intervals "
            "(emit.checkpoints.interval.seconds, sync.group.offsets.interval.seconds, "
            "tasks.max, cross-DC link bandwidth), and alert when heartbeat age "
            "exceeds the RPO objective.",
        )
    ]


def weak_acks_with_loss(report: Report) -> list[Finding]:
    if not _lost(report):
        return []
    acks = _find_key({k: v for k, v in report.items() if k != "checkers"}, "acks")
    if acks is None or str(acks).strip() not in ("0", "1"):
        return []
    return [
        _one(
            "high",
            f"Producers used acks={acks}: an acknowledged write can be lost when "
            "a leader fails before followers copy it.",
            "Use acks=all with min.insync.replicas >= 2 (and enable.idempotence=true).",
        )
    ]


_MM2_RESTART_TEXT = (
    "replication duplicates after an MM2 restart: MM2 re-copied records since its last "
    "committed source offset."
)
_OFFSET_FLUSH_ADVICE = (
    "Lower the MM2 worker offset flush interval (<target>.offset.flush.interval.ms,"
    " default 60000) to shrink the re-copy window; consumers must be idempotent."
)
_DUPLICATE_CAUSES = {
    "mm2_recopy": (
        "duplicate copies on mirrored topics: MM2 copied records again from its last "
        "committed source offset (after a region loss, a link cut or a restart).",
        _OFFSET_FLUSH_ADVICE,
    ),
    "producer_retry": (
        "duplicate copies on the topic the producer wrote, on its own cluster: producer "
        "retries of sends that had landed.",
        "Enable producer idempotence (enable.idempotence=true).",
    ),
    "failback_remirror": (
        "copies of one id on two topics of one cluster: records mirrored back to a cluster "
        "that already held them (a failback re-mirror or a replication cycle).",
        "Before failing back, stop the reverse flow from copying what was mirrored out "
        "(topics.exclude of the remote topics; start it from the failover point).",
    ),
}


def _mm2_restarted(report: Report) -> bool:
    return any(
        any(
            w in f"{f.get('target')} {f.get('type')}".lower()
            for w in ("mm2", "mirror", "connect", "replicator")
        )
        for f in report.get("faults") or []
    )


def duplicates(report: Report) -> list[Finding]:
    dup_fig = figures(report, "duplicates")
    repl_dups = num(dup_fig.get("extra_copies", (report.get("rpo") or {}).get("duplicates")))
    if not repl_dups:
        return []
    by_cause = dup_fig.get("duplicates_by_cause")
    mm2_restart = _mm2_restarted(report)
    if isinstance(by_cause, Mapping) and any(num(v) for v in by_cause.values()):
        out = []
        for cause, (text, advice) in _DUPLICATE_CAUSES.items():
            n = num(by_cause.get(cause))
            if n:
                if cause == "mm2_recopy" and mm2_restart:
                    text = _MM2_RESTART_TEXT
                out.append(_one("medium", f"{fmt(int(n))} {text}", advice))
        return out
    if mm2_restart:  # a report without the split (an older report.json)
        return [_one("medium", f"{fmt(int(repl_dups))} {_MM2_RESTART_TEXT}", _OFFSET_FLUSH_ADVICE)]
    return [
        _one(
            "medium",
            f"{fmt(int(repl_dups))} duplicate copies (same id at another offset) in "
            "the final read.",
            "Enable producer idempotence (enable.idempotence=true) and check MM2 restarts "
            "in the logs.",
        )
    ]


# -- consumers -------------------------------------------------------------------------------
def consumer_rereads(report: Report) -> list[Finding]:
    rereads = {g: int(v.get("rereads") or 0) for g, v in consumer_groups(report).items()}
    if not sum(rereads.values()):
        return []
    expected = rereads_expected(report)
    detail = ", ".join(f"{g} {fmt(n)}" for g, n in rereads.items() if n)
    split, advice = _by_cause(
        figures(report, "checkpoints").get("rereads_by_cause"), _REREAD_CAUSES
    )
    return [
        _one(
            "info" if expected else "low",
            f"Consumer groups re-read {fmt(sum(rereads.values()))} messages after the "
            f"failover ({detail})"
            + (f": {split}" if split else "")
            + (" — expected by the scenario." if expected else "."),
            (advice + " Keep consumers idempotent.")
            if advice
            else "Expected with MM2 offset translation (conservative since Kafka 3.5: up to "
            "offset.lag.max records behind). Keep consumers idempotent; lower offset.lag.max "
            "to shrink re-reads.",
        )
    ]


#: Causes of failover re-reads (the checkpoints checker's ``rereads_by_cause``) and advice.
_REREAD_CAUSES = {
    "uncommitted_at_failover": (
        "read but not committed when the service moved",
        "Commit more often (a shorter commit interval) to shrink the outage's share.",
    ),
    "stale_checkpoint": (
        "committed after the newest MM2 checkpoint",
        "Keep checkpoints fresh (emit.checkpoints.interval.seconds) and alert when the "
        "checkpoint connector stops or lags.",
    ),
    "conservative_translation": (
        "placed behind by MM2's conservative translation",
        "Lower offset.lag.max to shrink what MM2's translation gives back.",
    ),
    "no_checkpoint": (
        "on partitions MM2 had written no checkpoint for",
        "The group had no checkpoint to translate (new or idle group, checkpoints not yet "
        "written or disabled): check emit.checkpoints.enabled and groups.exclude, and gate the "
        "failover on every group having a fresh checkpoint.",
    ),
    "unattributed": ("of unknown cause", ""),
}


def consumer_skips(report: Report) -> list[Finding]:
    return [
        _one(
            "high",
            f"Consumer group {g} skipped {fmt(v['skipped'])} messages it never "
            "received although they exist on the cluster.",
            "Check translated offsets (MM2 checkpoints) and that no reset to 'latest' "
            "happened; sync.group.offsets only writes to empty groups.",
        )
        for g, v in consumer_groups(report).items()
        if v.get("skipped")
    ]


def unknown_sends(report: Report) -> list[Finding]:
    unknown = num((report.get("rpo") or {}).get("unknown"))
    if not unknown:
        return []
    return [
        _one(
            "info",
            f"{fmt(int(unknown))} sends ended with an unknown outcome; they are not "
            "counted as lost.",
            "Reconcile them by id in the final read if the application needs exactly-once.",
        )
    ]


def unknown_sends_elsewhere(report: Report) -> list[Finding]:
    figures = ((report.get("checkers") or {}).get("unknown") or {}).get("figures") or {}
    where = figures.get("unknown_landed_elsewhere") or {}
    return [
        _one(
            "medium",
            f"{fmt(int(n))} sends with an unknown outcome were written to {cluster} only, not "
            "where reads are judged: they are on no reader's cluster today.",
            f"They come back if {cluster} is failed back to or mirrored again (duplicates or "
            "late data then); decide before failback whether to replay, discard or reconcile "
            "them by id.",
        )
        for cluster, n in sorted(where.items())
        if num(n)
    ]


# -- RTO -------------------------------------------------------------------------------------
def _phases(report: Report) -> Mapping[str, Any]:
    return (report.get("rto") or {}).get("phases") or {}


def rto_longest_phase(report: Report) -> list[Finding]:
    """Split the time from the fault to the first write on the failover cluster into
    detection, failover (the runbook) and first write; name the longest part."""
    phases = _phases(report)
    det, rb = num(phases.get("detection_seconds")), num(phases.get("runbook_seconds"))
    fw = num(phases.get("first_write_on_target_seconds"))
    if det is None or not fw:
        return []
    parts = {
        "detection": det,
        "failover": rb or 0.0,
        "first_write": max(fw - det - (rb or 0.0), 0.0),
    }
    worst = max(parts, key=lambda k: parts[k])
    return [
        _one(
            "info",
            f"Of the {fmt_s(round(fw, 3))} from the fault to the first write on the "
            f"failover cluster, {human(worst)} took the most "
            f"({fmt_s(round(parts[worst], 3))}).",
            f"To shorten it: {_PHASE_ADVICE[worst]}.",
        )
    ]


def runbook_steps(report: Report) -> list[Finding]:
    phases = _phases(report)
    steps = phases.get("steps") if isinstance(phases.get("steps"), Mapping) else {}
    out: list[Finding] = []
    for name, st in steps.items():
        if not isinstance(st, Mapping) or st.get("status") in ("ok", None):
            continue
        why = st.get("why")
        if name.endswith("/readiness") and isinstance(why, list):
            out.append(
                _one(
                    "high",
                    "The failover's readiness gate refused to fail over: "
                    + "; ".join(str(w) for w in why)
                    + ". No client moved; service came back only if the lost side did.",
                    "Keep MM2 checkpoints fresh for every group (emit.checkpoints.interval."
                    "seconds, a checkpoint connector that runs), or decide what the gate "
                    "allows: a stale checkpoint costs re-reads, a refused failover costs RTO.",
                )
            )
            continue
        out.append(
            _one(
                "high",
                f"Runbook step {name} ended {st.get('status')}"
                + (f": {why}." if isinstance(why, str) and why else "."),
                "Read its detail in the timeline and the logs; fix the runbook and re-run.",
            )
        )
    return out


def rto_objective_missed(report: Report) -> list[Finding]:
    return [
        _one(
            "high",
            f"Objective {o.get('name')} missed: observed {fmt(o.get('observed'))} "
            f"vs target {fmt(o.get('target'))}.",
            "Look at the longest RTO phase and automate the runbook steps in it.",
        )
        for o in report.get("objectives") or []
        if o.get("verdict") == "FAIL" and "rto" in str(o.get("name")).lower()
    ]


# -- metadata, aggregation, writers, checkers --------------------------------------------------
def _metadata_change(ch: Mapping[str, Any]) -> Finding:
    where = f"{ch.get('target')}:{ch.get('remote_topic')}"
    if ch.get("outcome") == "not_synced":
        return _one(
            "high",
            f"{ch.get('tag')} {ch.get('change')} {ch.get('what')} on {ch.get('topic')} never "
            f"showed on {where} within {fmt_s(ch.get('watched_seconds'))}.",
            "Check the MM2 log for topic creation / config sync errors; compare its "
            "refresh.topics.interval.seconds and sync.topic.configs.interval.seconds with "
            "the watch window.",
        )
    return _one(
        "high",
        f"{ch.get('tag')} {ch.get('change')} {ch.get('what')} on {ch.get('topic')} "
        f"appeared on {where} although the flow's filter excludes it.",
        "Check the effective topics / topics.exclude / config.properties.exclude of the "
        "flow in its mm2.properties.",
    )


def metadata_changes(report: Report) -> list[Finding]:
    return [
        _metadata_change(ch)
        for ch in figures(report, "metadata").get("changes") or []
        if isinstance(ch, Mapping) and ch.get("outcome") in ("not_synced", "appeared")
    ]


def aggregate_views(report: Report) -> list[Finding]:
    out: list[Finding] = []
    for pair, f in (figures(report, "aggregation").get("pairs") or {}).items():
        if isinstance(f, Mapping) and num(f.get("missing")):
            origin, _, cluster = str(pair).partition("->")
            if origin == cluster:  # no flow: the origin's own acknowledged writes are gone
                text = f"were not on {cluster} itself at the final read"
                advice = (
                    f"These writes were acknowledged by {cluster} and are missing there: see the "
                    "loss checker (lost messages, RPO) and the producers' acks setting."
                )
            else:
                text = f"never reached {cluster}"
                advice = (
                    f"Check the flow {origin}->{cluster} (MM2 log, its topics filter, the "
                    "replication lag when the drill ended)."
                )
            out.append(
                _one(
                    "high",
                    f"{fmt(f.get('missing'))} of {fmt(f.get('acked'))} acknowledged writes of "
                    f"{origin} {text}: its aggregate view is incomplete.",
                    advice,
                )
            )
    return out


def union_consumers(report: Report) -> list[Finding]:
    out: list[Finding] = []
    for group, u in (figures(report, "aggregation").get("union_groups") or {}).items():
        if not isinstance(u, Mapping) or not num(u.get("missing")):
            continue
        held = int(num(u.get("missing_held")) or 0)  # a count: printed as one
        out.append(
            _one(
                "high",
                f"Union consumer {group} on {u.get('cluster')} missed {fmt(u.get('missing'))} "
                f"of {fmt(u.get('acked'))} acknowledged writes; {fmt(held)} of them were on "
                "its cluster at the final read.",
                "Those held but not received point at the group's subscription (topics / "
                "pattern) or its reading; the rest at replication."
                if held
                else "The cluster never held them: check the flows into it.",
            )
        )
    return out


def writer_without_service(report: Report) -> list[Finding]:
    rto = report.get("rto") or {}
    writers = rto.get("write_unavailable_per_producer") or {}
    overall = num(rto.get("write_unavailable_seconds"))
    worst = num(rto.get("write_unavailable_worst_writer_seconds"))
    if not (len(writers) > 1 and worst is not None and overall is not None):
        return []
    if worst <= overall + 5:
        return []
    name, w = max(
        ((n, w) for n, w in writers.items() if num(w.get("seconds")) is not None),
        key=lambda nw: num(nw[1].get("seconds")) or 0.0,
    )
    return [
        _one(
            "medium",
            f"Writes as a whole were unavailable {fmt_s(overall)}, but producer {name} "
            f"(writing to {' → '.join(w.get('clusters') or [])}) went {fmt_s(worst)} without "
            "an acknowledgement.",
            "The overall figure counts any writer's acknowledgement as service: judge each "
            "region's applications by their own writers (RTO section).",
        )
    ]


def session_lost_in_read_gap(report: Report) -> list[Finding]:
    """A consumer whose session timed out inside the longest read gap: the read RTO then
    includes a rejoin, and the same fault costs more in the runs where it happens."""
    rec = figures(report, "recovery")
    lost = [r for r in rec.get("read_gap_rebalances") or [] if r.get("change") == "lost"]
    gap = num(rec.get("read_unavailable_seconds"))
    if not lost or gap is None:
        return []
    who = ", ".join(sorted({str(r.get("reader")) for r in lost}))
    return [
        _one(
            "medium",
            f"Reads were unavailable {fmt_s(gap)}; inside that gap {who} lost its partition "
            f"assignment {fmt_s(lost[0].get('t'))} into the run (its group session timed out "
            "before the group coordinator answered) and read again only after rejoining.",
            "Read RTO after a broker loss depends on whether that broker was the group's "
            "coordinator: expect runs to differ by up to the consumers' session.timeout.ms. "
            "Judge read RTO over several runs, or lower the session timeout.",
        )
    ]


def ungoverned_fail(report: Report) -> list[Finding]:
    """Explain each FAIL no objective governs (report.json ``verdict_causes``) that no other
    rule explains: a failed-but-landed send, a replication cycle, an ordering inversion..."""
    out: list[Finding] = []
    for c in report.get("verdict_causes") or []:
        name = str(c.get("checker")) if isinstance(c, Mapping) else ""
        if not name or name in EXPLAINED_ELSEWHERE:
            continue
        cause, advice = fail_cause(name, figures(report, name))
        out.append(_one("high", f"Checker {name} FAILed: {cause}.", advice))
    return out


def unknown_checkers(report: Report) -> list[Finding]:
    out: list[Finding] = []
    for name, c in (report.get("checkers") or {}).items():
        if isinstance(c, Mapping) and c.get("status") == "UNKNOWN":
            notes = "; ".join(str(n) for n in c.get("notes") or []) or "no detail"
            out.append(
                _one(
                    "medium",
                    f"Checker {name} is UNKNOWN ({notes}): its property is not proven.",
                    "Fix the cause and re-run the checkers offline: kafkadrill check RUN_DIR.",
                )
            )
    return out


#: Every findings rule, in listing order (findings are then sorted by severity, stably).
FINDING_RULES: tuple[FindingRule, ...] = (
    no_verdict,
    unverified_faults,
    final_read_incomplete,
    acked_loss,
    loss_is_replication_backlog,
    weak_acks_with_loss,
    replication_still_behind,
    heartbeats_behind_data,
    duplicates,
    consumer_rereads,
    consumer_skips,
    unknown_sends,
    unknown_sends_elsewhere,
    rto_longest_phase,
    runbook_steps,
    rto_objective_missed,
    metadata_changes,
    aggregate_views,
    union_consumers,
    writer_without_service,
    session_lost_in_read_gap,
    split_writes,
    fence_did_not_hold,
    principals_refused_on_dr,
    ungoverned_fail,
    unknown_checkers,
)
