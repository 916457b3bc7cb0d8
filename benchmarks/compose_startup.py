"""Compose 3+3 ready time next to local 3+3, in the same run (interleaved), and their ratio.

Usage: flock /tmp/kafkadrill-heavy.lock python benchmarks/compose_startup.py [--repeat 3]
       [--nodes 3]
"Ready" is the same for both runtimes: every node registered and an acks=all write accepted on
both clusters, and MM2 has copied a probe record to dr. Images (`kafkadrill images`) and jars
are built before timing. Runs alternate local/compose so that machine load hits both alike.
Not a test: figures go into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from kafkadrill.runtimes.compose.images import build_images
from kafkadrill.runtimes.compose.runtime import ComposeRuntime, docker_available
from kafkadrill.runtimes.local.runtime import LocalRuntime
from kafkadrill.runtimes.shared.provision import ensure_all
from kafkadrill.topology import two_dc


def one(kind: str, nodes: int, images: Any) -> dict[str, float]:
    """Start-up phases of one runtime, plus how long its teardown took."""
    with tempfile.TemporaryDirectory() as d:
        topo = two_dc(nodes)
        rt: Any
        if kind == "local":
            rt = LocalRuntime(topo, Path(d))
        else:
            rt = ComposeRuntime(
                topo, Path(d), kafka_image=images.kafka, toxiproxy_image=images.toxiproxy
            )
        t0 = time.monotonic()
        with rt:
            ready = time.monotonic() - t0
            timings = dict(rt.timings)
            t_stop = time.monotonic()
        stop = time.monotonic() - t_stop
    return {
        "ready": ready,
        "healthy": timings.get("clusters_healthy_s", float("nan")),
        "stop": stop,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=3)
    args = ap.parse_args()
    why = docker_available()
    if why is not None:
        raise SystemExit(f"no Docker: {why}")
    dist = ensure_all()
    images = build_images()
    load = psutil.getloadavg()[0]
    print(
        f"Kafka {dist.kafka.version}, {psutil.cpu_count()} cores, load {load:.1f}; "
        f"images {images.kafka}, {images.toxiproxy}",
        flush=True,
    )
    n = args.nodes
    results: dict[str, list[dict[str, float]]] = {"local": [], "compose": []}
    for i in range(args.repeat):
        for kind in ("local", "compose"):
            r = one(kind, n, images)
            results[kind].append(r)
            print(
                f"{kind:7s} {n}+{n} run {i + 1}: ready {r['ready']:.1f} s "
                f"(clusters healthy {r['healthy']:.1f} s), teardown {r['stop']:.1f} s",
                flush=True,
            )
    med = {k: statistics.median(r["ready"] for r in v) for k, v in results.items()}
    for kind, runs in results.items():
        print(
            f"{kind:7s} {n}+{n} median of {args.repeat}: ready {med[kind]:.1f} s, "
            f"clusters healthy {statistics.median(r['healthy'] for r in runs):.1f} s, "
            f"teardown {statistics.median(r['stop'] for r in runs):.1f} s",
            flush=True,
        )
    print(f"ratio compose/local (median ready): {med['compose'] / med['local']:.2f}", flush=True)


if __name__ == "__main__":
    main()
