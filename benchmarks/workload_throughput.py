"""Workload throughput with full accounting while a 1+1 topology runs.

Every send is recorded (invoke + ok), so this measures what a drill can really sustain.
Usage: python benchmarks/workload_throughput.py [--seconds 20] [--producers 2] [--bytes 200]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from kafkadrill.history import HistoryWriter, read_history
from kafkadrill.topology.local import LocalRuntime
from kafkadrill.topology.model import TopicSpec, two_dc
from kafkadrill.workload.producer import ProducerSpec, WorkloadProducer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--producers", type=int, default=2)
    ap.add_argument("--bytes", type=int, default=200)
    ap.add_argument("--acks", default="all")
    ap.add_argument("--linger-ms", type=int, default=20)
    args = ap.parse_args()
    topo = two_dc(1, topics=(TopicSpec("orders", partitions=6, replication_factor=1),))
    with tempfile.TemporaryDirectory() as d, LocalRuntime(topo, Path(d)) as rt:
        history = HistoryWriter(Path(d) / "history.jsonl", "bench")
        stop = threading.Event()
        producers = [
            WorkloadProducer(
                ProducerSpec(
                    f"p{i}",
                    "primary",
                    "orders",
                    "east",
                    rate_per_second=None,
                    acks=args.acks,
                    linger_ms=args.linger_ms,
                    message_bytes=args.bytes,
                    max_messages=50_000_000,
                ),
                history,
                lambda c, s: rt.bootstrap(c, from_site=s),
                "bench",
                stop,
            )
            for i in range(args.producers)
        ]
        t0 = time.monotonic()
        for p in producers:
            p.start()
        time.sleep(args.seconds)
        stop.set()
        for p in producers:
            p.join(60)
        elapsed = time.monotonic() - t0
        history.close()
        acked = sum(p.acked for p in producers)
        events = read_history(history.path)
        oks = sum(1 for e in events if e["type"] == "send.ok")
        print(
            f"{args.producers} producer(s), {args.bytes} B, acks={args.acks}, "
            f"linger {args.linger_ms} ms: {acked} acked in {elapsed:.1f} s = "
            f"{acked / elapsed:,.0f} acked msg/s sustained; {oks} send.ok events recorded "
            f"({len(events)} events in all, {history.path.stat().st_size / 2**20:.0f} MiB)"
        )
        assert oks == acked, "every ack must be in the history"


if __name__ == "__main__":
    main()
