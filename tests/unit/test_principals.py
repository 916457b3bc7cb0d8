"""Application principals (topology.principals, topology.acls, grant_acls): the brokers' and
MirrorMaker 2's settings, the scenario rules, the plan, and the authorization checker (pure, on
a written history). The real run is scenarios/acl-failover.yaml (docs/benchmarks.md)."""

from __future__ import annotations

from typing import Any

import pytest

from kafkadrill.checkers.authorization import check_authorization
from kafkadrill.history import load_frames
from kafkadrill.runtimes.shared import config as cfg
from kafkadrill.runtimes.shared.ports import plan_ports
from kafkadrill.scenario import Scenario, compile_plan
from kafkadrill.scenario.errors import ScenarioValidationError
from kafkadrill.topology import TOOL_PRINCIPAL, TOOL_SECRET, principal_secret, sasl_client_conf

WALL0 = 1_000_000.0


def _data(**topology: Any) -> dict[str, Any]:
    return {
        "name": "p",
        "topology": {
            "principals": ["payments-app"],
            "acls": [
                {"principal": "payments-app", "topic": "orders", "operations": ["WRITE"]},
                {"principal": "payments-app", "group": "billing", "operations": ["READ"]},
            ],
            **topology,
        },
        "workload": {
            "producers": {"principal": "payments-app"},
            "consumers": [{"group": "billing", "principal": "payments-app"}],
        },
    }


def test_every_client_listener_authenticates_and_nothing_is_open_without_an_acl() -> None:
    s = Scenario.from_dict(_data())
    topo = s.to_topology()
    primary = topo.cluster("primary")
    assert primary.authorizer and primary.principals == ("payments-app",)
    props = cfg.authorizer_props("CLIENT:PLAINTEXT,XDC:PLAINTEXT,INTERNAL:PLAINTEXT", ("a",))
    assert props["listener.security.protocol.map"] == (
        "CLIENT:SASL_PLAINTEXT,XDC:SASL_PLAINTEXT,INTERNAL:SASL_PLAINTEXT"
    )
    assert props["allow.everyone.if.no.acl.found"] == "false"
    jaas = props["listener.name.client.plain.sasl.jaas.config"]
    assert f'user_a="{principal_secret("a")}"' in jaas and f"user_{TOOL_PRINCIPAL}=" in jaas
    # Without principals only node-to-node traffic authenticates (the fence's clusters).
    plain = cfg.authorizer_props("CLIENT:PLAINTEXT,INTERNAL:PLAINTEXT")
    assert plain["listener.security.protocol.map"] == "CLIENT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT"
    assert plain["allow.everyone.if.no.acl.found"] == "true"


def test_mm2_and_kafkadrills_clients_log_in_as_the_super_user() -> None:
    topo = Scenario.from_dict(_data()).to_topology()
    props = cfg.mm2_property_map(topo, topo.flows, plan_ports(topo, 20000), "west")
    assert props["primary.security.protocol"] == "SASL_PLAINTEXT"
    assert f'username="{TOOL_PRINCIPAL}"' in str(props["dr.sasl.jaas.config"])
    # The password the tools log in with is the one every listener's JAAS gives the super user.
    secret = sasl_client_conf(TOOL_PRINCIPAL)["sasl.password"]
    assert secret == TOOL_SECRET
    jaas = cfg.authorizer_props("CLIENT:PLAINTEXT", ("a",))[
        "listener.name.client.plain.sasl.jaas.config"
    ]
    assert f'user_{TOOL_PRINCIPAL}="{secret}"' in jaas


def test_the_workloads_clients_log_in_as_their_principal_and_acls_are_run_scoped() -> None:
    plan = compile_plan(Scenario.from_dict(_data()))
    assert plan.producers[0].extra["sasl.username"] == "payments-app"
    assert plan.consumers[0].spec.extra["sasl.password"] == principal_secret("payments-app")
    assert [(a.resource, a.name) for a in plan.acls] == [("topic", "orders"), ("group", "billing")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"acls": [{"principal": "nobody", "topic": "orders", "operations": ["READ"]}]},
         "topology.acls[0].principal"),
        ({"acls": [{"principal": "payments-app", "topic": "ordes", "operations": ["READ"]}]},
         "topology.acls[0].topic"),
        ({"acls": [{"principal": "payments-app", "group": "x", "topic": "orders",
                    "operations": ["READ"]}]}, "topology.acls"),
        ({"backup": {}}, "topology.backup"),
        ({"mm2_mode": "connect"}, "topology.mm2_mode"),
    ],
)  # fmt: skip
def test_bad_principal_settings_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioValidationError) as exc:
        Scenario.from_dict(_data(**change), source="x.yaml")
    assert field in str(exc.value), str(exc.value)


