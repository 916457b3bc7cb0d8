"""What recording a message costs in each history format (not a test; prints figures).

Each acknowledged message of a drill is about four events: its ``send.invoke`` and ``send.ok``
(the producer's fast path, ``send_lines``), one ``recv`` by a consumer group and one by the final
reader (``append``, as the workload's consumers record them, with their kd-* headers). This
writes N such messages through the real writer of each format, from one thread, and reports:
the CPU the recording takes per message (the appending thread plus the writer's flusher: the
process's CPU time), what that is at 50,000 msg/s (the share of one core), and the bytes per
event on disk.

    python benchmarks/history_write.py                 # 500,000 messages (2M events) per format
    python benchmarks/history_write.py --messages 2000000
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from kafkadrill.history import Ev, open_history

RATE = 50_000  # msg/s the issue asks about


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def record(path: Path, messages: int) -> tuple[float, float, int]:
    """(wall s, CPU s, events) to record ``messages`` messages at ``path``."""
    w = open_history(path, "bench")
    sends = [w.send_lines(f"p{i}", "primary", "kd-20261207t000000z-orders") for i in range(2)]
    append = w.append
    topic = "kd-20261207t000000z-orders"
    t0, c0 = time.perf_counter(), _cpu()
    for i in range(messages):
        p = i % 2
        s = i // 2
        lines = sends[p]
        lines.invoke(s, f"key-{s % 64}", 256)
        lines.ok(s, s % 6, s // 6, 1_796_000_000_000 + i)
        mid = f"p{p}:{s}"
        hdr = {"kd-origin-site": "east", "kd-origin-cluster": "primary", "kd-id": mid}
        for reader, group, final in (("billing-0", "billing", False), ("final", None, True)):
            append(
                Ev.RECV, reader=reader, group=group, final=final, cluster="primary",
                topic=topic, partition=s % 6, offset=s // 6, ts=1_796_000_000_000 + i,
                id=mid, hdr=hdr,
            )  # fmt: skip
    w.close()
    return time.perf_counter() - t0, _cpu() - c0, 4 * messages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=500_000)
    args = ap.parse_args()
    print(
        f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.messages:,} messages, 4 events each"
    )
    head = ("format", "wall s", "cpu s", "us/msg", "at 50k msg/s", "B/event")
    print("{:>9} {:>7} {:>7} {:>7} {:>13} {:>8}".format(*head))
    with tempfile.TemporaryDirectory(prefix="kd-hist-bench-") as d:
        for name in ("history.jsonl", "history.arrow"):
            path = Path(d) / name
            wall, cpu, events = record(path, args.messages)
            us = cpu / args.messages * 1e6
            share = us * RATE / 1e6
            size = path.stat().st_size / events
            fmt = "jsonl" if name.endswith("jsonl") else "columnar"
            print(
                f"{fmt:>9} {wall:>7.2f} {cpu:>7.2f} {us:>7.2f} {share:>10.0%} core {size:>8.1f}",
                flush=True,
            )
    sys.exit(0)


if __name__ == "__main__":
    main()
