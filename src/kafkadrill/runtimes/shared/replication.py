"""Proof that a replication flow copies: a marker written on the source shows on the target.

One probe for every runtime (`wait_replicating`): the runtimes that start MirrorMaker 2
themselves (local, compose) probe through the health topic (`wait_mm2_replicating`); the
external runtime through its run-scoped probe topic, with the clusters' security settings and
its own messages (`wait_probe_copied` with a `ReplicationProbe` it builds).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.shared.health import HEALTH_TOPIC, QUIET
from kafkadrill.topology import Flow

# How the probe consumer reads: from the start of partition 0, without committing, and
# noticing the remote topic soon after MM2 creates it.
PROBE_READ: dict[str, Any] = {
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "topic.metadata.refresh.interval.ms": 1000,
}


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class ReplicationProbe:
    producer_conf: dict[str, Any]  # bootstrap of the source, acks=all
    consumer_conf: dict[str, Any]  # bootstrap of the target, a fresh group, PROBE_READ
    topic: str  # written on the source
    remote_topic: str  # read on the target (partition 0)
    marker: bytes
    flush_timeout: float
    not_written: str  # the error when the marker cannot be written
    not_seen: str  # the error when it does not show on the target in time
    # Raises TopologyError when the flow's process is gone (no point waiting for it).
    check_alive: Callable[[], None] = _nothing


def wait_probe_copied(probe: ReplicationProbe, timeout: float) -> float:
    """Write the marker, then poll the target until it shows; returns the seconds it took."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    t0 = time.monotonic()
    producer = Producer(probe.producer_conf)
    producer.produce(probe.topic, probe.marker)
    if producer.flush(probe.flush_timeout):
        raise TopologyError(probe.not_written)
    consumer = Consumer(probe.consumer_conf)
    try:
        consumer.assign([TopicPartition(probe.remote_topic, 0, 0)])
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            probe.check_alive()
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None and msg.value() == probe.marker:
                return time.monotonic() - t0
        raise TopologyError(probe.not_seen)
    finally:
        consumer.close()


def wait_mm2_replicating(
    f: Flow,
    source_bootstrap: str,
    target_bootstrap: str,
    check_alive: Callable[[], None],
    timeout: float,
    security: Mapping[str, Any] | None = None,
) -> float:
    """The started runtimes' probe: a marker on the source's health topic, copied by the
    flow's MirrorMaker 2 to the target; returns the seconds it took (`security`: the
    super user's login on clusters with application principals)."""
    target_topic = f.remote_topic(HEALTH_TOPIC)
    login = dict(security or {})
    probe = ReplicationProbe(
        producer_conf={"bootstrap.servers": source_bootstrap, "acks": "all", **QUIET, **login},
        consumer_conf={
            "bootstrap.servers": target_bootstrap,
            "group.id": f"kd-probe-{uuid.uuid4()}",
            **PROBE_READ,
            **QUIET,
            **login,
        },
        topic=HEALTH_TOPIC,
        remote_topic=target_topic,
        marker=f"replication-probe-{uuid.uuid4()}".encode(),
        flush_timeout=30,
        not_written=f"cannot write the replication probe to {f.source}",
        not_seen=(
            f"MirrorMaker 2 {f.name} did not replicate a probe record "
            f"to {f.target}:{target_topic} within {timeout:.0f}s"
        ),
        check_alive=check_alive,
    )
    return wait_probe_copied(probe, timeout)
