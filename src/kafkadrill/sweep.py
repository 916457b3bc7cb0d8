"""Settings sweeps: run one scenario over a matrix of overrides and compare the results.

``kafkadrill sweep SCENARIO --set key=v1,v2 [--set key2=a,b] --repeat N`` runs the cartesian
product of the values, N times each, every drill for real through :func:`run_drill`, then
writes one comparison (see :mod:`kafkadrill.report.compare`) and ``sweep.json`` into
``<reports-dir>/sweep/<scenario>/<UTC stamp>/``. The drills' own run directories go where
``kafkadrill run`` puts them (``<reports-dir>/<scenario>/<stamp>/``), so the index lists them.

Rules that make a sweep trustworthy:

- Every combination is validated (scenario + overrides + timeline) before the first drill
  starts: a typo in the last value must not surface an hour into the sweep.
- A drill that errors stays in the table as an error and the sweep goes on; Ctrl-C stops after
  the current drill has cleaned up, and the partial comparison is still written.
- Repeats are interleaved (a1 b1 a2 b2, not a1 a2 b1 b2) so that drift on the machine (a
  warming JIT, a busy neighbour) spreads over every setting instead of biasing one.
- Seeds: without ``--seed`` repeat r runs with ``<scenario seed> + r`` (repeats explore
  different random draws, each reproducible); with ``--seed S`` every drill uses S. Sweeping
  ``seed`` itself (``--set seed=1,2,3``) uses exactly those values.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from kafkadrill.errors import ScenarioError
from kafkadrill.report.compare import (
    Comparison,
    RunRecord,
    build_comparison,
    flatten,
    load_run,
    write_comparison,
)
from kafkadrill.report.store import STAMP_RE, safe_name, utc_stamp, write_json
from kafkadrill.runner import DrillResult, run_drill
from kafkadrill.scenario import Scenario, load_scenario

__all__ = [
    "SWEEP_JSON",
    "SweepPoint",
    "SweepResult",
    "SweepRun",
    "expand_matrix",
    "parse_sets",
    "run_sweep",
    "split_values",
    "validate_points",
]

SWEEP_JSON = "sweep.json"
SWEEP_DIR = "sweep"
_PAIRS = {"[": "]", "{": "}"}


# -- parsing --------------------------------------------------------------------------------
def split_values(text: str) -> list[str]:
    r"""Split a ``--set`` value list on commas.

    A comma does not split when escaped (``a\,b``), inside quotes (``"a,b"``) or inside a YAML
    flow collection (``[a, b]``, ``{x: 1, y: 2}``): those values reach the scenario loader as
    written (quotes included, which YAML then removes).
    """
    out: list[str] = []
    buf: list[str] = []
    depth: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] == ",":
            buf.append(",")
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in _PAIRS:
            depth.append(_PAIRS[ch])
        elif depth and ch == depth[-1]:
            depth.pop()
        elif ch == "," and not depth:
            out.append("".join(buf).strip())
            buf = []
            i += 1
            continue
        buf.append(ch)
        i += 1
    out.append("".join(buf).strip())
    return out


def parse_sets(items: Iterable[str]) -> dict[str, list[str]]:
    """``("a.b=1,2", "c=x", "a.b=3")`` -> ``{"a.b": ["1", "2", "3"], "c": ["x"]}``.

    Repeating ``--set`` for a key adds values (another way to pass values holding commas);
    duplicates are dropped, first-seen order kept (it is the run order).
    """
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(
                f"--set {item!r}: expected KEY=VALUE[,VALUE...]",
                fix="e.g. --set workload.producers.acks=all,1",
            )
        bucket = out.setdefault(key, [])
        for v in split_values(values):
            if v not in bucket:
                bucket.append(v)
    return out


# -- the matrix -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepPoint:
    """One drill of the sweep."""

    index: int  # run order, 0-based
    repeat: int  # 0-based repeat number
    values: tuple[tuple[str, str], ...]  # every --set key -> this drill's raw value
    seed: int | None  # None when the sweep varies `seed` itself (it is in `values`)

    @property
    def overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.values)
        if self.seed is not None:
            out["seed"] = self.seed
        return out

    def label(self, keys: Sequence[str]) -> str:
        """``k=v`` for the given keys (the varying ones), as the user spelled them."""
        vals = dict(self.values)
        return ", ".join(f"{k}={_shown(k, vals[k])}" for k in keys) or "(no varying setting)"


def _shown(key: str, value: object) -> object:
    """A setting's value as printed: never a secret's (one secret policy: secrets.py)."""
    from kafkadrill.secrets import REDACTED, is_secret_key

    return REDACTED if is_secret_key(key) else value


def varying_keys(settings: Mapping[str, Sequence[str]]) -> list[str]:
    return [k for k, vs in settings.items() if len(vs) > 1]


def expand_matrix(
    settings: Mapping[str, Sequence[str]],
    repeat: int,
    *,
    base_seed: int,
    fixed_seed: bool = False,
) -> list[SweepPoint]:
    """Cartesian product of the values x ``repeat``, repeats interleaved (see module doc)."""
    if repeat < 1:
        raise ScenarioError(f"--repeat {repeat}: must be at least 1")
    for k, vs in settings.items():
        if not vs:
            raise ScenarioError(f"--set {k}=: no value given", field=k)
    keys = list(settings)
    combos = list(itertools.product(*(settings[k] for k in keys)))
    sweeps_seed = "seed" in settings
    points = []
    for r in range(repeat):
        for combo in combos:
            seed = None if sweeps_seed else (base_seed if fixed_seed else base_seed + r)
            points.append(SweepPoint(len(points), r, tuple(zip(keys, combo, strict=True)), seed))
    return points


def _load(path: Path, overrides: dict[str, Any], label: str) -> Scenario:
    try:
        sc = load_scenario(path, overrides)
        sc.schedule()  # run_drill validates the timeline too; fail here, not mid-sweep
    except ScenarioError as exc:
        raise ScenarioError(
            f"sweep combination ({label}): {exc.message}",
            file=exc.file,
            field=exc.field,
            fix=exc.fix,
        ) from exc
    return sc


def validate_points(path: Path, points: Sequence[SweepPoint]) -> list[Scenario]:
    """Load (and schedule) every drill's scenario; the first bad one raises ScenarioError
    naming its whole combination, before anything runs."""
    return [_load(path, p.overrides, p.label([k for k, _ in p.values])) for p in points]


# -- running --------------------------------------------------------------------------------
@dataclass
class SweepRun:
    point: SweepPoint
    scenario: str
    run_dir: Path | None = None
    verdict: str = "NOT RUN"
    error: str | None = None
    seconds: float | None = None


@dataclass
class SweepResult:
    out_dir: Path
    runs: list[SweepRun]
    planned: int
    comparison: Comparison | None = None
    paths: dict[str, Path] = field(default_factory=dict)
    interrupted: str | None = None  # "Ctrl-C" / "SIGTERM" when stopped early

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        verdicts = {r.verdict for r in self.runs}
        if verdicts - {"PASS", "FAIL"}:
            return 2
        return 1 if "FAIL" in verdicts else 0


OnStart = Callable[[SweepPoint, int], None]  # (point, planned)
OnDone = Callable[[SweepRun, int], None]


def _new_sweep_dir(reports_dir: Path, scenario: str) -> Path:
    parent = reports_dir / SWEEP_DIR / safe_name(scenario)
    parent.mkdir(parents=True, exist_ok=True)
    stamp, n = utc_stamp(), 1
    while True:  # mkdir is atomic: two sweeps started in the same second get -2, -3...
        d = parent / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            d.mkdir()
            return d
        except FileExistsError:
            n += 1


def _run_dirs(reports_dir: Path, scenario: str) -> set[Path]:
    parent = reports_dir / safe_name(scenario)
    if not parent.is_dir():
        return set()
    return {p for p in parent.iterdir() if p.is_dir() and STAMP_RE.match(p.name)}


def _sweep_doc(
    *,
    path: Path,
    scenario: str,
    reports_dir: Path,
    settings: Mapping[str, Sequence[str]],
    repeat: int,
    seed_policy: str,
    started: str,
    status: str,
    points: Sequence[SweepPoint],
    runs: Sequence[SweepRun],
) -> dict[str, Any]:
    keys = varying_keys(settings)
    done = {r.point.index: r for r in runs}
    items = []
    for p in points:
        r = done.get(p.index)
        items.append(
            {
                "index": p.index,
                "repeat": p.repeat,
                "seed": p.seed if p.seed is not None else dict(p.values).get("seed"),
                "setting": p.label(keys),
                "overrides": p.overrides,
                "run_dir": str(r.run_dir) if r and r.run_dir else None,
                "verdict": r.verdict if r else "NOT RUN",
                "error": r.error if r else None,
                "seconds": round(r.seconds, 1) if r and r.seconds is not None else None,
            }
        )
    return {
        "scenario": scenario,
        "scenario_file": str(path),
        "reports_dir": str(reports_dir),
        "settings": {k: list(v) for k, v in settings.items()},
        "varying": keys,
        "repeat": repeat,
        "seed_policy": seed_policy,
        "started_at": started,
        "finished_at": datetime.now(UTC).isoformat() if status != "running" else None,
        "status": status,
        "runs": items,
    }


def _record(run: SweepRun, sc: Scenario, keys: Sequence[str]) -> RunRecord:
    if run.run_dir is not None and run.run_dir.exists():
        rec = load_run(run.run_dir)
        if run.error and not rec.error and not (rec.report or {}).get("error"):
            rec.error = run.error
    else:
        # No run directory (the drill raised before creating one): settings from the validated
        # scenario, so the row still lands in its setting group.
        settings = flatten(yaml.safe_load(sc.resolved_yaml()) or {})
        rec = RunRecord(None, None, settings, run.error or "drill did not run", run.point.seed)
    values = dict(run.point.values)
    rec.setting = {k: values[k] for k in keys}
    return rec


def _seed_policy(settings: Mapping[str, Sequence[str]], seed: int | None, base_seed: Any) -> str:
    """How the drills' seeds were chosen, as sweep.json and the comparison notes say it."""
    if "seed" in settings:
        return "swept (--set seed=...)"
    return f"fixed {seed}" if seed is not None else f"scenario seed {base_seed} + repeat index"


