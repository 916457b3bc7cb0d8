"""Link faults on Toxiproxy proxies, for the runtimes that run their own Toxiproxy (local,
compose): which streams of a proxy a direction means, a cut or toxic applied to a set of
(proxy, streams), its verification and its heal, and the baseline WAN put back after a reset.

Each runtime decides which proxies carry a link (`_link_targets`) and what its effects look
like (`_apply`: the handle, the probes): those differ on purpose (compose cuts black-hole
where local disables, compose probes only its replication paths). The external runtime's
adapter (external/adapters/toxiproxy.py) works on a user's Toxiproxy with other rules (it
only removes what it added, records every call) and does not use this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.shared.toxiproxy import ProxySpec, ToxiproxyClient
from kafkadrill.runtimes.shared.wan import apply_wan
from kafkadrill.topology import Topology

#: (proxy, the toxic streams of it to act on)
Targets = list[tuple[ProxySpec, list[str]]]
ProxyToxics = list[tuple[str, str]]  # (proxy, toxic name) added by one effect


def region_of(topology: Topology, site: str) -> str:
    """The region of a site (a region, or an AZ of a cluster); unknown sites are their own."""
    for c in topology.clusters:
        if site == c.region or site in c.azs:
            return c.region
    return site


def direction_streams(
    proxy: ProxySpec, direction: str, site: Callable[[str], str] = lambda s: s
) -> list[str]:
    """The streams of `proxy` that carry `direction` ("both" or "<site>-><site>", the sites
    mapped through `site` first); [] when the proxy carries none of it."""
    if direction == "both":
        return ["upstream", "downstream"]
    src, _, dst = direction.partition("->")
    stream = proxy.stream_for(site(src.strip()), site(dst.strip()))
    return [stream] if stream else []


def apply_to_proxies(
    tp: ToxiproxyClient,
    kind: str,
    name: str,
    targets: Targets,
    attributes: dict[str, Any],
    disable: bool,
) -> tuple[ProxyToxics, list[str]]:
    """Disable whole proxies (`disable`) or add one toxic `<name>-<stream>` per (proxy,
    stream) ("cut" is a `timeout` toxic); returns (toxics added, proxies disabled)."""
    toxics: ProxyToxics = []
    disabled: list[str] = []
    for proxy, streams in targets:
        if disable:
            tp.set_enabled(proxy.name, False)
            disabled.append(proxy.name)
            continue
        for stream in streams:
            tname = f"{name}-{stream}"
            tp.add_toxic(
                proxy.name, tname, "timeout" if kind == "cut" else kind, stream, attributes
            )
            toxics.append((proxy.name, tname))
    return toxics, disabled


def missing_toxics(tp: ToxiproxyClient, toxics: ProxyToxics) -> list[str]:
    """`proxy/toxic` of every toxic of an effect that is no longer there."""
    return [f"{p}/{n}" for p, n in toxics if n not in {t["name"] for t in tp.toxics(p)}]


def paths_in_force(
    toxics: ProxyToxics, disabled: list[str], missing: list[str], enabled: list[str]
) -> tuple[bool, str]:
    """(in force, how many paths) of an effect, given what is missing or enabled again."""
    total = len(toxics) + len(disabled)
    if not total:
        return False, "no path carries this link/direction"
    return not missing and not enabled, (
        f"{total - len(missing) - len(enabled)}/{total} paths affected"
        + (f"; missing toxics {missing}" if missing else "")
        + (f"; still enabled {enabled}" if enabled else "")
    )


def restore_proxies(tp: ToxiproxyClient, toxics: ProxyToxics, disabled: list[str]) -> str:
    """Remove an effect's toxics and re-enable the proxies it disabled."""
    for proxy, name in toxics:
        tp.remove_toxic(proxy, name)
    for proxy in disabled:
        tp.set_enabled(proxy, True)
    return f"removed {len(toxics)} toxic(s), re-enabled {len(disabled)} proxies"


class ProxyLinks:
    """What local and compose share on their own Toxiproxy (a mixin of the runtime class):
    the client, the site-to-region map, the baseline WAN and its reset."""

    topology: Topology
    toxiproxy: ToxiproxyClient | None
    wan_in_force: list[str]
    _link_targets: Callable[[str, str, str], Targets]  # each runtime's own

    def _tp(self) -> ToxiproxyClient:
        if self.toxiproxy is None:
            raise TopologyError("topology is not started")
        return self.toxiproxy

    def _region_of(self, site: str) -> str:
        return region_of(self.topology, site)

    def _apply_wan(self) -> None:
        self.wan_in_force = apply_wan(
            self._tp(), self.topology.wan, lambda a, b: self._link_targets(a, b, "both")
        )

    def _reset_links(self) -> None:
        """Heal every link (no toxic, every proxy enabled), then the baseline WAN again: it
        is part of the topology, not a fault."""
        if self.toxiproxy is not None:
            self.toxiproxy.reset()
            self._apply_wan()
