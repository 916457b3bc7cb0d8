"""`kafkadrill history ...`: the stored history as JSON Lines, whatever its format."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

import click

from kafkadrill.cli._app import EXIT_ERROR, main, safe, say


@main.group()
def history() -> None:
    """Work with a run's history (the source of truth of its report)."""


def _source(path: Path) -> Path:
    from kafkadrill.report.store import history_path

    return history_path(path) if path.is_dir() else path


@history.command()
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write here (must not exist) instead of standard output.",
)
def export(path: Path, output: Path | None) -> None:
    """The history of PATH (a run directory or a history file) as JSON Lines, one event per
    line in seq order, as docs/reference/history-format.md describes them.

    A columnar history (history.arrow) is converted batch by batch (memory: one batch); a JSON
    Lines history (.jsonl or .jsonl.gz) is checked and written as it is.
    """
    from kafkadrill.history import HistoryError

    source = _source(path)
    try:
        if output is None:
            n = _export(source, sys.stdout.buffer)
        else:
            with output.open("xb") as f:
                n = _export(source, f)
    except FileExistsError:
        say(f"[bold red]error:[/] {safe(output)} exists; choose a new file")
        sys.exit(EXIT_ERROR)
    except (HistoryError, OSError) as exc:
        say(f"[bold red]error:[/] {safe(exc)}")
        sys.exit(EXIT_ERROR)
    where = "standard output" if output is None else str(output)
    say(f"{n:,} events of {safe(source)} written to {safe(where)}", highlight=False)


def _export(source: Path, out: BinaryIO) -> int:
    import orjson

    from kafkadrill.history import read_history
    from kafkadrill.history.columnar import is_columnar, iter_event_dicts

    events = (
        iter_event_dicts(source) if is_columnar(source) else read_history(source, validate=True)
    )
    n = 0
    for ev in events:
        out.write(orjson.dumps(ev, option=orjson.OPT_APPEND_NEWLINE))
        n += 1
    out.flush()
    return n


@history.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
def merge(run_dir: Path) -> None:
    """Fold the workload workers' segments (history.w<N>.arrow) into the history of RUN_DIR.

    The runner does this at the end of every run; a runner that died first leaves them beside
    history.arrow, and `kafkadrill check` refuses the run until they are merged. The merged
    history is written beside the old one and replaces it at once; the segments are then
    removed (their events are in it).
    """
    from kafkadrill.history import HistoryError
    from kafkadrill.history.merge import merge_segments, segment_paths

    segments = segment_paths(run_dir)
    if not segments:
        say(f"nothing to merge: {safe(run_dir)} has no worker segment")
        return
    try:
        n = merge_segments(_source(run_dir), segments)
    except (HistoryError, OSError) as exc:
        say(f"[bold red]error:[/] {safe(exc)}")
        sys.exit(EXIT_ERROR)
    say(f"{len(segments)} segment(s) merged: {n:,} events in {safe(_source(run_dir))}")
