"""Workload producers: uniquely identified messages, every send recorded in the history.

Each send is `send.invoke`, then exactly one of `send.ok` (partition, offset, broker timestamp),
`send.fail` (definitely not written) or `send.unknown` (timeout / connection lost: the outcome
is not known, so it is never counted as loss or duplicate).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from kafkadrill.history import Ev, HistoryWriter
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

#: A fatal producer error caused by an authorization refusal (e.g. an idempotent producer
#: denied its producer id by a cluster where its principal may write nothing): a drill result,
#: not a crash. The producer restarts this long after it, as an application would.
FATAL_RESTART_SECONDS = 1.0


def fatal_refusal(exc: KafkaException) -> bool:
    """Is `exc` a fatal error whose cause is an authorization refusal?"""
    err = exc.args[0] if exc.args else None
    return (
        isinstance(err, KafkaError)
        and bool(err.fatal())
        and "AUTHORIZATION_FAILED" in (err.name() or "")
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
    # Transactions (workload/txn_producer.py): messages per transaction, None = not
    # transactional; the share aborted on purpose; transaction.timeout.ms.
    txn_size: int | None = None
    txn_abort_ratio: float = 0.0
    txn_timeout_ms: int = 10000
    extra: dict[str, Any] = field(default_factory=dict)  # more librdkafka properties
    # The worker process it runs in (workload/worker.py); None = a thread of the runner.
    worker: int | None = None
    # How that worker is started elsewhere (workload/workers.py); None = a child of the runner.
    worker_command: list[str] | None = None

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


#: Messages sent between two polls when sending as fast as possible: each poll (the delivery
#: callbacks are served there) releases the GIL, a thread switch when another thread waits, so
#: polling after every message cost more than the callbacks. A burst is about a millisecond,
#: which bounds the extra delay of a recorded ack (send.ok ``t``) and of stop / redirect / pause.
BURST = 32


class _Route:
    """What a send needs on the current cluster: the history lines and the delivery callback
    bound to this cluster (a redirect builds a new one; late reports of the old client still
    name the old cluster)."""

    __slots__ = ("cluster", "delivered", "hdr_cluster", "hdr_site", "lines")

    def __init__(self, producer: WorkloadProducer, cluster: str, site: str) -> None:
        self.cluster = cluster
        self.hdr_site = (payload.HDR_ORIGIN_SITE, site.encode())
        self.hdr_cluster = (payload.HDR_ORIGIN_CLUSTER, cluster.encode())
        self.lines = lines = producer.history.send_lines(
            producer.spec.name, cluster, producer.spec.topic
        )
        ok = lines.ok

        def delivered(seq: int, err: KafkaError | None, msg: Message) -> None:
            if err is None:
                producer.acked += 1
                # The topic is the one produced to (lines.topic), as msg.topic() would say.
                ok(seq, msg.partition(), msg.offset(), msg.timestamp()[1])
            else:
                producer._on_error(err, msg, seq, cluster)

        self.delivered = delivered


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
        # Headers set from another thread (the schema writer: `kd-schema-id`), replaced whole.
        self.extra_headers: list[tuple[str, bytes]] = []
        self.acked = 0
        self.failed = 0
        self.unknown = 0
        # Everything fixed per producer is built once; a message only formats its seq.
        self._encode = payload.Encoder(run_id, spec.name, spec.message_bytes)
        self._keys = [f"{spec.name}-{k}" for k in range(spec.keys)]
        self._keys_b = [k.encode() for k in self._keys]
        self._id_fmt = spec.name.encode().replace(b"%", b"%%") + b":%d"  # message_id(), bytes

    def _new_client(self) -> Producer:
        return Producer(self.spec.client_config(self.bootstrap(self.cluster, self.site)))

    def _on_error(self, err: KafkaError, msg: Message, seq: int, cluster: str) -> None:
        definite = err.code() in DEFINITE_FAILURES
        if definite:
            self.failed += 1
        else:
            self.unknown += 1
        self.history.append(
            Ev.SEND_FAIL if definite else Ev.SEND_UNKNOWN,
            producer=self.spec.name,
            id=payload.message_id(self.spec.name, seq),
            cluster=cluster,
            topic=msg.topic(),
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
        route = _Route(self, self.cluster, self.site)
        interval = 1.0 / spec.rate_per_second if spec.rate_per_second else 0.0
        next_send = time.monotonic()
        while not self.stop_event.is_set():
            n = BURST
            if spec.max_messages is not None:
                n = min(n, spec.max_messages - self.seq)
                if n <= 0:
                    break
            try:
                move = self.take_redirect()
                if move is not None:
                    # The old cluster may be gone: give in-flight sends a moment, then purge
                    # them (recorded as fail/unknown) as a restarted application would lose them.
                    self._drain_after_refusal(client, 1.0)
                    self.switch(*move)
                    client = self._new_client()
                    route = _Route(self, self.cluster, self.site)
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
                    n = 1
                self._send(client, route, n)
                client.poll(0)
            except KafkaException as exc:
                if not fatal_refusal(exc):
                    raise
                client = self._restart_after_refusal(client, exc)
                route = _Route(self, self.cluster, self.site)
        # Let the backlog drain at the end: a real outcome beats an "unknown" from purge().
        # librdkafka itself gives up on a message after delivery.timeout.ms.
        self._drain_after_refusal(client, spec.delivery_timeout_ms / 1000.0 + 5.0)

    def _drain_after_refusal(self, client: Producer, timeout: float) -> None:
        """`_drain`, also on a client a cluster refused fatally: its leftovers were reported
        through their delivery callbacks, and a redirect must not be lost to it."""
        try:
            self._drain(client, timeout)
        except KafkaException as exc:
            if not fatal_refusal(exc):
                raise

    def _restart_after_refusal(self, client: Producer, exc: KafkaException) -> Producer:
        """The cluster refused this principal fatally (an idempotent producer that may not
        write anywhere there cannot get a producer id): the instance is dead, so, as an
        application would, record it and start a new one after a pause."""
        err = exc.args[0]
        self.history.append(
            Ev.PRODUCER_FATAL, producer=self.spec.name, cluster=self.cluster, error=err.name()
        )
        with contextlib.suppress(KafkaException):
            client.purge()
            client.flush(0.5)
        self.stop_event.wait(FATAL_RESTART_SECONDS)
        return self._new_client()

    def _send(self, client: Producer, route: _Route, n: int) -> None:
        """Send the next ``n`` messages: each is recorded (send.invoke) before it is produced
        and reports its outcome through ``route.delivered`` (served by poll)."""
        topic = self.spec.topic
        keys, keys_b, nkeys = self._keys, self._keys_b, len(self._keys)
        encode, id_fmt, time_ns = self._encode, self._id_fmt, time.time_ns
        invoke, delivered = route.lines.invoke, route.delivered
        hdr_site, hdr_cluster = route.hdr_site, route.hdr_cluster
        produce = client.produce
        first = self.seq
        for seq in range(first, first + n):
            k = seq % nkeys
            value = encode(seq, time_ns())
            invoke(seq, keys[k], len(value))
            headers = [hdr_site, hdr_cluster, (payload.HDR_ID, id_fmt % seq), *self.extra_headers]
            callback = partial(delivered, seq)
            try:
                produce(topic, value=value, key=keys_b[k], headers=headers, on_delivery=callback)
            except BufferError:
                if not self._produce_when_room(client, route, seq, value, keys_b[k], headers):
                    self.seq = seq + 1
                    return
            except KafkaException as exc:
                self._refused(route, seq, exc)
                if fatal_refusal(exc):  # the client is dead: work() restarts it
                    self.seq = seq + 1
                    raise
            self.seq = seq + 1

    def _refused(self, route: _Route, seq: int, exc: KafkaException) -> None:
        """librdkafka refused the message before queueing it (e.g. TOPIC_AUTHORIZATION_FAILED
        once a fence's ACL is in its metadata): it never left this process, a definite fail."""
        self.failed += 1
        err = exc.args[0] if exc.args else None
        route.lines.fail(seq, err.name() if hasattr(err, "name") else str(exc))

    def _produce_when_room(
        self,
        client: Producer,
        route: _Route,
        seq: int,
        value: bytes,
        key: bytes,
        headers: list[tuple[str, bytes]],
    ) -> bool:
        """Retry a produce that found the local queue full; False when the run stops first
        (then the message is a definite failure: it never left this process)."""
        while True:
            client.poll(0.05)  # local queue full: wait for deliveries, then retry
            if self.stop_event.is_set():
                self.failed += 1
                route.lines.fail(seq, "QUEUE_FULL")
                return False
            try:
                client.produce(
                    self.spec.topic,
                    value=value,
                    key=key,
                    headers=headers,
                    on_delivery=partial(route.delivered, seq),
                )
                return True
            except BufferError:
                continue
            except KafkaException as exc:
                self._refused(route, seq, exc)
                return True
