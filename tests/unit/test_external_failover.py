"""The failover runbook on the external runtime: every control action through the user's
commands (flow_stop with the runbook's grace as {timeout}, flow_state as the check), and the
plan that shows those exact commands — pure logic, no Kafka (commands are small local Python
programs; the Kafka probes and admin calls are stubbed)."""

from __future__ import annotations

import copy
import shlex
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kafkadrill.errors import ScenarioError, TopologyError
from kafkadrill.faults.base import FaultContext
from kafkadrill.faults.region import RegionOutage, RegionParams, start_nodes
from kafkadrill.runbooks.failover import (
    STOP_MM2_GRACE_SECONDS,
    RunbookAborted,
    RunbookContext,
    run_failover,
)
from kafkadrill.runbooks.offsets import CheckpointSet
from kafkadrill.runner import require_capabilities
from kafkadrill.runtimes.base import runtime_type
from kafkadrill.runtimes.external import nodestart
from kafkadrill.runtimes.external.plan import render_plan
from kafkadrill.runtimes.external.runtime import ExternalRuntime
from kafkadrill.scenario import Scenario
from kafkadrill.scenario.compile import compile_plan

# A stand-in for `systemctl stop mirrormaker2` & co: it records its argv and keeps the flow's
# state in a file, so `flow_state` answers what the last stop/start did.
FLOW_CTL = (
    "import sys, pathlib\n"
    "state, log, op = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]\n"
    "with log.open('a') as f: f.write(' '.join(sys.argv[3:]) + '\\n')\n"
    "if op == 'stop': state.write_text('down')\n"
    "elif op == 'start': state.write_text('running')\n"
    "elif op == 'state': print(state.read_text() if state.exists() else 'running')\n"
)


def flow_cmd(tmp: Path, op: str, *extra: str) -> dict[str, Any]:
    state, log = str(tmp / "state"), str(tmp / "log")
    return {"argv": [sys.executable, "-c", FLOW_CTL, state, log, op, "{flow}", *extra]}


def failover_data(tmp: Path, **flow: Any) -> dict[str, Any]:
    commands = {
        "flow_stop": flow_cmd(tmp, "stop", "--timeout={timeout}"),
        "flow_start": flow_cmd(tmp, "start"),
        "flow_kill": flow_cmd(tmp, "kill"),
        "flow_state": flow_cmd(tmp, "state"),
    }
    return {
        "name": "ext-failover",
        "description": "t",
        "runtime": "external",
        "duration_seconds": 30,
        "workload": {
            "producers": {"site": "west"},
            "consumers": [{"group": "billing", "site": "west"}],
        },
        "timeline": [{"at": 5, "fault": "region.outage", "target": {"region": "east"}}],
        "runbooks": {
            "failover": {
                "trigger": {"on_fault": "region.outage"},
                "detect_failing_seconds": 0.2,
                "probe_interval_seconds": 0.05,
                "from": "primary",
                "to": "dr",
            }
        },
        "external": {
            "clusters": {
                "primary": {
                    "region": "east",
                    "bootstrap": "127.0.0.1:1",
                    "bootstrap_from": {"west": "127.0.0.1:3"},
                    "nodes": [0, 1, 2],
                },
                "dr": {"region": "west", "bootstrap": "127.0.0.1:2", "nodes": [0, 1, 2]},
            },
            "flows": [{"source": "primary", "target": "dr", "commands": commands, **flow}],
            "commands": {
                "node_kill": {"argv": ["kill-node", "{cluster}", "{node}"]},
                "node_start": {"argv": ["start-node", "{cluster}", "{node}"]},
                "node_state": {"argv": ["node-state", "{cluster}", "{node}"]},
            },
            "toxiproxy": {
                "api": "127.0.0.1:8474",
                "links": [
                    {
                        "link": "east<->west",
                        "proxies": [
                            {"name": "xdc-east-0", "client_site": "west", "server_site": "east"}
                        ],
                    }
                ],
            },
        },
    }


# ----- plan -------------------------------------------------------------------------------


