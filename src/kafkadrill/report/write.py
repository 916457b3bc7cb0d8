"""Writing a run directory's report: plots, report.json, report.md, report.html, manifest.

Written for two readers: an auditor who files it (what was tested, on what versions, did it
meet its objectives, with evidence) and an on-call engineer who acts on it (what broke, how long
each recovery phase took, what to change). Every figure comes from the checkers (the report
dict and the history's frames); this module only arranges and formats.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from kafkadrill.checkers.judge import complete
from kafkadrill.history import HistoryFrames
from kafkadrill.report.format import checker, num
from kafkadrill.report.html_page import render_html
from kafkadrill.report.json_doc import render_json
from kafkadrill.report.manifest import write_manifest
from kafkadrill.report.markdown import render_markdown
from kafkadrill.report.plots import as_frames, render_plots
from kafkadrill.report.redact import (
    find_secrets,
    find_secrets_in_text,
    redact,
    redact_text,
    scrub_run_dir,
)
from kafkadrill.report.store import (
    ENVIRONMENT_FILE,
    PLOTS_DIR,
    REPORT_HTML,
    REPORT_JSON,
    REPORT_MD,
    SCENARIO_FILE,
    write_json,
    write_text,
)

__all__ = ["REPORT_FILE_DESCRIPTIONS", "prepare_report", "write_report"]


def prepare_report(report: Mapping[str, Any], frames: HistoryFrames) -> dict[str, Any]:
    """A copy of ``report`` with the checker output it lacks filled in by the checkers
    (:func:`kafkadrill.checkers.judge.complete`); nothing is derived here."""
    return complete(report, frames)


# -- writing a run directory ---------------------------------------------------------------
REPORT_FILE_DESCRIPTIONS = {
    SCENARIO_FILE: "the resolved scenario (secrets redacted)",
    "history.jsonl": "every event of the run (the source of truth)",
    "history.jsonl.gz": "every event of the run, gzipped (the source of truth)",
    "history.arrow": "every event of the run, columnar (the source of truth; "
    "`kafkadrill history export` gives JSON Lines)",
    REPORT_JSON: "verdict and figures, machine-readable",
    REPORT_MD: "this report, Markdown",
    REPORT_HTML: "this report, one self-contained HTML file",
    ENVIRONMENT_FILE: "versions and configurations",
    "logs/": "every process's log",
    "plots/": "the plots, PNG",
    "MANIFEST.sha256": "sha256 of every other file",
}


def _run_dir_secrets(run_dir: Path) -> set[str]:
    """Secrets declared in the run's own config files (scenario, environment, .properties)."""
    found: set[str] = set()
    for path in run_dir.rglob("*"):
        if not path.is_file() or path.suffix not in (
            ".yaml",
            ".yml",
            ".properties",
            ".json",
            ".conf",
            ".cfg",
        ):
            continue
        if path.name == REPORT_JSON or path.stat().st_size > 4 << 20:
            continue
        text = path.read_text("utf-8", errors="replace")
        found |= find_secrets_in_text(text)
        try:
            if path.suffix == ".json":
                found |= find_secrets(orjson.loads(text))
            elif path.suffix in (".yaml", ".yml"):
                import yaml

                found |= find_secrets(yaml.safe_load(text))
        except Exception:  # a malformed file is still scrubbed by the text rules
            pass
    return found


def _clean(frames: HistoryFrames, secrets: set[str]) -> HistoryFrames:
    """Frames whose rare events are redacted (they carry the free text that reaches plot
    labels: fault targets, runbook details); per-message frames and the checkers' cached
    work are shared, not copied."""
    events = []
    for e in frames.events:
        red = redact(e)
        events.append(
            {k: redact_text(v, secrets) if isinstance(v, str) else v for k, v in red.items()}
        )
    return dataclasses.replace(frames, events=events, cache=frames.cache)


def write_report(
    run_dir: Path | str,
    report: Mapping[str, Any],
    history: HistoryFrames | Sequence[Mapping[str, Any]],
    *,
    secrets: Iterable[str] = (),
    seal: bool = True,
) -> dict[str, Path]:
    """Write plots, report.json, report.md and report.html into ``run_dir``.

    ``history``: the run's frames (as loaded once for the checkers), or a list of events.

    Then scrubs every file of the run directory of known secrets (``secrets`` plus those
    declared in scenario.yaml / environment.json / *.properties there) and, with ``seal``,
    writes MANIFEST.sha256 last. Returns ``{"json", "md", "html", "manifest"?, <plot keys>}``.
    Raises RuntimeError if a secret remains in a binary file (it cannot be scrubbed).
    """
    run_dir = Path(run_dir)
    known = {s for s in secrets if s} | _run_dir_secrets(run_dir) | find_secrets(report)
    frames = _clean(as_frames(history), known)
    rep = prepare_report(redact(report), frames)

    loss = checker(rep, "loss")
    lost_samples = [e for e in loss.get("evidence") or [] if isinstance(e, Mapping)]
    lost_total = num((rep.get("rpo") or {}).get("lost"))
    plots = render_plots(
        frames,
        run_dir / PLOTS_DIR,
        lost=lost_samples,
        lost_total=int(lost_total) if lost_total is not None else None,
    )
    files = {
        name: desc
        for name, desc in REPORT_FILE_DESCRIPTIONS.items()
        if (run_dir / name.rstrip("/")).exists()
        or name in (REPORT_JSON, REPORT_MD, REPORT_HTML, "plots/")
        or (name == "MANIFEST.sha256" and seal)
    }
    rep["report_files"] = files

    out: dict[str, Path] = dict(plots)
    out["json"] = write_json(run_dir / REPORT_JSON, render_json(rep))
    out["md"] = write_text(run_dir / REPORT_MD, render_markdown(rep, plots))
    out["html"] = write_text(run_dir / REPORT_HTML, render_html(rep, plots))
    scrub = scrub_run_dir(run_dir, known)
    if scrub.binary_hits:
        raise RuntimeError(
            "secret value found in binary files that cannot be scrubbed: "
            + ", ".join(str(p.relative_to(run_dir)) for p in scrub.binary_hits)
        )
    if seal:
        out["manifest"] = write_manifest(run_dir)
    return out
