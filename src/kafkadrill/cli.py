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
from rich.markup import escape

from kafkadrill.errors import KafkadrillError, ScenarioError

# soft_wrap: a long line stays one line (a pipe or CI log must not cut a figure in two).
console = Console(stderr=True, soft_wrap=True)
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
    from kafkadrill.runtimes.shared import provision

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


@main.command()
def runtimes() -> None:
    """List the registered runtimes and what each can do (capabilities)."""
    from kafkadrill.runtimes.base import runtime_names, runtime_type

    for name in runtime_names():
        rt = runtime_type(name)
        console.print(f"[bold]{name}[/]: {rt.summary}")
        console.print(f"  capabilities: {', '.join(sorted(rt.capabilities))}")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


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
        with console.status("starting") as status:
            rt = create_runtime(
                runtime,
                topo,
                workdir,
                progress=lambda m: status.update(f"[{time.monotonic() - t0:5.1f}s] {m}"),
            )
            rt.__enter__()
        try:
            console.print(
                f"[green]ready[/] in {rt.timings.get('ready_s', 0.0):.1f}s "
                f"(Kafka {rt.kafka_version() or '?'}, runtime {rt.kind}); logs in {workdir}"
            )
            for c in topo.clusters:
                console.print(f"  {c.name} ({c.region}): {rt.bootstrap(c.name)}")
                console.print(
                    f"    from other sites (through Toxiproxy): "
                    f"{rt.bootstrap(c.name, from_site='elsewhere')}"
                )
            api = rt.describe().get("toxiproxy_api")
            if api:
                console.print(f"  toxiproxy API: {api}")
            console.print(
                "Produce to any new topic on primary (created on first use); MirrorMaker 2 "
                "copies it to dr as primary.<topic>. Ctrl-C to stop."
            )
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
@click.option("--kafka-version", default=None, help="Kafka version (default: pinned 4.x).")
def images(kafka_version: str | None) -> None:
    """Build the compose runtime's Kafka and Toxiproxy images with no registry (mmdebstrap,
    docker import, Maven jars, go-built Toxiproxy); cached by content. Prints the names."""
    from kafkadrill.runtimes.compose.images import build_images

    try:
        with console.status("building images (first time: a Debian rootfs, ~1 min)") as st:
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
    console.print(f"killed {total} process(es)")
    # Compose runtime: containers, networks and volumes of runners that are gone (a live run
    # cleans up after itself; the playground docker-compose.yml carries no runner label and is
    # left to `docker compose down -v`).
    from kafkadrill.runtimes.compose.runtime import cleanup_stale as compose_cleanup

    removed = compose_cleanup()
    if removed:
        console.print(f"removed {len(removed)} compose container(s), network(s), volume(s)")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """List topologies running on this machine."""
    import psutil

    from kafkadrill.runtimes.local.runtime import state_files

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
        console.print(
            f"topology {st['state_file']}: runner pid {st['runner_pid']} {runner}; "
            f"{alive}/{len(st['alive'])} processes alive"
        )
        for name, addr in st.get("bootstrap", {}).items():
            console.print(f"  {name}: {addr}")


DEFAULT_SCENARIO = Path("scenarios/default.yaml")