def test_plan_prints_the_runbooks_exact_commands(tmp_path: Path) -> None:
    text = render_plan(compile_plan(Scenario.from_dict(failover_data(tmp_path))))
    runbook = text[text.index("RUNBOOKS") : text.index("OBJECTIVES")]
    grace = f"--timeout={STOP_MM2_GRACE_SECONDS:g}"
    assert f"stop MM2: {sys.executable} -c" in runbook
    assert shlex.join(["stop", "primary->dr", grace]) + "   [timeout 60 s]" in runbook
    assert "check:" in runbook and shlex.join(["state", "primary->dr"]) in runbook
    assert "if still stopped:" in runbook and shlex.join(["start", "primary->dr"]) in runbook
    assert "127.0.0.1:3 (primary as seen from west)" in runbook
    assert "commit the translated offsets of kd-<run-id>-billing on dr" in runbook
    assert "redirect: producers and consumers to dr (127.0.0.1:2)" in runbook


def test_plan_of_a_connect_flow_shows_the_rest_calls(tmp_path: Path) -> None:
    data = failover_data(tmp_path)
    flow = data["external"]["flows"][0]
    del flow["commands"]["flow_stop"], flow["commands"]["flow_start"]
    del flow["commands"]["flow_state"]
    flow["connect"] = {"url": "http://connect-west:8083", "connectors": ["mm2-src"]}
    text = render_plan(compile_plan(Scenario.from_dict(data)))
    assert (
        "stop MM2: Kafka Connect pause: PUT http://connect-west:8083/connectors/mm2-src/pause"
        in (text)
    )
    assert "check:   Kafka Connect connector status" in text


def test_timeout_placeholder_only_in_stops(tmp_path: Path) -> None:
    data = copy.deepcopy(failover_data(tmp_path))
    data["external"]["flows"][0]["commands"]["flow_start"] = flow_cmd(
        tmp_path, "start", "{timeout}"
    )
    with pytest.raises(ScenarioError, match=r"flow_start: \{timeout\} has a value only in"):
        Scenario.from_dict(data)


def test_failover_without_a_way_to_stop_the_flow_is_refused(tmp_path: Path) -> None:
    data = failover_data(tmp_path)
    del data["external"]["flows"][0]["commands"]["flow_stop"]
    s = Scenario.from_dict(data)
    with pytest.raises(ScenarioError, match=r"runbook failover needs \['flow.stop'\]"):
        require_capabilities(compile_plan(s), runtime_type("external"))


# ----- the runbook through commands ---------------------------------------------------------


class _History:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def append(self, typ: str, **fields: Any) -> None:
        self.events.append((typ, fields))


class _Clients:
    """The Kafka side of the runbook, stubbed: it is not what this test is about."""

    def __init__(self) -> None:
        self.created: list[tuple[str, str]] = []
        self.offsets: list[tuple[str, str]] = []

    def create_topic(self, bootstrap: str, name: str, *_a: Any) -> bool:
        self.created.append((bootstrap, name))
        return True

    def read_checkpoints(self, bootstrap: str, source_alias: str) -> CheckpointSet:
        return CheckpointSet()

    def set_group_offsets(self, bootstrap: str, group: str, offsets: Any) -> None:
        self.offsets.append((bootstrap, group))


class _Client:
    def __init__(self, name: str) -> None:
        self.spec = SimpleNamespace(name=name, group="billing")
        self.paused = threading.Event()
        self.moved: list[tuple[str, str | None]] = []

    def redirect(self, cluster: str, site: str | None = None) -> None:
        self.moved.append((cluster, site))


def _runtime(data: dict[str, Any], workdir: Path) -> tuple[ExternalRuntime, _History]:
    s = Scenario.from_dict(data)
    assert s.external is not None
    # The workdir holds the undo journal (written before every change).
    rt = ExternalRuntime(s.to_topology(), workdir, external=s.external, confirmed=True)
    history = _History()
    rt.attach_history(history)
    rt.clients = _Clients()  # type: ignore[assignment]
    return rt, history


def _ctx(rt: ExternalRuntime, history: _History) -> RunbookContext:
    return RunbookContext(
        rt,
        history,
        [_Client("p0")],
        [_Client("c0")],
        "orders",
        threading.Event(),  # type: ignore[arg-type]
    )


