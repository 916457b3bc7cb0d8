"""Application principals on a real 1+1 topology: every client listener authenticates, so the
topology starting at all (health checks, topic creation, MirrorMaker 2 copying a probe) proves
kafkadrill's own clients log in as the super user; an application principal may do only what
an ACL grants it (the whole drill is scenarios/acl-failover.yaml, docs/benchmarks.md)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer

from kafkadrill.faults.metadata_admin import ConfluentAdmin
from kafkadrill.history import HistoryWriter
from kafkadrill.runtimes.local.runtime import LocalRuntime
from kafkadrill.topology import TopicSpec, sasl_client_conf, two_dc
from kafkadrill.workload.producer import ProducerSpec, WorkloadProducer

pytestmark = pytest.mark.integration

APP = "payments-app"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    topo = two_dc(1, topics=(TopicSpec("orders", 1, 1),))
    names = (APP, "nobody")  # nobody: a principal no ACL names
    topo = replace(
        topo,
        clusters=tuple(replace(c, authorizer=True, principals=names) for c in topo.clusters),
    )
    with LocalRuntime(topo, tmp_path_factory.mktemp("principals")) as rt:
        yield rt


def _write(rt: LocalRuntime, cluster: str, login: dict[str, str]) -> list[str]:
    """One record as `login` to `orders`; -> the delivery errors (names)."""
    errors: list[str] = []
    p = Producer(
        {"bootstrap.servers": rt.bootstrap(cluster), "log_level": 0,
         "enable.idempotence": False, "message.timeout.ms": 10000, **login}
    )  # fmt: skip
    p.produce("orders", b"x", on_delivery=lambda e, _m: e and errors.append(e.name()))
    assert p.flush(15) == 0, "no delivery report within 15 s"
    return errors


def test_tools_log_in_as_the_super_user_and_mm2_copies_across_sasl(secured: LocalRuntime) -> None:
    # Reaching here means health checks and topic creation logged in; MM2 must too.
    assert secured.wait_replicating(timeout=60) > 0


def test_a_principal_may_do_only_what_an_acl_grants(secured: LocalRuntime) -> None:
    login = sasl_client_conf(APP)
    assert _write(secured, "primary", login) == ["TOPIC_AUTHORIZATION_FAILED"]
    admin = ConfluentAdmin(secured.bootstrap("primary"), secured.clients.config)
    admin.create_acls("orders", f"User:{APP}", ["WRITE", "DESCRIBE"])
    assert _write(secured, "primary", login) == []
    # A wrong password is not a principal at all: the login itself fails.
    bad = {**login, "sasl.password": "wrong"}
    c = Consumer({"bootstrap.servers": secured.bootstrap("primary"), "log_level": 0,
                  "group.id": f"g-{uuid.uuid4()}", **bad})  # fmt: skip
    try:
        md_error = None
        try:
            c.list_topics(timeout=5)
        except Exception as exc:  # the failed login surfaces as a transport/auth error
            md_error = exc
        assert md_error is not None
        assert getattr(md_error.args[0], "code", lambda: None)() in (
            KafkaError._AUTHENTICATION,
            KafkaError._TRANSPORT,
            KafkaError._TIMED_OUT,
        ), md_error
    finally:
        c.close()


def test_plaintext_clients_are_not_let_in(secured: LocalRuntime) -> None:
    # Without a login (what every client was before principals) nothing answers.
    assert _write(secured, "dr", {"message.timeout.ms": "3000"}) != []


def test_a_producer_refused_fatally_restarts_instead_of_crashing(
    secured: LocalRuntime, tmp_path: Path
) -> None:
    """An idempotent producer whose principal may write nothing on the cluster cannot get a
    producer id (a fatal CLUSTER_AUTHORIZATION_FAILED, measured in scenarios/acl-failover.yaml
    on DR): the workload producer records it and restarts its client, it does not crash."""
    history = HistoryWriter(tmp_path / "history.jsonl", "r")
    spec = ProducerSpec("p0", "dr", "orders", "west", rate_per_second=200, max_messages=2000,
                        delivery_timeout_ms=5000, request_timeout_ms=3000,
                        extra=sasl_client_conf("nobody"))  # fmt: skip
    stop = threading.Event()
    p = WorkloadProducer(spec, history, lambda c, s: secured.bootstrap(c), "r", stop)
    p.start()
    time.sleep(6)
    stop.set()
    p.join(40)
    history.close()
    events = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert p.error is None, p.error
    assert not [e for e in events if e["type"] == "client.error"]
    fatal = [e for e in events if e["type"] == "producer.fatal"]
    assert fatal and fatal[0]["error"] == "CLUSTER_AUTHORIZATION_FAILED", fatal[:1]
    assert not [e for e in events if e["type"] == "send.ok"]
