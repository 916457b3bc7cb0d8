"""`--set` overrides (`kafkadrill sweep --set workload.producers.acks=1`): dotted keys applied
to raw scenario data before validation, walked along the schema so a typo is named at once."""

from __future__ import annotations

import copy
import types
import typing
from typing import Annotated, Any, Union

from kafkadrill.errors import ScenarioError
from kafkadrill.faults import catalog
from kafkadrill.faults.catalog import did_you_mean
from kafkadrill.faults.schedule import FixedFault, RandomFaults
from kafkadrill.scenario.errors import CONTROL_RE, printable
from kafkadrill.scenario.model import Scenario
from kafkadrill.scenario.paths import (
    field_by_key,
    field_names,
    fmt_path,
    is_model,
    split_key,
    unwrap,
)
from kafkadrill.scenario.safe_yaml import LimitError, check_data, parse_yaml


def _override_parts(key: Any) -> list[str | int]:
    if not isinstance(key, str):
        raise ScenarioError(
            f"override key must be text, got {type(key).__name__}",
            fix="use a dotted key such as workload.producers.acks",
        )
    shown = printable(key)
    if not key.strip():
        raise ScenarioError(
            "empty override key",
            field=repr(key),
            fix="use a dotted key such as workload.producers.acks=1",
        )
    if any(not seg.strip() for seg in key.split(".")):
        raise ScenarioError(
            "override key has an empty part (a leading, trailing or doubled '.')",
            field=shown,
            fix="write the path as a.b.c, e.g. workload.producers.acks",
        )
    if CONTROL_RE.search(key):
        raise ScenarioError(
            "override key holds a control character",
            field=shown,
            fix="retype the key",
        )
    return split_key(key)


def _override_value(v: Any, key: str, tp: Any = None) -> Any:
    """The value an override sets, for a field of type `tp` (None: not known).

    Where the schema wants text (`str`, a property map's value), the text is kept exactly:
    YAML would read `4.10` as 4.1 and `007` as 7, the silent change the loader refuses in a
    file. Only a quoted YAML string (`"a,b"`) loses its quotes, and `null` / an empty value
    still clears an optional field. Anywhere else (numbers, booleans, lists, mappings, unions
    of them, Literals, fields of unknown type) the text is parsed as YAML.
    """
    if not isinstance(v, str):
        return v
    try:
        data, _ = parse_yaml(v, None)  # "1" -> 1, "null" -> None, "[a, b]" -> list
    except LimitError as e:
        raise ScenarioError(f"override value: {e.message}", field=key, fix=e.fix) from None
    except ScenarioError:
        return v  # not YAML: the text itself (validation says if text is wrong there)
    if tp is None or not _wants_text(tp):
        return data
    if data is None and _admits_none(tp):
        return None
    if isinstance(data, str) and v.strip()[:1] in ("'", '"'):
        return data  # a quoted YAML string: the text inside the quotes
    return v


def _wants_text(tp: Any) -> bool:
    """Does the schema want text here (str, possibly Optional or Annotated)?"""
    return unwrap(tp) is str


