"""The compose reaper (runtimes/compose/reaper.py): a runner killed with SIGKILL is reaped, a
runner that released it is not. A fake `docker` on PATH stands for the engine (the real one is
exercised in tests/integration/test_compose.py); the processes, the pipe and the signals are
real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kafkadrill.runtimes.compose import reaper

FAKE_DOCKER = textwrap.dedent(
    """\
    #!/bin/sh
    # Lists the run's resources until they are removed; records every call.
    echo "$@" >> "$FAKE_DOCKER_LOG"
    case "$1 $2" in
      "ps -aq") [ -f "$FAKE_DOCKER_DIR/removed" ] || echo "c1 c2" ;;
      "rm -f") touch "$FAKE_DOCKER_DIR/removed" ;;
      "network ls") [ -f "$FAKE_DOCKER_DIR/net-removed" ] || echo "n1" ;;
      "network rm") touch "$FAKE_DOCKER_DIR/net-removed" ;;
    esac
    exit 0
    """
)

RUNNER = textwrap.dedent(
    """\
    import sys, time
    from pathlib import Path
    from kafkadrill.runtimes.compose.reaper import start_reaper
    r = start_reaper("run-x", Path(sys.argv[1]) / "docker-compose.yml",
                     Path(sys.argv[1]) / "reaper.log")
    if sys.argv[2] == "release":
        r.release()
    print("READY", r.proc.pid, flush=True)
    time.sleep(600)
    """
)


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "docker"
    exe.write_text(FAKE_DOCKER)
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_DIR", str(tmp_path))
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(tmp_path / "docker.log"))
    return tmp_path


def _start_runner(tmp: Path, mode: str) -> tuple[subprocess.Popen[str], int]:
    src = str(Path(reaper.__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(tmp), mode], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY"), line
    return proc, int(line.split()[1])


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # The reaper is the runner's child: once the runner is gone it is re-parented and
        # reaped by init; until then a zombie still answers kill(0).
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.1)
    return False


def test_sigkilled_runner_is_reaped(fake_docker: Path) -> None:
    proc, reaper_pid = _start_runner(fake_docker, "keep")
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert _wait_gone(reaper_pid, 30), "the reaper did not finish"
        calls = (fake_docker / "docker.log").read_text().splitlines()
        assert "rm -f -v c1 c2" in calls
        assert "network rm n1" in calls
        assert "reaping" in (fake_docker / "reaper.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_released_reaper_touches_nothing(fake_docker: Path) -> None:
    proc, reaper_pid = _start_runner(fake_docker, "release")
    try:
        assert _wait_gone(reaper_pid, 10), "a released reaper did not exit"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert not (fake_docker / "docker.log").exists()
        assert "released" in (fake_docker / "reaper.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_wait_for_runner_reads_release_and_eof() -> None:
    me = reaper.psutil.Process()
    r, w = os.pipe()
    os.write(w, reaper.RELEASE)
    with os.fdopen(r, "rb") as pipe:
        assert reaper.wait_for_runner(pipe, me.pid, me.create_time()) is False
    os.close(w)
    r, w = os.pipe()
    os.close(w)  # end of file without `done`: the runner died
    with os.fdopen(r, "rb") as pipe:
        assert reaper.wait_for_runner(pipe, me.pid, me.create_time()) is True


def test_a_dead_runner_pid_triggers_even_with_the_pipe_open() -> None:
    r, w = os.pipe()  # a forked child could hold the runner's end open
    try:
        with os.fdopen(r, "rb") as pipe:
            assert reaper.wait_for_runner(pipe, os.getpid(), 1.0, poll=0.05) is True
    finally:
        os.close(w)
