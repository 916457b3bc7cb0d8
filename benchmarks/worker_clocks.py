"""Clock offsets of workload workers, measured (issue 25; not a test; prints figures).

Runs tests/integration/test_workers.py's scenario (4 producers at 150 msg/s in 2 workers, 1+1
local topology, 10 s) twice: workers as children of the runner (its clock), then started
through a command that leaves only a pipe between them (``sh -c 'cd ELSEWHERE && exec python3
...'``, as ``ssh HOST python3`` would: their own clock, the segment shipped back). Prints the
``clocks`` checker's figures per worker: the offset bounds, the merge's correction, the
uncertainty left after it, the tightest round trip and, on an own clock, the drift its pings
allow (the linear clock model).

    flock /tmp/kafkadrill-heavy.lock python benchmarks/worker_clocks.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
    from test_workers import _scenario

    from kafkadrill.runner import run_drill

    for how in ("children", "through a command"):
        tmp = Path(tempfile.mkdtemp(prefix="kd-clocks-"))
        command = None
        if how != "children":
            (tmp / "elsewhere").mkdir()
            command = ["sh", "-c", 'cd "$0" && exec "$@"', str(tmp / "elsewhere"), sys.executable]
        result = run_drill(_scenario("worker-clocks", 10, command), reports_dir=tmp)
        clocks = result.report["checkers"]["clocks"]
        print(f"{how}: verdict {result.verdict}, acked {result.report['rpo']['acked']:,}, "
              f"clocks {clocks['status']}")  # fmt: skip
        for name, w in clocks["figures"].get("workers", {}).items():
            print(
                f"  {name}: offset {w['offset_min_seconds']:+.6f} .. {w['offset_max_seconds']:+.6f}"
                f" s, correction {w['correction_seconds']:+.6f} s, uncertainty "
                f"{w['uncertainty_seconds'] * 1e3:.3f} ms, tightest round trip "
                f"{w['round_trip_min_seconds'] * 1e3:.3f} ms"
                + (
                    ""
                    if w["shared"]
                    else f", drift {w['drift_ppm']:+.3f} ppm (allowed "
                    f"{w['drift_min_ppm']:+.3f} .. {w['drift_max_ppm']:+.3f})"
                )
            )


if __name__ == "__main__":
    main()
