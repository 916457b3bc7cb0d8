"""A runner killed with SIGKILL leaves no child process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.integration

RUNNER = """
import sys, time
from pathlib import Path
from kafkadrill.runtimes.local.runtime import LocalRuntime
from kafkadrill.topology import two_dc
rt = LocalRuntime(two_dc(1), Path(sys.argv[1]))
rt.start()
print("READY", rt.supervisor.state_file, flush=True)
time.sleep(600)
"""


def test_sigkilled_runner_leaves_no_children(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY"), f"runner did not start: {line!r}"
        state = json.loads(Path(line.split(" ", 1)[1].strip()).read_text())
        pids = [c["pid"] for c in state["children"]]
        assert len(pids) >= 4  # toxiproxy, 2 nodes, MM2
        assert all(psutil.pid_exists(p) for p in pids)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 15
        alive = pids
        while alive and time.monotonic() < deadline:
            alive = [
                p
                for p in pids
                if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
            ]
            time.sleep(0.2)
        assert not alive, f"children survived the runner's SIGKILL: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()