def _parse_sets(values: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(
                f"{item!r}: expected KEY=VALUE, e.g. workload.producers.acks=1"
            )
        out[key.strip()] = value
    return out


def _progress_printer(live: Any) -> Any:
    last: dict[str, float] = {}

    def show(state: dict[str, Any]) -> None:
        faults = ", ".join(state.get("active_faults") or []) or "none"
        # Live rates from the counters' change since the previous update.
        dt = state["t"] - last.get("t", state["t"])
        if dt >= 0.5:
            last["ack_rate"] = (state["acked"] - last["acked"]) / dt
            last["recv_rate"] = (state["received"] - last["received"]) / dt
        if dt >= 0.5 or "t" not in last:
            last.update(t=state["t"], acked=state["acked"], received=state["received"])
        line = (
            f"[{state['t']:6.1f}s] phase [bold]{state['phase']}[/]  "
            f"produce {last.get('ack_rate', 0):6.0f}/s (acked {state['acked']})  "
            f"consume {last.get('recv_rate', 0):6.0f}/s (received {state['received']})  "
            f"active faults: {faults}"
        )
        live.update(line)
        if state.get("event"):
            console.print(f"  [{state['t']:6.1f}s] {state['event']}")

    return show


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path), required=False)
@click.option("--seed", type=int, default=None, help="Override the scenario seed.")
@click.option(
    "--reports-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True
)
@click.option("--kafka-version", default=None, help="Override topology.kafka_version.")
@click.option("--set", "sets", multiple=True, help="Override a scenario key: a.b.c=value.")
@click.option(
    "--runtime",
    default=None,
    help="What brings the topology to life (default: the scenario's `runtime`, else local; "
    "`kafkadrill runtimes` lists them).",
)
@click.option(
    "--yes", "-y", is_flag=True, help="Confirm a drill on clusters kafkadrill did not start."
)
@click.option("--operator", default=None, help="Who runs the drill (recorded as evidence).")
@click.option("--approved-by", default=None, help="Who approved the plan (recorded as evidence).")
@click.option(
    "--dry-run", is_flag=True, help="Print the plan (as `kafkadrill plan`); touch nothing."
)
def run(
    scenario: Path | None,
    seed: int | None,
    reports_dir: Path,
    kafka_version: str | None,
    sets: tuple[str, ...],
    runtime: str | None,
    yes: bool,
    operator: str | None,
    approved_by: str | None,
    dry_run: bool,
) -> None:
    """Run a drill (default: scenarios/default.yaml). Exit 0 PASS, 1 FAIL, 2 error/UNKNOWN."""
    from kafkadrill.runner import run_drill
    from kafkadrill.runtimes.base import user_runtime
    from kafkadrill.scenario import load_scenario

    _sigterm_as_exit()
    path = scenario or DEFAULT_SCENARIO
    overrides = _parse_sets(sets)
    if seed is not None:
        overrides["seed"] = seed
    if kafka_version:
        overrides["topology.kafka_version"] = kafka_version
    try:
        sc = load_scenario(path, overrides or None)
        if runtime is not None:
            user_runtime(runtime)
        if dry_run:
            _print_plan(sc, runtime)
            return
        confirmed = _confirm(sc, runtime, yes)
    except KafkadrillError as exc:
        _fail(exc)
        return
    t0 = time.monotonic()
    try:
        with console.status(f"drill {sc.name}: starting topology") as status:
            result = run_drill(
                sc,
                runtime=runtime,
                reports_dir=reports_dir,
                progress=_progress_printer(status),
                topology_progress=lambda m: status.update(
                    f"[{time.monotonic() - t0:5.1f}s] topology: {m}"
                ),
                operator=operator,
                approved_by=approved_by,
                confirmed=confirmed,
            )
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: every process stopped; partial run kept")
        sys.exit(EXIT_ERROR)
    except KafkadrillError as exc:
        _fail(exc)
        return
    _print_result(result.report, result.run_dir)
    sys.exit(result.exit_code)


def _print_plan(sc: Any, runtime: str | None) -> str:
    """Print the plan of a drill and its SHA-256 (stdout); returns the text. Touches nothing."""
    from kafkadrill.runner import require_capabilities
    from kafkadrill.runtimes.base import user_runtime
    from kafkadrill.runtimes.external.plan import plan_sha256, render_plan
    from kafkadrill.scenario.compile import compile_plan

    name = runtime or sc.runtime or "local"
    plan = compile_plan(sc)
    require_capabilities(plan, user_runtime(name))
    text = render_plan(plan, name)
    click.echo(text, nl=False)
    click.echo(f"plan sha256: {plan_sha256(text)}")
    return text


def _confirm(sc: Any, runtime: str | None, yes: bool) -> bool:
    """A drill on clusters kafkadrill did not start needs --yes or an interactive yes."""
    from kafkadrill.runtimes.base import user_runtime

    name = runtime or sc.runtime or "local"
    if not user_runtime(name).powers.needs_confirmation:
        return False
    if yes:
        return True
    if not sys.stdin.isatty():
        raise ScenarioError(
            f"runtime '{name}' acts on clusters kafkadrill did not start: refusing without "
            "confirmation",
            file=sc.source,
            field="runtime",
            fix="read `kafkadrill plan`, then add --yes",
        )
    _print_plan(sc, runtime)
    if not click.confirm(f"Run drill {sc.name} against these clusters?", default=False):
        raise ScenarioError("not confirmed: nothing was done", field="runtime")
    return True


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--set", "sets", multiple=True, help="Override a scenario key: a.b.c=value.")
@click.option("--runtime", default=None, help="Runtime (default: the scenario's, else local).")
def plan(scenario: Path, sets: tuple[str, ...], runtime: str | None) -> None:
    """Print the resolved plan of a drill (topology, every fault with its time and the exact
    commands it runs, runbook steps, objectives, what will be created) and its SHA-256.
    Starts, creates and changes nothing."""
    from kafkadrill.scenario import load_scenario

    try:
        _print_plan(load_scenario(scenario, _parse_sets(sets) or None), runtime)
    except KafkadrillError as exc:
        _fail(exc)


