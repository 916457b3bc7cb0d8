"""Comparison commands: compare, sweep, models, reports."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kafkadrill.report.compare import Comparison
    from kafkadrill.sweep import SweepPoint, SweepResult, SweepRun

from kafkadrill.cli._app import (
    _DEBUG,
    _fail,
    _sigterm_as_exit,
    _stamp,
    _unreadable,
    main,
    safe,
    say,
    spinner,
)
from kafkadrill.errors import KafkadrillError, ScenarioError

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
@_DEBUG
def compare(
    run_dirs: tuple[Path, ...], output: Path | None, ignore: tuple[str, ...], debug: bool
) -> None:
    """Compare runs across settings: RUN_DIR is a run, a scenario dir or a sweep dir.

    Groups runs by the scenario keys whose values differ and writes compare.md/.html/.csv,
    runs.csv, compare.json and plots/compare.png; prints the Markdown table.
    """
    from kafkadrill.report.compare import markdown_table, write_comparison

    _require_dirs(run_dirs)
    try:
        comp = _build(run_dirs, ignore)
        paths = write_comparison(comp, output or _compare_default_dir())
    except Exception as exc:  # an unreadable input or output path: one line, exit 2
        _unreadable(exc, debug)
        return
    click.echo(markdown_table(comp))
    click.echo(f"comparison: {paths['html']}")
    click.echo(f"            {paths['md']}")
    click.echo(f"            {paths['csv']}")


def _require_dirs(run_dirs: tuple[Path, ...]) -> None:
    """A path that names nothing is a typo, and a file is not a run: exit 2 (a run that left
    no report is different: it is evidence, and becomes an error row)."""
    missing = [str(p) for p in run_dirs if not p.exists()]
    if missing:
        _fail(ScenarioError(f"no such run, scenario or sweep directory: {', '.join(missing)}"))
    files = [str(p) for p in run_dirs if not p.is_dir()]
    if files:
        _fail(
            ScenarioError(
                f"not a directory: {', '.join(files)}",
                fix="name a run directory, a scenario directory or a sweep directory",
            )
        )


def _build(run_dirs: tuple[Path, ...], ignore: tuple[str, ...]) -> Comparison:
    from kafkadrill.report.compare import (
        DEFAULT_IGNORE,
        build_comparison,
        expand_run_dirs,
        load_run,
    )

    dirs = expand_run_dirs(run_dirs)
    if not dirs:
        _fail(ScenarioError("no run directory found in " + ", ".join(map(str, run_dirs))))
    records = [load_run(d) for d in dirs]
    scenarios = sorted({str((r.report or {}).get("scenario") or "?") for r in records})
    return build_comparison(
        records,
        title="Comparison of " + ", ".join(scenarios),
        ignore=DEFAULT_IGNORE | set(ignore),
    )


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
    from kafkadrill.runtimes.base import user_runtime
    from kafkadrill.sweep import parse_sets, run_sweep, varying_keys

    _sigterm_as_exit()
    try:
        settings = parse_sets(sets)
        if runtime is not None:
            user_runtime(runtime)
    except KafkadrillError as exc:
        _fail(exc)
        return
    shown = _SweepProgress(varying_keys(settings), runtime)
    try:
        with spinner("validating every combination") as status:
            shown.status = status
            result = run_sweep(
                scenario,
                settings,
                repeat=repeat,
                reports_dir=reports_dir,
                seed=seed,
                on_start=shown.on_start,
                on_done=shown.on_done,
                drill_kwargs=shown.drill_kwargs,
            )
    except KafkadrillError as exc:
        _fail(exc)
        return
    _print_sweep(result)
    sys.exit(result.exit_code)


class _SweepProgress:
    """What a sweep shows while it runs: a line per drill started and done, and the live status
    of the drill under way (its prefix names the combination, so a log reads on its own)."""

    def __init__(self, keys: list[str], runtime: str | None) -> None:
        self.keys, self.runtime = keys, runtime
        self.status: Any = None
        self.prefix, self.t0 = "", 0.0

    def on_start(self, point: SweepPoint, planned: int) -> None:
        self.prefix = safe(
            f"[{point.index + 1}/{planned}] {point.label(self.keys)} seed {point.seed}"
        )
        self.t0 = time.monotonic()
        say(f"[bold]{self.prefix}[/]: starting")

    def on_done(self, run: SweepRun, planned: int) -> None:
        colour = {"PASS": "green", "FAIL": "red"}.get(run.verdict, "yellow")
        err = f"  ({run.error.splitlines()[0]})" if run.error else ""
        say(
            f"[bold]{self.prefix}[/]: [{colour}]{run.verdict}[/] in {run.seconds or 0:.0f} s"
            f"  {safe(run.run_dir or '')}{safe(err)}"
        )

    def drill_kwargs(self, point: SweepPoint) -> dict[str, Any]:
        return {
            "progress": self.progress,
            "topology_progress": self.topology,
            "runtime": self.runtime,
        }

    def progress(self, st: dict[str, Any]) -> None:
        faults = ", ".join(st.get("active_faults") or []) or "none"
        self.status.update(
            f"{self.prefix}  [{st['t']:6.1f}s] {safe(st['phase'])}  acked {st['acked']}  "
            f"received {st['received']}  faults: {safe(faults)}"
        )

    def topology(self, msg: str) -> None:
        self.status.update(
            f"{self.prefix}  [{time.monotonic() - self.t0:5.1f}s] topology: {safe(msg)}"
        )


def _print_sweep(result: SweepResult) -> None:
    from kafkadrill.report.compare import markdown_table

    if result.interrupted:
        say(
            f"[yellow]interrupted[/] ({result.interrupted}) after {len(result.runs)} of "
            f"{result.planned} drills; partial comparison written"
        )
    if result.comparison is not None:
        click.echo(markdown_table(result.comparison))
    click.echo(f"sweep: {result.paths.get('sweep')}")
    for key in ("html", "md", "csv"):
        if key in result.paths:
            click.echo(f"       {result.paths[key]}")


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
@click.option(
    "--model",
    "only",
    multiple=True,
    type=click.Choice(["active-passive", "active-active", "stretch", "backup"]),
    help="run only this model (repeatable; default: all four)",
)
def models(
    runs: int,
    latency_ms: float,
    rate: float,
    reports_dir: Path,
    runtime: str | None,
    only: tuple[str, ...],
) -> None:
    """Measure the seeds' deployment-models table: active-passive, active-active, stretch and
    backup-only (seed 001) under the same load, WAN latency and loss of a region (stretch: a
    site), RUNS times each.

    Minutes of real drills (4 models x RUNS x ~2 min); prints the seeds' claims next to the
    measured median (min-max) and writes the comparison (compare.md/.html/.csv) beside it.
    """
    from kafkadrill.models import MODELS, claims_table, comparison, run_models

    chosen = tuple(m for m in MODELS if not only or m in only)
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
        say(f"[bold]{safe(f'[run {i + 1}/{runs}] {model}')}[/]: starting")

    def on_done(model: str, i: int, result: Any) -> None:
        err = f"  ({result.error.splitlines()[0]})" if result.error else ""
        label = safe(f"[run {i + 1}/{runs}] {model}")
        say(f"[bold]{label}[/]: {safe(result.verdict)}{safe(err)}")

    done = run_models(
        runs,
        reports_dir,
        latency_ms=latency_ms,
        rate=rate,
        models=chosen,
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
    sys.exit(2 if len(done) < len(chosen) * runs or any(r.errored for r in comp.runs) else 0)


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