def _interruption(exc: BaseException) -> str:
    return "Ctrl-C" if isinstance(exc, KeyboardInterrupt) else "SIGTERM"


def _run_point(
    point: SweepPoint,
    sc: Scenario,
    reports_dir: Path,
    drill_kwargs: Callable[[SweepPoint], dict[str, Any]] | None,
) -> tuple[SweepRun, str | None]:
    """One drill of the sweep: (its row, "Ctrl-C"/"SIGTERM" if it was interrupted). Never
    raises for a failing or crashing drill: it becomes an error row."""
    run = SweepRun(point, sc.name)
    interrupted: str | None = None
    before = _run_dirs(reports_dir, sc.name)
    t0 = time.monotonic()
    try:
        result: DrillResult = run_drill(
            sc, reports_dir=reports_dir, **(drill_kwargs(point) if drill_kwargs else {})
        )
        run.run_dir, run.verdict, run.error = result.run_dir, result.verdict, result.error
    except (KeyboardInterrupt, SystemExit) as exc:
        interrupted = _interruption(exc)
        run.verdict, run.error = "ERROR", f"interrupted ({interrupted})"
    except Exception as exc:  # kept as an error row; the sweep goes on
        run.verdict, run.error = "ERROR", f"{type(exc).__name__}: {exc}"
    run.seconds = time.monotonic() - t0
    if run.run_dir is None:
        # run_drill re-raises Ctrl-C after writing its run dir; find it by what is new.
        new = sorted(_run_dirs(reports_dir, sc.name) - before)
        if len(new) == 1:
            run.run_dir = new[0]
            rec = load_run(new[0])
            if rec.report is not None:
                run.verdict = rec.verdict
    return run, interrupted


