"""Loading a scenario: read the file safely, apply `--set` overrides, validate the shape
(pydantic), then the semantic rules; every problem is named by file, field path and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kafkadrill.errors import ScenarioError
from kafkadrill.faults.catalog import Problem
from kafkadrill.scenario.errors import printable, pydantic_problems, redact_error, validation_error
from kafkadrill.scenario.model import Scenario, install_validator
from kafkadrill.scenario.overrides import apply_overrides
from kafkadrill.scenario.paths import Loc, fmt_path, split_key
from kafkadrill.scenario.rules import semantic_problems
from kafkadrill.scenario.safe_yaml import check_data, read_yaml
from kafkadrill.secrets import find_secrets, is_secret_key


def build_scenario(
    data: Any, *, source: str | None, overrides: dict[str, Any] | None, lines: dict[Loc, int]
) -> Scenario:
    """Validate parsed scenario data (overrides, schema, rules); every error text redacted."""
    secrets: set[str] = set()
    try:
        if isinstance(data, dict | list):
            check_data(data, source)
            secrets = find_secrets(data)
        if overrides:
            if not isinstance(overrides, dict):
                raise ScenarioError(
                    "overrides must map dotted keys to values", file=source, fix="use KEY=VALUE"
                )
            secrets |= find_secrets({str(k): v for k, v in overrides.items()})
            for k, v in overrides.items():
                if is_secret_key(k) and isinstance(v, str) and v.strip():
                    secrets.add(v)  # a --set secret, even a short one, is never echoed
        return _build_checked(data, source=source, overrides=overrides, lines=lines)
    except ScenarioError as e:
        # Error texts reach consoles and CI logs: no secret value, no raw control character.
        raise redact_error(e, secrets) from None


def _build_checked(
    data: Any, *, source: str | None, overrides: dict[str, Any] | None, lines: dict[Loc, int]
) -> Scenario:
    if data is None:
        raise ScenarioError("empty scenario", file=source, fix="at least give a name")
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario is a mapping of keys, got {type(data).__name__}",
            file=source,
            fix="start with `name: my-drill`",
        )
    if overrides:
        try:
            data = apply_overrides(data, overrides)
        except ScenarioError as e:
            raise ScenarioError(
                e.message,
                file=source,
                field=e.field,
                fix=e.fix or "check the --set key (a dotted path of the scenario format)",
            ) from None
        # Overridden values did not come from the file: drop their line numbers.
        numbers: dict[Loc, str] = getattr(lines, "numbers", {})
        for key in overrides:
            loc = tuple(split_key(str(key)))
            for p in [p for p in lines if _under(p, loc)]:
                del lines[p]
            for p in [p for p in numbers if _under(p, loc)]:
                del numbers[p]
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as e:
        raise validation_error(pydantic_problems(e, Scenario), source, lines) from None
    scn._source = source
    numbers = getattr(lines, "numbers", {})
    problems = _numbers_read_as_text(scn, data, numbers) or semantic_problems(scn)
    if problems:
        raise validation_error(problems, source, lines)
    return scn


def _under(p: Loc, loc: Loc) -> bool:
    """Is ``p`` (a path in the file) at or below the override's ``loc``? Compared as dotted
    text too: a property map's key holds dots (`topology.mm2.emit.checkpoints.interval.seconds`
    is the key `emit.checkpoints.interval.seconds` of `topology.mm2`), which split_key cannot
    tell from nesting (a sweep over an unquoted MM2 number was refused as a text change)."""
    if p[: len(loc)] == loc:
        return True
    dotted, key = ".".join(map(str, p)), ".".join(map(str, loc))
    return dotted == key or dotted.startswith(key + ".")


def _numbers_read_as_text(scn: Scenario, data: Any, numbers: dict[Loc, str]) -> list[Problem]:
    """An unquoted number where the schema wants a string is taken as str(number): harmless for
    `60000`, a silent change for `4.10` (-> '4.1') or `007` (-> '7'). Refuse those. A value a
    validator maps on purpose (`acks: -1` -> 'all') is not str(number) and stays accepted."""
    if not numbers:
        return []
    dumped = scn.model_dump(by_alias=True)
    problems = []
    for loc, text in numbers.items():
        value, raw = _at(dumped, loc), _at(data, loc)
        if isinstance(value, str) and value == str(raw) and value != text:
            problems.append(
                Problem(
                    fmt_path(loc),
                    f"unquoted {text} is read by YAML as a number and would become '{value}'",
                    f'quote it: "{text}"',
                )
            )
    return problems


def _at(doc: Any, loc: Loc) -> Any:
    for key in loc:
        in_dict = isinstance(doc, dict) and key in doc
        in_list = isinstance(doc, list) and isinstance(key, int) and 0 <= key < len(doc)
        if not (in_dict or in_list):
            return None
        doc = doc[key]
    return doc


install_validator(build_scenario)  # Scenario.from_dict validates through it


def load_scenario(path: Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, override and validate a scenario file; raise ScenarioError on any problem.

    `overrides` maps dotted keys to values (`{"workload.producers.acks": "1"}`), applied before
    validation; string values are parsed as YAML scalars except where the schema wants text.
    """
    path = Path(path)
    try:
        data, lines = read_yaml(path)
    except ScenarioError as e:
        raise redact_error(e, set()) from None
    return build_scenario(data, source=printable(str(path)), overrides=overrides, lines=lines)
