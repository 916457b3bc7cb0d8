"""Where one drill's wall time goes: topology start, steady, faults, heal, recover, settle,
final read, report - and the overhead (wall - duration - warmup) a user pays per drill.

Usage: python benchmarks/drill_overhead.py [SCENARIO ...] [--runtime local] [--repeat 1]
       [--set key=value ...]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenarios", nargs="*", default=["scenarios/default.yaml"])
    ap.add_argument("--runtime", default="local")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--set", dest="sets", action="append", default=[])
    args = ap.parse_args()
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
