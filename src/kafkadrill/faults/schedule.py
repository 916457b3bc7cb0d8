"""Fault schedules: turn a scenario timeline (fixed and seeded-random entries) into concrete faults.

Pure and deterministic: the same entries, seed and topology always give the same schedule,
byte for byte; a different seed gives a different one. Times are seconds from the start of the
fault phase (after warmup). Random times are drawn on a 0.1 s grid so they print exactly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)

from kafkadrill.errors import ScenarioError
from kafkadrill.faults import catalog
from kafkadrill.faults.catalog import Problem
from kafkadrill.topology import Topology

_MAX_ATTEMPTS = 200  # random placements tried per fault before giving up
# Times are decimals written by people (1.1 + 2.2 != 3.3 in binary floating point): two faults
# that touch within this tolerance are back to back, not overlapping.
EPSILON = 1e-6


def _no_bool(v: Any) -> Any:
    # YAML `true` would otherwise be read as 1 second / 1 fault.
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got {str(v).lower()} (a boolean)")
    return v


_Float = Annotated[float, BeforeValidator(_no_bool)]
_Int = Annotated[int, BeforeValidator(_no_bool)]
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class FixedFault(BaseModel):
    """One fault at a fixed time: `{at: 10, fault: node.kill, target: {...}, duration: 20}`."""

    model_config = _STRICT

    at: _Float = Field(ge=0, description="seconds after the fault phase starts")
    fault: str = Field(description="fault type name (see faults/catalog.py)")
    target: dict[str, Any] = Field(default_factory=dict, description="what the fault hits")
    params: dict[str, Any] = Field(default_factory=dict, description="fault settings")
    duration: _Float | None = Field(
        default=None, gt=0, description="seconds until healed; null = until the phase ends"
    )

    @field_validator("fault")
    @classmethod
    def _known_fault(cls, v: str) -> str:
        if v not in catalog.FAULT_TYPES:
            raise ValueError(catalog.unknown_fault_message(v))
        return v


class RandomSpec(BaseModel):
    """`count` faults drawn from `faults`, each starting and healing within `between`."""

    model_config = _STRICT

    count: _Int = Field(ge=1, le=100)
    faults: list[str] = Field(min_length=1, max_length=50)
    between: tuple[_Float, _Float] | None = Field(
        default=None, description="[start, end] window in seconds; null = the whole phase"
    )
    duration: tuple[_Float, _Float] = Field(description="[min, max] seconds each fault lasts")
    params: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="settings per fault type, e.g. {link.latency: {latency_ms: 200}}",
    )

    @field_validator("faults")
    @classmethod
    def _known_faults(cls, v: list[str]) -> list[str]:
        bad = [f for f in v if f not in catalog.FAULT_TYPES]
        if bad:
            raise ValueError("; ".join(catalog.unknown_fault_message(f) for f in bad))
        return v

    @model_validator(mode="after")
    def _ranges(self) -> RandomSpec:
        lo, hi = self.duration
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0 or hi < lo:
            raise ValueError(f"duration must be [min, max] with 0 < min <= max, got [{lo}, {hi}]")
        if self.between is not None:
            b0, b1 = self.between
            if not (math.isfinite(b0) and math.isfinite(b1)) or b0 < 0 or b1 <= b0:
                raise ValueError(
                    f"between must be [start, end] with 0 <= start < end, got [{b0}, {b1}]"
                )
        return self


class RandomFaults(BaseModel):
    """`{random: {count: 3, faults: [...], between: [5, 50], duration: [5, 15]}}`."""

    model_config = _STRICT

    random: RandomSpec


def _entry_kind(v: Any) -> str:
    if isinstance(v, dict):
        return "random" if "random" in v else "fixed"
    return "random" if isinstance(v, RandomFaults) else "fixed"


# Tags are stripped from error paths by scenario.py; keep them distinct from field names.
ENTRY_TAGS = {"fixed": FixedFault, "random": RandomFaults}

TimelineEntry = Annotated[
    Annotated[FixedFault, Tag("fixed")] | Annotated[RandomFaults, Tag("random")],
    Discriminator(_entry_kind),
]

_ENTRIES: TypeAdapter[list[TimelineEntry]] = TypeAdapter(list[TimelineEntry])


@dataclass(frozen=True)
class ScheduledFault:
    """A concrete fault: inject at `at`, heal at `at + duration` (seconds into the phase)."""

    at: float
    duration: float
    fault: str
    params: dict[str, Any] = field(hash=False)  # every field of the fault's params model
    index: int  # the timeline entry it came from
    origin: str  # "timeline[i]" or "timeline[i].random#k"
    open_ended: bool = False  # duration was null: healed when the fault phase ends

    @property
    def end(self) -> float:
        return self.at + self.duration

    def target(self) -> dict[str, Any]:
        model = catalog.FAULT_TYPES[self.fault]
        return {k: v for k, v in self.params.items() if k in model.target_fields}

    def describe(self) -> str:
        tgt = ",".join(f"{k}={v}" for k, v in self.target().items())
        return f"{self.fault}({tgt})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "duration": self.duration,
            "fault": self.fault,
            "params": dict(self.params),
            "index": self.index,
            "origin": self.origin,
            "open_ended": self.open_ended,
        }


@dataclass
class _Placed:
    fault: ScheduledFault
    targets: set[str]


def _fmt(x: float) -> str:
    return f"{x:g}"


def _overlap(a: _Placed, b: _Placed) -> set[str]:
    # Half-open intervals [at, end): back-to-back faults on one target are fine, also when the
    # binary sum at + duration lands a hair past the next start (see EPSILON).
    if a.fault.at < b.fault.end - EPSILON and b.fault.at < a.fault.end - EPSILON:
        return a.targets & b.targets
    return set()


def plan_timeline(
    entries: Sequence[FixedFault | RandomFaults | dict[str, Any]],
    *,
    seed: int,
    topology: Topology,
    duration_seconds: float,
) -> tuple[list[ScheduledFault], list[Problem]]:
    """Like `expand_timeline` but returns problems (fields 'timeline[i]...') instead of raising."""
    if any(isinstance(e, dict) for e in entries):
        parsed: list[FixedFault | RandomFaults] = _ENTRIES.validate_python(list(entries))
    else:
        parsed = list(entries)  # type: ignore[arg-type]
    problems: list[Problem] = []
    placed: list[_Placed] = []

    # Fixed entries first: they are what the author asked for, random ones fit around them.
    for i, entry in enumerate(parsed):
        if not isinstance(entry, FixedFault):
            continue
        here = f"timeline[{i}]"
        model, probs = catalog.parse_fault(entry.fault, entry.target, entry.params, topology)
        problems += [Problem(f"{here}.{p.field}", p.message, p.fix) for p in probs]
        if entry.at >= duration_seconds:
            problems.append(
                Problem(
                    f"{here}.at",
                    f"starts at {_fmt(entry.at)} s, not before duration_seconds "
                    f"({_fmt(duration_seconds)})",
                    f"use at < {_fmt(duration_seconds)}",
                )
            )
            continue
        dur = entry.duration if entry.duration is not None else duration_seconds - entry.at
        if entry.at + dur > duration_seconds + EPSILON:
            problems.append(
                Problem(
                    f"{here}.duration",
                    f"fault ends at {_fmt(entry.at + dur)} s, after duration_seconds "
                    f"({_fmt(duration_seconds)})",
                    f"set duration <= {_fmt(duration_seconds - entry.at)} "
                    "or raise duration_seconds",
                )
            )
            continue
        if model is None:
            continue
        sf = ScheduledFault(
            entry.at, dur, entry.fault, model.model_dump(), i, here, entry.duration is None
        )
        p = _Placed(sf, model.targets(topology))
        for other in placed:
            common = _overlap(p, other)
            if common:
                o = other.fault
                problems.append(
                    Problem(
                        f"{here}",
                        f"{sf.describe()} [{_fmt(sf.at)}, {_fmt(sf.end)}) overlaps "
                        f"{o.origin} {o.describe()} [{_fmt(o.at)}, {_fmt(o.end)}) on "
                        f"{', '.join(sorted(common))}",
                        "move one of them so they do not overlap in time",
                    )
                )
        placed.append(p)

    for i, entry in enumerate(parsed):
        if isinstance(entry, RandomFaults):
            placed += _place_random(
                entry.random, i, seed, topology, duration_seconds, placed, problems
            )

    schedule = sorted((p.fault for p in placed), key=lambda f: (f.at, f.index, f.origin))
    return schedule, problems


@dataclass(frozen=True)
class _Grid:
    """A random entry's window [b0, b1] in seconds (as written, for messages) and, on a 0.1 s
    integer grid, the window [lo10, hi10] and the durations [d0, d1] the draws use."""

    b0: float
    b1: float
    lo10: int
    hi10: int
    d0: int
    d1: int


def _grid(
    spec: RandomSpec, here: str, duration_seconds: float, problems: list[Problem]
) -> _Grid | None:
    """The draw window and durations on a 0.1 s integer grid, or None
    when the window itself is unusable (a problem is then added). A shortest duration that
    does not fit adds a problem but still returns the grid (the caller stops on problems)."""
    b0, b1 = spec.between if spec.between is not None else (0.0, duration_seconds)
    numbers = (b0, b1, *spec.duration, duration_seconds)
    if not all(isinstance(x, int | float) and math.isfinite(x) for x in numbers):
        # Models reject NaN/inf, but entries can be built in code: never let one reach the
        # 0.1 s grid arithmetic below (math.ceil(inf) raises OverflowError).
        problems.append(
            Problem(
                here,
                "between, duration and duration_seconds must be finite numbers",
                "use plain numbers of seconds",
            )
        )
        return None
    if b1 > duration_seconds + EPSILON:
        problems.append(
            Problem(
                f"{here}.between",
                f"window ends at {_fmt(b1)} s, after duration_seconds ({_fmt(duration_seconds)})",
                f"use an end <= {_fmt(duration_seconds)}",
            )
        )
        return None
    # Work on a 0.1 s integer grid so draws are exact and print identically everywhere.
    # Durations longer than the window cannot be drawn: clamp before scaling (no overflow).
    dmin, dmax = (min(d, b1 - b0 + 1) for d in spec.duration)
    lo10, hi10 = math.ceil(b0 * 10 - 1e-6), math.floor(b1 * 10 + 1e-6)
    d0, d1 = math.ceil(dmin * 10 - 1e-6), math.floor(dmax * 10 + 1e-6)
    if d0 > hi10 - lo10:
        problems.append(
            Problem(
                f"{here}.duration",
                f"shortest duration {_fmt(spec.duration[0])} s does not fit in "
                f"the window [{_fmt(b0)}, {_fmt(b1)}]",
                "widen between or shorten duration",
            )
        )
    return _Grid(b0, b1, lo10, hi10, d0, min(d1, hi10 - lo10))


def _options(
    spec: RandomSpec, here: str, topology: Topology, problems: list[Problem]
) -> dict[str, list[catalog.FaultParams]]:
    """Per fault type: the candidate targets with the entry's validated settings."""
    options: dict[str, list[catalog.FaultParams]] = {}
    for name in spec.params:
        if name not in spec.faults:
            problems.append(
                Problem(
                    f"{here}.params.{name}",
                    f"'{name}' is not among this entry's faults"
                    f"{catalog.did_you_mean(name, spec.faults)}; faults: {', '.join(spec.faults)}",
                )
            )
    for name in dict.fromkeys(spec.faults):
        model = catalog.FAULT_TYPES[name]
        settings = spec.params.get(name, {})
        cands: list[catalog.FaultParams] = []
        for tgt in model.candidates(topology):
            parsed, probs = catalog.parse_fault(name, tgt, settings, topology)
            if probs:
                # Settings are the same for every candidate: report once, with the entry's path.
                problems += [
                    Problem(f"{here}.params.{name}.{p.field.split('.', 1)[-1]}", p.message, p.fix)
                    for p in probs
                    if p.field.startswith("params.")
                ]
                break
            assert parsed is not None
            cands.append(parsed)
        if not model.candidates(topology):
            problems.append(
                Problem(
                    f"{here}.faults",
                    f"{name} has no possible target in this topology",
                    "az.partition needs topology.azs" if name == "az.partition" else None,
                )
            )
        options[name] = cands
    return options


