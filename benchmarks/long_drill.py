"""A long drill for real, measured (issue 25; not a test; prints figures).

Runs ``kafkadrill run SCENARIO [--set ...]`` (default scenarios/long-drill.yaml: an hour at
5,000 msg/s with a broker loss and a link cut, columnar history) as a child process, samples the
resident memory of every process of the run every 2 s (the runner, its JVMs, Toxiproxy), then
times ``kafkadrill check`` on the run directory. Prints the verdict, the history's size per
event, each process kind's peak RSS, the run's stages and the check's wall time and peak RSS.

    flock /tmp/kafkadrill-heavy.lock python benchmarks/long_drill.py            # the hour
    flock /tmp/kafkadrill-heavy.lock python benchmarks/long_drill.py \\
        --set duration_seconds=720 --set 'timeline[0].at=120' --set 'timeline[0].duration=60' \\
        --set 'timeline[1].at=420' --set 'timeline[1].duration=120'        # 12 minutes
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "scenarios" / "long-drill.yaml"


def _kind(p: psutil.Process) -> str:
    try:
        cmd = " ".join(p.cmdline())
    except psutil.Error:
        return "gone"
    if "java" in cmd:
        if "MirrorMaker" in cmd or "connect" in cmd.lower():
            return "jvm: mirrormaker2"
        return "jvm: kafka broker"
    if "toxiproxy" in cmd:
        return "toxiproxy"
    return "kafkadrill runner" if "kafkadrill" in cmd else "other"


def sample(root: int, peaks: dict[str, int], stop: threading.Event) -> None:
    """Peak RSS (bytes) per process kind, of ``root`` and its descendants."""
    while not stop.wait(2.0):
        try:
            procs = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
        except psutil.Error:
            return
        for p in procs:
            try:
                rss = p.memory_info().rss
            except psutil.Error:
                continue
            kind = _kind(p)
            if kind == "gone":
                continue
            key = f"{kind} (pid {p.pid})" if kind.startswith("jvm") else kind
            peaks[key] = max(peaks.get(key, 0), rss)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", type=Path, default=SCENARIO)
    ap.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    ap.add_argument("--reports-dir", type=Path, default=None)
    args = ap.parse_args()
    reports = args.reports_dir or Path(tempfile.mkdtemp(prefix="kd-long-"))
    cmd = [sys.executable, "-m", "kafkadrill.cli", "run", str(args.scenario)]
    cmd += [x for s in args.sets for x in ("--set", s)] + ["--reports-dir", str(reports)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peaks: dict[str, int] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=sample, args=(proc.pid, peaks, stop), daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    stop.set()
    wall = time.perf_counter() - t0
    found = re.search(r"report: (\S+)/report\.html", out)
    if not found:
        print(out[-4000:])
        sys.exit(f"no run directory in the output (exit {proc.returncode})")
    run_dir = Path(found.group(1))
    report = json.loads((run_dir / "report.json").read_text())
    env = json.loads((run_dir / "environment.json").read_text())
    history = next(p for p in run_dir.iterdir() if p.name.startswith("history."))
    rpo, rto = report["rpo"], report["rto"]
    events = sum(1 for _ in _events(history))
    print(f"run: {run_dir} (exit {proc.returncode}, {wall:.0f} s)")
    print(f"verdict {report['verdict']}: acked {rpo['acked']:,}, lost {rpo['lost']}, writes "
          f"unavailable {rto.get('write_unavailable_seconds')} s")  # fmt: skip
    size = history.stat().st_size
    print(f"history: {history.name} {size / 1e6:,.1f} MB, {events:,} events, "
          f"{size / max(events, 1):.1f} bytes/event")  # fmt: skip
    print(f"stages: {env.get('stage_seconds')}")
    for key, rss in sorted(peaks.items()):
        print(f"  peak RSS {key}: {rss / (1 << 30):.2f} GiB")
    # The check's own peak, measured in a grandchild: this process's children include the run.
    sys.path.insert(0, str(HERE))
    from check_scale import time_check

    c = time_check(run_dir)
    print(f"kafkadrill check: exit {c['rc']}, {c['wall']:.1f} s, cpu {c['cpu']:.1f} s, "
          f"peak RSS {int(c['rss_kib']) / (1 << 20):.2f} GiB")  # fmt: skip


def _events(history: Path):  # type: ignore[no-untyped-def]
    from kafkadrill.history.columnar import is_columnar, iter_batches

    if is_columnar(history):
        for b in iter_batches(history):
            yield from range(b.num_rows)
    else:
        with history.open("rb") as f:
            yield from f


if __name__ == "__main__":
    main()
