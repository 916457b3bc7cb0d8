"""How a drill talks to Kafka: workload clients and the few admin reads and writes it needs.

A runtime hands out a `KafkaClients` (`runtime.clients`): the real one speaks the Kafka protocol
through confluent-kafka (with the runtime's client security settings); the fake runtime's keeps
records in memory so that the runner is tested without Kafka.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from kafkadrill.history import HistoryWriter
from kafkadrill.runbooks.offsets import CheckpointSet, latest_checkpoints
from kafkadrill.workload.client import BootstrapFn
from kafkadrill.workload.consumer import ConsumerSpec
from kafkadrill.workload.copier import CopierSpec
from kafkadrill.workload.producer import ProducerSpec

SpecT = TypeVar("SpecT", ProducerSpec, ConsumerSpec, CopierSpec)

# librdkafka logs every refused connection while a cluster is down; admin probes expect that.
QUIET = {"log_level": 0}


class WorkloadClient(Protocol):
    """What the runner, faults and runbooks use of a producer or consumer thread."""

    spec: Any
    cluster: str
    site: str
    paused: threading.Event
    error: BaseException | None

    def start(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...
    def redirect(self, cluster: str, site: str | None = None) -> None: ...


class KafkaClients(Protocol):
    def producer(
        self,
        spec: ProducerSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        run_id: str,
        stop: threading.Event,
    ) -> Any: ...

    def client_spec(self, spec: ProducerSpec) -> ProducerSpec:
        """A producer's spec with this runtime's client settings (for a worker process)."""
        ...

    def consumer(
        self,
        spec: ConsumerSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        stop: threading.Event,
    ) -> Any: ...

    def copier(
        self,
        spec: CopierSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        run_id: str,
        stop: threading.Event,
    ) -> Any:
        """A read-process-write copier member (workload/copier.py)."""
        ...

    def topics(self, bootstrap: str, timeout: float = 15.0) -> list[str]: ...
    def end_total(self, bootstrap: str, topic: str) -> int: ...
    def log_starts(self, bootstrap: str, topic: str) -> dict[int, int]:
        """Log start offset (low watermark) per partition: where retention or deleted records
        left the log's beginning."""
        ...

    def newest_record_age(self, bootstrap: str, topic: str) -> float | None:
        """Seconds since the timestamp of the newest record of `topic`; None if the topic is
        missing, empty or unreadable (never raises)."""
        ...

    def stable_offsets(self, bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
        """Per partition (last stable offset, high watermark): an open transaction holds the
        LSO below the HW, and read_committed readers cannot pass it. {} if the topic is
        missing."""
        ...

    def leader(self, bootstrap: str, topic: str, partition: int) -> int: ...
    def coordinator(self, bootstrap: str, group: str) -> int:
        """Node id of the group's coordinator (the group must exist: it has members or
        committed offsets)."""
        ...

    def final_read(
        self,
        history: HistoryWriter,
        bootstrap: str,
        cluster: str,
        topics: Iterable[str],
        timeout: float,
    ) -> tuple[int, bool]: ...
    def read_checkpoints(
        self, bootstrap: str, source_alias: str, timeout: float = 15.0
    ) -> CheckpointSet: ...
    def set_group_offsets(
        self, bootstrap: str, group: str, offsets: dict[tuple[str, int], int]
    ) -> None: ...
    def create_topic(
        self,
        bootstrap: str,
        name: str,
        partitions: int,
        replication_factor: int,
        config: dict[str, str],
    ) -> bool:
        """Create a topic; False if it already existed."""
        ...


def newest_record_age(
    consumer_conf: dict[str, Any], topic: str, timeout: float = 5.0
) -> float | None:
    """Seconds since the timestamp of the newest record of `topic`; None if none can be read.

    MM2 keeps the original timestamp of a record it copies, so on a replicated heartbeat topic
    this is how long ago the newest heartbeat that made it across was emitted. Each broker
    round trip waits at most `timeout` seconds.
    """
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(consumer_conf)
    try:
        md = c.list_topics(topic, timeout=timeout)
        if topic not in md.topics or md.topics[topic].error is not None:
            return None
        newest = None
        for p in md.topics[topic].partitions:
            _lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if hi <= 0:
                continue
            c.assign([TopicPartition(topic, p, hi - 1)])
            msg = c.poll(timeout)
            if msg is not None and msg.error() is None:
                ts = msg.timestamp()[1] / 1000.0
                newest = ts if newest is None else max(newest, ts)
        return None if newest is None else max(0.0, time.time() - newest)
    except Exception:
        return None
    finally:
        c.close()


class ConfluentClients:
    """The real thing: confluent-kafka clients, with `config` (e.g. security settings of an
    external runtime) added to every client."""

    #: group.id of the assign-only probe reads (nothing is committed); a runtime on a user's
    #: clusters sets its run-scoped name.
    probe_group = "kafkadrill-probe"

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})

    def _conf(self, bootstrap: str, **extra: Any) -> dict[str, Any]:
        return {"bootstrap.servers": bootstrap, **QUIET, **self.config, **extra}

    def _with_config(self, spec: SpecT) -> SpecT:
        """`spec` with the runtime's client settings under its own `extra` (a spec's own
        settings win)."""
        if not self.config:
            return spec
        return dataclasses.replace(spec, extra={**self.config, **spec.extra})

    def client_spec(self, spec: ProducerSpec) -> ProducerSpec:
        """A producer's spec as its client is made here (for a worker process to make it)."""
        return self._with_config(spec)

    def producer(
        self,
        spec: ProducerSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        run_id: str,
        stop: threading.Event,
    ) -> Any:
        from kafkadrill.workload.producer import WorkloadProducer
        from kafkadrill.workload.txn_producer import TransactionalProducer

        spec = self._with_config(spec)
        cls = WorkloadProducer if spec.txn_size is None else TransactionalProducer
        return cls(spec, history, bootstrap, run_id, stop)

    def consumer(
        self,
        spec: ConsumerSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        stop: threading.Event,
    ) -> Any:
        from kafkadrill.workload.consumer import WorkloadConsumer

        spec = self._with_config(spec)
        return WorkloadConsumer(spec, history, bootstrap, stop)

    def copier(
        self,
        spec: CopierSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        run_id: str,
        stop: threading.Event,
    ) -> Any:
        from kafkadrill.workload.copier import Copier

        spec = self._with_config(spec)
        return Copier(spec, history, bootstrap, run_id, stop)

    def topics(self, bootstrap: str, timeout: float = 15.0) -> list[str]:
        from confluent_kafka.admin import AdminClient

        return sorted(AdminClient(self._conf(bootstrap)).list_topics(timeout=timeout).topics)

    def end_total(self, bootstrap: str, topic: str) -> int:
        from confluent_kafka import Consumer, TopicPartition

        c = Consumer(self._conf(bootstrap, **{"group.id": "kafkadrill-lag"}))
        try:
            md = c.list_topics(topic, timeout=5)
            if topic not in md.topics or md.topics[topic].error is not None:
                return 0
            return sum(
                c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
                for p in md.topics[topic].partitions
            )
        finally:
            c.close()

    def log_starts(self, bootstrap: str, topic: str) -> dict[int, int]:
        from confluent_kafka import Consumer, TopicPartition

        c = Consumer(self._conf(bootstrap, **{"group.id": "kafkadrill-lag"}))
        try:
            md = c.list_topics(topic, timeout=5)
            if topic not in md.topics or md.topics[topic].error is not None:
                return {}
            return {
                p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[0]
                for p in md.topics[topic].partitions
            }
        finally:
            c.close()

    def newest_record_age(self, bootstrap: str, topic: str) -> float | None:
        conf = self._conf(bootstrap, **{"group.id": self.probe_group, "enable.auto.commit": False})
        return newest_record_age(conf, topic)

    def stable_offsets(self, bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
        from confluent_kafka import IsolationLevel, TopicPartition
        from confluent_kafka.admin import AdminClient, OffsetSpec

        admin = AdminClient(self._conf(bootstrap))
        md = admin.list_topics(topic, timeout=5)
        if topic not in md.topics or md.topics[topic].error is not None:
            return {}
        parts = [TopicPartition(topic, p) for p in md.topics[topic].partitions]

        def ends(level: IsolationLevel) -> dict[int, int]:
            futures = admin.list_offsets(
                {tp: OffsetSpec.latest() for tp in parts},
                isolation_level=level,
                request_timeout=5,
            )
            return {tp.partition: f.result().offset for tp, f in futures.items()}

        # LSO first: read after it, the HW can only be higher, never a false "open" gap.
        lso = ends(IsolationLevel.READ_COMMITTED)
        hw = ends(IsolationLevel.READ_UNCOMMITTED)
        return {p: (lso[p], hw[p]) for p in sorted(lso)}

    def leader(self, bootstrap: str, topic: str, partition: int) -> int:
        from confluent_kafka.admin import AdminClient

        md = AdminClient(self._conf(bootstrap)).list_topics(topic, timeout=10)
        leader: int = md.topics[topic].partitions[partition].leader
        return leader

    def coordinator(self, bootstrap: str, group: str) -> int:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(self._conf(bootstrap))
        desc = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
        return int(desc.coordinator.id)

    def final_read(
        self,
        history: HistoryWriter,
        bootstrap: str,
        cluster: str,
        topics: Iterable[str],
        timeout: float,
    ) -> tuple[int, bool]:
        from kafkadrill.workload.consumer import final_read

        return final_read(history, bootstrap, cluster, topics, timeout, extra=self.config)

    def read_checkpoints(
        self, bootstrap: str, source_alias: str, timeout: float = 15.0
    ) -> CheckpointSet:
        """Read `<source>.checkpoints.internal` (partition 0) to its end."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        topic = f"{source_alias}.checkpoints.internal"
        c = Consumer(
            self._conf(
                bootstrap,
                **{
                    "group.id": f"kafkadrill-checkpoints-{uuid.uuid4()}",
                    "enable.auto.commit": False,
                    "enable.partition.eof": True,
                },
            )
        )
        records: list[tuple[bytes | None, bytes | None, int]] = []
        try:
            md = c.list_topics(timeout=10)
            if topic not in md.topics:
                return latest_checkpoints([])
            _lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
            if hi == 0:
                return latest_checkpoints([])
            c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
            deadline = time.monotonic() + timeout
            last = -1
            while last < hi - 1 and time.monotonic() < deadline:
                for m in c.consume(500, 0.5):
                    if m.error() is None:
                        records.append((m.key(), m.value(), m.timestamp()[1]))
                        last = m.offset()
                    elif m.error().code() == -191:  # _PARTITION_EOF
                        last = max(last, hi - 1)
        finally:
            c.close()
        return latest_checkpoints(records)

    def group_offsets(self, bootstrap: str, group: str) -> dict[tuple[str, int], int]:
        """The group's committed offsets on a cluster (none: an empty dict)."""
        from confluent_kafka import ConsumerGroupTopicPartitions
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(self._conf(bootstrap))
        req = [ConsumerGroupTopicPartitions(group)]
        out: dict[tuple[str, int], int] = {}
        for fut in admin.list_consumer_group_offsets(req).values():
            for tp in fut.result(timeout=15).topic_partitions or []:
                if tp.error is None and tp.offset >= 0:
                    out[(tp.topic, tp.partition)] = tp.offset
        return out

    def set_group_offsets(
        self, bootstrap: str, group: str, offsets: dict[tuple[str, int], int]
    ) -> None:
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
        from confluent_kafka.admin import AdminClient

        if not offsets:
            return
        admin = AdminClient(self._conf(bootstrap))
        tps = [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]
        futs = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, tps)])
        for fut in futs.values():
            fut.result(timeout=15)

    def create_topic(
        self,
        bootstrap: str,
        name: str,
        partitions: int,
        replication_factor: int,
        config: dict[str, str],
    ) -> bool:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient(self._conf(bootstrap))
        if name in admin.list_topics(timeout=10).topics:
            return False
        new = NewTopic(name, partitions, replication_factor, config=dict(config))
        for fut in admin.create_topics([new]).values():
            fut.result(timeout=30)
        return True

    # ----- the failover's fence (runbooks/fencing.py) ----------------------------------------
    def _fence_bindings(self, topic: str) -> list[Any]:
        from confluent_kafka.admin import (
            AclBinding,
            AclOperation,
            AclPermissionType,
            ResourcePatternType,
            ResourceType,
        )

        def acl(op: Any, perm: Any) -> Any:
            return AclBinding(
                ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:*", "*", op, perm
            )

        # Any ACL on a resource ends `allow.everyone.if.no.acl.found` for it: allow everything
        # explicitly (readers, the final read, MM2), then deny writes (a DENY always wins).
        return [
            acl(AclOperation.ALL, AclPermissionType.ALLOW),
            acl(AclOperation.WRITE, AclPermissionType.DENY),
        ]

    def deny_writes(self, bootstrap: str, topic: str, timeout: float = 10.0) -> None:
        """Fence `topic` on a cluster with an ACL authorizer: every principal's writes refused."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(self._conf(bootstrap, **{"socket.connection.setup.timeout.ms": 3000}))
        for fut in admin.create_acls(self._fence_bindings(topic), request_timeout=timeout).values():
            fut.result()

    def _fence_filters(self, topic: str) -> list[Any]:
        """Filters matching exactly the ACLs `deny_writes` creates."""
        from confluent_kafka.admin import AclBindingFilter

        return [
            AclBindingFilter(
                b.restype,
                b.name,
                b.resource_pattern_type,
                b.principal,
                b.host,
                b.operation,
                b.permission_type,
            )
            for b in self._fence_bindings(topic)
        ]

    def allow_writes(self, bootstrap: str, topic: str, timeout: float = 10.0) -> int:
        """Undo `deny_writes`; -> ACLs removed."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(self._conf(bootstrap))
        removed = 0
        for fut in admin.delete_acls(self._fence_filters(topic), request_timeout=timeout).values():
            removed += len(fut.result())
        return removed

    def fence_acls(self, bootstrap: str, topic: str, timeout: float = 10.0) -> int:
        """How many of `deny_writes`'s ACLs are in force on `topic` (heal's verification)."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(self._conf(bootstrap))
        return sum(
            len(admin.describe_acls(flt, request_timeout=timeout).result())
            for flt in self._fence_filters(topic)
        )

    def write_refused(self, bootstrap: str, topic: str, timeout: float = 10.0) -> str | None:
        """Probe a fence with one real write: the broker's refusal, or None if it was written.
        The probe record carries no kafkadrill id, so checkers never count it."""
        from confluent_kafka import Producer

        outcome: list[Any] = []
        p = Producer(
            self._conf(bootstrap, **{"acks": "all", "message.timeout.ms": int(timeout * 1000)})
        )
        p.produce(topic, b"kafkadrill fence probe", on_delivery=lambda e, _m: outcome.append(e))
        p.flush(timeout + 2)
        if not outcome:
            return "no answer"
        return None if outcome[0] is None else str(outcome[0].name())

    # ----- whole-topic copies (the failback strategies that discard a divergent tail) --------
    def read_topic(self, bootstrap: str, topic: str) -> dict[int, list[Any]]:
        from kafkadrill.workload.topic_copy import read_topic

        return read_topic(self._conf(bootstrap), topic)

    def write_stream(self, bootstrap: str, records: Iterable[tuple[str, Any]]) -> dict[str, int]:
        """Produce (topic, record) pairs into their partitions, in order (a restore); ->
        written per topic."""
        from kafkadrill.workload.topic_copy import write_stream

        return write_stream(self._conf(bootstrap), records)

    def rewrite_topic(self, bootstrap: str, topic: str, records: dict[int, list[Any]]) -> int:
        """Replace `topic` by `records` (delete, create alike, write in order); -> written."""
        from kafkadrill.workload.topic_copy import recreate_topic, write_records

        recreate_topic(self._conf(bootstrap), topic)
        return write_records(self._conf(bootstrap), topic, records)
