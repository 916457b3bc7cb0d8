"""The failover's schema registry steps (seed 002: on failover the DR registry goes from
read-only to read-write): what the target's registry resolves at the decision, and the switch.
"""

from __future__ import annotations

import time
from typing import Any

from kafkadrill.runbooks.steps import RunbookContext
from kafkadrill.runtimes.base import RunsSchemaRegistry
from kafkadrill.runtimes.shared.schema_registry import RegistryRest
from kafkadrill.workload.schemas import schema_sha


def registry_replica(ctx: RunbookContext, target: str) -> bool:
    """Whether `target` runs a read-only replica of the source's registry to switch."""
    rt, reg = ctx.runtime, ctx.runtime.topology.schema_registry
    if reg is None or not isinstance(rt, RunsSchemaRegistry):
        return False
    return reg.journal_on(rt.topology, target)[1]


def schema_check(ctx: RunbookContext, source: str, target: str) -> dict[str, Any]:
    """Every id the application registered on `source` so far, asked of `target`'s registry:
    those it does not resolve, or resolves to another schema (the schema RPO's ids)."""
    rt = ctx.runtime
    assert isinstance(rt, RunsSchemaRegistry)
    rest = RegistryRest(rt.registry_url(target))
    mine = ctx.schemas.ids_on(source) if ctx.schemas is not None else []
    missing, different = [], []
    for r in mine:
        text = rest.schema(r.id)
        if text is None:
            missing.append(r.id)
        elif schema_sha(text) != r.sha:
            different.append(r.id)
    return {
        "registry": rt.registry_url(target),
        "checked": [r.id for r in mine],
        "missing": missing,
        "different": different,
    }


def registry_read_write(ctx: RunbookContext, target: str) -> dict[str, Any]:
    """Switch `target`'s registry to read-write and move the application's schema writer
    there."""
    rt = ctx.runtime
    assert isinstance(rt, RunsSchemaRegistry)
    t0 = time.monotonic()
    rt.registry_read_only(target, False)
    if ctx.schemas is not None:
        ctx.schemas.redirect(target)
    return {"registry": rt.registry_url(target), "seconds": round(time.monotonic() - t0, 3)}
