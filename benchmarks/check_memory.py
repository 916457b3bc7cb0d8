"""Where `kafkadrill check`'s memory goes (issue 25; not a test; prints figures).

Loads a stored history and runs every checker in report order, one at a time as
``run_checkers`` does, sampling the process's RSS every 10 ms: the load's peak and what it
keeps, then per checker its time, its peak above what was resident when it started, and what
it left resident (the checkers' shared cache). The largest ``resident + peak`` is the check's
peak before the report is written.

    python benchmarks/check_scale.py 10000000 --format columnar --dir /tmp/prof --keep
    python benchmarks/check_memory.py /tmp/prof/run-10000000-columnar/history.arrow
    python benchmarks/check_memory.py HISTORY --only lost_writes,poll_order
"""

from __future__ import annotations

import argparse
import gc
import threading
import time
from pathlib import Path

import psutil

from kafkadrill.checkers import CHECKERS, _run_one
from kafkadrill.history import load_frames
from kafkadrill.history.memory import release_freed

GIB = float(1 << 30)


class _Peak:
    """The highest RSS seen since the last :meth:`reset`, sampled every 10 ms."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.value = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            self.value = max(self.value, self.proc.memory_info().rss)
            time.sleep(0.01)

    def rss(self) -> int:
        return self.proc.memory_info().rss

    def reset(self) -> int:
        self.value = now = self.rss()
        return now


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("history", type=Path)
    ap.add_argument(
        "--only", default="", help="comma-separated checkers to run (default: every one)"
    )
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    if only - set(CHECKERS):
        ap.error(f"--only: no checker named {sorted(only - set(CHECKERS))}")
    peak = _Peak()
    start = peak.reset()
    t0 = time.perf_counter()
    frames = load_frames(args.history)
    gc.collect()
    print(
        f"load: {frames.n_events:,} events, {time.perf_counter() - t0:.1f} s, peak "
        f"{peak.value / GIB:.2f} GiB, resident after {peak.rss() / GIB:.2f} GiB "
        f"(process before {start / GIB:.2f})"
    )
    top = (peak.value / GIB, "load")
    print(f"{'checker':22s} {'time s':>7s} {'+peak':>6s} {'kept':>6s} {'resident':>8s}")
    for name, fn in CHECKERS.items():
        if only and name not in only:
            continue
        base = peak.reset()
        t = time.perf_counter()
        _run_one(name, fn, frames)
        release_freed()
        gc.collect()
        after = peak.rss()
        top = max(top, (peak.value / GIB, name))
        print(
            f"{name:22s} {time.perf_counter() - t:7.1f} {(peak.value - base) / GIB:6.2f} "
            f"{(after - base) / GIB:+6.2f} {after / GIB:8.2f}"
        )
    print(f"highest RSS: {top[0]:.2f} GiB, in {top[1]}")


if __name__ == "__main__":
    main()
