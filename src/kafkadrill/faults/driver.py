"""inject -> verify -> heal: the one sequence every fault goes through, recorded in the history.

Used by the runner's fault phase and by the `kafkadrill_fault` pytest fixture alike. A fault
that does not verify is recorded as such (the report shows it unverified); a heal that fails is
an infrastructure error (TopologyError): the topology can no longer be trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.faults.base import ActiveFault, FaultContext, create
from kafkadrill.history import Ev, HistoryWriter


@dataclass
class Injected:
    """One fault as injected: what was done, whether it took effect, whether it was healed."""

    fault_id: str
    name: str
    params: dict[str, Any]
    impl: ActiveFault = field(repr=False)
    label: str = ""
    detail: str = ""
    verified: bool = False
    verify_detail: str = ""
    healed: bool = False
    heal_detail: str | None = None


class FaultDriver:
    def __init__(
        self,
        ctx: FaultContext,
        history: HistoryWriter,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.history = history
        self.on_event = on_event or (lambda _text: None)
        self.injected: list[Injected] = []

    def inject(
        self,
        name: str,
        params: dict[str, Any],
        *,
        fault_id: str | None = None,
        target: dict[str, Any] | None = None,
        origin: str | None = None,
        label: str | None = None,
    ) -> Injected:
        fault_id = fault_id or f"f{len(self.injected)}"
        impl = create(name, self.ctx, dict(params))
        self.history.append(
            Ev.FAULT_INJECT,
            fault_id=fault_id,
            fault=name,
            target=target if target is not None else dict(params),
            params=dict(params),
            origin=origin,
        )
        rec = Injected(fault_id, name, dict(params), impl, label or f"{name} {params}")
        # Registered before inject() runs: a half-applied fault is healed like any other.
        self.injected.append(rec)
        rec.detail = impl.inject()
        rec.verified, rec.verify_detail = impl.verify()
        self.history.append(
            Ev.FAULT_VERIFY,
            fault_id=fault_id,
            ok=rec.verified,
            detail=f"{rec.detail}; {rec.verify_detail}",
        )
        self.on_event(f"injected {rec.label} (verified: {rec.verified})")
        return rec

    def heal(self, rec: Injected) -> None:
        if rec.healed:
            return
        rec.healed = True
        try:
            rec.heal_detail = rec.impl.heal()
        except Exception as exc:
            rec.heal_detail = repr(exc)
            self.history.append(Ev.FAULT_HEAL, fault_id=rec.fault_id, ok=False, detail=repr(exc))
            raise TopologyError(f"healing {rec.label} failed: {exc!r}") from exc
        self.history.append(Ev.FAULT_HEAL, fault_id=rec.fault_id, ok=True, detail=rec.heal_detail)
        self.on_event(f"healed {rec.label}")

    def heal_all(self) -> None:
        """Heal every fault still in force, newest first; keep going past a failure."""
        errors = []
        for rec in reversed(self.injected):
            try:
                self.heal(rec)
            except TopologyError as exc:
                errors.append(str(exc))
        if errors:
            raise TopologyError("; ".join(errors))

    def active(self) -> list[Injected]:
        return [r for r in self.injected if not r.healed]