def _human(v: Any, unit: str = "") -> str:
    """A figure for people: floats to 2 decimals without trailing zeros (8.834751684999986 ->
    8.83), integers as they are (a seed is an id, never 933,818,049), None as n/a."""
    if v is None:
        return "n/a"
    if isinstance(v, float):
        text = f"{v:.2f}".rstrip("0").rstrip(".")
        text = "0" if text == "-0" else text
    else:
        text = str(v)
    return f"{text} {unit}" if unit else text


def _print_result(report: dict[str, Any], run_dir: Path) -> None:
    colour = {"PASS": "green", "FAIL": "red"}.get(report["verdict"], "yellow")
    console.print(
        f"[bold {colour}]{report['verdict']}[/] {escape(str(report['scenario']))} "
        f"(seed {report['seed']})",
        highlight=False,
    )
    for o in report.get("objectives", []):
        if o["verdict"] in ("PASS", "FAIL", "UNKNOWN"):
            console.print(
                f"  {o['verdict']:7} {escape(str(o['name']))}: target {_human(o['target'])}, "
                f"observed {_human(o['observed'])}",
                highlight=False,
            )
    rpo, rto = report.get("rpo", {}), report.get("rto", {})
    console.print(
        f"  RPO: acked {_human(rpo.get('acked'))}, lost {_human(rpo.get('lost'))}, window "
        f"{_human(rpo.get('window_seconds'), 's')}, duplicates {_human(rpo.get('duplicates'))}, "
        f"unknown {_human(rpo.get('unknown'))}",
        highlight=False,
    )
    console.print(
        f"  RTO: writes unavailable {_human(rto.get('write_unavailable_seconds'), 's')}, "
        f"reads unavailable {_human(rto.get('read_unavailable_seconds'), 's')}",
        highlight=False,
    )
    if report.get("error"):
        first = str(report["error"]).strip().splitlines() or [""]
        console.print(f"  [red]error:[/] {escape(first[0])}", highlight=False)
    click.echo(f"report: {run_dir / 'report.html'}")
    click.echo(f"        {run_dir / 'report.md'}")


def _unreadable(exc: BaseException, debug: bool) -> None:
    """Bad input or an unexpected failure on it: one line, exit 2; the traceback with --debug."""
    if debug:
        raise exc
    if isinstance(exc, KafkadrillError):
        _fail(exc)
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror or text}"
    console.print(
        f"[bold red]error:[/] {escape(type(exc).__name__)}: {escape(text)} "
        "(--debug shows the traceback)",
        highlight=False,
    )
    sys.exit(EXIT_ERROR)


_DEBUG = click.option("--debug", is_flag=True, help="Show the Python traceback of an error.")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the re-check goes (default RUN_DIR/recheck-<UTC stamp>).",
)
@_DEBUG
def check(run_dir: Path, output: Path | None, debug: bool) -> None:
    """Re-judge a stored history offline. Exit 0 PASS, 1 FAIL, 2 UNKNOWN/error.

    The verdict comes from the history and scenario.yaml only: a run whose history has no
    run.end (cut by a crash) or ends in error/interrupted is UNKNOWN. RUN_DIR is never
    modified: the re-check (reports, recheck.json naming the original's state, its own
    MANIFEST.sha256) is written beside it.
    """
    from kafkadrill.report.build import recheck
    from kafkadrill.scenario.compile import stored_report_subject

    out = output or _recheck_dir(run_dir)
    try:
        report = recheck(run_dir, out, stored_report_subject)
    except KeyboardInterrupt:
        # Not click's "Aborted!" (exit 1 would read as FAIL): no verdict was reached.
        console.print("[yellow]interrupted[/]: no verdict")
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # every input problem is one line and exit 2, never a traceback
        _unreadable(exc, debug)
        return
    _print_result(report, out)
    state = (report.get("recheck") or {}).get("original_state")
    if state != "intact":
        console.print(
            f"  [yellow]original run directory {state}[/] (see `kafkadrill verify {run_dir}`)"
        )
    sys.exit({"PASS": EXIT_PASS, "FAIL": EXIT_FAIL}.get(report["verdict"], EXIT_ERROR))


