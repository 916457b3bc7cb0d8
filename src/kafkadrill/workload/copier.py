"""A read-process-write copier with exactly-once semantics (issue 23): consume from one topic,
produce every record to another and commit the consumer's offsets, all in one transaction
(KIP-98 transactions, KIP-447 ``send_offsets_to_transaction`` with the consumer's group
metadata so a zombie member is fenced by its group generation).

One member = a consumer (``read_committed``, no auto commit, the copier's group) + a
transactional producer (``transactional.id`` unique per member and run). Its loop: poll a
batch -> ``begin_transaction`` -> produce each record to ``to_topic`` with the same key, value
and headers (the value carries kafkadrill's message id, so the copy is attributable) ->
``send_offsets_to_transaction`` (next offset per partition of the batch) -> ``commit``. Each
transaction is one compact ``copy.txn`` event (input ranges, never one event per record).

Errors, classified as the transactional producer does (workload/txn_producer.py):

- abortable (``txn_requires_abort``): abort, then rewind the consumer to the group's committed
  offsets (the aborted batch is read again); outcome ``fail``;
- a commit whose call timed out or hit a fatal error: outcome ``unknown`` (the coordinator may
  have the commit), the member is recreated: its new producer's ``init_transactions`` with the
  same transactional.id fences the old one and completes or aborts what it left, and its new
  consumer starts from the group's committed offsets;
- fatal before the commit (fenced, ...): outcome ``fail``, the member is recreated.

Every transactional call is made in 1 s slices (a timed-out call may be repeated), so a stop or
a redirect is taken within about a second even while the coordinator is unreachable.

A failover redirect moves the member as a group consumer moves (workload/consumer.py): on the
new cluster it subscribes to ``from_topic`` and its MM2 copies there (``primary.orders``),
starting from the group's committed offsets there (the failover runbook translates them from
MM2 checkpoints), and writes to ``to_topic`` on the new cluster (the runbook creates it).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from kafkadrill.history import Ev, HistoryWriter
from kafkadrill.topology import topic_pattern
from kafkadrill.workload import CLIENT_LOGGER
from kafkadrill.workload.client import BootstrapFn, ClientThread
from kafkadrill.workload.txn_calls import (
    error_name,
    init_may_retry,
    kafka_error,
    sliced,
)

__all__ = ["Copier", "CopierSpec"]

#: How long one transactional call may take in all (in 1 s slices): bounded, as the
#: transactional producer's (a stop or redirect is still taken between slices).
#: How long a rewind may wait for the group's committed offsets before the member is recreated.
REWIND_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class CopierSpec:
    """One copier member's client settings."""

    name: str  # the member, "<group>-<i>"
    group: str
    cluster: str
    site: str
    from_topic: str
    to_topic: str
    transaction_timeout_ms: int = 15000
    max_batch: int = 500
    session_timeout_ms: int = 10000
    extra: dict[str, Any] = field(default_factory=dict)  # more librdkafka properties (both)

    def consumer_config(self, bootstrap: str) -> dict[str, Any]:
        return {
            "bootstrap.servers": bootstrap,
            "group.id": self.group,
            "client.id": f"kafkadrill-{self.name}",
            "enable.auto.commit": False,
            # The offsets go into the transaction; a stored-offset commit would bypass it.
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": min(3000, self.session_timeout_ms // 3),
            "topic.metadata.refresh.interval.ms": 2000,
            "log_level": 6,
            "logger": CLIENT_LOGGER,
            **self.extra,
        }

    def producer_config(self, bootstrap: str, run_id: str) -> dict[str, Any]:
        return {
            "bootstrap.servers": bootstrap,
            "client.id": f"kafkadrill-{self.name}",
            "transactional.id": f"kafkadrill-{run_id}-copier-{self.name}",
            "transaction.timeout.ms": self.transaction_timeout_ms,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            # librdkafka refuses a message timeout above the transaction timeout.
            "message.timeout.ms": self.transaction_timeout_ms,
            "log_level": 6,
            "logger": CLIENT_LOGGER,
            **self.extra,
        }


class _Member:
    """The two clients of one member on one cluster."""

    __slots__ = ("consumer", "producer")

    def __init__(self, consumer: Consumer, producer: Producer) -> None:
        self.consumer = consumer
        self.producer = producer


