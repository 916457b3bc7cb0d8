"""Heal a run whose runner died: undo what its journal says is still in force (issue 26).

`plan_heal` is pure: from the changes in force (journal.py), the scenario's `external:` section
and the topology, the steps a heal will take and the exact commands / API calls of each, as
`kafkadrill plan` renders them. `execute_heal` takes those steps with an ExternalRuntime built
for the run (never started: no steady state, no topic created): it loads what is in force into
the runtime's own state and undoes it with the runtime's own methods, in the order `stop()`
uses (links, paused nodes, down nodes together, run topics, flows), verifying each undo (the
toxic gone / the proxy enabled, the node back in its cluster, the flow running, no run topic
left). The runtime journals each undo as it does it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from kafkadrill.errors import TopologyError
from kafkadrill.isolation import scoped_name
from kafkadrill.runtimes.base import LinkEffect
from kafkadrill.runtimes.external.config import (
    CommandSpec,
    ExternalSpec,
    connector_path,
    render_template,
)
from kafkadrill.runtimes.external.config import show_command as _show
from kafkadrill.runtimes.external.journal import Pending
from kafkadrill.runtimes.external.nodestart import start_together, wait_until
from kafkadrill.topology import Topology

if TYPE_CHECKING:
    from kafkadrill.runtimes.external.runtime import ExternalRuntime

#: The order of the undos, as `stop()` does them (a flow restarts after the topic cleanup:
#: a running MirrorMaker 2 could copy a run topic again between the deletions on each side).
# A fence is lifted once its cluster is back (nodes restarted, links restored) and before
# the run's topics go (its ACLs name one of them).
ORDER = ("toxic", "proxy_disabled", "node_paused", "node_down", "fence", "topic", "flow_stopped")
FLOW_RUNNING_TIMEOUT = 120.0  # seconds for a restarted flow to be seen running
TOPICS_GONE_TIMEOUT = 30.0  # seconds for deleted run topics to leave the metadata


@dataclass(frozen=True)
class HealStep:
    """One undo: what it undoes, how (the runtime operation), and what it will run."""

    undo: str
    target: str
    pending: tuple[Pending, ...]
    commands: tuple[str, ...]
    skip: str | None = None  # why nothing is done (e.g. isolation.keep_topics)


@dataclass
class HealResult:
    """What one step did: its commands as run, the result, the verification and the time."""

    step: HealStep
    ok: bool = False
    result: str = ""
    verified: bool = False
    verification: str = ""
    commands: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "undo": self.step.undo,
            "target": self.step.target,
            "undoes": [p.describe() for p in self.step.pending],
            "commands": self.commands,
            "result": self.result,
            "ok": self.ok,
            "verified": self.verified,
            "verification": self.verification,
            "seconds": round(self.seconds, 3),
        }


# ----- the plan (pure) ------------------------------------------------------------------------


def _cmd(spec: CommandSpec | None, values: dict[str, Any]) -> str:
    if spec is None:
        return "(no command configured)"
    return _show(render_template(spec, values), spec.shell)


def _node_values(topo: Topology, run_id: str, cluster: str, node: int) -> dict[str, Any]:
    # As ExternalRuntime._values: the command sees what it saw when the fault was injected.
    c = topo.cluster(cluster)
    return {
        "run_id": run_id,
        "cluster": cluster,
        "region": c.region,
        "node": node,
        "site": c.node(node).site,
    }


def _flow_commands(spec: ExternalSpec, topo: Topology, run_id: str, flow: str) -> list[str]:
    fs = spec.flow_spec(flow)
    cmds = spec.commands.merged(fs.commands if fs else None)
    src, _, dst = flow.partition("->")
    region = topo.cluster(dst).region if dst else ""
    values = {"run_id": run_id, "flow": flow, "source": src, "target": dst, "region": region}
    if cmds.flow_start is None and fs is not None and fs.connect is not None:
        base = fs.connect.url.rstrip("/")
        return [f"PUT {base}{connector_path(c, 'resume')}" for c in fs.connect.connectors]
    verify = "flow_state command" if cmds.flow_state is not None else "connector status"
    return [_cmd(cmds.flow_start, values), f"then wait until the flow runs ({verify})"]


def _step(p: Pending, spec: ExternalSpec, topo: Topology, run_id: str) -> HealStep:
    """The step undoing one change (nodes down and topics are grouped by the caller)."""
    api = f"http://{spec.toxiproxy.api}" if spec.toxiproxy else "(no Toxiproxy configured)"
    if p.op == "toxic":
        proxy, toxic = p.get("proxy"), p.get("toxic")
        return HealStep(
            "remove_toxic",
            f"{proxy}/{toxic}",
            (p,),
            (f"DELETE {api}/proxies/{proxy}/toxics/{toxic}",),
        )
    if p.op == "proxy_disabled":
        proxy = p.get("proxy")
        return HealStep(
            "enable_proxy", str(proxy), (p,), (f"POST {api}/proxies/{proxy} {{'enabled': True}}",)
        )
    if p.op in ("node_paused", "node_down"):
        cluster, node = str(p.get("cluster")), int(p.get("node"))
        op = "node_resume" if p.op == "node_paused" else "node_start"
        cmd = _cmd(
            getattr(spec.commands_for(cluster), op), _node_values(topo, run_id, cluster, node)
        )
        return HealStep(
            op,
            f"{cluster}/{node}",
            (p,),
            (cmd, "then wait until the node is back in its cluster's metadata"),
        )
    if p.op == "flow_stopped":
        flow = str(p.get("flow"))
        return HealStep("flow_start", flow, (p,), tuple(_flow_commands(spec, topo, run_id, flow)))
    if p.op == "fence":
        cluster, topic, boot = str(p.get("cluster")), str(p.get("topic")), str(p.get("bootstrap"))
        unfence = spec.commands_for(cluster).unfence
        if unfence is None:
            how = f"DeleteAcls at {boot}: the fence's ALLOW ALL and DENY WRITE on {topic}"
        else:
            vals = {"run_id": run_id, "cluster": cluster, "topic": topic, "bootstrap": boot}
            vals.update(region=topo.cluster(cluster).region, site=topo.cluster(cluster).region)
            how = _cmd(unfence, vals)
        return HealStep("unfence", f"{cluster}:{topic}", (p,), (how,))
    raise ValueError(f"no undo for {p.op}")


def plan_heal(
    pending: Sequence[Pending], spec: ExternalSpec, topology: Topology, run_id: str
) -> list[HealStep]:
    """The steps undoing `pending`, in the order of `stop()`. Pure."""
    steps: list[HealStep] = []
    for op in ORDER:
        items = [p for p in pending if p.op == op]
        if not items:
            continue
        if op != "topic":
            steps += [_step(p, spec, topology, run_id) for p in items]
            continue
        names = ", ".join(f"{p.get('cluster')}:{p.get('topic')}" for p in items)
        prefix = scoped_name(spec.isolation.prefix, run_id, "")
        skip = (
            "isolation.keep_topics: the run's topics are kept"
            if spec.isolation.keep_topics
            else None
        )
        steps.append(
            HealStep(
                "delete_topics",
                names,
                tuple(items),
                (
                    f"admin: delete every topic and group named {prefix}* (and "
                    f"replicated copies) on {', '.join(spec.clusters)}",
                ),
                skip,
            )
        )
    return steps


def render_heal(steps: Sequence[HealStep]) -> list[str]:
    """The lines `kafkadrill heal` prints before it acts (then redacted by the caller)."""
    lines = []
    for i, s in enumerate(steps, 1):
        lines.append(f"  {i}. {s.undo} {s.target}" + (f" -- SKIPPED: {s.skip}" if s.skip else ""))
        lines += [f"       undoes: {p.describe()}" for p in s.pending]
        if not s.skip:
            lines += [f"       runs:   {c}" for c in s.commands]
    return lines


# ----- the heal (acts through the runtime) ----------------------------------------------------


def load_pending(rt: ExternalRuntime, pending: Sequence[Pending]) -> None:
    """Put what the journal says is in force into a fresh runtime's own state, as if this
    process had done it: `restore_all`, `flow_start` and `_cleanup` then undo it."""
    for p in pending:
        if p.op == "node_down":
            rt.down.add((str(p.get("cluster")), int(p.get("node"))))
        elif p.op == "node_paused":
            rt.paused.add((str(p.get("cluster")), int(p.get("node"))))
        elif p.op == "flow_stopped":
            rt.flows_stopped.add(str(p.get("flow")))
        elif p.op == "topic":
            rt.created.append((str(p.get("cluster")), str(p.get("topic"))))
        elif p.op == "fence":
            continue  # lifted by its own step (`_undo_fence`), nothing to load
        elif rt.links is None:
            raise TopologyError(f"the journal names {p.describe()} but no Toxiproxy is configured")
        else:
            rt.links.effects.append(_effect(p))


def _effect(p: Pending) -> LinkEffect:
    toxic = p.op == "toxic"
    proxy = str(p.get("proxy"))
    handle = {
        "toxics": [(proxy, str(p.get("toxic")))] if toxic else [],
        "disabled": [] if toxic else [proxy],
    }
    return LinkEffect(p.op, (proxy,), (), p.id, handle=handle)  # detail: the journal's id


def _timed(res: HealResult, rt: ExternalRuntime, act: Callable[[], tuple[str, bool, str]]) -> None:
    """Run `act` (-> result, verified, verification) into `res` with its commands and time."""
    first = len(rt.recorder.records)
    t0 = time.monotonic()
    try:
        res.result, res.verified, res.verification = act()
        res.ok = True
    except Exception as exc:  # reported per step; the other steps still run
        res.result = f"failed: {exc}"
    res.seconds = time.monotonic() - t0
    res.commands += [r.command for r in rt.recorder.records[first:]]


def _undo_link(rt: ExternalRuntime, p: Pending) -> tuple[str, bool, str]:
    assert rt.links is not None
    effect = next(e for e in rt.links.effects if e.detail == p.id)
    done = rt.link_restore(effect)
    still, detail = rt.link_in_force(effect)
    return done, not still, ("gone" if not still else "STILL IN FORCE") + f": {detail}"


def _undo_paused(rt: ExternalRuntime, p: Pending) -> tuple[str, bool, str]:
    cluster, node = str(p.get("cluster")), int(p.get("node"))
    done = rt.node_resume(cluster, node)
    return done, True, rt._wait_rejoined(cluster, node)


def _undo_topics(rt: ExternalRuntime) -> tuple[str, bool, str]:
    rt._cleanup()
    left: list[str] = []

    def none_left() -> tuple[bool, str]:
        # Deleting is asynchronous on the brokers: look until the metadata no longer lists them.
        left[:] = [
            f"{cluster}:{t}"
            for cluster in rt.spec.clusters
            for t in rt._admin(cluster).list_topics(timeout=10).topics
            if t.startswith(rt.prefix)
        ]
        return not left, f"run topics left: {left}"

    try:
        waited = wait_until(f"no topic named {rt.prefix}*", none_left, TOPICS_GONE_TIMEOUT)
    except TopologyError as exc:
        return "deleted the run's topics and groups", False, str(exc)
    return "deleted the run's topics and groups", True, f"none left after {waited:.1f} s"


def _undo_flow(rt: ExternalRuntime, p: Pending) -> tuple[str, bool, str]:
    flow = str(p.get("flow"))
    done = rt.flow_start(flow)
    waited = wait_until(
        f"flow {flow} running",
        lambda: (rt.flow_alive(flow), f"state {rt.flow_state(flow)}"),
        FLOW_RUNNING_TIMEOUT,
    )
    return done, True, f"running after {waited:.1f} s"


def _undo_nodes(rt: ExternalRuntime, results: list[HealResult]) -> None:
    """Every down node started at once (a fully-down KRaft cluster needs its majority back
    together), each verified back in its cluster; one result per node."""
    heal_at = time.monotonic()
    by_node = {r.step.target: r for r in results}
    first = len(rt.recorder.records)

    def one(cluster: str, node: int) -> None:
        res = by_node[f"{cluster}/{node}"]
        t0 = time.monotonic()
        try:
            started = rt._start_verified(cluster, node, heal_at)
            res.ok, res.verified = True, True
            res.result, res.verification = started.how, started.rejoin
        except Exception as exc:
            res.result = f"failed: {exc}"
        res.seconds = time.monotonic() - t0

    start_together(
        [(str(p.get("cluster")), int(p.get("node"))) for r in results for p in r.step.pending], one
    )
    for rec in rt.recorder.records[first:]:
        if rec.target in by_node:
            by_node[rec.target].commands.append(rec.command)


def execute_heal(rt: ExternalRuntime, steps: Sequence[HealStep]) -> list[HealResult]:
    """Undo every step with `rt` (loaded with `load_pending`); one result per step, in order.
    Never raises for a failed undo: the result says it failed and why."""
    results = [HealResult(s) for s in steps]
    todo = [r for r in results if r.step.skip is None]
    for r in results:
        if r.step.skip is not None:
            r.ok, r.verified, r.result, r.verification = True, True, "skipped", r.step.skip
    nodes = [r for r in todo if r.step.undo == "node_start"]
    for r in todo:
        p = r.step.pending[0]
        if r.step.undo in ("remove_toxic", "enable_proxy"):
            _timed(r, rt, partial(_undo_link, rt, p))
        elif r.step.undo == "node_resume":
            _timed(r, rt, partial(_undo_paused, rt, p))
        elif r.step.undo == "node_start" and r is nodes[0]:
            _undo_nodes(rt, nodes)
        elif r.step.undo == "delete_topics":
            _timed(r, rt, partial(_undo_topics, rt))
        elif r.step.undo == "flow_start":
            _timed(r, rt, partial(_undo_flow, rt, p))
        elif r.step.undo == "unfence":
            _timed(r, rt, partial(_undo_fence, rt, p))
    return results


def _undo_fence(rt: ExternalRuntime, p: Pending) -> tuple[str, bool, str]:
    cluster, topic, boot = str(p.get("cluster")), str(p.get("topic")), str(p.get("bootstrap"))
    done = rt.unfence_writes(cluster, topic, boot)
    if rt.spec.commands_for(cluster).unfence is not None:
        return done, True, "the unfence command succeeded (its exit code is the verification)"
    left = rt.clients.fence_acls(boot, topic)
    return done, left == 0, f"{left} fence ACL(s) left on {topic}"