def _recheck_dir(run_dir: Path) -> Path:
    # A second check in the same second gets "-2", "-3"... (as run directories do).
    base = run_dir / f"recheck-{_stamp()}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


#: `kafkadrill verify` exit codes: intact, altered, cannot verify (no or unreadable manifest).
EXIT_INTACT, EXIT_ALTERED, EXIT_UNVERIFIABLE = 0, 1, 3


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@_DEBUG
def verify(run_dir: Path, debug: bool) -> None:
    """Check MANIFEST.sha256: was any file of a run directory altered?

    Exit 0 intact, 1 altered (a file changed, went missing or appeared), 3 cannot verify (no
    manifest, or an unreadable one).
    """
    from kafkadrill.report.manifest import RECHECK_PREFIX
    from kafkadrill.report.manifest import verify as verify_manifest

    try:
        res = verify_manifest(run_dir)
    except Exception as exc:  # e.g. a file that cannot be read: cannot verify, no traceback
        if debug:
            raise
        console.print(f"[red]cannot verify[/]: {escape(f'{type(exc).__name__}: {exc}')}")
        sys.exit(EXIT_UNVERIFIABLE)
    if res.ok:
        console.print(f"[green]intact[/]: every file matches {run_dir / 'MANIFEST.sha256'}")
        code = EXIT_INTACT
    elif res.error:
        console.print(f"[red]cannot verify[/]: {escape(res.error)}")
        code = EXIT_UNVERIFIABLE
    else:
        for label, items in (
            ("changed", res.changed),
            ("missing", res.missing),
            ("added", res.added),
        ):
            for item in items:
                console.print(f"[red]{label}[/]: {escape(item)}")
        code = EXIT_ALTERED
    # Re-checks (`kafkadrill check`) sit beside the run, each sealed by its own manifest.
    for d in sorted(p for p in run_dir.glob(f"{RECHECK_PREFIX}*") if p.is_dir()):
        console.print(f"  re-check {escape(d.name)} (own manifest): {verify_manifest(d).state}")
    sys.exit(code)


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--set", "sets", multiple=True, help="Override a scenario key: a.b.c=value.")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
def validate(scenarios: tuple[Path, ...], sets: tuple[str, ...], debug: bool) -> None:
    """Check scenario files without starting anything (for CI linting of scenario libraries).

    Prints every problem as FILE:LINE: FIELD: MESSAGE (fix: ...). Exit 0 when every file is
    valid, 2 when any is not.
    """
    from kafkadrill.scenario import load_scenario, located_problems

    overrides = _parse_sets(sets)
    bad = 0
    for path in scenarios:
        try:
            sc = load_scenario(path, overrides or None)
            n_faults = len(sc.schedule())
        except ScenarioError as exc:
            bad += 1
            for problem in located_problems(exc):
                click.echo(problem.format())
            continue
        except Exception as exc:  # a bug in kafkadrill must still not pass a file as valid
            bad += 1
            if debug:
                raise
            click.echo(
                f"{path}: internal error while validating ({type(exc).__name__}); "
                "run with --debug and report it"
            )
            continue
        click.echo(f"{path}: ok ({sc.name}: {n_faults} faults, seed {sc.seed})")
    console.print(f"{len(scenarios)} file(s), {bad} invalid")
    sys.exit(EXIT_ERROR if bad else EXIT_PASS)


@main.command()
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None)
def schema(output: Path | None) -> None:
    """Print the JSON Schema of scenario files (for editor completion and checking)."""
    from kafkadrill.scenario import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2)
    if output:
        output.write_text(text + "\n")
    else:
        click.echo(text)


# ---- comparison, sweeps and the run index (report/compare.py, sweep.py, report/index.py) ----