def _place_random(
    spec: RandomSpec,
    i: int,
    seed: int,
    topology: Topology,
    duration_seconds: float,
    placed: list[_Placed],
    problems: list[Problem],
) -> list[_Placed]:
    here = f"timeline[{i}].random"
    n_before = len(problems)
    grid = _grid(spec, here, duration_seconds, problems)
    if grid is None:
        return []
    options = _options(spec, here, topology, problems)
    if len(problems) > n_before:
        return []
    return _draw(spec, i, seed, topology, grid, options, placed, problems)


def _draw(
    spec: RandomSpec,
    i: int,
    seed: int,
    topology: Topology,
    grid: _Grid,
    options: dict[str, list[catalog.FaultParams]],
    placed: list[_Placed],
    problems: list[Problem],
) -> list[_Placed]:
    """The seeded draws: the same (seed, entry index) always draws the same faults, in the
    same order of rng calls (changing that order changes every stored schedule)."""
    lo10, hi10, d0, d1 = grid.lo10, grid.hi10, grid.d0, grid.d1
    here = f"timeline[{i}].random"
    rng = random.Random(f"kafkadrill:{seed}:{i}")  # str seeds hash with SHA-512: stable
    out: list[_Placed] = []
    kinds = list(spec.faults)
    for k in range(spec.count):
        for _attempt in range(_MAX_ATTEMPTS):
            name = rng.choice(kinds)
            params = rng.choice(options[name])
            dur10 = rng.randint(d0, d1)
            at10 = rng.randint(lo10, hi10 - dur10)
            sf = ScheduledFault(
                at10 / 10, dur10 / 10, name, params.model_dump(), i, f"timeline[{i}].random#{k}"
            )
            cand = _Placed(sf, params.targets(topology))
            if not any(_overlap(cand, other) for other in (*placed, *out)):
                out.append(cand)
                break
        else:
            problems.append(
                Problem(
                    here,
                    f"could only place {k} of {spec.count} random faults without overlapping "
                    f"another fault on the same target in [{_fmt(grid.b0)}, {_fmt(grid.b1)}]",
                    "lower count, shorten duration, widen between or add fault types",
                )
            )
            break
    return out


def expand_timeline(
    entries: Sequence[FixedFault | RandomFaults | dict[str, Any]],
    *,
    seed: int,
    topology: Topology,
    duration_seconds: float,
) -> list[ScheduledFault]:
    """Concrete faults sorted by `at`, random entries drawn with `seed` from the topology.

    Never two faults on the same target at once (see catalog.targets_of). Raises ScenarioError
    listing every problem (unknown target, fault past duration_seconds, overlap...).
    """
    schedule, problems = plan_timeline(
        entries, seed=seed, topology=topology, duration_seconds=duration_seconds
    )
    if problems:
        if len(problems) == 1:
            p = problems[0]
            raise ScenarioError(p.message, field=p.field, fix=p.fix)
        lines = "\n".join(
            f"  {p.field}: {p.message}" + (f" (fix: {p.fix})" if p.fix else "") for p in problems
        )
        raise ScenarioError(
            f"{len(problems)} problems in the timeline:\n{lines}", field=problems[0].field
        )
    return schedule
