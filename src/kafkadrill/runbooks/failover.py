"""Automated active-passive failover, as an operator would run it (seed 004's procedure).

detect (primary health probe failing for N s) -> decide -> stop MM2 (no split brain) ->
prepare DR topics -> translate consumer offsets from MM2 checkpoints and set them on the DR
groups -> redirect producers -> redirect consumers. Every step is a `runbook.step` event
(start, then ok or fail) so the RTO phases come from the history, not from timers here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kafkadrill.clock import REAL, Clock
from kafkadrill.plan import FencePlan, StragglerPlan
from kafkadrill.runbooks.acls import grant_on_target
from kafkadrill.runbooks.fencing import fence_writes
from kafkadrill.runbooks.offsets import not_ready, readiness, translate
from kafkadrill.runbooks.restore import restore_backup
from kafkadrill.runbooks.schemas import registry_read_write, registry_replica, schema_check
from kafkadrill.runbooks.steps import RunbookAborted, RunbookContext, RunbookRefused, step
from kafkadrill.runtimes.base import Cap, Runtime
from kafkadrill.topology import Flow

# What each runbook needs of a runtime (checked before a drill starts).
FAILOVER_NEEDS = frozenset({Cap.FLOW_STOP})
FAILBACK_NEEDS = frozenset({Cap.FLOW_START, Cap.FLOW_STOP})
# How long the failover's "stop MM2" waits for a graceful stop before killing it (a graceful
# MM2 shutdown waits on the dead primary for much longer; an operator would not wait either).
# Also shown by `kafkadrill plan` as the {timeout} of a user's flow_stop command.
STOP_MM2_GRACE_SECONDS = 5.0


def cluster_answers(rt: Runtime, cluster: str, site: str) -> bool:
    """The health probe: does any node of `cluster` answer a Kafka request from `site`?

    The nodes are asked at once: behind a black hole (a cut link) each probe costs its whole
    timeout, and asked one after the other a 3-node cluster took 3 s per round, stretching
    detection far beyond `detect_failing_seconds`."""
    addrs = rt.bootstrap(cluster, from_site=site).split(",")
    with ThreadPoolExecutor(max_workers=len(addrs)) as pool:
        return any(r is not None for r in pool.map(lambda a: rt.ping(a, 1.0), addrs))


def wait_failing(
    ctx: RunbookContext, cluster: str, site: str, seconds: float, interval: float
) -> float:
    """Block until the probe has failed continuously for `seconds`; returns when it began."""
    first_fail: float | None = None
    while not ctx.stop.is_set():
        now = ctx.clock.monotonic()
        if cluster_answers(ctx.runtime, cluster, site):
            first_fail = None
        else:
            first_fail = first_fail or now
            if now - first_fail >= seconds:
                return first_fail
        ctx.clock.wait(ctx.stop, interval)
    raise RunbookAborted("drill ended before the failure was detected")


def ensure_topic_like(rt: Runtime, source: str, target: str, topic: str) -> bool:
    """Create `topic` on `target` with the source's partition count; False if it existed."""
    spec = next((t for t in rt.topology.cluster(source).topics if t.name == topic), None)
    parts = spec.partitions if spec else 3
    rf = min(spec.replication_factor if spec else 3, rt.topology.cluster(target).size)
    cfg = dict(spec.config) if spec else {}
    if "min.insync.replicas" in cfg and int(cfg["min.insync.replicas"]) > rf:
        cfg["min.insync.replicas"] = str(rf)
    return rt.clients.create_topic(rt.bootstrap(target), topic, parts, rf, cfg)


def groups_of(consumers: list[Any]) -> list[str]:
    return sorted({c.spec.group for c in consumers})


def apply_translated_offsets(
    ctx: RunbookContext, *, cluster: str, source_alias: str
) -> dict[str, Any]:
    """Decode `<source>.checkpoints.internal` on `cluster` and set every workload group's
    committed offsets there; returns the evidence for the runbook step."""
    rt = ctx.runtime
    cps = rt.clients.read_checkpoints(rt.bootstrap(cluster), source_alias)
    applied: dict[str, dict[str, int]] = {}
    used: dict[str, list[list[Any]]] = {}
    for group in groups_of(ctx.consumers):
        offsets = translate(cps, group)
        rt.clients.set_group_offsets(rt.bootstrap(cluster), group, offsets)
        applied[group] = {f"{t}-{p}": o for (t, p), o in sorted(offsets.items())}
        # What the translation rested on, for the checkpoints checker: per partition the
        # upstream offset the checkpoint covers, its downstream offset and when MM2 wrote it.
        used[group] = [
            [cp.topic, cp.partition, cp.upstream_offset, cp.downstream_offset, cp.emitted_ms]
            for key, cp in sorted(cps.items())
            if key[0] == group
        ]
    return {
        "checkpoints": len(cps),
        "malformed": cps.malformed,
        "offsets": applied,
        "used": used,
    }


