"""Network faults: cross-site link cut/latency/bandwidth/reset, AZ partition.

Each acts through the runtime's link operations (Toxiproxy on every cross-site path locally)
and proves itself with Kafka requests through the affected paths: a cut path is silent, a
latency toxic shows in the round trip. Direction matters: "a->b" acts on bytes from a to b.

Each fault type is registered once, below its implementation: parameter model, capabilities
and plan text (what `kafkadrill plan` prints for it on the external runtime) together.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from kafkadrill.faults.base import FaultContext, PlanOps, PlanText, fault
from kafkadrill.faults.catalog import (
    FaultParams,
    Problem,
    check_cluster,
    did_you_mean,
    find_cluster,
    find_link,
    known,
    link_ids,
)
from kafkadrill.runtimes.base import Cap, LinkEffect
from kafkadrill.topology import Topology

# --------------------------------------------------------------------------------------------
# Parameter models
# --------------------------------------------------------------------------------------------


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
    needs_topology: ClassVar[bool] = True  # its identities include the AZ's links
    cluster: str
    az: str
    direction: Literal["both", "isolate-in", "isolate-out"] = "both"

    def check(self, topology: Topology) -> list[Problem]:
        problems = check_cluster(topology, self.cluster)
        c = find_cluster(topology, self.cluster)
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


# --------------------------------------------------------------------------------------------
# Implementations and registrations
# --------------------------------------------------------------------------------------------


def link_plan(toxic: str) -> PlanText:
    """Plan text of a link fault: Toxiproxy effect `toxic` ("cut" or a toxic type) on every
    proxy of the link, with the fault's settings."""

    def plan(p: LinkResetParams, ops: PlanOps) -> list[str]:
        direction = getattr(p, "direction", "both")  # link.reset acts on both directions
        return ops.link_ops(p.link, direction, toxic, p.settings_dict())

    return plan


class LinkFault:
    """Applies one link effect; verifies it is in force (and, for faults that silence the
    paths, that Kafka requests across them fail); restores it at heal."""

    silences = False  # a cut or a reset: every probe across the effect must fail

    # A link fault's params model: LinkResetParams or a subclass (direction, settings), or
    # AzParams; subclasses narrow the annotation.
    params: Any

    def __init__(self, ctx: FaultContext, params: Any) -> None:
        self.ctx = ctx
        self.params = params
        self.direction = str(getattr(params, "direction", "both"))
        self.effect: LinkEffect | None = None

    @property
    def sites(self) -> tuple[str, str]:
        a, _, b = str(self.params.link).partition("<->")
        return a.strip(), b.strip()

    def apply(self) -> LinkEffect:
        raise NotImplementedError

    def inject(self) -> str:
        self.effect = self.apply()
        return self.effect.detail

    def in_force(self) -> tuple[bool, str]:
        assert self.effect is not None
        return self.ctx.runtime.link_in_force(self.effect)

    def verify(self) -> tuple[bool, str]:
        ok, detail = self.in_force()
        if not self.silences:
            return ok, detail
        silent, sdetail = self.paths_silent()
        return ok and silent, f"{detail}; {sdetail}"

    def paths_silent(self) -> tuple[bool, str]:
        """Every probe address across the effect fails a Kafka request."""
        assert self.effect is not None
        probes = self.effect.probes
        answered = [a for a in probes if self.ctx.runtime.ping(a, 1.5) is not None]
        ok = bool(probes) and not answered
        return ok, (
            f"Kafka requests through {len(probes)} cut path(s) fail"
            if ok
            else f"still answering: {answered or 'no paths to probe'}"
        )

    def heal(self) -> str:
        assert self.effect is not None
        done = self.ctx.runtime.link_restore(self.effect)
        probes = self.effect.probes
        ok = sum(self.ctx.runtime.ping(a, 3.0) is not None for a in probes)
        return f"{done}; {ok}/{len(probes)} paths answer again"


@fault(
    "link.cut",
    LinkCutParams,
    needs={Cap.LINK_CUT},
    summary="drop all traffic on a link (per direction)",
    plan=link_plan("cut"),
)
class LinkCut(LinkFault):
    silences = True

    def apply(self) -> LinkEffect:
        return self.ctx.runtime.link_cut(*self.sites, self.direction)


@fault(
    "link.latency",
    LinkLatencyParams,
    needs={Cap.LINK_TOXIC},
    summary="add latency/jitter on a link",
    plan=link_plan("latency"),
)
class LinkLatency(LinkFault):
    params: LinkLatencyParams

    def apply(self) -> LinkEffect:
        attrs = {"latency": self.params.latency_ms, "jitter": self.params.jitter_ms}
        return self.ctx.runtime.link_toxic(*self.sites, self.direction, "latency", attrs)

    def verify(self) -> tuple[bool, str]:
        ok, detail = self.in_force()
        assert self.effect is not None
        want = self.params.latency_ms - self.params.jitter_ms
        probes = self.effect.probes
        rtt = self.ctx.runtime.ping(probes[0], 10.0) if probes else None
        measured = rtt is not None and rtt * 1000 >= want * 0.9
        rtt_txt = f"{rtt * 1000:.0f} ms" if rtt is not None else "no answer"
        return (
            ok and measured,
            f"{detail}; round trip through {probes[:1]}: {rtt_txt} (expected >= {want} ms)",
        )


@fault(
    "link.bandwidth",
    LinkBandwidthParams,
    needs={Cap.LINK_TOXIC},
    summary="cap a link's bandwidth",
    plan=link_plan("bandwidth"),
)
class LinkBandwidth(LinkFault):
    params: LinkBandwidthParams

    def apply(self) -> LinkEffect:
        attrs = {"rate": self.params.rate_kbps}
        return self.ctx.runtime.link_toxic(*self.sites, self.direction, "bandwidth", attrs)


@fault(
    "link.reset",
    LinkResetParams,
    needs={Cap.LINK_TOXIC},
    summary="reset every connection on a link",
    plan=link_plan("reset_peer"),
)
class LinkReset(LinkFault):
    silences = True

    def apply(self) -> LinkEffect:
        return self.ctx.runtime.link_toxic(
            *self.sites, self.direction, "reset_peer", {"timeout": 0}
        )


@fault(
    "az.partition",
    AzParams,
    needs={Cap.AZ_PARTITION},
    summary="cut one AZ of a cluster off from the others",
)
class AzPartition(LinkFault):
    """Cut the broker-to-broker and controller paths between one AZ and the rest."""

    silences = True
    params: AzParams

    def apply(self) -> LinkEffect:
        az = self.params.az
        # Clients outside the AZ lose the isolated brokers too, as in a real partition. If a
        # workload client sits inside the AZ itself, client paths stay up (that client must
        # keep its local brokers) and only brokers are separated.
        cut_clients = not any(getattr(c, "site", None) == az for c in self.ctx.clients)
        return self.ctx.runtime.az_partition(self.params.cluster, az, self.direction, cut_clients)
