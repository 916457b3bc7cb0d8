"""The backup of the local runtime (topology.backup): one standalone Kafka Connect worker in
the backup's region running kafkadrill's sink connector over the drill's topics of the source
cluster, its store in the run directory (`backup/`), so it is part of the drill's evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.shared import backup as bk
from kafkadrill.runtimes.shared import config as cfg
from kafkadrill.runtimes.shared.connect import ConnectRest
from kafkadrill.runtimes.shared.ports import backup_rest_port
from kafkadrill.runtimes.shared.provision import KafkaDist, ensure_backup_plugin
from kafkadrill.topology import Topology

PROCESS = "backup"


class LocalBackup:
    """The backup half of LocalRuntime (a mixin: it works on the runtime's own state)."""

    topology: Topology
    workdir: Path
    plan: Any
    kafka: KafkaDist | None
    mm2_heap_mb: int

    def backup_store(self) -> Path:
        return self.workdir / "backup"

    def backup_alive(self) -> bool:
        child = self._sup().children.get(PROCESS)
        return child is not None and child.alive()

    def backup_start(self) -> str | None:
        """Start the backup worker over the topology's topics of its source (the topics exist:
        the connector subscribes by name). None without topology.backup."""
        backup = self.topology.backup
        if backup is None:
            return None
        if self.kafka is None:
            raise TopologyError("the backup needs the Kafka jars (start the topology first)")
        plugin = ensure_backup_plugin(self.kafka)
        store = self.backup_store()
        (store / "data").mkdir(parents=True, exist_ok=True)
        d = self.workdir / "config" / PROCESS
        d.mkdir(parents=True, exist_ok=True)
        log_dir = self.workdir / "logs" / PROCESS
        log_dir.mkdir(parents=True, exist_ok=True)
        log2, log1 = cfg.render_log_configs(str(log_dir / "connect.log"))
        (d / "log4j2.properties").write_text(log2)
        (d / "log4j.properties").write_text(log1)
        port = backup_rest_port(self.plan)
        bootstrap = self.bootstrap(backup.source, from_site=backup.region)
        props = bk.worker_props(backup, bootstrap, plugin, store, port)
        (d / "worker.properties").write_text(cfg.render_properties(props))
        main = ["org.apache.kafka.connect.cli.ConnectStandalone", str(d / "worker.properties")]
        child = self._sup().spawn(
            PROCESS, [*self._java(self.mm2_heap_mb, d, log_dir), *main], log_dir / "stdout.log"
        )
        topics = [t.name for t in self.topology.cluster(backup.source).topics]
        conf = bk.connector_config(bk.backed_up_topics(backup, topics), store)
        up = ConnectRest(f"http://127.0.0.1:{port}").bring_up(
            {bk.CONNECTOR: conf}, self._check_backup_alive
        )
        return f"started the backup of {backup.source} (pid {child.pid}, {up})"

    def backup_stop(self) -> None:
        if PROCESS in self._sup().children:
            self._sup().kill(PROCESS)

    def backup_kill(self) -> None:
        """SIGKILL the worker (its region lost): what it read and did not flush is gone; a
        restart resumes from the offsets Connect committed after the last flush."""
        self.backup_stop()

    def _check_backup_alive(self) -> None:
        if not self.backup_alive():
            log = self.workdir / "logs" / PROCESS / "stdout.log"
            raise TopologyError(f"the backup's Kafka Connect worker exited; see {log}")
