"""Fault catalog: fault type names, their parameter models and target validation.

No runtime code here. Runtime fault implementations (process.py, network.py, region.py) look a
fault up by name in `FAULT_TYPES`; scenario validation uses the same registry so a scenario can
only name faults that exist. Fault types are registered with `faults.base.fault` (model and
implementation together); importing `kafkadrill.faults` loads the built-in ones.

Each parameter model splits its fields in two: *target* fields say what is hit (cluster, node,
link...) and are written under `target:` in a scenario; the others are *settings* (latency_ms,
rate_kbps...) written under `params:`.

Target identities (`targets_of`) are plain strings used to reject overlapping faults:
    node:<cluster>/<id>      one broker process
    leaders:<cluster>        "the leader of some partition" - only known at run time, so at most
                             one leader.kill per cluster at a time
    flow:<source>-><target>  one MM2 flow
    link:<a><-><b>/<kind>    one kind of toxic (cut, latency, bandwidth, reset) on one link
    az:<cluster>/<az>        one AZ of a cluster
    region:<region>, cluster:<name>
A region outage covers every identity inside the region; an AZ partition covers its AZ links.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
# Parameter models
# --------------------------------------------------------------------------------------------


class FaultParams(BaseModel):
    """Base of every fault parameter model (extra keys rejected, immutable)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Which fields name the target; the rest are settings.
    target_fields: ClassVar[tuple[str, ...]] = ()

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


def _check_cluster(topology: Topology, name: str, field: str = "target.cluster") -> list[Problem]:
    names = [c.name for c in topology.clusters]
    if name in names:
        return []
    return [Problem(field, f"unknown cluster '{name}'{did_you_mean(name, names)}; {known(names)}")]


def _cluster(topology: Topology, name: str) -> Cluster | None:
    return next((c for c in topology.clusters if c.name == name), None)


class NodeParams(FaultParams):
    """node.kill / node.stop / node.pause: one broker process."""

    target_fields: ClassVar[tuple[str, ...]] = ("cluster", "node")
    cluster: str
    node: int

    def check(self, topology: Topology) -> list[Problem]:
        problems = _check_cluster(topology, self.cluster)
        c = _cluster(topology, self.cluster)
        if c is not None and self.node not in [n.node_id for n in c.nodes]:
            ids = [n.node_id for n in c.nodes]
            problems.append(
                Problem("target.node", f"cluster '{c.name}' has no node {self.node}; {known(ids)}")
            )
        return problems

    def targets(self, topology: Topology) -> set[str]:
        return {f"node:{self.cluster}/{self.node}"}

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [{"cluster": c.name, "node": n.node_id} for c in topology.clusters for n in c.nodes]


class LeaderParams(FaultParams):
    """leader.kill: SIGKILL whichever node leads the partition when the fault fires."""

    target_fields: ClassVar[tuple[str, ...]] = ("cluster", "topic", "partition")
    cluster: str
    topic: str
    partition: int = Field(default=0, ge=0)

    def check(self, topology: Topology) -> list[Problem]:
        problems = _check_cluster(topology, self.cluster)
        c = _cluster(topology, self.cluster)
        if c is None:
            return problems
        topics = {t.name: t for t in c.topics}
        t = topics.get(self.topic)
        if t is None:
            problems.append(
                Problem(
                    "target.topic",
                    f"cluster '{c.name}' has no topic '{self.topic}'"
                    f"{did_you_mean(self.topic, topics)}; {known(topics)}",
                )
            )
        elif self.partition >= t.partitions:
            problems.append(
                Problem(
                    "target.partition",
                    f"topic '{t.name}' has partitions 0..{t.partitions - 1}, not {self.partition}",
                )
            )
        return problems

    def targets(self, topology: Topology) -> set[str]:
        return {f"leaders:{self.cluster}"}

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [
            {"cluster": c.name, "topic": t.name, "partition": p}
            for c in topology.clusters
            for t in c.topics
            for p in range(t.partitions)
        ]


