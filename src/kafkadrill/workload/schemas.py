"""The application's schema evolution (topology.schema_registry): a new version of its value
schema registered every few seconds on the registry of the cluster it writes to, as a
deployment with a schema-aware serializer does; its producers then write the new id in the
`kd-schema-id` header (the Confluent wire format carries it in the value's first bytes)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.history import Ev, HistoryWriter
from kafkadrill.runtimes.shared.schema_registry import RegistryRest

HDR_SCHEMA_ID = "kd-schema-id"


def schema_text(version: int) -> str:
    """Version `version` of the value schema: an Avro record with a new defaulted field each
    version (a compatible evolution)."""
    fields = [{"name": "id", "type": "string"}]
    fields += [{"name": f"v{i}", "type": "int", "default": 0} for i in range(2, version + 1)]
    return json.dumps(
        {"type": "record", "name": "Order", "namespace": "kafkadrill", "fields": fields},
        separators=(",", ":"),
    )


def schema_sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Registered:
    cluster: str
    version: int
    id: int
    sha: str


class SchemaWriter(threading.Thread):
    """Registers version 1, 2, ... every `every` seconds on `url_of(cluster)`; `redirect()`
    moves it to another cluster's registry (the failover, once that one is read-write)."""

    def __init__(
        self,
        subject: str,
        every: float,
        cluster: str,
        url_of: Callable[[str], str],
        history: HistoryWriter,
        stop: threading.Event,
        producers: list[Any],
    ) -> None:
        super().__init__(name="schemas", daemon=True)
        self.subject, self.every, self.cluster = subject, every, cluster
        self.url_of, self.history, self.stop_event = url_of, history, stop
        self.producers = producers
        self.registered: list[Registered] = []
        self.version = 0
        self._lock = threading.Lock()
        self._redirect_to: str | None = None

    def redirect(self, cluster: str) -> None:
        with self._lock:
            self._redirect_to = cluster

    def ids_on(self, cluster: str) -> list[Registered]:
        with self._lock:
            return [r for r in self.registered if r.cluster == cluster]

    def run(self) -> None:
        delay = 0.0  # the first version at once, then one attempt every `every` seconds
        while not self.stop_event.wait(delay):
            delay = self.every
            with self._lock:
                if self._redirect_to is not None:
                    self.cluster, self._redirect_to = self._redirect_to, None
            self.version += 1
            text = schema_text(self.version)
            sha = schema_sha(text)
            try:
                sid, error = RegistryRest(self.url_of(self.cluster)).register(self.subject, text)
            except TopologyError as exc:  # the registry's cluster may be down: that is the drill
                sid, error = None, str(exc)
            self.history.append(
                Ev.SCHEMA_REGISTER,
                cluster=self.cluster,
                subject=self.subject,
                version=self.version,
                id=sid,
                schema_sha=sha,
                error=error,
            )
            if sid is None:
                self.version -= 1  # the application retries the same version
                continue
            with self._lock:
                self.registered.append(Registered(self.cluster, self.version, sid, sha))
            header = [(HDR_SCHEMA_ID, str(sid).encode())]
            for p in self.producers:
                p.extra_headers = header