class Copier(ClientThread):
    """One copier member on its own thread; `redirect()` moves it (failover)."""

    role = "copier"

    def __init__(
        self,
        spec: CopierSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        run_id: str,
        stop: threading.Event,
    ) -> None:
        super().__init__(spec.name, spec.cluster, spec.site, history, bootstrap, stop)
        self.spec = spec
        self.run_id = run_id
        self.txn = 0
        self.copied = 0  # records of committed transactions
        # Since when the member has been connected, assigned and found nothing new (the
        # runner's settle phase waits for it); None while it is not.
        self.idle_since: float | None = None
        self._subscription = [topic_pattern(spec.from_topic)]

    # ----- the loop ---------------------------------------------------------------------------
    def work(self) -> None:
        member: _Member | None = None
        try:
            while not self.stop_event.is_set():
                move = self.take_redirect()
                if move is not None:
                    if member is not None:
                        self._drop(member)
                        member = None
                    self.switch(*move, group=self.spec.group)
                if self.paused.is_set():
                    self.idle_since = None
                    time.sleep(0.05)
                    continue
                if member is None:
                    member = self._connect()
                    continue
                member = self._one_transaction(member)
        finally:
            if member is not None:
                self._drop(member, wait=True)

    def _redirect_pending(self) -> bool:
        with self._lock:
            return self._redirect_to is not None and self._redirect_to != self.cluster

    def _leaving(self) -> bool:
        return self.stop_event.is_set() or self._redirect_pending()

    def _connect(self) -> _Member | None:
        """A member on the current cluster with its transactions initialised; None when the run
        stops or a redirect comes first. A retriable error is retried; anything else (a config
        the client refuses) is raised: a client error, never a silent stall."""
        bootstrap = self.bootstrap(self.cluster, self.site)
        producer: Producer | None = None
        while not self._leaving():
            try:
                if producer is None:
                    producer = Producer(self.spec.producer_config(bootstrap, self.run_id))
                producer.init_transactions(1.0)
                break
            except KafkaException as exc:
                err = kafka_error(exc)
                if err is None or not init_may_retry(err):
                    raise
                if err.fatal():
                    producer = None
                time.sleep(0.1)
        else:
            return None
        assert producer is not None
        consumer = Consumer(self.spec.consumer_config(bootstrap))
        consumer.subscribe(self._subscription)
        return _Member(consumer, producer)

    def _drop(self, member: _Member, wait: bool = False) -> None:
        """Leave a member behind: its open transaction (if any) ends aborted by the coordinator
        (transaction.timeout.ms) or fenced by the next init_transactions; close() waits for a
        coordinator that may be dead, so it must not block a redirect."""
        self.idle_since = None
        # Nothing outstanding, or already unusable: either way nothing to keep.
        with contextlib.suppress(KafkaException, RuntimeError):
            member.producer.purge()
        if wait:
            member.consumer.close()
        else:
            threading.Thread(target=member.consumer.close, daemon=True).start()

    # ----- one transaction --------------------------------------------------------------------
    def _one_transaction(self, member: _Member) -> _Member | None:
        batch = member.consumer.consume(self.spec.max_batch, 0.2)
        msgs = [m for m in batch if m.error() is None]
        if not msgs:
            if self.idle_since is None and member.consumer.assignment():
                self.idle_since = time.monotonic()
            return member
        self.idle_since = None
        ranges: dict[tuple[str, int], list[int]] = {}
        for m in msgs:
            key = (str(m.topic()), int(m.partition() or 0))
            r = ranges.setdefault(key, [int(m.offset() or 0), int(m.offset() or 0)])
            r[0], r[1] = min(r[0], int(m.offset() or 0)), max(r[1], int(m.offset() or 0))
        try:
            member.producer.begin_transaction()
        except KafkaException:
            # The producer is unusable (fatal): nothing was written; a new member reads the
            # batch again from the committed offsets.
            self._drop(member)
            return None
        if not self._produce_all(member.producer, msgs):
            outcome, error, keep = "fail", "STOPPED", False  # never asked to commit: aborted
        else:
            offsets = [TopicPartition(t, p, last + 1) for (t, p), (_f, last) in ranges.items()]
            outcome, error, keep = self._finish(member, offsets)
        self.history.append(
            Ev.COPY_TXN,
            copier=self.spec.name,
            group=self.spec.group,
            cluster=self.cluster,
            from_topic=self.spec.from_topic,
            to_topic=self.spec.to_topic,
            txn=self.txn,
            ranges=[[t, p, f, last] for (t, p), (f, last) in ranges.items()],
            records=len(msgs),
            outcome=outcome,
            error=error,
        )
        self.txn += 1
        if outcome == "ok":
            self.copied += len(msgs)
        if keep and outcome == "fail" and not self._rewind(member):
            keep = False
        if not keep:
            self._drop(member)
            return None
        return member

    def _produce_all(self, producer: Producer, msgs: list[Message]) -> bool:
        """Produce every record of the batch (False: the run stopped while the local queue
        was full; the transaction is then left open, to be aborted)."""
        to_topic = self.spec.to_topic
        for m in msgs:
            while True:
                try:
                    producer.produce(to_topic, value=m.value(), key=m.key(), headers=m.headers())
                    break
                except BufferError:
                    producer.poll(0.05)  # local queue full: let deliveries drain
                    if self.stop_event.is_set():
                        return False
        producer.poll(0)
        return True

    def _finish(
        self, member: _Member, offsets: list[TopicPartition]
    ) -> tuple[str, str | None, bool]:
        """(outcome, error, the member is still usable) of sending the offsets and committing."""
        producer, consumer = member.producer, member.consumer
        committing = False
        try:
            metadata = consumer.consumer_group_metadata()
            self._sliced(lambda t: producer.send_offsets_to_transaction(offsets, metadata, t))
            committing = True
            self._sliced(producer.commit_transaction)
            return "ok", None, True
        except KafkaException as exc:
            err = kafka_error(exc)
            if err is not None and err.txn_requires_abort():
                return self._abort(producer, error_name(exc))
            if not committing and (err is None or not err.fatal()):
                # The offsets did not go in (timed out): the commit was never asked for.
                return self._abort(producer, error_name(exc))
            if not committing:
                return "fail", error_name(exc), False  # fatal (fenced): the transaction is dead
            # The commit call timed out or hit a fatal error: the coordinator may have it.
            return "unknown", error_name(exc), False

    def _abort(self, producer: Producer, error: str) -> tuple[str, str | None, bool]:
        try:
            self._sliced(producer.abort_transaction)
            return "fail", error, True
        except KafkaException:
            # The coordinator aborts it at transaction.timeout.ms, or the next member's
            # init_transactions fences and aborts it.
            return "fail", error, False

    def _sliced(self, call: Callable[[float], Any]) -> None:
        sliced(call, self._leaving)

    def _rewind(self, member: _Member) -> bool:
        """After an abort: back to the group's committed offsets (False: not known in time;
        the member is recreated, which starts from them anyway)."""
        consumer = member.consumer
        try:
            parts = consumer.assignment()
            if not parts:
                return True
            for tp in consumer.committed(parts, timeout=REWIND_TIMEOUT_S):
                offset = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
                consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
            return True
        except KafkaException:
            return False