def _history(*, grant: bool) -> list[dict[str, Any]]:
    """p0 writes to primary (acks at t 1..4), the failover decides at t 10 for dr; without a
    grant dr refuses p0's sends (t 12..14), with one it acknowledges them."""
    ev: list[dict[str, Any]] = [
        {"seq": 0, "t": 0.0, "wall": WALL0, "type": "run.start", "run_id": "r", "scenario": "s",
         "seed": 1, "runtime": "local"},
        {"seq": 1, "t": 0.1, "wall": WALL0, "type": "acl.grant", "cluster": "primary",
         "principal": "payments-app", "resource": "topic", "name": "orders",
         "operations": ["WRITE"], "origin": "start"},
    ]  # fmt: skip

    def add(t: float, typ: str, **f: Any) -> None:
        ev.append({"seq": len(ev), "t": t, "wall": WALL0 + t, "type": typ, **f})

    for i in range(4):
        add(1.0 + i, "send.invoke", producer="p0", id=f"p0:{i}", cluster="primary", topic="o")
        add(1.1 + i, "send.ok", producer="p0", id=f"p0:{i}", cluster="primary", topic="o",
            partition=0, offset=i, ts=0)  # fmt: skip
    for status, detail in (("start", None), ("ok", {"from": "primary", "to": "dr"})):
        add(10.0, "runbook.step", runbook="failover", step="decide", status=status, detail=detail)
    for i in range(4, 7):
        add(8.0 + i, "send.invoke", producer="p0", id=f"p0:{i}", cluster="dr", topic="o")
        if grant:
            add(8.1 + i, "send.ok", producer="p0", id=f"p0:{i}", cluster="dr", topic="o",
                partition=0, offset=i, ts=0)  # fmt: skip
        else:
            add(8.1 + i, "send.fail", producer="p0", id=f"p0:{i}", cluster="dr", topic="o",
                error="TOPIC_AUTHORIZATION_FAILED")  # fmt: skip
    add(15.0, "consume.error", reader="billing-0", group="billing", cluster="dr",
        error="GROUP_AUTHORIZATION_FAILED")  # fmt: skip
    return ev


def test_refused_writes_on_dr_are_measured_per_producer_and_cluster() -> None:
    v = check_authorization(load_frames(_history(grant=False)))
    f = v.figures
    assert v.status == "PASS" and f["applicable"]
    assert f["refused_sends"]["p0"]["dr"]["count"] == 3
    assert f["refused_sends"]["p0"]["dr"]["errors"] == {"TOPIC_AUTHORIZATION_FAILED": 3}
    assert f["refused_reads"]["billing"]["dr"]["count"] == 1
    after = f["after_failover"]
    assert after["target"] == "dr" and after["refused_sends"] == 3 and after["acks"] == 0
    assert after["first_ack_after_decision_s"] is None
    assert after["groups_refused"] == ["billing"]
    assert any("could not write" in n for n in v.notes)


def test_a_granted_target_takes_the_writes() -> None:
    f = check_authorization(load_frames(_history(grant=True))).figures
    assert f["after_failover"]["acks"] == 3 and f["after_failover"]["refused_sends"] == 0
    assert f["after_failover"]["first_ack_after_decision_s"] == pytest.approx(2.1)
    assert f["grants"][0]["origin"] == "start"


def test_only_a_fatal_authorization_refusal_restarts_a_producer() -> None:
    from confluent_kafka import KafkaError, KafkaException

    from kafkadrill.workload.producer import fatal_refusal

    def exc(code: int, fatal: bool) -> KafkaException:
        return KafkaException(KafkaError(code, "x", fatal=fatal))

    assert fatal_refusal(exc(KafkaError.CLUSTER_AUTHORIZATION_FAILED, True))
    assert not fatal_refusal(exc(KafkaError.CLUSTER_AUTHORIZATION_FAILED, False))
    assert not fatal_refusal(exc(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, True))


def test_fatal_restarts_are_counted_per_producer_and_cluster() -> None:
    ev = _history(grant=False)
    for t in (12.5, 14.5):
        ev.append({"seq": len(ev), "t": t, "wall": WALL0 + t, "type": "producer.fatal",
                   "producer": "p0", "cluster": "dr",
                   "error": "CLUSTER_AUTHORIZATION_FAILED"})  # fmt: skip
    v = check_authorization(load_frames(ev))
    assert v.figures["fatal_restarts"] == {"p0@dr": 2}


def test_the_compose_runtime_refuses_principals_naming_the_setting() -> None:
    from kafkadrill.errors import ScenarioError
    from kafkadrill.runner import require_capabilities
    from kafkadrill.runtimes.base import runtime_type

    plan = compile_plan(Scenario.from_dict(_data()))
    require_capabilities(plan, runtime_type("local"))
    with pytest.raises(ScenarioError) as exc:
        require_capabilities(plan, runtime_type("compose"))
    text = str(exc.value)
    assert "topology.principals" in text and "drop topology.principals" in text, text


def test_a_refused_principal_on_dr_is_a_high_finding_with_the_runbook_fix() -> None:
    from kafkadrill.checkers.findings.failover import principals_refused_on_dr

    def report(after: dict[str, Any] | None) -> dict[str, Any]:
        figs = {"applicable": True, "after_failover": after}
        return {"checkers": {"authorization": {"status": "PASS", "figures": figs}}}

    refused = {"target": "dr", "refused_sends": 120, "acks": 0,
               "first_ack_after_decision_s": None, "groups_refused": ["billing"]}  # fmt: skip
    (f,) = principals_refused_on_dr(report(refused))
    assert f["severity"] == "high" and "grant_acls" in f["suggestion"], f
    assert "120 sends (every write)" in f["text"] and "billing" in f["text"], f
    fine = {**refused, "refused_sends": 0, "groups_refused": [], "first_ack_after_decision_s": 1.0}
    assert principals_refused_on_dr(report(fine)) == []
    assert principals_refused_on_dr(report(None)) == []
