"""Network faults on Toxiproxy: cross-site link cut/latency/bandwidth/reset, AZ partition.

Every byte between sites crosses a proxy (see topology/config.py), so these faults are real
network faults, not pauses. Direction matters: an "upstream" toxic acts on bytes from the
connecting side to the serving side, "downstream" on the replies.
"""

from __future__ import annotations

from typing import Any

from kafkadrill.faults.base import FaultContext, implements
from kafkadrill.faults.probe import kafka_ping
from kafkadrill.topology.toxiproxy import ProxySpec, ToxiproxyClient


def _streams(proxy: ProxySpec, direction: str) -> list[str]:
    """Toxic streams of `proxy` carrying bytes in `direction` ("both" or "a->b")."""
    if direction == "both":
        return ["upstream", "downstream"]
    src, _, dst = direction.partition("->")
    stream = proxy.stream_for(src.strip(), dst.strip())
    return [stream] if stream else []


class ProxyFault:
    """Applies one toxic (or disables proxies) on a set of (proxy, streams)."""

    toxic: str = ""

    def __init__(self, ctx: FaultContext, params: dict[str, Any]) -> None:
        self.ctx = ctx
        self.params = params
        self.direction = str(params.get("direction", "both"))
        self.applied: list[tuple[str, str]] = []  # (proxy, toxic name)
        self.disabled: list[str] = []
        self.name = f"kd-{id(self):x}"

    @property
    def tp(self) -> ToxiproxyClient:
        assert self.ctx.runtime.toxiproxy is not None
        return self.ctx.runtime.toxiproxy

    def proxies(self) -> list[tuple[ProxySpec, list[str]]]:
        a, _, b = str(self.params["link"]).partition("<->")
        return [
            (p, _streams(p, self.direction))
            for p in self.ctx.runtime.link_proxies(a.strip(), b.strip())
        ]

    def attributes(self) -> dict[str, Any]:
        return {}

    def inject(self) -> str:
        targets = self.proxies()
        for proxy, streams in targets:
            for stream in streams:
                name = f"{self.name}-{stream}"
                self.tp.add_toxic(proxy.name, name, self.toxic, stream, self.attributes())
                self.applied.append((proxy.name, name))
        return (
            f"{self.toxic} {self.attributes()} on {len(self.applied)} proxy stream(s) "
            f"of {len(targets)} proxies, direction {self.direction}"
        )

    def verify(self) -> tuple[bool, str]:
        missing = []
        for proxy, name in self.applied:
            if name not in {t["name"] for t in self.tp.toxics(proxy)}:
                missing.append(f"{proxy}/{name}")
        if not self.applied:
            return False, "no proxy carries this link/direction"
        return (
            not missing,
            f"toxics present on {len(self.applied) - len(missing)}/"
            f"{len(self.applied)} streams" + (f"; missing {missing}" if missing else ""),
        )

    def heal(self) -> str:
        for proxy, name in self.applied:
            self.tp.remove_toxic(proxy, name)
        for proxy in self.disabled:
            self.tp.set_enabled(proxy, True)
        listens = {p.listen for p, _ in self.proxies()}
        ok = sum(kafka_ping(addr, 3.0) is not None for addr in listens)
        return (
            f"removed {len(self.applied)} toxic(s), re-enabled {len(self.disabled)} "
            f"proxies; {ok}/{len(listens)} paths answer again"
        )

    def _pings_fail(self, proxies: list[ProxySpec]) -> tuple[bool, str]:
        listens = sorted({p.listen for p in proxies})
        answered = [a for a in listens if kafka_ping(a, 1.5) is not None]
        ok = bool(listens) and not answered
        return ok, (
            f"Kafka requests through {len(listens)} cut path(s) fail"
            if ok
            else f"still answering: {answered or 'no paths'}"
        )


