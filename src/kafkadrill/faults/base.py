"""Fault registry: one registration per fault type, everything about it together.

    @fault("node.kill", NodeParams, needs={Cap.NODE_KILL, Cap.NODE_START}, summary="...",
           plan=node_plan("node_kill", "node_start"))
    class NodeKill: ...

registers the parameter model in the catalog (what scenarios validate against), the
implementation (what a runtime executes; it is built from the validated parameter model, so
defaults are written once, on the model), the runtime capabilities it needs and its plan text
(what `kafkadrill plan` prints for it on the external runtime) in one step, so no part can ship
without the others. An implementation acts only through the `Runtime` protocol: a scenario
naming a fault the chosen runtime cannot perform is rejected before anything starts
(`missing_capabilities`).

A fault proves itself: `verify()` checks that it really took effect (a killed node is down, a
Kafka request across a cut link fails) and the result goes into the history.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from kafkadrill.faults import catalog
from kafkadrill.history import HistoryWriter
from kafkadrill.runtimes.base import Cap, Runtime
from kafkadrill.topology import Topology

#: How long a verify waits for a metadata change to read back: an admin request returns once
#: the controller committed it, and each broker applies it from the metadata log a moment later
#: (a describe answered by a lagging broker still shows the old value).
READ_BACK_SECONDS = 10.0

_T = TypeVar("_T")


def read_back(
    read: Callable[[], _T], shows: Callable[[_T], bool], timeout: float | None = None
) -> tuple[bool, _T]:
    """Read until `shows(value)` or `timeout` (default READ_BACK_SECONDS); -> (shown, last)."""
    deadline = time.monotonic() + (READ_BACK_SECONDS if timeout is None else timeout)
    while True:
        value = read()
        if shows(value) or time.monotonic() >= deadline:
            return shows(value), value
        time.sleep(0.2)


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


class PlanOps(Protocol):
    """What a fault's plan text may ask of the external runtime's plan
    (runtimes/external/plan.py): the exact commands and API calls behind one node, flow or
    link operation, as the user's adapters configure them."""

    topo: Topology

    def scoped(self, name: str) -> str:
        """A topic or group name as the run will create it (with the isolation prefix)."""
        ...

    def node_ops(
        self, cluster: str, node: Any, inject: str, heal: str, want: str = "down"
    ) -> list[str]:
        """inject/verify/heal lines for runtime node operations `inject` and `heal` (e.g.
        "node_kill", "node_start"); verify reads the node state and expects `want`."""
        ...

    def flow_ops(self, flow: str, inject: str, heal: str) -> list[str]:
        """inject/verify/heal lines for runtime flow operations `inject` and `heal`."""
        ...

    def link_ops(self, link: str, direction: str, kind: str, params: dict[str, Any]) -> list[str]:
        """inject/verify/heal lines for a Toxiproxy effect `kind` ("cut" or a toxic type)."""
        ...


P = TypeVar("P", bound=catalog.FaultParams)
# An implementation is built from the validated parameter model of its fault type.
Factory = Callable[[FaultContext, Any], ActiveFault]
# The plan text: the lines `kafkadrill plan` prints under the fault on the external runtime.
PlanText = Callable[[Any, PlanOps], list[str]]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class FaultType:
    name: str
    params: type[catalog.FaultParams]
    factory: Factory
    needs: frozenset[str]
    summary: str
    plan: PlanText | None = None  # None: the external runtime has no adapter for it


FAULTS: dict[str, FaultType] = {}


def fault(
    name: str,
    params: type[P],
    *,
    needs: Iterable[str],
    summary: str,
    plan: Callable[[P, PlanOps], list[str]] | None = None,
) -> Callable[[F], F]:
    """Register fault type `name`: its parameter model, its implementation (the decorated
    class or factory `(ctx, params: <the model>) -> ActiveFault`), the runtime capabilities it
    needs and its plan text on the external runtime (`plan(params, ops) -> lines`)."""
    caps = frozenset(needs)
    unknown = caps - Cap.ALL
    if unknown:
        raise ValueError(f"fault {name}: unknown capabilities {sorted(unknown)}")
    if name in FAULTS:
        raise ValueError(f"fault {name} is registered twice")

    def deco(factory: F) -> F:
        FAULTS[name] = FaultType(name, params, factory, caps, summary, plan)
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


def parsed_params(name: str, params: Mapping[str, Any] | catalog.FaultParams) -> Any:
    """`params` as fault `name`'s validated parameter model (defaults filled in)."""
    model = fault_type(name).params
    return params if isinstance(params, model) else model.model_validate(dict(params))


def create(
    name: str, ctx: FaultContext, params: Mapping[str, Any] | catalog.FaultParams
) -> ActiveFault:
    return fault_type(name).factory(ctx, parsed_params(name, params))


def plan_text(
    name: str, params: Mapping[str, Any] | catalog.FaultParams, ops: PlanOps
) -> list[str] | None:
    """What `kafkadrill plan` prints under fault `name` on the external runtime; None when the
    fault type declares no plan text (no adapter performs it there)."""
    plan = fault_type(name).plan
    return None if plan is None else plan(parsed_params(name, params), ops)