def _admits_none(tp: Any) -> bool:
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    return typing.get_origin(tp) in (Union, types.UnionType) and type(None) in typing.get_args(tp)


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Apply dotted-key overrides to raw scenario data (before validation); returns a copy.

    Keys follow the scenario schema, so config maps take the rest of the key as one property
    name: `topology.broker_config.min.insync.replicas=2`. String values are parsed as YAML,
    except where the schema wants text: there the text is kept as given (`4.10`, `007`).
    Raises ScenarioError (field = the override key) for a path the schema does not have, an
    empty key, or a path through a value that is not a mapping or list in the data.
    """
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario is a mapping of keys, got {type(data).__name__}",
            fix="start with `name: my-drill`",
        )
    check_data(data, None)
    out = copy.deepcopy(data)
    for key, raw in overrides.items():
        parts = _override_parts(key)
        _set_path(out, parts, raw, key)
    return out


def _not_container(key: str, done: list[str | int], node: Any, want: str) -> ScenarioError:
    where = fmt_path(tuple(done)) or "the scenario"
    return ScenarioError(
        f"override: {where} is {_kind(node)} in the scenario, not {want}",
        field=printable(key),
        fix=f"fix {where} in the file, or override {where} itself",
    )


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    names = {dict: "a mapping", list: "a list", str: "text", bool: "a boolean"}
    names |= {int: "a number", float: "a number"}
    return names.get(type(v), f"a {type(v).__name__}")


# One step down the schema: (the next node, its type, how many key parts it used), or None
# once the value is set.
_Step = tuple[Any, Any, int] | None


def _set_path(data: Any, parts: list[str | int], value: Any, key: str) -> None:
    """Set the override `value` at `parts` in `data`, walking the schema alongside so a wrong
    path is named; a text value is parsed for the type found at the end (_override_value)."""
    tp: Any = Scenario
    node = data
    i = 0
    while i < len(parts):
        tp = unwrap(tp)
        origin = typing.get_origin(tp)
        if is_model(tp):
            step = _model_step(node, tp, parts, i, value, key)
        elif origin is list:
            step = _list_step(node, tp, parts, i, value, key)
        elif origin is dict:
            step = _dict_step(node, tp, parts, i, value, key)
        else:
            where = fmt_path(tuple(parts[:i]))
            raise ScenarioError(
                f"override: '{printable(str(parts[i]))}' goes below a plain value "
                f"({where} holds a single value)",
                field=printable(key),
                fix=f"override {where} itself",
            )
        if step is None:
            return
        node, tp, used = step
        i += used


def _model_step(node: Any, tp: Any, parts: list[str | int], i: int, value: Any, key: str) -> _Step:
    part = parts[i]
    if not isinstance(part, str) or field_by_key(tp, part) is None:
        names = field_names(tp)
        raise ScenarioError(
            f"override: no field '{printable(str(part))}' here"
            f"{did_you_mean(part, names)}; valid: {', '.join(names)}",
            field=printable(key),
        )
    if not isinstance(node, dict):
        raise _not_container(key, parts[:i], node, "a mapping")
    sub = field_by_key(tp, part)
    if i == len(parts) - 1:
        node[part] = _override_value(value, key, sub)
        return None
    if not isinstance(node.get(part), dict | list):
        node[part] = [] if typing.get_origin(unwrap(sub)) is list else {}
    return node[part], sub, 1


def _list_step(node: Any, tp: Any, parts: list[str | int], i: int, value: Any, key: str) -> _Step:
    part = parts[i]
    if not isinstance(node, list):
        raise _not_container(key, parts[:i], node, "a list")
    if not isinstance(part, int) or part > len(node):
        raise ScenarioError(
            f"override: '{printable(str(part))}' is not an index of "
            f"{fmt_path(tuple(parts[:i]))}, which has {len(node)} entries",
            field=printable(key),
            fix=f"use an index 0..{len(node) - 1}, or {len(node)} to append"
            if node
            else "use index 0 to add the first entry",
        )
    if part == len(node):
        node.append({})
    if i == len(parts) - 1:
        node[part] = _override_value(value, key, typing.get_args(tp)[0])
        return None
    item_tp = typing.get_args(tp)[0]
    if unwrap(item_tp) is not item_tp or typing.get_origin(unwrap(item_tp)) in (
        Union,
        types.UnionType,
    ):
        # The timeline's union: pick the member from the data, as validation will.
        item = node[part]
        item_tp = RandomFaults if isinstance(item, dict) and "random" in item else FixedFault
    return node[part], item_tp, 1


def _dict_step(node: Any, tp: Any, parts: list[str | int], i: int, value: Any, key: str) -> _Step:
    if not isinstance(node, dict):
        raise _not_container(key, parts[:i], node, "a mapping")
    val_tp = unwrap(typing.get_args(tp)[1])
    if typing.get_origin(val_tp) is dict and i < len(parts) - 1:
        # dict of dicts (random params per fault type, whose names hold dots): the
        # longest prefix that is an existing key or a fault type names the entry.
        rest = [str(p) for p in parts[i:]]
        for j in range(len(rest) - 1, 0, -1):
            name = ".".join(rest[:j])
            if name in node or name in catalog.FAULT_TYPES or j == 1:
                if not isinstance(node.setdefault(name, {}), dict):
                    raise _not_container(key, [*parts[:i], name], node[name], "a mapping")
                return node[name], val_tp, j
    # A property map: the rest of the key is one property name ("min.insync.replicas").
    node[".".join(str(p) for p in parts[i:])] = _override_value(value, key, val_tp)
    return None
