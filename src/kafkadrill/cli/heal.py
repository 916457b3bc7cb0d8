"""`kafkadrill heal RUN_DIR`: undo what a dead runner left in force on clusters kafkadrill did
not start (issue 26), and the scan `kafkadrill status` uses to find such runs.

The run directory's undo journal (journal.jsonl) says what is still in force; its resolved
scenario.yaml says how to undo it (the `external:` section's commands, Toxiproxy, Connect).
Without --yes nothing is touched. The evidence of the run (history, reports, manifest) is never
rewritten: the heal appends its undos to the journal and writes heal.json beside them.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kafkadrill.cli._app import _DEBUG, EXIT_FAIL, EXIT_PASS, _unreadable, main, safe, say
from kafkadrill.errors import KafkadrillError, ScenarioError
from kafkadrill.runtimes.external.journal import (
    HEAL_FILE,
    JOURNAL_FILE,
    JournalFile,
    read_journal,
    runner_alive,
)

if TYPE_CHECKING:
    from kafkadrill.plan import DrillPlan
    from kafkadrill.runtimes.external.heal import HealResult, HealStep

_RUN_DIR_FIX = (
    "give the directory of one drill run, reports/<scenario>/<UTC stamp>/ "
    "(`kafkadrill status` lists the runs that died with faults in force)"
)


@dataclass(frozen=True)
class RunState:
    """What a run directory says about what its runner left in force."""

    run_dir: Path
    journal: JournalFile
    alive: bool | None  # the runner: True running, False gone, None cannot tell (other host)
    heal: dict[str, Any] | None  # heal.json, if a heal ran

    @property
    def needs_heal(self) -> bool:
        # A heal whose undo failed its verification journals that change as in force again.
        return self.alive is not True and bool(self.journal.pending)

    def summary(self) -> dict[str, Any]:
        h = self.journal.header or {}
        return {
            "run_dir": str(self.run_dir),
            "scenario": h.get("scenario"),
            "run_id": h.get("run_id"),
            "runner": {"pid": h.get("pid"), "host": h.get("host"), "alive": self.alive},
            "in_force": [p.describe() for p in self.journal.pending],
            "last_heal_failed": self.heal is not None and not self.heal.get("ok"),
            "heal_command": f"kafkadrill heal {self.run_dir} --yes",
        }


def _first_event(run_dir: Path) -> dict[str, Any]:
    """The history's run.start (one line: the runtime of a run without a journal)."""
    from kafkadrill.history.columnar import is_columnar, iter_event_dicts
    from kafkadrill.report.store import history_path

    path = history_path(run_dir)
    if is_columnar(path):
        with contextlib.suppress(OSError, ValueError):
            return next(iter(iter_event_dicts(path, validate=False)), {})
        return {}
    with contextlib.suppress(OSError, ValueError), path.open("rb") as f:
        first = json.loads(f.readline() or b"{}")
        return first if isinstance(first, dict) else {}
    return {}


def read_run(run_dir: Path) -> RunState:
    """The state of one run directory; ScenarioError naming the file and the fix for input
    that is no run of the external runtime."""
    if not run_dir.is_dir() or not (run_dir / "scenario.yaml").is_file():
        raise ScenarioError(
            "not a run directory (no scenario.yaml)", file=str(run_dir), fix=_RUN_DIR_FIX
        )
    path = run_dir / JOURNAL_FILE
    if not path.is_file():
        runtime = _first_event(run_dir).get("runtime")
        if runtime not in (None, "external"):
            raise ScenarioError(
                f"a run of the {runtime!r} runtime: heal undoes what the external runtime did "
                "on clusters kafkadrill did not start",
                file=str(path),
                fix="a local or compose topology is stopped with `kafkadrill down`",
            )
        raise ScenarioError(
            "no undo journal: the run changed nothing on the clusters, or was made by a "
            "kafkadrill without journals",
            file=str(path),
            fix="undo by hand what plan.txt and the history's adapter.exec events show",
        )
    journal = read_journal(path)
    if journal.header is None:
        raise ScenarioError("the journal has no `begin` entry", file=str(path), fix=_RUN_DIR_FIX)
    heal = None
    with contextlib.suppress(OSError, ValueError):
        heal = json.loads((run_dir / HEAL_FILE).read_text())
    return RunState(run_dir, journal, runner_alive(journal.header), heal)


