"""The compose runtime's dead-man switch: containers, networks and volumes die with the runner.

The local runtime's processes die with the runner by themselves (PR_SET_PDEATHSIG); containers
belong to dockerd, so a runner killed with SIGKILL (a CI timeout, the OOM killer, a lost
terminal) would leave a whole topology running until someone ran `kafkadrill down`. Like
testcontainers' Ryuk, a small watcher outlives the runner and removes what the runner leaves:

- the runner starts it (`start_reaper`) before `docker compose up`, in its own session (a
  Ctrl-C or a kill of the runner's process group does not reach it) and without a death signal;
- it blocks on a pipe only the runner writes to. `release()` (a clean `stop()`) writes `done`
  and it exits without touching anything. End of file without `done`, or the runner's pid
  gone (pid + start time, so a reused pid does not fool it), means the runner died: it kills
  any `docker compose` client still working on the project, then removes every container,
  network and volume labelled with the run id, sweeping until two sweeps find nothing.

What it cannot cover: the reaper itself being killed (e.g. a CI job that kills every process
of its cgroup). Then the next compose start or `kafkadrill down` removes the leftovers (their
labels name a dead runner) and `kafkadrill status` lists them meanwhile.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil

RELEASE = b"done\n"
SWEEP_LIMIT_SECONDS = 120.0  # a sweep that never comes back empty gives up (and says so)


@dataclass
class Reaper:
    """The runner's end: the watcher's process and the pipe it waits on."""

    proc: subprocess.Popen[bytes]

    def release(self) -> None:
        """The runner cleaned up itself: tell the watcher to exit without reaping."""
        pipe = self.proc.stdin
        if pipe is None or pipe.closed:
            return
        try:
            pipe.write(RELEASE)
            pipe.flush()
        except OSError:
            pass
        finally:
            pipe.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_reaper(run_id: str, compose_file: Path, log_file: Path) -> Reaper:
    """Start the watcher for this run (see the module doc)."""
    me = psutil.Process()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kafkadrill.runtimes.compose.reaper",
                "--run-id",
                run_id,
                "--runner-pid",
                str(me.pid),
                "--runner-start",
                f"{me.create_time():.3f}",
                "--compose-file",
                str(compose_file),
            ],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    return Reaper(proc)


# ----- the watcher's side ------------------------------------------------------------------


def runner_alive(pid: int, start: float) -> bool:
    try:
        return abs(psutil.Process(pid).create_time() - start) < 1.0
    except psutil.Error:
        return False


def wait_for_runner(pipe: IO[bytes], pid: int, start: float, poll: float = 0.5) -> bool:
    """Block until released (-> False) or the runner is gone (-> True: reap)."""
    fd = pipe.fileno()
    got = b""
    while True:
        ready, _, _ = select.select([fd], [], [], poll)
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:  # end of file: the runner's end closed
                return not got.startswith(RELEASE.strip())
            got += chunk
            if got.startswith(RELEASE.strip()):
                return False
        elif not runner_alive(pid, start):
            # A process forked by the runner may still hold the pipe open: the pid decides.
            return True


def compose_clients(compose_file: str) -> list[psutil.Process]:
    """`docker compose` processes still working on this project (e.g. an `up` the runner
    started before it died: it would create containers after the first sweep). They name the
    file in full, or relatively from the project's directory (testcontainers does that)."""
    project_dir = str(Path(compose_file).parent)
    found = []
    for p in psutil.process_iter(["cmdline", "cwd"]):
        cmd = p.info["cmdline"] or []
        if "compose" not in cmd:
            continue
        if compose_file in cmd or p.info["cwd"] == project_dir:
            found.append(p)
    return found


def sweep(run_id: str) -> list[str]:
    """Remove this run's labelled containers, then networks and volumes; -> what was found."""
    from kafkadrill.runtimes.compose.docker import docker_cli
    from kafkadrill.runtimes.compose.render import LABEL_RUN

    label = f"label={LABEL_RUN}={run_id}"
    found: list[str] = []
    ids = docker_cli("ps", "-aq", "--filter", label, check=False).split()
    if ids:
        docker_cli("rm", "-f", "-v", *ids, check=False, timeout=300)
        found += [f"container {i}" for i in ids]
    for kind in ("network", "volume"):
        ids = docker_cli(kind, "ls", "-q", "--filter", label, check=False).split()
        if ids:
            docker_cli(kind, "rm", *ids, check=False)
            found += [f"{kind} {i[:12]}" for i in ids]
    return found


def reap(run_id: str, compose_file: str, say: Callable[[str], None] = print) -> int:
    """Sweep until two sweeps in a row find nothing; -> resources removed (counted per sweep)."""
    t0 = time.monotonic()
    removed = 0
    empty = 0
    while empty < 2:
        for p in compose_clients(compose_file):
            say(f"killing docker compose client pid {p.pid}")
            with contextlib.suppress(psutil.Error):
                p.kill()
        found = sweep(run_id)
        removed += len(found)
        for what in found:
            say(f"removed {what}")
        empty = 0 if found else empty + 1
        if time.monotonic() - t0 > SWEEP_LIMIT_SECONDS:
            say(f"gave up after {SWEEP_LIMIT_SECONDS:.0f} s; `kafkadrill down` removes the rest")
            break
        if empty < 2:
            time.sleep(1.0)
    say(f"reaped run {run_id} in {time.monotonic() - t0:.1f} s")
    return removed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="kafkadrill-reaper")
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--runner-pid", type=int, required=True)
    ap.add_argument("--runner-start", type=float, required=True)
    ap.add_argument("--compose-file", required=True)
    args = ap.parse_args(argv)

    def say(msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} reaper {args.run_id}: {msg}", flush=True)

    say(f"watching runner pid {args.runner_pid}")
    if not wait_for_runner(sys.stdin.buffer, args.runner_pid, args.runner_start):
        say("released by the runner (it cleaned up itself)")
        return 0
    say("the runner died without cleaning up: reaping")
    reap(args.run_id, args.compose_file, say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
