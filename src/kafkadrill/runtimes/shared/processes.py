"""Child-process supervision with a no-leak guarantee.

Three layers, because each covers a way the others can fail:
- every child gets PR_SET_PDEATHSIG=SIGKILL, so the kernel kills it when its parent dies, even
  by SIGKILL. The signal fires when the *thread* that forked exits, so all spawns happen on one
  long-lived spawner thread;
- every child runs in its own process group, so Ctrl-C in a terminal reaches only the runner,
  which then stops children in a controlled order;
- a state file records pid + start time of every child, so `kafkadrill down` and the next run
  can kill whatever a crashed runner left (pid reuse is ruled out by the start time).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psutil

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _child_setup() -> None:
    # Runs in the child between fork and exec.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setpgid(0, 0)


class _Spawner:
    """A single long-lived thread that forks every child (see module docstring)."""

    def __init__(self) -> None:
        self._q: queue.Queue[tuple[Callable[[], Any], queue.Queue[Any]]] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="kafkadrill-spawner", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            fn, reply = self._q.get()
            try:
                reply.put((True, fn()))
            except BaseException as exc:  # handed back to the caller
                reply.put((False, exc))

    def call(self, fn: Callable[[], Any]) -> Any:
        reply: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._q.put((fn, reply))
        ok, value = reply.get()
        if not ok:
            raise value
        return value


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def _get_spawner() -> _Spawner:
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()
        return _spawner


def spawn_guarded(argv: Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
    """A child outside any topology with the same no-leak guarantee as the supervised ones
    (PR_SET_PDEATHSIG from the spawner thread, its own process group): e.g. the one-node
    broker that builds the class-data sharing archive dies with the runner, even by SIGKILL."""
    return _get_spawner().call(
        lambda: subprocess.Popen(list(argv), preexec_fn=_child_setup, close_fds=True, **popen)
    )


def run_guarded(argv: Sequence[str], timeout: float) -> None:
    """Run `argv` to completion as a guarded child; CalledProcessError (with its output) if it
    fails, TimeoutExpired (after killing it) if it overruns."""
    child = spawn_guarded(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, list(argv), out)


@dataclass
class Child:
    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    log: IO[bytes]
    create_time: float

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None


def _create_time(pid: int) -> float:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return 0.0


class Supervisor:
    """Owns the children of one topology and a state file describing them."""

    def __init__(self, state_file: Path) -> None:
        self.state_file = state_file
        self.children: dict[str, Child] = {}
        self._lock = threading.Lock()
        self._extra: dict[str, Any] = {}  # descriptive fields kept across rewrites

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Child:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the child

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                preexec_fn=_child_setup,
                close_fds=True,
            )

        popen: subprocess.Popen[bytes] = _get_spawner().call(start)
        child = Child(name, list(argv), popen, log, _create_time(popen.pid))
        with self._lock:
            old = self.children.get(name)
            if old is not None and not old.log.closed:
                old.log.close()
            self.children[name] = child
            self._write_state()
        return child

    def signal(self, name: str, sig: int) -> None:
        child = self.children[name]
        if child.alive():
            os.kill(child.pid, sig)

    def wait_exit(self, name: str, timeout: float) -> bool:
        try:
            self.children[name].popen.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, name: str, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`; a stopped (SIGSTOP) child is resumed first."""
        child = self.children.get(name)
        if child is None or not child.alive():
            return
        try:
            os.kill(child.pid, signal.SIGCONT)
            os.kill(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        if not self.wait_exit(name, timeout):
            self.kill(name)

    def kill(self, name: str) -> None:
        child = self.children.get(name)
        if child is None:
            return
        if child.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
        child.popen.wait()

    def stop_all(self, timeout: float = 10.0, order: Sequence[str] = ()) -> None:
        names = [n for n in order if n in self.children]
        names += [n for n in self.children if n not in names]
        for name in names:
            child = self.children[name]
            if child.alive():
                try:
                    os.kill(child.pid, signal.SIGCONT)
                    os.kill(child.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for name in names:
            left = max(0.0, deadline - time.monotonic())
            if not self.wait_exit(name, left):
                self.kill(name)
        for child in self.children.values():
            if not child.log.closed:
                child.log.close()
        self.state_file.unlink(missing_ok=True)

    def _write_state(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        data = {
            **self._extra,
            "runner_pid": os.getpid(),
            "children": [
                {"name": c.name, "pid": c.pid, "create_time": c.create_time}
                for c in self.children.values()
            ],
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.state_file)

    def write_extra(self, **extra: Any) -> None:
        """Add descriptive fields (bootstrap addresses, run dir) to the state file. Kept for
        every later rewrite: a restarted child (a drill's MM2, a healed node) rewrites the file,
        and `kafkadrill status` lost the bootstraps after the first one."""
        with self._lock:
            self._extra.update(extra)
            self._write_state()


def kill_from_state(state_file: Path) -> list[int]:
    """Kill every child a state file lists that is still the same process; returns their pids."""
    try:
        data = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return []
    killed = []
    for entry in data.get("children", []):
        pid = int(entry["pid"])
        try:
            proc = psutil.Process(pid)
            if abs(proc.create_time() - float(entry["create_time"])) > 0.5:
                continue  # pid reused by an unrelated process
            proc.kill()
            killed.append(pid)
        except psutil.Error:
            continue
    state_file.unlink(missing_ok=True)
    return killed


def runner_alive(state_file: Path) -> bool:
    try:
        data = json.loads(state_file.read_text())
        return psutil.pid_exists(int(data["runner_pid"]))
    except (OSError, ValueError, KeyError):
        return False