def check_readiness(
    ctx: RunbookContext, flow: Flow, max_age_s: float | None
) -> tuple[dict[str, Any], list[str]]:
    """Per workload group, the MM2 checkpoints the translation would rest on: one for every
    partition of the workload topic's copy, and how old the oldest is. Returns the evidence
    and, with a gate (`max_age_s`), why the failover must not go on ([] = ready). Readiness
    that cannot be read is recorded; it stops the failover only under a gate."""
    rt = ctx.runtime
    out: dict[str, Any] = {"gate_seconds": max_age_s}
    try:
        bootstrap = rt.bootstrap(flow.target)
        remote = flow.remote_topic(ctx.topic)
        cps = rt.clients.read_checkpoints(bootstrap, flow.source)
        parts = [(remote, p) for p in sorted(rt.clients.log_starts(bootstrap, remote))]
    except Exception as exc:  # the DR side not answering is itself the answer, under a gate
        out["error"] = repr(exc)
        return out, ([f"readiness unknown ({exc!r})"] if max_age_s is not None else [])
    state = readiness(cps, groups_of(ctx.consumers), parts, int(time.time() * 1000))
    out["groups"] = state
    why = not_ready(state, max_age_s) if max_age_s is not None else []
    if why:
        out["not_ready"] = why
    return out, why


def run_failover(
    ctx: RunbookContext,
    *,
    source: str,
    target: str,
    detect_seconds: float,
    probe_interval: float,
    stop_mm2: bool,
    translate_offsets: bool,
    fence: FencePlan | None = None,
    stragglers: StragglerPlan | None = None,
    on_done: Callable[[], None] | None = None,
    max_checkpoint_age: float | None = None,
    restore: bool = False,
    grant_acls: bool = False,
) -> None:
    rt = ctx.runtime
    rb = "failover"
    target_site = rt.topology.cluster(target).region
    flow = next((f for f in rt.topology.flows if f.source == source and f.target == target), None)
    with step(ctx, rb, "detect") as d:
        began = wait_failing(ctx, source, target_site, detect_seconds, probe_interval)
        d["probe"] = f"no node of {source} answered from {target_site}"
        d["failing_for_s"] = round(ctx.clock.monotonic() - began, 3)
    if translate_offsets and flow is not None:
        with step(ctx, rb, "readiness") as d:
            evidence, why = check_readiness(ctx, flow, max_checkpoint_age)
            d.update(evidence)
            if why:
                raise RunbookRefused("not ready to fail over: " + "; ".join(why))
    with step(ctx, rb, "decide") as d:
        d["decision"] = f"fail over {source} -> {target} (automated runbook, no human wait)"
        d["from"], d["to"] = source, target
        d["fence"] = None if fence is None else fence.position
    switch_registry = registry_replica(ctx, target)
    if switch_registry:
        with step(ctx, rb, "schema_check") as d:
            d.update(schema_check(ctx, source, target))
    if fence is not None and fence.position == "before_redirect":
        # First: every step before the fence is a window in which a client that missed the
        # redirect can still be acknowledged by the old primary.
        with step(ctx, rb, "fence") as d:
            d.update(fence_writes(ctx, source, fence))
    if stop_mm2 and flow is not None:
        with step(ctx, rb, "stop_mm2") as d:
            d["stopped"] = rt.flow_stop(flow, timeout=STOP_MM2_GRACE_SECONDS)
            d["mm2_alive"] = rt.flow_alive(flow)
    with step(ctx, rb, "prepare_topics") as d:
        d["created"] = ensure_topic_like(rt, source, target, ctx.topic)
        if ctx.derived_topics:
            d["created_derived"] = {
                t: ensure_topic_like(rt, source, target, t) for t in ctx.derived_topics
            }
    if restore:
        # The backup is the only copy (or the one chosen): groups on the restored cluster have
        # no offsets there, so they start where their auto.offset.reset says.
        with step(ctx, rb, "restore") as d:
            d.update(restore_backup(ctx, target))
    elif translate_offsets:
        with step(ctx, rb, "translate_offsets") as d:
            d.update(apply_translated_offsets(ctx, cluster=target, source_alias=source))
            ctx.results["translated"] = d["offsets"]
    n_late = min(stragglers.producers, len(ctx.producers)) if stragglers else 0
    movers = ctx.producers[: len(ctx.producers) - n_late]
    late = ctx.producers[len(movers) :]
    if grant_acls:
        with step(ctx, rb, "grant_acls") as d:
            d.update(grant_on_target(rt, ctx.history, ctx.acls, source, target))
    if switch_registry:
        with step(ctx, rb, "registry_read_write") as d:
            d.update(registry_read_write(ctx, target))
    with step(ctx, rb, "redirect_producers") as d:
        for p in movers:
            p.paused.clear()
            p.redirect(target, target_site)
        d["producers"] = [p.spec.name for p in movers]
        d["stragglers"] = [p.spec.name for p in late]
    with step(ctx, rb, "redirect_consumers") as d:
        for c in ctx.consumers:
            c.paused.clear()
            c.redirect(target, target_site)
        d["consumers"] = [c.spec.name for c in ctx.consumers]
    ctx.results["failed_over_to"] = target
    if fence is not None and fence.position == "after_redirect":
        with step(ctx, rb, "fence") as d:
            d.update(fence_writes(ctx, source, fence))
    if on_done:
        on_done()
    if late and stragglers is not None and stragglers.redirect_after_seconds is not None:
        redirect_stragglers(ctx, late, target, target_site, stragglers.redirect_after_seconds)


