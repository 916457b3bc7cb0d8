"""Drill commands: run, plan, check, verify, and the printed run summary."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from kafkadrill.cli._app import (
    _DEBUG,
    EXIT_ERROR,
    EXIT_FAIL,
    EXIT_PASS,
    _fail,
    _parse_sets,
    _sigterm_as_exit,
    _stamp,
    _unreadable,
    main,
    safe,
    say,
    spinner,
)
from kafkadrill.errors import KafkadrillError, ScenarioError

DEFAULT_SCENARIO = Path("scenarios/default.yaml")


def _progress_printer(live: Any) -> Any:
    last: dict[str, float] = {}

    def stamp(t: float) -> str:
        # Scenario times (`at:`) count from the fault phase; the run clock from the start: say
        # which is which once the fault phase has begun.
        if "faults_t0" not in last:
            return f"[run {t:6.1f}s]"
        return f"[run {t:6.1f}s, timeline {t - last['faults_t0']:6.1f}s]"

    def show(state: dict[str, Any]) -> None:
        if state.get("phase") == "faults" and "faults_t0" not in last:
            last["faults_t0"] = state["t"]
        faults = ", ".join(state.get("active_faults") or []) or "none"
        # Live rates from the counters' change since the previous update.
        dt = state["t"] - last.get("t", state["t"])
        if dt >= 0.5:
            last["ack_rate"] = (state["acked"] - last["acked"]) / dt
            last["recv_rate"] = (state["received"] - last["received"]) / dt
        if dt >= 0.5 or "t" not in last:
            last.update(t=state["t"], acked=state["acked"], received=state["received"])
        line = (
            f"{safe(stamp(state['t']))} phase [bold]{safe(state['phase'])}[/]  "
            f"produce {last.get('ack_rate', 0):6.0f}/s (acked {state['acked']}, "
            f"failed or unknown {state.get('errors', 0)})  "
            f"consume {last.get('recv_rate', 0):6.0f}/s (received {state['received']})  "
            f"active faults: {safe(faults)}"
        )
        live.update(line)
        if state.get("event"):
            say(f"  {safe(stamp(state['t']))} {safe(state['event'])}")

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
        with spinner(f"drill {safe(sc.name)}: starting topology") as status:
            result = run_drill(
                sc,
                runtime=runtime,
                reports_dir=reports_dir,
                progress=_progress_printer(status),
                topology_progress=lambda m: status.update(
                    f"[{time.monotonic() - t0:5.1f}s] topology: {safe(m)}"
                ),
                operator=operator,
                approved_by=approved_by,
                confirmed=confirmed,
            )
    except KeyboardInterrupt:
        say("[yellow]interrupted[/]: every process stopped; partial run kept")
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
    say(
        f"[bold {colour}]{report['verdict']}[/] {safe(report['scenario'])} (seed {report['seed']})",
        highlight=False,
    )
    for o in report.get("objectives", []):
        if o["verdict"] in ("PASS", "FAIL", "UNKNOWN"):
            say(
                f"  {o['verdict']:7} {safe(o['name'])}: target {_human(o['target'])}, "
                f"observed {_human(o['observed'])}",
                highlight=False,
            )
    rpo, rto = report.get("rpo", {}), report.get("rto", {})
    say(
        f"  RPO: acked {_human(rpo.get('acked'))}, lost {_human(rpo.get('lost'))}, window "
        f"{_human(rpo.get('window_seconds'), 's')}, duplicates {_human(rpo.get('duplicates'))}, "
        f"unknown {_human(rpo.get('unknown'))}",
        highlight=False,
    )
    say(
        f"  RTO: writes unavailable {_human(rto.get('write_unavailable_seconds'), 's')}, "
        f"reads unavailable {_human(rto.get('read_unavailable_seconds'), 's')}",
        highlight=False,
    )
    if report.get("error"):
        first = str(report["error"]).strip().splitlines() or [""]
        say(f"  [red]error:[/] {safe(first[0])}", highlight=False)
    click.echo(f"report: {run_dir / 'report.html'}")
    click.echo(f"        {run_dir / 'report.md'}")


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
        say("[yellow]interrupted[/]: no verdict")
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # every input problem is one line and exit 2, never a traceback
        _unreadable(exc, debug)
        return
    _print_result(report, out)
    state = (report.get("recheck") or {}).get("original_state")
    if state != "intact":
        say(
            f"  [yellow]original run directory {safe(state)}[/] "
            f"(see `kafkadrill verify {safe(run_dir)}`)"
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
    from kafkadrill.report.store import HEAL_FILE

    try:
        res = verify_manifest(run_dir)
    except Exception as exc:  # e.g. a file that cannot be read: cannot verify, no traceback
        if debug:
            raise
        say(f"[red]cannot verify[/]: {safe(f'{type(exc).__name__}: {exc}')}")
        sys.exit(EXIT_UNVERIFIABLE)
    if res.ok:
        say(f"[green]intact[/]: every file matches {safe(run_dir / 'MANIFEST.sha256')}")
        code = EXIT_INTACT
    elif res.error:
        say(f"[red]cannot verify[/]: {safe(res.error)}")
        code = EXIT_UNVERIFIABLE
    else:
        for label, items in (
            ("changed", res.changed),
            ("missing", res.missing),
            ("added", res.added),
        ):
            for item in items:
                say(f"[red]{label}[/]: {safe(item)}")
        code = EXIT_ALTERED
    # Re-checks (`kafkadrill check`) sit beside the run, each sealed by its own manifest.
    for d in sorted(p for p in run_dir.glob(f"{RECHECK_PREFIX}*") if p.is_dir()):
        say(f"  re-check {safe(d.name)} (own manifest): {verify_manifest(d).state}")
    if (run_dir / HEAL_FILE).is_file():
        say(f"  healed after the run (not sealed): {safe(run_dir / HEAL_FILE)}")
    sys.exit(code)
