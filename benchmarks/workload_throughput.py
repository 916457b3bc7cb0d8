"""Workload throughput with full accounting while a 1+1 topology runs.

Every send is recorded (invoke + ok), so this measures what a drill can really sustain. Also
prints the load average at the start and the produce latency the latency checker would see
(send.ok t - send.invoke t, which includes the wait for the delivery callback).
Usage: python benchmarks/workload_throughput.py [--seconds 20] [--producers 2] [--bytes 200]
       [--workers N]   # N worker processes (workload.producers.workers), columnar segments
                       # merged at the end as a drill does; 0 = threads of this process
       [--format jsonl|columnar]   # the history of the in-process producers
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

from kafkadrill.history import load_frames, open_history
from kafkadrill.history.merge import merge_segments
from kafkadrill.runtimes.local.runtime import LocalRuntime
from kafkadrill.topology import TopicSpec, two_dc
from kafkadrill.workload.producer import ProducerSpec, WorkloadProducer
from kafkadrill.workload.workers import make_workers


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
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--format", choices=("jsonl", "columnar"), default="jsonl")
    ap.add_argument("--partitions", type=int, default=6)
    args = ap.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    topic = TopicSpec("orders", partitions=args.partitions, replication_factor=1)
    topo = two_dc(1, topics=(topic,))
    with tempfile.TemporaryDirectory() as d, LocalRuntime(topo, Path(d)) as rt:
        columnar = args.workers or args.format == "columnar"
        history = open_history(Path(d) / ("history.arrow" if columnar else "history.jsonl"), "b")
        stop = threading.Event()
        specs = [
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
                worker=i % args.workers if args.workers else None,
            )
            for i in range(args.producers)
        ]

        def bootstrap(cluster: str, site: str) -> str:
            return rt.bootstrap(cluster, from_site=site)

        workers = []
        if args.workers:
            workers = make_workers(specs, history, bootstrap, Path(d), stop)
            producers: list = [p for w in workers for p in w.producers]
        else:
            producers = [WorkloadProducer(s, history, bootstrap, "b", stop) for s in specs]
        t0 = time.monotonic()
        for p in producers:
            p.start()
        time.sleep(args.seconds)
        t_stop = history.now()
        stop.set()
        for p in producers:
            p.join(60)
        elapsed = time.monotonic() - t0
        history.close()
        if workers:
            merge_segments(history.path, [w.segment for w in workers])
        acked = sum(p.acked for p in producers)
        frames = load_frames(history.path)
        oks = len(frames.ok)
        sent = pd_by_id(frames.invoke)
        got = pd_by_id(frames.ok)
        both = sent.index.intersection(got.index)
        ms = (got[both] - sent[both]).to_numpy() * 1000.0
        p50, p99 = np.percentile(ms, [50, 99]) if len(ms) else (float("nan"),) * 2
        # Steady rate: acks from 1 s after the first send to the stop (workers start their
        # interpreter first; the drain after the stop is not load).
        first = float(frames.invoke["t"].min())
        ok_t = frames.ok["t"].to_numpy()
        steady = ((ok_t >= first + 1) & (ok_t <= t_stop)).sum() / max(t_stop - first - 1, 1e-9)
        print(
            f"{args.producers} producer(s) in {args.workers or 'no'} worker(s), {args.bytes} B, "
            f"{args.partitions} partitions, acks={args.acks}, "
            f"linger {args.linger_ms} ms: {acked} acked in {elapsed:.1f} s = "
            f"{acked / elapsed:,.0f} acked msg/s sustained, {steady:,.0f} acked msg/s steady "
            f"(first send + 1 s to the stop); {oks} send.ok events recorded "
            f"({frames.n_events} events in all, {history.path.stat().st_size / 2**20:.0f} MiB); "
            f"invoke->ok p50 {p50:.1f} ms, p99 {p99:.1f} ms; load average at start {load}"
        )
        assert oks == acked, "every ack must be in the history"
        outcomes = oks + len(frames.fail) + len(frames.unknown)
        assert outcomes == len(frames.invoke), "every send must have exactly one outcome"


if __name__ == "__main__":
    main()
