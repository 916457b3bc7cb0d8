"""Admin requests of the runtimes that start their clusters (local, compose): the admin client
they use from this machine and the creation of a topology's topics."""

from __future__ import annotations

from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.shared.health import QUIET
from kafkadrill.topology import Cluster


def admin_client(bootstrap: str) -> Any:
    """An AdminClient for a cluster started here (no security settings; fails fast)."""
    from confluent_kafka.admin import AdminClient

    return AdminClient(
        {
            "bootstrap.servers": bootstrap,
            "socket.connection.setup.timeout.ms": 3000,
            **QUIET,
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