class Mm2Params(FaultParams):
    """mm2.kill: SIGKILL the MirrorMaker 2 process of a flow (it is restarted at heal)."""

    target_fields: ClassVar[tuple[str, ...]] = ("flow",)
    flow: str = "primary->dr"

    def check(self, topology: Topology) -> list[Problem]:
        names = [f.name for f in topology.flows]
        if self.flow in names:
            return []
        return [
            Problem(
                "target.flow",
                f"unknown flow '{self.flow}'{did_you_mean(self.flow, names)}; {known(names)}",
            )
        ]

    def targets(self, topology: Topology) -> set[str]:
        return {f"flow:{self.flow}"}

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [{"flow": f.name} for f in topology.flows]


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


class LinkResetParams(FaultParams):
    """link.reset: reset (RST) every connection on the link while active; both directions."""

    target_fields: ClassVar[tuple[str, ...]] = ("link",)
    # Each link fault kind is its own proxy toxic, so different kinds may overlap on one link
    # (latency + bandwidth = a degraded WAN); two of the same kind would fight over one toxic.
    link_kind: ClassVar[str] = "reset"
    link: str

    def check(self, topology: Topology) -> list[Problem]:
        if find_link(topology, self.link) is not None:
            return []
        names = [lk.name for lk in topology.links]
        return [
            Problem(
                "target.link",
                f"unknown link '{self.link}'{did_you_mean(self.link, names)}; {known(names)}",
            )
        ]

    def normalized(self, topology: Topology) -> FaultParams:
        link = find_link(topology, self.link)
        return self if link is None else self.model_copy(update={"link": link.name})

    def targets(self, topology: Topology) -> set[str]:
        link = find_link(topology, self.link)
        return link_ids(link.name if link else self.link, [self.link_kind])

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [{"link": lk.name} for lk in topology.links]


class LinkParams(LinkResetParams):
    """Common to directional link.* faults: a link and a direction (one identity per link and
    kind, whatever the direction: a proxy toxic is per link)."""

    target_fields: ClassVar[tuple[str, ...]] = ("link", "direction")
    direction: str = "both"  # "both", "<a>-><b>" or "<b>-><a>" (sites of the link)

    def check(self, topology: Topology) -> list[Problem]:
        problems = super().check(topology)
        link = find_link(topology, self.link)
        if link is None:
            return problems
        valid = ["both", f"{link.a}->{link.b}", f"{link.b}->{link.a}"]
        if self.direction not in valid:
            problems.append(
                Problem(
                    "target.direction",
                    f"invalid direction '{self.direction}' for link '{link.name}'"
                    f"{did_you_mean(self.direction, valid)}; valid: {', '.join(valid)}",
                )
            )
        return problems

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [{"link": lk.name, "direction": "both"} for lk in topology.links]


class LinkCutParams(LinkParams):
    """link.cut: drop every byte on the link (per direction)."""

    link_kind: ClassVar[str] = "cut"


class LinkLatencyParams(LinkParams):
    """link.latency: add latency (and jitter) to every byte on the link."""

    link_kind: ClassVar[str] = "latency"

    latency_ms: int = Field(default=100, gt=0)
    jitter_ms: int = Field(default=0, ge=0)


class LinkBandwidthParams(LinkParams):
    """link.bandwidth: cap the link's throughput."""

    link_kind: ClassVar[str] = "bandwidth"

    rate_kbps: int = Field(default=1024, gt=0)


class AzParams(FaultParams):
    """az.partition: cut one AZ of a multi-AZ cluster off from the others."""

    target_fields: ClassVar[tuple[str, ...]] = ("cluster", "az", "direction")
    cluster: str
    az: str
    direction: Literal["both", "isolate-in", "isolate-out"] = "both"

    def check(self, topology: Topology) -> list[Problem]:
        problems = _check_cluster(topology, self.cluster)
        c = _cluster(topology, self.cluster)
        if c is None:
            return problems
        if not c.multi_az:
            problems.append(
                Problem(
                    "target.cluster",
                    f"cluster '{c.name}' has a single AZ; az.partition needs a multi-AZ cluster",
                    f"set topology.azs.{c.name} to a list of AZ names",
                )
            )
        elif self.az not in c.azs:
            problems.append(
                Problem(
                    "target.az",
                    f"cluster '{c.name}' has no AZ '{self.az}'"
                    f"{did_you_mean(self.az, c.azs)}; {known(c.azs)}",
                )
            )
        return problems

    def targets(self, topology: Topology) -> set[str]:
        ids = {f"az:{self.cluster}/{self.az}"}
        for lk in topology.links:
            if self.az in (lk.a, lk.b):
                ids |= link_ids(lk.name)
        return ids

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [
            {"cluster": c.name, "az": az, "direction": "both"}
            for c in topology.clusters
            if c.multi_az
            for az in c.azs
        ]


