"""The `kafkadrill` command line."""

from __future__ import annotations

import json
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.console import Console

from kafkadrill.errors import KafkadrillError, ScenarioError, TopologyError

console = Console(stderr=True)
EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def _sigterm_as_exit() -> None:
    """SIGTERM/SIGHUP unwind the stack like Ctrl-C so every context manager cleans up."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def _fail(exc: BaseException) -> None:
    kind = "scenario error" if isinstance(exc, ScenarioError) else "error"
    console.print(f"[bold red]{kind}:[/] {exc}")
    sys.exit(EXIT_ERROR)


@click.group()
@click.version_option(package_name="kafkadrill")
def main() -> None:
    """Chaos and disaster-recovery drills for multi-datacenter Apache Kafka."""


@main.command()
@click.option("--kafka-version", default=None, help="Kafka version (default: pinned 4.x).")
def setup(kafka_version: str | None) -> None:
    """Fetch Kafka jars (Maven) and build Toxiproxy (go install) into the cache."""
    from kafkadrill.topology import provision

    try:
        with console.status("fetching Kafka jars with Maven (first time only)"):
            dist = provision.ensure_kafka(kafka_version)
        console.print(f"Kafka {dist.version} ({dist.source}): {dist.libs}")
        with console.status("building Toxiproxy with go install (first time only)"):
            tp = provision.ensure_toxiproxy()
        console.print(f"Toxiproxy {provision.TOXIPROXY_VERSION}: {tp}")
        console.print(provision.java_version())
    except KafkadrillError as exc:
        _fail(exc)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


@main.command()
@click.option("--nodes", default=3, show_default=True, help="Nodes per cluster.")
@click.option("--kafka-version", default=None, help="Kafka version (default: pinned 4.x).")
@click.option("--azs/--no-azs", default=False, help="Spread primary over 3 AZs (cuttable mesh).")
@click.option("--workdir", type=click.Path(path_type=Path), default=None,
              help="Where logs and configs go (default reports/up/<stamp>).")
@click.option("--for-seconds", type=float, default=None,
              help="Stop after this long instead of waiting for Ctrl-C.")
def up(nodes: int, kafka_version: str | None, azs: bool, workdir: Path | None,
       for_seconds: float | None) -> None:
    """Bring the default two-DC topology up and keep it running until Ctrl-C."""
    from kafkadrill.topology.local import LocalRuntime
    from kafkadrill.topology.model import DEFAULT_PRIMARY_AZS, two_dc

    _sigterm_as_exit()
    topo = two_dc(nodes, kafka_version=kafka_version,
                  primary_azs=DEFAULT_PRIMARY_AZS if azs else None)
    workdir = workdir or Path("reports") / "up" / _stamp()
    t0 = time.monotonic()
    try:
        with console.status("starting") as status:
            rt = LocalRuntime(topo, workdir, progress=lambda m: status.update(
                f"[{time.monotonic() - t0:5.1f}s] {m}"))
            rt.__enter__()
        try:
            console.print(f"[green]ready[/] in {rt.timings['ready_s']:.1f}s "
                          f"(Kafka {rt.kafka.version if rt.kafka else '?'}); logs in {workdir}")
            for c in topo.clusters:
                console.print(f"  {c.name} ({c.region}): {rt.bootstrap(c.name)}")
                console.print(f"    from other sites (through Toxiproxy): "
                              f"{rt.bootstrap(c.name, from_site='elsewhere')}")
            console.print(f"  toxiproxy API: 127.0.0.1:{rt.plan.toxiproxy_api}")
            console.print("Ctrl-C to stop.")
            deadline = None if for_seconds is None else time.monotonic() + for_seconds
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            rt.stop()
            console.print("stopped; every process cleaned up")
    except KeyboardInterrupt:
        console.print("interrupted; stopped")
    except KafkadrillError as exc:
        _fail(exc)


@main.command()
def down() -> None:
    """Kill every process of every topology started on this machine (also stale ones)."""
    from kafkadrill.topology.local import state_files
    from kafkadrill.topology.processes import kill_from_state

    total = 0
    for st in state_files():
        pids = kill_from_state(Path(st["state_file"]))
        total += len(pids)
    console.print(f"killed {total} process(es)")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """List topologies running on this machine."""
    import psutil

    from kafkadrill.topology.local import state_files

    states = state_files()
    for st in states:
        st["alive"] = {c["name"]: psutil.pid_exists(c["pid"]) for c in st.get("children", [])}
    if as_json:
        click.echo(json.dumps(states, indent=1))
        return
    if not states:
        console.print("no topology running")
    for st in states:
        alive = sum(st["alive"].values())
        runner = "alive" if st["runner_alive"] else "DEAD (run `kafkadrill down`)"
        console.print(f"topology {st['state_file']}: runner pid {st['runner_pid']} {runner}; "
                      f"{alive}/{len(st['alive'])} processes alive")
        for name, addr in st.get("bootstrap", {}).items():
            console.print(f"  {name}: {addr}")


def _json_default(obj: Any) -> Any:
    return str(obj)


if __name__ == "__main__":
    main()
