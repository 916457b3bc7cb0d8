"""Issue 26: the external runtime's undo journal, its fold, the heal planner and executor, and
`kafkadrill heal` / `kafkadrill status` on fake run directories — no Kafka, no Toxiproxy (the
user's commands are a small local program; the Toxiproxy API and admin calls are in memory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from kafkadrill.cli import main
from kafkadrill.report import store
from kafkadrill.report.manifest import verify, write_manifest
from kafkadrill.runtimes.external import journal as jn
from kafkadrill.runtimes.external.heal import execute_heal, load_pending, plan_heal, render_heal
from kafkadrill.runtimes.external.journal import (
    Journal,
    entry_id,
    in_force,
    process_identity,
    read_journal,
)
from kafkadrill.runtimes.external.runtime import ExternalRuntime
from kafkadrill.runtimes.shared import toxiproxy
from kafkadrill.scenario import Scenario
from kafkadrill.scenario.compile import compile_plan
from kafkadrill.scenario.scope import scope_scenario

# Stands for `ssh host systemctl stop kafka` & co: keeps each node's and flow's state in a file.
CTL = """\
import pathlib, sys
d, kind, op, target = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
state = d / (kind + '-' + target.replace('/', '_').replace('>', '_'))
with (d / 'log').open('a') as f:
    f.write(' '.join(sys.argv[2:]) + '\\n')
if (d / ('fail-' + op)).exists():
    print('refused by the fixture'); sys.exit(3)
if op in ('kill', 'stop'):
    state.write_text('down')
elif op == 'start':
    state.write_text('running')
else:
    print(state.read_text() if state.exists() else 'running')