def runs_in_force(reports_dir: Path) -> list[RunState]:
    """Every run under `reports_dir` whose runner is not running and that left changes in
    force (or whose heal failed). Reads only journals and heal.json: fast."""
    from kafkadrill.report.store import iter_run_dirs

    out = []
    for run_dir in iter_run_dirs(reports_dir):
        if not (run_dir / JOURNAL_FILE).is_file():
            continue
        try:
            state = read_run(run_dir)
        except (KafkadrillError, OSError):
            continue
        if state.needs_heal:
            out.append(state)
    return out


def _plan(run_dir: Path) -> DrillPlan:
    from kafkadrill.scenario import compile_plan, load_scenario

    plan = compile_plan(load_scenario(run_dir / "scenario.yaml"))
    if plan.runtime_options.get("external") is None:
        raise ScenarioError(
            "the run's scenario has no `external:` section",
            file=str(run_dir / "scenario.yaml"),
            fix="heal undoes only what the external runtime did",
        )
    return plan


def _refuse_live(state: RunState, runner_lost: bool) -> None:
    h = state.journal.header or {}
    who = f"pid {h.get('pid')} on {h.get('host')}"
    if state.alive:
        raise ScenarioError(
            f"the drill's runner ({who}) is still running: a live runner heals itself",
            file=str(state.journal.path),
            fix="stop it (Ctrl-C or SIGTERM heals); if it is killed, run heal again",
        )
    if state.alive is None and not runner_lost:
        raise ScenarioError(
            f"the runner ran on another host ({who}): whether it still runs cannot be told "
            "from here",
            file=str(state.journal.path),
            fix="if that machine or process is gone, pass --runner-lost",
        )


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One heal at a time per run (a second one refuses instead of racing the first)."""
    with path.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ScenarioError(
                "another `kafkadrill heal` of this run is running", file=str(path)
            ) from None
        yield


def _show_plan(state: RunState, steps: list[HealStep], plan: DrillPlan) -> None:
    from kafkadrill.runtimes.external.heal import render_heal
    from kafkadrill.runtimes.external.plan import redact_plan_text

    h = state.journal.header or {}
    lines = [
        f"run {state.run_dir} (scenario {h.get('scenario')}, run id {h.get('run_id')}): "
        f"runner pid {h.get('pid')} on {h.get('host')} is "
        + ("gone" if state.alive is False else "lost (--runner-lost)"),
        f"still in force ({len(state.journal.pending)}):",
        *[f"  - {p.describe()}" for p in state.journal.pending],
        "the heal will:",
        *render_heal(steps),
    ]
    if state.journal.damaged:
        lines.append(f"note: {state.journal.damaged} unreadable journal line(s) skipped")
    click.echo(redact_plan_text("\n".join(lines), plan.secrets))


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--yes", "-y", is_flag=True, help="Act: without it heal only prints its plan.")
@click.option(
    "--runner-lost",
    is_flag=True,
    help="The runner ran on another host that is gone: do not ask whether it still runs.",
)
@click.option("--operator", default=None, help="Who heals (default $USER; recorded).")
@_DEBUG
def heal(run_dir: Path, yes: bool, runner_lost: bool, operator: str | None, debug: bool) -> None:
    """Undo what a dead drill runner left in force on clusters kafkadrill did not start.

    Reads RUN_DIR/journal.jsonl and RUN_DIR/scenario.yaml, prints what is still in force and
    what it will run; with --yes undoes it (kafkadrill's own toxics, the flows and nodes it
    stopped, its run topics), verifies each undo and writes RUN_DIR/heal.json. Exit 0 healed
    (or nothing to heal, or no --yes), 1 an undo failed its verification, 2 bad input/refused.
    """
    from kafkadrill.runtimes.external.heal import plan_heal

    try:
        state = read_run(run_dir)
        _refuse_live(state, runner_lost)
        if not state.journal.pending:
            say(f"nothing in force: the journal of {safe(run_dir)} shows every change undone")
            sys.exit(EXIT_PASS)
        plan = _plan(run_dir)
        spec = plan.runtime_options["external"]
        run_id = str((state.journal.header or {}).get("run_id") or run_dir.name)
        steps = plan_heal(state.journal.pending, spec, plan.topology, run_id)
        _show_plan(state, steps, plan)
        if not yes:
            say("nothing was changed; pass --yes to run these undos")
            sys.exit(EXIT_PASS)
        with _exclusive(state.journal.path):
            record = _heal(state, plan, steps, run_id, operator)
    except KafkadrillError as exc:
        _unreadable(exc, debug)
        return
    sys.exit(EXIT_PASS if record["ok"] else EXIT_FAIL)


def _heal(
    state: RunState, plan: DrillPlan, steps: list[HealStep], run_id: str, operator: str | None
) -> dict[str, Any]:
    """Undo `steps` through an ExternalRuntime built for the run (never started), journal the
    undos, write heal.json; returns it."""
    from kafkadrill.runtimes.external.heal import execute_heal, load_pending
    from kafkadrill.runtimes.external.journal import Journal, process_identity
    from kafkadrill.runtimes.external.runtime import ExternalRuntime

    who = operator or os.environ.get("KAFKADRILL_OPERATOR") or _user()
    started = datetime.now(UTC)
    journal = Journal(state.journal.path)
    journal.append({"op": "heal", "operator": who, **process_identity()})
    rt = ExternalRuntime(
        plan.topology,
        state.run_dir,
        external=plan.runtime_options["external"],
        run_id=run_id,
        confirmed=True,
        groups=[g.group for g in plan.consumer_groups],
        journal=journal,
    )
    load_pending(rt, state.journal.pending)
    results = execute_heal(rt, steps)
    failed = [r for r in results if not (r.ok and r.verified)]
    for r in failed:  # as far as anyone knows still in force: status lists it, heal retries
        for p in r.step.pending:
            journal.append({**p.entry, "by": "heal", "note": f"undo not verified: {r.result}"})
    if not failed:
        journal.closed(by="heal")
    record = _record(state, results, failed, who, started)
    from kafkadrill.report.store import write_json

    write_json(state.run_dir / HEAL_FILE, record)
    _print_results(results, failed, state.run_dir)
    return record


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _record(
    state: RunState,
    results: list[HealResult],
    failed: list[HealResult],
    who: str | None,
    started: datetime,
) -> dict[str, Any]:
    return {
        "healed_at": started.isoformat(timespec="milliseconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "operator": who,
        "host": socket.gethostname(),
        "run_id": (state.journal.header or {}).get("run_id"),
        "runner": state.journal.header,
        "in_force": [{**p.entry, "what": p.describe()} for p in state.journal.pending],
        "actions": [r.as_dict() for r in results],
        "ok": not failed,
        "failed": [f"{r.step.undo} {r.step.target}" for r in failed],
    }


def _print_results(results: list[HealResult], failed: list[HealResult], run_dir: Path) -> None:
    for r in results:
        mark = "[green]ok[/]" if r.ok and r.verified else "[red]FAILED[/]"
        say(
            f"  {mark} {safe(r.step.undo)} {safe(r.step.target)} ({r.seconds:.1f} s): "
            f"{safe(r.result)}; verified: {safe(r.verification or 'no')}"
        )
    if failed:
        names = ", ".join(f"{r.step.undo} {r.step.target}" for r in failed)
        say(f"[bold red]not healed[/]: {safe(names)} (see {safe(run_dir / HEAL_FILE)})")
    else:
        say(f"[bold green]healed[/]: every undo verified; record in {safe(run_dir / HEAL_FILE)}")
