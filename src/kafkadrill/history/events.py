"""The history's event types: one name (:class:`Ev`) and one definition (:data:`EVENTS`) each.

Everything about an event type comes from here: the writer's check of what it appends, the
readers' validation, the columnar families of :mod:`kafkadrill.history.frames` and the table in
docs/reference/history-format.md (:func:`event_table_markdown`; a unit test fails on drift).
Code that writes or reads events names them ``Ev.FAULT_INJECT``, never ``"fault.inject"``: a
misspelt name is an AttributeError at import, a misspelt string a silent miss.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "EVENTS",
    "HOT_TYPES",
    "Ev",
    "EventSpec",
    "FieldSpec",
    "event_table_markdown",
    "validate_event",
]


class Ev(StrEnum):
    """The name of every event type. Members are ``str`` (``Ev.SEND_OK == "send.ok"``), so they
    compare, hash and serialise as the on-disk text; the order is the format doc's table order."""

    RUN_START = "run.start"
    RUN_END = "run.end"
    WAN = "wan"
    TOPOLOGY = "topology"
    PHASE = "phase"
    SEND_INVOKE = "send.invoke"
    SEND_OK = "send.ok"
    SEND_FAIL = "send.fail"
    SEND_UNKNOWN = "send.unknown"
    TXN = "txn"
    COPY_TXN = "copy.txn"
    RECV = "recv"
    READER = "reader"
    POLL = "poll"
    ASSIGN = "assign"
    COMMIT = "commit"
    REDIRECT = "redirect"
    FAULT_INJECT = "fault.inject"
    FAULT_VERIFY = "fault.verify"
    FAULT_HEAL = "fault.heal"
    RUNBOOK_STEP = "runbook.step"
    RUNBOOK_TRIGGER = "runbook.trigger"
    COMMIT_FAIL = "commit.fail"
    CONSUME_ERROR = "consume.error"
    CLIENT_ERROR = "client.error"
    WORKER_CLOCK = "worker.clock"
    PRODUCER_FATAL = "producer.fatal"
    HEAL_RESTART = "heal.restart"
    PROBE = "probe"
    ADAPTER_EXEC = "adapter.exec"
    RUN_APPROVAL = "run.approval"
    STEADY_STATE = "steady_state"
    GUARD_TRIP = "guard.trip"
    ACL_GRANT = "acl.grant"
    BACKUP = "backup"
    SCHEMA_REGISTER = "schema.register"
    SCHEMAS = "schemas"
    FINAL_READ_START = "final_read.start"
    FINAL_READ_END = "final_read.end"


# One definition per event type: the writer rejects what does not match (a programming error),
# readers reject histories that do not match (bad input), and the table in
# docs/reference/history-format.md is generated from it (a unit test fails on drift).

#: JSON kinds a field may hold. ``int`` excludes bools; ``float`` accepts ints (JSON has one
#: number type); ``any`` is free-form (details, targets).
_KIND_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list,),
    "object": (dict,),
    "any": (object,),
}


@dataclass(frozen=True)
class FieldSpec:
    """One field of an event: its JSON kinds, whether null is allowed, whether it may be left
    out (``optional``: later additions; readers treat absent as null), and its meaning."""

    name: str
    kinds: tuple[str, ...]
    doc: str = ""
    nullable: bool = False
    optional: bool = False
    values: tuple[str, ...] = ()  # closed set of values, if any

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.nullable or self.optional
        if isinstance(value, bool) and "bool" not in self.kinds and "any" not in self.kinds:
            return False
        if not any(isinstance(value, _KIND_TYPES[k]) for k in self.kinds):
            return False
        return not self.values or value in self.values

    def describe(self) -> str:
        """This field as Markdown for the format doc's table of event types."""
        kinds = " \\| ".join(self.kinds) + (" \\| null" if self.nullable else "")
        text = f"`{self.name}` ({kinds}"
        if self.values:
            text += ": " + " \\| ".join(f"`{v}`" for v in self.values)
        text += ", optional" if self.optional else ""
        text += f"; {self.doc}" if self.doc else ""
        return text + ")"


