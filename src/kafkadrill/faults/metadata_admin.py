"""Admin access for the metadata faults: what a change and its watcher need of one cluster.

A seam: `faults.metadata.ADMIN_FACTORY` builds one per cluster (a confluent-kafka AdminClient
by default); unit tests pass their own.
"""

from __future__ import annotations

from typing import Any, Protocol

from kafkadrill.runtimes.base import Runtime


class MetadataAdmin(Protocol):
    """What the changes and the watcher need of one cluster."""

    def partitions(self, topic: str) -> int | None:
        """The topic's partition count, None if it does not exist."""
        ...

    def config(self, topic: str, name: str) -> str | None:
        """The topic's current value of config `name`, None if the topic does not exist."""
        ...

    def create_topic(self, topic: str, partitions: int, replication_factor: int) -> None: ...
    def create_partitions(self, topic: str, count: int) -> None: ...
    def set_config(self, topic: str, name: str, value: str) -> None: ...


class ConfluentAdmin:
    """MetadataAdmin over a confluent-kafka AdminClient (kept for the whole watch)."""

    def __init__(self, bootstrap: str, config: dict[str, Any] | None = None) -> None:
        from confluent_kafka.admin import AdminClient

        self.admin = AdminClient(
            {
                "bootstrap.servers": bootstrap,
                "socket.connection.setup.timeout.ms": 3000,
                "log_level": 0,
                **(config or {}),
            }
        )

    def partitions(self, topic: str) -> int | None:
        md = self.admin.list_topics(timeout=10)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            return None
        return len(t.partitions)

    def config(self, topic: str, name: str) -> str | None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import ConfigResource, ResourceType

        res = ConfigResource(ResourceType.TOPIC, topic)
        try:
            entries = self.admin.describe_configs([res])[res].result(timeout=10)
        except KafkaException as exc:
            if "UNKNOWN_TOPIC" in str(exc):
                return None
            raise
        entry = entries.get(name)
        return None if entry is None else entry.value

    def create_topic(self, topic: str, partitions: int, replication_factor: int) -> None:
        from confluent_kafka.admin import NewTopic

        for fut in self.admin.create_topics(
            [NewTopic(topic, partitions, replication_factor)]
        ).values():
            fut.result(timeout=30)

    def create_partitions(self, topic: str, count: int) -> None:
        from confluent_kafka.admin import NewPartitions

        for fut in self.admin.create_partitions([NewPartitions(topic, count)]).values():
            fut.result(timeout=30)

    def set_config(self, topic: str, name: str, value: str) -> None:
        from confluent_kafka.admin import (
            AlterConfigOpType,
            ConfigEntry,
            ConfigResource,
            ResourceType,
        )

        entry = ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
        res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
        for fut in self.admin.incremental_alter_configs([res]).values():
            fut.result(timeout=30)


def confluent_admin(runtime: Runtime, cluster: str) -> MetadataAdmin:
    # The runtime's client settings (security of an external cluster) apply to admin too.
    config = dict(getattr(runtime.clients, "config", None) or {})
    return ConfluentAdmin(runtime.bootstrap(cluster), config)
