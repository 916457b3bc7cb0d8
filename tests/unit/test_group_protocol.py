"""KIP-848's consumer group protocol as a consumer setting (issue 23): the client gets no
classic-only settings, and what the new protocol refuses is refused before anything starts."""

from __future__ import annotations

from typing import Any

import pytest

from kafkadrill.scenario import Scenario
from kafkadrill.scenario.errors import ScenarioError
from kafkadrill.workload.consumer import ConsumerSpec


def _spec(**extra: Any) -> ConsumerSpec:
    return ConsumerSpec("g-0", "g", "primary", "orders", "east", extra=extra)


def test_classic_keeps_the_drill_session_settings() -> None:
    conf = _spec().client_config("b:1")
    assert conf["session.timeout.ms"] == 10000 and conf["heartbeat.interval.ms"] == 3000


def test_the_consumer_protocol_leaves_session_settings_to_the_broker() -> None:
    conf = _spec(**{"group.protocol": "consumer"}).client_config("b:1")
    assert conf["group.protocol"] == "consumer"
    assert "session.timeout.ms" not in conf and "heartbeat.interval.ms" not in conf


def _scenario(config: dict[str, Any], kafka_version: str | None = None) -> Scenario:
    topology: dict[str, Any] = {"topics": [{"name": "orders"}]}
    if kafka_version:
        topology["kafka_version"] = kafka_version
    return Scenario.from_dict(
        {
            "name": "x",
            "topology": topology,
            "workload": {"consumers": [{"group": "g", "topic": "orders", "config": config}]},
        }
    )


def test_consumer_protocol_is_a_valid_scenario() -> None:
    _scenario({"group.protocol": "consumer"})


@pytest.mark.parametrize(
    ("config", "version", "field", "says"),
    [
        ({"group.protocol": "next"}, None, "config.group.protocol", "unknown group protocol"),
        (
            {"group.protocol": "consumer", "session.timeout.ms": "6000"},
            None,
            "config.session.timeout.ms",
            "group.consumer.session.timeout.ms",
        ),
        (
            {"group.protocol": "consumer", "partition.assignment.strategy": "range"},
            None,
            "config.partition.assignment.strategy",
            "cannot be set",
        ),
        ({"group.protocol": "consumer"}, "3.9.1", "config.group.protocol", "Kafka 4.0"),
    ],
)
def test_what_the_consumer_protocol_refuses_is_refused_first(
    config: dict[str, Any], version: str | None, field: str, says: str
) -> None:
    with pytest.raises(ScenarioError) as err:
        _scenario(config, version)
    text = str(err.value)
    assert f"workload.consumers[0].{field}" in text and says in text, text


def test_run_scoping_renames_the_group_a_coordinator_kill_names() -> None:
    from kafkadrill.isolation import scope_names

    data = {
        "topology": {"topics": [{"name": "orders"}]},
        "workload": {
            "producers": {"topic": "orders"},
            "consumers": [{"group": "billing", "topic": "orders"}],
        },
        "timeline": [
            {"fault": "coordinator.kill", "target": {"cluster": "primary", "group": "billing"}},
            {"fault": "leader.kill", "target": {"cluster": "primary", "topic": "orders"}},
        ],
    }
    scoped, _topics, groups = scope_names(data, "kd", "R1")
    assert groups == {"billing": "kd-r1-billing"}
    assert scoped["timeline"][0]["target"]["group"] == "kd-r1-billing"
    assert scoped["timeline"][1]["target"]["topic"] == "kd-r1-orders"
    assert scoped["workload"]["consumers"][0]["group"] == "kd-r1-billing"