@dataclass(frozen=True)
class EventSpec:
    """An event type: its fields; ``extra`` allows more fields (of ``extra_kinds``)."""

    type: Ev
    fields: tuple[FieldSpec, ...]
    doc: str = ""
    extra: bool = False
    extra_doc: str = ""
    required: frozenset[str] = field(init=False, repr=False)  # the writer must pass these
    allowed: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        req = frozenset(f.name for f in self.fields if not f.optional)
        object.__setattr__(self, "required", req)
        object.__setattr__(self, "allowed", frozenset(f.name for f in self.fields))


def _f(name: str, *kinds: str, doc: str = "", **kw: Any) -> FieldSpec:
    return FieldSpec(name, kinds, doc, **kw)


_SEND = (_f("producer", "str"), _f("id", "str"), _f("cluster", "str"), _f("topic", "str"))
_READER = (_f("reader", "str"), _f("group", "str"), _f("cluster", "str"))

#: Every event type kafkadrill writes, in the order of the format doc's table.
EVENTS: dict[str, EventSpec] = {
    s.type: s
    for s in (
        EventSpec(
            Ev.RUN_START,
            (
                _f("run_id", "str"),
                _f("scenario", "str"),
                _f("seed", "int"),
                _f("runtime", "str", optional=True, nullable=True, doc="runtime name"),
            ),
        ),
        EventSpec(
            Ev.RUN_END,
            (
                _f("status", "str", values=("completed", "error", "interrupted")),
                _f("error", "str", nullable=True),
            ),
            doc="last event; missing when a crash cut the history",
        ),
        EventSpec(
            Ev.WAN,
            (
                _f("links", "list", doc="per link: link, latency_ms, jitter_ms, bandwidth_kbps"),
                _f("in_force", "list", doc="what the runtime applied, one line per link"),
            ),
            doc="the baseline WAN, once the topology is up (none: no event)",
        ),
        EventSpec(
            Ev.TOPOLOGY,
            (
                _f("reused", "bool", doc="a topology kept from an earlier drill served this one"),
                _f("drill", "int", doc="1 for the drill that started the topology"),
                _f(
                    "started_in",
                    "str",
                    doc="run directory of that drill (every drill has its own copy of the "
                    "topology's logs in logs/)",
                ),
                _f("reset", "list", doc="evidence of the verified reset (reused only)"),
                _f("why_fresh", "str", nullable=True, doc="why a fresh topology was started"),
                _f("reset_seconds", "float", nullable=True),
            ),
            doc="how the drill got its topology, once it is up",
        ),
        EventSpec(
            Ev.PHASE,
            (_f("name", "str", doc="`setup`, `steady`, `faults`, `heal`, `final_read`, ..."),),
        ),
        EventSpec(Ev.SEND_INVOKE, (*_SEND, _f("key", "str", nullable=True), _f("size", "int"))),
        EventSpec(
            Ev.SEND_OK,
            (
                *_SEND,
                _f("partition", "int"),
                _f(
                    "offset",
                    "int",
                    nullable=True,
                    doc="null when the delivery report carried no offset (librdkafka can ack so)",
                ),
                _f("ts", "int", doc="record timestamp, ms, from the delivery report"),
            ),
        ),
        EventSpec(Ev.SEND_FAIL, (*_SEND, _f("error", "str")), doc="definite failure: not written"),
        EventSpec(
            Ev.SEND_UNKNOWN,
            (*_SEND, _f("error", "str")),
            doc="timeout / connection lost: outcome unknown",
        ),
        EventSpec(
            Ev.TXN,
            (
                _f("producer", "str"),
                _f("cluster", "str"),
                _f("topic", "str"),
                _f("txn", "int", doc="the producer's transaction number, 0 up"),
                _f("first", "int", doc="seq of its first message (ids `<producer>:<seq>`)"),
                _f("last", "int", doc="seq of its last message, inclusive (first - 1: empty)"),
                _f("decision", "str", values=("commit", "abort")),
                _f(
                    "outcome",
                    "str",
                    values=("ok", "fail", "unknown"),
                    doc="of the commit or abort call: unknown when it timed out",
                ),
                _f("error", "str", nullable=True),
            ),
            doc="a transactional producer ended a transaction; its messages' `send.*` events "
            "came before it. Committed (commit, ok): acknowledged; commit unknown: unknown; "
            "otherwise aborted (never acknowledged, see history-format.md)",
        ),
        EventSpec(
            Ev.COPY_TXN,
            (
                _f("copier", "str", doc="the member, `<group>-<i>`"),
                _f("group", "str", doc="its consumer group"),
                _f("cluster", "str", doc="where it read and wrote"),
                _f("from_topic", "str", doc="the configured input (read with its MM2 copies)"),
                _f("to_topic", "str"),
                _f("txn", "int", doc="the member's transaction number, 0 up"),
                _f(
                    "ranges",
                    "list",
                    doc="`[topic, partition, first_offset, last_offset]` items: the input "
                    "records the transaction copied",
                ),
                _f("records", "int"),
                _f(
                    "outcome",
                    "str",
                    values=("ok", "fail", "unknown"),
                    doc="ok: committed with its input offsets; fail: aborted; unknown: the "
                    "commit call timed out or hit a fatal error",
                ),
                _f("error", "str", nullable=True),
            ),
            doc="a read-process-write copier ended one transaction (its output records and "
            "its consumer offsets commit or abort together)",
        ),
        EventSpec(
            Ev.RECV,
            (
                _f("reader", "str"),
                _f("group", "str", nullable=True, doc="null for the final reader"),
                _f("final", "bool"),
                _f("cluster", "str"),
                _f("topic", "str"),
                _f("partition", "int"),
                _f("offset", "int"),
                _f("ts", "int", doc="ms"),
                _f("id", "str", nullable=True, doc="null for records not written by kafkadrill"),
                _f("hdr", "object", nullable=True, doc="the `kd-*` headers, str -> str"),
            ),
        ),
        EventSpec(
            Ev.READER,
            (
                *_READER,
                _f("isolation", "str", values=("read_committed", "read_uncommitted")),
            ),
            doc="a group consumer started (and after each redirect); absent: read_committed, "
            "librdkafka's default",
        ),
        EventSpec(
            Ev.POLL,
            (
                _f("reader", "str"),
                _f("cluster", "str"),
                _f("instance", "int", doc="the reader's client, 1 up; a redirect starts the next"),
                _f(
                    "ranges",
                    "list",
                    doc="`[topic, partition, first_offset, last_offset, records]` items",
                ),
            ),
            doc="one batch a group consumer's poll returned; its `recv` events follow it",
        ),
        EventSpec(
            Ev.ASSIGN,
            (
                *_READER,
                _f("instance", "int"),
                _f("change", "str", values=("assign", "revoke", "lost")),
                _f("partitions", "list", doc="`[topic, partition]` items the callback named"),
            ),
            doc="a rebalance callback of a group consumer (incremental with cooperative "
            "protocols, the whole assignment with eager ones)",
        ),
        EventSpec(
            Ev.COMMIT,
            (
                *_READER,
                _f("offsets", "list", doc="`[topic, partition, offset]` items"),
                _f("mode", "str", values=("sync", "async"), optional=True),
            ),
        ),
        EventSpec(
            Ev.REDIRECT,
            (
                _f("client", "str"),
                _f("role", "str", values=("producer", "consumer", "copier")),
                _f("group", "str", nullable=True, doc="null for producers"),
                _f("from_cluster", "str"),
                _f("to_cluster", "str"),
            ),
        ),
        EventSpec(
            Ev.FAULT_INJECT,
            (
                _f("fault_id", "str"),
                _f("fault", "str", doc="type name"),
                _f("target", "any", nullable=True),
                _f("params", "object"),
                _f("origin", "str", nullable=True, optional=True, doc="where it was scheduled"),
            ),
        ),
        EventSpec(
            Ev.FAULT_VERIFY,
            (_f("fault_id", "str"), _f("ok", "bool"), _f("detail", "any", nullable=True)),
        ),
        EventSpec(
            Ev.FAULT_HEAL,
            (_f("fault_id", "str"), _f("ok", "bool"), _f("detail", "any", nullable=True)),
        ),
        EventSpec(
            Ev.RUNBOOK_STEP,
            (
                _f("runbook", "str"),
                _f("step", "str"),
                _f("status", "str", values=("start", "ok", "fail")),
                _f("detail", "any", nullable=True),
            ),
        ),
        EventSpec(
            Ev.RUNBOOK_TRIGGER,
            (
                _f("runbook", "str"),
                _f(
                    "fault_id",
                    "str",
                    nullable=True,
                    doc="the fault that started it; null for a timed trigger",
                ),
                _f("at", "float", doc="seconds into the fault phase"),
            ),
        ),
        EventSpec(
            Ev.COMMIT_FAIL, (*_READER, _f("error", "str")), doc="a commit the broker refused"
        ),
        EventSpec(
            Ev.CONSUME_ERROR,
            (*_READER, _f("error", "str")),
            doc="an error delivered by poll (not a record)",
        ),
        EventSpec(
            Ev.CLIENT_ERROR,
            (_f("client", "str"), _f("error", "str")),
            doc="a workload client thread crashed (the drill becomes an error)",
        ),
        EventSpec(
            Ev.WORKER_CLOCK,
            (
                _f("worker", "str", doc="`w<N>`"),
                _f("at", "str", values=("start", "end"), doc="when the exchange ran"),
                _f(
                    "samples",
                    "list",
                    doc="`[t_sent, t_worker, t_received]` per ping: the runner's `t` when it "
                    "asked, the worker's `t` in its answer, the runner's `t` when it arrived",
                ),
                _f(
                    "shared",
                    "bool",
                    doc="the worker stamps on the runner's clock (same host: offset 0)",
                ),
            ),
            doc="a clock exchange with a workload worker: the bounds of its clock's offset",
        ),
        EventSpec(
            Ev.PRODUCER_FATAL,
            (_f("producer", "str"), _f("cluster", "str"), _f("error", "str")),
            doc="a cluster refused a producer's principal fatally (e.g. no producer id for an "
            "idempotent producer that may write nothing there): it restarts its client",
        ),
        EventSpec(
            Ev.HEAL_RESTART,
            (_f("node", "str"),),
            doc="a node found dead at the end of the run and restarted before the final read",
        ),
        EventSpec(
            Ev.PROBE,
            (_f("name", "str", doc="e.g. `replication_lag`"),),
            extra=True,
            extra_doc="plus measurement fields (`replication_lag`: `flow`, `topic`, "
            "`source_end`, `target_end`, `lag` (null: a cluster did not answer), `mm2_alive`, "
            "`txn` (true: the topic is written in transactions, so `lag` also counts the control "
            "records MM2 never copies; absent otherwise), "
            "and about every 2 s on the flow's first probe `heartbeat_age_s`: seconds since the "
            "newest record of the flow's `heartbeats` topic on its target, null if unreadable; "
            "`lso`, about every 2 s per cluster and topic written in transactions (or its copy): "
            "`cluster`, `topic`, `open`: `[partition, last_stable_offset, high_watermark]` "
            "items of the partitions an open transaction holds back, `gap`: their summed "
            "distance (both null: the cluster did not answer), `txn_timeout_ms`: the "
            "producers' transaction timeout)",
        ),
        EventSpec(
            Ev.ADAPTER_EXEC,
            (
                _f("adapter", "str", values=("command", "toxiproxy", "connect", "admin")),
                _f("operation", "str", doc="e.g. `node_kill`, `link_cut`, `flow_stop`"),
                _f("target", "str", nullable=True, doc="e.g. `primary/2`, `east<->west`"),
                _f("command", "str", doc="argv as a shell would show it, or `METHOD url`"),
                _f("ok", "bool"),
                _f("exit", "int", nullable=True, doc="exit code / HTTP status; null: none"),
                _f("seconds", "float"),
                _f("output", "str", nullable=True, doc="stdout+stderr or body, truncated"),
            ),
            doc="what an external runtime's adapter ran (secrets never shown)",
        ),
        EventSpec(
            Ev.RUN_APPROVAL,
            (
                _f("operator", "str", nullable=True),
                _f("approved_by", "str", nullable=True),
                _f(
                    "plan_sha256",
                    "str",
                    nullable=True,
                    doc="hash of plan.txt in the run dir, the plan text after the secret policy",
                ),
                _f("confirmed", "bool", doc="explicit confirmation (--yes or interactive)"),
            ),
            doc="who started the drill and which plan was approved",
        ),
        EventSpec(
            Ev.STEADY_STATE,
            (
                _f("ok", "bool"),
                _f("checks", "list", doc="`{name, ok, detail}` items"),
            ),
            doc="the check before any fault; not ok: the drill is aborted before injecting",
        ),
        EventSpec(
            Ev.GUARD_TRIP,
            (_f("guard", "str"), _f("reason", "str")),
            doc="a safety guard aborted the drill (faults are healed, verdict never PASS)",
        ),
        EventSpec(
            Ev.ACL_GRANT,
            (
                _f("cluster", "str", doc="where the ACL was created"),
                _f("principal", "str", doc="the application principal (without `User:`)"),
                _f("resource", "str", doc="`topic` or `group`"),
                _f("name", "str", doc="the topic or group (run-scoped)"),
                _f("operations", "list", doc="the operations ALLOWed"),
                _f("origin", "str", doc="`start` (topology.acls) or `failover` (grant_acls)"),
            ),
            doc="kafkadrill created an application principal's ACL (topology.principals)",
        ),
        EventSpec(
            Ev.BACKUP,
            (
                _f("source", "str", doc="the cluster backed up"),
                _f("topics", "list", doc="the source's topics the backup covers"),
                _f("store", "str", doc="where the segments are (the run directory's backup/)"),
                _f("flush_seconds", "float", doc="Connect's offset flush: the backup frequency"),
                _f(
                    "segments",
                    "list",
                    doc="`[topic, partition, first_offset, last_offset, written_wall_ms]` "
                    "items: every complete segment when the final read began",
                ),
                _f("alive", "bool", doc="the backup's worker was running then"),
            ),
            doc="what the backup (topology.backup) held before the final read",
        ),
        EventSpec(
            Ev.SCHEMA_REGISTER,
            (
                _f("cluster", "str", doc="whose registry was asked"),
                _f("subject", "str"),
                _f("version", "int", doc="the application's schema version, 1 up"),
                _f("id", "int", nullable=True, doc="the id the registry gave; null: refused"),
                _f("schema_sha", "str", doc="sha256 of the schema text, 12 hex digits"),
                _f("error", "str", nullable=True),
            ),
            doc="the application registered a new version of its value schema "
            "(topology.schema_registry); its producers write the id in `kd-schema-id`",
        ),
        EventSpec(
            Ev.SCHEMAS,
            (
                _f(
                    "registries",
                    "object",
                    doc="cluster -> {id: schema_sha or null}: what each registry resolved "
                    "every id registered in the run to, before the final read",
                ),
            ),
            doc="what every schema registry held at the end (topology.schema_registry)",
        ),
        EventSpec(
            Ev.FINAL_READ_START,
            (
                _f("clusters", "list"),
                _f("authoritative", "str", doc="the cluster clients end up on"),
                _f("topics", "object", doc="cluster -> list of topics"),
                _f(
                    "isolation",
                    "str",
                    values=("read_committed", "read_uncommitted"),
                    optional=True,
                    doc="the final reader's (absent: read_committed)",
                ),
                _f(
                    "authoritative_for",
                    "object",
                    optional=True,
                    doc="origin cluster -> the cluster that must hold its acked ids "
                    "(active-active: each origin itself); others use `authoritative`",
                ),
                _f(
                    "aggregates",
                    "list",
                    optional=True,
                    doc="clusters expected to hold every origin's acked ids (several origins)",
                ),
                _f(
                    "union_groups",
                    "object",
                    optional=True,
                    doc="union consumer group -> its cluster: each must have received every "
                    "acked id of every origin",
                ),
                _f(
                    "derived",
                    "object",
                    optional=True,
                    doc="cluster -> list of topics written by copiers (and MM2's copies of "
                    "them): read too, kept apart from the workload's records (`derived` frame)",
                ),
            ),
        ),
        EventSpec(
            Ev.FINAL_READ_END,
            (
                _f("cluster", "str"),
                _f("records", "int"),
                _f("complete", "bool", doc="reached the end offsets captured at start"),
                _f(
                    "log_start",
                    "list",
                    nullable=True,
                    optional=True,
                    doc="`[topic, partition, offset]` items: log start offsets above 0 when the "
                    "read began (records below were deleted, e.g. by retention); null: not read",
                ),
                _f(
                    "derived",
                    "object",
                    optional=True,
                    doc="`{records, complete}` of the read of this cluster's derived topics "
                    "(not counted in `records`)",
                ),
            ),
        ),
    )
}