def _failover(rt: ExternalRuntime, ctx: RunbookContext) -> None:
    run_failover(
        ctx,
        source="primary",
        target="dr",
        detect_seconds=0.2,
        probe_interval=0.05,
        stop_mm2=True,
        translate_offsets=True,
    )


def test_failover_stops_the_flow_through_its_command_and_checks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, history = _runtime(failover_data(tmp_path), tmp_path)
    probed: list[str] = []
    monkeypatch.setattr(rt, "ping", lambda addr, timeout=1.0: probed.append(addr))  # the outage
    ctx = _ctx(rt, history)
    _failover(rt, ctx)
    assert set(probed) == {"127.0.0.1:3"}  # primary as seen from dr's region, not from east
    ran = [f for t, f in history.events if t == "adapter.exec"]
    assert [(e["operation"], e["ok"]) for e in ran] == [("flow_stop", True), ("flow_state", True)]
    grace = f"--timeout={STOP_MM2_GRACE_SECONDS:g}"
    assert ran[0]["command"].endswith(shlex.join(["stop", "primary->dr", grace]))
    steps = {f["step"]: f for t, f in history.events if t == "runbook.step" and f["status"] == "ok"}
    assert steps["stop_mm2"]["detail"]["mm2_alive"] is False
    assert rt.flows_stopped == {"primary->dr"}
    assert ctx.producers[0].moved == [("dr", "west")] and ctx.consumers[0].moved == [("dr", "west")]
    assert rt.clients.offsets == [("127.0.0.1:2", "billing")]  # type: ignore[attr-defined]
    # What the runbook stopped is started again when the runtime is torn down.
    rt._started = True
    monkeypatch.setattr(rt, "_cleanup", lambda: None)
    rt.stop()
    assert (tmp_path / "state").read_text() == "running"
    assert (tmp_path / "log").read_text().splitlines()[-1] == "start primary->dr"


def test_failover_whose_stop_command_fails_aborts_at_that_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = failover_data(tmp_path)
    data["external"]["flows"][0]["commands"]["flow_stop"] = {
        "argv": [sys.executable, "-c", "import sys; print('unit not found'); sys.exit(5)"]
    }
    rt, history = _runtime(data, tmp_path)
    monkeypatch.setattr(rt, "ping", lambda addr, timeout=1.0: None)
    ctx = _ctx(rt, history)
    with pytest.raises(RunbookAborted, match="stop_mm2"):
        _failover(rt, ctx)
    failed = [f for t, f in history.events if t == "runbook.step" and f["status"] == "fail"]
    assert failed[0]["step"] == "stop_mm2" and "exited 5" in failed[0]["detail"]["error"]
    assert not ctx.producers[0].moved  # no redirect after a failed stop: no split brain
    assert rt.flows_stopped == set()


def test_node_stop_gives_its_grace_as_timeout(tmp_path: Path) -> None:
    data = failover_data(tmp_path)
    data["external"]["commands"]["node_stop"] = {
        "argv": [sys.executable, "-c", "print('stopped')", "{node}", "--wait={timeout}"]
    }
    rt, history = _runtime(data, tmp_path)
    rt.node_stop("primary", 1)
    rt.node_stop("primary", 2, timeout=7.5)
    shown = [f["command"] for t, f in history.events if t == "adapter.exec"]
    assert shown[0].endswith("1 --wait=30") and shown[1].endswith("2 --wait=7.5")


def test_flow_alive_asks_the_state_command_sparingly_but_afresh_after_a_stop(
    tmp_path: Path,
) -> None:
    rt, history = _runtime(failover_data(tmp_path), tmp_path)

    def states() -> list[str]:
        return [f["operation"] for t, f in history.events if t == "adapter.exec"]

    assert rt.flow_alive("primary->dr") and rt.flow_alive("primary->dr")
    assert states() == ["flow_state"]  # the once-a-second monitor does not run it every time
    rt.flow_stop("primary->dr")
    assert not rt.flow_alive("primary->dr")
    assert states() == ["flow_state", "flow_stop", "flow_state"]
    rt.flow_start("primary->dr")
    assert rt.flow_alive("primary->dr") and states()[-2:] == ["flow_start", "flow_state"]


