"""The health check retries a create-topic request a just-formed cluster dropped (pure logic:
the Kafka clients are replaced by fakes)."""

from __future__ import annotations

from typing import Any

import confluent_kafka
import confluent_kafka.admin
import pytest
from confluent_kafka import KafkaError, KafkaException

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.shared import health


class _Future:
    def __init__(self, error: KafkaError | None) -> None:
        self.error = error

    def result(self, timeout: float) -> None:
        if self.error is not None:
            raise KafkaException(self.error)


class _Metadata:
    def __init__(self) -> None:
        self.brokers = {1: object()}


def _fakes(monkeypatch: pytest.MonkeyPatch, errors: list[KafkaError | None]) -> list[int]:
    calls: list[int] = []

    class Admin:
        def __init__(self, conf: dict[str, Any]) -> None:
            pass

        def list_topics(self, timeout: float) -> _Metadata:
            return _Metadata()

        def create_topics(self, topics: list[Any]) -> dict[str, _Future]:
            calls.append(1)
            return {health.HEALTH_TOPIC: _Future(errors.pop(0) if errors else None)}

    class Producer:
        def __init__(self, conf: dict[str, Any]) -> None:
            pass

        def produce(self, topic: str, value: bytes, on_delivery: Any) -> None:
            pass

        def flush(self, timeout: float) -> int:
            return 0

    monkeypatch.setattr(confluent_kafka.admin, "AdminClient", Admin)
    monkeypatch.setattr(confluent_kafka, "Producer", Producer)
    monkeypatch.setattr(health, "kafka_ping", lambda addr, timeout: 1.0)
    monkeypatch.setattr(health.time, "sleep", lambda s: None)
    return calls


def test_a_dropped_request_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fakes(monkeypatch, [KafkaError(KafkaError._DESTROY_BROKER), None])
    health.wait_cluster_healthy("primary", 1, "127.0.0.1:1", lambda: None, timeout=30)
    assert len(calls) == 2


def test_an_earlier_attempt_that_got_through_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fakes(
        monkeypatch,
        [KafkaError(KafkaError._DESTROY_BROKER), KafkaError(KafkaError.TOPIC_ALREADY_EXISTS)],
    )
    health.wait_cluster_healthy("primary", 1, "127.0.0.1:1", lambda: None, timeout=30)
    assert len(calls) == 2


def test_a_permanent_refusal_is_an_infrastructure_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _fakes(monkeypatch, [KafkaError(KafkaError.INVALID_REPLICATION_FACTOR)])
    with pytest.raises(TopologyError, match="cannot create kd-health"):
        health.wait_cluster_healthy("primary", 1, "127.0.0.1:1", lambda: None, timeout=30)
