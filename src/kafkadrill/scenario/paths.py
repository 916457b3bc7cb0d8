"""Paths into scenario data and the schema walk that maps them to models.

Shared by the YAML line index, `--set` overrides and the error mapping: all three speak of
`timeline[2].fault` and need the model that owns a key.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any, Union

from pydantic import BaseModel

Loc = tuple[str | int, ...]  # a path into the scenario data


def unwrap(tp: Any) -> Any:
    """Strip Annotated / Optional wrappers down to the type that holds data."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def field_by_key(model: type[BaseModel], key: str) -> Any:
    for n, f in model.model_fields.items():
        if key in (n, f.alias):
            return f.annotation
    return None


def split_key(key: str) -> list[str | int]:
    # "timeline[2].at" and "timeline.2.at" both mean element 2 of timeline.
    parts: list[str | int] = []
    for seg in key.split("."):
        m = re.fullmatch(r"([^\[\]]*)((?:\[[0-9]{1,9}\])*)", seg)
        if not m:
            parts.append(seg)
            continue
        if m.group(1):
            g = m.group(1)
            parts.append(int(g) if re.fullmatch(r"[0-9]{1,9}", g) else g)
        parts += [int(i) for i in re.findall(r"\[([0-9]{1,9})\]", m.group(2))]
    return parts


def parse_field(field: str) -> Loc:
    return tuple(split_key(field)) if field else ()


def fmt_path(loc: Loc) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
