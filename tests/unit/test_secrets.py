"""One secret policy (kafkadrill.secrets): distinctive secrets planted in every config place a
scenario allows never reach scenario.yaml, a ScenarioError text or a scrubbed run directory."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

import kafkadrill.report.redact as report_redact
import kafkadrill.scenario as scenario_mod
from kafkadrill import secrets
from kafkadrill.errors import ScenarioError
from kafkadrill.report.redact import declared_secrets, scrub_run_dir
from kafkadrill.runtimes.shared import config as cfg
from kafkadrill.runtimes.shared.ports import plan_ports
from kafkadrill.scenario import Scenario, load_scenario
from kafkadrill.scenario.compile import compile_plan
from kafkadrill.secrets import (
    REDACTED,
    find_secrets,
    find_secrets_in_text,
    is_secret_key,
    redact,
    redact_text,
    scrub,
)

PEM_BODY = "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wPlantedPemBody0042"
PEM = f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----\n"

# Every value is distinctive: a hit anywhere is a leak, never a coincidence.
PLANTED = {
    "broker-jaas": "Pl4nted-broker-jaas-01",
    "broker-keypw": "Pl4nted-broker-keypw-02",
    "cluster-primary": "Pl4nted-cluster-primary-03",
    "cluster-dr": "Pl4nted-cluster-dr-04",
    "topic": "Pl4nted-topic-secret-05",
    "mm2-jaas": "Pl4nted-mm2-jaas-06",
    "mm2-flow": "Pl4nted-mm2-flow-07",
    "mm2-basic": "Pl4nted-mm2-basic-08",
    "producer-sasl": "Pl4nted-producer-sasl-09",
    "producer-url": "Pl4nted-producer-url-10",
    "producer-basic": "Pl4nted-producer-basic-11",
    "consumer-secret": "Pl4nted-consumer-secret-12",
    "consumer-apikey": "Pl4nted-consumer-apikey-13",
    "consumer-passwd": "Pl4nted-consumer-passwd-14",
    "consumer-token": "Pl4nted-consumer-token-15",
    "pem": PEM_BODY,
}
P = PLANTED


def planted_scenario_data() -> dict[str, Any]:
    return {
        "name": "secret-drill",
        "description": "schemas at https://reader:" + P["producer-url"] + "@registry.local/",
        "duration_seconds": 30,
        "topology": {
            "broker_config": {
                "listener.name.client.plain.sasl.jaas.config": (
                    "org.apache.kafka.common.security.plain.PlainLoginModule required "
                    f'username="admin" password="{P["broker-jaas"]}";'
                ),
                "ssl.key.password": P["broker-keypw"],
            },
            "cluster_config": {
                "primary": {"ssl.keystore.password": P["cluster-primary"]},
                "dr": {"ssl.truststore.password": P["cluster-dr"]},
            },
            "topics": [
                {
                    "name": "orders",
                    "replication_factor": 3,
                    "config": {"min.insync.replicas": 2, "kafkadrill.secret": P["topic"]},
                }
            ],
            "mm2": {
                "primary.sasl.jaas.config": (
                    "org.apache.kafka.common.security.scram.ScramLoginModule required "
                    f'username="mm2" password="{P["mm2-jaas"]}";'
                ),
                "primary->dr.producer.override.ssl.key.password": P["mm2-flow"],
                "dr.basic.auth.user.info": f"mm2:{P['mm2-basic']}",
                "dr.ssl.keystore.key": PEM,
            },
        },
        "workload": {
            "producers": {
                "config": {
                    "sasl.password": P["producer-sasl"],
                    "schema.registry.url": f"https://svc:{P['producer-url']}@registry.local:8081",
                    "basic.auth.user.info": f"svc:{P['producer-basic']}",
                }
            },
            "consumers": [
                {
                    "group": "billing",
                    "config": {
                        "sasl.oauthbearer.client.secret": P["consumer-secret"],
                        "schema.registry.api.key": P["consumer-apikey"],
                        "db.passwd": P["consumer-passwd"],
                        "sasl.oauthbearer.token": P["consumer-token"],
                    },
                }
            ],
        },
    }


def leaks(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [name for name, value in PLANTED.items() if value.encode() in data]


# -- the policy -----------------------------------------------------------------------------


def test_one_policy_for_the_whole_product() -> None:
    assert scenario_mod.redact is secrets.redact
    assert report_redact.redact is secrets.redact
    assert report_redact.find_secrets is secrets.find_secrets
    assert report_redact.SECRET_KEY_RE is secrets.SECRET_KEY_RE


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "ssl.key.password",
        "db.passwd",
        "DB_PWD",
        "client.secret",
        "api.secret",
        "sasl.jaas.config",
        "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config",
        "primary.sasl.jaas.config",
        "primary->dr.producer.ssl.key.password",
        "primary->dr.xxx.password",
        "basic.auth.user.info",
        "schema.registry.basic.auth.user.info",
        "api.key",
        "API_KEY",
        "confluent.apikey",
        "bearer.auth.token",
        "ssl.keystore.key",
        "ssl.key.pem",
        "private.key",
        "aws.credentials",
        "KafkaClient.jaas",
    ],
)
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "bootstrap.servers",
        "key.serializer",
        "min.insync.replicas",
        "ssl.keystore.location",
        "ssl.key.location",
        "client.id",
        "acks",
        "partitioner",
        "primary->dr.enabled",
    ],
)
def test_ordinary_keys(key: str) -> None:
    assert not is_secret_key(key)


def test_secret_shapes_under_ordinary_keys() -> None:
    data = {
        "url": "https://user:" + P["producer-url"] + "@host:8081/x",
        "note": f"key {PEM}",
        "conn": f'Login required username="u" password="{P["mm2-jaas"]}";',
    }
    assert {P["producer-url"], P["mm2-jaas"], PEM_BODY} <= find_secrets(data)
    red = redact(data)
    assert not leaks(orjson.dumps(red))
    assert red["url"] == f"https://user:{REDACTED}@host:8081/x", "the user name is no secret"


def test_basic_auth_password_part_is_hunted_alone() -> None:
    found = find_secrets({"basic.auth.user.info": f"svc:{P['producer-basic']}"})
    assert P["producer-basic"] in found  # a log may print the password part only


def test_properties_text_with_mm2_prefixes_and_pem() -> None:
    text = cfg.render_properties(planted_scenario_data()["topology"]["mm2"])
    found = find_secrets_in_text(text)
    assert {P["mm2-jaas"], P["mm2-flow"], P["mm2-basic"], PEM_BODY} <= found
    out = redact_text(text)
    assert not leaks(out)
    assert "primary->dr.producer.override.ssl.key.password=" + REDACTED in out


def test_plain_values_are_left_alone() -> None:
    text = "bootstrap.servers=127.0.0.1:9092\nlisteners=CLIENT://127.0.0.1:9092\nacks=all\n"
    assert redact_text(text) == text and find_secrets_in_text(text) == set()
    assert redact({"a": None, "password": None, "token.ttl": True}) == {
        "a": None,
        "password": None,
        "token.ttl": True,
    }


def test_plain_numbers_are_redacted_by_key_but_not_hunted(tmp_path: Path) -> None:
    # A number under a secret-looking key must not be replaced inside offsets and timestamps.
    cfg_ = {"delegation.token.expiry.time.ms": "86400000", "ssl.key.password": "k3y-pass-1"}
    assert find_secrets(cfg_) == {"k3y-pass-1"}
    assert redact(cfg_)["delegation.token.expiry.time.ms"] == REDACTED
    (tmp_path / "history.jsonl").write_text('{"offset": 1786400000123, "note": "k3y-pass-1"}\n')
    scrub_run_dir(tmp_path, find_secrets(cfg_))
    line = orjson.loads((tmp_path / "history.jsonl").read_bytes())
    assert line == {"offset": 1786400000123, "note": REDACTED}


def test_scrub_replaces_known_values_in_any_string() -> None:
    report = {"error": f"KafkaException: auth failed for {P['producer-sasl']}", "n": 3}
    out = scrub(report, {P["producer-sasl"]})
    assert out == {"error": f"KafkaException: auth failed for {REDACTED}", "n": 3}


# -- scenario.yaml and ScenarioError texts --------------------------------------------------


def test_every_planted_value_is_found_in_the_scenario() -> None:
    s = Scenario.from_dict(planted_scenario_data())
    found = set(compile_plan(s).secrets)
    missing = [name for name, value in PLANTED.items() if value not in found]
    assert not missing, missing


def test_resolved_scenario_yaml_holds_no_secret(tmp_path: Path) -> None:
    s = Scenario.from_dict(planted_scenario_data())
    text = s.resolved_yaml()
    assert not leaks(text), leaks(text)
    assert REDACTED in text
    # Still loads (kafkadrill check reads it back) and to the same drill.
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    again = load_scenario(path)
    assert again.schedule() == s.schedule() and again.objectives == s.objectives


def _config_places() -> list[tuple[str, str]]:
    # (override path of a config map, a secret-looking key in it)
    return [
        ("topology.broker_config", "ssl.key.password"),
        ("topology.cluster_config.primary", "ssl.keystore.password"),
        ("topology.cluster_config.dr", "ssl.truststore.password"),
        ("topology.topics[0].config", "kafkadrill.secret"),
        ("topology.mm2", "primary.sasl.jaas.config"),
        ("topology.mm2", "primary->dr.producer.override.ssl.key.password"),
        ("workload.producers.config", "basic.auth.user.info"),
        ("workload.consumers[0].config", "sasl.oauthbearer.client.secret"),
    ]


@pytest.mark.parametrize(("place", "key"), _config_places())
def test_scenario_errors_never_echo_a_secret(place: str, key: str) -> None:
    value = "Pl4nted-in-error-99"
    for bad in ([value], {"nested": value}):  # a wrong type makes pydantic show the input
        with pytest.raises(ScenarioError) as info:
            Scenario.from_dict(planted_scenario_data(), overrides={f"{place}.{key}": bad})
        text = str(info.value)
        assert place.split("[")[0].split(".")[0] in text  # the field is still named
        assert value not in text and not leaks(text), text


def test_secret_shaped_value_in_an_ordinary_field_is_not_echoed() -> None:
    url = "https://u:" + P["producer-url"] + "@registry.local"
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(planted_scenario_data(), overrides={"workload.producers.acks": url})
    assert "workload.producers.acks" in str(info.value) and not leaks(str(info.value))


def test_yaml_file_errors_do_not_echo_secrets(tmp_path: Path) -> None:
    import yaml

    data = planted_scenario_data()
    data["workload"]["producers"]["acks"] = 2  # make the file invalid
    data["workload"]["producers"]["linger_ms"] = P["producer-sasl"]  # echoed as "got ..."
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    assert "workload.producers.acks" in text and "workload.producers.linger_ms" in text
    assert not leaks(text), text


# -- a run directory --------------------------------------------------------------------------


def fake_run_dir(tmp_path: Path, s: Scenario) -> Path:
    """A run directory as a drill leaves it before the scrub: the topology's .properties hold the
    raw values, logs echo configs, the report and history carry an error text with a secret."""
    run = tmp_path / "reports" / s.name / "20260101T000000Z"
    (run / "logs" / "primary-n1").mkdir(parents=True)
    (run / "scenario.yaml").write_text(s.resolved_yaml())
    topo = s.to_topology()
    plan = plan_ports(topo, 20000)
    for c in topo.clusters:
        node = c.nodes[0]
        d = run / "config" / f"{c.name}-n{node.node_id}"
        d.mkdir(parents=True)
        (d / "server.properties").write_text(
            cfg.render_server_properties(topo, c, node, plan, str(tmp_path / "data"))
        )
    mm2_dir = run / "config" / "mm2-primary-dr"
    mm2_dir.mkdir(parents=True)
    mm2 = cfg.render_mm2_properties(topo, topo.flows, plan, "west")
    (mm2_dir / "mm2.properties").write_text(mm2)
    producer_cfg = dict(s.workload.producers.config)
    consumer_cfg = dict(s.workload.consumers[0].config)
    (run / "logs" / "clients.log").write_text(
        f"2026-01-01 INFO producer config {producer_cfg}\n"
        f"2026-01-01 INFO consumer config {consumer_cfg}\n"
        f"2026-01-01 ERROR auth failed with {P['producer-basic']} on schema registry\n"
        f"2026-01-01 ERROR mm2 said {P['mm2-flow']}\n"
    )
    (run / "logs" / "primary-n1" / "server.log").write_text(
        "[2026] INFO KafkaConfig values:\n"
        f"\tssl.key.password = {P['broker-keypw']}\n"
        f'\tlistener.name.client.plain.sasl.jaas.config = password="{P["broker-jaas"]}";\n'
        f"\tsomething echoed {P['cluster-primary']}\n"
    )
    error = f"KafkaException: SASL authentication failed using {P['producer-sasl']}"
    report = {
        "scenario": s.name,
        "verdict": "UNKNOWN",
        "error": error,
        "faults": [{"params": {"note": f"token={P['consumer-token']}"}}],
    }
    (run / "report.json").write_bytes(orjson.dumps(report))
    (run / "report.md").write_text(f"# Drill\n\nerror: {error}\n\nconsumer {consumer_cfg}\n")
    (run / "report.html").write_text(f"<html><body><p>{error}</p><pre>{mm2}</pre></body></html>")
    env = {
        "nodes": {"primary-n1": {"server.properties": (run / "config" / "primary-n1").name}},
        "mm2": {"primary->dr": mm2},
        "topics": {"primary": {"orders": {"configs": dict(s.topology.topics[0].config)}}},
    }
    (run / "environment.json").write_bytes(orjson.dumps(env))
    events = [
        {"type": "run.start", "seq": 0},
        {"type": "client.error", "seq": 1, "detail": error},
        {"type": "run.end", "seq": 2, "status": "error", "error": error},
    ]
    (run / "history.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    (run / "history.old.jsonl.gz").write_bytes(gzip.compress((run / "history.jsonl").read_bytes()))
    return run


def all_files(run: Path) -> dict[str, bytes]:
    out = {}
    for p in run.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            out[p.relative_to(run).as_posix()] = (
                gzip.decompress(data) if p.suffix == ".gz" else data
            )
    return out


def test_scrubbed_run_dir_holds_no_planted_secret(tmp_path: Path) -> None:
    s = Scenario.from_dict(planted_scenario_data())
    run = fake_run_dir(tmp_path, s)
    before = {name: leaks(data) for name, data in all_files(run).items()}
    # The fake is realistic: the topology's files and the logs hold raw values before the scrub.
    assert before["config/mm2-primary-dr/mm2.properties"]
    assert before["config/primary-n1/server.properties"] and before["logs/clients.log"]
    scrub_run_dir(run, set(compile_plan(s).secrets))
    after = {name: leaks(data) for name, data in all_files(run).items()}
    assert not any(after.values()), {k: v for k, v in after.items() if v}
    files = all_files(run)
    # Evidence and structure survive the scrub.
    orjson.loads(files["report.json"])
    orjson.loads(files["environment.json"])
    assert all(orjson.loads(line) for line in files["history.jsonl"].splitlines())
    assert b"bootstrap.servers=" in files["config/mm2-primary-dr/mm2.properties"]
    assert b"process.roles=" in files["config/primary-n1/server.properties"]


def test_scrub_hunts_values_declared_in_properties_without_being_told(tmp_path: Path) -> None:
    # Even a caller that knows no secret (e.g. the fallback scrub after a render error) cleans
    # the logs of what the run's own .properties files declare.
    s = Scenario.from_dict(planted_scenario_data())
    run = fake_run_dir(tmp_path, s)
    declared = declared_secrets(run)
    assert {P["mm2-flow"], P["broker-keypw"], P["cluster-primary"]} <= declared
    scrub_run_dir(run, ())
    for name in ("logs/clients.log", "logs/primary-n1/server.log"):
        data = all_files(run)[name]
        assert P["mm2-flow"].encode() not in data and P["broker-keypw"].encode() not in data
