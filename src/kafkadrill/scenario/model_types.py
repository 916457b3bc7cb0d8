"""Small types every part of the scenario schema uses (kept apart so the schema's modules
can share them without importing each other)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


def _no_bool(v: Any) -> Any:
    # YAML `false` is a bool, and pydantic's lax mode would read it as 0: `max_lost: false`
    # must not silently mean "no loss allowed". A count or a time is a number.
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got {str(v).lower()} (a boolean)")
    return v


Int = Annotated[int, BeforeValidator(_no_bool)]
Float = Annotated[float, BeforeValidator(_no_bool)]


def _config_str(v: Any) -> Any:
    # Kafka properties are strings; YAML gives ints/bools. Render them the way Kafka spells them.
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return v


ConfigValue = Annotated[str, BeforeValidator(_config_str)]
ConfigMap = dict[str, ConfigValue]


def _version_str(v: Any) -> Any:
    # `kafka_version: 3.9` parses as a float in YAML; a version is a string.
    return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


class _Model(BaseModel):
    # NaN and infinity are never a valid time or count (and break arithmetic downstream).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)
