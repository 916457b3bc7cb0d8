"""Cluster health for runtimes that start clusters (local processes, compose containers).

One definition of "healthy": every node's listener answers a Kafka request, the metadata lists
every node, the health topic exists and an acks=all write to it succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.faults.probe import kafka_ping

HEALTH_TOPIC = "kd-health"
# librdkafka logs every refused connection while a cluster boots; probes expect that.
QUIET = {"log_level": 0}


def wait_cluster_healthy(
    cluster: str,
    size: int,
    bootstrap: str,
    check_alive: Callable[[], None],
    timeout: float = 90.0,
    security: Mapping[str, Any] | None = None,
) -> None:
    """Block until `cluster` (reached at `bootstrap`) is healthy; TopologyError otherwise.
    `check_alive` raises TopologyError when a node has exited (no point waiting); `security`
    logs the checks in (a cluster with application principals)."""
    from confluent_kafka import KafkaException, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    def admin() -> AdminClient:
        conf = {"bootstrap.servers": bootstrap, "socket.connection.setup.timeout.ms": 3000}
        return AdminClient({**conf, **QUIET, **(security or {})})

    deadline = time.monotonic() + timeout
    addresses = bootstrap.split(",")
    last = "no answer"
    # First every node's listener answers a Kafka request (a socket-level probe, cheap), then
    # the metadata lists every node. Not AdminClient.describe_cluster in a loop: librdkafka
    # aborts the process when admin requests time out while brokers boot
    # (rd_kafka_enq_once_del_source_return assertion, librdkafka#4605; seen in CI here).
    while True:
        check_alive()
        silent = [a for a in addresses if kafka_ping(a, 2.0) is None]
        if not silent:
            try:
                md = admin().list_topics(timeout=5)
                if len(md.brokers) == size:
                    break
                last = f"{len(md.brokers)}/{size} nodes registered"
            except KafkaException as exc:
                last = str(exc)
        else:
            last = f"no answer from {silent}"
        if time.monotonic() > deadline:
            raise TopologyError(f"cluster {cluster} not healthy after {timeout:.0f}s: {last}")
        time.sleep(0.2)
    rf = min(3, size)
    topic = NewTopic(HEALTH_TOPIC, 1, rf, config={"min.insync.replicas": str(min(2, rf))})
    while True:
        client = admin()  # kept referenced: a collected client destroys its pending futures
        try:
            client.create_topics([topic])[HEALTH_TOPIC].result(timeout=30)
            break
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" in str(exc):  # an earlier attempt got through
                break
            # A cluster that just formed can drop the request with it (seen once in CI on
            # compose: _DESTROY_BROKER, the bootstrap handle replaced by the real broker):
            # retried with a new client until the deadline; anything else is final.
            err = exc.args[0] if exc.args else None
            transient = getattr(err, "retriable", lambda: False)() or "_DESTROY" in str(exc)
            if not transient or time.monotonic() > deadline:
                raise TopologyError(
                    f"cluster {cluster}: cannot create {HEALTH_TOPIC}: {exc}"
                ) from exc
            time.sleep(0.5)
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            **QUIET,
            **(security or {}),
            "message.timeout.ms": max(5000, int((deadline - time.monotonic()) * 1000)),
        }
    )
    errors: list[str] = []
    producer.produce(HEALTH_TOPIC, b"health", on_delivery=lambda e, m: e and errors.append(str(e)))
    left = producer.flush(max(5.0, deadline - time.monotonic()))
    if left or errors:
        raise TopologyError(f"cluster {cluster}: acks=all write failed: {errors or 'timeout'}")
