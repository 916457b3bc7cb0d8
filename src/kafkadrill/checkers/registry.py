"""The one list of checkers: each checker module registers itself with :func:`checker`.

Everything that used to be kept by hand in three lists that had to agree (the checkers run and
their report order, the checker names, the anomaly names a scenario may list in
``expected_anomalies``) derives from this registry. The registry is filled when
``kafkadrill.checkers`` imports the checker modules; read it through that package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kafkadrill.checkers._common import Verdict
    from kafkadrill.history import HistoryFrames

__all__ = ["CheckerFn", "CheckerSpec", "anomaly_names", "checker", "registered"]

CheckerFn = Callable[["HistoryFrames"], "Verdict"]


@dataclass(frozen=True)
class CheckerSpec:
    """One registered checker.

    ``order``: its place in run_checkers and in the report (ascending). Explicit because import
    order is not a contract (the import sorter reorders the modules). ``anomaly``: a scenario
    may list it in ``expected_anomalies`` (its FAIL then is reported but allowed).
    """

    name: str
    fn: CheckerFn
    order: int
    anomaly: bool = True


_REGISTRY: dict[str, CheckerSpec] = {}


def checker(name: str, *, order: int, anomaly: bool = True) -> Callable[[CheckerFn], CheckerFn]:
    """Register the decorated function as the checker ``name`` (returned unchanged)."""

    def register(fn: CheckerFn) -> CheckerFn:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"checker {name!r} registered twice")
        taken = {s.order: s.name for s in _REGISTRY.values() if s.name != name}
        if order in taken:
            raise ValueError(f"checker {name!r}: order {order} already taken by {taken[order]!r}")
        _REGISTRY[name] = CheckerSpec(name, fn, order, anomaly)
        return fn

    return register


def registered() -> tuple[CheckerSpec, ...]:
    """Every registered checker, in report order."""
    return tuple(sorted(_REGISTRY.values(), key=lambda s: s.order))


def anomaly_names() -> tuple[str, ...]:
    """Names a scenario may list in ``expected_anomalies``, in report order."""
    return tuple(s.name for s in registered() if s.anomaly)
