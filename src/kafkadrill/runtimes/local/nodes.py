"""Nodes of the local runtime: KRaft storage prepared without a JVM per node, one JVM per
node under the Supervisor, and the node operations of faults (signals to the process)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.base import NodeState
from kafkadrill.runtimes.shared import config as cfg
from kafkadrill.runtimes.shared.ports import NodePorts
from kafkadrill.runtimes.shared.processes import Supervisor
from kafkadrill.runtimes.shared.provision import KafkaDist, cache_dir
from kafkadrill.topology import Cluster, Node, Topology


def process_state(pid: int) -> NodeState:
    try:
        status = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return "down"
    if status == psutil.STATUS_ZOMBIE:
        return "down"
    return "paused" if status == psutil.STATUS_STOPPED else "running"


@dataclass
class NodeRuntime:
    cluster: Cluster
    node: Node
    ports: NodePorts
    dir: Path  # config + hosts file
    data_dir: Path
    log_dir: Path

    @property
    def name(self) -> str:
        return f"{self.cluster.name}-n{self.node.node_id}"


class LocalNodes:
    """The node half of LocalRuntime (a mixin: it works on the runtime's own state)."""

    topology: Topology
    workdir: Path
    plan: Any
    kafka: KafkaDist | None
    heap_mb: int
    scratch: Path | None
    supervisor: Supervisor | None
    nodes: dict[str, NodeRuntime]
    cds_opts: list[str]  # class-data sharing (runtimes/shared/cds.py); [] without an archive

    def _prepare_nodes(self) -> None:
        assert self.kafka is not None and self.scratch is not None
        jobs = []
        for c in self.topology.clusters:
            cluster_id = cfg.new_cluster_id()
            for n in c.nodes:
                nr = NodeRuntime(
                    c,
                    n,
                    self.plan.node(c.name, n.node_id),
                    self.workdir / "config" / f"{c.name}-n{n.node_id}",
                    self.scratch / f"{c.name}-n{n.node_id}",
                    self.workdir / "logs" / f"{c.name}-n{n.node_id}",
                )
                nr.dir.mkdir(parents=True, exist_ok=True)
                nr.log_dir.mkdir(parents=True, exist_ok=True)
                (nr.dir / "server.properties").write_text(
                    cfg.render_server_properties(self.topology, c, n, self.plan, str(nr.data_dir))
                )
                (nr.dir / "hosts").write_text(cfg.render_hosts_file(c, n, mesh=c.multi_az))
                log2, log1 = cfg.render_log_configs(str(nr.log_dir / "server.log"))
                (nr.dir / "log4j2.properties").write_text(log2)
                (nr.dir / "log4j.properties").write_text(log1)
                self.nodes[nr.name] = nr
                jobs.append((nr, cluster_id))

        # What `kafka-storage format` writes, without one JVM per node: the bootstrap
        # checkpoint (metadata.version and feature levels) depends only on the Kafka version,
        # so it is made once per version and copied; meta.properties is per node.
        for nr, cluster_id in jobs:
            checkpoint = self._bootstrap_checkpoint(nr.cluster.features)
            nr.data_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(checkpoint, nr.data_dir / "bootstrap.checkpoint")
            (nr.data_dir / "meta.properties").write_text(
                "#\n#written by kafkadrill as kafka-storage format would\n"
                f"node.id={nr.node.node_id}\ndirectory.id={cfg.new_cluster_id()}\n"
                f"version=1\ncluster.id={cluster_id}\n"
            )

    def _bootstrap_checkpoint(self, features: tuple[tuple[str, int], ...] = ()) -> Path:
        """bootstrap.checkpoint of this Kafka version and feature levels, made once with the
        storage tool (which refuses a level the version does not know: a TopologyError)."""
        assert self.kafka is not None
        key = f"{self.kafka.version}-{self.kafka.source}"
        key += "".join(f"-{name}={level}" for name, level in features)
        target = cache_dir() / "bootstrap" / key
        checkpoint = target / "bootstrap.checkpoint"
        if checkpoint.exists():
            return checkpoint
        tmp = Path(tempfile.mkdtemp(prefix="kafkadrill-format-"))
        try:
            props = tmp / "server.properties"
            props.write_text(
                cfg.render_properties(
                    {
                        "process.roles": "broker,controller",
                        "node.id": 1,
                        "controller.quorum.voters": "1@127.0.0.1:9093",
                        "listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
                        "controller.listener.names": "CONTROLLER",
                        "log.dirs": str(tmp / "data"),
                    }
                )
            )
            cmd = [
                *self._java(64),
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cfg.new_cluster_id()}",
                "--config",
                str(props),
                *(f"--feature={name}={level}" for name, level in features),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
            made = tmp / "data" / "bootstrap.checkpoint"
            if proc.returncode != 0 or not made.exists():
                raise TopologyError(
                    f"kafka-storage format failed (Kafka {self.kafka.version}"
                    + (f", topology.features {dict(features)}" if features else "")
                    + "):\n"
                    + (proc.stdout + proc.stderr)[-1500:]
                )
            target.mkdir(parents=True, exist_ok=True)
            part = target / f".bootstrap.checkpoint.{os.getpid()}"
            shutil.copyfile(made, part)
            part.replace(checkpoint)  # atomic: concurrent runs never see half a file
            return checkpoint
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _java(
        self,
        heap_mb: int,
        conf_dir: Path | None = None,
        log_dir: Path | None = None,
        hosts: bool = False,
    ) -> list[str]:
        """The JVM command line up to the main class; configs are read from `conf_dir`."""
        assert self.kafka is not None
        cmd = [
            "java",
            f"-Xmx{heap_mb}m",
            "-Xms32m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dkafkadrill.topology={self.plan.base}",
        ]
        if conf_dir is not None:
            cmd += [
                f"-Dlog4j2.configurationFile={conf_dir / 'log4j2.properties'}",
                f"-Dlog4j.configuration=file:{conf_dir / 'log4j.properties'}",
            ]
            if hosts:
                cmd.append(f"-Djdk.net.hosts.file={conf_dir / 'hosts'}")
        if log_dir is not None:
            cmd.append(f"-Dkafka.logs.dir={log_dir}")
        cmd += self.cds_opts
        cmd += os.environ.get("KAFKADRILL_JAVA_OPTS", "").split()
        cmd += ["-cp", self.kafka.classpath]
        return cmd

    def _spawn_node(self, nr: NodeRuntime) -> None:
        assert self.supervisor is not None
        cmd = [
            *self._java(self.heap_mb, nr.dir, nr.log_dir, hosts=True),
            "kafka.Kafka",
            str(nr.dir / "server.properties"),
        ]
        self.supervisor.spawn(nr.name, cmd, nr.log_dir / "stdout.log")

    def node_names(self, cluster: str | None = None) -> list[str]:
        return [n for n, nr in self.nodes.items() if cluster is None or nr.cluster.name == cluster]

    def _node(self, cluster: str, node_id: int) -> NodeRuntime:
        name = f"{cluster}-n{node_id}"
        if name not in self.nodes:
            raise TopologyError(f"no node {node_id} in cluster {cluster}")
        return self.nodes[name]

    def _sup(self) -> Supervisor:
        if self.supervisor is None:
            raise TopologyError("topology is not started")
        return self.supervisor

    def _pid(self, cluster: str, node_id: int) -> int:
        return self._sup().children[self._node(cluster, node_id).name].pid

    def node_alive(self, cluster: str, node_id: int) -> bool:
        return self._sup().children[self._node(cluster, node_id).name].alive()

    def node_state(self, cluster: str, node_id: int) -> NodeState:
        return process_state(self._pid(cluster, node_id))

    def node_kill(self, cluster: str, node_id: int) -> str:
        pid = self._pid(cluster, node_id)
        self._sup().kill(self._node(cluster, node_id).name)
        return f"SIGKILL pid {pid}"

    def node_stop(self, cluster: str, node_id: int, timeout: float = 30.0) -> str:
        pid = self._pid(cluster, node_id)
        self._sup().stop(self._node(cluster, node_id).name, timeout)
        return f"SIGTERM pid {pid}"

    def node_start(self, cluster: str, node_id: int) -> str:
        nr = self._node(cluster, node_id)
        if not self.node_alive(cluster, node_id):
            self._spawn_node(nr)
        return f"pid {self._pid(cluster, node_id)}"

    def node_pause(self, cluster: str, node_id: int) -> str:
        self._sup().signal(self._node(cluster, node_id).name, signal.SIGSTOP)
        return f"SIGSTOP pid {self._pid(cluster, node_id)}"

    def node_resume(self, cluster: str, node_id: int) -> str:
        self._sup().signal(self._node(cluster, node_id).name, signal.SIGCONT)
        return f"SIGCONT pid {self._pid(cluster, node_id)}"

    def _check_alive(self, cluster: str) -> None:
        assert self.supervisor is not None
        for name in self.node_names(cluster):
            child = self.supervisor.children.get(name)
            if child is not None and not child.alive():
                log = self.nodes[name].log_dir / "stdout.log"
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                raise TopologyError(
                    f"{name} exited (code {child.popen.returncode}); see {log}\n{tail}"
                )
