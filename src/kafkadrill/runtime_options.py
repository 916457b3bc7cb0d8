"""Options models of runtimes, by the scenario key that holds them (`external:`).

A runtime registers the pydantic model of its own options here, the way faults register their
parameters; the scenario schema looks the model up by key, so the scenario package imports no
runtime. A built-in runtime's options module is imported by dotted path on the first lookup
(as runtimes/base.py `_load_builtin` does for the runtimes), so registration has happened before
any scenario is validated. This module imports nothing of kafkadrill: everyone may import it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=type[BaseModel])

# Scenario key -> the module that registers its model when imported.
BUILTIN_OPTIONS: dict[str, str] = {"external": "kafkadrill.runtimes.external.config"}
_MODELS: dict[str, type[BaseModel]] = {}


def register_options(key: str) -> Callable[[M], M]:
    """Class decorator: `model` validates the scenario section `key`."""

    def add(model: M) -> M:
        _MODELS[key] = model
        return model

    return add


def options_model(key: str) -> type[BaseModel]:
    """The model registered for scenario section `key` (importing a built-in's module first)."""
    if key not in _MODELS and key in BUILTIN_OPTIONS:
        importlib.import_module(BUILTIN_OPTIONS[key])
    try:
        return _MODELS[key]
    except KeyError:
        raise LookupError(f"no runtime registers options under the scenario key '{key}'") from None