"""


def _ctl(tmp: Path, kind: str, op: str, *target: str) -> dict[str, Any]:
    return {"argv": [sys.executable, str(tmp / "ctl.py"), str(tmp), kind, op, "/".join(target)]}


def ext_data(tmp: Path, **isolation: Any) -> dict[str, Any]:
    (tmp / "ctl.py").write_text(CTL)
    node = {
        f"node_{op}": _ctl(tmp, "node", op, "{cluster}", "{node}")
        for op in ("kill", "start", "state")
    }
    flow = {f"flow_{op}": _ctl(tmp, "flow", op, "{flow}") for op in ("stop", "start", "state")}
    return {
        "name": "ext-heal",
        "description": "t",
        "runtime": "external",
        "duration_seconds": 20,
        "workload": {"consumers": [{"group": "billing"}]},
        "timeline": [
            {"at": 2, "fault": "node.kill", "target": {"cluster": "primary", "node": 2}},
            {"at": 2, "fault": "link.cut", "target": {"link": "east<->west"}},
        ],
        "external": {
            "clusters": {
                "primary": {"region": "east", "bootstrap": "127.0.0.1:1", "nodes": [1, 2, 3]},
                "dr": {"region": "west", "bootstrap": "127.0.0.1:2", "nodes": [1, 2, 3]},
            },
            "flows": [{"source": "primary", "target": "dr", "commands": flow}],
            "commands": node,
            "toxiproxy": {
                "api": "127.0.0.1:8474",
                "links": [
                    {
                        "link": "east<->west",
                        "proxies": [
                            {"name": "xdc-a", "client_site": "west", "server_site": "east"},
                            {"name": "xdc-b", "client_site": "east", "server_site": "west"},
                        ],
                    }
                ],
            },
            "isolation": {"prefix": "kd", **isolation},
        },
    }


class FakeToxiproxy:
    """The Toxiproxy REST API in memory (what ToxiproxyClient._call sends)."""

    def __init__(self) -> None:
        self.proxies: dict[str, dict[str, Any]] = {
            p: {"enabled": True, "toxics": [], "listen": "127.0.0.1:9"} for p in ("xdc-a", "xdc-b")
        }

    def call(self, method: str, path: str, body: Any = None) -> Any:
        # Bound to this fake: patched onto the client class, it is not re-bound to the client.
        parts = path.strip("/").split("/")
        proxy = self.proxies[parts[1]]
        if len(parts) == 2:
            if method == "POST":
                proxy["enabled"] = body["enabled"]
            return {"name": parts[1], **proxy}
        if method == "GET":
            return proxy["toxics"]
        if method == "POST":
            proxy["toxics"].append(body)
            return body
        proxy["toxics"] = [t for t in proxy["toxics"] if t["name"] != parts[3]]
        return None


@pytest.fixture
def tp(monkeypatch: pytest.MonkeyPatch) -> FakeToxiproxy:
    fake = FakeToxiproxy()
    monkeypatch.setattr(toxiproxy.ToxiproxyClient, "_call", fake.call)
    return fake


@pytest.fixture
def no_kafka(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """Admin calls answered in memory: every node registered, topics as the test sets them."""
    topics: dict[str, set[str]] = {"primary": set(), "dr": set()}
    monkeypatch.setattr(ExternalRuntime, "_registered_nodes", lambda self, c: {1, 2, 3})

    def cleanup(self: ExternalRuntime) -> None:
        for c, names in topics.items():
            mine = {t for t in names if t.startswith(self.prefix)}
            names -= mine
            self._note("delete_topics", c, f"deleted {sorted(mine)}", True)
            self._journal_deleted(c, set())

    monkeypatch.setattr(ExternalRuntime, "_cleanup", cleanup)
    monkeypatch.setattr(
        ExternalRuntime,
        "_admin",
        lambda self, c: SimpleNamespace(
            list_topics=lambda timeout: SimpleNamespace(topics=dict.fromkeys(topics[c]))
        ),
    )
    return topics


def _runtime(tmp: Path, **isolation: Any) -> ExternalRuntime:
    s = Scenario.from_dict(ext_data(tmp, **isolation))
    assert s.external is not None
    return ExternalRuntime(
        s.to_topology(), tmp, external=s.external, confirmed=True, run_id="r1", scenario=s.name
    )


# ----- the fold -----------------------------------------------------------------------------


def _did(op: str, **t: Any) -> dict[str, Any]:
    return {"op": op, "id": entry_id(op, t), **t}


def _undone(op: str, **t: Any) -> dict[str, Any]:
    return {"op": "undone", "id": entry_id(op, t)}


def test_fold_keeps_what_was_done_and_not_undone_in_order() -> None:
    entries = [
        {"op": "begin", "pid": 1},
        _did("topic", cluster="primary", topic="kd-r1-orders"),
        _did("node_down", cluster="primary", node=2, how="node_kill"),
        _did("toxic", proxy="xdc-a", toxic="kd-1-upstream"),
        _did("flow_stopped", flow="primary->dr", how="flow_stop"),
        _undone("toxic", proxy="xdc-a", toxic="kd-1-upstream"),
        _undone("node_paused", cluster="primary", node=2),  # never done: ignored
    ]
    ids = [p.id for p in in_force(entries)]
    assert ids == ["topic:primary/kd-r1-orders", "node_down:primary/2", "flow_stopped:primary->dr"]


def test_fold_repeats_keep_the_first_and_redo_after_undo() -> None:
    kill = _did("node_down", cluster="primary", node=2, how="node_kill")
    again = {**kill, "how": "node_stop"}
    assert in_force([kill, again])[0].get("how") == "node_kill"  # down since the first
    undo = _undone("node_down", cluster="primary", node=2)
    assert in_force([kill, undo]) == []
    assert in_force([kill, undo, again])[0].get("how") == "node_stop"  # killed again later


def test_fold_closed_empties_it_and_unknown_or_malformed_entries_are_skipped() -> None:
    kill = _did("node_down", cluster="primary", node=2, how="node_kill")
    assert in_force([kill, {"op": "closed"}]) == []
    flow = _did("flow_stopped", flow="primary->dr", how="flow_kill")
    assert [p.op for p in in_force([kill, {"op": "closed"}, flow])] == ["flow_stopped"]
    assert in_force([{"op": "node_down", "cluster": "primary"}, {"op": "future_op"}]) == []


def test_a_cut_last_line_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / jn.JOURNAL_FILE
    kill = _did("node_down", cluster="primary", node=2, how="node_kill")
    lines = [json.dumps({"op": "begin", "pid": 1}), json.dumps(kill), '{"op": "undone", "id": "no']
    path.write_text("\n".join(lines))
    got = read_journal(path)
    assert got.damaged == 1 and got.header == {"op": "begin", "pid": 1}
    assert [p.id for p in got.pending] == ["node_down:primary/2"]


def test_journal_writes_begin_with_the_first_change_and_nothing_otherwise(tmp_path: Path) -> None:
    path = tmp_path / jn.JOURNAL_FILE
    j = Journal(path, {"run_id": "r1", **process_identity()})
    j.undone("node_down", cluster="primary", node=2)
    j.closed()
    assert not path.exists()  # nothing done: no journal
    j.did("node_down", cluster="primary", node=2, how="node_kill")
    j.undone("node_down", cluster="primary", node=2)
    j.closed()
    ops = [e["op"] for e in read_journal(path).entries]
    assert ops == ["begin", "node_down", "undone", "closed"]
    got = read_journal(path)
    assert got.header is not None and got.header["pid"] == os.getpid()
    assert jn.runner_alive(got.header) is True
    assert all("at" in e for e in got.entries)


def test_runner_alive_tells_a_dead_or_reused_pid_and_another_host() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    me = process_identity()
    assert jn.runner_alive({**me, "pid": proc.pid}) is False
    assert jn.runner_alive({**me, "pid_created": me["pid_created"] - 100}) is False  # reused
    assert jn.runner_alive({**me, "host": "elsewhere"}) is None


def test_a_journal_that_cannot_be_written_stops_the_injection(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    rt.journal = Journal(tmp_path / "missing" / jn.JOURNAL_FILE, {"run_id": "r1"})
    with pytest.raises(jn.JournalError, match="cannot write the undo journal"):
        rt.node_kill("primary", 2)
    assert not (tmp_path / "log").exists()  # the kill command never ran


def test_the_report_knows_the_journal_names() -> None:
    assert (store.JOURNAL_FILE, store.HEAL_FILE) == (jn.JOURNAL_FILE, jn.HEAL_FILE)


# ----- the runtime journals before each change and after each undo ---------------------------


def test_runtime_journals_changes_before_and_undos_after(
    tmp_path: Path, tp: FakeToxiproxy, no_kafka: dict[str, set[str]]
) -> None:
    rt = _runtime(tmp_path)
    rt.node_kill("primary", 2)
    rt.flow_stop("primary->dr")
    effect = rt.link_cut("east", "west", "east->west")
    rt.link_cut("east", "west", "both")
    pending = read_journal(tmp_path / jn.JOURNAL_FILE).pending
    # One direction: a toxic on each proxy's stream that carries east->west bytes.
    ops = ["node_down", "flow_stopped", "toxic", "toxic", "proxy_disabled", "proxy_disabled"]
    assert [p.op for p in pending] == ops
    assert pending[2].get("toxic") == effect.handle["toxics"][0][1]
    rt._started = True
    rt.stop()
    entries = read_journal(tmp_path / jn.JOURNAL_FILE).entries
    assert entries[-1]["op"] == "closed" and entries[0]["scenario"] == "ext-heal"
    assert len([e for e in entries if e["op"] == "undone"]) == 6
    assert all(p["enabled"] and not p["toxics"] for p in tp.proxies.values())


# ----- the heal planner -------------------------------------------------------------------


def _pending(tmp: Path) -> list[jn.Pending]:
    return in_force(
        [
            _did("flow_stopped", flow="primary->dr", how="flow_stop"),
            _did("topic", cluster="primary", topic="kd-r1-orders"),
            _did("node_down", cluster="primary", node=2, how="node_kill"),
            _did("proxy_disabled", proxy="xdc-b"),
            _did("toxic", proxy="xdc-a", toxic="kd-1-upstream"),
        ]
    )


def test_plan_heal_orders_the_undos_as_stop_does_and_names_each_command(tmp_path: Path) -> None:
    s = Scenario.from_dict(ext_data(tmp_path))
    assert s.external is not None
    steps = plan_heal(_pending(tmp_path), s.external, s.to_topology(), "r1")
    assert [(st.undo, st.target) for st in steps] == [
        ("remove_toxic", "xdc-a/kd-1-upstream"),
        ("enable_proxy", "xdc-b"),
        ("node_start", "primary/2"),
        ("delete_topics", "primary:kd-r1-orders"),
        ("flow_start", "primary->dr"),
    ]
    assert steps[0].commands == ("DELETE http://127.0.0.1:8474/proxies/xdc-a/toxics/kd-1-upstream",)
    assert steps[2].commands[0].endswith("node start primary/2")
    assert steps[4].commands[0].endswith("flow start 'primary->dr'")
    assert "kd-r1-*" in steps[3].commands[0]
    text = "\n".join(render_heal(steps))
    assert "undoes: node primary/2 down (node_kill)" in text and "SKIPPED" not in text


def test_plan_heal_keeps_the_topics_with_keep_topics(tmp_path: Path) -> None:
    s = Scenario.from_dict(ext_data(tmp_path, keep_topics=True))
    assert s.external is not None
    steps = plan_heal(_pending(tmp_path), s.external, s.to_topology(), "r1")
    topics = next(st for st in steps if st.undo == "delete_topics")
    assert topics.skip is not None and "keep_topics" in topics.skip
    assert "SKIPPED" in "\n".join(render_heal(steps))


def test_execute_heal_undoes_and_verifies_each_step(
    tmp_path: Path, tp: FakeToxiproxy, no_kafka: dict[str, set[str]]
) -> None:
    rt = _runtime(tmp_path)
    rt.node_kill("primary", 2)
    rt.flow_stop("primary->dr")
    rt.link_cut("east", "west", "both")
    rt.link_cut("east", "west", "east->west")
    no_kafka["primary"].add("kd-r1-orders")
    rt.journal.did("topic", cluster="primary", topic="kd-r1-orders")
    # The runner is gone: a new runtime, the journal's pending state loaded into it.
    pending = read_journal(tmp_path / jn.JOURNAL_FILE).pending
    s = Scenario.from_dict(ext_data(tmp_path))
    assert s.external is not None
    healer = ExternalRuntime(
        s.to_topology(),
        tmp_path,
        external=s.external,
        confirmed=True,
        run_id="r1",
        journal=Journal(tmp_path / jn.JOURNAL_FILE),
    )
    load_pending(healer, pending)
    results = execute_heal(healer, plan_heal(pending, s.external, s.to_topology(), "r1"))
    assert [(r.step.undo, r.ok, r.verified) for r in results] == [
        ("remove_toxic", True, True),
        ("remove_toxic", True, True),
        ("enable_proxy", True, True),
        ("enable_proxy", True, True),
        ("node_start", True, True),
        ("delete_topics", True, True),
        ("flow_start", True, True),
    ]
    node = results[4]
    assert node.commands and node.commands[0].endswith("node start primary/2")
    assert "in the cluster metadata" in node.verification
    assert all(p["enabled"] and not p["toxics"] for p in tp.proxies.values())
    assert (tmp_path / "node-primary_2").read_text() == "running"
    assert (tmp_path / "flow-primary-_dr").read_text() == "running"
    assert no_kafka["primary"] == set()
    assert read_journal(tmp_path / jn.JOURNAL_FILE).pending == []


# ----- the CLI ----------------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def run_dir_with(tmp: Path, entries: list[dict[str, Any]], **isolation: Any) -> Path:
    """A run directory as a SIGKILLed runner leaves it: scenario.yaml, a history begun, the
    journal (its runner dead)."""
    run_dir = tmp / "reports" / "ext-heal" / RUN_ID
    run_dir.mkdir(parents=True)
    sc = Scenario.from_dict(ext_data(tmp, **isolation))
    scoped = scope_scenario(sc, "kd", RUN_ID)[0]  # as the runner stores it: run-scoped names
    (run_dir / "scenario.yaml").write_text(compile_plan(scoped).resolved_yaml)
    (run_dir / "history.jsonl").write_text(
        json.dumps({"type": "run.start", "runtime": "external"}) + "\n"
    )
    begin = {
        "op": "begin",
        "run_id": RUN_ID,
        "scenario": "ext-heal",
        "runtime": "external",
        **process_identity(),
        "pid": _dead_pid(),
    }
    lines = [json.dumps(e) for e in [begin, *entries]]
    (run_dir / jn.JOURNAL_FILE).write_text("\n".join(lines) + "\n")
    return run_dir


RUN_ID = "20260101T000000Z"
TOPIC = "kd-20260101t000000z-orders"
KILLED = [
    _did("node_down", cluster="primary", node=2, how="node_kill"),
    _did("flow_stopped", flow="primary->dr", how="flow_stop"),
]


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_heal_refuses_what_is_not_a_run_dir(tmp_path: Path) -> None:
    res = _cli("heal", str(tmp_path))
    assert res.exit_code == 2 and "not a run directory (no scenario.yaml)" in res.output
    assert "reports/<scenario>/<UTC stamp>" in res.output


def test_heal_refuses_a_run_of_another_runtime_and_a_run_without_journal(tmp_path: Path) -> None:
    run_dir = run_dir_with(tmp_path, [])
    (run_dir / jn.JOURNAL_FILE).unlink()
    res = _cli("heal", str(run_dir))
    assert res.exit_code == 2 and "no undo journal" in res.output and "journal.jsonl" in res.output
    (run_dir / "history.jsonl").write_text(json.dumps({"type": "run.start", "runtime": "local"}))
    res = _cli("heal", str(run_dir))
    assert (
        res.exit_code == 2 and "'local' runtime" in res.output and "kafkadrill down" in res.output
    )


def test_heal_refuses_while_the_runner_lives_or_cannot_be_told(tmp_path: Path) -> None:
    run_dir = run_dir_with(tmp_path, KILLED)
    path = run_dir / jn.JOURNAL_FILE
    lines = path.read_text().splitlines()
    begin = {**json.loads(lines[0]), **process_identity()}  # this process: alive
    path.write_text("\n".join([json.dumps(begin), *lines[1:]]) + "\n")
    res = _cli("heal", str(run_dir), "--yes")
    assert res.exit_code == 2 and "still running: a live runner heals itself" in res.output
    begin["host"] = "ci-runner-7"
    path.write_text("\n".join([json.dumps(begin), *lines[1:]]) + "\n")
    res = _cli("heal", str(run_dir), "--yes")
    assert res.exit_code == 2 and "--runner-lost" in res.output
    res = _cli("heal", str(run_dir), "--runner-lost")  # no --yes: prints the plan only
    assert res.exit_code == 0 and "nothing was changed; pass --yes" in res.output


def test_heal_without_yes_prints_what_it_would_run_and_changes_nothing(tmp_path: Path) -> None:
    run_dir = run_dir_with(tmp_path, KILLED)
    before = (run_dir / jn.JOURNAL_FILE).read_text()
    res = _cli("heal", str(run_dir))
    assert res.exit_code == 0, res.output
    assert "node primary/2 down (node_kill)" in res.output
    assert "node start primary/2" in res.output and "flow start 'primary->dr'" in res.output
    assert "nothing was changed; pass --yes" in res.output
    assert (run_dir / jn.JOURNAL_FILE).read_text() == before
    assert not (run_dir / jn.HEAL_FILE).exists() and not (tmp_path / "log").exists()


def test_heal_of_a_run_with_nothing_in_force_says_so(tmp_path: Path) -> None:
    run_dir = run_dir_with(tmp_path, [*KILLED, {"op": "closed"}])
    res = _cli("heal", str(run_dir), "--yes")
    assert res.exit_code == 0 and "nothing in force" in res.output


def test_status_lists_the_dead_run_and_heal_yes_heals_it(
    tmp_path: Path, tp: FakeToxiproxy, no_kafka: dict[str, set[str]]
) -> None:
    tp.proxies["xdc-b"]["enabled"] = False
    no_kafka["primary"].add(TOPIC)
    topic = _did("topic", cluster="primary", topic=TOPIC)
    run_dir = run_dir_with(tmp_path, [topic, *KILLED, _did("proxy_disabled", proxy="xdc-b")])
    (tmp_path / "node-primary_2").write_text("down")
    (tmp_path / "flow-primary-_dr").write_text("down")
    reports = str(tmp_path / "reports")
    res = _cli("status", "--json", "--reports-dir", reports)
    runs = json.loads(res.stdout)["runs_with_faults_in_force"]
    assert [r["run_dir"] for r in runs] == [str(run_dir)]
    assert runs[0]["heal_command"] == f"kafkadrill heal {run_dir} --yes"
    assert "node primary/2 down (node_kill)" in runs[0]["in_force"][1]
    res = _cli("heal", str(run_dir), "--yes", "--operator", "ana")
    assert res.exit_code == 0, res.output
    assert "healed" in res.output
    assert (tmp_path / "node-primary_2").read_text() == "running"
    assert (tmp_path / "flow-primary-_dr").read_text() == "running"
    assert tp.proxies["xdc-b"]["enabled"] is True
    record = json.loads((run_dir / jn.HEAL_FILE).read_text())
    assert record["ok"] is True and record["operator"] == "ana" and record["failed"] == []
    undos = [a["undo"] for a in record["actions"]]
    assert undos == ["enable_proxy", "node_start", "delete_topics", "flow_start"]
    assert all(a["verified"] and a["commands"] and a["seconds"] >= 0 for a in record["actions"])
    assert len(record["in_force"]) == 4 and no_kafka["primary"] == set()
    assert read_journal(run_dir / jn.JOURNAL_FILE).entries[-1]["op"] == "closed"
    res = _cli("status", "--json", "--reports-dir", reports)
    assert json.loads(res.stdout)["runs_with_faults_in_force"] == []


def test_a_failed_undo_exits_1_names_it_and_stays_listed(
    tmp_path: Path, tp: FakeToxiproxy, no_kafka: dict[str, set[str]]
) -> None:
    run_dir = run_dir_with(tmp_path, KILLED)
    (tmp_path / "fail-start").write_text("")  # every start command is refused
    res = _cli("heal", str(run_dir), "--yes")
    assert res.exit_code == 1, res.output
    assert "not healed" in res.output and "node_start primary/2" in res.output
    record = json.loads((run_dir / jn.HEAL_FILE).read_text())
    assert record["ok"] is False and "node_start primary/2" in record["failed"]
    ids = [p.id for p in read_journal(run_dir / jn.JOURNAL_FILE).pending]
    assert ids == ["node_down:primary/2", "flow_stopped:primary->dr"]
    res = _cli("status", "--reports-dir", str(tmp_path / "reports"))
    assert "faults in force" in res.output and "(last heal failed)" in res.output
    assert f"kafkadrill heal {run_dir} --yes" in res.output


def test_the_manifest_does_not_seal_the_journal_nor_heal_json(tmp_path: Path) -> None:
    run_dir = run_dir_with(tmp_path, KILLED)
    write_manifest(run_dir)
    with (run_dir / jn.JOURNAL_FILE).open("a") as f:
        f.write(json.dumps({"op": "closed", "by": "heal"}) + "\n")
    (run_dir / jn.HEAL_FILE).write_text("{}")
    assert verify(run_dir).ok
    (run_dir / "scenario.yaml").write_text("changed")
    assert not verify(run_dir).ok


# ----- the failover's fence on clusters kafkadrill did not start (issue 22) ---------------


class FakeAcls:
    """The ACL calls of the external runtime's clients, in memory."""

    def __init__(self) -> None:
        self.fenced: set[tuple[str, str]] = set()

    def deny_writes(self, bootstrap: str, topic: str, timeout: float = 10.0) -> None:
        self.fenced.add((bootstrap, topic))

    def allow_writes(self, bootstrap: str, topic: str, timeout: float = 10.0) -> int:
        had = (bootstrap, topic) in self.fenced
        self.fenced.discard((bootstrap, topic))
        return 2 if had else 0

    def fence_acls(self, bootstrap: str, topic: str, timeout: float = 10.0) -> int:
        return 2 if (bootstrap, topic) in self.fenced else 0