def _sweep_notes(
    *,
    path: Path,
    name: str,
    settings: Mapping[str, Sequence[str]],
    repeat: int,
    seed_policy: str,
    planned: int,
    ran: int,
    interrupted: str | None,
) -> list[str]:
    fixed = [f"{k}={_shown(k, vs[0])}" for k, vs in settings.items() if len(vs) == 1]
    notes = [
        f"scenario {name} ({path}); {repeat} repeat(s) of "
        f"{planned // repeat} combination(s); seeds: {seed_policy}",
    ]
    if fixed:
        notes.append("fixed overrides in every drill: " + ", ".join(fixed))
    if interrupted:
        notes.append(
            f"INTERRUPTED ({interrupted}) after {ran} of {planned} drills: partial comparison"
        )
    return notes


def _plan_points(
    path: Path, settings: Mapping[str, Sequence[str]], repeat: int, seed: int | None
) -> tuple[list[SweepPoint], list[Scenario], Any]:
    """(every drill of the sweep, its validated scenario, the base seed); raises
    ScenarioError before any drill starts when a combination is invalid."""
    if not settings:
        raise ScenarioError("nothing to sweep", fix="give at least one --set key=v1,v2")
    first = {k: vs[0] for k, vs in settings.items() if vs}
    label = ", ".join(f"{k}={_shown(k, v)}" for k, v in first.items())
    base_seed = seed if seed is not None else _load(path, first, label).seed
    points = expand_matrix(
        settings, repeat, base_seed=int(base_seed or 0), fixed_seed=seed is not None
    )
    return points, validate_points(path, points), base_seed


