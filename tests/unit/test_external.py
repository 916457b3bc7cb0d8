"""External runtime: config parsing, secrets, command templating (no shell), capabilities,
isolation, plan output, guards and the evidence block — pure logic, no Kafka."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kafkadrill.checkers.evidence import evidence_block, verdict_limit
from kafkadrill.errors import ScenarioError
from kafkadrill.runner import require_capabilities, run_drill
from kafkadrill.runtimes.base import Cap, runtime_type
from kafkadrill.runtimes.external.adapters.command import parse_state, run_command
from kafkadrill.runtimes.external.adapters.record import MAX_OUTPUT, Recorder
from kafkadrill.runtimes.external.config import (
    CommandSpec,
    capabilities_of,
    render_template,
    resolve_refs,
    show_command,
)
from kafkadrill.runtimes.external.plan import plan_sha256, render_plan
from kafkadrill.runtimes.external.runtime import DrillAborted, ExternalRuntime
from kafkadrill.scenario import Scenario, load_scenario
from kafkadrill.scenario.compile import compile_plan
from kafkadrill.scenario.scope import scope_scenario
from kafkadrill.secrets import REDACTED

EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "external-example.yaml"


def base(**external: Any) -> dict[str, Any]:
    ext: dict[str, Any] = {
        "clusters": {
            "primary": {"region": "east", "bootstrap": "127.0.0.1:1", "nodes": [1, 2, 3]},
            "dr": {"region": "west", "bootstrap": "127.0.0.1:2", "nodes": [1, 2, 3]},
        },
        "flows": [{"source": "primary", "target": "dr"}],
    }
    ext.update(external)
    return {
        "name": "ext-test",
        "description": "t",
        "runtime": "external",
        "duration_seconds": 20,
        "workload": {"consumers": [{"group": "billing"}]},
        "external": ext,
    }


KILL = {"argv": ["kill-node", "{cluster}", "{node}"]}
START = {"argv": ["start-node", "{cluster}", "{node}"]}
STATE = {"argv": ["node-state", "{cluster}", "{node}"]}


def with_fault(data: dict[str, Any], fault: str = "node.kill", **target: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["timeline"] = [
        {
            "at": 5,
            "fault": fault,
            "target": target or {"cluster": "primary", "node": 2},
            "duration": 5,
        }
    ]
    return data


# ----- config parsing ---------------------------------------------------------------------


def test_example_scenario_loads_and_derives_the_topology() -> None:
    s = load_scenario(EXAMPLE)
    topo = s.to_topology()
    assert [c.name for c in topo.clusters] == ["primary", "dr"]
    assert [n.node_id for n in topo.cluster("primary").nodes] == [0, 1, 2]
    assert [f.name for f in topo.flows] == ["primary->dr"]
    assert topo.cluster("primary").topics[0].name == "orders"


def test_a_literal_secret_is_refused_with_the_fix() -> None:
    data = base()
    data["external"]["clusters"]["primary"]["client_config"] = {"sasl.password": "hunter22"}
    with pytest.raises(ScenarioError) as exc:
        Scenario.from_dict(data, source="x.yaml")
    text = str(exc.value)
    assert "${ENV:NAME}" in text and "hunter22" not in text


def test_references_and_stored_redactions_are_accepted() -> None:
    for value in ("${ENV:KD_PW}", "${FILE:/run/secrets/pw}", REDACTED):
        data = base()
        data["external"]["clusters"]["primary"]["client_config"] = {"sasl.password": value}
        Scenario.from_dict(data)


def test_unknown_cluster_in_flow_and_unknown_placeholder_are_errors() -> None:
    data = base(flows=[{"source": "primary", "target": "nowhere"}])
    with pytest.raises(ScenarioError, match="unknown cluster 'nowhere'"):
        Scenario.from_dict(data)
    data = base(commands={"node_kill": {"argv": ["kill", "{pod}"]}})
    with pytest.raises(ScenarioError, match=r"unknown placeholder \{pod\}"):
        Scenario.from_dict(data)


def test_resolve_refs_env_file_and_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KD_TEST_PW", "s3cret-value")
    secret = tmp_path / "pw"
    secret.write_text("from-a-file\n")
    assert resolve_refs("${ENV:KD_TEST_PW}") == "s3cret-value"
    assert resolve_refs(f"${{FILE:{secret}}}") == "from-a-file"
    monkeypatch.delenv("KD_TEST_PW")
    with pytest.raises(ScenarioError, match="KD_TEST_PW is not set"):
        resolve_refs("${ENV:KD_TEST_PW}")
    with pytest.raises(ScenarioError, match="redacted"):
        resolve_refs(REDACTED)


def test_resolved_scenario_shows_references_never_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KD_TEST_PW", "s3cret-value")
    data = base()
    data["external"]["clusters"]["primary"]["client_config"] = {
        "sasl.username": "u",
        "sasl.password": "${ENV:KD_TEST_PW}",
    }
    s = Scenario.from_dict(data)
    assert "s3cret-value" not in s.resolved_yaml()
    assert "s3cret-value" not in render_plan(compile_plan(s))


# ----- command templating -----------------------------------------------------------------


def test_templating_without_shell_keeps_each_value_one_argument() -> None:
    spec = CommandSpec(argv=["ssh", "host-{node}", "systemctl stop kafka@{cluster}"])
    argv = render_template(spec, {"node": "1; rm -rf /", "cluster": "a b"})
    assert argv == ["ssh", "host-1; rm -rf /", "systemctl stop kafka@a b"]
    assert show_command(argv, False) == "ssh 'host-1; rm -rf /' 'systemctl stop kafka@a b'"


def test_string_argv_is_split_without_a_shell_and_shell_quotes_values() -> None:
    spec = CommandSpec(argv="kubectl delete pod kafka-{node}")
    assert spec.argv == ["kubectl", "delete", "pod", "kafka-{node}"]
    sh = CommandSpec(argv="echo {node} | tee /tmp/x", shell=True)
    assert render_template(sh, {"node": "$(reboot)"}) == "echo '$(reboot)' | tee /tmp/x"


def test_run_command_runs_no_shell_records_and_checks(tmp_path: Path) -> None:
    rec = Recorder()
    marker = tmp_path / "ran"
    spec = CommandSpec(
        argv=[
            sys.executable,
            "-c",
            "import sys; print(sys.argv[1])",
            "{node}; touch " + str(marker),
        ]
    )
    res = run_command(spec, {"node": "2"}, recorder=rec, operation="node_kill", target="p/2")
    assert res.ok and res.output.strip() == f"2; touch {marker}"
    assert not marker.exists()  # no shell: the `;` never ran a second command
    assert rec.records[-1].operation == "node_kill" and rec.records[-1].exit == 0
    fail = CommandSpec(argv=[sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"])
    with pytest.raises(Exception, match="exited 3: boom"):
        run_command(fail, {}, recorder=rec, operation="node_start", target=None)
    assert rec.records[-1].ok is False and rec.records[-1].exit == 3


def test_run_command_timeout_kills_and_output_is_truncated_and_scrubbed() -> None:
    rec = Recorder(secrets=["topsecret-123"])
    slow = CommandSpec(
        argv=[sys.executable, "-c", "import time; time.sleep(30)"], timeout_seconds=0.5
    )
    res = run_command(slow, {}, recorder=rec, operation="node_kill", target=None, check=False)
    assert not res.ok and res.exit is None and "killed after" in res.output
    loud = CommandSpec(argv=[sys.executable, "-c", "print('topsecret-123' + 'x' * 20000)"])
    run_command(loud, {}, recorder=rec, operation="node_state", target=None)
    out = rec.records[-1].output or ""
    assert "topsecret-123" not in out and len(out) < MAX_OUTPUT + 200


def test_parse_state() -> None:
    assert parse_state("down\n") == "down"
    assert parse_state("Running since 5m") == "running"
    assert parse_state("") == "unknown" and parse_state("CrashLoopBackOff") == "unknown"


# ----- capabilities -----------------------------------------------------------------------


def test_capabilities_are_exactly_what_adapters_give() -> None:
    # ACLs and topic rewrites are admin requests with the clusters' own client settings.
    admin = {Cap.ACL, Cap.TOPIC_REWRITE}
    s = Scenario.from_dict(base())
    assert capabilities_of(s.external) == admin
    s = Scenario.from_dict(base(commands={"node_kill": KILL, "node_start": START}))
    assert capabilities_of(s.external) == {Cap.NODE_KILL, Cap.NODE_START, *admin}
    tp = {
        "api": "127.0.0.1:8474",
        "links": [
            {
                "link": "east<->west",
                "proxies": [{"name": "p1", "client_site": "west", "server_site": "east"}],
            }
        ],
    }
    connect = {"url": "http://127.0.0.1:8083", "connectors": ["src"]}
    data = base(toxiproxy=tp)
    data["external"]["flows"][0]["connect"] = connect
    caps = capabilities_of(Scenario.from_dict(data).external)
    # Connect pauses/resumes; it cannot kill a process.
    assert caps == {Cap.LINK_CUT, Cap.LINK_TOXIC, Cap.FLOW_STOP, Cap.FLOW_START, *admin}


def test_cluster_override_counts_only_if_every_cluster_can() -> None:
    data = base()
    data["external"]["clusters"]["primary"]["commands"] = {"node_kill": KILL, "node_start": START}
    node = {Cap.NODE_KILL, Cap.NODE_START}
    assert not capabilities_of(Scenario.from_dict(data).external) & node
    data["external"]["clusters"]["dr"]["commands"] = {"node_kill": KILL, "node_start": START}
    assert capabilities_of(Scenario.from_dict(data).external) & node == node


def test_a_fault_without_an_adapter_is_refused_before_anything_starts() -> None:
    s = Scenario.from_dict(with_fault(base()))
    with pytest.raises(ScenarioError, match=r"node.kill.*needs"):
        require_capabilities(compile_plan(s), runtime_type("external"))
    ok = Scenario.from_dict(with_fault(base(commands={"node_kill": KILL, "node_start": START})))
    require_capabilities(compile_plan(ok), runtime_type("external"))


def test_external_runtime_without_section_is_a_scenario_error() -> None:
    data = base()
    del data["external"]
    s = Scenario.from_dict(data)
    with pytest.raises(ScenarioError, match="needs an `external:` section"):
        require_capabilities(compile_plan(s), runtime_type("external"))


def test_run_drill_refuses_without_confirmation(tmp_path: Path) -> None:
    s = Scenario.from_dict(base())
    with pytest.raises(ScenarioError, match="confirmation"):
        run_drill(s, reports_dir=tmp_path)
    assert not list(tmp_path.iterdir())  # refused before any run directory exists


# ----- isolation --------------------------------------------------------------------------


def isolate(s: Scenario, run_id: str) -> tuple[Scenario, dict[str, str], dict[str, str]]:
    """The run-scoped scenario as run_drill makes it for the external runtime."""
    prefix = runtime_type("external").powers.isolation_prefix(compile_plan(s))
    return scope_scenario(s, prefix, run_id)


def test_isolate_scopes_topics_and_groups_to_the_run() -> None:
    s = Scenario.from_dict(base())
    scoped, topics, groups = isolate(s, "20261130T120000Z")
    assert topics == {"orders": "kd-20261130t120000z-orders"}
    assert groups == {"billing": "kd-20261130t120000z-billing"}
    assert scoped.workload.producers.topic == "kd-20261130t120000z-orders"
    assert scoped.workload.consumers[0].group == "kd-20261130t120000z-billing"
    assert scoped.to_topology().cluster("primary").topics[0].name == "kd-20261130t120000z-orders"


# ----- plan -------------------------------------------------------------------------------


def test_plan_lists_every_fault_time_and_exact_command() -> None:
    data = with_fault(base(commands={"node_kill": KILL, "node_start": START, "node_state": STATE}))
    text = render_plan(compile_plan(Scenario.from_dict(data)))
    assert "f0 at 5 s, healed at 10 s: node.kill" in text
    assert "inject: kill-node primary 2" in text
    assert "verify: node-state primary 2" in text
    assert "heal:   start-node primary 2" in text
    assert "topic kd-<run-id>-orders on primary" in text
    assert "consumer group kd-<run-id>-billing" in text
    assert "ABORT before injecting anything" in text
    assert plan_sha256(text) == plan_sha256(render_plan(compile_plan(Scenario.from_dict(data))))


def test_plan_says_an_unverifiable_fault_is_unknown() -> None:
    data = with_fault(base(commands={"node_kill": KILL, "node_start": START}))
    assert "will be UNKNOWN, not verified" in render_plan(compile_plan(Scenario.from_dict(data)))


def test_plan_cli_prints_plan_and_hash(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kafkadrill.cli import main

    path = tmp_path / "ext-test.yaml"
    path.write_text(
        yaml.safe_dump(with_fault(base(commands={"node_kill": KILL, "node_start": START})))
    )
    res = CliRunner().invoke(main, ["plan", str(path)])
    assert res.exit_code == 0, res.output
    assert "kill-node primary 2" in res.output and "plan sha256: " in res.output
    res = CliRunner().invoke(main, ["run", str(path), "--reports-dir", str(tmp_path / "r")])
    assert res.exit_code == 2 and "confirmation" in res.output
    assert not (tmp_path / "r").exists()


# ----- guards -----------------------------------------------------------------------------


class _H:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def append(self, typ: str, **fields: Any) -> None:
        self.events.append((typ, fields))


def _runtime(**external: Any) -> ExternalRuntime:
    s = Scenario.from_dict(base(**external))
    assert s.external is not None
    rt = ExternalRuntime(s.to_topology(), Path("/nonexistent"), external=s.external, confirmed=True)
    rt.attach_history(_H())
    return rt


def test_runtime_refuses_without_confirmation() -> None:
    s = Scenario.from_dict(base())
    with pytest.raises(ScenarioError, match="confirmation"):
        ExternalRuntime(s.to_topology(), Path("/x"), external=s.external)


def test_write_guard_trips_after_the_bound_and_records_why() -> None:
    rt = _runtime(guards={"max_write_unavailable_seconds": 3})
    rt.guard(10.0, 100)
    rt.guard(12.0, 150)
    rt.guard(14.9, 150)  # 2.9 s without a new ack: fine
    with pytest.raises(DrillAborted, match=r"no write acknowledged for 3\.1 s"):
        rt.guard(15.1, 150)
    assert rt.recorder.history.events[-1][0] == "guard.trip"


def test_lag_guard_trips_on_measured_lag() -> None:
    rt = _runtime(guards={"max_lag_records": 10, "max_write_unavailable_seconds": None})
    rt._lag["primary->dr"] = 5
    rt.guard(1.0, 1)
    rt._lag["primary->dr"] = 11
    with pytest.raises(DrillAborted, match="11 records behind"):
        rt.guard(2.0, 2)


def test_node_state_without_command_is_unknown_and_says_so() -> None:
    rt = _runtime()
    assert rt.node_state("primary", 2) == "unknown"
    assert "UNKNOWN" in rt._unverified_note("primary")


# ----- evidence ---------------------------------------------------------------------------


def _events(runtime: str, verified: bool) -> list[dict[str, Any]]:
    return [
        {"type": "run.start", "runtime": runtime},
        {
            "type": "run.approval",
            "operator": "ana",
            "approved_by": "bo",
            "plan_sha256": "ab",
            "confirmed": True,
        },
        {"type": "fault.verify", "fault_id": "f0", "ok": verified},
        {
            "type": "adapter.exec",
            "adapter": "command",
            "operation": "node_kill",
            "target": "p/2",
            "command": "kill-node p 2",
            "ok": False,
            "exit": 1,
        },
        {"type": "guard.trip", "guard": "max_lag_records", "reason": "too far behind"},
    ]


def test_unverified_fault_caps_external_verdict_only() -> None:
    report = {"verdict": "PASS", "faults": [{"id": "f0", "type": "node.kill", "verified": False}]}
    assert "f0 node.kill" in (verdict_limit(_events("external", False), report) or "")
    assert verdict_limit(_events("local", False), report) is None
    report["faults"][0]["verified"] = True
    assert verdict_limit(_events("external", True), report) is None


def test_evidence_block_names_who_what_and_deviations() -> None:
    report = {
        "verdict": "UNKNOWN",
        "objectives": [
            {"name": "max_rto_seconds", "target": 30, "observed": 4.2, "verdict": "PASS"}
        ],
        "rto": {"write_unavailable_seconds": 4.2},
        "rpo": {"lost": 0},
        "faults": [{"id": "f0", "type": "node.kill", "verified": False, "healed_at": "t"}],
    }
    ev = evidence_block(_events("external", False), report)
    assert (ev["operator"], ev["approved_by"], ev["plan_sha256"]) == ("ana", "bo", "ab")
    assert ev["targets_vs_measured"][0]["observed"] == 4.2
    assert ev["outcome"] == "ABORTED: too far behind"
    assert any("not verified" in d for d in ev["deviations"])
    assert any("kill-node p 2" in d for d in ev["deviations"])


def test_admin_calls_use_the_settings_of_the_cluster_addressed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KD_PW_EAST", "east-secret")
    monkeypatch.setenv("KD_PW_WEST", "west-secret")
    data = base()
    cl = data["external"]["clusters"]
    cl["primary"]["client_config"] = {"sasl.password": "${ENV:KD_PW_EAST}"}
    cl["primary"]["bootstrap_from"] = {"west": "127.0.0.1:9"}
    cl["dr"]["client_config"] = {"sasl.password": "${ENV:KD_PW_WEST}"}
    s = Scenario.from_dict(data)
    rt = ExternalRuntime(s.to_topology(), Path("/x"), external=s.external, confirmed=True)
    assert rt.clients._conf("127.0.0.1:2")["sasl.password"] == "west-secret"
    assert rt.clients._conf("127.0.0.1:9")["sasl.password"] == "east-secret"
    assert "west-secret" not in (rt.recorder.clean("pw is west-secret") or "")


def test_feature_levels_are_refused_on_clusters_kafkadrill_did_not_format() -> None:
    data = base()
    data.setdefault("topology", {})["features"] = {"transaction.version": 1}
    with pytest.raises(ScenarioError) as exc:
        Scenario.from_dict(data, source="x.yaml")
    assert "topology.features" in str(exc.value) and "kafka-features.sh" in str(exc.value)


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ({"mm2_mode": "connect"}, "topology.mm2_mode"),
        ({"backup": {}}, "topology.backup"),
        ({"model": "backup"}, "topology.backup"),
        ({"schema_registry": {}}, "topology.schema_registry"),
    ],
)
def test_what_kafkadrill_would_start_is_refused_on_the_external_runtime(
    setting: dict[str, Any], field: str
) -> None:
    data = base()
    data.setdefault("topology", {}).update(setting)
    with pytest.raises(ScenarioError) as exc:
        Scenario.from_dict(data, source="x.yaml")
    text = str(exc.value)
    assert field in text, text
    assert "local runtime" in text or "external.flows[].connect" in text, text
