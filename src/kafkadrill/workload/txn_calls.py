"""How kafkadrill's transactional clients (txn_producer, copier) call librdkafka's transactional
API: one classification of its errors and one way to bound a call.

Every call runs in slices of at most 1 s (librdkafka lets a timed-out transactional call be
repeated), so a client takes a redirect or a stop within a second even while the transaction
coordinator is unreachable: otherwise a region outage would hold it in its call, and a
failover's RTO would measure kafkadrill's client, not the DR setup.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException

__all__ = [
    "CALL_TIMEOUT_S",
    "error_name",
    "init_may_retry",
    "kafka_error",
    "sliced",
]

#: How long one commit, abort or offsets call may take in all before its outcome is unknown.
CALL_TIMEOUT_S = 10.0
#: Errors a repeated init_transactions may outlast: the coordinator is loading, moving or
#: unreachable (a timed-out slice, a dropped connection).
_TRANSIENT = (KafkaError._TIMED_OUT, KafkaError._TRANSPORT)


def kafka_error(exc: KafkaException) -> KafkaError | None:
    err = exc.args[0] if exc.args else None
    return err if isinstance(err, KafkaError) else None


def error_name(exc: KafkaException) -> str:
    err = kafka_error(exc)
    return err.name() if err is not None else repr(exc)


def init_may_retry(err: KafkaError | None) -> bool:
    """Whether init_transactions may be called again (on a new client if the error is fatal);
    anything else, such as a config the client refuses, is the caller's error to raise."""
    return err is not None and (err.retriable() or err.code() in _TRANSIENT)


def sliced(call: Callable[[float], Any], leaving: Callable[[], bool]) -> None:
    """Repeat a transactional call in 1 s slices until it succeeds, fails for good (not
    retriable, or fatal), CALL_TIMEOUT_S passes, or ``leaving()`` says the run stops or a
    redirect came: the last error is raised then."""
    deadline = time.monotonic() + CALL_TIMEOUT_S
    while True:
        try:
            call(min(1.0, max(deadline - time.monotonic(), 0.1)))
            return
        except KafkaException as exc:
            err = kafka_error(exc)
            again = err is not None and err.retriable() and not err.fatal()
            if not again or time.monotonic() >= deadline or leaving():
                raise
