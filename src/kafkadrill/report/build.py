"""Assemble report.json from a stored history (checkers + objectives) and write the run dir.

Used by the runner after a drill and by `kafkadrill check RUN_DIR` to re-judge a stored
history offline: the history is the only input besides the drill's ReportSubject (name,
objectives, secrets: parts of the compiled plan). The report never reads a scenario file: the
caller above it (runner, CLI) loads and compiles one.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from kafkadrill.checkers.facts import iso
from kafkadrill.checkers.judge import judge
from kafkadrill.history import HistoryError, HistoryFrames, load_frames
from kafkadrill.history.folds import run_bounds
from kafkadrill.history.merge import segment_paths
from kafkadrill.plan import ReportSubject
from kafkadrill.report.run_status import run_status
from kafkadrill.report.store import history_path
from kafkadrill.secrets import scrub


def build_report(
    run_dir: Path,
    subject: ReportSubject,
    *,
    started: datetime | None,
    finished: datetime | None,
    error: str | None,
    versions: dict[str, Any],
) -> dict[str, Any]:
    return build_report_frames(
        run_dir, subject, started=started, finished=finished, error=error, versions=versions
    )[0]


def _refuse_unmerged(run_dir: Path) -> None:
    """Workers' segments still beside the history hold their producers' events: a report
    without them would judge a run that sent nothing."""
    unmerged = segment_paths(run_dir)
    if unmerged:
        raise HistoryError(
            unmerged[0],
            None,
            f"{len(unmerged)} workload worker segment(s) not merged into the history (the "
            f"runner ended before merging them); run `kafkadrill history merge {run_dir}`",
        )


def build_report_frames(
    run_dir: Path,
    subject: ReportSubject,
    *,
    started: datetime | None,
    finished: datetime | None,
    error: str | None,
    versions: dict[str, Any],
    loaded: Callable[[], object] | None = None,
) -> tuple[dict[str, Any], HistoryFrames]:
    """The report and the frames it was computed from: the history is parsed ONCE (columnar;
    only the rare events as dicts) and the same frames feed the checkers, the timeline and the
    plots (pass them on to :func:`write_outputs`). ``loaded`` is called once the frames are
    built, before the checkers run."""
    _refuse_unmerged(run_dir)
    frames = load_frames(history_path(run_dir))
    if loaded is not None:
        loaded()
    events = frames.events  # rare events only: run.*, phases, faults, runbook steps, probes
    # How the run ended comes from the history (run.end), not from the caller or an old report.
    error = run_status(events).error or error
    judged = judge(
        frames,
        subject.objectives,
        error=error,
        expected_anomalies=list(subject.expected_anomalies),
    )
    bounds = run_bounds(frames)
    start_ev, end_ev = bounds.start or {}, bounds.end or {}
    report: dict[str, Any] = {
        "scenario": subject.name,
        "description": subject.description,
        "run_id": start_ev.get("run_id", run_dir.name),
        "started_at": started.isoformat() if started else iso(start_ev.get("wall")),
        "finished_at": finished.isoformat() if finished else iso(end_ev.get("wall")),
        "seed": subject.seed,
        "versions": versions,
        **judged,
    }
    return report, frames


def write_outputs(
    run_dir: Path,
    report: dict[str, Any],
    environment: dict[str, Any] | None,
    secrets: set[str],
    history: Path | None = None,
    frames: HistoryFrames | None = None,
) -> None:
    from kafkadrill.report import render
    from kafkadrill.report.json_doc import render_json
    from kafkadrill.report.manifest import write_manifest
    from kafkadrill.report.redact import redact, scrub_run_dir
    from kafkadrill.report.store import history_path, write_json

    if environment is not None:
        write_json(run_dir / "environment.json", redact(environment))
    # report.json first: whatever happens while rendering, the verdict is on disk.
    write_json(run_dir / "report.json", render_json(redact(report)))
    if frames is None:  # parsed once by build_report_frames; here only for direct callers
        hist = history if history is not None else history_path(run_dir)
        frames = load_frames(hist) if hist.exists() else load_frames([])
    try:
        # Renders, scrubs every file of secrets, then writes the manifest last.
        render.write_report(run_dir, report, frames, secrets=secrets, seal=True)
    except BaseException:
        # Even if rendering failed: no secret in any file, and the manifest seals what exists.
        scrub_run_dir(run_dir, secrets)
        write_manifest(run_dir)
        raise


def build_and_write(
    run_dir: Path,
    subject: ReportSubject,
    *,
    started: datetime,
    finished: datetime,
    error: str | None,
    versions: dict[str, Any],
    environment: dict[str, Any],
) -> dict[str, Any]:
    report, frames = build_report_frames(
        run_dir, subject, started=started, finished=finished, error=error, versions=versions
    )
    environment = {**environment, "versions": versions}
    secrets = set(subject.secrets)
    write_outputs(run_dir, report, environment, secrets, frames=frames)
    # The caller prints it (error line, objectives): the same policy as the files on disk.
    # The findings stay out of the runner's copy, as before they were computed by the checkers
    # (only the written documents had them): pytest's failure text does not list them yet.
    return scrub({k: v for k, v in report.items() if k != "findings"}, secrets)


def recheck(
    run_dir: Path, out_dir: Path, subject_of: Callable[[Path], ReportSubject]
) -> dict[str, Any]:
    """`kafkadrill check`: re-judge a stored history and write the reports into ``out_dir``.

    The run directory is never written to (its files and manifest stay evidence); ``out_dir``
    gets report.json/md/html, plots, recheck.json (the original's state: intact / altered /
    unverifiable, and the sha256 of the history and scenario judged) and its own manifest. The
    verdict depends on the history and the scenario only, never on an old report.json.
    ``subject_of`` reads the stored scenario file (the caller loads and compiles it).
    """
    from kafkadrill.report.manifest import evidence_record
    from kafkadrill.report.store import SCENARIO_FILE, history_path, write_json

    hist = history_path(run_dir)
    _refuse_unmerged(run_dir)  # before the hash: the evidence record names what is judged
    # The record names the evidence judged (the original's state and the sha256 of what is
    # read). Hashing a 10M-event history takes seconds of one core; hashlib releases the GIL,
    # so it runs in a thread, started once the frames are built: the parse and the frames
    # keep both cores, the checkers (one thread) leave one free. Its errors come first, as
    # when it ran before anything was read.
    with ThreadPoolExecutor(1, thread_name_prefix="recheck-hash") as pool:
        pending: list[Future[dict[str, object]]] = []

        def start_hash() -> None:
            pending.append(pool.submit(evidence_record, run_dir, (SCENARIO_FILE, hist.name)))

        try:
            subject = subject_of(run_dir / SCENARIO_FILE)
            report, frames = build_report_frames(
                run_dir,
                subject,
                started=None,
                finished=None,
                error=None,
                versions={},
                loaded=start_hash,
            )
        except Exception:
            if not pending:  # failed before the hash started: the original's state first
                start_hash()
            pending[0].result()  # an unreadable original is the error to report
            raise
        record = pending[0].result()
    # The record goes before the findings: report.json has always had it there.
    findings = report.pop("findings")
    report.update(recheck=record, findings=findings)
    out_dir.mkdir(parents=True)
    write_json(out_dir / "recheck.json", record)
    secrets = set(subject.secrets)
    write_outputs(out_dir, report, None, secrets, history=hist, frames=frames)
    return scrub(report, secrets)
