"""Scenario-file commands: validate, schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from kafkadrill.scenario import Scenario

from kafkadrill.cli._app import (
    _DEBUG,
    EXIT_ERROR,
    EXIT_PASS,
    _parse_sets,
    _unreadable,
    main,
    say,
)
from kafkadrill.errors import ScenarioError


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
            _require_capabilities(sc)
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
    say(f"{len(scenarios)} file(s), {bad} invalid")
    sys.exit(EXIT_ERROR if bad else EXIT_PASS)


def _require_capabilities(sc: Scenario) -> None:
    """The check `plan` and `run` make: a file valid here must not be refused there (an
    external scenario whose faults need adapters it does not configure)."""
    from kafkadrill.runner import require_capabilities
    from kafkadrill.runtimes.base import user_runtime
    from kafkadrill.scenario.compile import compile_plan

    require_capabilities(compile_plan(sc), user_runtime(sc.runtime or "local"))


@main.command()
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None)
@_DEBUG
def schema(output: Path | None, debug: bool) -> None:
    """Print the JSON Schema of scenario files (for editor completion and checking)."""
    from kafkadrill.scenario import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2)
    if output:
        try:
            output.write_text(text + "\n")
        except OSError as exc:  # a missing directory or no permission: one line, exit 2
            _unreadable(exc, debug)
    else:
        click.echo(text)