def test_isolation_scopes_every_producer_groups_topic(tmp_path: Path) -> None:
    from kafkadrill.scenario.scope import scope_scenario

    data = failover_data(tmp_path)
    data["topology"] = {"topics": [{"name": "orders"}, {"name": "payments"}]}
    data["workload"]["producers"] = [
        {"site": "west", "topic": "orders"},
        {"site": "east", "topic": "payments"},
    ]
    s = Scenario.from_dict(data)
    prefix = runtime_type("external").powers.isolation_prefix(compile_plan(s))
    scoped, topics, _groups = scope_scenario(s, prefix, "R1")
    written = [p.topic for p in scoped.workload.producer_groups()]
    assert written == ["kd-r1-orders", "kd-r1-payments"], written
    assert topics == {"orders": "kd-r1-orders", "payments": "kd-r1-payments"}


# ----- region heal: nodes started together, each verified back (issue 19) -------------------

# A stand-in for `kubectl wait --for=condition=Ready` on a KRaft node: `start` blocks until
# every node of its cluster has been started (a lone node has no quorum) and gives up after
# 5 s; nodes listed in argv[5] fail at once. Start and end times are kept for the overlap check.
NODE_CTL = (
    "import sys, time, pathlib\n"
    "d, op, c, n, failing = pathlib.Path(sys.argv[1]), *sys.argv[2:6]\n"
    "state = d / f'{c}-{n}.state'\n"
    "if op == 'kill': state.write_text('down')\n"
    "elif op == 'state': print(state.read_text() if state.exists() else 'running')\n"
    "elif op == 'start':\n"
    "    (d / f'{c}-{n}.began').write_text(repr(time.time()))\n"
    "    if n in failing.split(','): print(f'node {n}: quorum not reached'); sys.exit(3)\n"
    "    deadline = time.time() + 5\n"
    "    while len(list(d.glob(f'{c}-*.began'))) < 3:\n"
    "        if time.time() > deadline: print('alone: no quorum, exiting'); sys.exit(4)\n"
    "        time.sleep(0.02)\n"
    "    state.write_text('running')\n"
    "    (d / f'{c}-{n}.ended').write_text(repr(time.time()))\n"
)


def node_data(tmp: Path, failing: str = "") -> dict[str, Any]:
    data = failover_data(tmp)
    nodes = tmp / "nodes"
    nodes.mkdir(exist_ok=True)
    ctl = tmp / "node_ctl.py"  # a file: its braces are Python's, not command placeholders
    ctl.write_text(NODE_CTL)
    data["external"]["commands"] = {
        f"node_{op}": {
            "argv": [sys.executable, str(ctl), str(nodes), op, "{cluster}", "{node}", failing]
        }
        for op in ("kill", "start", "state")
    }
    return data


def _region_down(rt: ExternalRuntime) -> RegionOutage:
    outage = RegionOutage(FaultContext(rt), RegionParams(region="east"))
    for node in (0, 1, 2):
        rt.node_kill("primary", node)
        outage.killed.append(("primary", node))
    return outage


def test_region_heal_starts_the_nodes_together_and_verifies_each_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, history = _runtime(node_data(tmp_path), tmp_path)
    monkeypatch.setattr(rt, "_registered_nodes", lambda cluster: {0, 1, 2})
    outage = _region_down(rt)
    detail = outage.heal()  # one at a time, the first start would give up alone after 5 s
    nodes = tmp_path / "nodes"
    began = [float((nodes / f"primary-{n}.began").read_text()) for n in (0, 1, 2)]
    ended = [float((nodes / f"primary-{n}.ended").read_text()) for n in (0, 1, 2)]
    assert max(began) < min(ended)  # every start ran while the others were running
    assert rt.down == set()
    for n in (0, 1, 2):
        assert f"primary/{n}: ran" in detail and "rejoined: running after" in detail
    assert detail.count("in the cluster metadata after") == 3 and "(planned " in detail
    ops = [f["operation"] for t, f in history.events if t == "adapter.exec"]
    assert ops.count("node_start") == 3 and ops.index("node_state") > ops.index("node_start")