def _compare_default_dir() -> Path:
    # Under "_compare", not "compare": index.py treats every "<name>/<stamp>" under reports/ as
    # a run directory, and a leading "_" is never a scenario (see report/store.py).
    return Path("reports") / "_compare" / _stamp()


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Output directory (default reports/_compare/<UTC stamp>).",
)
@click.option(
    "--ignore",
    multiple=True,
    help="A scenario key never used to tell settings apart (seed, description always are).",
)
def compare(run_dirs: tuple[Path, ...], output: Path | None, ignore: tuple[str, ...]) -> None:
    """Compare runs across settings: RUN_DIR is a run, a scenario dir or a sweep dir.

    Groups runs by the scenario keys whose values differ and writes compare.md/.html/.csv,
    runs.csv, compare.json and plots/compare.png; prints the Markdown table.
    """
    from kafkadrill.report.compare import (
        DEFAULT_IGNORE,
        build_comparison,
        expand_run_dirs,
        load_run,
        markdown_table,
        write_comparison,
    )

    missing = [str(p) for p in run_dirs if not p.exists()]
    if missing:
        # A path that names nothing is a typo, not a run that left no report: exit 2.
        _fail(ScenarioError(f"no such run, scenario or sweep directory: {', '.join(missing)}"))
    dirs = expand_run_dirs(run_dirs)
    if not dirs:
        _fail(ScenarioError("no run directory found in " + ", ".join(map(str, run_dirs))))
    records = [load_run(d) for d in dirs]
    scenarios = sorted({str((r.report or {}).get("scenario") or "?") for r in records})
    comp = build_comparison(
        records,
        title="Comparison of " + ", ".join(scenarios),
        ignore=DEFAULT_IGNORE | set(ignore),
    )
    out = output or _compare_default_dir()
    paths = write_comparison(comp, out)
    click.echo(markdown_table(comp))
    click.echo(f"comparison: {paths['html']}")
    click.echo(f"            {paths['md']}")
    click.echo(f"            {paths['csv']}")


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--set",
    "sets",
    multiple=True,
    required=True,
    help=r"key=v1,v2,... (repeatable; '\,' or quotes or [..] keep a comma in a value).",
)
@click.option("--repeat", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--reports-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Use this seed for every drill (default: scenario seed + repeat index).",
)
@click.option("--runtime", default=None, help="What runs the topologies (default: local).")
def sweep(
    scenario: Path,
    sets: tuple[str, ...],
    repeat: int,
    reports_dir: Path,
    seed: int | None,
    runtime: str | None,
) -> None:
    """Run SCENARIO for every combination of --set values x --repeat, then compare.

    Every combination is validated before the first drill. Exit 0 all PASS, 1 any FAIL,
    2 any error/UNKNOWN, 130 interrupted (the partial comparison is still written).
    """
    from kafkadrill.report.compare import markdown_table
    from kafkadrill.runtimes.base import user_runtime
    from kafkadrill.sweep import SweepPoint, SweepRun, parse_sets, run_sweep, varying_keys

    _sigterm_as_exit()
    try:
        settings = parse_sets(sets)
        if runtime is not None:
            user_runtime(runtime)
    except KafkadrillError as exc:
        _fail(exc)
        return
    keys = varying_keys(settings)
    state: dict[str, Any] = {"status": None, "prefix": "", "t0": 0.0}

    def on_start(point: SweepPoint, planned: int) -> None:
        state["prefix"] = f"[{point.index + 1}/{planned}] {point.label(keys)} seed {point.seed}"
        state["t0"] = time.monotonic()
        console.print(f"[bold]{state['prefix']}[/]: starting")

    def on_done(run: SweepRun, planned: int) -> None:
        colour = {"PASS": "green", "FAIL": "red"}.get(run.verdict, "yellow")
        err = f"  ({run.error.splitlines()[0]})" if run.error else ""
        console.print(
            f"[bold]{state['prefix']}[/]: [{colour}]{run.verdict}[/] in {run.seconds or 0:.0f} s"
            f"  {run.run_dir or ''}{err}"
        )

    def drill_kwargs(point: SweepPoint) -> dict[str, Any]:
        status = state["status"]

        def progress(st: dict[str, Any]) -> None:
            faults = ", ".join(st.get("active_faults") or []) or "none"
            status.update(
                f"{state['prefix']}  [{st['t']:6.1f}s] {st['phase']}  acked {st['acked']}  "
                f"received {st['received']}  faults: {faults}"
            )

        def topology(msg: str) -> None:
            status.update(
                f"{state['prefix']}  [{time.monotonic() - state['t0']:5.1f}s] topology: {msg}"
            )

        return {"progress": progress, "topology_progress": topology, "runtime": runtime}

    try:
        with console.status("validating every combination") as status:
            state["status"] = status
            result = run_sweep(
                scenario,
                settings,
                repeat=repeat,
                reports_dir=reports_dir,
                seed=seed,
                on_start=on_start,
                on_done=on_done,
                drill_kwargs=drill_kwargs,
            )
    except KafkadrillError as exc:
        _fail(exc)
        return
    if result.interrupted:
        console.print(
            f"[yellow]interrupted[/] ({result.interrupted}) after {len(result.runs)} of "
            f"{result.planned} drills; partial comparison written"
        )
    if result.comparison is not None:
        click.echo(markdown_table(result.comparison))
    click.echo(f"sweep: {result.paths.get('sweep')}")
    for key in ("html", "md", "csv"):
        if key in result.paths:
            click.echo(f"       {result.paths[key]}")
    sys.exit(result.exit_code)


