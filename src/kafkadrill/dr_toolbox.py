"""The drill's parts for the DR toolbox beyond replication (issue 24): the application's schema
writer, and what the backup and the schema registries held before the final read (the
evidence the backup and schemas checkers judge)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.history import Ev, HistoryWriter
from kafkadrill.plan import DrillPlan
from kafkadrill.runtimes.base import RunsBackup, RunsSchemaRegistry, Runtime
from kafkadrill.runtimes.shared import backup as bk
from kafkadrill.runtimes.shared.schema_registry import RegistryRest
from kafkadrill.workload.schemas import SchemaWriter, schema_sha

_log = logging.getLogger("kafkadrill.monitor")


def schema_writer(
    rt: Runtime,
    plan: DrillPlan,
    history: HistoryWriter,
    stop: threading.Event,
    producers: list[Any],
) -> SchemaWriter | None:
    """The application's schema evolution on the source's registry (None without one)."""
    reg = rt.topology.schema_registry
    if reg is None or reg.register_every_seconds is None:
        return None
    if not isinstance(rt, RunsSchemaRegistry):
        return None
    return SchemaWriter(
        f"{plan.producers[0].topic}-value",
        reg.register_every_seconds,
        reg.source,
        rt.registry_url,
        history,
        stop,
        list(producers),
    )


def record_backup(rt: Runtime, history: HistoryWriter) -> None:
    """What the backup (topology.backup) holds now: its segments, for the backup checker."""
    backup = rt.topology.backup
    if backup is None or not isinstance(rt, RunsBackup):
        return
    store = rt.backup_store()
    history.append(
        Ev.BACKUP,
        source=backup.source,
        topics=bk.backed_up_topics(
            backup, [t.name for t in rt.topology.cluster(backup.source).topics]
        ),
        store=str(store),
        flush_seconds=backup.flush_seconds,
        segments=[
            [s.topic, s.partition, s.first, s.last, s.written_ms] for s in bk.segments(store)
        ],
        alive=rt.backup_alive(),
    )


def record_schemas(rt: Runtime, history: HistoryWriter, writer: SchemaWriter | None) -> None:
    """What every cluster's schema registry resolves each id of the run to (by schema hash;
    null: unknown there), for the schemas checker: ids lost, or reused for another schema."""
    if writer is None or not isinstance(rt, RunsSchemaRegistry):
        return
    ids = sorted({r.id for r in writer.registered})
    registries: dict[str, dict[str, str | None]] = {}
    for c in rt.topology.clusters:
        rest = RegistryRest(rt.registry_url(c.name))
        try:
            texts = {str(i): rest.schema(i) for i in ids}
        except TopologyError as exc:  # a registry that does not answer says nothing
            _log.warning("schema registry of %s not read: %r", c.name, exc)
            continue
        registries[c.name] = {i: (schema_sha(t) if t else None) for i, t in texts.items()}
    history.append(Ev.SCHEMAS, registries=registries)
