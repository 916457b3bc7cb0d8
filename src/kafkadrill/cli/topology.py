"""Topology commands: setup, runtimes, up, images, down, status."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from kafkadrill.cli._app import (
    _fail,
    _sigterm_as_exit,
    _stamp,
    main,
    safe,
    say,
    spinner,
)
from kafkadrill.errors import KafkadrillError


@main.command()
@click.option("--kafka-version", default=None, help="Kafka version (default: pinned 4.x).")
def setup(kafka_version: str | None) -> None:
    """Fetch Kafka jars and Apicurio Registry (Maven), compile the backup sink connector (javac)
    and build Toxiproxy
    (go install) into the cache, then the JVM class-data sharing archive of those jars (faster
    node starts; optional)."""
    from kafkadrill.runtimes.shared import cds, provision, schema_registry

    try:
        with spinner("fetching Kafka jars with Maven (first time only)"):
            dist = provision.ensure_kafka(kafka_version)
        say(safe(f"Kafka {dist.version} ({dist.source}): {dist.libs}"))
        with spinner("compiling the backup sink connector with javac (first time only)"):
            plugin = provision.ensure_backup_plugin(dist)
        say(safe(f"backup sink connector: {plugin}"))
        with spinner("fetching Apicurio Registry with Maven (first time only)"):
            registry = schema_registry.ensure_apicurio()
        say(safe(f"Apicurio Registry {schema_registry.APICURIO_VERSION}: {registry}"))
        try:
            say(safe(f"Java 21+ for the schema registry: {schema_registry.find_java21()}"))
        except KafkadrillError as exc:  # only topology.schema_registry needs it
            say(safe(f"[yellow]warning[/]: {exc}"))
        with spinner("building Toxiproxy with go install (first time only)"):
            tp = provision.ensure_toxiproxy()
        say(safe(f"Toxiproxy {provision.TOXIPROXY_VERSION}: {tp}"))
        say(safe(provision.java_version()))
        with spinner("building the JVM class-data sharing archive (first time only)"):
            _archive, note = cds.ensure_archive(dist)
        say(safe(note))
    except KafkadrillError as exc:
        _fail(exc)


@main.command()
def runtimes() -> None:
    """List the registered runtimes and what each can do (capabilities)."""
    from kafkadrill.runtimes.base import runtime_names, runtime_type

    for name in runtime_names():
        rt = runtime_type(name)
        say(f"[bold]{name}[/]: {rt.summary}")
        if not rt.adapters:
            say(f"  capabilities: {', '.join(sorted(rt.capabilities))}")
            continue
        # Its real set is what the scenario's adapters give (RuntimeType.capabilities_for).
        say("  capabilities: depend on the adapters configured in the scenario; each gives:")
        for cap, setting in rt.adapters:
            say(f"    {cap}: {safe(setting)}")


@main.command()
@click.option("--nodes", default=3, show_default=True, help="Nodes per cluster.")
@click.option("--kafka-version", default=None, help="Kafka version (default: pinned 4.x).")
@click.option("--azs/--no-azs", default=False, help="Spread primary over 3 AZs (cuttable mesh).")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where logs and configs go (default reports/up/<stamp>).",
)
@click.option(
    "--for-seconds",
    type=float,
    default=None,
    help="Stop after this long instead of waiting for Ctrl-C.",
)
@click.option("--runtime", default="local", show_default=True, help="What runs the topology.")
def up(
    nodes: int,
    kafka_version: str | None,
    azs: bool,
    workdir: Path | None,
    for_seconds: float | None,
    runtime: str,
) -> None:
    """Bring the default two-DC topology up and keep it running until Ctrl-C."""
    from kafkadrill.runtimes.base import create_runtime, user_runtime
    from kafkadrill.topology import DEFAULT_PRIMARY_AZS, two_dc

    _sigterm_as_exit()
    try:
        user_runtime(runtime)
    except KafkadrillError as exc:
        _fail(exc)
    # A playground, not a drill: topics are created on first use, as on a stock cluster
    # (drills keep auto-creation off so that a typo never creates a topic).
    topo = two_dc(
        nodes,
        kafka_version=kafka_version,
        primary_azs=DEFAULT_PRIMARY_AZS if azs else None,
        broker_config={"auto.create.topics.enable": "true"},
    )
    workdir = workdir or Path("reports") / "up" / _stamp()
    t0 = time.monotonic()
    try:
        with spinner("starting") as status:
            rt = create_runtime(
                runtime,
                topo,
                workdir,
                progress=lambda m: status.update(f"[{time.monotonic() - t0:5.1f}s] {safe(m)}"),
            )
            rt.__enter__()
        try:
            say(
                f"[green]ready[/] in {rt.timings.get('ready_s', 0.0):.1f}s "
                f"(Kafka {safe(rt.kafka_version() or '?')}, runtime {rt.kind}); "
                f"logs in {safe(workdir)}"
            )
            for c in topo.clusters:
                say(safe(f"  {c.name} ({c.region}): {rt.bootstrap(c.name)}"))
                say(
                    f"    from other sites (through Toxiproxy): "
                    f"{safe(rt.bootstrap(c.name, from_site='elsewhere'))}"
                )
            api = rt.describe().get("toxiproxy_api")
            if api:
                say(f"  toxiproxy API: {safe(api)}")
            say(
                "Produce to any new topic on primary (created on first use); MirrorMaker 2 "
                "copies it to dr as primary.<topic>. Ctrl-C to stop."
            )
            deadline = None if for_seconds is None else time.monotonic() + for_seconds
            while deadline is None or time.monotonic() < deadline:
                time.sleep(2.0)
                if _all_nodes_down(rt, topo):
                    # `kafkadrill down` from another terminal: nothing left to keep running.
                    say("every node is down (kafkadrill down?); stopping")
                    break
        finally:
            rt.stop()
            say("stopped; every process cleaned up")
    except KeyboardInterrupt:
        say("interrupted; stopped")
    except KafkadrillError as exc:
        _fail(exc)


def _all_nodes_down(rt: Any, topo: Any) -> bool:
    return all(rt.node_state(c.name, n.node_id) == "down" for c in topo.clusters for n in c.nodes)


@main.command()
@click.option("--kafka-version", default=None, help="Kafka version (default: pinned 4.x).")
def images(kafka_version: str | None) -> None:
    """Build the compose runtime's Kafka and Toxiproxy images with no registry (mmdebstrap,
    docker import, Maven jars, go-built Toxiproxy); cached by content. Prints the names."""
    from kafkadrill.runtimes.compose.images import build_images

    try:
        with spinner("building images (first time: a Debian rootfs, ~1 min)") as st:
            built = build_images(kafka_version, progress=lambda m: st.update(m))
    except KafkadrillError as exc:
        _fail(exc)
        return
    click.echo(f"kafka: {built.kafka}")
    click.echo(f"toxiproxy: {built.toxiproxy}")


@main.command()
def down() -> None:
    """Kill every process of every topology started on this machine (also stale ones)."""
    from kafkadrill.runtimes.local.runtime import state_files
    from kafkadrill.runtimes.shared.processes import kill_from_state

    total = 0
    for st in state_files():
        pids = kill_from_state(Path(st["state_file"]))
        total += len(pids)
    say(f"killed {total} process(es)")
    # Compose runtime: containers, networks and volumes of runners that are gone (a live run
    # cleans up after itself; the playground docker-compose.yml carries no runner label and is
    # left to `docker compose down -v`).
    from kafkadrill.runtimes.compose.runtime import cleanup_stale as compose_cleanup

    removed = compose_cleanup()
    if removed:
        say(f"removed {len(removed)} compose container(s), network(s), volume(s)")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--reports-dir",
    type=click.Path(path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Where run directories are searched for drills that died with faults in force.",
)
@click.option(
    "--readiness",
    is_flag=True,
    help="Also read failover readiness now: per MM2 flow and consumer group, checkpoint "
    "coverage, the oldest checkpoint's age, and records behind the group's committed position.",
)
@click.option(
    "--bootstrap",
    "bootstraps",
    multiple=True,
    metavar="CLUSTER=HOST:PORT",
    help="With --readiness: clusters to read besides this machine's topologies (plaintext "
    "listeners; name each cluster as MM2 aliases it). Repeatable.",
)
def status(as_json: bool, reports_dir: Path, readiness: bool, bootstraps: tuple[str, ...]) -> None:
    """List topologies running on this machine (local processes, compose projects), and drill
    runs on clusters kafkadrill did not start whose runner died with faults in force (each with
    its `kafkadrill heal` command). With --readiness, how ready each MM2 flow is for a failover
    now."""
    import psutil

    from kafkadrill.cli.heal import runs_in_force
    from kafkadrill.runtimes.compose.docker import running_projects
    from kafkadrill.runtimes.local.runtime import state_files

    states = state_files()
    for st in states:
        st["alive"] = {c["name"]: psutil.pid_exists(c["pid"]) for c in st.get("children", [])}
    projects = running_projects()
    dead = [r.summary() for r in runs_in_force(reports_dir)]
    ready = _readiness(states, bootstraps) if readiness else None
    if as_json:
        doc = {
            "topologies": states,
            "compose_projects": projects,
            "runs_with_faults_in_force": dead,
        }
        if ready is not None:
            doc["readiness"] = ready
        click.echo(json.dumps(doc, indent=1))
        return
    if not states and not projects:
        say("no topology running")
    for st in states:
        alive = sum(st["alive"].values())
        runner = "alive" if st["runner_alive"] else "DEAD (run `kafkadrill down`)"
        say(
            f"topology {safe(st['state_file'])}: runner pid {st['runner_pid']} {runner}; "
            f"{alive}/{len(st['alive'])} processes alive"
        )
        for name, addr in st.get("bootstrap", {}).items():
            say(safe(f"  {name}: {addr}"))
    for pr in projects:
        runner = (
            "alive"
            if pr["runner_alive"] == "yes"
            else "DEAD (its reaper removes it within seconds; else run `kafkadrill down`)"
        )
        say(
            safe(
                f"compose project {pr['project']} (run {pr['run_id']}): "
                f"runner pid {pr['runner_pid']} {runner}"
            )
        )
    _print_dead_runs(dead)
    if ready is not None:
        _print_readiness(ready)


def _readiness(states: list[dict[str, Any]], given: tuple[str, ...]) -> list[dict[str, Any]]:
    """Live readiness per topology of this machine and for the --bootstrap clusters."""
    from kafkadrill.runbooks.readiness import live_readiness
    from kafkadrill.workload.access import ConfluentClients

    sets: list[tuple[str, dict[str, str]]] = [
        (str(st["state_file"]), dict(st.get("bootstrap", {}))) for st in states
    ]
    if given:
        named: dict[str, str] = {}
        for item in given:
            name, sep, addr = item.partition("=")
            if not sep or not name or not addr:
                raise click.BadParameter(
                    f"{item!r}: expected CLUSTER=HOST:PORT, e.g. dr=127.0.0.1:9092",
                    param_hint="--bootstrap",
                )
            named[name] = addr
        sets.append(("--bootstrap", named))
    clients = ConfluentClients()
    return [{"clusters": where, "flows": live_readiness(clients, boots)} for where, boots in sets]


def _print_readiness(ready: list[dict[str, Any]]) -> None:
    for entry in ready:
        say(safe(f"readiness ({entry['clusters']}):"))
        if not entry["flows"]:
            say("  no MirrorMaker 2 checkpoints found")
        for flow in entry["flows"]:
            if "error" in flow:
                what = flow["flow"] or f"cluster {flow['cluster']}"
                say(safe(f"  {what}: cannot read ({flow['error']})"))
                continue
            if not flow["groups"]:
                say(safe(f"  {flow['flow']}: no group checkpointed"))
            for group, g in flow["groups"].items():
                age = "n/a" if g["max_age_s"] is None else f"{g['max_age_s']:g} s"
                behind = g["behind_records"]
                say(
                    safe(
                        f"  {flow['flow']} {group}: {g['checkpoints']} checkpoint(s), oldest "
                        f"{age}, "
                        + (
                            "distance to its committed position n/a"
                            if behind is None
                            else f"{behind} record(s) behind its committed position"
                        )
                        + (f"; MISSING {', '.join(g['missing'])}" if g["missing"] else "")
                    )
                )
            if "source_error" in flow:
                say(safe(f"    source not read: {flow['source_error']}"))


def _print_dead_runs(dead: list[dict[str, Any]]) -> None:
    for run in dead:
        runner = run["runner"]
        state = "gone" if runner["alive"] is False else "on another host (cannot tell)"
        say(
            f"[bold red]faults in force[/] on {safe(run['scenario'])}, run "
            f"{safe(run['run_dir'])}: runner pid {runner['pid']} {state}"
            + (" (last heal failed)" if run["last_heal_failed"] else "")
        )
        for what in run["in_force"]:
            say(f"  - {safe(what)}")
        say(f"  heal: {safe(run['heal_command'])}")
