"""Scenario errors: located problems, the pydantic -> problem mapping, and redaction of error
texts (they reach consoles and CI logs, so no secret value and no raw control character)."""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from kafkadrill.errors import ScenarioError
from kafkadrill.faults.catalog import Problem, did_you_mean
from kafkadrill.faults.schedule import ENTRY_TAGS
from kafkadrill.scenario.paths import (
    Loc,
    field_by_key,
    field_names,
    fmt_path,
    is_model,
    parse_field,
    unwrap,
)
from kafkadrill.secrets import is_secret_key, replace_known


@dataclass(frozen=True)
class LocatedProblem:
    """One problem with where it is: for `kafkadrill validate` and other tools."""

    file: str | None
    field: str
    line: int | None
    message: str
    fix: str | None = None

    def format(self) -> str:
        """`file:line: field: message (fix: ...)`, the form compilers and CI annotate."""
        where = ":".join(x for x in (self.file, str(self.line) if self.line else None) if x)
        text = f"{where}: " if where else ""
        text += f"{self.field}: {self.message}" if self.field else self.message
        return text + (f" (fix: {self.fix})" if self.fix else "")


class ScenarioValidationError(ScenarioError):
    """A ScenarioError that also carries every individual problem (for tools and tests)."""

    def __init__(
        self,
        message: str,
        problems: list[Problem],
        *,
        file: str | None = None,
        field: str | None = None,
        fix: str | None = None,
        lines: list[int | None] | None = None,
    ) -> None:
        # With several problems the header names no single field (each line names its own), but
        # .field still points at the first for programs.
        super().__init__(message, file=file, field=field if len(problems) == 1 else None, fix=fix)
        self.field = field
        self.problems = problems
        self.lines = lines if lines is not None else [None] * len(problems)

    @property
    def located(self) -> list[LocatedProblem]:
        return [
            LocatedProblem(self.file, p.field, line, p.message, p.fix)
            for p, line in zip(self.problems, self.lines, strict=True)
        ]


def located_problems(err: ScenarioError) -> list[LocatedProblem]:
    """Every problem of a ScenarioError with file, field path and line (where known)."""
    if isinstance(err, ScenarioValidationError):
        return err.located
    return [
        LocatedProblem(err.file, err.field or "", getattr(err, "line", None), err.message, err.fix)
    ]


CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with control characters escaped (a BEL or ESC in a key must not reach a terminal
    raw; newlines are kept, error texts use them between problems)."""
    return CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _safe_text(text: str | None, secrets: set[str]) -> str | None:
    return None if text is None else printable(replace_known(text, secrets))


def redact_error(err: ScenarioError, secrets: set[str]) -> ScenarioError:
    """The same error with every secret value and control character taken out of its texts:
    error messages are printed to consoles and CI logs."""
    if isinstance(err, ScenarioValidationError):
        problems = [
            Problem(
                _safe_text(p.field, secrets) or "",
                _safe_text(p.message, secrets) or "",
                _safe_text(p.fix, secrets),
            )
            for p in err.problems
        ]
        out: ScenarioError = ScenarioValidationError(
            _safe_text(err.message, secrets) or "",
            problems,
            file=_safe_text(err.file, set()),
            field=_safe_text(err.field, secrets),
            fix=_safe_text(err.fix, secrets),
            lines=err.lines,
        )
    else:
        out = ScenarioError(
            _safe_text(err.message, secrets) or "",
            file=_safe_text(err.file, set()),
            field=_safe_text(err.field, secrets),
            fix=_safe_text(err.fix, secrets),
        )
    if getattr(err, "line", None) is not None:
        out.line = err.line  # type: ignore[attr-defined]
    return out


# --------------------------------------------------------------------------------------------
# YAML reading (bounded, with line numbers)


_TYPE_NAMES = {"int", "str", "float", "bool", "none", "list", "dict"}


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    out: list[str | int] = []
    for i, p in enumerate(loc):
        # Drop discriminator tags (timeline[i].<tag>) and union-member names pydantic adds.
        if (
            i > 0
            and isinstance(loc[i - 1], int)
            and loc[:1] == ("timeline",)
            and i == 2
            and p in ENTRY_TAGS
        ):
            continue
        if isinstance(p, str) and (
            p in _TYPE_NAMES or p.startswith(("function-", "literal[")) or "[" in p
        ):
            continue
        out.append(p)
    return tuple(out)


def _model_at(raw_loc: tuple[Any, ...], root: type[BaseModel]) -> type[BaseModel] | None:
    """The model class at a raw pydantic error location (tags still in), if any."""
    tp: Any = root
    for p in raw_loc:
        tp = unwrap(tp)
        if typing.get_origin(tp) in (Union, types.UnionType):
            tp = ENTRY_TAGS.get(str(p))  # the timeline union: the tag names the member
            continue
        if is_model(tp):
            tp = field_by_key(tp, str(p))
        elif typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
        if tp is None:
            return None
    tp = unwrap(tp)
    return tp if is_model(tp) else None


def pydantic_problems(err: ValidationError, root: type[BaseModel]) -> list[Problem]:
    # `root` is the validated model (Scenario): passed in so this module needs no schema.
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for e in err.errors():
        raw_loc = tuple(e["loc"])
        loc = _clean_loc(raw_loc)
        msg = e["msg"].removeprefix("Value error, ")
        fix = None
        if e["type"] == "extra_forbidden" and loc:
            parent = _model_at(raw_loc[:-1], root)
            names = field_names(parent) if parent else []
            msg = f"unknown key '{loc[-1]}'{did_you_mean(loc[-1], names)}"
            if names:
                msg += f"; valid keys: {', '.join(names)}"
        elif e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] == "union_tag_invalid" or e["type"] == "union_tag_not_found":
            msg = "a timeline entry is either {at, fault, target, duration} or {random: {...}}"
        elif (
            "input" in e
            and e["type"] != "value_error"
            and not isinstance(e["input"], dict | list)
            and not any(is_secret_key(p) for p in loc)  # never echo a secret's value
        ):
            got = repr(e["input"])
            msg = f"{msg} (got {got if len(got) <= 80 else got[:77] + '...'})"
        if (
            loc
            and loc[0] == "timeline"
            and len(loc) >= 3
            and loc[2] == "fault"
            and "unknown fault type" in msg
        ):
            fix = "use one of the fault types above"
        key = (fmt_path(loc), msg)
        if key not in seen:
            seen.add(key)
            problems.append(Problem(fmt_path(loc), msg, fix))
    return problems


def line_for(field: str, lines: dict[Loc, int]) -> int | None:
    loc = parse_field(field)
    for n in range(len(loc), 0, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


#: Problems listed in one error. 200 overlapping timeline entries are ~20,000 pairwise problems
#: (a 4.8 MB message from a 16 KB file); the first ones and a count say all a person can use.
MAX_LISTED_PROBLEMS = 20


def _capped(problems: list[Problem]) -> list[Problem]:
    rest = len(problems) - MAX_LISTED_PROBLEMS
    if rest <= 0:
        return problems
    more = Problem(
        "",
        f"and {rest} more problem(s), not listed",
        "fix the problems above and validate again",
    )
    return [*problems[:MAX_LISTED_PROBLEMS], more]


def validation_error(
    problems: list[Problem], source: str | None, lines: dict[Loc, int]
) -> ScenarioValidationError:
    def where(p: Problem) -> str:
        line = line_for(p.field, lines)
        return f" (line {line})" if line else ""

    # Report in file order: easier to fix top to bottom.
    problems = _capped(sorted(problems, key=lambda p: line_for(p.field, lines) or 1 << 30))
    at = [line_for(p.field, lines) for p in problems]
    if len(problems) == 1:
        p = problems[0]
        return ScenarioValidationError(
            p.message + where(p),
            problems,
            file=source,
            field=p.field or None,
            fix=p.fix,
            lines=at,
        )
    body = "\n".join(
        f"  - {p.field or '(top level)'}{where(p)}: {p.message}"
        + (f" (fix: {p.fix})" if p.fix else "")
        for p in problems
    )
    return ScenarioValidationError(
        f"{len(problems)} problems:\n{body}",
        problems,
        file=source,
        field=problems[0].field or None,
        lines=at,
    )