def run_sweep(
    path: Path | str,
    settings: Mapping[str, Sequence[str]],
    *,
    repeat: int = 1,
    reports_dir: Path | str = Path("reports"),
    seed: int | None = None,
    on_start: OnStart | None = None,
    on_done: OnDone | None = None,
    drill_kwargs: Callable[[SweepPoint], dict[str, Any]] | None = None,
) -> SweepResult:
    """Validate every combination, run each drill, write the comparison and sweep.json.

    Raises ScenarioError before any drill starts when a combination is invalid. Never raises
    for a failing or crashing drill. Ctrl-C (or SIGTERM turned into SystemExit) during a drill
    stops the sweep after that drill's cleanup; the result has ``interrupted`` set and the
    partial comparison written.
    """
    path, reports_dir = Path(path), Path(reports_dir)
    points, scenarios, base_seed = _plan_points(path, settings, repeat, seed)
    name = scenarios[0].name
    seed_policy = _seed_policy(settings, seed, base_seed)
    out_dir = _new_sweep_dir(reports_dir, name)
    started = datetime.now(UTC).isoformat()
    runs: list[SweepRun] = []
    interrupted: str | None = None

    def save(status: str) -> None:
        # Rewritten after every drill: a sweep killed hard still says what ran where.
        write_json(
            out_dir / SWEEP_JSON,
            _sweep_doc(
                path=path,
                scenario=name,
                reports_dir=reports_dir,
                settings=settings,
                repeat=repeat,
                seed_policy=seed_policy,
                started=started,
                status=status,
                points=points,
                runs=runs,
            ),
        )

    save("running")
    try:
        for point, sc in zip(points, scenarios, strict=True):
            if on_start:
                on_start(point, len(points))
            run, interrupted = _run_point(point, sc, reports_dir, drill_kwargs)
            runs.append(run)
            if on_done:
                on_done(run, len(points))
            save("running")
            if interrupted:
                break

    except (KeyboardInterrupt, SystemExit) as exc:  # between drills: stop, still compare
        interrupted = interrupted or _interruption(exc)

    keys = varying_keys(settings)
    notes = _sweep_notes(
        path=path,
        name=name,
        settings=settings,
        repeat=repeat,
        seed_policy=seed_policy,
        planned=len(points),
        ran=len(runs),
        interrupted=interrupted,
    )
    comp = build_comparison(
        [_record(r, scenarios[r.point.index], keys) for r in runs],
        title=f"Sweep of {name}: " + (", ".join(keys) or "repeats"),
        notes=notes,
    )
    paths = write_comparison(comp, out_dir)
    save("interrupted" if interrupted else "completed")
    paths["sweep"] = out_dir / SWEEP_JSON
    return SweepResult(out_dir, runs, len(points), comp, paths, interrupted)
