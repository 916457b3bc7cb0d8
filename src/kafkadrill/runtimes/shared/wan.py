"""The baseline WAN: latency, jitter and bandwidth toxics on every proxy of a link, for the run.

Runtimes that carry links through Toxiproxy (local, compose) call `apply_wan` once their
proxies exist and again after a `reset()` (restore_all), so the WAN outlives every fault heal.
Faults stack their own toxics on top; a cut disables or black-holes the same proxies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafkadrill.runtimes.shared.toxiproxy import ProxySpec, ToxiproxyClient
from kafkadrill.topology import WanLink

#: (proxy, streams) a runtime's link targeting returns for "a<->b, both".
Targets = Callable[[str, str], list[tuple[ProxySpec, list[str]]]]
PREFIX = "wan-"


def wan_toxics(link: WanLink) -> list[tuple[str, dict[str, Any]]]:
    """Toxiproxy toxic types and attributes for one direction of a WAN link."""
    out: list[tuple[str, dict[str, Any]]] = []
    if link.latency_ms > 0 or link.jitter_ms > 0:
        attrs = {"latency": round(link.latency_ms), "jitter": round(link.jitter_ms)}
        out.append(("latency", attrs))
    if link.bandwidth_kbps is not None:
        # Toxiproxy's bandwidth rate is in KB/s.
        out.append(("bandwidth", {"rate": max(1, round(link.bandwidth_kbps / 8))}))
    return out


def apply_wan(tp: ToxiproxyClient, wan: tuple[WanLink, ...], targets: Targets) -> list[str]:
    """Add every WAN toxic; returns one line per link saying what is in force."""
    done: list[str] = []
    for link in wan:
        toxics = wan_toxics(link)
        if not toxics:
            continue
        paths = targets(link.a, link.b)
        for proxy, streams in paths:
            for stream in streams:
                for kind, attrs in toxics:
                    tp.add_toxic(proxy.name, f"{PREFIX}{kind}-{stream}", kind, stream, attrs)
        done.append(f"{link.name}: {describe_link(link)} on {len(paths)} proxies")
    return done


def describe_link(link: WanLink) -> str:
    parts = [f"{link.latency_ms:g} ms one way"]
    if link.jitter_ms:
        parts.append(f"± {link.jitter_ms:g} ms jitter")
    parts.append(
        f"{link.bandwidth_kbps:,} kbit/s" if link.bandwidth_kbps is not None else "no bandwidth cap"
    )
    return ", ".join(parts)


def describe_wan(wan: tuple[WanLink, ...]) -> list[dict[str, Any]]:
    """For environment.json and the report: the WAN that was in force."""
    return [
        {
            "link": link.name,
            "latency_ms": link.latency_ms,
            "jitter_ms": link.jitter_ms,
            "bandwidth_kbps": link.bandwidth_kbps,
            "round_trip_ms": 2 * link.latency_ms,
        }
        for link in wan
    ]