def test_an_acl_fence_is_journaled_and_a_killed_runners_fence_is_healed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    acls = FakeAcls()
    rt = _runtime(tmp_path)
    monkeypatch.setattr(rt, "clients", acls)
    how = rt.fence_writes("primary", "kd-r1-orders", "b:9092")
    assert "DENY WRITE" in how and acls.fenced == {("b:9092", "kd-r1-orders")}
    pending = read_journal(tmp_path / jn.JOURNAL_FILE).pending
    assert [(p.op, p.get("cluster"), p.get("topic")) for p in pending] == [
        ("fence", "primary", "kd-r1-orders")
    ]
    assert "fenced on primary" in pending[0].describe()
    # The runner dies; heal plans the unfence and verifies no fence ACL is left.
    s = Scenario.from_dict(ext_data(tmp_path))
    assert s.external is not None
    steps = plan_heal(pending, s.external, s.to_topology(), "r1")
    assert [(st.undo, st.target) for st in steps] == [("unfence", "primary:kd-r1-orders")]
    assert "DeleteAcls at b:9092" in steps[0].commands[0]
    fresh = _runtime(tmp_path)
    monkeypatch.setattr(fresh, "clients", acls)
    load_pending(fresh, pending)
    [res] = execute_heal(fresh, steps)
    assert res.ok and res.verified, res.as_dict()
    assert acls.fenced == set() and read_journal(tmp_path / jn.JOURNAL_FILE).pending == []