def redirect_stragglers(
    ctx: RunbookContext, late: list[Any], target: str, site: str, after: float
) -> None:
    """The producers that missed the redirect move `after` seconds later, if the fault phase
    lasts that long (else they never move: the checkers see no redirect for them)."""
    if ctx.faults_end is not None:
        left = ctx.faults_end - ctx.clock.monotonic()
        if left < after:
            ctx.clock.wait(ctx.stop, left)
            return
    if ctx.clock.wait(ctx.stop, after):
        return
    if ctx.results.get("failback_started"):
        return  # the failback moves everyone back; a late move to `target` would undo it
    with step(ctx, "failover", "redirect_stragglers") as d:
        for p in late:  # never un-paused here: a failback may have paused them
            p.redirect(target, site)
        d["producers"] = [p.spec.name for p in late]
        d["after_s"] = after


#: How long a transactional topic's ends must stand still to count as copied (see
#: wait_replicated): longer than MM2's usual pauses between polls and offset flushes.
STILL_SECONDS = 10.0


def written_in_transactions(producers: Iterable[Any], topic: str) -> bool:
    """Whether a producer (a ProducerSpec, or a client with a `spec`) writes `topic` in
    transactions: its copy then never reaches the source's end offsets."""
    specs = (getattr(p, "spec", p) for p in producers)
    return any(s.topic == topic and s.txn_size for s in specs)


def end_total(rt: Runtime, cluster: str, topic: str) -> int:
    return rt.clients.end_total(rt.bootstrap(cluster), topic)


def wait_replicated(
    rt: Runtime,
    flow: Flow,
    topic: str,
    timeout: float,
    clock: Clock = REAL,
    stop: threading.Event | None = None,
    still_for: float | None = None,
) -> int:
    """Wait until the flow's target holds as many records of `topic` as its source; -> lag.

    `still_for`: for a topic written in transactions, whose copy never reaches its source's
    end offsets (each commit or abort writes a control record per partition that MM2 does
    not copy): both ends unchanged for that many seconds also ends the wait, returning 0
    when the source has stopped moving and the copy has stopped catching up."""
    remote = flow.remote_topic(topic)
    deadline = clock.monotonic() + timeout
    stop = stop or threading.Event()
    lag = 0
    ends: tuple[int, int] | None = None
    since = clock.monotonic()
    while True:
        try:
            now_ends = (end_total(rt, flow.source, topic), end_total(rt, flow.target, remote))
            lag = max(0, now_ends[0] - now_ends[1])
        except Exception:  # a cluster still recovering answers slowly; keep waiting
            now_ends, lag = None, -1
        if now_ends is None or now_ends != ends:
            ends, since = now_ends, clock.monotonic()
        elif still_for is not None and clock.monotonic() - since >= still_for:
            return 0
        if lag == 0 or clock.monotonic() > deadline or stop.is_set():
            return lag
        clock.wait(stop, 1.0)