@main.command()
@click.option("--runs", type=click.IntRange(1, 20), default=3, show_default=True)
@click.option(
    "--latency-ms",
    type=click.FloatRange(0, 1000),
    default=10.0,
    show_default=True,
    help="one-way baseline WAN latency between regions (stretch: between sites)",
)
@click.option(
    "--rate",
    type=click.FloatRange(1, 100_000),
    default=1000.0,
    show_default=True,
    help="total produce rate, msg/s",
)
@click.option(
    "--reports-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True
)
@click.option("--runtime", default=None, help="default: local")
def models(
    runs: int, latency_ms: float, rate: float, reports_dir: Path, runtime: str | None
) -> None:
    """Measure the seeds' deployment-models table: active-passive, active-active and stretch
    under the same load, WAN latency and loss of a region (stretch: a site), RUNS times each.

    Minutes of real drills (3 models x RUNS x ~2 min); prints the seeds' claims next to the
    measured median (min-max) and writes the comparison (compare.md/.html/.csv) beside it.
    """
    from kafkadrill.models import MODELS, claims_table, comparison, run_models
    from kafkadrill.report.compare import write_comparison
    from kafkadrill.runtimes.base import user_runtime

    _sigterm_as_exit()
    try:
        if runtime is not None:
            user_runtime(runtime)
    except KafkadrillError as exc:
        _fail(exc)
        return

    def on_start(model: str, i: int) -> None:
        console.print(f"[bold][run {i + 1}/{runs}] {model}[/]: starting")

    def on_done(model: str, i: int, result: Any) -> None:
        err = f"  ({result.error.splitlines()[0]})" if result.error else ""
        console.print(f"[bold][run {i + 1}/{runs}] {model}[/]: {result.verdict}{err}")

    done = run_models(
        runs,
        reports_dir,
        latency_ms=latency_ms,
        rate=rate,
        runtime=runtime,
        on_start=on_start,
        on_done=on_done,
    )
    comp = comparison(done)
    out = reports_dir / "models" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    paths = write_comparison(comp, out)
    table = claims_table(comp)
    (out / "models.md").write_text(
        f"# Deployment models, measured\n\n{runs} run(s) per model, {rate:g} msg/s, "
        f"{latency_ms:g} ms one-way WAN latency.\n\n{table}"
    )
    click.echo(table)
    click.echo(f"models: {out / 'models.md'}")
    click.echo(f"        {paths['html']}")
    # An infrastructure error or a crashed drill is not a measurement: say so by the exit code.
    sys.exit(2 if len(done) < len(MODELS) * runs or any(r.errored for r in comp.runs) else 0)


@main.command()
@click.option(
    "--reports-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True
)
def reports(reports_dir: Path) -> None:
    """Build <reports-dir>/index.html and list every run, newest first."""
    from kafkadrill.report.index import build_index, collect_runs

    path = build_index(reports_dir)
    click.echo(f"index: {path}")
    for r in collect_runs(reports_dir):
        rto = r.write_unavailable_seconds
        click.echo(
            f"{r.stamp:20} {r.verdict:10} {r.scenario:28} lost {_fig(r.lost):>6}  "
            f"window {_fig(r.window_seconds, 's'):>8}  writes down {_fig(rto, 's'):>8}  "
            f"reads down {_fig(r.read_unavailable_seconds, 's'):>8}  {r.rel_dir}"
        )


def _fig(v: Any, unit: str = "") -> str:
    if v is None or isinstance(v, bool) or not isinstance(v, int | float):
        return "n/a"
    text = f"{v:.3f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)
    return text + unit


if __name__ == "__main__":
    main()
