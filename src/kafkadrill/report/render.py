"""The retrospective: report.json, report.md and one self-contained report.html.

Written for two readers: an auditor who files it (what was tested, on what versions, did it meet
its objectives, with evidence) and an on-call engineer who acts on it (what broke, how long each
recovery phase took, what to change). Both documents are rendered from one block model built
from the report dict, so the Markdown and the HTML can never disagree on a figure.

Numbers are formatted by :func:`fmt`: integers with thousands separators (``12,345``), floats
rounded to 3 decimals with trailing zeros trimmed (``1.4``, ``6.703``), ``None`` as ``n/a``.

The HTML loads nothing: CSS is inline, plots are base64 data URIs, there is no script, font or
external URL; it can be mailed, archived and opened offline years later.
"""

from __future__ import annotations

import base64
import html
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from kafkadrill.report.manifest import write_manifest
from kafkadrill.report.plots import fault_bands, render_plots
from kafkadrill.report.redact import (
    find_secrets,
    find_secrets_in_text,
    redact,
    redact_text,
    scrub_run_dir,
)
from kafkadrill.report.store import (
    ENVIRONMENT_FILE,
    PLOTS_DIR,
    REPORT_HTML,
    REPORT_JSON,
    REPORT_MD,
    SCENARIO_FILE,
    write_json,
    write_text,
)

__all__ = [
    "build_timeline",
    "consumer_group_summary",
    "derive_findings",
    "fmt",
    "prepare_report",
    "render_html",
    "render_markdown",
    "write_report",
]

VERDICT_COLORS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "UNKNOWN": "#9a6700"}
# An objective with no target is measured and reported, not judged.
OBJECTIVE_STATUSES = (*VERDICT_COLORS, "MEASURED")
#: What each RTO phase measures. The recovery checker's names (``*_seconds``) are offsets from
#: the first fault ("milestones") except ``runbook_seconds`` (a duration); short names are
#: accepted for hand-written reports.
PHASE_HELP = {
    "detection_seconds": "first fault → first runbook step (outage detected)",
    "runbook_seconds": "first runbook step start → last runbook step end",
    "first_write_on_target_seconds": "first fault → first acknowledged write on the failover "
    "cluster",
    "first_read_on_target_seconds": "first fault → first record consumed on the failover cluster",
    "caught_up_seconds": "first fault → slowest redirected consumer group caught up",
    "detection": "fault → outage detected",
    "decision": "detection → decision to fail over",
    "failover": "failover steps (offset translation, redirects)",
    "first_write": "fault → first acknowledged write on the failover cluster",
    "first_read": "fault → first record consumed on the failover cluster",
    "caught_up": "fault → consumers caught up",
}
#: Phases that are offsets from the first fault: drawn as bars from 0 in the recovery chart.
MILESTONES = (
    "detection_seconds",
    "first_write_on_target_seconds",
    "first_read_on_target_seconds",
    "caught_up_seconds",
)
PLOT_TITLES = {
    "rates": "Produce and consume rate per cluster",
    "replication_lag": "Replication lag per flow",
    "lost": "Lost messages at their send time",
    "consumer_lag": "Consumer lag per group",
}
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}
TIMELINE_LIMIT = 300
EVIDENCE_ROWS = 10
LOST_SAMPLE_ROWS = 20


# -- formatting ----------------------------------------------------------------------------
def fmt(v: Any) -> str:
    """Canonical text of a figure (see module doc); tests compare against this."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "n/a"
        if v.is_integer() and abs(v) < 1e15:
            return f"{v:,.1f}"
        text = f"{round(v, 3):,.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(v, Mapping | list | tuple):
        return orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode()
    return str(v)


def fmt_s(v: Any) -> str:
    """Seconds: ``fmt`` plus a unit."""
    return "n/a" if v is None else f"{fmt(v)} s"


def _wall(w: Any) -> str:
    if isinstance(w, str):  # an ISO timestamp (timelines built elsewhere)
        try:
            w = datetime.fromisoformat(w.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return w
    if not isinstance(w, int | float) or not math.isfinite(w):
        return ""
    return datetime.fromtimestamp(w, UTC).strftime("%H:%M:%S.%f")[:-3] + "Z"


def _human(name: str) -> str:
    return str(name).replace("_", " ")


# -- block model ---------------------------------------------------------------------------
@dataclass
class Badge:
    status: str


@dataclass
class Code:
    text: str


@dataclass
class Link:
    text: str
    href: str  # relative to the run directory


Cell = str | Badge | Code | Link


@dataclass
class Heading:
    level: int
    text: str
    anchor: str
    badge: str = ""  # a status shown next to the heading


@dataclass
class Para:
    text: str
    cls: str = ""


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Cell]]
    numeric: set[int] = field(default_factory=set)  # right-aligned columns
    compact: bool = False  # size to content (short figure/value tables)


@dataclass
class Note:
    kind: str  # info | warn | error
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Image:
    key: str
    title: str


@dataclass
class Cards:
    items: list[tuple[str, str, str]]  # (value, label, status for colour or "")


@dataclass
class Gantt:
    """Recovery chart: bars on one axis of seconds since the fault."""

    rows: list[tuple[str, float, float, str]]  # (label, start, end, kind: step|fail|milestone)


Block = Heading | Para | Table | Note | Bullets | Image | Cards | Gantt


# -- derived content -----------------------------------------------------------------------
def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _checker(report: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    c = (report.get("checkers") or {}).get(name)
    return c if isinstance(c, Mapping) else {}


def _figures(report: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    f = _checker(report, name).get("figures")
    return f if isinstance(f, Mapping) else {}


def lag_at_faults(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per injected fault, the last ``replication_lag`` probe of each flow before it."""
    out = []
    bands = fault_bands(events)
    injects = [e for e in events if e.get("type") == "fault.inject"]
    for band, inj in zip(bands, injects, strict=False):
        last: dict[str, Mapping[str, Any]] = {}
        for e in events:
            t = _num(e.get("t"))
            if t is None or t > band.start:
                continue
            if e.get("type") == "probe" and e.get("name") == "replication_lag":
                last[str(e.get("flow") or "flow")] = e
        for flow, p in sorted(last.items()):
            out.append(
                {
                    "tag": band.tag,
                    "fault": inj.get("fault"),
                    "target": inj.get("target"),
                    "fault_t": band.start,
                    "flow": flow,
                    "probe_t": p.get("t"),
                    "lag": p.get("lag"),
                    "heartbeat_age_s": p.get("heartbeat_age_s"),
                }
            )
    return out


