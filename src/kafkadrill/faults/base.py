"""Fault implementations: a registry by fault name, each able to inject, verify and heal.

The parameter models and validation live in catalog.py (pure); this module is what a runtime
executes. A fault proves itself: `verify()` checks that it really took effect (a killed
process is gone, a TCP request across a cut link fails) and the result goes into the history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kafkadrill.history import HistoryWriter
from kafkadrill.topology.local import LocalRuntime


class Client(Protocol):
    """What a fault needs of a workload client (producer or consumer thread)."""

    cluster: str
    paused: Any

    @property
    def site(self) -> str: ...


@dataclass
class FaultContext:
    runtime: LocalRuntime
    history: HistoryWriter
    clients: list[Any] = field(default_factory=list)


class ActiveFault(Protocol):
    def inject(self) -> str: ...
    def verify(self) -> tuple[bool, str]: ...
    def heal(self) -> str: ...


Factory = Callable[[FaultContext, dict[str, Any]], ActiveFault]
IMPLEMENTATIONS: dict[str, Factory] = {}


def implements(name: str) -> Callable[[Factory], Factory]:
    """Register the implementation of fault type `name` (see catalog.register for params)."""

    def deco(factory: Factory) -> Factory:
        IMPLEMENTATIONS[name] = factory
        return factory

    return deco


def create(name: str, ctx: FaultContext, params: dict[str, Any]) -> ActiveFault:
    # Importing the modules registers the built-in implementations.
    from kafkadrill.faults import network, process, region  # noqa: F401

    if name not in IMPLEMENTATIONS:
        raise KeyError(f"fault type {name!r} has no implementation for the local runtime")
    return IMPLEMENTATIONS[name](ctx, params)
