"""Time from `up` to healthy-and-replicating, and total RSS, of the local two-DC topology.

Usage: python benchmarks/topology_startup.py [--repeat 5] [--sizes 1,3]
Prints one line per run and the median per size. Not a test: figures go into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import psutil

from kafkadrill.runtimes.local.runtime import LocalRuntime
from kafkadrill.runtimes.shared.provision import ensure_all
from kafkadrill.topology import two_dc


def one(nodes: int) -> tuple[float, float, float]:
    """(seconds to ready, seconds to clusters healthy, total RSS GiB of every process)."""
    with tempfile.TemporaryDirectory() as d:
        t0 = time.monotonic()
        with LocalRuntime(two_dc(nodes), Path(d)) as rt:
            ready = time.monotonic() - t0
            time.sleep(5)  # let the JVMs settle before reading RSS
            assert rt.supervisor is not None
            rss = sum(
                psutil.Process(c.pid).memory_info().rss
                for c in rt.supervisor.children.values()
                if c.alive()
            )
            return ready, rt.timings["clusters_healthy_s"], rss / 2**30


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sizes", default="1,3")
    args = ap.parse_args()
    dist = ensure_all()  # provisioning is not part of start-up time
    print(f"Kafka {dist.kafka.version}, {psutil.cpu_count()} cores")
    for n in [int(s) for s in args.sizes.split(",")]:
        readies, healthies, rsss = [], [], []
        for i in range(args.repeat):
            ready, healthy, rss = one(n)
            readies.append(ready)
            healthies.append(healthy)
            rsss.append(rss)
            print(
                f"{n}+{n} run {i + 1}: ready {ready:.1f} s (clusters healthy {healthy:.1f} s), "
                f"RSS {rss:.2f} GiB",
                flush=True,
            )
        print(
            f"{n}+{n} median of {args.repeat}: ready {statistics.median(readies):.1f} s, "
            f"clusters healthy {statistics.median(healthies):.1f} s, "
            f"RSS {statistics.median(rsss):.2f} GiB (max {max(rsss):.2f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