def build_timeline(
    events: Sequence[Mapping[str, Any]], *, limit: int = TIMELINE_LIMIT
) -> list[dict[str, Any]]:
    """Notable moments of a run as ``{t, wall, kind, text}`` (not every send: transitions).

    Kinds: run, phase, fault, runbook, redirect, alert, write, read, final-read.
    """
    rows: list[dict[str, Any]] = []
    tags = {}
    n_fault = 0

    def add(e: Mapping[str, Any], kind: str, text: str) -> None:
        rows.append({"t": e.get("t"), "wall": e.get("wall"), "kind": kind, "text": text})

    alerts = defaultdict(list)
    for a in lag_at_faults(events):
        bits = []
        if a["lag"] is not None:
            bits.append(f"{fmt(a['lag'])} records")
        if a["heartbeat_age_s"] is not None:
            bits.append(f"heartbeat age {fmt_s(a['heartbeat_age_s'])}")
        alerts[a["tag"]].append(
            f"replication lag at {a['tag']}: {a['flow']} {', '.join(bits)} "
            f"(probe at {fmt_s(a['probe_t'])})"
        )
    writes_failing = False
    last_redirect_t: dict[str, float] = {}  # group -> t of its redirect
    read_after_redirect: set[str] = set()
    starts: dict[tuple[Any, Any], float] = {}
    for e in events:
        typ = e.get("type")
        if typ == "run.start":
            add(
                e,
                "run",
                f"run {e.get('run_id')} started (scenario {e.get('scenario')}, "
                f"seed {e.get('seed')})",
            )
        elif typ == "run.end":
            err = f": {e.get('error')}" if e.get("error") else ""
            add(e, "run", f"run ended ({e.get('status')}){err}")
        elif typ == "phase":
            add(e, "phase", f"phase {e.get('name')}")
        elif typ == "fault.inject":
            n_fault += 1
            tag = tags[e.get("fault_id")] = f"F{n_fault}"
            params = e.get("params")
            ptxt = f" {fmt(params)}" if params else ""
            add(e, "fault", f"{tag} injected: {e.get('fault')} on {e.get('target')}{ptxt}")
            for text in alerts.get(tag, []):
                add(e, "alert", text)
        elif typ in ("fault.verify", "fault.heal"):
            tag = tags.get(e.get("fault_id"), str(e.get("fault_id")))
            verb = "verified" if typ == "fault.verify" else "healed"
            if not e.get("ok"):
                verb = "NOT verified" if typ == "fault.verify" else "heal FAILED"
            detail = f": {e.get('detail')}" if e.get("detail") else ""
            add(e, "fault", f"{tag} {verb}{detail}")
        elif typ == "runbook.step":
            key = (e.get("runbook"), e.get("step"))
            name = f"{e.get('runbook')} / {e.get('step')}"
            status = e.get("status")
            if status == "start":
                starts[key] = float(e.get("t") or 0.0)
                add(e, "runbook", f"{name} started")
            else:
                took = ""
                if key in starts and _num(e.get("t")) is not None:
                    took = f" after {fmt_s(round(float(e['t']) - starts[key], 3))}"
                detail = f": {e.get('detail')}" if e.get("detail") else ""
                word = "ok" if status == "ok" else "FAILED"
                add(e, "runbook", f"{name} {word}{took}{detail}")
        elif typ == "redirect":
            who = (
                f"consumer group {e.get('group')}"
                if e.get("group")
                else f"{e.get('role') or 'client'} {e.get('client')}"
            )
            add(e, "redirect", f"{who} redirected {e.get('from_cluster')} → {e.get('to_cluster')}")
            if e.get("group") is not None and _num(e.get("t")) is not None:
                last_redirect_t[str(e["group"])] = float(e["t"])
                read_after_redirect.discard(str(e["group"]))
        elif typ in ("send.fail", "send.unknown"):
            if not writes_failing:
                writes_failing = True
                word = "failed" if typ == "send.fail" else "ended unknown"
                add(
                    e,
                    "write",
                    f"writes failing: first send to {e.get('cluster')} {word} ({e.get('error')})",
                )
        elif typ == "send.ok":
            if writes_failing:
                writes_failing = False
                add(
                    e,
                    "write",
                    f"writes resumed: first acknowledged write on "
                    f"{e.get('cluster')} ({e.get('topic')})",
                )
        elif typ == "recv" and not e.get("final") and e.get("group") is not None:
            g = str(e["group"])
            if g in last_redirect_t and g not in read_after_redirect:
                read_after_redirect.add(g)
                add(
                    e,
                    "read",
                    f"group {g}: first read after redirect, on {e.get('cluster')} "
                    f"({e.get('topic')})",
                )
        elif typ == "final_read.start":
            add(
                e,
                "final-read",
                f"final read of {fmt(e.get('clusters'))} started "
                f"(authoritative: {e.get('authoritative')})",
            )
        elif typ == "final_read.end":
            word = "complete" if e.get("complete") else "INCOMPLETE"
            add(
                e,
                "final-read",
                f"final read of {e.get('cluster')} {word}: {fmt(e.get('records'))} records",
            )
    if len(rows) > limit:
        rest = len(rows) - limit
        rows = rows[:limit]
        rows.append(
            {
                "t": None,
                "wall": None,
                "kind": "note",
                "text": f"… {rest} more entries omitted (see history.jsonl)",
            }
        )
    return rows


def _reads_topic(acked_topic: str, read_topics: set[str]) -> bool:
    # MM2's DefaultReplicationPolicy renames "orders" to "<source>.orders" on the target.
    return acked_topic in read_topics or any(r.endswith("." + acked_topic) for r in read_topics)


