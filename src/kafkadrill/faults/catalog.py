"""Fault catalog: fault type names, their parameter models and target validation.

No runtime code here. Each fault family module (process.py, network.py, region.py, metadata.py)
defines its parameter models on `FaultParams` and registers them with `faults.base.fault`
(model, implementation, capabilities and plan text together); scenario validation and the
schedule look them up by name in `FAULT_TYPES`, so a scenario can only name faults that exist.
Importing `kafkadrill.faults` loads the built-in ones.

Each parameter model splits its fields in two: *target* fields say what is hit (cluster, node,
link...) and are written under `target:` in a scenario; the others are *settings* (latency_ms,
rate_kbps...) written under `params:`.

Target identities (`targets_of`) are plain strings used to reject overlapping faults:
    node:<cluster>/<id>      one broker process
    leaders:<cluster>        "the leader of some partition" - only known at run time, so at most
                             one leader.kill per cluster at a time
    flow:<source>-><target>  one MM2 flow
    connector:<flow>/<role>  one connector of a flow on Kafka Connect (source, checkpoint...)
    link:<a><-><b>/<kind>    one kind of toxic (cut, latency, bandwidth, reset) on one link
    az:<cluster>/<az>        one AZ of a cluster
    region:<region>, cluster:<name>
A region outage covers every identity inside the region; an AZ partition covers its AZ links.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError

from kafkadrill.topology import Cluster, Link, Topology


class Problem(NamedTuple):
    """One validation finding: a field path, what is wrong, and optionally how to fix it."""

    field: str
    message: str
    fix: str | None = None


def did_you_mean(word: object, options: Iterable[object]) -> str:
    """' (did you mean 'x'?)' for the closest option, or '' when nothing is close."""
    opts = [str(o) for o in options]
    match = difflib.get_close_matches(str(word), opts, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def known(options: Iterable[object]) -> str:
    opts = [str(o) for o in options]
    return "known: " + (", ".join(opts) if opts else "(none)")


# --------------------------------------------------------------------------------------------
# The base parameter model and the target helpers the families share
# --------------------------------------------------------------------------------------------


class FaultParams(BaseModel):
    """Base of every fault parameter model (extra keys rejected, immutable)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Which fields name the target; the rest are settings.
    target_fields: ClassVar[tuple[str, ...]] = ()
    # Targets that expand against the topology (a region, an AZ) cannot be named without it.
    needs_topology: ClassVar[bool] = False

    def check(self, topology: Topology) -> list[Problem]:
        """Problems with the target in this topology (field names relative, e.g. 'target.node')."""
        return []

    def normalized(self, topology: Topology) -> FaultParams:
        """Canonical form (e.g. 'west<->east' -> 'east<->west'); only valid after check()."""
        return self

    def targets(self, topology: Topology) -> set[str]:
        raise NotImplementedError

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        """Every valid target (target fields only), in a stable order, for random schedules."""
        return []

    def target_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if k in self.target_fields}

    def settings_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if k not in self.target_fields}


def check_cluster(topology: Topology, name: str, field: str = "target.cluster") -> list[Problem]:
    """A problem unless the topology has a cluster called `name` (shared by the families)."""
    names = [c.name for c in topology.clusters]
    if name in names:
        return []
    return [Problem(field, f"unknown cluster '{name}'{did_you_mean(name, names)}; {known(names)}")]


def find_cluster(topology: Topology, name: str) -> Cluster | None:
    return next((c for c in topology.clusters if c.name == name), None)


def find_link(topology: Topology, name: str) -> Link | None:
    """The topology link called `name`, accepting either orientation ('west<->east')."""
    a, sep, b = name.partition("<->")
    for link in topology.links:
        if link.name == name or (sep and (link.a, link.b) == (b.strip(), a.strip())):
            return link
    return None


LINK_KINDS = ("cut", "latency", "bandwidth", "reset")


def link_ids(link_name: str, kinds: Iterable[str] = LINK_KINDS) -> set[str]:
    return {f"link:{link_name}/{k}" for k in kinds}


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

