"""Scenario values Kafka, Toxiproxy or a person would misread are refused at validation, and
an error stays readable however many problems a file has."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

from kafkadrill.errors import ScenarioError
from kafkadrill.scenario import Scenario, load_scenario, located_problems

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"


def _err(tmp_path: Path, text: str) -> ScenarioError:
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    return info.value


def _topics(*names: str) -> str:
    rows = "".join(f"    - {{name: {n!r}}}\n" for n in names)
    first = names[0]
    return (
        f"name: x\ntopology:\n  topics:\n{rows}"
        f"workload:\n  producers: {{topic: {first!r}}}\n"
        f"  consumers: [{{group: g, topic: {first!r}}}]\n"
    )


# -- topic names Kafka refuses ----------------------------------------------------------------
@pytest.mark.parametrize("name", [".", "..", "a" * 250, "a/b", "ä"])
def test_topic_names_kafka_refuses_are_refused(tmp_path: Path, name: str) -> None:
    err = _err(tmp_path, _topics(name))
    assert err.field == "topology.topics[0].name"


def test_topic_names_colliding_on_dot_and_underscore_are_refused(tmp_path: Path) -> None:
    err = _err(tmp_path, _topics("a.b", "a_b"))
    assert err.field == "topology.topics[1].name"
    assert "collides with topic 'a.b'" in err.message and err.fix == "rename one of them"


def test_plain_distinct_topic_names_still_pass(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(_topics("a.b", "a-b", "..x"))
    assert load_scenario(p).name == "x"


# -- Toxiproxy proxy names become API paths -----------------------------------------------------
@pytest.mark.parametrize("name", ["../../reset", "a/b", "..", "x..y", " x", "a?b", "x\n"])
def test_unsafe_proxy_names_are_refused(tmp_path: Path, name: str) -> None:
    doc = yaml.safe_load((LIBRARY / "external-example.yaml").read_text())
    doc["external"]["toxiproxy"]["links"][0]["proxies"][0]["name"] = name
    err = _err(tmp_path, yaml.safe_dump(doc, sort_keys=False))
    assert err.field == "external.toxiproxy.links[0].proxies[0].name"
    assert "URL path" in err.message


def test_plain_proxy_names_pass() -> None:
    sc = load_scenario(LIBRARY / "external-example.yaml")
    assert sc.external is not None


# -- Kafka Connect connector names become REST paths ----------------------------------------------
@pytest.mark.parametrize(
    "name", ["../../x", "..", ".", "a/b", "a?b", "a#b", "a%2Fb", "a\\b", "a\x01b", "", "  ", " a"]
)
def test_unsafe_connector_names_are_refused(tmp_path: Path, name: str) -> None:
    doc = yaml.safe_load((LIBRARY / "external-example.yaml").read_text())
    doc["external"]["flows"][0]["connect"]["connectors"][1] = name
    err = _err(tmp_path, yaml.safe_dump(doc, sort_keys=False))
    assert err.field == "external.flows[0].connect.connectors[1]"
    assert "Kafka Connect REST URL path" in err.message and "GET /connectors" in err.message


@pytest.mark.parametrize("name", ["mm2-src", "primary->dr.MirrorSourceConnector", "my connector"])
def test_connector_names_connect_accepts_pass_and_are_quoted(name: str) -> None:
    from kafkadrill.runtimes.external.adapters.connect import ConnectAdapter
    from kafkadrill.runtimes.external.adapters.record import Recorder

    doc = yaml.safe_load((LIBRARY / "external-example.yaml").read_text())
    doc["external"]["flows"][0]["connect"]["connectors"] = [name]
    doc["external"]["flows"][0]["connect"]["headers"] = {}
    sc = Scenario.from_dict(doc)
    assert sc.external is not None and sc.external.flows[0].connect is not None
    adapter = ConnectAdapter(sc.external.flows[0].connect, "primary->dr", Recorder())
    paths: list[str] = []

    def call(method: str, path: str, operation: str, record: bool = True) -> tuple[int, Any]:
        paths.append(f"{method} {path}")
        return 200, {"connector": {"state": "PAUSED"}, "tasks": []}

    adapter.call = call  # type: ignore[method-assign]
    adapter.pause(timeout=0)
    one = urllib.parse.quote(name, safe="")
    assert paths[0] == f"PUT /connectors/{one}/pause"
    assert paths[1] == f"GET /connectors/{one}/status"
    assert "/" not in one and " " not in one


# -- a bounded error message ----------------------------------------------------------------------
def test_hundreds_of_overlapping_entries_give_a_short_summarised_error(tmp_path: Path) -> None:
    entry = "  - {at: 10, fault: node.kill, target: {cluster: primary, node: 1}, duration: 5}\n"
    err = _err(tmp_path, "name: x\ntimeline:\n" + entry * 200)
    # Before: 19,900 pairwise overlaps in a 4.8 MB message.
    assert len(str(err)) < 20_000
    assert "and 19880 more problem(s), not listed" in str(err)
    assert len(located_problems(err)) == 21


# -- unquoted numbers where a string is meant -----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "field", "became"),
    [
        ("topology: {kafka_version: 4.10}", "topology.kafka_version", "4.1"),
        ("workload: {producers: {config: {client.id: 007}}}", "client.id", "7"),
        ("topology: {broker_config: {log.retention.ms: 1_000}}", "log.retention.ms", "1000"),
        ("topology: {broker_config: {log.retention.ms: 1.0e+3}}", "log.retention.ms", "1000.0"),
    ],
)
def test_unquoted_numbers_that_change_meaning_are_refused(
    tmp_path: Path, text: str, field: str, became: str
) -> None:
    err = _err(tmp_path, f"name: x\n{text}\n")
    assert err.field is not None and err.field.endswith(field)
    assert f"would become '{became}'" in err.message and "(line 2)" in err.message
    assert err.fix is not None and err.fix.startswith("quote it")
    assert err.file is not None and err.file.endswith("s.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "topology: {kafka_version: 4.1}",
        'topology: {kafka_version: "4.10"}',
        "topology: {broker_config: {log.retention.ms: 60000}}",
        "duration_seconds: 40.50",  # a number where a number is meant stays fine
    ],
)
def test_numbers_that_read_back_the_same_or_are_quoted_pass(tmp_path: Path, text: str) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(f"name: x\n{text}\n")
    assert load_scenario(p).name == "x"


def test_a_set_override_drops_the_number_it_replaces(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("name: x\ntopology: {kafka_version: 4.10}\n")
    sc = load_scenario(p, {"topology.kafka_version": '"4.1"'})
    assert sc.topology.kafka_version == "4.1"
