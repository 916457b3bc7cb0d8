"""The Docker side of the compose runtime: the `docker` CLI, whether an engine answers, and
the labelled leftovers of runners that died (removed by the next start or `kafkadrill down`)."""

from __future__ import annotations

import json
import subprocess

import psutil

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.compose import render as cr


def docker_cli(*args: str, timeout: float = 120.0, check: bool = True) -> str:
    try:
        proc = subprocess.run(
            ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise TopologyError(
            "the compose runtime needs the docker CLI and a Docker engine "
            "(as root: bash .ci/docker-setup.sh)"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise TopologyError(f"docker {' '.join(args[:3])} timed out after {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        raise TopologyError(f"docker {' '.join(args[:4])} failed: {proc.stderr.strip()[-1500:]}")
    return proc.stdout


def docker_available() -> str | None:
    """None when a Docker engine answers and `docker compose` exists, else the reason."""
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        return f"no docker CLI or no answer: {exc}"
    if info.returncode != 0:
        return f"no Docker engine answers: {info.stderr.strip()[-300:]}"
    comp = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, timeout=20, check=False
    )
    if comp.returncode != 0:
        return "`docker compose` (Compose v2) is not installed"
    return None


def _runner_alive(pid: str, start: str) -> bool:
    try:
        proc = psutil.Process(int(pid))
        return abs(proc.create_time() - float(start)) < 1.0
    except (psutil.Error, ValueError):
        return False


def _labelled(kind: str) -> list[tuple[str, dict[str, str]]]:
    """(id, labels) of every container/network/volume carrying a kafkadrill runner label."""
    if kind == "container":
        ids = docker_cli(
            "ps", "-aq", "--no-trunc", "--filter", f"label={cr.LABEL_RUNNER_PID}"
        ).split()
        cmd = ["container", "inspect"]
    else:
        ids = docker_cli(kind, "ls", "-q", "--filter", f"label={cr.LABEL_RUNNER_PID}").split()
        cmd = [kind, "inspect"]
    if not ids:
        return []
    data = json.loads(docker_cli(*cmd, *ids, check=False) or "[]")
    out = []
    for item in data:
        labels = (item.get("Config") or {}).get("Labels") if kind == "container" else None
        labels = labels if labels is not None else item.get("Labels") or {}
        out.append((item.get("Id") or item.get("Name"), labels))
    return out


def cleanup_stale(include_alive: bool = False) -> list[str]:
    """Remove every labelled container, network and volume whose runner is gone (or all of
    them with `include_alive`, for `kafkadrill down`). Returns what was removed."""
    if docker_available() is not None:
        return []
    removed: list[str] = []
    for kind in ("container", "network", "volume"):
        doomed = []
        for ident, labels in _labelled(kind):
            pid = labels.get(cr.LABEL_RUNNER_PID, "")
            start = labels.get(cr.LABEL_RUNNER_START, "")
            if include_alive or not _runner_alive(pid, start):
                doomed.append(ident)
                removed.append(f"{kind} {labels.get(cr.LABEL_RUN, '?')}/{ident[:12]}")
        if not doomed:
            continue
        if kind == "container":
            docker_cli("rm", "-f", "-v", *doomed, check=False, timeout=300)
        else:
            docker_cli(kind, "rm", *doomed, check=False, timeout=120)
    return removed


def running_projects() -> list[dict[str, str]]:
    """Compose runtime projects on this machine with their runner's liveness (for status)."""
    if docker_available() is not None:
        return []
    seen: dict[str, dict[str, str]] = {}
    for _ident, labels in _labelled("container"):
        run = labels.get(cr.LABEL_RUN, "?")
        if run not in seen:
            alive = _runner_alive(
                labels.get(cr.LABEL_RUNNER_PID, ""), labels.get(cr.LABEL_RUNNER_START, "")
            )
            seen[run] = {
                "run_id": run,
                "project": labels.get("com.docker.compose.project", "?"),
                "runner_pid": labels.get(cr.LABEL_RUNNER_PID, "?"),
                "runner_alive": "yes" if alive else "no",
            }
    return list(seen.values())
