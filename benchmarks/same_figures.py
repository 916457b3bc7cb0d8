"""Same figures before and after a change: re-check stored runs with two versions of kafkadrill.

    python benchmarks/same_figures.py OLD_SRC NEW_SRC RUN_DIR... [--out DIR]

OLD_SRC / NEW_SRC are `src` directories of two checkouts (e.g. made with `git worktree add` or
`git archive REV src | tar -x`). Each RUN_DIR is re-checked (`kafkadrill check RUN_DIR -o ...`)
by both, in a fresh interpreter with that `src` first on the path; report.json, report.md and
report.html are compared byte for byte. Prints one line per run and exits 1 when any differs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

FILES = ("report.json", "report.md", "report.html")


def recheck(src: Path, run_dir: Path, out: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(src)}
    code = "import sys; from kafkadrill.cli import main; sys.argv[0] = 'kafkadrill'; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "check", str(run_dir), "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old_src", type=Path)
    ap.add_argument("new_src", type=Path)
    ap.add_argument("run_dirs", type=Path, nargs="+")
    ap.add_argument("--out", type=Path, default=None, help="keep the re-checks here")
    args = ap.parse_args(argv)
    base = args.out or Path(tempfile.mkdtemp(prefix="kd-same-"))
    differ = unchecked = 0
    for i, run in enumerate(args.run_dirs):
        name = f"{i:02d}-{run.parent.name}"
        old, new = base / "old" / name, base / "new" / name
        rc_old, rc_new = recheck(args.old_src, run, old), recheck(args.new_src, run, new)
        diffs = [f for f in FILES if _read(old / f) != _read(new / f)]
        if rc_old != rc_new:
            diffs.append(f"exit {rc_old} -> {rc_new}")
        if _read(old / "report.json") is None:
            # Two versions that both refuse a run agree on nothing: not a "same".
            unchecked += 1
            print(f"NOT CHECKED  {run}  (the old version wrote no report.json, exit {rc_old})")
            continue
        differ += bool(diffs)
        print(f"{'DIFF' if diffs else 'same'}  {run}  {' '.join(diffs)}")
    same = len(args.run_dirs) - differ - unchecked
    print(f"{same} same, {differ} differ, {unchecked} not checked (re-checks in {base})")
    return 1 if differ or unchecked else 0


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


if __name__ == "__main__":
    sys.exit(main())
