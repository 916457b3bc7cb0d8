"""A transactional producer: messages in transactions of ``txn_size``, a share of them aborted on
purpose, each transaction's end recorded as one ``txn`` event (history/transactions.py says
what that makes of its messages).

Every message keeps its ``send.invoke`` / ``send.*`` events (the delivery report comes when the
record is in the log, before the commit). The transaction's outcome is the commit or abort
call's: ``ok``; ``fail`` when librdkafka says the transaction must be aborted (it is, before the
next one begins); ``unknown`` when the call timed out or the error is fatal (the coordinator may
have written the commit): never counted as lost or as seen in error.
"""

from __future__ import annotations

import contextlib
import time

from confluent_kafka import KafkaError, KafkaException, Producer

from kafkadrill.history import Ev
from kafkadrill.workload.producer import WorkloadProducer, _Route
from kafkadrill.workload.txn_calls import CALL_TIMEOUT_S, init_may_retry, kafka_error, sliced

__all__ = ["TransactionalProducer", "aborts"]

#: How long one commit / abort / init call may block: bounded, so a stop or a redirect is taken
#: within it even while the coordinator is unreachable.


def aborts(txn: int, ratio: float) -> bool:
    """Whether transaction ``txn`` (0 up) is aborted on purpose: evenly spread, no randomness,
    ``ratio`` of them in the long run (0.25: 3, 7, 11, ...)."""
    return int((txn + 1) * ratio) > int(txn * ratio)


class TransactionalProducer(WorkloadProducer):
    """One ``transactional.id`` per producer and run; a redirect moves it to another cluster
    (a new client there, after the open transaction is aborted or abandoned)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.txn = 0
        self._next_send = time.monotonic()

    def _new_client(self) -> Producer:
        spec = self.spec
        conf = spec.client_config(self.bootstrap(self.cluster, self.site))
        conf.update(
            {
                "transactional.id": f"kafkadrill-{self.run_id}-{spec.name}",
                "transaction.timeout.ms": spec.txn_timeout_ms,
                "enable.idempotence": True,
            }
        )
        return Producer(conf)

    def _connect(self) -> Producer | None:
        """A client with its transactions initialised; None when the run stops or a redirect
        comes first. init_transactions is called in 1 s slices (a timed-out call may be
        repeated): the coordinator may be unreachable for as long as a fault lasts, and a
        redirect must not wait for it. A retriable error is retried; anything else (a config
        the client refuses) is raised: a client error, never a silent stall."""
        client: Producer | None = None
        while not self.stop_event.is_set() and not self._redirect_pending():
            try:
                if client is None:
                    client = self._new_client()
                client.init_transactions(1.0)
                return client
            except KafkaException as exc:
                err = kafka_error(exc)
                if err is None or not init_may_retry(err):
                    raise
                if err.fatal():
                    client = None
                time.sleep(0.1)
        return None

    def work(self) -> None:
        spec = self.spec
        size = int(spec.txn_size or 1)
        interval = 1.0 / spec.rate_per_second if spec.rate_per_second else 0.0
        client: Producer | None = None
        while not self.stop_event.is_set():
            if spec.max_messages is not None and self.seq >= spec.max_messages:
                break
            move = self.take_redirect()
            if move is not None:
                if client is not None:
                    self._close(client)
                    client = None
                self.switch(*move)
            if client is None:
                client = self._connect()
                continue
            if self.paused.is_set():
                time.sleep(0.05)
                continue
            client = self._one_transaction(client, size, interval)
        if client is not None:
            self._close(client)

    def _one_transaction(self, client: Producer, size: int, interval: float) -> Producer | None:
        route = _Route(self, self.cluster, self.site)
        first = self.seq
        try:
            client.begin_transaction()
        except KafkaException:
            self._close(client)
            return None
        for _ in range(size):
            if self.stop_event.is_set() or self._redirect_pending():
                break
            if interval:
                # The schedule runs across transactions: a commit's round trip is caught up
                # on (up to 1 s behind), so the rate is the scenario's, not rate minus commits.
                delay = self._next_send - time.monotonic()
                if delay > 0:
                    client.poll(delay)
                self._next_send = max(self._next_send + interval, time.monotonic() - 1.0)
            self._send(client, route, 1)
            client.poll(0)
        last = self.seq - 1
        if self._redirect_pending():
            # Leaving the cluster (it may be down): no abort call that could block the move;
            # a transaction never asked to commit can only end aborted (by the coordinator's
            # transaction.timeout.ms).
            decision, (outcome, error, client_ok) = "abort", ("fail", "ABANDONED", False)
        else:
            # Cut short by the stop: aborted, never committed half.
            cut = self.stop_event.is_set()
            decision = "abort" if cut or aborts(self.txn, self.spec.txn_abort_ratio) else "commit"
            if decision == "abort" and not cut:
                # An application aborts after writing: the records reach the log first (else
                # the abort purges them unsent and no reader ever meets an aborted record).
                client.flush(1.0)  # bounded: the cluster may be going away
            outcome, error, client_ok = self._end(client, decision)
        self.history.append(
            Ev.TXN,
            producer=self.spec.name,
            cluster=route.cluster,
            topic=self.spec.topic,
            txn=self.txn,
            first=first,
            last=last,
            decision=decision,
            outcome=outcome,
            error=error,
        )
        self.txn += 1
        if client_ok:
            return client
        self._close(client)
        return None  # the work loop connects again (or takes the redirect first)

    def _call(self, client: Producer, decision: str) -> None:
        """Commit or abort, in 1 s slices (txn_calls.sliced): a redirect is taken within a
        second even while the coordinator is unreachable."""
        call = client.commit_transaction if decision == "commit" else client.abort_transaction
        sliced(call, self._redirect_pending)

    def _end(self, client: Producer, decision: str) -> tuple[str, str | None, bool]:
        """(outcome, error, the client is still usable) of committing or aborting."""
        try:
            self._call(client, decision)
            return "ok", None, True
        except KafkaException as exc:
            err: KafkaError = exc.args[0]
            if decision == "commit" and err.txn_requires_abort():
                try:
                    client.abort_transaction(CALL_TIMEOUT_S)
                    return "fail", err.name(), True
                except KafkaException:
                    return "fail", err.name(), False
            if decision == "abort" and not err.fatal():
                # The coordinator aborts it at transaction.timeout.ms if nobody else does.
                return "fail", err.name(), False
            # Timed out (retriable) or fatal: the coordinator may have the commit.
            return "unknown", err.name(), False

    def _redirect_pending(self) -> bool:
        with self._lock:
            return self._redirect_to is not None and self._redirect_to != self.cluster

    def _close(self, client: Producer) -> None:
        """Drop a client: its outstanding deliveries are purged (recorded as unknown); an open
        transaction is left to the coordinator's timeout (aborted)."""
        with contextlib.suppress(KafkaException):
            self._drain(client, 1.0)
