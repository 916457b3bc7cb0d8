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

    def topic_acls(self, topic: str) -> list[str]:
        """Every ACL on the topic (literal pattern), as sorted 'PRINCIPAL PERMISSION OP'."""
        ...

    def create_acls(
        self, topic: str, principal: str, operations: list[str], resource: str = "topic"
    ) -> None:
        """ALLOW `principal` each of `operations` on the topic (or the `resource` type named,
        e.g. "group"; literal, any host)."""
        ...


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
        self.alter_configs(topic, {name: value})

    def topic_level_configs(self, topic: str, names: tuple[str, ...]) -> dict[str, str | None]:
        """The values set on the topic itself (None: not set there, a default applies)."""
        from confluent_kafka.admin import ConfigResource, ConfigSource, ResourceType

        res = ConfigResource(ResourceType.TOPIC, topic)
        entries = self.admin.describe_configs([res])[res].result(timeout=15)
        out: dict[str, str | None] = {}
        for n in names:
            e = entries.get(n)
            source = getattr(e, "source", None)
            source = getattr(source, "value", source)  # an enum or its int, by version
            topic_level = e is not None and source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
            out[n] = e.value if topic_level and e is not None else None
        return out

    def alter_configs(self, topic: str, values: dict[str, str | None]) -> None:
        """Set each value; None deletes the topic-level value (back to the default)."""
        from confluent_kafka.admin import (
            AlterConfigOpType,
            ConfigEntry,
            ConfigResource,
            ResourceType,
        )

        entries = [
            ConfigEntry(n, v, incremental_operation=AlterConfigOpType.SET)
            if v is not None
            else ConfigEntry(n, None, incremental_operation=AlterConfigOpType.DELETE)
            for n, v in values.items()
        ]
        res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
        for fut in self.admin.incremental_alter_configs([res]).values():
            fut.result(timeout=30)

    def topic_acls(self, topic: str) -> list[str]:
        from confluent_kafka.admin import (
            AclBindingFilter,
            AclOperation,
            AclPermissionType,
            ResourcePatternType,
            ResourceType,
        )

        flt = AclBindingFilter(
            ResourceType.TOPIC,
            topic,
            ResourcePatternType.LITERAL,
            None,
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        found = self.admin.describe_acls(flt).result(timeout=10)
        return sorted(f"{b.principal} {b.permission_type.name} {b.operation.name}" for b in found)

    def create_acls(
        self, topic: str, principal: str, operations: list[str], resource: str = "topic"
    ) -> None:
        from confluent_kafka.admin import (
            AclBinding,
            AclOperation,
            AclPermissionType,
            ResourcePatternType,
            ResourceType,
        )

        bindings = [
            AclBinding(
                ResourceType[resource.upper()],
                topic,
                ResourcePatternType.LITERAL,
                principal,
                "*",
                AclOperation[op],
                AclPermissionType.ALLOW,
            )
            for op in operations
        ]
        for fut in self.admin.create_acls(bindings).values():
            fut.result(timeout=30)

    def delete_topic(self, topic: str) -> None:
        for fut in self.admin.delete_topics([topic], operation_timeout=30).values():
            fut.result(timeout=30)


def confluent_admin(runtime: Runtime, cluster: str) -> MetadataAdmin:
    # The runtime's client settings (security of an external cluster) apply to admin too.
    config = dict(getattr(runtime.clients, "config", None) or {})
    return ConfluentAdmin(runtime.bootstrap(cluster), config)
