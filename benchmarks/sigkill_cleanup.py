"""Seconds from SIGKILL of a runner to nothing of its topology left, per runtime (issue 26).

    python benchmarks/sigkill_cleanup.py [--runtime local|compose|both] [--rounds N]

Each round starts a runner process holding a 1+1 topology (two_dc(1): two Kafka nodes, MM2,
Toxiproxy) with a link cut in force, SIGKILLs it, and times until:
- local: every child process (recorded in the supervisor's state file) is gone;
- compose: no container, network or volume carries the run's label (the reaper's work).
Nobody runs a command after the kill. The external runtime's figure (a heal needs an operator's
`kafkadrill heal RUN_DIR --yes`) is measured by tests/integration/test_external.py.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

LOCAL = """
import sys, time
from pathlib import Path
from kafkadrill.runtimes.local.runtime import LocalRuntime
from kafkadrill.topology import two_dc
rt = LocalRuntime(two_dc(1), Path(sys.argv[1]))
rt.start()
rt.link_cut("east", "west")
print("READY", rt.supervisor.state_file, flush=True)
time.sleep(600)
"""

COMPOSE = """
import sys, time
from pathlib import Path
from kafkadrill.runtimes.compose.runtime import ComposeRuntime
from kafkadrill.topology import two_dc
rt = ComposeRuntime(two_dc(1), Path(sys.argv[1]))
rt.start()
rt.link_cut("east", "west")
print("READY", rt.run_id, flush=True)
time.sleep(600)
"""


def _until(pred: Callable[[], bool], timeout: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.1)
    return None


def _start(code: str, workdir: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, workdir], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        raise SystemExit(f"runner did not start: {line!r}")
    return proc, line.split(" ", 1)[1].strip()


def local_round(workdir: str) -> float | None:
    proc, state_file = _start(LOCAL, workdir)
    pids = [c["pid"] for c in json.loads(Path(state_file).read_text())["children"]]

    def gone() -> bool:
        for p in pids:
            try:
                if psutil.Process(p).status() != psutil.STATUS_ZOMBIE:
                    return False
            except psutil.NoSuchProcess:
                pass
        return True

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    return _until(gone, 60)


def compose_round(workdir: str) -> float | None:
    proc, run_id = _start(COMPOSE, workdir)
    label = f"label=io.kafkadrill.run={run_id}"

    def gone() -> bool:
        for cmd in (["ps", "-aq"], ["network", "ls", "-q"], ["volume", "ls", "-q"]):
            out = subprocess.run(
                ["docker", *cmd, "--filter", label], capture_output=True, text=True, check=False
            )
            if out.stdout.strip():
                return False
        return True

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    return _until(gone, 120)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", choices=["local", "compose", "both"], default="both")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rounds = {"local": local_round, "compose": compose_round}
    names = list(rounds) if args.runtime == "both" else [args.runtime]
    for name in names:
        took = []
        for i in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix=f"kd-sigkill-{name}-") as d:
                took.append(rounds[name](d))
            print(f"{name} round {i + 1}: {took[-1]}", flush=True)
        ok = [t for t in took if t is not None]
        worst = f"{max(ok):.1f}" if ok else "n/a"
        med = f"{statistics.median(ok):.1f}" if ok else "n/a"
        print(
            f"{name}: SIGKILL to clean, median {med} s, worst {worst} s, "
            f"{len(ok)}/{len(took)} clean"
        )


if __name__ == "__main__":
    main()
