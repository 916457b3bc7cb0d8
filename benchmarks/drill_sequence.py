"""Scenarios one after another on one kept topology (what `pytest drills/` does), printing
each drill's verdict, stage seconds and how it got its topology (fresh, or kept with the
reset evidence).

Usage: python benchmarks/drill_sequence.py leader-kill link-cut mm2-crash
       [--reports-dir /tmp/sequence-reports]   (names of files in scenarios/, or paths)
Not a test: figures go into docs/benchmarks.md. Run nothing else on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from kafkadrill.runner import run_drill
from kafkadrill.runtimes.shared.pool import TopologyPool
from kafkadrill.scenario import load_scenario

SCENARIOS = Path(__file__).parent.parent / "scenarios"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenarios", nargs="+")
    ap.add_argument("--reports-dir", type=Path, default=Path("/tmp/sequence-reports"))
    args = ap.parse_args()
    pool = TopologyPool()
    try:
        for name in args.scenarios:
            path = Path(name) if name.endswith(".yaml") else SCENARIOS / f"{name}.yaml"
            t0 = time.monotonic()
            r = run_drill(load_scenario(path), reports_dir=args.reports_dir, pool=pool)
            env = json.loads((r.run_dir / "environment.json").read_text())
            print(
                f"{name}: {r.verdict}, lost {r.report['rpo'].get('lost')}, "
                f"{time.monotonic() - t0:.1f} s, {r.run_dir}",
                flush=True,
            )
            print(f"  stages {env.get('stage_seconds')}")
            topo = env.get("topology") or {}
            print(f"  topology reused={topo.get('reused')} why_fresh={topo.get('why_fresh')}")
            for line in topo.get("reset") or []:
                print(f"    reset: {line}")
    finally:
        pool.close()


if __name__ == "__main__":
    main()
