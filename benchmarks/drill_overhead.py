"""Where one drill's wall time goes: topology start, steady, faults, heal, recover, settle,
final read, report - and the overhead (wall - duration - warmup) a user pays per drill.

Usage: python benchmarks/drill_overhead.py [SCENARIO ...] [--runtime local] [--repeat 1]
       [--set key=value ...]
       python benchmarks/drill_overhead.py --from-reports reports/   (runs already made, e.g.
       by `pytest drills/`: reads each run's environment.json `stage_seconds`)
Default scenario: scenarios/default.yaml. Prints one line per stage and the overhead; not a
test (figures go into docs/benchmarks.md). Run nothing else on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from kafkadrill.runner import run_drill
from kafkadrill.scenario import load_scenario

STAGES = (
    "topology_start",
    "steady",
    "faults",
    "heal",
    "recover",
    "settle",
    "final_read",
    "topology_stop",
    "report",
)


def _value(text: str) -> object:
    import yaml

    return yaml.safe_load(text)


def from_reports(root: Path) -> None:
    """Breakdown of every run directory below `root` (newest last)."""
    import json
    from datetime import datetime

    rows = []
    for env_path in sorted(root.glob("*/*/environment.json")):
        run = env_path.parent
        stages = json.loads(env_path.read_text()).get("stage_seconds")
        report = run / "report.json"
        if not stages or not report.exists():
            continue
        env = json.loads(env_path.read_text())
        kept = (env.get("topology") or {}).get("reused")
        r = json.loads(report.read_text())
        # report.json's finished_at is stamped before the report is written: the last file
        # written (the HTML report) marks the end.
        started = datetime.fromisoformat(r["started_at"]).timestamp()
        total = (run / "report.html").stat().st_mtime - started
        sc = load_scenario(run / "scenario.yaml")
        planned = sc.duration_seconds + sc.warmup_seconds
        topology = "kept" if kept else ("fresh" if kept is not None else "-")
        rows.append((started, run, r["verdict"], topology, stages, total, planned))
    rows.sort(key=lambda row: row[0])  # in the order they ran
    head = ["run", "verdict", "topology", *STAGES[:-1], "report", "total", "planned", "overhead"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for _started, run, verdict, topology, st, total, planned in rows:
        report_s = total - st.get("until_report", total)
        cells = [f"{st.get(k, float('nan')):.1f}" for k in STAGES[:-1]]
        print(
            f"| {run.parent.name}/{run.name} | {verdict} | {topology} | "
            + " | ".join(cells)
            + f" | {report_s:.1f} | {total:.1f} | {planned:.0f} | {total - planned:.1f} |"
        )
    if rows:
        overheads = [t - p for *_x, t, p in rows]
        print(f"median overhead {statistics.median(overheads):.1f} s over {len(rows)} runs")
        summed = sum(t for *_x, t, _p in rows)
        planned_sum = sum(p for *_x, p in rows)
        print(f"summed {summed:.0f} s ({summed / 60:.1f} min), planned {planned_sum:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--from-reports", type=Path, default=None)
    ap.add_argument("scenarios", nargs="*", default=["scenarios/default.yaml"])
    ap.add_argument("--runtime", default="local")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--set", dest="sets", action="append", default=[])
    args = ap.parse_args()
    if args.from_reports is not None:
        from_reports(args.from_reports)
        return
    overrides = {k: _value(v) for k, _, v in (s.partition("=") for s in args.sets)}
    for path in args.scenarios:
        sc = load_scenario(Path(path), overrides or None)
        overheads = []
        for i in range(args.repeat):
            with tempfile.TemporaryDirectory() as d:
                r = run_drill(sc, runtime=args.runtime, reports_dir=Path(d))
            t = r.timings
            planned = sc.duration_seconds + sc.warmup_seconds
            overhead = t["total"] - planned
            overheads.append(overhead)
            print(f"{sc.name} run {i + 1} ({args.runtime}): verdict {r.verdict}", flush=True)
            for stage in STAGES:
                print(f"  {stage:15} {t.get(stage, float('nan')):7.1f} s")
            print(
                f"  {'total':15} {t['total']:7.1f} s = planned {planned:.0f} s "
                f"(warmup + duration) + overhead {overhead:.1f} s",
                flush=True,
            )
        if args.repeat > 1:
            print(f"{sc.name}: median overhead {statistics.median(overheads):.1f} s")


if __name__ == "__main__":
    main()
