"""The `kafkadrill` command line.

`main` is the click group (pyproject's `kafkadrill = "kafkadrill.cli:main"`); each command group
lives in its own module and registers its commands on `main` when imported here.
"""

from __future__ import annotations

from kafkadrill.cli import compare, drill, heal, history, scenarios, topology
from kafkadrill.cli._app import EXIT_ERROR, EXIT_FAIL, EXIT_PASS, console, main
from kafkadrill.cli.drill import _print_result

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAIL",
    "EXIT_PASS",
    "_print_result",
    "compare",
    "console",
    "drill",
    "heal",
    "history",
    "main",
    "scenarios",
    "topology",
]