class RegionParams(FaultParams):
    """region.outage: every node, MM2 process and link of a region goes dark at once."""

    target_fields: ClassVar[tuple[str, ...]] = ("region",)
    region: str

    def check(self, topology: Topology) -> list[Problem]:
        if self.region in topology.regions:
            return []
        return [
            Problem(
                "target.region",
                f"unknown region '{self.region}'"
                f"{did_you_mean(self.region, topology.regions)}; {known(topology.regions)}",
            )
        ]

    def targets(self, topology: Topology) -> set[str]:
        ids = {f"region:{self.region}"}
        sites = {self.region}
        clusters = topology.cluster_in(self.region)
        for c in clusters:
            ids |= {f"cluster:{c.name}", f"leaders:{c.name}"}
            ids |= {f"node:{c.name}/{n.node_id}" for n in c.nodes}
            ids |= {f"az:{c.name}/{az}" for az in c.azs}
            sites |= set(c.azs)
        for lk in topology.links:
            if {lk.a, lk.b} & sites:
                ids |= link_ids(lk.name)
        names = {c.name for c in clusters}
        # MM2 for a flow runs in the target's region and reads from the source: either side down
        # stops it.
        ids |= {f"flow:{f.name}" for f in topology.flows if {f.source, f.target} & names}
        return ids

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [{"region": r} for r in topology.regions]


class SiteParams(FaultParams):
    """site.outage: every node of one or more sites (AZs / datacenters of a multi-site
    cluster) dies at once, with the applications running there."""

    target_fields: ClassVar[tuple[str, ...]] = ("cluster", "sites")
    cluster: str
    sites: list[str] = Field(min_length=1, max_length=9)

    def check(self, topology: Topology) -> list[Problem]:
        problems = _check_cluster(topology, self.cluster)
        c = _cluster(topology, self.cluster)
        if c is None:
            return problems
        if not c.multi_az:
            problems.append(
                Problem(
                    "target.cluster",
                    f"cluster '{c.name}' sits in one site; site.outage needs a multi-site "
                    "cluster (use region.outage or node.kill)",
                    f"set topology.azs.{c.name} to a list of site names",
                )
            )
            return problems
        for site in self.sites:
            if site not in c.azs:
                problems.append(
                    Problem(
                        "target.sites",
                        f"cluster '{c.name}' has no site '{site}'"
                        f"{did_you_mean(site, c.azs)}; {known(c.azs)}",
                    )
                )
        if len(set(self.sites)) != len(self.sites):
            problems.append(Problem("target.sites", "a site is listed twice"))
        elif not problems and set(self.sites) == set(c.azs):
            problems.append(
                Problem(
                    "target.sites",
                    f"every site of cluster '{c.name}' would be lost: nothing is left to measure",
                    "leave at least one site, or use region.outage",
                )
            )
        return problems

    def targets(self, topology: Topology) -> set[str]:
        c = _cluster(topology, self.cluster)
        nodes = [n for n in (c.nodes if c else ()) if n.site in self.sites]
        ids = {f"az:{self.cluster}/{s}" for s in self.sites}
        ids |= {f"node:{self.cluster}/{n.node_id}" for n in nodes}
        ids.add(f"leaders:{self.cluster}")
        for lk in topology.links:
            if {lk.a, lk.b} & set(self.sites):
                ids |= link_ids(lk.name)
        return ids

    @classmethod
    def candidates(cls, topology: Topology) -> list[dict[str, Any]]:
        return [
            {"cluster": c.name, "sites": [az]}
            for c in topology.clusters
            if c.multi_az
            for az in c.azs
        ]


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
        if isinstance(parsed, RegionParams | AzParams):
            raise ValueError(f"targets_of({fault!r}) needs the topology")
        topology = Topology("none", ())
    return parsed.targets(topology)
