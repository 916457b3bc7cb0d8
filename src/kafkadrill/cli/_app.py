"""What every `kafkadrill` command shares: the click group, the console, exit codes, the one
way to print data text safely, and the one way to fail (one line, exit 2)."""

from __future__ import annotations

import signal
import sys
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.status import Status

from kafkadrill.errors import KafkadrillError, ScenarioError

# soft_wrap: a long line stays one line (a pipe or CI log must not cut a figure in two).
console = Console(stderr=True, soft_wrap=True)
EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def safe(value: object) -> str:
    """Data text (a scenario value, a path, an error message, a broker's answer) for a markup
    line: escaped, so `[/x]` prints as itself instead of raising inside rich (a traceback with
    exit 1 would read as a drill FAIL in CI) and `[a-z0-9]` is not eaten as a style tag."""
    return escape(str(value))


def say(line: str, **kwargs: Any) -> None:
    """Print one console line (stderr). Markup in `line` is ours; data in it goes through
    `safe`. Read `console` at call time so a test can swap it."""
    console.print(line, **kwargs)


def spinner(text: str) -> Status:
    """A live status line; its text and every update follow the same rule as `say`."""
    return console.status(text)


def _sigterm_as_exit() -> None:
    """SIGTERM/SIGHUP unwind the stack like Ctrl-C so every context manager cleans up."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def _fail(exc: BaseException) -> None:
    kind = "scenario error" if isinstance(exc, ScenarioError) else "error"
    console.print(f"[bold red]{kind}:[/] {safe(exc)}")
    sys.exit(EXIT_ERROR)


@click.group()
@click.version_option(package_name="kafkadrill")
def main() -> None:
    """Chaos and disaster-recovery drills for multi-datacenter Apache Kafka."""


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


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
        f"[bold red]error:[/] {safe(type(exc).__name__)}: {safe(text)} "
        "(--debug shows the traceback)",
        highlight=False,
    )
    sys.exit(EXIT_ERROR)


_DEBUG = click.option("--debug", is_flag=True, help="Show the Python traceback of an error.")
