"""Workload consumers (groups under test) and the final reader.

Every polled record is a `recv` event, preceded by one `poll` event per batch; every rebalance
callback an `assign` event; every commit a `commit` event. The final reader is not a
group under test: it reads every target topic from the beginning after everything is healed, so
that "lost" means lost and not merely "not yet read".
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from kafkadrill.history import Ev, HistoryWriter
from kafkadrill.topology import topic_pattern
from kafkadrill.workload import CLIENT_LOGGER, payload
from kafkadrill.workload.client import BootstrapFn, ClientThread

_HDR_PREFIX = "kd-"


def _hdr(msg: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in msg.headers() or ():
        if k.startswith(_HDR_PREFIX) and v is not None:
            out[k] = v.decode(errors="replace")
    return out


def record_recv(
    history: HistoryWriter,
    msg: Message,
    *,
    reader: str,
    group: str | None,
    final: bool,
    cluster: str,
) -> None:
    decoded = payload.decode(msg.value())
    history.append(
        Ev.RECV,
        reader=reader,
        group=group,
        final=final,
        cluster=cluster,
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        ts=msg.timestamp()[1],
        id=decoded.id if decoded else None,
        hdr=_hdr(msg),
    )


@dataclass(frozen=True)
class ConsumerSpec:
    name: str  # reader name, "billing-0"
    group: str
    cluster: str
    topic: str
    site: str
    commit_interval_ms: int = 1000
    # What it subscribes to (`^` entries are regexes); empty = `topic` and its MM2 copies.
    subscription: tuple[str, ...] = ()
    auto_offset_reset: str = "earliest"
    session_timeout_ms: int = 10000
    isolation_level: str = "read_committed"  # librdkafka's default, stated
    extra: dict[str, Any] = field(default_factory=dict)  # more librdkafka properties

    @property
    def isolation(self) -> str:
        """What the client really uses (a `config:` entry wins, as in client_config)."""
        return str(self.extra.get("isolation.level", self.isolation_level))

    def client_config(self, bootstrap: str) -> dict[str, Any]:
        # KIP-848's consumer protocol refuses client-side session and heartbeat settings (the
        # group's broker-side group.consumer.* configs decide them): set them for classic only.
        classic = str(self.extra.get("group.protocol", "classic")).lower() == "classic"
        session = (
            {
                "session.timeout.ms": self.session_timeout_ms,
                "heartbeat.interval.ms": min(3000, self.session_timeout_ms // 3),
            }
            if classic
            else {}
        )
        return {
            "bootstrap.servers": bootstrap,
            "group.id": self.group,
            "client.id": f"kafkadrill-{self.name}",
            "enable.auto.commit": False,
            "auto.offset.reset": self.auto_offset_reset,
            "isolation.level": self.isolation_level,
            **session,
            "topic.metadata.refresh.interval.ms": 2000,
            "log_level": 6,
            "logger": CLIENT_LOGGER,
            **self.extra,
        }


class WorkloadConsumer(ClientThread):
    """A group member on its own thread; commits on a cadence; `redirect()` for failover."""

    role = "consumer"

    def __init__(
        self,
        spec: ConsumerSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        stop: threading.Event,
    ) -> None:
        super().__init__(spec.name, spec.cluster, spec.site, history, bootstrap, stop)
        self.spec = spec
        self.received = 0
        # Offsets read and not yet acknowledged as committed, per (topic, partition).
        self._pending: dict[tuple[str, int], int] = {}
        self._generation = 0  # which client a commit result belongs to
        self._in_flight = False

    def _new_client(self) -> Consumer:
        # Commit results come back on this client's callback, bound to the cluster it talks
        # to: a result that arrives after a redirect still names the cluster it was for.
        self._generation += 1
        bound = functools.partial(self._on_commit, self._generation, self.cluster)
        c = Consumer(
            {**self.spec.client_config(self.bootstrap(self.cluster, self.site)), "on_commit": bound}
        )
        gen, cluster = self._generation, self.cluster
        # Which records it may see: the aborted-read checker judges read_committed readers.
        self.history.append(
            Ev.READER,
            reader=self.spec.name,
            group=self.spec.group,
            cluster=cluster,
            isolation=self.spec.isolation,
        )
        c.subscribe(
            list(self.spec.subscription) or [topic_pattern(self.spec.topic)],
            on_assign=functools.partial(self._on_rebalance, gen, cluster, "assign"),
            on_revoke=functools.partial(self._on_rebalance, gen, cluster, "revoke"),
            on_lost=functools.partial(self._on_rebalance, gen, cluster, "lost"),
        )
        self._in_flight = False
        return c

    def _on_rebalance(
        self, instance: int, cluster: str, change: str, _c: Consumer, parts: list[TopicPartition]
    ) -> None:
        # confluent-kafka applies the (incremental) assignment itself after the callback; this
        # only records it, so poll checks can tell a rewind after a rebalance from a bug.
        self.history.append(
            Ev.ASSIGN,
            reader=self.spec.name,
            group=self.spec.group,
            cluster=cluster,
            instance=instance,
            change=change,
            partitions=[[tp.topic, tp.partition] for tp in parts],
        )

    def _commit_async(self, client: Consumer) -> None:
        """Commit what was read since the last acknowledged commit, without waiting.

        A synchronous commit waits for the group coordinator; with the old region down that is
        until the region returns, and a redirect is only taken between commits. Reads
        unavailable then measured this consumer, not the DR setup (47.6 s instead of ~11 s in
        one of six region-outage runs). One commit is in flight at a time; a failed one leaves
        its offsets pending for the next.
        """
        if self._in_flight or not self._pending:
            return
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in self._pending.items()]
        try:
            client.commit(offsets=offsets, asynchronous=True)
        except Exception as exc:  # refused at once (e.g. no offsets): a fact, not a crash
            self._record_commit_fail(self.cluster, str(exc))
            return
        self._in_flight = True

    def _on_commit(
        self, generation: int, cluster: str, err: KafkaError | None, parts: list[TopicPartition]
    ) -> None:
        done = [tp for tp in parts if tp.error is None and tp.offset >= 0]
        failed = err if err is not None else next((tp.error for tp in parts if tp.error), None)
        if done and err is None:
            self.history.append(
                Ev.COMMIT,
                reader=self.spec.name,
                group=self.spec.group,
                cluster=cluster,
                offsets=[[tp.topic, tp.partition, tp.offset] for tp in done],
                mode="async",
            )
        if failed is not None:
            self._record_commit_fail(cluster, str(failed))
        if generation != self._generation:
            return  # a result from a client left behind by a redirect
        self._in_flight = False
        if err is None:
            for tp in done:
                key = (tp.topic, tp.partition)
                if key in self._pending and self._pending[key] + 1 <= tp.offset:
                    del self._pending[key]

    def _record_commit_fail(self, cluster: str, error: str) -> None:
        self.history.append(
            Ev.COMMIT_FAIL,
            reader=self.spec.name,
            group=self.spec.group,
            cluster=cluster,
            error=error,
        )

    def _commit_final(self, client: Consumer) -> None:
        """The last commit when the run stops: synchronous (no callback for it)."""
        if not self._pending:
            return
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in self._pending.items()]
        try:
            client.commit(offsets=offsets, asynchronous=False)
        except Exception as exc:  # a failed commit is a fact of the drill, not a crash
            self._record_commit_fail(self.cluster, str(exc))
            return
        self.history.append(
            Ev.COMMIT,
            reader=self.spec.name,
            group=self.spec.group,
            cluster=self.cluster,
            offsets=[[t, p, o + 1] for (t, p), o in self._pending.items()],
            mode="sync",
        )
        self._pending.clear()

    def _record_poll(self, batch: list[Message]) -> None:
        """One `poll` event per batch, before its `recv` events: the batch boundary and the
        client instance that polled it (one event per batch, not per record)."""
        ranges: dict[tuple[str, int], list[int]] = {}
        for msg in batch:
            if msg.error() is not None:
                continue
            r = ranges.setdefault((msg.topic(), msg.partition()), [msg.offset(), msg.offset(), 0])
            r[0], r[1], r[2] = min(r[0], msg.offset()), max(r[1], msg.offset()), r[2] + 1
        if ranges:
            self.history.append(
                Ev.POLL,
                reader=self.spec.name,
                cluster=self.cluster,
                instance=self._generation,
                ranges=[[t, p, *r] for (t, p), r in ranges.items()],
            )

    def _record(self, msg: Message) -> None:
        err = msg.error()
        if err is not None:
            if err.code() != KafkaError._PARTITION_EOF:
                self.history.append(
                    Ev.CONSUME_ERROR,
                    reader=self.spec.name,
                    group=self.spec.group,
                    cluster=self.cluster,
                    error=err.name(),
                )
            return
        record_recv(
            self.history,
            msg,
            reader=self.spec.name,
            group=self.spec.group,
            final=False,
            cluster=self.cluster,
        )
        self.received += 1
        self._pending[(msg.topic(), msg.partition())] = msg.offset()

    def work(self) -> None:
        client = self._new_client()
        interval = self.spec.commit_interval_ms / 1000.0
        next_commit = time.monotonic() + interval
        try:
            while not self.stop_event.is_set():
                move = self.take_redirect()
                if move is not None:
                    # The old cluster may be gone: close without committing, as a real
                    # consumer would be restarted against DR. close() waits for a coordinator
                    # that may be dead, so it must not block the failover.
                    self._pending.clear()
                    threading.Thread(target=client.close, daemon=True).start()
                    self.switch(*move, group=self.spec.group)
                    client = self._new_client()
                if self.paused.is_set():
                    time.sleep(0.05)
                    continue
                batch = client.consume(500, 0.2)  # also serves commit/rebalance callbacks
                if batch:
                    self._record_poll(batch)
                for msg in batch:
                    self._record(msg)
                if time.monotonic() >= next_commit:
                    self._commit_async(client)
                    next_commit = time.monotonic() + interval
            self._commit_final(client)
        finally:
            client.close()


def final_read(
    history: HistoryWriter,
    bootstrap: str,
    cluster: str,
    topics: Iterable[str],
    timeout: float = 60.0,
    extra: dict[str, Any] | None = None,
) -> tuple[int, bool]:
    """Read every partition of `topics` from the beginning up to the end offsets seen at start.

    Returns (records, complete). Records are `recv` events with final=true, group=null.
    """
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": f"kafkadrill-final-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "log_level": 6,
        "logger": CLIENT_LOGGER,
        "enable.partition.eof": False,
        "isolation.level": "read_committed",  # final_read.start says so
        **(extra or {}),
    }
    client = Consumer(conf)
    count = 0
    try:
        md = client.list_topics(timeout=15)
        ends: dict[tuple[str, int], int] = {}
        for topic in topics:
            if topic not in md.topics:
                continue
            for p in md.topics[topic].partitions:
                _lo, hi = client.get_watermark_offsets(TopicPartition(topic, p), timeout=15)
                ends[(topic, p)] = hi
        todo = {tp for tp, hi in ends.items() if hi > 0}
        client.assign([TopicPartition(t, p, OFFSET_BEGINNING) for (t, p) in ends])
        deadline = time.monotonic() + timeout
        while todo and time.monotonic() < deadline:
            for msg in client.consume(1000, 0.5):
                if msg.error() is not None:
                    continue
                tp = (msg.topic(), msg.partition())
                if tp not in ends or msg.offset() >= ends[tp]:
                    continue
                record_recv(history, msg, reader="final", group=None, final=True, cluster=cluster)
                count += 1
                if msg.offset() >= ends[tp] - 1:
                    todo.discard(tp)
            # Records deleted or compacted away leave positions past the last offset we saw.
            if todo:
                for tp in list(todo):
                    pos = client.position([TopicPartition(tp[0], tp[1])])[0].offset
                    if pos >= ends[tp]:
                        todo.discard(tp)
        return count, not todo
    finally:
        client.close()
