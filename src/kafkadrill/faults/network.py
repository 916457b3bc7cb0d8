"""Network faults: cross-site link cut/latency/bandwidth/reset, AZ partition.

Each acts through the runtime's link operations (Toxiproxy on every cross-site path locally)
and proves itself with Kafka requests through the affected paths: a cut path is silent, a
latency toxic shows in the round trip. Direction matters: "a->b" acts on bytes from a to b.
"""

from __future__ import annotations

from typing import Any

from kafkadrill.faults.base import FaultContext, fault
from kafkadrill.faults.catalog import (
    AzParams,
    LinkBandwidthParams,
    LinkCutParams,
    LinkLatencyParams,
    LinkResetParams,
)
from kafkadrill.runtimes.base import Cap, LinkEffect


class LinkFault:
    """Applies one link effect; verifies it is in force (and, for faults that silence the
    paths, that Kafka requests across them fail); restores it at heal."""

    silences = False  # a cut or a reset: every probe across the effect must fail

    def __init__(self, ctx: FaultContext, params: dict[str, Any]) -> None:
        self.ctx = ctx
        self.params = params
        self.direction = str(params.get("direction", "both"))
        self.effect: LinkEffect | None = None

    @property
    def sites(self) -> tuple[str, str]:
        a, _, b = str(self.params["link"]).partition("<->")
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
)
class LinkLatency(LinkFault):
    def apply(self) -> LinkEffect:
        attrs = {
            "latency": int(self.params.get("latency_ms", 100)),
            "jitter": int(self.params.get("jitter_ms", 0)),
        }
        return self.ctx.runtime.link_toxic(*self.sites, self.direction, "latency", attrs)

    def verify(self) -> tuple[bool, str]:
        ok, detail = self.in_force()
        assert self.effect is not None
        want = int(self.params.get("latency_ms", 100)) - int(self.params.get("jitter_ms", 0))
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
)
class LinkBandwidth(LinkFault):
    def apply(self) -> LinkEffect:
        attrs = {"rate": int(self.params.get("rate_kbps", 1024))}
        return self.ctx.runtime.link_toxic(*self.sites, self.direction, "bandwidth", attrs)


@fault(
    "link.reset",
    LinkResetParams,
    needs={Cap.LINK_TOXIC},
    summary="reset every connection on a link",
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

    def apply(self) -> LinkEffect:
        az = str(self.params["az"])
        # Clients outside the AZ lose the isolated brokers too, as in a real partition. If a
        # workload client sits inside the AZ itself, client paths stay up (that client must
        # keep its local brokers) and only brokers are separated.
        cut_clients = not any(getattr(c, "site", None) == az for c in self.ctx.clients)
        return self.ctx.runtime.az_partition(
            str(self.params["cluster"]), az, self.direction, cut_clients
        )