FAULT_TYPES: dict[str, type[FaultParams]] = {}
FAULT_SUMMARIES: dict[str, str] = {}


def _register(name: str, model: type[FaultParams], summary: str = "") -> None:
    """Record a fault type's parameter model. Called only by `faults.base.fault`, which
    registers the implementation in the same step (see docs/howto/add-a-fault.md)."""
    FAULT_TYPES[name] = model
    FAULT_SUMMARIES[name] = summary or (model.__doc__ or "").strip().splitlines()[0]


def fault_names() -> list[str]:
    return list(FAULT_TYPES)


def unknown_fault_message(name: object) -> str:
    names = fault_names()
    return f"unknown fault type '{name}'{did_you_mean(name, names)}; {known(names)}"


def _loc_field(loc: tuple[Any, ...], model: type[FaultParams]) -> str:
    section = "target" if loc and loc[0] in model.target_fields else "params"
    return ".".join([section, *(str(p) for p in loc)])


def parse_fault(
    fault: str,
    target: Mapping[str, Any],
    params: Mapping[str, Any] | None = None,
    topology: Topology | None = None,
) -> tuple[FaultParams | None, list[Problem]]:
    """Validate one fault's target and settings (against `topology` when given).

    Returns the normalized parameter model (None if invalid) and every problem found, with
    fields relative to the timeline entry ('fault', 'target.node', 'params.latency_ms').
    """
    model = FAULT_TYPES.get(fault)
    if model is None:
        return None, [Problem("fault", unknown_fault_message(fault))]
    params = dict(params or {})
    problems: list[Problem] = []
    tfields = list(model.target_fields)
    sfields = [f for f in model.model_fields if f not in tfields]
    for key in target:
        if key not in tfields:
            where = " (it belongs under params)" if key in sfields else ""
            problems.append(
                Problem(
                    f"target.{key}",
                    f"unknown target field for {fault}{where}"
                    f"{did_you_mean(key, tfields)}; "
                    f"target fields: {', '.join(tfields) or '(none)'}",
                )
            )
    for key in params:
        if key not in sfields:
            where = " (it belongs under target)" if key in tfields else ""
            problems.append(
                Problem(
                    f"params.{key}",
                    f"unknown parameter for {fault}{where}"
                    f"{did_you_mean(key, sfields)}; parameters: {', '.join(sfields) or '(none)'}",
                )
            )
    if problems:
        return None, problems
    try:
        parsed = model.model_validate({**params, **target})
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(err["loc"])
            msg = err["msg"]
            if err["type"] == "missing":
                msg = (
                    f"required by {fault}; target fields: {', '.join(tfields)}"
                    if loc and loc[0] in tfields
                    else f"required by {fault}"
                )
            elif "input" in err and not isinstance(err["input"], dict):
                msg = f"{msg} (got {err['input']!r})"
            problems.append(Problem(_loc_field(loc, model), msg))
        return None, problems
    if topology is not None:
        problems = parsed.check(topology)
        if problems:
            return None, problems
        parsed = parsed.normalized(topology)
    return parsed, []


def targets_of(
    fault: str | Any,
    params: FaultParams | Mapping[str, Any] | None = None,
    topology: Topology | None = None,
) -> set[str]:
    """Target identities a fault touches (for overlap checks).

    Accepts `targets_of("node.kill", {"cluster": "primary", "node": 2}, topology)` or any object
    with `.fault` and `.params` (a ScheduledFault) as the first argument. Region outages and AZ
    partitions expand against `topology`, which they therefore require.
    """
    if not isinstance(fault, str):
        params = fault.params if params is None else params
        fault = fault.fault
    model = FAULT_TYPES.get(fault)
    if model is None:
        raise ValueError(unknown_fault_message(fault))
    parsed = params if isinstance(params, FaultParams) else model.model_validate(dict(params or {}))
    if topology is None:
        if parsed.needs_topology:
            raise ValueError(f"targets_of({fault!r}) needs the topology")
        topology = Topology("none", ())
    return parsed.targets(topology)