def test_region_heal_names_every_node_that_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, _history = _runtime(node_data(tmp_path, failing="0,2"), tmp_path)
    monkeypatch.setattr(rt, "_registered_nodes", lambda cluster: {0, 1, 2})
    outage = _region_down(rt)
    with pytest.raises(TopologyError) as exc:
        outage.heal()
    text = str(exc.value)
    assert "2 of 3 node(s) did not start" in text, text
    assert "primary/0: node_start" in text and "node 0: quorum not reached" in text
    assert "primary/2: node_start" in text and "node 2: quorum not reached" in text
    assert "primary/1:" not in text
    assert rt.down == {("primary", 0), ("primary", 2)}  # still to restart at the end


def test_restore_all_starts_the_down_nodes_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, _history = _runtime(node_data(tmp_path), tmp_path)
    monkeypatch.setattr(rt, "_registered_nodes", lambda cluster: {0, 1, 2})
    _region_down(rt)
    assert rt.restore_all() == [f"restarted primary-n{n}" for n in (0, 1, 2)]
    assert rt.down == set()


def test_node_start_is_done_only_once_the_node_rejoined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nodestart, "REJOIN_POLL", 0.01)
    data = failover_data(tmp_path)
    # Its start command returns at once; the node says `running` only at the third look.
    looks = tmp_path / "looks"
    data["external"]["commands"]["node_state"] = {
        "argv": [
            sys.executable,
            "-c",
            "import sys, pathlib; p = pathlib.Path(sys.argv[1]); "
            "n = int(p.read_text() or 0) + 1 if p.exists() else 1; p.write_text(str(n)); "
            "print('running' if n >= 3 else 'down')",
            str(looks),
        ]
    }
    data["external"]["commands"]["node_kill"] = {"argv": [sys.executable, "-c", "pass"]}
    data["external"]["commands"]["node_start"] = {"argv": [sys.executable, "-c", "pass"]}
    rt, _history = _runtime(data, tmp_path)
    metadata = iter([None, {0, 2}, {0, 1, 2}])
    monkeypatch.setattr(rt, "_registered_nodes", lambda cluster: next(metadata))
    rt.node_kill("primary", 1)
    detail = rt.node_start("primary", 1)
    assert looks.read_text() == "3"
    assert "rejoined: running after" in detail and "in the cluster metadata after" in detail
    assert "; down " in detail and "(planned " in detail
    with pytest.raises(StopIteration):
        next(metadata)  # the third answer, with node 1 registered, ended the wait


def test_a_node_that_does_not_rejoin_fails_the_heal_with_the_last_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nodestart, "REJOIN_POLL", 0.01)
    monkeypatch.setattr(nodestart, "REJOIN_TIMEOUT", 0.2)
    data = failover_data(tmp_path)
    data["external"]["commands"]["node_start"] = {"argv": [sys.executable, "-c", "pass"]}
    data["external"]["commands"]["node_state"] = {
        "argv": [sys.executable, "-c", "print('running')"]
    }
    rt, _history = _runtime(data, tmp_path)
    monkeypatch.setattr(rt, "_registered_nodes", lambda cluster: {0, 2})
    with pytest.raises(
        TopologyError,
        match=r"primary/1 rejoining its cluster not verified after "
        r"0\.2 s: registered brokers \[0, 2\]",
    ):
        rt.node_start("primary", 1)


def test_start_nodes_on_a_runtime_without_the_power_still_names_every_failure() -> None:
    class OneAtATime:  # a runtime whose node_start does not wait (local, compose)
        def __init__(self) -> None:
            self.started: list[tuple[str, int]] = []

        def node_start(self, cluster: str, node: int) -> str:
            self.started.append((cluster, node))
            if node != 1:
                raise TopologyError(f"no such container {cluster}-{node}")
            return "ok"

    rt = OneAtATime()
    with pytest.raises(TopologyError) as exc:
        start_nodes(rt, [("primary", 0), ("primary", 1), ("primary", 2)])  # type: ignore[arg-type]
    assert rt.started == [("primary", 0), ("primary", 1), ("primary", 2)]
    assert "2 of 3 node(s) did not start" in str(exc.value)
    assert "primary/0: no such container primary-0" in str(exc.value)
    assert "primary/2: no such container primary-2" in str(exc.value)