# A name without a definition (or the reverse) would let the writer and the doc table drift.
if list(EVENTS) != list(Ev):
    raise RuntimeError("kafkadrill.history.events: Ev and EVENTS must list the same event types")

#: Event families that are numerous (one per message) and are loaded columnar by pyarrow.
#: Plain ``str`` values: pyarrow builds a value set from them.
HOT_TYPES: tuple[str, ...] = tuple(
    e.value for e in (Ev.SEND_INVOKE, Ev.SEND_OK, Ev.SEND_FAIL, Ev.SEND_UNKNOWN, Ev.RECV)
)


def _field_problem(spec: EventSpec, keys: Iterable[str]) -> str | None:
    """Why ``keys`` are not the fields of ``spec`` (None when they are)."""
    keys = set(keys)
    missing = sorted(spec.required - keys)
    unknown = [] if spec.extra else sorted(keys - spec.allowed)
    if not (missing or unknown):
        return None
    parts = [f"missing field(s) {missing}"] if missing else []
    parts += [f"unknown field(s) {unknown}"] if unknown else []
    return f"{spec.type}: {'; '.join(parts)} (fields: {sorted(spec.allowed)})"


def validate_event(event: Mapping[str, Any]) -> str | None:
    """Why ``event`` (as read from a history) does not match the format; None when it does.

    Readers' rules (docs/reference/history-format.md): the four envelope keys with their types,
    a known event type, every non-null field of its definition present with its type (absent
    counts as null), unknown fields ignored.
    """
    seq, t, wall, typ = (event.get(k) for k in ("seq", "t", "wall", "type"))
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return f"'seq' must be an integer >= 0, got {seq!r}"
    for name, v in (("t", t), ("wall", wall)):
        if not isinstance(v, int | float) or isinstance(v, bool):
            return f"{name!r} must be a number, got {v!r}"
    if not isinstance(typ, str):
        return f"'type' must be a string, got {typ!r}"
    spec = EVENTS.get(typ)
    if spec is None:
        return f"unknown event type {typ!r} (known: {', '.join(EVENTS)})"
    for f in spec.fields:
        v = event.get(f.name)
        if not f.accepts(v) and not (v is None and f.nullable):
            want = " | ".join(f.kinds) + (" or null" if f.nullable else "")
            if f.values:
                want = " | ".join(map(repr, f.values))
            what = "missing" if f.name not in event else f"{v!r}"
            return f"{typ}: field {f.name!r} must be {want}, got {what}"
    return None


def event_table_markdown() -> str:
    """The "Event types" table of docs/reference/history-format.md, from :data:`EVENTS`."""
    rows = ["| type | fields |", "|------|--------|"]
    for spec in EVENTS.values():
        text = ", ".join(f.describe() for f in spec.fields)
        if spec.extra_doc:
            text += f" {spec.extra_doc}"
        if spec.doc:
            text += f" — {spec.doc}"
        rows.append(f"| `{spec.type}` | {text} |")
    return "\n".join(rows) + "\n"
