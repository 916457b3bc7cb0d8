"""Admin requests of the runtimes that start their clusters (local, compose): the admin client
they use from this machine, the creation of a topology's topics, and their health wait
(`StartedClusters`, a mixin of both runtime classes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.faults.probe import kafka_ping
from kafkadrill.runtimes.shared.health import QUIET, wait_cluster_healthy
from kafkadrill.topology import Cluster, Topology


def admin_client(bootstrap: str, security: Mapping[str, Any] | None = None) -> Any:
    """An AdminClient for a cluster started here (`security`: the super user's login on a
    cluster with application principals; fails fast)."""
    from confluent_kafka.admin import AdminClient

    return AdminClient(
        {
            "bootstrap.servers": bootstrap,
            "socket.connection.setup.timeout.ms": 3000,
            **QUIET,
            **(security or {}),
        }
    )


def create_topics(admin: Any, cluster: Cluster) -> None:
    """The cluster's topics as the topology declares them; a refusal is a TopologyError."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewTopic

    if not cluster.topics:
        return
    new = [
        NewTopic(t.name, t.partitions, t.replication_factor, config=dict(t.config))
        for t in cluster.topics
    ]
    for name, fut in admin.create_topics(new).items():
        try:
            fut.result(timeout=30)
        except KafkaException as exc:
            raise TopologyError(
                f"cluster {cluster.name}: cannot create topic {name}: {exc}"
            ) from exc


class StartedClusters:
    """Health, admin and topics of clusters the runtime started itself (a mixin)."""

    topology: Topology
    bootstrap: Callable[..., str]  # the runtime's
    _check_alive: Callable[[str], None]  # the runtime's: raises if a node has exited
    clients: Any  # the runtime's; its `config` logs kafkadrill's own clients in

    def _admin(self, cluster: str) -> Any:
        return admin_client(self.bootstrap(cluster), getattr(self.clients, "config", None))

    def wait_healthy(self, cluster: str, timeout: float = 90.0) -> None:
        """All nodes answer and are registered, and a write with acks=all succeeds."""
        wait_cluster_healthy(
            cluster,
            self.topology.cluster(cluster).size,
            self.bootstrap(cluster),
            lambda: self._check_alive(cluster),
            timeout,
            getattr(self.clients, "config", None),
        )

    def _create_topics(self, cluster: Cluster) -> None:
        if cluster.topics:  # no admin client (no connection) for a cluster without topics
            create_topics(self._admin(cluster.name), cluster)

    def ping(self, address: str, timeout: float = 1.0) -> float | None:
        return kafka_ping(address, timeout)
