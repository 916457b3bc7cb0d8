"""The schema registries of the local runtime (topology.schema_registry): one Apicurio Registry
per cluster on Java 21+, HTTP on 127.0.0.1, its KafkaSQL journal on that cluster (the source's
own journal read-write; a flow target's MM2 copy of it read-only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.shared import schema_registry as sr
from kafkadrill.runtimes.shared.ports import registry_management_port, registry_port
from kafkadrill.topology import Topology
from kafkadrill.workload.access import KafkaClients

PREFIX = "registry-"


class LocalRegistries:
    """The schema-registry half of LocalRuntime (a mixin: it works on the runtime's state)."""

    topology: Topology
    workdir: Path
    plan: Any
    clients: KafkaClients
    _generation: int

    def registry_url(self, cluster: str) -> str:
        return f"http://127.0.0.1:{registry_port(self.plan, self.topology, cluster)}"

    def registry_read_only(self, cluster: str, read_only: bool) -> None:
        sr.RegistryRest(self.registry_url(cluster)).set_read_only(read_only)

    def registries_start(self) -> list[str]:
        """Start every cluster's registry (the journal topics exist: the source's is a drill
        topic; a replica's copy is created here, then filled by MM2) and wait until each
        answers (started together: each takes seconds of CPU to start)."""
        if self.topology.schema_registry is None:
            return []
        names = [c.name for c in self.topology.clusters]
        started = [self._spawn_registry(name) for name in names]
        return [self._registry_ready(name, what) for name, what in zip(names, started, strict=True)]

    def registry_start(self, cluster: str) -> str:
        """(Re)start one cluster's registry and wait until it answers (it replays its
        journal)."""
        return self._registry_ready(cluster, self._spawn_registry(cluster))

    def registry_kill(self, cluster: str) -> bool:
        """SIGKILL one cluster's registry (its region lost); False if it was not running."""
        child = self._sup().children.get(f"{PREFIX}{cluster}")
        if child is None or not child.alive():
            return False
        self._sup().kill(f"{PREFIX}{cluster}")
        return True

    def _spawn_registry(self, cluster: str) -> str:
        reg = self.topology.schema_registry
        assert reg is not None
        home = sr.ensure_apicurio()
        java = sr.find_java21()
        c = self.topology.cluster(cluster)
        journal, read_only = reg.journal_on(self.topology, c.name)
        if read_only:
            rf = min(3, c.size)
            self.clients.create_topic(
                self.bootstrap(c.name), journal, 1, rf, {"retention.ms": "-1"}
            )
        props = sr.registry_props(
            bootstrap=self.bootstrap(c.name),
            journal=journal,
            port=registry_port(self.plan, self.topology, c.name),
            management_port=registry_management_port(self.plan, self.topology, c.name),
            read_only=read_only,
            group_prefix=f"kafkadrill-registry-{self._generation}-",
        )
        log_dir = self.workdir / "logs" / f"{PREFIX}{c.name}"
        log_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(java),
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            f"-Dkafkadrill.topology={self.plan.base}",
            *(f"-D{k}={v}" for k, v in props.items()),
            "-jar",
            str(home / "quarkus-run.jar"),
        ]
        self._sup().spawn(f"{PREFIX}{c.name}", cmd, log_dir / "stdout.log")
        return f"{journal} ({'read-only' if read_only else 'read-write'})"

    def _registry_ready(self, cluster: str, what: str) -> str:
        ready = sr.RegistryRest(self.registry_url(cluster)).wait_ready(
            sr.READY_S, lambda: self._check_registry_alive(cluster)
        )
        return f"schema registry of {cluster} on {what} after {ready:.1f} s"

    def registries_stop(self) -> None:
        for name in [n for n in self._sup().children if n.startswith(PREFIX)]:
            self._sup().kill(name)

    def _check_registry_alive(self, cluster: str) -> None:
        child = self._sup().children.get(f"{PREFIX}{cluster}")
        if child is None or not child.alive():
            log = self.workdir / "logs" / f"{PREFIX}{cluster}" / "stdout.log"
            raise TopologyError(f"the schema registry of {cluster} exited; see {log}")
