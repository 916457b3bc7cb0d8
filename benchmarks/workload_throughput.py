"""Workload throughput with full accounting while a 1+1 topology runs.

Every send is recorded (invoke + ok), so this measures what a drill can really sustain. Also
prints the load average at the start and the produce latency the latency checker would see
(send.ok t - send.invoke t, which includes the wait for the delivery callback).
Usage: python benchmarks/workload_throughput.py [--seconds 20] [--producers 2] [--bytes 200]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kafkadrill.history import HistoryWriter, load_frames
from kafkadrill.runtimes.local.runtime import LocalRuntime
from kafkadrill.topology import TopicSpec, two_dc
from kafkadrill.workload.producer import ProducerSpec, WorkloadProducer


def pd_by_id(df: pd.DataFrame) -> pd.Series:
    """``t`` per id code (ids are unique per run)."""
    return pd.Series(df["t"].to_numpy(), index=df["id_code"].to_numpy())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--producers", type=int, default=2)
    ap.add_argument("--bytes", type=int, default=200)
    ap.add_argument("--acks", default="all")
    ap.add_argument("--linger-ms", type=int, default=20)
    args = ap.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
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
        frames = load_frames(history.path)
        oks = len(frames.ok)
        sent = pd_by_id(frames.invoke)
        got = pd_by_id(frames.ok)
        both = sent.index.intersection(got.index)
        ms = (got[both] - sent[both]).to_numpy() * 1000.0
        p50, p99 = np.percentile(ms, [50, 99]) if len(ms) else (float("nan"),) * 2
        print(
            f"{args.producers} producer(s), {args.bytes} B, acks={args.acks}, "
            f"linger {args.linger_ms} ms: {acked} acked in {elapsed:.1f} s = "
            f"{acked / elapsed:,.0f} acked msg/s sustained; {oks} send.ok events recorded "
            f"({frames.n_events} events in all, {history.path.stat().st_size / 2**20:.0f} MiB); "
            f"invoke->ok p50 {p50:.1f} ms, p99 {p99:.1f} ms; load average at start {load}"
        )
        assert oks == acked, "every ack must be in the history"
        outcomes = oks + len(frames.fail) + len(frames.unknown)
        assert outcomes == len(frames.invoke), "every send must have exactly one outcome"


if __name__ == "__main__":
    main()
