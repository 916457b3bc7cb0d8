"""Verdict stability of the drill suite: run `pytest drills` N times and count what flips.

    python benchmarks/verdict_stability.py --runs 10 [--out DIR] [-- extra pytest args]

Each round is one `python -m pytest drills -p no:randomly` in a fresh interpreter, with its own
--reports-dir and JUnit file. Rounds already in --out (their JUnit file and wall time) are
counted, not re-run: rounds run in several sessions add up. Per drill test: PASS/FAIL/ERROR
counts over the rounds; per drill report (one per scenario run): verdict counts and the spread
(min / median / max) of its key figures (acked, lost, duplicates, unknown, writes and reads
unavailable). Prints a Markdown table and writes stability.md and stability.json into --out.
Run nothing else on the machine meanwhile: a starved CPU is a flip this benchmark would wrongly
charge to the drill.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIGURES = (
    ("acked", ("rpo", "acked")),
    ("lost", ("rpo", "lost")),
    ("duplicates", ("rpo", "duplicates")),
    ("unknown", ("rpo", "unknown")),
    ("writes unavailable s", ("rto", "write_unavailable_seconds")),
    ("reads unavailable s", ("rto", "read_unavailable_seconds")),
)


def _outcomes(junit: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if not junit.exists():
        return out
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        out[name] = (
            "ERROR"
            if "error" in kinds
            else "FAIL"
            if "failure" in kinds
            else "SKIP"
            if "skipped" in kinds
            else "PASS"
        )
    return out


def _dig(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        doc = doc.get(key) if isinstance(doc, dict) else None  # type: ignore[assignment]
    return doc


def _reports(reports_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(reports_dir.glob("*/*/report.json"))]


def _spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{min(values):g} / {statistics.median(values):g} / {max(values):g}"


def _tally(
    rdir: Path,
    junit: Path,
    tests: dict[str, Counter[str]],
    verdicts: dict[str, Counter[str]],
    figures: dict[str, dict[str, list[float]]],
) -> None:
    for name, outcome in _outcomes(junit).items():
        tests[name][outcome] += 1
    for rep in _reports(rdir):
        scen = str(rep.get("scenario"))
        verdicts[scen][str(rep.get("verdict"))] += 1
        for label, path in FIGURES:
            v = _dig(rep, path)
            if isinstance(v, int | float):
                figures[scen][label].append(float(v))


def run_rounds(runs: int, out: Path, extra: list[str]) -> dict[str, Any]:
    tests: dict[str, Counter[str]] = defaultdict(Counter)
    verdicts: dict[str, Counter[str]] = defaultdict(Counter)
    figures: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    walls = []
    for i in range(runs):
        rdir, junit = out / f"round-{i:02d}", out / f"round-{i:02d}.xml"
        wall_file = out / f"round-{i:02d}.wall"
        if junit.exists() and wall_file.exists():
            # A round an earlier invocation finished: counted again, not re-run (the rounds
            # of several sessions add up in one --out).
            _tally(rdir, junit, tests, verdicts, figures)
            walls.append(float(wall_file.read_text()))
            print(f"round {i + 1}/{runs}: kept ({walls[-1]} s)", flush=True)
            continue
        load = os.getloadavg()[0]
        t0 = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "drills",
                "-p",
                "no:randomly",
                "-q",
                f"--reports-dir={rdir}",
                f"--junitxml={junit}",
                *extra,
            ],
            cwd=ROOT,
            check=False,
        )
        walls.append(round(time.monotonic() - t0, 1))
        wall_file.write_text(str(walls[-1]))
        _tally(rdir, junit, tests, verdicts, figures)
        print(f"round {i + 1}/{runs}: {walls[-1]} s (load average at start {load:.1f})", flush=True)
    return {"runs": runs, "walls": walls, "tests": tests, "verdicts": verdicts, "figures": figures}


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['runs']} rounds of `pytest drills`, wall {_spread(result['walls'])} s",
        "",
        "| drill test | PASS | FAIL | ERROR |",
        "|---|---|---|---|",
    ]
    for name, c in sorted(result["tests"].items()):
        lines.append(f"| {name} | {c['PASS']} | {c['FAIL']} | {c['ERROR']} |")
    lines += [
        "",
        "| scenario run | verdicts | " + " | ".join(f for f, _ in FIGURES) + " |",
        "|---|---|" + "---|" * len(FIGURES),
    ]
    for scen, c in sorted(result["verdicts"].items()):
        cells = [_spread(result["figures"][scen].get(f, [])) for f, _ in FIGURES]
        lines.append(f"| {scen} | {dict(c)} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("figures: min / median / max over the rounds")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "_stability")
    ap.add_argument("extra", nargs="*", help="more pytest arguments (after --)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    result = run_rounds(args.runs, args.out, args.extra)
    text = markdown(result)
    (args.out / "stability.md").write_text(text + "\n")
    (args.out / "stability.json").write_text(json.dumps(result, indent=1, default=dict))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