@implements("link.cut")
class LinkCut(ProxyFault):
    toxic = "timeout"

    def attributes(self) -> dict[str, Any]:
        return {"timeout": 0}  # hold every byte, never close: a black hole

    def inject(self) -> str:
        if self.direction == "both":
            # Disabling a proxy drops its connections and refuses new ones.
            for proxy, _ in self.proxies():
                self.tp.set_enabled(proxy.name, False)
                self.disabled.append(proxy.name)
            return f"disabled {len(self.disabled)} proxies (both directions)"
        return super().inject()

    def verify(self) -> tuple[bool, str]:
        return self._pings_fail([p for p, s in self.proxies() if s])


@implements("link.latency")
class LinkLatency(ProxyFault):
    toxic = "latency"

    def attributes(self) -> dict[str, Any]:
        return {
            "latency": int(self.params.get("latency_ms", 100)),
            "jitter": int(self.params.get("jitter_ms", 0)),
        }

    def verify(self) -> tuple[bool, str]:
        ok, detail = super().verify()
        want = int(self.params.get("latency_ms", 100)) - int(self.params.get("jitter_ms", 0))
        listens = sorted({p.listen for p, s in self.proxies() if s})
        rtt = kafka_ping(listens[0], 10.0) if listens else None
        measured = rtt is not None and rtt * 1000 >= want * 0.9
        rtt_txt = f"{rtt * 1000:.0f} ms" if rtt is not None else "no answer"
        return (
            ok and measured,
            f"{detail}; round trip through {listens[:1]}: {rtt_txt} (expected >= {want} ms)",
        )


@implements("link.bandwidth")
class LinkBandwidth(ProxyFault):
    toxic = "bandwidth"

    def attributes(self) -> dict[str, Any]:
        return {"rate": int(self.params.get("rate_kbps", 1024))}


@implements("link.reset")
class LinkReset(ProxyFault):
    toxic = "reset_peer"

    def attributes(self) -> dict[str, Any]:
        return {"timeout": 0}

    def verify(self) -> tuple[bool, str]:
        return self._pings_fail([p for p, _ in self.proxies()])


@implements("az.partition")
class AzPartition(ProxyFault):
    """Cut the broker-to-broker and controller paths between one AZ and the rest."""

    toxic = "timeout"

    def attributes(self) -> dict[str, Any]:
        return {"timeout": 0}

    def proxies(self) -> list[tuple[ProxySpec, list[str]]]:
        cluster = str(self.params["cluster"])
        az = str(self.params["az"])
        out = []
        # Clients outside the AZ lose the isolated brokers too, as in a real partition. The
        # client proxies are shared, so if any workload client sits inside the AZ itself they
        # stay up (that client must keep its local brokers) and only brokers are separated.
        cut_clients = not any(getattr(c, "site", None) == az for c in self.ctx.clients)
        for p in self.ctx.runtime.proxies.values():
            if cut_clients and p.name.startswith(f"client-{cluster}-") and p.server_site == az:
                if self.direction == "both":
                    out.append((p, ["upstream", "downstream"]))
                else:  # client->broker bytes enter the AZ (upstream), replies leave it
                    out.append(
                        (p, ["downstream" if self.direction == "isolate-out" else "upstream"])
                    )
                continue
            if not p.name.startswith(f"mesh-{cluster}-"):
                continue
            inside_client, inside_server = p.client_site == az, p.server_site == az
            if inside_client == inside_server:
                continue
            if self.direction == "both":
                streams = ["upstream", "downstream"]
            elif self.direction == "isolate-out":  # nothing leaves the AZ
                streams = ["upstream"] if inside_client else ["downstream"]
            else:  # isolate-in: nothing enters the AZ
                streams = ["downstream"] if inside_client else ["upstream"]
            out.append((p, streams))
        return out

    def inject(self) -> str:
        if self.direction == "both":
            for proxy, _ in self.proxies():
                self.tp.set_enabled(proxy.name, False)
                self.disabled.append(proxy.name)
            clients = sum(1 for n in self.disabled if n.startswith("client-"))
            return (
                f"disabled {len(self.disabled) - clients} broker-to-broker and {clients} "
                f"client proxies between {self.params['az']} and the rest of "
                f"{self.params['cluster']}"
            )
        return super().inject()

    def verify(self) -> tuple[bool, str]:
        return self._pings_fail([p for p, _ in self.proxies()])
