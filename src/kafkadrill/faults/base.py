"""Fault registry: one registration per fault type, its parameters and implementation together.

    @fault("node.kill", NodeParams, needs={Cap.NODE_KILL, Cap.NODE_START}, summary="...")
    class NodeKill: ...

registers the parameter model in the catalog (what scenarios validate against) and the
implementation (what a runtime executes) in one step, so neither half can ship without the
other. An implementation acts only through the `Runtime` protocol, and declares the runtime
capabilities it needs: a scenario naming a fault the chosen runtime cannot perform is rejected
before anything starts (`missing_capabilities`).

A fault proves itself: `verify()` checks that it really took effect (a killed node is down, a
Kafka request across a cut link fails) and the result goes into the history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from kafkadrill.faults import catalog
from kafkadrill.history import HistoryWriter
from kafkadrill.runtimes.base import Cap, Runtime


class Client(Protocol):
    """What a fault needs of a workload client (producer or consumer thread)."""

    cluster: str
    paused: Any

    @property
    def site(self) -> str: ...


@dataclass
class FaultContext:
    runtime: Runtime
    history: HistoryWriter | None = None
    clients: list[Any] = field(default_factory=list)


class ActiveFault(Protocol):
    def inject(self) -> str: ...
    def verify(self) -> tuple[bool, str]: ...
    def heal(self) -> str: ...


Factory = Callable[[FaultContext, dict[str, Any]], ActiveFault]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class FaultType:
    name: str
    params: type[catalog.FaultParams]
    factory: Factory
    needs: frozenset[str]
    summary: str


FAULTS: dict[str, FaultType] = {}


def fault(
    name: str,
    params: type[catalog.FaultParams],
    *,
    needs: Iterable[str],
    summary: str,
) -> Callable[[F], F]:
    """Register fault type `name`: its parameter model, its implementation (the decorated
    class or factory `(ctx, params) -> ActiveFault`) and the runtime capabilities it needs."""
    caps = frozenset(needs)
    unknown = caps - Cap.ALL
    if unknown:
        raise ValueError(f"fault {name}: unknown capabilities {sorted(unknown)}")
    if name in FAULTS:
        raise ValueError(f"fault {name} is registered twice")

    def deco(factory: F) -> F:
        FAULTS[name] = FaultType(name, params, factory, caps, summary)
        catalog._register(name, params, summary)
        return factory

    return deco


def unregister(name: str) -> None:
    """Remove a fault type (tests that register their own)."""
    FAULTS.pop(name, None)
    catalog.FAULT_TYPES.pop(name, None)
    catalog.FAULT_SUMMARIES.pop(name, None)


def fault_type(name: str) -> FaultType:
    if name not in FAULTS:
        raise KeyError(catalog.unknown_fault_message(name))
    return FAULTS[name]


def missing_capabilities(name: str, capabilities: Iterable[str]) -> set[str]:
    """Capabilities fault `name` needs that a runtime with `capabilities` lacks."""
    return set(fault_type(name).needs) - set(capabilities)


def create(name: str, ctx: FaultContext, params: dict[str, Any]) -> ActiveFault:
    return fault_type(name).factory(ctx, dict(params))
