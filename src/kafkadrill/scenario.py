"""Scenario files: load, validate and resolve a drill description (YAML -> `Scenario`).

Everything a drill needs is checked here, before anything starts: a bad scenario raises one
ScenarioError that names the file, every bad field path (`timeline[2].fault`), the YAML line and
what would be valid. The format is documented field by field in docs/reference/scenario-format.md.

Validation runs in two passes: pydantic checks shape and types (every model forbids unknown keys,
so a typo is an error with a "did you mean" suggestion), then `_semantic_problems` checks what
needs the whole scenario (targets exist in the topology, RF fits the cluster, faults do not
overlap, runbook times fit the duration...).
"""

from __future__ import annotations

import hashlib
import re
import types
import typing
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from kafkadrill import __version__
from kafkadrill.errors import ScenarioError
from kafkadrill.faults import catalog
from kafkadrill.faults.catalog import Problem, did_you_mean, known
from kafkadrill.faults.schedule import (
    ENTRY_TAGS,
    FixedFault,
    RandomFaults,
    ScheduledFault,
    TimelineEntry,
    plan_timeline,
)
from kafkadrill.topology.model import TopicSpec, Topology, two_dc

__all__ = [
    "ANOMALIES",
    "Scenario",
    "ScenarioValidationError",
    "apply_overrides",
    "load_scenario",
    "redact",
    "scenario_json_schema",
]

REDACTED = "***REDACTED***"
# expected_anomalies name checkers (kafkadrill.checkers._common.CHECKER_NAMES; a unit test keeps
# the two in step): a FAIL from a listed checker is reported but allowed.
AnomalyName = Literal[
    "loss", "unknown", "duplicates", "ordering", "timestamps", "offsets", "recovery"
]
ANOMALIES: tuple[str, ...] = typing.get_args(AnomalyName)
CLUSTERS = ("primary", "dr")  # the built-in two-dc topology
_NAME_RE = r"^[a-z0-9][a-z0-9-]*$"


