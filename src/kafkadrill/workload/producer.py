"""Workload producers: uniquely identified messages, every send recorded in the history.

Each send is `send.invoke`, then exactly one of `send.ok` (partition, offset, broker timestamp),
`send.fail` (definitely not written) or `send.unknown` (timeout / connection lost: the outcome
is not known, so it is never counted as loss or duplicate).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from kafkadrill.history import HistoryWriter
from kafkadrill.workload import CLIENT_LOGGER, payload
from kafkadrill.workload.client import BootstrapFn, ClientThread

# Errors after which the record was definitely not appended to the log, whatever happened to
# earlier attempts: they are decided on the client or by a check that every attempt would fail
# the same way. Everything else is "unknown" (Jepsen's info). Observed in a failback drill:
# librdkafka re-queues an in-flight batch after a broken connection and a later purge() reports
# it as _PURGE_QUEUE ("not sent") although the first attempt had been written and replicated;
# a retried NOT_ENOUGH_REPLICAS can likewise follow a timed-out attempt that was written.
DEFINITE_FAILURES = frozenset(
    code
    for name in (
        "MSG_SIZE_TOO_LARGE",
        "RECORD_LIST_TOO_LARGE",
        "INVALID_RECORD",
        "CORRUPT_MESSAGE",
        "TOPIC_AUTHORIZATION_FAILED",
        "CLUSTER_AUTHORIZATION_FAILED",
        "_UNKNOWN_TOPIC",
        "_UNKNOWN_PARTITION",
        "INVALID_REQUIRED_ACKS",
        "_INVALID_ARG",
        "INVALID_TIMESTAMP",
        "UNSUPPORTED_FOR_MESSAGE_FORMAT",
    )
    if (code := getattr(KafkaError, name, None)) is not None
)


@dataclass(frozen=True)
class ProducerSpec:
    name: str  # "p0": becomes part of every message id
    cluster: str
    topic: str
    site: str
    rate_per_second: float | None = 500.0  # None = as fast as possible
    acks: str = "all"
    enable_idempotence: bool = True
    linger_ms: int = 5
    retries: int | None = None
    delivery_timeout_ms: int = 30000
    request_timeout_ms: int = 10000
    message_bytes: int = 200
    keys: int = 64
    max_messages: int | None = None  # a hard bound on the load loop
    extra: dict[str, Any] = field(default_factory=dict)  # more librdkafka properties

    def client_config(self, bootstrap: str) -> dict[str, Any]:
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "acks": self.acks,
            "enable.idempotence": self.enable_idempotence and self.acks == "all",
            "linger.ms": self.linger_ms,
            "delivery.timeout.ms": self.delivery_timeout_ms,
            "request.timeout.ms": self.request_timeout_ms,
            "client.id": f"kafkadrill-{self.name}",
            "log_level": 6,
            "logger": CLIENT_LOGGER,
            "queue.buffering.max.messages": 200_000,
        }
        if self.retries is not None:
            conf["retries"] = self.retries
        conf.update(self.extra)
        return conf


class WorkloadProducer(ClientThread):
    """One producer on its own thread; `redirect()` moves it to another cluster (failover)."""

    role = "producer"

    def __init__(
        self,
        spec: ProducerSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        run_id: str,
        stop: threading.Event,
    ) -> None:
        super().__init__(spec.name, spec.cluster, spec.site, history, bootstrap, stop)
        self.spec = spec
        self.run_id = run_id
        self.seq = 0
        self.acked = 0
        self.failed = 0
        self.unknown = 0

    def _new_client(self) -> Producer:
        return Producer(self.spec.client_config(self.bootstrap(self.cluster, self.site)))

    def _on_delivery(self, err: KafkaError | None, msg: Message, msg_id: str, cluster: str) -> None:
        topic = msg.topic()
        if err is None:
            self.acked += 1
            self.history.append(
                "send.ok",
                producer=self.spec.name,
                id=msg_id,
                cluster=cluster,
                topic=topic,
                partition=msg.partition(),
                offset=msg.offset(),
                ts=msg.timestamp()[1],
            )
        else:
            definite = err.code() in DEFINITE_FAILURES
            if definite:
                self.failed += 1
            else:
                self.unknown += 1
            self.history.append(
                "send.fail" if definite else "send.unknown",
                producer=self.spec.name,
                id=msg_id,
                cluster=cluster,
                topic=topic,
                error=err.name(),
            )

    def _drain(self, client: Producer, timeout: float) -> None:
        """Wait for outstanding deliveries; whatever is left is purged and becomes unknown."""
        client.flush(timeout)
        # purge() reports every leftover message through the delivery callbacks; none of them
        # is a definite failure (see DEFINITE_FAILURES).
        client.purge()
        client.flush(1.0)

    def work(self) -> None:
        spec = self.spec
        client = self._new_client()
        interval = 1.0 / spec.rate_per_second if spec.rate_per_second else 0.0
        next_send = time.monotonic()
        while not self.stop_event.is_set():
            if spec.max_messages is not None and self.seq >= spec.max_messages:
                break
            move = self.take_redirect()
            if move is not None:
                # The old cluster may be gone: give in-flight sends a moment, then purge them
                # (recorded as fail/unknown) as a restarted application would lose them.
                self._drain(client, 1.0)
                self.switch(*move)
                client = self._new_client()
            if self.paused.is_set():
                client.poll(0.05)
                continue
            if interval:
                now = time.monotonic()
                if now < next_send:
                    client.poll(min(next_send - now, 0.05))
                    continue
                # After a stall, don't burst to catch up: keep the nominal rate from now on.
                next_send = max(next_send + interval, now - 1.0)
            self._send_one(client)
            if not interval and self.seq % 256 == 0:
                client.poll(0)
        # Let the backlog drain at the end: a real outcome beats an "unknown" from purge().
        # librdkafka itself gives up on a message after delivery.timeout.ms.
        self._drain(client, spec.delivery_timeout_ms / 1000.0 + 5.0)

    def _send_one(self, client: Producer) -> None:
        spec = self.spec
        seq = self.seq
        msg_id = payload.message_id(spec.name, seq)
        key = f"{spec.name}-{seq % spec.keys}".encode()
        value = payload.encode(self.run_id, spec.name, seq, time.time_ns(), spec.message_bytes)
        cluster = self.cluster
        self.history.append(
            "send.invoke",
            producer=spec.name,
            id=msg_id,
            cluster=cluster,
            topic=spec.topic,
            key=key.decode(),
            size=len(value),
        )
        while True:
            try:
                client.produce(
                    spec.topic,
                    value=value,
                    key=key,
                    headers=payload.headers(self.site, cluster, msg_id),
                    on_delivery=lambda err, msg, i=msg_id, c=cluster: self._on_delivery(
                        err, msg, i, c
                    ),
                )
                break
            except BufferError:
                client.poll(0.05)  # local queue full: wait for deliveries, then retry
                if self.stop_event.is_set():
                    self.history.append(
                        "send.fail",
                        producer=spec.name,
                        id=msg_id,
                        cluster=cluster,
                        topic=spec.topic,
                        error="QUEUE_FULL",
                    )
                    self.seq += 1
                    return
        self.seq += 1
        client.poll(0)