def consumer_group_summary(events: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Per consumer group: receipts, distinct ids, re-reads and skips, from the history.

    A *skip* is an acked message that exists in the final read but the group never received,
    although it received a message acked later on a topic it reads: the group moved past it
    (e.g. offsets translated too far ahead). Lost messages are not skips.
    """
    ack_t: dict[Any, float] = {}
    ack_topic: dict[Any, str] = {}
    final_ids: set[Any] = set()
    recv_ids: dict[str, list[Any]] = defaultdict(list)
    topics: dict[str, set[str]] = defaultdict(set)
    for e in events:
        typ = e.get("type")
        mid = e.get("id")
        if typ == "send.ok" and mid is not None and mid not in ack_t:
            ack_t[mid] = float(e.get("t") or 0.0)
            ack_topic[mid] = str(e.get("topic"))
        elif typ == "recv":
            if e.get("final"):
                final_ids.add(mid)
            elif e.get("group") is not None:
                recv_ids[str(e["group"])].append(mid)
                topics[str(e["group"])].add(str(e.get("topic")))
    out: dict[str, dict[str, int]] = {}
    for g in sorted(recv_ids):
        ids = recv_ids[g]
        distinct = set(ids)
        newest = max((ack_t[i] for i in distinct if i in ack_t), default=-math.inf)
        skipped = sum(
            1
            for i, t in ack_t.items()
            if t < newest
            and i not in distinct
            and i in final_ids
            and _reads_topic(ack_topic[i], topics[g])
        )
        out[g] = {
            "received": len(ids),
            "distinct": len(distinct),
            "rereads": len(ids) - len(distinct),
            "skipped": skipped,
        }
    return out


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


def derive_findings(
    report: Mapping[str, Any], events: Sequence[Mapping[str, Any]] = ()
) -> list[dict[str, str]]:
    """Findings and suggested actions from the figures: ``{severity, text, suggestion}``."""
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
    lost = _num(rpo.get("lost"))
    window = _num(rpo.get("window_seconds"))
    loss_fig = _figures(report, "loss")
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
        lags = [a for a in lag_at_faults(events) if _num(a.get("heartbeat_age_s")) is not None]
        # The fault that cut off the in-flight data: the first one injected after the earliest
        # lost ack (an earlier, unrelated fault -- an MM2 restart -- is not the cause).
        lost_t = [
            t
            for e in _checker(report, "loss").get("evidence") or []
            if isinstance(e, Mapping)
            and (t := _num(e.get("ack_t", e.get("send_t", e.get("t"))))) is not None
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
    dup_fig = _figures(report, "duplicates")
    repl_dups = _num(dup_fig.get("extra_copies", rpo.get("duplicates")))
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
                f"{fmt(int(repl_dups))} duplicate copies in the authoritative final read.",
                "Enable producer idempotence (enable.idempotence=true) and check MM2 restarts "
                "in the logs.",
            )
    groups = report.get("consumer_groups") or {}
    rereads = {g: int(v.get("rereads") or 0) for g, v in groups.items()}
    if not rereads:
        per = dup_fig.get("consumer_rereads_per_group") or {}
        rereads = {g: int((v or {}).get("rereads") or 0) for g, v in per.items()}
    if sum(rereads.values()):
        expected = any(
            "re-read" in str(a) or "reread" in str(a)
            for a in report.get("expected_anomalies") or []
        )
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
    unknown = _num(rpo.get("unknown"))
    if unknown:
        add(
            "info",
            f"{fmt(int(unknown))} sends ended with an unknown outcome; they are not "
            "counted as lost.",
            "Reconcile them by id in the final read if the application needs exactly-once.",
        )
    phases = rto.get("phases") or {}
    det, rb = _num(phases.get("detection_seconds")), _num(phases.get("runbook_seconds"))
    fw = _num(phases.get("first_write_on_target_seconds"))
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
            f"failover cluster, {_human(worst)} took the most "
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
    for name, c in (report.get("checkers") or {}).items():
        if isinstance(c, Mapping) and c.get("status") == "UNKNOWN":
            notes = "; ".join(str(n) for n in c.get("notes") or []) or "no detail"
            add(
                "medium",
                f"Checker {name} is UNKNOWN ({notes}): its property is not proven.",
                "Fix the cause and re-run the checkers offline: kafkadrill check RUN_DIR.",
            )
    return out


def prepare_report(
    report: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """A copy of ``report`` with the derived keys filled in when absent: ``timeline``,
    ``consumer_groups`` and ``findings`` (given findings first, derived ones appended)."""
    rep = dict(report)
    if "timeline" not in rep:
        rep["timeline"] = build_timeline(events)
    if "consumer_groups" not in rep:
        rep["consumer_groups"] = consumer_group_summary(events)
    given = list(rep.get("findings") or [])
    seen = {f.get("text") for f in given}
    derived = [f for f in derive_findings(rep, events) if f["text"] not in seen]
    rep["findings"] = sorted(
        given + derived, key=lambda f: _SEVERITY_ORDER.get(str(f.get("severity")), 9)
    )
    return rep


# -- the document --------------------------------------------------------------------------
def _status(v: Any) -> str:
    s = str(v or "UNKNOWN").upper()
    return s if s in OBJECTIVE_STATUSES else "UNKNOWN"


def _summary_line(r: Mapping[str, Any]) -> str:
    rpo, rto = r.get("rpo") or {}, r.get("rto") or {}
    parts = []
    if rpo.get("lost") is not None:
        parts.append(
            f"{fmt(rpo.get('lost'))} of {fmt(rpo.get('acked'))} acknowledged "
            f"messages lost (RPO window {fmt_s(rpo.get('window_seconds'))})"
        )
    if rto.get("write_unavailable_seconds") is not None:
        parts.append(f"writers down {fmt_s(rto.get('write_unavailable_seconds'))}")
    if rto.get("read_unavailable_seconds") is not None:
        parts.append(f"readers down {fmt_s(rto.get('read_unavailable_seconds'))}")
    failed = [o.get("name") for o in r.get("objectives") or [] if o.get("verdict") == "FAIL"]
    if failed:
        parts.append("failed objectives: " + ", ".join(str(n) for n in failed))
    return "; ".join(parts) + "." if parts else "No figures were recorded."


def _duration(r: Mapping[str, Any]) -> str:
    try:
        a = datetime.fromisoformat(str(r.get("started_at")).replace("Z", "+00:00"))
        b = datetime.fromisoformat(str(r.get("finished_at")).replace("Z", "+00:00"))
    except ValueError:
        return "n/a"
    return fmt_s(round((b - a).total_seconds(), 3))


def _meta_rows(r: Mapping[str, Any]) -> list[list[Cell]]:
    versions = r.get("versions") or {}
    vtext = ", ".join(f"{k} {v}" for k, v in versions.items()) or "n/a"
    return [
        ["Scenario", Code(str(r.get("scenario")))],
        ["Run id", Code(str(r.get("run_id")))],
        ["Seed", Code(fmt(r.get("seed")))],
        ["Started (UTC)", str(r.get("started_at") or "n/a")],
        ["Finished (UTC)", str(r.get("finished_at") or "n/a")],
        ["Duration", _duration(r)],
        ["Versions", vtext],
    ]


def _rel_plot(key: str, plots: Mapping[str, Path]) -> str:
    return f"{PLOTS_DIR}/{Path(plots[key]).name}"


def build_blocks(r: Mapping[str, Any], plots: Mapping[str, Path]) -> list[Block]:
    """Everything after the header, as blocks (shared by Markdown and HTML)."""
    b: list[Block] = []
    rpo, rto = r.get("rpo") or {}, r.get("rto") or {}
    if r.get("error"):
        b.append(Note("error", f"The run crashed: {r.get('error')}"))
    b.append(
        Cards(
            [
                (fmt(rpo.get("lost")), "lost messages", "FAIL" if rpo.get("lost") else ""),
                (fmt_s(rpo.get("window_seconds")), "RPO window", ""),
                (fmt(rpo.get("duplicates")), "duplicates (final read)", ""),
                (fmt(rpo.get("unknown")), "unknown sends", ""),
                (fmt_s(rto.get("write_unavailable_seconds")), "writes unavailable", ""),
                (fmt_s(rto.get("read_unavailable_seconds")), "reads unavailable", ""),
            ]
        )
    )

    # Findings first: what the on-call engineer acts on.
    b.append(Heading(2, "Findings and suggested actions", "findings"))
    findings = r.get("findings") or []
    if findings:
        b.append(
            Table(
                ["Severity", "Finding", "Suggested action"],
                [
                    [
                        Badge(str(f.get("severity", "info")).upper()),
                        str(f.get("text", "")),
                        str(f.get("suggestion", "")),
                    ]
                    for f in findings
                ],
            )
        )
    else:
        b.append(Para("Nothing to report."))

    b.append(Heading(2, "Objectives", "objectives"))
    objs = r.get("objectives") or []
    if objs:
        b.append(
            Table(
                ["Objective", "Target", "Observed", "Verdict"],
                [
                    [
                        _human(o.get("name", "")),
                        fmt(o.get("target")),
                        fmt(o.get("observed")),
                        Badge(_status(o.get("verdict"))),
                    ]
                    for o in objs
                ],
                numeric={1, 2},
            )
        )
    else:
        b.append(
            Note(
                "warn",
                "The scenario declares no objectives: the verdict rests on the checkers alone.",
            )
        )
    anomalies = r.get("expected_anomalies") or []
    if anomalies:
        b.append(Para("Expected anomalies (declared by the scenario, reported but allowed):"))
        b.append(Bullets([str(a) for a in anomalies]))

    # RPO
    b.append(Heading(2, "RPO: data loss", "rpo"))
    b.append(
        Table(
            ["Figure", "Value"],
            [
                ["Acknowledged messages", fmt(rpo.get("acked"))],
                ["Lost (acked, never read back)", fmt(rpo.get("lost"))],
                ["Lost bytes", fmt(rpo.get("lost_bytes"))],
                [
                    "RPO window (first lost ack to fault / last lost ack)",
                    fmt_s(rpo.get("window_seconds")),
                ],
                ["Duplicates in the final read", fmt(rpo.get("duplicates"))],
                ["Unknown-outcome sends (not counted as lost)", fmt(rpo.get("unknown"))],
            ],
            numeric={1},
            compact=True,
        )
    )
    loss = _checker(r, "loss")
    per_part = _figures(r, "loss").get("per_partition") or {}
    if per_part:
        b.append(Para("Lost messages per partition:"))
        b.append(
            Table(
                ["Partition (cluster/topic/p)", "Lost"],
                [[Code(str(k)), fmt(v)] for k, v in per_part.items()],
                numeric={1},
                compact=True,
            )
        )
    samples = [e for e in loss.get("evidence") or [] if isinstance(e, Mapping)]
    if samples:
        shown = samples[:LOST_SAMPLE_ROWS]
        b.append(
            Para(f"Lost-message samples ({len(shown)} of {fmt(rpo.get('lost'))}, earliest first):")
        )
        b.append(
            Table(
                [
                    "Id",
                    "Producer",
                    "Cluster/topic/partition",
                    "Offset",
                    "Sent at (since start)",
                    "Acked at (since start)",
                ],
                [
                    [
                        Code(str(e.get("id"))),
                        str(e.get("producer", "")),
                        Code(f"{e.get('cluster')}/{e.get('topic')}/{e.get('partition')}"),
                        fmt(e.get("offset")),
                        fmt_s(e.get("send_t")),
                        fmt_s(e.get("ack_t")),
                    ]
                    for e in shown
                ],
                numeric={3, 4, 5},
            )
        )
    if loss.get("status") == "UNKNOWN":
        b.append(
            Note(
                "warn",
                "The loss checker is UNKNOWN: the loss figures are not proven (see the appendix).",
            )
        )
    if "lost" in plots:
        b.append(Image("lost", PLOT_TITLES["lost"]))

    # RTO
    b.append(Heading(2, "RTO: recovery by phase", "rto"))
    b.append(
        Table(
            ["Figure", "Value"],
            [
                ["Writes unavailable", fmt_s(rto.get("write_unavailable_seconds"))],
                ["Reads unavailable", fmt_s(rto.get("read_unavailable_seconds"))],
            ],
            numeric={1},
            compact=True,
        )
    )
    phases = rto.get("phases") or {}
    numeric = {k: v for k, v in phases.items() if _num(v) is not None or v is None}
    if numeric:
        b.append(
            Table(
                ["Phase", "Seconds", "What it measures"],
                [
                    [_human(k.removesuffix("_seconds")), fmt_s(v), PHASE_HELP.get(k, "")]
                    for k, v in numeric.items()
                ],
                numeric={1},
            )
        )
    steps = phases.get("steps") if isinstance(phases.get("steps"), Mapping) else {}
    gantt = [
        (_human(k.removesuffix("_seconds")), 0.0, float(phases[k]), "milestone")
        for k in MILESTONES
        if _num(phases.get(k)) is not None
    ]
    step_rows: list[list[Cell]] = []
    for name, st in steps.items():
        if not isinstance(st, Mapping):
            continue
        since, dur = _num(st.get("since_fault_seconds")), _num(st.get("duration_seconds"))
        failed = st.get("status") not in ("ok", None)
        if since is not None:
            gantt.append((str(name), since, since + (dur or 0.0), "fail" if failed else "step"))
        step_rows.append(
            [
                Code(str(name)),
                Badge("FAIL") if failed else str(st.get("status")),
                fmt_s(st.get("since_fault_seconds")),
                fmt_s(st.get("duration_seconds")),
            ]
        )
    if gantt:
        b.append(
            Para(
                "Recovery chart (seconds since the fault; grey bars run from the fault to a "
                "milestone, coloured bars are runbook steps):",
                "small",
            )
        )
        b.append(Gantt(sorted(gantt, key=lambda g: (g[1], g[2]))))
    if step_rows:
        b.append(Para("Runbook steps:"))
        b.append(
            Table(
                ["Step", "Status", "Started (s after fault)", "Duration"], step_rows, numeric={2, 3}
            )
        )
    per_group = phases.get("caught_up_per_group")
    if isinstance(per_group, Mapping) and per_group:
        b.append(
            Table(
                ["Group", "Caught up (s after fault)"],
                [
                    [Code(str(g)), fmt_s(v) if v is not None else "never"]
                    for g, v in per_group.items()
                ],
                numeric={1},
                compact=True,
            )
        )
    if not phases:
        b.append(Para("No RTO phases were recorded."))

    # Duplicates by cause
    b.append(Heading(2, "Duplicates by cause", "duplicates"))
    dup = _figures(r, "duplicates")
    groups = r.get("consumer_groups") or {}
    rereads_total = dup.get("consumer_rereads")
    if rereads_total is None and groups:
        rereads_total = sum(int(g.get("rereads") or 0) for g in groups.values())
    b.append(
        Table(
            ["Cause", "Count", "What it means"],
            [
                [
                    "Replication / producer retries",
                    fmt(dup.get("extra_copies", rpo.get("duplicates"))),
                    "extra copies of one id in the authoritative final read",
                ],
                [
                    "Consumer re-reads",
                    fmt(rereads_total),
                    "a consumer group received an id more than once "
                    "(offset translation, rebalances)",
                ],
            ],
            numeric={1},
        )
    )

    b.append(Heading(2, "Consumer groups", "groups"))
    if groups:
        b.append(
            Table(
                ["Group", "Receipts", "Distinct messages", "Re-reads", "Skipped"],
                [
                    [
                        Code(str(g)),
                        fmt(v.get("received")),
                        fmt(v.get("distinct")),
                        fmt(v.get("rereads")),
                        fmt(v.get("skipped")),
                    ]
                    for g, v in groups.items()
                ],
                numeric={1, 2, 3, 4},
            )
        )
        b.append(
            Para(
                "Skipped: acked messages present on the cluster that the group never "
                "received although it received later ones.",
                "small",
            )
        )
    else:
        b.append(Para("No consumer-group receipts were recorded."))
    if "consumer_lag" in plots:
        b.append(Image("consumer_lag", PLOT_TITLES["consumer_lag"]))

    # Faults and timeline
    b.append(Heading(2, "Faults", "faults"))
    faults = r.get("faults") or []
    if faults:
        b.append(
            Table(
                ["Fault", "Target", "Injected at", "Healed at", "Verified"],
                [
                    [
                        str(f.get("type")),
                        Code(str(f.get("target"))),
                        str(f.get("injected_at") or "n/a"),
                        str(f.get("healed_at") or "never healed"),
                        Badge("PASS" if f.get("verified") else "FAIL")
                        if f.get("verified") is not None
                        else "n/a",
                    ]
                    for f in faults
                ],
            )
        )
    else:
        b.append(Para("No fault was injected."))

    b.append(Heading(2, "Timeline", "timeline"))
    tl = r.get("timeline") or []
    if tl:
        b.append(
            Table(
                ["t (s)", "UTC", "Kind", "Event"],
                [
                    [
                        fmt(row.get("t")) if row.get("t") is not None else "",
                        _wall(row.get("wall")),
                        str(row.get("kind", "")),
                        str(row.get("text", "")),
                    ]
                    for row in tl
                ],
                numeric={0},
            )
        )
    else:
        b.append(Para("No timeline (empty history)."))

    b.append(Heading(2, "Plots", "plots"))
    b.append(
        Para(
            "Time axis: seconds since run start. Shaded bands are faults (F1, F2…: "
            "inject to heal); dashed lines are runbook steps (R1, R2…)."
        )
    )
    if "rates" in plots:
        b.append(Image("rates", PLOT_TITLES["rates"]))
    if "replication_lag" in plots:
        b.append(Image("replication_lag", PLOT_TITLES["replication_lag"]))
    else:
        b.append(
            Note(
                "info",
                "No replication_lag probes were recorded, so there is no replication-lag plot.",
            )
        )

    # Appendix
    b.append(Heading(2, "Appendix A: checkers", "checkers"))
    b.append(
        Para(
            "Raw checker verdicts. The drill verdict comes from the objectives; a checker "
            "FAIL on an anomaly the scenario allows does not fail the drill. A checker "
            "that crashed or could not decide is UNKNOWN, never PASS."
        )
    )
    checkers = r.get("checkers") or {}
    if not checkers:
        b.append(Note("warn", "No checker results in this report."))
    for name, c in checkers.items():
        c = c if isinstance(c, Mapping) else {}
        status = _status(c.get("status"))
        b.append(Heading(3, f"Checker {name}", f"checker-{name}", badge=status))
        if status == "UNKNOWN":
            b.append(
                Note(
                    "warn",
                    f"Checker {name} is UNKNOWN: it could not decide. This is "
                    "not a pass; the property it checks is unproven.",
                )
            )
        figs = c.get("figures") or {}
        if figs:
            b.append(
                Table(
                    ["Figure", "Value"],
                    [[Code(str(k)), _fig_cell(v)] for k, v in figs.items()],
                    compact=True,
                )
            )
        notes = [str(n) for n in c.get("notes") or []]
        if notes:
            b.append(Bullets(notes))
        ev = [e for e in c.get("evidence") or [] if isinstance(e, Mapping)]
        if ev:
            cols = list(dict.fromkeys(k for e in ev[:EVIDENCE_ROWS] for k in e))
            b.append(Para(f"Evidence ({min(len(ev), EVIDENCE_ROWS)} of {len(ev)} rows):"))
            b.append(Table(cols, [[fmt(e.get(k)) for k in cols] for e in ev[:EVIDENCE_ROWS]]))

    b.append(Heading(2, "Appendix B: environment and files", "environment"))
    b.append(
        Table(
            ["Component", "Version"],
            [[str(k), Code(str(v))] for k, v in (r.get("versions") or {}).items()],
            compact=True,
        )
    )
    files = r.get("report_files") or {}
    if files:
        b.append(
            Para(
                "Files in this run directory (integrity: MANIFEST.sha256, check with "
                "'sha256sum -c MANIFEST.sha256'):"
            )
        )
        b.append(
            Table(["File", "Contents"], [[Link(str(k), str(k)), str(v)] for k, v in files.items()])
        )
    return b


def _fig_cell(v: Any) -> Cell:
    text = fmt(v)
    if len(text) > 300:  # keep nested figure dumps readable; report.json has them whole
        text = text[:300] + " … (truncated; see report.json)"
    return Code(text) if isinstance(v, Mapping | list) else text


# -- Markdown ------------------------------------------------------------------------------
def _md_escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("\n", " ")
        .replace("<", "&lt;")
        .replace("*", "\\*")
        .replace("_", "\\_")
    )


def _md_cell(c: Cell) -> str:
    if isinstance(c, Badge):
        return f"**{c.status}**"
    if isinstance(c, Code):
        return "`" + c.text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"
    if isinstance(c, Link):
        return f"[{_md_escape(c.text)}]({c.href})"
    return _md_escape(str(c))


def _md_blocks(blocks: Iterable[Block], plots: Mapping[str, Path]) -> list[str]:
    out: list[str] = []
    for blk in blocks:
        if isinstance(blk, Heading):
            badge = f" — {blk.badge}" if blk.badge else ""
            out += ["#" * blk.level + " " + blk.text + badge, ""]
        elif isinstance(blk, Para):
            out += [_md_escape(blk.text), ""]
        elif isinstance(blk, Note):
            label = {"error": "Error", "warn": "Warning", "info": "Note"}.get(blk.kind, "Note")
            out += [f"> **{label}:** {_md_escape(blk.text)}", ""]
        elif isinstance(blk, Bullets):
            out += [f"- {_md_escape(i)}" for i in blk.items] + [""]
        elif isinstance(blk, Table):
            out.append("| " + " | ".join(_md_escape(h) for h in blk.headers) + " |")
            out.append(
                "|"
                + "|".join("---:" if i in blk.numeric else "---" for i in range(len(blk.headers)))
                + "|"
            )
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in blk.rows]
            out.append("")
        elif isinstance(blk, Image):
            out += [f"![{blk.title}]({_rel_plot(blk.key, plots)})", ""]
        elif isinstance(blk, Cards):
            out += [" · ".join(f"**{v}** {label}" for v, label, _ in blk.items), ""]
        elif isinstance(blk, Gantt):
            out.append("| Bar | From (s) | To (s) |")
            out.append("|---|---:|---:|")
            out += [f"| {_md_escape(label)} | {fmt(a)} | {fmt(z)} |" for label, a, z, _ in blk.rows]
            out.append("")
    return out


def render_markdown(report: Mapping[str, Any], plots: Mapping[str, Path]) -> str:
    """The retrospective as Markdown; plots linked as ``plots/<name>.png``."""
    r = report
    verdict = _status(r.get("verdict"))
    out = [
        f"# Drill report: {r.get('scenario')}",
        "",
        f"> **Verdict: {verdict}** — {_md_escape(_summary_line(r))}",
        "",
    ]
    if r.get("description"):
        out += [_md_escape(str(r["description"])), ""]
    out += ["| | |", "|---|---|"]
    out += [f"| {k} | {_md_cell(v)} |" for k, v in _meta_rows(r)] + [""]
    out += _md_blocks(build_blocks(r, plots), plots)
    return "\n".join(out).rstrip() + "\n"


# -- HTML ----------------------------------------------------------------------------------
_CSS = """
:root { --pass:#1a7f37; --fail:#cf222e; --unknown:#9a6700; --ink:#1f2328; --mute:#59636e;
  --line:#d1d9e0; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color:var(--ink); background:#fff; }
main { max-width:1160px; margin:0 auto; padding:24px 28px 64px; }
header.banner { display:flex; gap:24px; align-items:center; padding:20px 24px;
  border-radius:10px; color:#fff; }
header.banner .verdict { font-size:44px; font-weight:800; letter-spacing:2px;
  padding:6px 22px; border:3px solid rgba(255,255,255,.85); border-radius:8px; }
header.banner h1 { margin:0 0 4px; font-size:26px; }
header.banner p { margin:0; opacity:.95; }
.v-PASS { background:var(--pass); } .v-FAIL { background:var(--fail); }
.v-UNKNOWN { background:var(--unknown); }
p.desc { color:var(--mute); margin:14px 0 8px; }
table { border-collapse:collapse; width:100%; margin:8px 0 18px; font-size:14px; }
th, td { border:1px solid var(--line); padding:6px 9px; text-align:left; vertical-align:top; }
th { background:var(--bg); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.meta, table.kv { width:auto; min-width:50%; }
table.meta td:first-child { font-weight:600; background:var(--bg); white-space:nowrap; }
code { font:13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background:var(--bg); padding:1px 4px; border-radius:4px; word-break:break-all; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; color:#fff;
  font-size:12px; font-weight:700; letter-spacing:.5px; }
.b-PASS { background:var(--pass); } .b-FAIL, .b-HIGH { background:var(--fail); }
.b-UNKNOWN, .b-MEDIUM { background:var(--unknown); } .b-LOW { background:#0969da; }
.b-INFO, .b-MEASURED { background:#6e7781; }
h2 { margin:34px 0 10px; padding-bottom:4px; border-bottom:2px solid var(--line);
  font-size:21px; }
h3 { margin:22px 0 6px; font-size:17px; }
nav { margin:14px 0 0; font-size:14px; color:var(--mute); }
nav a { color:#0969da; text-decoration:none; margin-right:14px; white-space:nowrap; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:18px 0 8px; }
.card { flex:1 1 150px; border:1px solid var(--line); border-radius:8px; padding:10px 14px;
  background:var(--bg); }
.card .n { font-size:24px; font-weight:700; font-variant-numeric:tabular-nums; }
.card .l { font-size:13px; color:var(--mute); }
.card.c-FAIL { border-color:var(--fail); } .card.c-FAIL .n { color:var(--fail); }
.note { border-left:4px solid #0969da; background:#ddf4ff; padding:8px 12px;
  margin:10px 0 16px; border-radius:4px; }
.note.warn { border-color:var(--unknown); background:#fff8c5; }
.note.error { border-color:var(--fail); background:#ffebe9; }
figure { margin:12px 0 22px; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:6px; }
figcaption { font-size:13px; color:var(--mute); }
.small { font-size:13px; color:var(--mute); }
.gantt { margin:6px 0 18px; font-size:13px; }
.g-row { display:flex; align-items:center; height:24px; }
.g-label { width:260px; flex:none; padding-right:10px; text-align:right; white-space:nowrap;
  overflow:hidden; text-overflow:ellipsis; }
.g-track { position:relative; flex:1; height:100%; border-left:1px solid var(--mute);
  margin-right:70px; }
.g-bar { position:absolute; top:5px; height:14px; border-radius:3px; }
.g-milestone { background:#afb8c1; } .g-step { background:#0969da; }
.g-fail { background:var(--fail); }
.g-val { position:absolute; top:3px; padding-left:6px; white-space:nowrap; color:var(--mute); }
@media print { main { max-width:none; } h2 { break-after:avoid; } figure { break-inside:avoid; } }
"""


def _h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _html_cell(c: Cell) -> str:
    if isinstance(c, Badge):
        return f'<span class="badge b-{_h(c.status)}">{_h(c.status)}</span>'
    if isinstance(c, Code):
        return f"<code>{_h(c.text)}</code>"
    if isinstance(c, Link):
        # Only relative links into the run directory: the report must load nothing remote.
        href = c.href if "://" not in c.href and not c.href.startswith("//") else "#"
        return f'<a href="{_h(href)}">{_h(c.text)}</a>'
    return _h(c)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _html_blocks(blocks: Iterable[Block], plots: Mapping[str, Path]) -> list[str]:
    out: list[str] = []
    for blk in blocks:
        if isinstance(blk, Heading):
            badge = f" {_html_cell(Badge(blk.badge))}" if blk.badge else ""
            out.append(f'<h{blk.level} id="{_h(blk.anchor)}">{_h(blk.text)}{badge}</h{blk.level}>')
        elif isinstance(blk, Para):
            cls = f' class="{_h(blk.cls)}"' if blk.cls else ""
            out.append(f"<p{cls}>{_h(blk.text)}</p>")
        elif isinstance(blk, Note):
            out.append(f'<div class="note {_h(blk.kind)}">{_h(blk.text)}</div>')
        elif isinstance(blk, Bullets):
            out.append("<ul>" + "".join(f"<li>{_h(i)}</li>" for i in blk.items) + "</ul>")
        elif isinstance(blk, Table):

            def cls(i: int, numeric: set[int] = blk.numeric) -> str:
                return ' class="num"' if i in numeric else ""

            head = "".join(f"<th{cls(i)}>{_h(h)}</th>" for i, h in enumerate(blk.headers))
            body = "".join(
                "<tr>"
                + "".join(f"<td{cls(i)}>{_html_cell(c)}</td>" for i, c in enumerate(row))
                + "</tr>"
                for row in blk.rows
            )
            tcls = ' class="kv"' if blk.compact else ""
            out.append(f"<table{tcls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(blk, Image):
            out.append(
                f'<figure><img alt="{_h(blk.title)}" src="{_data_uri(plots[blk.key])}">'
                f"<figcaption>{_h(blk.title)} ({_h(_rel_plot(blk.key, plots))})"
                "</figcaption></figure>"
            )
        elif isinstance(blk, Cards):
            out.append(
                '<div class="cards">'
                + "".join(
                    f'<div class="card{" c-" + _h(s) if s else ""}"><div class="n">{_h(v)}</div>'
                    f'<div class="l">{_h(label)}</div></div>'
                    for v, label, s in blk.items
                )
                + "</div>"
            )
        elif isinstance(blk, Gantt):
            span = max((z for _, _, z, _ in blk.rows), default=0.0) or 1.0
            rows = []
            for label, a, z, kind in blk.rows:
                left, width = 100.0 * a / span, max(100.0 * (z - a) / span, 0.4)
                text = fmt_s(round(z, 3)) if kind == "milestone" else fmt_s(round(z - a, 3))
                rows.append(
                    f'<div class="g-row"><div class="g-label">{_h(label)}</div>'
                    f'<div class="g-track"><div class="g-bar g-{kind}" '
                    f'style="left:{left:.2f}%;width:{width:.2f}%"></div>'
                    f'<div class="g-val" style="left:{min(left + width, 88):.2f}%">{_h(text)}'
                    "</div></div></div>"
                )
            out.append('<div class="gantt">' + "".join(rows) + "</div>")
    return out


def render_html(report: Mapping[str, Any], plots: Mapping[str, Path]) -> str:
    """The retrospective as ONE self-contained HTML file (inline CSS, plots as data URIs)."""
    r = report
    verdict = _status(r.get("verdict"))
    blocks = build_blocks(r, plots)
    nav = " ".join(
        f'<a href="#{_h(b.anchor)}">{_h(b.text)}</a>'
        for b in blocks
        if isinstance(b, Heading) and b.level == 2
    )
    meta = "".join(f"<tr><td>{_h(k)}</td><td>{_html_cell(v)}</td></tr>" for k, v in _meta_rows(r))
    desc = f'<p class="desc">{_h(r["description"])}</p>' if r.get("description") else ""
    title = f"{verdict} — {r.get('scenario')} — {r.get('run_id')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_h(title)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f'<header class="banner v-{verdict}"><div class="verdict">{verdict}</div><div>',
        f"<h1>Drill report: {_h(r.get('scenario'))}</h1>",
        f"<p>{_h(_summary_line(r))}</p></div></header>",
        desc,
        f'<table class="meta">{meta}</table>',
        f"<nav>Contents: {nav}</nav>",
        *_html_blocks(blocks, plots),
        '<p class="small">Generated by kafkadrill from history.jsonl; figures are in '
        "report.json.</p>",
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


# -- writing a run directory ---------------------------------------------------------------
REPORT_FILE_DESCRIPTIONS = {
    SCENARIO_FILE: "the resolved scenario (secrets redacted)",
    "history.jsonl": "every event of the run (the source of truth)",
    "history.jsonl.gz": "every event of the run, gzipped (the source of truth)",
    REPORT_JSON: "verdict and figures, machine-readable",
    REPORT_MD: "this report, Markdown",
    REPORT_HTML: "this report, one self-contained HTML file",
    ENVIRONMENT_FILE: "versions and configurations",
    "logs/": "every process's log",
    "plots/": "the plots, PNG",
    "MANIFEST.sha256": "sha256 of every other file",
}


def _run_dir_secrets(run_dir: Path) -> set[str]:
    """Secrets declared in the run's own config files (scenario, environment, .properties)."""
    found: set[str] = set()
    for path in run_dir.rglob("*"):
        if not path.is_file() or path.suffix not in (
            ".yaml",
            ".yml",
            ".properties",
            ".json",
            ".conf",
            ".cfg",
        ):
            continue
        if path.name == REPORT_JSON or path.stat().st_size > 4 << 20:
            continue
        text = path.read_text("utf-8", errors="replace")
        found |= find_secrets_in_text(text)
        try:
            if path.suffix == ".json":
                found |= find_secrets(orjson.loads(text))
            elif path.suffix in (".yaml", ".yml"):
                import yaml

                found |= find_secrets(yaml.safe_load(text))
        except Exception:  # a malformed file is still scrubbed by the text rules
            pass
    return found


_HOT = {"send.invoke", "send.ok", "send.fail", "send.unknown", "recv"}


def _clean_events(
    events: Sequence[Mapping[str, Any]], secrets: set[str]
) -> list[Mapping[str, Any]]:
    # Only rare events carry free text (details, params) that reaches the report; per-message
    # events are left as they are (millions of them, fixed fields).
    out: list[Mapping[str, Any]] = []
    for e in events:
        if e.get("type") in _HOT:
            out.append(e)
            continue
        red = redact(e)
        out.append(
            {k: redact_text(v, secrets) if isinstance(v, str) else v for k, v in red.items()}
        )
    return out


def write_report(
    run_dir: Path | str,
    report: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    *,
    secrets: Iterable[str] = (),
    seal: bool = True,
) -> dict[str, Path]:
    """Write plots, report.json, report.md and report.html into ``run_dir``.

    Then scrubs every file of the run directory of known secrets (``secrets`` plus those
    declared in scenario.yaml / environment.json / *.properties there) and, with ``seal``,
    writes MANIFEST.sha256 last. Returns ``{"json", "md", "html", "manifest"?, <plot keys>}``.
    Raises RuntimeError if a secret remains in a binary file (it cannot be scrubbed).
    """
    run_dir = Path(run_dir)
    known = {s for s in secrets if s} | _run_dir_secrets(run_dir) | find_secrets(report)
    events = _clean_events(events, known)
    rep = prepare_report(redact(report), events)

    loss = _checker(rep, "loss")
    lost_samples = [e for e in loss.get("evidence") or [] if isinstance(e, Mapping)]
    lost_total = _num((rep.get("rpo") or {}).get("lost"))
    plots = render_plots(
        events,
        run_dir / PLOTS_DIR,
        lost=lost_samples,
        lost_total=int(lost_total) if lost_total is not None else None,
    )
    files = {
        name: desc
        for name, desc in REPORT_FILE_DESCRIPTIONS.items()
        if (run_dir / name.rstrip("/")).exists()
        or name in (REPORT_JSON, REPORT_MD, REPORT_HTML, "plots/")
        or (name == "MANIFEST.sha256" and seal)
    }
    rep["report_files"] = files

    out: dict[str, Path] = dict(plots)
    out["json"] = write_json(run_dir / REPORT_JSON, rep)
    out["md"] = write_text(run_dir / REPORT_MD, render_markdown(rep, plots))
    out["html"] = write_text(run_dir / REPORT_HTML, render_html(rep, plots))
    scrub = scrub_run_dir(run_dir, known)
    if scrub.binary_hits:
        raise RuntimeError(
            "secret value found in binary files that cannot be scrubbed: "
            + ", ".join(str(p.relative_to(run_dir)) for p in scrub.binary_hits)
        )
    if seal:
        out["manifest"] = write_manifest(run_dir)
    return out