def test_a_fence_through_the_users_commands_runs_them_and_heal_runs_unfence(
    tmp_path: Path,
) -> None:
    data = ext_data(tmp_path)
    data["external"]["commands"]["fence"] = _ctl(tmp_path, "fence", "kill", "{cluster}")
    data["external"]["commands"]["unfence"] = _ctl(tmp_path, "fence", "start", "{cluster}")
    s = Scenario.from_dict(data)
    assert s.external is not None
    rt = ExternalRuntime(
        s.to_topology(), tmp_path, external=s.external, confirmed=True, run_id="r1", scenario=s.name
    )
    assert "ran " in rt.fence_writes("primary", "kd-r1-orders", "b:9092")
    assert (tmp_path / "fence-primary").read_text() == "down"
    pending = read_journal(tmp_path / jn.JOURNAL_FILE).pending
    steps = plan_heal(pending, s.external, s.to_topology(), "r1")
    assert steps[0].commands[0].endswith("fence start primary")
    [res] = execute_heal(rt, steps)
    assert res.ok and res.verified and "exit code" in res.verification
    assert (tmp_path / "fence-primary").read_text() == "running"


def test_fence_commands_come_in_pairs(tmp_path: Path) -> None:
    data = ext_data(tmp_path)
    data["external"]["commands"]["fence"] = _ctl(tmp_path, "fence", "kill", "{cluster}")
    with pytest.raises(Exception, match="fence and unfence"):
        Scenario.from_dict(data)


