"""Pure parts of the workload: send-outcome classification, client configs, topic matching."""

from __future__ import annotations

import re

from confluent_kafka import KafkaError

from kafkadrill.workload.consumer import ConsumerSpec, topic_pattern
from kafkadrill.workload.producer import DEFINITE_FAILURES, ProducerSpec


def test_errors_that_may_follow_a_written_attempt_are_not_definite() -> None:
    # A purged or retried send may have been written by an earlier attempt: unknown, not fail.
    for name in (
        "_PURGE_QUEUE",
        "_PURGE_INFLIGHT",
        "_MSG_TIMED_OUT",
        "_TIMED_OUT",
        "NOT_ENOUGH_REPLICAS",
        "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        "_TRANSPORT",
        "REQUEST_TIMED_OUT",
        "NOT_LEADER_FOR_PARTITION",
    ):
        assert getattr(KafkaError, name) not in DEFINITE_FAILURES, name


def test_client_side_rejections_are_definite() -> None:
    for name in ("MSG_SIZE_TOO_LARGE", "RECORD_LIST_TOO_LARGE", "TOPIC_AUTHORIZATION_FAILED"):
        assert getattr(KafkaError, name) in DEFINITE_FAILURES, name


def test_idempotence_only_with_acks_all_and_extra_config_wins() -> None:
    spec = ProducerSpec(
        "p0",
        "primary",
        "orders",
        "east",
        acks="1",
        enable_idempotence=True,
        extra={"compression.type": "lz4"},
    )
    conf = spec.client_config("127.0.0.1:1")
    assert conf["enable.idempotence"] is False  # librdkafka refuses idempotence without acks=all
    assert conf["acks"] == "1"
    assert conf["compression.type"] == "lz4"
    assert (
        ProducerSpec("p1", "primary", "orders", "east").client_config("x")["enable.idempotence"]
        is True
    )


def test_consumer_commits_manually() -> None:
    conf = ConsumerSpec("g-0", "g", "primary", "orders", "east").client_config("127.0.0.1:1")
    assert conf["enable.auto.commit"] is False
    assert conf["group.id"] == "g"


def test_topic_pattern_matches_a_topic_and_its_mirrored_copies_only() -> None:
    pat = re.compile(topic_pattern("orders"))
    assert pat.match("orders")
    assert pat.match("primary.orders")
    assert pat.match("dr.orders")
    assert not pat.match("orders2")
    assert not pat.match("kd-health")
    assert not pat.match("primary.checkpoints.internal")


def test_aborts_are_evenly_spread_and_deterministic() -> None:
    from kafkadrill.workload.txn_producer import aborts

    assert [n for n in range(12) if aborts(n, 0.25)] == [3, 7, 11]
    assert sum(aborts(n, 0.2) for n in range(1000)) == 200
    assert not any(aborts(n, 0.0) for n in range(100))
    assert all(aborts(n, 1.0) for n in range(100))


def test_consumer_isolation_is_stated_and_config_wins() -> None:
    base = ConsumerSpec("g-0", "g", "primary", "orders", "east")
    assert base.client_config("b")["isolation.level"] == "read_committed"
    assert base.isolation == "read_committed"
    ru = ConsumerSpec("g-0", "g", "primary", "orders", "east", isolation_level="read_uncommitted")
    assert ru.client_config("b")["isolation.level"] == ru.isolation == "read_uncommitted"
    over = ConsumerSpec("g-0", "g", "primary", "orders", "east",
                        extra={"isolation.level": "read_uncommitted"})  # fmt: skip
    assert over.client_config("b")["isolation.level"] == over.isolation == "read_uncommitted"