class ScenarioValidationError(ScenarioError):
    """A ScenarioError that also carries every individual problem (for tools and tests)."""

    def __init__(
        self,
        message: str,
        problems: list[Problem],
        *,
        file: str | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        # With several problems the header names no single field (each line names its own), but
        # .field still points at the first for programs.
        super().__init__(message, file=file, field=field if len(problems) == 1 else None, fix=fix)
        self.field = field
        self.problems = problems


# --------------------------------------------------------------------------------------------
# Small types
# --------------------------------------------------------------------------------------------


def _config_str(v: Any) -> Any:
    # Kafka properties are strings; YAML gives ints/bools. Render them the way Kafka spells them.
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return v


ConfigValue = Annotated[str, BeforeValidator(_config_str)]
ConfigMap = dict[str, ConfigValue]


def _version_str(v: Any) -> Any:
    # `kafka_version: 3.9` parses as a float in YAML; a version is a string.
    return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------------------------
# Topology
# --------------------------------------------------------------------------------------------


class TopicModel(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9._-]{1,200}$")
    partitions: int = Field(default=3, ge=1, le=1000)
    replication_factor: int = Field(default=3, ge=1)
    config: ConfigMap = Field(
        default_factory=dict, description="topic configs, e.g. min.insync.replicas"
    )


class NodeCounts(_Model):
    primary: int = Field(default=3, ge=1, le=9)
    dr: int = Field(default=3, ge=1, le=9)


class AzMap(_Model):
    """AZ names per cluster; nodes are placed round-robin (node 1 in the first AZ...)."""

    primary: list[str] | None = None
    dr: list[str] | None = None


class ClusterConfigs(_Model):
    """Per-cluster broker settings, layered over the shared `broker_config`."""

    primary: ConfigMap = Field(default_factory=dict)
    dr: ConfigMap = Field(default_factory=dict)


class TopologySpec(_Model):
    builtin: Literal["two-dc"] = "two-dc"
    kafka_version: Annotated[str | None, BeforeValidator(_version_str)] = None
    nodes: NodeCounts = Field(default_factory=NodeCounts)
    azs: AzMap = Field(default_factory=AzMap)
    broker_config: ConfigMap = Field(default_factory=dict)
    cluster_config: ClusterConfigs = Field(default_factory=ClusterConfigs)
    topics: list[TopicModel] = Field(
        default_factory=list, description="created on primary; empty = one 'orders' topic"
    )
    mm2: ConfigMap = Field(default_factory=dict, description="MM2 properties, primary->dr flow")

    @model_validator(mode="after")
    def _default_topics(self) -> TopologySpec:
        if not self.topics:
            rf = min(3, self.nodes.primary, self.nodes.dr)
            self.topics = [
                TopicModel(
                    name="orders",
                    partitions=3,
                    replication_factor=rf,
                    config={"min.insync.replicas": str(min(2, rf))},
                )
            ]
        return self


# --------------------------------------------------------------------------------------------
# Workload
# --------------------------------------------------------------------------------------------


def _acks(v: Any) -> Any:
    # YAML `acks: 1` is an int and Kafka also spells all as -1; normalise to "all" | "1" | "0".
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    return {"-1": "all", "all": "all", "1": "1", "0": "0"}.get(s, v)


class ProducerSpec(_Model):
    count: int = Field(default=1, ge=1, le=32)
    rate_per_second: float | None = Field(
        default=200, gt=0, description="per producer; null = as fast as possible"
    )
    acks: Annotated[Literal["all", "1", "0"], BeforeValidator(_acks)] = "all"
    enable_idempotence: bool | None = Field(default=None, description="null = true iff acks=all")
    linger_ms: int = Field(default=5, ge=0)
    retries: int | None = Field(default=None, ge=0, description="null = client default")
    delivery_timeout_ms: int = Field(default=30000, gt=0)
    request_timeout_ms: int = Field(default=10000, gt=0)
    message_bytes: int = Field(default=200, ge=64, le=1_000_000)
    topic: str = "orders"
    site: str = "east"
    cluster: str = "primary"
    config: ConfigMap = Field(default_factory=dict, description="extra client properties")

    @model_validator(mode="after")
    def _resolve_idempotence(self) -> ProducerSpec:
        if self.enable_idempotence is None:
            self.enable_idempotence = self.acks == "all"
        return self


class ConsumerSpec(_Model):
    group: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    count: int = Field(default=1, ge=1, le=32)
    topic: str = "orders"
    commit_interval_ms: int = Field(default=1000, ge=0, description="0 = commit after each poll")
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    site: str = "east"
    cluster: str = "primary"
    config: ConfigMap = Field(default_factory=dict, description="extra client properties")


class WorkloadSpec(_Model):
    producers: ProducerSpec = Field(default_factory=ProducerSpec)
    consumers: list[ConsumerSpec] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Runbooks, final read, objectives
# --------------------------------------------------------------------------------------------


class FailoverTrigger(_Model):
    """When the failover runbook starts watching primary health: at a time or with a fault."""

    at: float | None = Field(default=None, ge=0)
    on_fault: int | str | None = Field(
        default=None, description="timeline index or fault type (first such fault)"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> FailoverTrigger:
        if (self.at is None) == (self.on_fault is None):
            raise ValueError(
                "give exactly one of 'at' (seconds) or 'on_fault' (timeline index or fault type)"
            )
        return self


class FailoverRunbook(_Model):
    trigger: FailoverTrigger
    detect_failing_seconds: float = Field(
        default=5, ge=0, description="primary health probe must fail this long before failover"
    )
    probe_interval_seconds: float = Field(default=1, gt=0)
    stop_mm2: bool = Field(default=True, description="stop the flow first (no split brain)")
    translate_offsets: bool = Field(default=True, description="reset DR groups from checkpoints")
    from_cluster: str = Field(default="primary", alias="from")
    to_cluster: str = Field(default="dr", alias="to")


class FailbackRunbook(_Model):
    at: float = Field(ge=0, description="seconds into the fault phase")
    catch_up_timeout_seconds: float = Field(default=60, gt=0)
    translate_offsets: bool = True


class Runbooks(_Model):
    failover: FailoverRunbook | None = None
    failback: FailbackRunbook | None = None


class FinalRead(_Model):
    timeout_seconds: float = Field(default=60, gt=0)


class Objectives(_Model):
    """What the drill must show; null = measured and reported, not judged."""

    max_lost: int | None = Field(default=0, ge=0)
    max_rpo_seconds: float | None = Field(default=None, ge=0)
    max_rto_seconds: float | None = Field(default=None, ge=0)
    max_read_unavailable_seconds: float | None = Field(default=None, ge=0)
    max_duplicates: int | None = Field(default=None, ge=0)
    max_consumer_rereads: int | None = Field(default=None, ge=0)
    max_skipped: int | None = Field(default=0, ge=0)
    require_ordering: bool = False
    require_timestamps_preserved: bool = True
    expected_anomalies: list[AnomalyName] = Field(
        default_factory=list, description="checkers whose FAIL is reported but allowed"
    )


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------


def _derived_seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") & 0x7FFFFFFF


class Scenario(_Model):
    """A validated drill. Build with `load_scenario` / `Scenario.from_dict`; treat as read-only."""

    name: str = Field(pattern=_NAME_RE, max_length=80, description="used in report paths")
    description: str = ""
    seed: int | None = Field(default=None, description="null = derived from name")
    duration_seconds: float = Field(default=60, gt=0, le=86400)
    warmup_seconds: float = Field(default=5, ge=0)
    topology: TopologySpec = Field(default_factory=TopologySpec)
    workload: WorkloadSpec = Field(default_factory=WorkloadSpec)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    runbooks: Runbooks = Field(default_factory=Runbooks)
    final_read: FinalRead = Field(default_factory=FinalRead)
    objectives: Objectives = Field(default_factory=Objectives)

    _source: str | None = PrivateAttr(default=None)
    _schedule: list[ScheduledFault] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _resolve_seed(self) -> Scenario:
        if self.seed is None:
            self.seed = _derived_seed(self.name)
        return self

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls, data: Any, *, source: str | None = None, overrides: dict[str, Any] | None = None
    ) -> Scenario:
        """Validate a parsed scenario (both passes); raise ScenarioError naming `source`."""
        return _build(data, source=source, overrides=overrides, lines={})

    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from, if any."""
        return self._source

    # -- derived views ------------------------------------------------------------------------

    def to_topology(self) -> Topology:
        t = self.topology
        topics = tuple(
            TopicSpec(x.name, x.partitions, x.replication_factor, dict(x.config)) for x in t.topics
        )
        topo = two_dc(
            t.nodes.primary,
            t.nodes.dr,
            name=self.name,
            primary_azs=tuple(t.azs.primary) if t.azs.primary else None,
            dr_azs=tuple(t.azs.dr) if t.azs.dr else None,
            topics=topics,
            broker_config=dict(t.broker_config),
            mm2=dict(t.mm2),
            kafka_version=t.kafka_version,
        )
        per_cluster = t.cluster_config.model_dump()
        clusters = tuple(
            replace(c, broker_config={**c.broker_config, **per_cluster.get(c.name, {})})
            for c in topo.clusters
        )
        return replace(topo, clusters=clusters)

    def schedule(self) -> list[ScheduledFault]:
        """The concrete fault schedule (random entries drawn with `seed`), sorted by `at`."""
        if self._schedule is None:
            faults, problems = plan_timeline(
                self.timeline,
                seed=self.seed or 0,
                topology=self.to_topology(),
                duration_seconds=self.duration_seconds,
            )
            if problems:
                raise _error(problems, self._source, {})
            self._schedule = faults
        return list(self._schedule)

    def failover_watch_at(self) -> float | None:
        """Seconds into the fault phase when the failover runbook starts probing, or None."""
        fo = self.runbooks.failover
        if fo is None:
            return None
        if fo.trigger.at is not None:
            return fo.trigger.at
        sf = _trigger_fault(fo.trigger.on_fault, self.schedule())
        return None if sf is None else sf.at

    def resolved_yaml(self) -> str:
        """The fully resolved scenario (defaults filled in, secrets redacted) as YAML.

        Loading it again gives the same scenario; the expanded schedule is appended as comments
        so the run directory shows exactly what was injected.
        """
        data = redact(self.model_dump(mode="json", by_alias=True))
        head = [
            f"# resolved by kafkadrill {__version__}"
            + (f" from {self._source}" if self._source else ""),
            f"# seed {self.seed}; times are seconds after warmup",
        ]
        body = yaml.safe_dump(
            data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100
        )
        try:
            sched = self.schedule()
        except ScenarioError:
            sched = []
        tail = (
            ["# schedule:"]
            + [
                f"#   at {f.at:g}s for {f.duration:g}s: {f.fault} {_inline_params(f.params)}"
                f"  <- {f.origin}"
                for f in sched
            ]
            if sched
            else []
        )
        return "\n".join(head) + "\n" + body + ("\n".join(tail) + "\n" if tail else "")


def _inline_params(params: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in params.items()) + "}"


def _trigger_fault(
    on_fault: int | str | None, schedule: list[ScheduledFault]
) -> ScheduledFault | None:
    for sf in schedule:  # sorted by time: the first match is the earliest
        if (isinstance(on_fault, int) and sf.index == on_fault) or sf.fault == on_fault:
            return sf
    return None


# --------------------------------------------------------------------------------------------
# Redaction
# --------------------------------------------------------------------------------------------

_SECRET_RE = re.compile(r"(password|secret|sasl\.jaas\.config|credential|token)", re.I)


def redact(data: Any) -> Any:
    """Copy of `data` with every value under a secret-looking key replaced by ***REDACTED***."""
    if isinstance(data, dict):
        return {
            k: (
                REDACTED
                if isinstance(k, str) and _SECRET_RE.search(k) and v is not None
                else redact(v)
            )
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data


# --------------------------------------------------------------------------------------------
# YAML reading (with line numbers)
# --------------------------------------------------------------------------------------------

Loc = tuple[str | int, ...]  # a path into the scenario data


def _read_yaml(path: Path) -> tuple[Any, dict[Loc, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _not_found(path) from None
    except IsADirectoryError:
        raise ScenarioError(
            "is a directory, not a scenario file", file=str(path), fix="pass a .yaml file"
        ) from None
    except UnicodeDecodeError as e:
        raise ScenarioError(f"not UTF-8 text ({e})", file=str(path)) from None
    return _parse_yaml(text, str(path))


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[Loc, int]]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        if node is not None:
            _index_lines(node, (), lines, source)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = str(e.problem or e.context or "syntax error")
        if e.context and e.context_mark is not None and e.problem:
            # The parser notices late: an unclosed '{' on line 4 is reported on line 5.
            what += f" ({e.context} started at line {e.context_mark.line + 1})"
        raise ScenarioError(
            f"invalid YAML{where}: {what}",
            file=source,
            fix="check indentation, colons and quotes on that line",
        ) from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"invalid YAML: {e}", file=source) from None
    finally:
        loader.dispose()
    return data, lines


def _index_lines(node: yaml.Node, path: Loc, out: dict[Loc, int], source: str) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for knode, vnode in node.value:
            key = knode.value
            line = knode.start_mark.line + 1
            if key in seen:
                # PyYAML silently keeps the last duplicate; a repeated key is always a mistake.
                raise ScenarioError(
                    f"duplicate key '{key}' at line {line} (first at line {seen[key]})",
                    file=source,
                    field=_fmt_path((*path, key)),
                    fix="merge the two entries",
                )
            seen[key] = line
            out[(*path, key)] = line
            _index_lines(vnode, (*path, key), out, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            _index_lines(item, (*path, i), out, source)


def _not_found(path: Path) -> ScenarioError:
    fix = "check the path"
    parent = path.parent
    if parent.is_dir():
        names = sorted(p.name for p in parent.glob("*.yaml"))
        if names:
            fix += f"{did_you_mean(path.name, names)}; files in {parent}: {', '.join(names)}"
    return ScenarioError("scenario file not found", file=str(path), fix=fix)


# --------------------------------------------------------------------------------------------
# Overrides (`kafkadrill sweep --set workload.producers.acks=1`)
# --------------------------------------------------------------------------------------------


def _unwrap(tp: Any) -> Any:
    """Strip Annotated / Optional wrappers down to the type that holds data."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for n, f in model.model_fields.items():
        if key in (n, f.alias):
            return f.annotation
    return None


def _split_key(key: str) -> list[str | int]:
    # "timeline[2].at" and "timeline.2.at" both mean element 2 of timeline.
    parts: list[str | int] = []
    for seg in key.split("."):
        m = re.fullmatch(r"([^\[\]]*)((?:\[\d+\])*)", seg)
        if not m:
            parts.append(seg)
            continue
        if m.group(1):
            parts.append(int(m.group(1)) if m.group(1).isdigit() else m.group(1))
        parts += [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
    return parts


def _override_value(v: Any) -> Any:
    if not isinstance(v, str):
        return v
    try:
        return yaml.safe_load(v)  # "1" -> 1, "null" -> None, "[a, b]" -> list
    except yaml.YAMLError:
        return v


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Apply dotted-key overrides to raw scenario data (before validation); returns a copy.

    Keys follow the scenario schema, so config maps take the rest of the key as one property
    name: `topology.broker_config.min.insync.replicas=2`. String values are parsed as YAML.
    Raises ScenarioError (field = the override key) for a path the schema does not have.
    """
    import copy

    out = copy.deepcopy(data)
    for key, raw in overrides.items():
        _set_path(out, _split_key(key), _override_value(raw), key)
    return out


def _set_path(data: Any, parts: list[str | int], value: Any, key: str) -> None:
    tp: Any = Scenario
    node = data
    i = 0
    while i < len(parts):
        part = parts[i]
        last = i == len(parts) - 1
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if _is_model(tp):
            if not isinstance(part, str) or _field_by_key(tp, part) is None:
                names = _field_names(tp)
                raise ScenarioError(
                    f"override: no field '{part}' here{did_you_mean(part, names)}; "
                    f"valid: {', '.join(names)}",
                    field=key,
                )
            sub = _field_by_key(tp, part)
            if last:
                node[part] = value
                return
            nxt = _unwrap(sub)
            if not isinstance(node.get(part), dict | list):
                node[part] = [] if typing.get_origin(nxt) is list else {}
            node, tp = node[part], sub
        elif origin is list:
            if not isinstance(part, int) or not isinstance(node, list) or part > len(node):
                size = len(node) if isinstance(node, list) else 0
                raise ScenarioError(
                    f"override: '{part}' is not an index of this list (it has {size} entries)",
                    field=key,
                )
            if part == len(node):
                node.append({})
            if last:
                node[part] = value
                return
            item_tp = typing.get_args(tp)[0]
            if _unwrap(item_tp) is not item_tp or typing.get_origin(_unwrap(item_tp)) in (
                Union,
                types.UnionType,
            ):
                # The timeline's union: pick the member from the data, as validation will.
                item = node[part]
                item_tp = (
                    RandomFaults if isinstance(item, dict) and "random" in item else FixedFault
                )
            node, tp = node[part], item_tp
        elif origin is dict:
            val_tp = _unwrap(typing.get_args(tp)[1])
            if typing.get_origin(val_tp) is dict and not last:
                # dict of dicts (random params per fault type, whose names hold dots): the
                # longest prefix that is an existing key or a fault type names the entry.
                rest = [str(p) for p in parts[i:]]
                for j in range(len(rest) - 1, 0, -1):
                    name = ".".join(rest[:j])
                    if name in node or name in catalog.FAULT_TYPES or j == 1:
                        node = node.setdefault(name, {})
                        tp = val_tp
                        i += j
                        break
                continue
            # A property map: the rest of the key is one property name ("min.insync.replicas").
            node[".".join(str(p) for p in parts[i:])] = value
            return
        else:
            raise ScenarioError(f"override: '{part}' goes below a plain value", field=key)
        i += 1


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

_TYPE_NAMES = {"int", "str", "float", "bool", "none", "list", "dict"}


def _fmt_path(loc: Loc) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    out: list[str | int] = []
    for i, p in enumerate(loc):
        # Drop discriminator tags (timeline[i].<tag>) and union-member names pydantic adds.
        if (
            i > 0
            and isinstance(loc[i - 1], int)
            and loc[:1] == ("timeline",)
            and i == 2
            and p in ENTRY_TAGS
        ):
            continue
        if isinstance(p, str) and (
            p in _TYPE_NAMES or p.startswith(("function-", "literal[")) or "[" in p
        ):
            continue
        out.append(p)
    return tuple(out)


def _model_at(raw_loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class at a raw pydantic error location (tags still in), if any."""
    tp: Any = Scenario
    for p in raw_loc:
        tp = _unwrap(tp)
        if typing.get_origin(tp) in (Union, types.UnionType):
            tp = ENTRY_TAGS.get(str(p))  # the timeline union: the tag names the member
            continue
        if _is_model(tp):
            tp = _field_by_key(tp, str(p))
        elif typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
        if tp is None:
            return None
    tp = _unwrap(tp)
    return tp if _is_model(tp) else None


def _pydantic_problems(err: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for e in err.errors():
        raw_loc = tuple(e["loc"])
        loc = _clean_loc(raw_loc)
        msg = e["msg"].removeprefix("Value error, ")
        fix = None
        if e["type"] == "extra_forbidden" and loc:
            parent = _model_at(raw_loc[:-1])
            names = _field_names(parent) if parent else []
            msg = f"unknown key '{loc[-1]}'{did_you_mean(loc[-1], names)}"
            if names:
                msg += f"; valid keys: {', '.join(names)}"
        elif e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] == "union_tag_invalid" or e["type"] == "union_tag_not_found":
            msg = "a timeline entry is either {at, fault, target, duration} or {random: {...}}"
        elif (
            "input" in e and e["type"] != "value_error" and not isinstance(e["input"], dict | list)
        ):
            msg = f"{msg} (got {e['input']!r})"
        if (
            loc
            and loc[0] == "timeline"
            and len(loc) >= 3
            and loc[2] == "fault"
            and "unknown fault type" in msg
        ):
            fix = "use one of the fault types above"
        key = (_fmt_path(loc), msg)
        if key not in seen:
            seen.add(key)
            problems.append(Problem(_fmt_path(loc), msg, fix))
    return problems


def _parse_field(field: str) -> Loc:
    return tuple(_split_key(field)) if field else ()


def _line_for(field: str, lines: dict[Loc, int]) -> int | None:
    loc = _parse_field(field)
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _error(
    problems: list[Problem], source: str | None, lines: dict[Loc, int]
) -> ScenarioValidationError:
    def where(p: Problem) -> str:
        line = _line_for(p.field, lines)
        return f" (line {line})" if line else ""

    # Report in file order: easier to fix top to bottom.
    problems = sorted(problems, key=lambda p: _line_for(p.field, lines) or 1 << 30)
    if len(problems) == 1:
        p = problems[0]
        return ScenarioValidationError(
            p.message + where(p), problems, file=source, field=p.field or None, fix=p.fix
        )
    body = "\n".join(
        f"  - {p.field or '(top level)'}{where(p)}: {p.message}"
        + (f" (fix: {p.fix})" if p.fix else "")
        for p in problems
    )
    return ScenarioValidationError(
        f"{len(problems)} problems:\n{body}", problems, file=source, field=problems[0].field or None
    )


# --------------------------------------------------------------------------------------------
# Semantic checks (need the whole scenario)
# --------------------------------------------------------------------------------------------


def _int_or_none(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def _topology_problems(s: Scenario) -> list[Problem]:
    t = s.topology
    probs: list[Problem] = []
    sizes = {"primary": t.nodes.primary, "dr": t.nodes.dr}
    regions = {"primary": "east", "dr": "west"}
    all_azs: dict[str, str] = {}
    for cname in CLUSTERS:
        azs = getattr(t.azs, cname)
        if azs is None:
            continue
        field = f"topology.azs.{cname}"
        if not azs:
            probs.append(Problem(field, "empty AZ list", "omit it for a single-site cluster"))
        for az in azs:
            if not re.fullmatch(_NAME_RE, az) or az in regions.values():
                probs.append(
                    Problem(
                        field,
                        f"invalid AZ name '{az}': lower-case [a-z0-9-], not "
                        "a region name (east, west)",
                        f"e.g. {regions[cname]}-a",
                    )
                )
            elif az in all_azs:
                probs.append(Problem(field, f"AZ '{az}' is listed twice (also in {all_azs[az]})"))
            all_azs.setdefault(az, cname)
        if len(azs) > sizes[cname]:
            probs.append(
                Problem(
                    field,
                    f"{len(azs)} AZs but only {sizes[cname]} nodes: every AZ needs a node",
                    f"raise topology.nodes.{cname}",
                )
            )

    clusters_cfg = {c: {**t.broker_config, **getattr(t.cluster_config, c)} for c in CLUSTERS}
    for cname in CLUSTERS:
        cfg = clusters_cfg[cname]
        for key, val in cfg.items():
            own = key in getattr(t.cluster_config, cname)
            field = (
                f"topology.cluster_config.{cname}.{key}" if own else f"topology.broker_config.{key}"
            )
            n = _int_or_none(val)
            if (
                (key.endswith("replication.factor") or key == "min.insync.replicas")
                and n is not None
                and n > sizes[cname]
            ):
                probs.append(
                    Problem(
                        field,
                        f"{key}={n} is larger than cluster '{cname}' ({sizes[cname]} nodes)",
                        f"use <= {sizes[cname]} or raise topology.nodes.{cname}",
                    )
                )
    mm2_rf = _int_or_none(t.mm2.get("replication.factor"))
    if mm2_rf is not None and mm2_rf > sizes["dr"]:
        probs.append(
            Problem(
                "topology.mm2.replication.factor",
                f"{mm2_rf} is larger than cluster 'dr' ({sizes['dr']} nodes)",
                f"use <= {sizes['dr']}",
            )
        )

    seen: set[str] = set()
    for i, topic in enumerate(t.topics):
        here = f"topology.topics[{i}]"
        if topic.name in seen:
            probs.append(Problem(f"{here}.name", f"topic '{topic.name}' is defined twice"))
        seen.add(topic.name)
        if topic.replication_factor > sizes["primary"]:
            probs.append(
                Problem(
                    f"{here}.replication_factor",
                    f"replication_factor {topic.replication_factor} is larger than "
                    f"cluster 'primary' ({sizes['primary']} nodes)",
                    f"use replication_factor <= {sizes['primary']} or raise topology.nodes.primary",
                )
            )
        own = topic.config.get("min.insync.replicas")
        min_isr = _int_or_none(
            own if own is not None else clusters_cfg["primary"].get("min.insync.replicas")
        )
        if own is not None and min_isr is None:
            probs.append(Problem(f"{here}.config.min.insync.replicas", f"not an integer: {own!r}"))
        elif min_isr is not None and min_isr > topic.replication_factor:
            field = (
                f"{here}.config.min.insync.replicas"
                if own is not None
                else "topology.broker_config.min.insync.replicas"
            )
            probs.append(
                Problem(
                    field,
                    f"min.insync.replicas {min_isr} is larger than topic '{topic.name}' "
                    f"replication_factor {topic.replication_factor}: acks=all writes could never "
                    "succeed",
                    f"use min.insync.replicas <= {topic.replication_factor}",
                )
            )
    return probs


def _client_problems(s: Scenario, topo: Topology) -> list[Problem]:
    probs: list[Problem] = []
    topics = {c.name: [t.name for t in c.topics] for c in topo.clusters}
    for f in topo.flows:  # MM2 DefaultReplicationPolicy names remote topics "<source>.<topic>"
        topics.setdefault(f.target, [])
        topics[f.target] += [f"{f.source}.{t}" for t in topics.get(f.source, [])]
    clients: list[tuple[str, Any]] = [("workload.producers", s.workload.producers)]
    clients += [(f"workload.consumers[{i}]", c) for i, c in enumerate(s.workload.consumers)]
    for here, c in clients:
        if c.cluster not in topics:
            probs.append(
                Problem(
                    f"{here}.cluster",
                    f"unknown cluster '{c.cluster}'"
                    f"{did_you_mean(c.cluster, topics)}; {known(topics)}",
                )
            )
        elif c.topic not in topics[c.cluster]:
            probs.append(
                Problem(
                    f"{here}.topic",
                    f"cluster '{c.cluster}' has no topic "
                    f"'{c.topic}'{did_you_mean(c.topic, topics[c.cluster])}; "
                    f"{known(topics[c.cluster])}",
                    "declare it under topology.topics",
                )
            )
        if c.site not in topo.sites:
            probs.append(
                Problem(
                    f"{here}.site",
                    f"unknown site '{c.site}'"
                    f"{did_you_mean(c.site, topo.sites)}; {known(topo.sites)}",
                )
            )
    p = s.workload.producers
    if p.enable_idempotence and p.acks != "all":
        probs.append(
            Problem(
                "workload.producers.enable_idempotence",
                f"idempotence requires acks=all (acks is {p.acks})",
                "set enable_idempotence: false or acks: all",
            )
        )
    if p.delivery_timeout_ms < p.linger_ms + p.request_timeout_ms:
        probs.append(
            Problem(
                "workload.producers.delivery_timeout_ms",
                "must be >= linger_ms + request_timeout_ms (the client refuses "
                f"otherwise): {p.delivery_timeout_ms} < "
                f"{p.linger_ms + p.request_timeout_ms}",
            )
        )
    groups = [c.group for c in s.workload.consumers]
    for i, g in enumerate(groups):
        if g in groups[:i]:
            probs.append(
                Problem(
                    f"workload.consumers[{i}].group",
                    f"group '{g}' is used twice",
                    "use count for several members of one group",
                )
            )
    return probs


def _runbook_problems(s: Scenario, topo: Topology, schedule: list[ScheduledFault]) -> list[Problem]:
    probs: list[Problem] = []
    dur = s.duration_seconds
    fo, fb = s.runbooks.failover, s.runbooks.failback
    names = [c.name for c in topo.clusters]
    watch: float | None = None
    if fo is not None:
        for key, val in (("from", fo.from_cluster), ("to", fo.to_cluster)):
            if val not in names:
                probs.append(
                    Problem(
                        f"runbooks.failover.{key}",
                        f"unknown cluster '{val}'{did_you_mean(val, names)}; {known(names)}",
                    )
                )
        if fo.from_cluster == fo.to_cluster:
            probs.append(Problem("runbooks.failover.to", "'to' must differ from 'from'"))
        clusters_ok = not probs  # a flow check on an unknown cluster would only repeat it
        flows = [f.name for f in topo.flows]
        flow = f"{fo.from_cluster}->{fo.to_cluster}"
        if fo.translate_offsets and flow not in flows and clusters_ok:
            probs.append(
                Problem(
                    "runbooks.failover.translate_offsets",
                    f"no replication flow {flow} to translate offsets from; {known(flows)}",
                    "set translate_offsets: false",
                )
            )
        trig = fo.trigger
        n_before = len(probs)
        if trig.at is not None:
            watch = trig.at
            if trig.at >= dur:
                probs.append(
                    Problem(
                        "runbooks.failover.trigger.at",
                        f"{trig.at:g} s is not before duration_seconds ({dur:g})",
                        f"use at < {dur:g} or raise duration_seconds",
                    )
                )
        elif isinstance(trig.on_fault, int):
            if not 0 <= trig.on_fault < len(s.timeline):
                probs.append(
                    Problem(
                        "runbooks.failover.trigger.on_fault",
                        f"no timeline entry {trig.on_fault} (timeline has "
                        f"{len(s.timeline)} entries, 0..{len(s.timeline) - 1})",
                    )
                )
        elif trig.on_fault not in catalog.FAULT_TYPES:
            probs.append(
                Problem(
                    "runbooks.failover.trigger.on_fault",
                    catalog.unknown_fault_message(trig.on_fault),
                )
            )
        if trig.on_fault is not None and len(probs) == n_before:
            sf = _trigger_fault(trig.on_fault, schedule)
            if sf is None:
                probs.append(
                    Problem(
                        "runbooks.failover.trigger.on_fault",
                        f"no {trig.on_fault} fault in the timeline",
                        "add it to the timeline or use trigger.at",
                    )
                )
            else:
                watch = sf.at
        if watch is not None and watch + fo.detect_failing_seconds > dur:
            probs.append(
                Problem(
                    "runbooks.failover.detect_failing_seconds",
                    f"failover would start at {watch + fo.detect_failing_seconds:g} "
                    f"s, after duration_seconds ({dur:g})",
                    "lower detect_failing_seconds or raise duration_seconds",
                )
            )
    if fb is not None:
        if fo is None:
            probs.append(
                Problem(
                    "runbooks.failback",
                    "failback needs a failover runbook",
                    "add runbooks.failover",
                )
            )
        if fb.at > dur:
            probs.append(
                Problem(
                    "runbooks.failback.at",
                    f"{fb.at:g} s is after duration_seconds ({dur:g})",
                    f"use at <= {dur:g} or raise duration_seconds",
                )
            )
        if fo is not None and watch is not None and fb.at <= watch + fo.detect_failing_seconds:
            probs.append(
                Problem(
                    "runbooks.failback.at",
                    f"{fb.at:g} s is not after the failover "
                    f"({watch + fo.detect_failing_seconds:g} s)",
                )
            )
        if fo is not None and fo.from_cluster in names:
            region = topo.cluster(fo.from_cluster).region
            for sf in schedule:
                if (
                    sf.fault == "region.outage"
                    and sf.params.get("region") == region
                    and sf.end > fb.at
                ):
                    probs.append(
                        Problem(
                            "runbooks.failback.at",
                            f"{fb.at:g} s is before {sf.origin} ({sf.describe()}) heals at "
                            f"{sf.end:g} s: there is nothing to fail back to",
                            f"use at >= {sf.end:g}",
                        )
                    )
    return probs


def _objective_problems(s: Scenario) -> list[Problem]:
    o = s.objectives
    probs: list[Problem] = []
    # An expected anomaly is reported but allowed, yet an objective that governs the same checker
    # decides for it: a zero limit there would silently override the expectation.
    strict = {
        "loss": ("max_lost", o.max_lost == 0),
        "duplicates": ("max_duplicates", o.max_duplicates == 0),
        "ordering": ("require_ordering", o.require_ordering),
        "timestamps": ("require_timestamps_preserved", o.require_timestamps_preserved),
    }
    for name in o.expected_anomalies:
        if name in strict and strict[name][1]:
            fld = strict[name][0]
            fix = f"set {fld}: false" if fld.startswith("require") else f"set {fld}: null"
            probs.append(
                Problem(
                    f"objectives.{fld}",
                    f"'{name}' is an expected anomaly but {fld} forbids it",
                    fix,
                )
            )
    return probs


def _semantic_problems(s: Scenario) -> list[Problem]:
    probs = _topology_problems(s)
    if any(p.field.startswith("topology.azs") for p in probs):
        return probs  # bad AZs make a bad topology: every later check would mislead
    topo = s.to_topology()
    probs += _client_problems(s, topo)
    schedule, tprobs = plan_timeline(
        s.timeline, seed=s.seed or 0, topology=topo, duration_seconds=s.duration_seconds
    )
    probs += tprobs
    probs += _runbook_problems(s, topo, schedule)
    probs += _objective_problems(s)
    if not probs:
        s._schedule = schedule
    return probs


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def _build(
    data: Any, *, source: str | None, overrides: dict[str, Any] | None, lines: dict[Loc, int]
) -> Scenario:
    if data is None:
        raise ScenarioError("empty scenario", file=source, fix="at least give a name")
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario is a mapping of keys, got {type(data).__name__}",
            file=source,
            fix="start with `name: my-drill`",
        )
    if overrides:
        try:
            data = apply_overrides(data, overrides)
        except ScenarioError as e:
            raise ScenarioError(
                e.message, file=source, field=e.field, fix=e.fix or "check the --set key"
            ) from None
        # Overridden values did not come from the file: drop their line numbers.
        for key in overrides:
            loc = tuple(_split_key(key))
            for p in [p for p in lines if p[: len(loc)] == loc]:
                del lines[p]
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as e:
        raise _error(_pydantic_problems(e), source, lines) from None
    scn._source = source
    problems = _semantic_problems(scn)
    if problems:
        raise _error(problems, source, lines)
    return scn


def load_scenario(path: Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, override and validate a scenario file; raise ScenarioError on any problem.

    `overrides` maps dotted keys to values (`{"workload.producers.acks": "1"}`), applied before
    validation; string values are parsed as YAML scalars.
    """
    path = Path(path)
    data, lines = _read_yaml(path)
    return _build(data, source=str(path), overrides=overrides, lines=lines)


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of the scenario format (for editors and `kafkadrill schema`)."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "kafkadrill scenario"
    schema["description"] = (
        "A kafkadrill drill: topology, workload, fault timeline, runbooks "
        "and objectives. See docs/reference/scenario-format.md."
    )
    # Fault type names live in a registry (extensible), so add them at export time.
    defs = schema.get("$defs", {})
    if "FixedFault" in defs:
        defs["FixedFault"]["properties"]["fault"]["enum"] = catalog.fault_names()
    if "RandomSpec" in defs:
        defs["RandomSpec"]["properties"]["faults"]["items"]["enum"] = catalog.fault_names()
    return schema
