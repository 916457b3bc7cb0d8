"""Scenario loading: every kind of bad input is rejected with file, field and the valid options."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from kafkadrill.errors import ScenarioError
from kafkadrill.faults.catalog import FAULT_TYPES
from kafkadrill.scenario import (
    ANOMALIES,
    REDACTED,
    Scenario,
    ScenarioValidationError,
    apply_overrides,
    load_scenario,
    redact,
    scenario_json_schema,
)

BASE = """\
name: test-drill
duration_seconds: 60
topology:
  nodes: {primary: 3, dr: 3}
  topics:
    - {name: orders, partitions: 3, replication_factor: 3, config: {min.insync.replicas: "2"}}
"""


def write(tmp_path: Path, text: str, name: str = "drill.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def with_timeline(*entries: str) -> str:
    return BASE + "timeline:\n" + "".join(f"  - {e}\n" for e in entries)


def load_err(tmp_path: Path, text: str, **kw: Any) -> ScenarioError:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kw)
    err = info.value
    assert str(path) in str(err), "the error must name the file"
    return err


# -- happy path -------------------------------------------------------------------------------


def test_minimal_scenario_gets_defaults(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "name: tiny\n"))
    assert s.duration_seconds == 60 and s.warmup_seconds == 5
    assert s.workload.producers.acks == "all" and s.workload.producers.enable_idempotence is True
    assert [t.name for t in s.topology.topics] == ["orders"]
    assert s.topology.topics[0].config == {"min.insync.replicas": "2"}
    # max_skipped is 0 by default, but without a consumer group there is nothing to skip.
    assert s.objectives.max_lost == 0 and s.objectives.max_skipped is None
    assert s.timeline == [] and s.schedule() == []
    assert s.source == str(tmp_path / "drill.yaml")


def test_seed_is_derived_from_name_and_stable(tmp_path: Path) -> None:
    a = load_scenario(write(tmp_path, "name: tiny\n", "a.yaml"))
    b = load_scenario(write(tmp_path, "name: tiny\n", "b.yaml"))
    c = load_scenario(write(tmp_path, "name: other\n", "c.yaml"))
    assert a.seed == b.seed != c.seed
    assert isinstance(a.seed, int) and a.seed >= 0


def test_full_example_loads(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            """\
        name: broker-loss
        seed: 42
        duration_seconds: 60
        topology:
          kafka_version: 3.9
          nodes: {primary: 3, dr: 3}
          azs: {primary: [east-a, east-b, east-c]}
          broker_config: {auto.create.topics.enable: false}
          cluster_config: {dr: {num.io.threads: 4}}
          mm2: {offset.lag.max: 10}
        workload:
          producers: {count: 2, rate_per_second: null, acks: -1, linger_ms: 0}
          consumers: [{group: billing}]
        timeline:
          - {at: 10, fault: node.kill, target: {cluster: primary, node: 2}, duration: 20}
          - {random: {count: 2, faults: [node.pause, link.latency], between: [5, 50],
                      duration: [5, 10]}}
        runbooks:
          failover: {trigger: {at: 40}, from: primary, to: dr}
        objectives: {max_rto_seconds: 30}
        """,
        )
    )
    assert s.topology.kafka_version == "3.9"
    assert s.workload.producers.acks == "all"
    assert s.workload.producers.rate_per_second is None
    assert s.topology.broker_config == {"auto.create.topics.enable": "false"}
    assert s.runbooks.failover is not None and s.runbooks.failover.from_cluster == "primary"
    assert len(s.schedule()) == 3
    assert s.failover_watch_at() == 40


def test_to_topology(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            """\
        name: topo
        topology:
          nodes: {primary: 3, dr: 1}
          azs: {primary: [east-a, east-b]}
          broker_config: {num.network.threads: 3}
          cluster_config: {dr: {num.network.threads: 2}}
          topics: [{name: orders, partitions: 6, replication_factor: 1,
                    config: {min.insync.replicas: 1}}]
          mm2: {offset.lag.max: 5}
        """,
        )
    )
    t = s.to_topology()
    assert t.name == "topo"
    primary, dr = t.cluster("primary"), t.cluster("dr")
    assert [n.site for n in primary.nodes] == ["east-a", "east-b", "east-a"]
    assert [n.site for n in dr.nodes] == ["west"]
    assert primary.broker_config == {"num.network.threads": "3"}
    assert dr.broker_config == {"num.network.threads": "2"}
    assert primary.topics[0].partitions == 6
    assert primary.topics[0].config == {"min.insync.replicas": "1"}
    assert t.flows[0].name == "primary->dr" and t.flows[0].properties == {"offset.lag.max": "5"}
    assert "east-a<->east-b" in [lk.name for lk in t.links]


# -- unknown fault / target -------------------------------------------------------------------


def test_unknown_fault_type_lists_known_types(tmp_path: Path) -> None:
    err = load_err(
        tmp_path,
        with_timeline(
            "{at: 10, fault: node.kil, target: {cluster: primary, node: 2}, duration: 5}"
        ),
    )
    text = str(err)
    assert "timeline[0].fault" in text
    assert "did you mean 'node.kill'" in text
    for name in FAULT_TYPES:
        assert name in text


@pytest.mark.parametrize(
    ("entry", "field", "valid"),
    [
        (
            "{at: 1, fault: node.kill, target: {cluster: primay, node: 2}, duration: 5}",
            "timeline[0].target.cluster",
            ["did you mean 'primary'", "primary, dr"],
        ),
        (
            "{at: 1, fault: node.kill, target: {cluster: primary, node: 9}, duration: 5}",
            "timeline[0].target.node",
            ["no node 9", "1, 2, 3"],
        ),
        (
            "{at: 1, fault: link.cut, target: {link: 'east<->north'}, duration: 5}",
            "timeline[0].target.link",
            ["east<->west"],
        ),
        (
            "{at: 1, fault: link.cut, target: {link: 'east<->west', direction: 'east->dr'},"
            " duration: 5}",
            "timeline[0].target.direction",
            ["both, east->west, west->east"],
        ),
        (
            "{at: 1, fault: region.outage, target: {region: eats}, duration: 5}",
            "timeline[0].target.region",
            ["did you mean 'east'", "east, west"],
        ),
        (
            "{at: 1, fault: mm2.kill, target: {flow: 'dr->primary'}, duration: 5}",
            "timeline[0].target.flow",
            ["primary->dr"],
        ),
        (
            "{at: 1, fault: leader.kill, target: {cluster: primary, topic: order}, duration: 5}",
            "timeline[0].target.topic",
            ["did you mean 'orders'"],
        ),
        (
            "{at: 1, fault: leader.kill, target: {cluster: primary, topic: orders, partition: 3},"
            " duration: 5}",
            "timeline[0].target.partition",
            ["0..2"],
        ),
        (
            "{at: 1, fault: az.partition, target: {cluster: primary, az: east-a}, duration: 5}",
            "timeline[0].target.cluster",
            ["single AZ", "topology.azs.primary"],
        ),
        (
            "{at: 1, fault: node.kill, target: {cluster: primary}, duration: 5}",
            "timeline[0].target.node",
            ["required", "cluster, node"],
        ),
        (
            "{at: 1, fault: node.kill, target: {cluster: primary, node: 1, nod: 2}, duration: 5}",
            "timeline[0].target.nod",
            ["did you mean 'node'", "cluster, node"],
        ),
        (
            "{at: 1, fault: link.latency, target: {link: 'east<->west', latency_ms: 5},"
            " duration: 5}",
            "timeline[0].target.latency_ms",
            ["belongs under params"],
        ),
    ],
)
def test_unknown_target_names_valid_options(
    tmp_path: Path, entry: str, field: str, valid: list[str]
) -> None:
    err = load_err(tmp_path, with_timeline(entry))
    assert field in str(err)
    for v in valid:
        assert v in str(err)


def test_unknown_az_in_multi_az_cluster(tmp_path: Path) -> None:
    text = BASE.replace("  topics:", "  azs: {primary: [east-a, east-b, east-c]}\n  topics:")
    err = load_err(
        tmp_path,
        text + "timeline:\n  - {at: 1, fault: az.partition, "
        "target: {cluster: primary, az: east-d}, duration: 5}\n",
    )
    assert "timeline[0].target.az" in str(err)
    assert "east-a, east-b, east-c" in str(err)


def test_reversed_link_name_is_accepted_and_normalized(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            with_timeline(
                "{at: 1, fault: link.cut, target: {link: 'west<->east', direction: 'west->east'},"
                " duration: 5}"
            ),
        )
    )
    assert s.schedule()[0].params["link"] == "east<->west"


# -- sizes --------------------------------------------------------------------------------------


def test_rf_larger_than_cluster(tmp_path: Path) -> None:
    err = load_err(tmp_path, BASE.replace("replication_factor: 3", "replication_factor: 5"))
    assert err.field == "topology.topics[0].replication_factor"
    assert "larger than cluster 'primary' (3 nodes)" in str(err)
    assert "replication_factor <= 3" in str(err)


def test_min_insync_larger_than_rf(tmp_path: Path) -> None:
    err = load_err(tmp_path, BASE.replace('min.insync.replicas: "2"', "min.insync.replicas: 4"))
    assert "topology.topics[0].config.min.insync.replicas" in str(err)
    assert "min.insync.replicas <= 3" in str(err)


def test_broker_level_replication_factor_checked(tmp_path: Path) -> None:
    err = load_err(
        tmp_path,
        "name: x\ntopology:\n  nodes: {primary: 1, dr: 1}\n"
        "  broker_config: {offsets.topic.replication.factor: 3}\n",
    )
    assert "topology.broker_config.offsets.topic.replication.factor" in str(err)


# -- times --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            with_timeline(
                "{at: -1, fault: node.kill, target: {cluster: primary, node: 1}, duration: 5}"
            ),
            "timeline[0].at",
        ),
        (
            with_timeline(
                "{at: 1, fault: node.kill, target: {cluster: primary, node: 1}, duration: -5}"
            ),
            "timeline[0].duration",
        ),
        (BASE.replace("duration_seconds: 60", "duration_seconds: -3"), "duration_seconds"),
        (BASE + "warmup_seconds: -1\n", "warmup_seconds"),
    ],
)
def test_negative_times(tmp_path: Path, text: str, field: str) -> None:
    err = load_err(tmp_path, text)
    assert field in str(err)
    assert "greater than" in str(err)


def test_overlapping_faults_on_same_target(tmp_path: Path) -> None:
    err = load_err(
        tmp_path,
        with_timeline(
            "{at: 10, fault: node.kill, target: {cluster: primary, node: 2}, duration: 20}",
            "{at: 20, fault: node.pause, target: {cluster: primary, node: 2}, duration: 5}",
        ),
    )
    assert "timeline[1]" in str(err)
    assert "overlaps timeline[0]" in str(err) and "node:primary/2" in str(err)


def test_region_outage_overlaps_nodes_in_region(tmp_path: Path) -> None:
    err = load_err(
        tmp_path,
        with_timeline(
            "{at: 10, fault: region.outage, target: {region: east}, duration: 20}",
            "{at: 20, fault: node.kill, target: {cluster: primary, node: 1}, duration: 5}",
        ),
    )
    assert "overlaps timeline[0]" in str(err)


def test_non_overlapping_faults_are_fine(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            with_timeline(
                "{at: 10, fault: node.kill, target: {cluster: primary, node: 2}, duration: 10}",
                "{at: 20, fault: node.kill, target: {cluster: primary, node: 2}, duration: 5}",
                "{at: 12, fault: node.kill, target: {cluster: primary, node: 3}, duration: 5}",
                "{at: 10, fault: link.latency, target: {link: 'east<->west'}, duration: 10}",
                "{at: 10, fault: link.bandwidth, target: {link: 'east<->west'}, duration: 10}",
            ),
        )
    )
    assert [f.at for f in s.schedule()] == [10, 10, 10, 12, 20]


def test_fault_ending_after_duration(tmp_path: Path) -> None:
    err = load_err(
        tmp_path,
        with_timeline(
            "{at: 50, fault: node.kill, target: {cluster: primary, node: 2}, duration: 20}"
        ),
    )
    assert err.field == "timeline[0].duration"
    assert "ends at 70 s, after duration_seconds (60)" in str(err)
    assert "duration <= 10" in str(err)


def test_open_ended_fault_lasts_until_phase_end(tmp_path: Path) -> None:
    s = load_scenario(
        write(tmp_path, with_timeline("{at: 50, fault: region.outage, target: {region: east}}"))
    )
    (f,) = s.schedule()
    assert (f.at, f.duration, f.open_ended) == (50, 10, True)


# -- runbooks -----------------------------------------------------------------------------------


def test_runbook_time_beyond_duration(tmp_path: Path) -> None:
    err = load_err(tmp_path, BASE + "runbooks:\n  failover: {trigger: {at: 70}}\n")
    assert "runbooks.failover.trigger.at" in str(err)
    assert "duration_seconds (60)" in str(err)
    err = load_err(
        tmp_path, BASE + "runbooks:\n  failover: {trigger: {at: 10}}\n  failback: {at: 90}\n"
    )
    assert "runbooks.failback.at" in str(err)


def test_failback_needs_failover(tmp_path: Path) -> None:
    err = load_err(tmp_path, BASE + "runbooks:\n  failback: {at: 30}\n")
    assert "runbooks.failback" in str(err) and "needs a failover" in str(err)


def test_failback_before_region_heals(tmp_path: Path) -> None:
    err = load_err(
        tmp_path,
        with_timeline("{at: 10, fault: region.outage, target: {region: east}, duration: 30}")
        + "runbooks:\n  failover: {trigger: {on_fault: region.outage}}\n"
        "  failback: {at: 35}\n",
    )
    assert "runbooks.failback.at" in str(err) and "heals at 40" in str(err)


@pytest.mark.parametrize(
    ("trigger", "expect"),
    [
        ("{on_fault: region.outag}", "did you mean 'region.outage'"),
        ("{on_fault: 3}", "no timeline entry 3"),
        ("{on_fault: node.kill}", "no node.kill fault in the timeline"),
        ("{at: 5, on_fault: 0}", "exactly one of 'at'"),
        ("{}", "exactly one of 'at'"),
    ],
)
def test_bad_failover_trigger(tmp_path: Path, trigger: str, expect: str) -> None:
    err = load_err(
        tmp_path,
        with_timeline("{at: 10, fault: region.outage, target: {region: east}, duration: 30}")
        + f"runbooks:\n  failover: {{trigger: {trigger}}}\n",
    )
    assert "runbooks.failover.trigger" in str(err)
    assert expect in str(err)


def test_failover_on_fault_resolves_time(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            with_timeline(
                "{at: 10, fault: node.kill, target: {cluster: primary, node: 1}, duration: 5}",
                "{at: 20, fault: region.outage, target: {region: east}, duration: 30}",
            )
            + "runbooks:\n  failover: {trigger: {on_fault: region.outage}}\n",
        )
    )
    assert s.failover_watch_at() == 20


def test_failover_unknown_cluster(tmp_path: Path) -> None:
    err = load_err(tmp_path, BASE + "runbooks:\n  failover: {trigger: {at: 5}, to: dr2}\n")
    assert "runbooks.failover.to" in str(err) and "did you mean 'dr'" in str(err)


# -- typos, YAML, files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "suggestion"),
    [
        ("name: x\nduraton_seconds: 60\n", "duraton_seconds", "duration_seconds"),
        ("name: x\ntopology:\n  node: {primary: 3}\n", "topology.node", "nodes"),
        ("name: x\nworkload:\n  producers: {ack: all}\n", "workload.producers.ack", "acks"),
        ("name: x\nobjectives: {max_lst: 0}\n", "objectives.max_lst", "max_lost"),
        (
            with_timeline(
                "{at: 1, fault: node.kill, target: {cluster: primary, node: 1}, duratin: 5}"
            ),
            "timeline[0].duratin",
            "duration",
        ),
        (
            with_timeline("{random: {count: 1, faults: [node.kill], duraton: [1, 2]}}"),
            "timeline[0].random.duraton",
            "duration",
        ),
    ],
)
def test_typo_in_key_suggests(tmp_path: Path, text: str, field: str, suggestion: str) -> None:
    err = load_err(tmp_path, text)
    assert field in str(err)
    assert f"did you mean '{suggestion}'" in str(err)
    assert "valid keys:" in str(err)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    err = load_err(
        tmp_path,
        "name: x\nduration_seconds: 60\ntopology:\n  nodes: {primary: 3\nwarmup_seconds: 5\n",
    )
    assert "invalid YAML at line 5" in str(err)
    assert "started at line 4" in str(err)  # the unclosed '{' is where the mistake is
    err = load_err(tmp_path, "name: x\n  bad: indent\n")
    assert "line 2" in str(err)


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    err = load_err(tmp_path, "name: x\nseed: 1\nseed: 2\n")
    assert "duplicate key 'seed' at line 3 (first at line 2)" in str(err)


def test_missing_file_lists_neighbours(tmp_path: Path) -> None:
    write(tmp_path, "name: x\n", "broker-loss.yaml")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "broker-los.yaml")
    text = str(info.value)
    assert "not found" in text and "broker-los.yaml" in text
    assert "did you mean 'broker-loss.yaml'" in text


@pytest.mark.parametrize(("text", "expect"), [("", "empty"), ("- a\n- b\n", "mapping")])
def test_empty_or_non_mapping(tmp_path: Path, text: str, expect: str) -> None:
    assert expect in str(load_err(tmp_path, text))


def test_error_names_line_of_bad_field(tmp_path: Path) -> None:
    err = load_err(
        tmp_path,
        with_timeline(
            "{at: 1, fault: node.kill, target: {cluster: primary, node: 1}, duration: 5}",
            "{at: 1, fault: node.kil, target: {cluster: primary, node: 1}, duration: 5}",
        ),
    )
    assert "(line 9)" in str(err)


def test_every_problem_is_listed_one_per_line(tmp_path: Path) -> None:
    err = load_err(
        tmp_path, "name: x\nduraton_seconds: 1\nwarmup_seconds: -1\nobjectives: {max_lst: 0}\n"
    )
    assert isinstance(err, ScenarioValidationError)
    assert len(err.problems) == 3
    lines = str(err).splitlines()
    assert "3 problems" in lines[0]
    assert [ln.split(" (")[0].strip("- ") for ln in lines[1:]] == [
        "duraton_seconds",
        "warmup_seconds",
        "objectives.max_lst",
    ]


def test_bad_name(tmp_path: Path) -> None:
    err = load_err(tmp_path, "name: Broker Loss\n")
    assert err.field == "name"


# -- workload and objectives ----------------------------------------------------------------------


def test_acks_normalised_and_idempotence_follows(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "name: x\nworkload:\n  producers: {acks: 1}\n"))
    assert s.workload.producers.acks == "1"
    assert s.workload.producers.enable_idempotence is False


def test_idempotence_with_acks_1_rejected(tmp_path: Path) -> None:
    err = load_err(
        tmp_path, "name: x\nworkload:\n  producers: {acks: 1, enable_idempotence: true}\n"
    )
    assert "workload.producers.enable_idempotence" in str(err)
    assert "enable_idempotence: false" in str(err)


def test_transactions_need_acks_all_and_idempotence(tmp_path: Path) -> None:
    s = load_scenario(
        write(tmp_path, "name: x\nworkload:\n  producers: {transactions: {size: 5}}\n")
    )
    t = s.workload.producers.transactions
    assert t is not None and (t.size, t.abort_ratio, t.timeout_ms) == (5, 0.0, 15000)
    # librdkafka refuses a message timeout above the transaction timeout: the default follows
    assert s.workload.producers.delivery_timeout_ms == 15000
    err = load_err(
        tmp_path,
        "name: x\nworkload:\n  producers: {delivery_timeout_ms: 30000, transactions: {}}\n",
    )
    assert "workload.producers.delivery_timeout_ms" in str(err) and "<=" in str(err)
    err = load_err(tmp_path, "name: x\nworkload:\n  producers: {acks: 1, transactions: {}}\n")
    assert "workload.producers" in str(err) and "acks: all" in str(err)
    err = load_err(
        tmp_path,
        "name: x\nworkload:\n  producers: {enable_idempotence: false, transactions: {}}\n",
    )
    assert "idempotence" in str(err)
    err = load_err(tmp_path, "name: x\nworkload:\n  producers: {transactions: {abort_ratio: 2}}\n")
    assert "workload.producers.transactions.abort_ratio" in str(err)


def test_feature_levels_reach_every_cluster_and_unknown_names_are_refused(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            "name: x\ntopology:\n  features: {transaction.version: 1, group.version: 0}\n",
        )
    )
    want = (("group.version", 0), ("transaction.version", 1))
    assert [c.features for c in s.to_topology().clusters] == [want, want]
    err = load_err(tmp_path, "name: x\ntopology:\n  features: {metadata.version: 20}\n")
    assert "topology.features" in str(err) and "transaction.version" in str(err)


def test_bad_acks_lists_valid(tmp_path: Path) -> None:
    err = load_err(tmp_path, "name: x\nworkload:\n  producers: {acks: 2}\n")
    assert "workload.producers.acks" in str(err) and "'all', '1' or '0'" in str(err)


def test_unknown_client_topic_and_site(tmp_path: Path) -> None:
    err = load_err(
        tmp_path,
        "name: x\nworkload:\n  producers: {topic: order, site: north}\n"
        "  consumers: [{group: g, cluster: dr, topic: orders}]\n",
    )
    text = str(err)
    assert "workload.producers.topic" in text and "did you mean 'orders'" in text
    assert "workload.producers.site" in text and "east" in text
    assert "workload.consumers[0].topic" in text and "primary.orders" in text


def test_expected_anomaly_contradicts_zero_limit(tmp_path: Path) -> None:
    err = load_err(tmp_path, "name: x\nobjectives: {max_lost: 0, expected_anomalies: [loss]}\n")
    assert "objectives.max_lost" in str(err) and "max_lost: null" in str(err)
    err = load_err(tmp_path, "name: x\nobjectives: {expected_anomalies: [los]}\n")
    assert "objectives.expected_anomalies[0]" in str(err) and "'loss'" in str(err)


def test_anomaly_names_are_checker_names() -> None:
    from kafkadrill.checkers import ANOMALY_NAMES, CHECKER_NAMES

    # Every checker that can FAIL; a measurement-only checker (replication) is no anomaly, nor
    # is clocks (it says whether times can be compared: PASS or UNKNOWN, never FAIL).
    assert set(ANOMALIES) == set(ANOMALY_NAMES) == set(CHECKER_NAMES) - {"replication", "clocks"}


# -- overrides ------------------------------------------------------------------------------------


def test_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        with_timeline(
            "{at: 10, fault: node.kill, target: {cluster: primary, node: 2}, duration: 20}"
        ),
    )
    s = load_scenario(
        path,
        {
            "workload.producers.acks": "1",
            "topology.kafka_version": "3.9.1",
            "topology.broker_config.min.insync.replicas": "1",
            "topology.topics[0].config.min.insync.replicas": "1",
            "timeline[0].at": "15",
            "objectives.max_lost": "null",
            "runbooks.failover.trigger.at": 30,
        },
    )
    assert s.workload.producers.acks == "1"
    assert s.topology.kafka_version == "3.9.1"
    assert s.topology.broker_config == {"min.insync.replicas": "1"}
    assert s.schedule()[0].at == 15
    assert s.objectives.max_lost is None
    assert s.failover_watch_at() == 30


@pytest.mark.parametrize(
    ("key", "expect"),
    [
        ("workload.producers.ack", "did you mean 'acks'"),
        ("topolgy.nodes.primary", "did you mean 'topology'"),
        ("timeline[5].at", "not an index"),
        ("name.x", "below a plain value"),
    ],
)
def test_bad_override_key(tmp_path: Path, key: str, expect: str) -> None:
    err = load_err(
        tmp_path,
        with_timeline(
            "{at: 10, fault: node.kill, target: {cluster: primary, node: 2}, duration: 20}"
        ),
        overrides={key: "1"},
    )
    assert key in str(err) and expect in str(err)


def test_override_random_params_with_dotted_fault_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE + "timeline:\n  - {random: {count: 2, faults: [link.latency], duration: [1, 2]}}\n",
    )
    s = load_scenario(path, {"timeline[0].random.params.link.latency.latency_ms": "300"})
    assert {f.params["latency_ms"] for f in s.schedule()} == {300}


def test_override_value_is_validated(tmp_path: Path) -> None:
    err = load_err(tmp_path, BASE, overrides={"topology.nodes.primary": "2"})
    assert "replication_factor 3 is larger than cluster 'primary' (2 nodes)" in str(err)


def test_apply_overrides_does_not_mutate() -> None:
    data: dict[str, Any] = {"name": "x", "workload": {"producers": {"acks": "all"}}}
    out = apply_overrides(data, {"workload.producers.acks": "0"})
    assert data["workload"]["producers"]["acks"] == "all"
    assert out["workload"]["producers"]["acks"] == 0


def test_override_keeps_text_where_the_schema_wants_text(tmp_path: Path) -> None:
    # YAML would read 4.10 as 4.1 and 007 as 7: the silent change a file is refused for.
    s = load_scenario(
        write(tmp_path, BASE + "workload:\n  consumers:\n    - {group: g1, topic: orders}\n"),
        {
            "topology.kafka_version": "4.10",
            "topology.broker_config.log.segment.bytes": "007",
            "topology.topics[0].config.retention.ms": "1e3",
            "topology.mm2.sync.topic.configs.interval.seconds": "4.10",
            "workload.producers.config.client.id": "007",
            "workload.consumers[0].config.group.instance.id": "true",
            "description": "  a # not a comment ",
            "workload.consumers[0].site": "null",  # an optional text field: null clears it
            "workload.producers.topic": '"orders"',  # a quoted YAML string loses its quotes
        },
    )
    t = s.topology
    assert t.kafka_version == "4.10"
    assert t.broker_config == {"log.segment.bytes": "007"}
    assert t.topics[0].config["retention.ms"] == "1e3"
    assert t.mm2["sync.topic.configs.interval.seconds"] == "4.10"
    assert s.workload.producers.config == {"client.id": "007"}
    assert s.workload.consumers[0].config == {"group.instance.id": "true"}
    assert s.description == "  a # not a comment "
    assert s.workload.consumers[0].site == "east"  # null = derived from its cluster
    assert s.workload.producers.topic == "orders"
    # The same through apply_overrides alone: the raw text, exactly.
    out = apply_overrides({"name": "x"}, {"topology.kafka_version": "4.10", "seed": "007"})
    assert out["topology"]["kafka_version"] == "4.10" and out["seed"] == 7


def test_override_parses_yaml_where_the_schema_wants_no_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        with_timeline(
            "{at: 10, fault: node.kill, target: {cluster: primary, node: 2}, duration: 20}"
        ),
    )
    overrides = {
        "workload.producers.acks": "1",  # a Literal whose validator takes YAML's int
        "runbooks.failover.trigger.on_fault": "0",  # int | str: the timeline index 0
        "timeline[0].at": "15",
        "objectives.expected_anomalies": "[duplicates, ordering]",  # a list, as a sweep value
        "objectives.max_duplicates": "null",
        "objectives.require_ordering": "false",
    }
    raw = apply_overrides({"name": "x"}, overrides)
    assert raw["workload"]["producers"]["acks"] == 1
    assert raw["runbooks"]["failover"]["trigger"]["on_fault"] == 0
    assert raw["objectives"]["expected_anomalies"] == ["duplicates", "ordering"]
    s = load_scenario(path, overrides)
    assert s.workload.producers.acks == "1"
    assert s.runbooks.failover is not None and s.runbooks.failover.trigger.on_fault == 0
    assert s.schedule()[0].at == 15
    assert s.objectives.expected_anomalies == ["duplicates", "ordering"]
    assert s.objectives.max_duplicates is None and s.objectives.require_ordering is False
    # A list of text (list[str] | None) is a list, not the text "[primary]".
    raw = apply_overrides({"name": "x"}, {"topology.topics[0].clusters": "[primary]"})
    assert raw["topology"]["topics"][0]["clusters"] == ["primary"]


# -- objectives a consumer group must observe --------------------------------------------------


@pytest.mark.parametrize(
    "objective",
    [
        "max_skipped: 0",
        "max_skipped: 3",
        "max_consumer_rereads: 5",
        "max_read_unavailable_seconds: 10",
    ],
)
def test_a_consumer_objective_without_a_consumer_group_is_refused(
    tmp_path: Path, objective: str
) -> None:
    # Observed n/a used to read as PASS (issue 19): nothing observed must not read as met.
    err = load_err(tmp_path, BASE + f"objectives: {{{objective}}}\n")
    name = objective.split(":")[0]
    assert err.field == f"objectives.{name}"
    assert "needs a consumer group" in err.message and "workload.consumers is empty" in err.message
    assert err.fix == f"add a consumer group under workload.consumers, or remove {name}"


def test_consumer_objectives_pass_with_a_consumer_group_or_unstated(tmp_path: Path) -> None:
    from kafkadrill.scenario.compile import compile_plan

    with_group = BASE + "workload:\n  consumers: [{group: g1, topic: orders}]\n"
    s = load_scenario(write(tmp_path, with_group + "objectives: {max_skipped: 0}\n", "a.yaml"))
    assert compile_plan(s).report_subject().objectives["max_skipped"] == 0
    # Without consumers max_skipped (0 by default) is not judged at all, and the resolved
    # scenario (max_skipped: null) loads again.
    bare = load_scenario(write(tmp_path, BASE, "b.yaml"))
    assert bare.objectives.max_skipped is None
    assert "max_skipped" not in compile_plan(bare).report_subject().objectives
    again = load_scenario(write(tmp_path, bare.resolved_yaml(), "c.yaml"))
    assert again.objectives.max_skipped is None
    nulled = load_scenario(write(tmp_path, BASE + "objectives: {max_skipped: null}\n", "d.yaml"))
    assert "max_skipped" not in compile_plan(nulled).report_subject().objectives


# -- resolved YAML, redaction, schema ------------------------------------------------------------


def test_resolved_yaml_redacts_and_round_trips(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            """\
        name: secret-drill
        topology:
          broker_config: {sasl.jaas.config: "x required password=hunter2;",
                          ssl.key.password: hunter2, num.io.threads: 4}
        workload:
          producers: {config: {sasl.password: hunter2}}
        timeline:
          - {random: {count: 2, faults: [node.kill], duration: [2, 5]}}
        """,
        )
    )
    text = s.resolved_yaml()
    assert "hunter2" not in text
    data = yaml.safe_load(text)
    cfg = data["topology"]["broker_config"]
    assert cfg["sasl.jaas.config"] == REDACTED and cfg["ssl.key.password"] == REDACTED
    assert cfg["num.io.threads"] == "4"
    assert data["workload"]["producers"]["config"]["sasl.password"] == REDACTED
    assert data["seed"] == s.seed and data["workload"]["producers"]["linger_ms"] == 5
    assert "# schedule:" in text
    again = load_scenario(write(tmp_path, text, "resolved.yaml"))
    assert again.schedule() == s.schedule()
    assert again.model_dump(exclude={"topology", "workload"}) == s.model_dump(
        exclude={"topology", "workload"}
    )


def test_redact_nested() -> None:
    assert redact({"a": [{"password": "p"}], "secret.key": None, "b": 1}) == {
        "a": [{"password": REDACTED}],
        "secret.key": None,
        "b": 1,
    }


def test_json_schema() -> None:
    schema = scenario_json_schema()
    json.dumps(schema)
    assert {"name", "timeline", "objectives", "topology"} <= set(schema["properties"])
    assert schema["required"] == ["name"]
    assert schema["$defs"]["FixedFault"]["properties"]["fault"]["enum"] == list(FAULT_TYPES)
    assert schema["$defs"]["TopologySpec"]["additionalProperties"] is False
    assert "from" in schema["$defs"]["FailoverRunbook"]["properties"]


def test_from_dict() -> None:
    s = Scenario.from_dict(
        {
            "name": "x",
            "timeline": [
                {
                    "at": 1,
                    "fault": "node.stop",
                    "target": {"cluster": "dr", "node": 3},
                    "duration": 2,
                }
            ],
        }
    )
    assert s.schedule()[0].fault == "node.stop"
    with pytest.raises(ScenarioError, match=r"timeline\[0\]\.target\.node"):
        Scenario.from_dict(
            {
                "name": "x",
                "timeline": [
                    {"at": 1, "fault": "node.stop", "target": {"cluster": "dr", "node": 7}}
                ],
            },
            source="inline",
        )


def test_an_override_of_an_unquoted_number_in_a_property_map_is_no_text_change(
    tmp_path: Path,
) -> None:
    # A sweep over an MM2 setting written unquoted in the file was refused: the override's
    # dotted key (a property map's key holds dots) did not clear the file's line for it.
    path = write(tmp_path, "name: x\ntopology:\n  mm2: {emit.checkpoints.interval.seconds: 20}\n")
    s = load_scenario(path, {"topology.mm2.emit.checkpoints.interval.seconds": 1})
    assert s.topology.mm2["emit.checkpoints.interval.seconds"] == "1"
    # The file's own unquoted 4.10 is still refused (it would silently become '4.1').
    bad = write(tmp_path, "name: x\ntopology:\n  mm2: {x.y: 4.10}\n")
    with pytest.raises(ScenarioError, match="quote it"):
        load_scenario(bad, {"topology.mm2.emit.checkpoints.interval.seconds": 1})
