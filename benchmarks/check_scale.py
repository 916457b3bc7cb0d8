"""End-to-end benchmark of `kafkadrill check RUN_DIR` (not a test; prints figures).

Builds a run directory per size (scenario.yaml from the library + a synthetic failover history
from ``checkers_scale.generate``: loss, duplicates, unknown sends, a consumer group that fails
over, probes, runbook steps), then times ``kafkadrill check`` as a whole subprocess: load, every
checker, report.json / report.md / report.html, plots, manifest. Prints wall time, CPU time
(user + sys of the child) and peak RSS of the child.

    python benchmarks/check_scale.py                   # 1M and 10M events
    python benchmarks/check_scale.py 1000000 --repeat 3
    python benchmarks/check_scale.py 1000000 10000000 --format columnar   # history.arrow
    flock /tmp/kafkadrill-heavy.lock python benchmarks/check_scale.py 10000000

Each size runs in a fresh child so ``ru_maxrss`` (peak RSS of the largest child waited for so
far) is that size's own peak: sizes are measured in increasing order by a small driver process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "scenarios" / "region-outage-failover.yaml"


def make_run_dir(base: Path, size: int, fmt: str = "jsonl") -> tuple[Path, int]:
    """The run directory of one size; ``fmt`` columnar: its history converted to history.arrow
    (the JSON Lines file is then removed: the check reads the columnar one)."""
    sys.path.insert(0, str(HERE))
    from checkers_scale import generate  # the same synthetic drill as the checker benchmark

    run = base / f"run-{size}-{fmt}"
    run.mkdir(parents=True, exist_ok=True)
    shutil.copy(SCENARIO, run / "scenario.yaml")
    count = run / "events.txt"  # a kept history (--keep) is reused: generation is slow
    name = "history.arrow" if fmt == "columnar" else "history.jsonl"
    if count.exists() and (run / name).exists():
        return run, int(count.read_text())
    n = generate(run / "history.jsonl", size)
    if fmt == "columnar":
        import orjson

        from kafkadrill.history.columnar_writer import write_events

        with (run / "history.jsonl").open("rb") as f:
            write_events(run / name, (orjson.loads(line) for line in f))
        (run / "history.jsonl").unlink()
    count.write_text(str(n))
    return run, n


def _clean(run: Path) -> None:
    # Outputs of a previous check (written beside the run, or into it by older versions): each
    # repeat starts from the same inputs.
    for name in ("report.json", "report.md", "report.html", "MANIFEST.sha256", "recheck.json"):
        (run / name).unlink(missing_ok=True)
    shutil.rmtree(run / "plots", ignore_errors=True)
    for old in run.glob("recheck-*"):
        shutil.rmtree(old, ignore_errors=True)


def time_check(run: Path) -> dict[str, float | int | str]:
    """One `kafkadrill check` in a grandchild; the child reports its own rusage."""
    probe = (
        "import json,resource,subprocess,sys,time;"
        "t=time.perf_counter();"
        "c='from kafkadrill.cli import main; main()';"
        "p=subprocess.run([sys.executable,'-c',c,'check',sys.argv[1]],"
        "stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
        "w=time.perf_counter()-t;"
        "r=resource.getrusage(resource.RUSAGE_CHILDREN);"
        "print(json.dumps({'wall':w,'cpu':r.ru_utime+r.ru_stime,'rss_kib':r.ru_maxrss,"
        "'rc':p.returncode,'err':p.stderr.decode()[-2000:]}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(run)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=1, help="runs per size (all printed)")
    ap.add_argument("--dir", type=Path, default=None, help="where to build run directories")
    ap.add_argument("--keep", action="store_true", help="keep generated run directories")
    ap.add_argument(
        "--format", choices=("jsonl", "columnar"), default="jsonl", help="the history's format"
    )
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="kd-check-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )
    print(f"{'events':>11} {'MB':>7} {'wall s':>7} {'cpu s':>7} {'peak RSS':>9} {'rc':>3} loadavg")
    for size in args.sizes:
        run, n = make_run_dir(base, size, args.format)
        name = "history.arrow" if args.format == "columnar" else "history.jsonl"
        mb = (run / name).stat().st_size / 1e6
        print(f"{name}: {mb * 1e6 / n:.1f} bytes per event", flush=True)
        os.sync()  # dirty-page writeback of the generated file would compete with the check
        for _ in range(args.repeat):
            _clean(run)
            busy = os.getloadavg()[0]  # a shared machine: say how busy it was
            r = time_check(run)
            rss_gib = int(r["rss_kib"]) / (1 << 20)
            print(
                f"{n:>11,} {mb:>7.0f} {r['wall']:>7.2f} {r['cpu']:>7.2f} "
                f"{rss_gib:>6.2f} GiB {r['rc']:>3} {busy:.2f}",
                flush=True,
            )
            # Exit codes 0/1 are verdicts (PASS/FAIL); anything else is an error to show.
            if r["rc"] not in (0, 1):
                print(r["err"], file=sys.stderr)
        if not args.keep:
            shutil.rmtree(run)
    if not args.keep and not os.listdir(base):
        base.rmdir()


if __name__ == "__main__":
    main()