def test_plan_shows_the_fence_its_undo_and_that_heal_can_lift_it(tmp_path: Path) -> None:
    from kafkadrill.runtimes.external.plan import render_plan

    data = ext_data(tmp_path)
    data["external"]["commands"]["fence"] = _ctl(tmp_path, "fence", "kill", "{cluster}")
    data["external"]["commands"]["unfence"] = _ctl(tmp_path, "fence", "start", "{cluster}")
    data["timeline"] = [
        {"at": 3, "fault": "node.kill", "target": {"cluster": "primary", "node": 2}}
    ]
    data["runbooks"] = {
        "failover": {
            "trigger": {"on_fault": "node.kill"},
            "from": "primary",
            "to": "dr",
            "fence": {"method": "acl"},
            "stragglers": {"producers": 1},
        }
    }
    text = render_plan(compile_plan(Scenario.from_dict(data)), "external")
    assert "fence (before_redirect):" in text and "fence kill primary" in text
    assert "lifted by" in text and "fence start primary" in text and "kafkadrill heal" in text
    assert "stragglers: the last 1 producer(s) stay on primary until the end" in text


def test_a_failback_truncate_through_the_users_command(tmp_path: Path) -> None:
    """E.g. a wrapper of Cluster Linking's `kafka-mirrors --truncate-and-restore`: run with the
    original, the DR cluster and the topic; `kafkadrill plan` shows it."""
    from kafkadrill.runtimes.external.plan import render_plan

    data = ext_data(tmp_path)
    data["external"]["commands"]["topic_truncate"] = _ctl(
        tmp_path, "mirror", "kill", "{target}", "{source}", "{topic}"
    )
    data["timeline"] = [
        {"at": 3, "fault": "node.kill", "target": {"cluster": "primary", "node": 2}, "duration": 5}
    ]
    data["runbooks"] = {
        "failover": {"trigger": {"on_fault": "node.kill"}, "from": "primary", "to": "dr"},
        "failback": {"at": 10, "strategy": "truncate"},
    }
    s = Scenario.from_dict(data)
    assert s.external is not None
    text = render_plan(compile_plan(s), "external")
    assert "truncate: " in text and "mirror kill 'primary/dr/kd-<run-id>-orders'" in text
    rt = ExternalRuntime(
        s.to_topology(), tmp_path, external=s.external, confirmed=True, run_id="r1", scenario=s.name
    )
    done = rt.rewrite_topic_by_command("truncate", "primary", "dr", "kd-r1-orders")
    assert done is not None and "exit 0" in done
    assert (tmp_path / "mirror-primary_dr_kd-r1-orders").read_text() == "down"
    assert rt.rewrite_topic_by_command("rebuild", "primary", "dr", "kd-r1-orders") is None
