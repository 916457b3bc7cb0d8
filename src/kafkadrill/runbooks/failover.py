"""Automated active-passive failover, as an operator would run it (seed 004's procedure).

detect (primary health probe failing for N s) -> decide -> stop MM2 (no split brain) ->
prepare DR topics -> translate consumer offsets from MM2 checkpoints and set them on the DR
groups -> redirect producers -> redirect consumers. Every step is a `runbook.step` event
(start, then ok or fail) so the RTO phases come from the history, not from timers here.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kafkadrill.faults.probe import kafka_ping
from kafkadrill.history import HistoryWriter
from kafkadrill.runbooks.offsets import CheckpointSet, latest_checkpoints, translate
from kafkadrill.topology.local import LocalRuntime
from kafkadrill.topology.model import Flow


class RunbookAborted(Exception):
    """A step failed; the failure is recorded in the history."""


@dataclass
class RunbookContext:
    runtime: LocalRuntime
    history: HistoryWriter
    producers: list[Any]
    consumers: list[Any]
    topic: str  # the workload topic (e.g. "orders")
    stop: threading.Event
    results: dict[str, Any] = field(default_factory=dict)


@contextmanager
def step(ctx: RunbookContext, runbook: str, name: str) -> Iterator[dict[str, Any]]:
    """Record one timed step; the body may fill `detail`."""
    detail: dict[str, Any] = {}
    ctx.history.append("runbook.step", runbook=runbook, step=name, status="start", detail=None)
    try:
        yield detail
    except Exception as exc:
        detail["error"] = repr(exc)
        ctx.history.append("runbook.step", runbook=runbook, step=name, status="fail", detail=detail)
        raise RunbookAborted(f"{runbook}/{name}: {exc}") from exc
    ctx.history.append("runbook.step", runbook=runbook, step=name, status="ok", detail=detail)


def cluster_answers(rt: LocalRuntime, cluster: str, site: str) -> bool:
    """The health probe: does any node of `cluster` answer a Kafka request from `site`?"""
    return any(
        kafka_ping(addr, 1.0) is not None
        for addr in rt.bootstrap(cluster, from_site=site).split(",")
    )


def wait_failing(
    ctx: RunbookContext, cluster: str, site: str, seconds: float, interval: float
) -> float:
    """Block until the probe has failed continuously for `seconds`; returns when it began."""
    first_fail: float | None = None
    while not ctx.stop.is_set():
        now = time.monotonic()
        if cluster_answers(ctx.runtime, cluster, site):
            first_fail = None
        else:
            first_fail = first_fail or now
            if now - first_fail >= seconds:
                return first_fail
        ctx.stop.wait(interval)
    raise RunbookAborted("drill ended before the failure was detected")


def read_checkpoints(
    rt: LocalRuntime, cluster: str, source_alias: str, timeout: float = 15.0
) -> CheckpointSet:
    """Read `<source>.checkpoints.internal` (partition 0) on `cluster` to its end."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    topic = f"{source_alias}.checkpoints.internal"
    c = Consumer(
        {
            "bootstrap.servers": rt.bootstrap(cluster),
            "log_level": 0,
            "group.id": f"kafkadrill-checkpoints-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    records: list[tuple[bytes | None, bytes | None]] = []
    try:
        md = c.list_topics(timeout=10)
        if topic not in md.topics:
            return latest_checkpoints([])
        _lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        if hi == 0:
            return latest_checkpoints([])
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout
        last = -1
        while last < hi - 1 and time.monotonic() < deadline:
            for m in c.consume(500, 0.5):
                if m.error() is None:
                    records.append((m.key(), m.value()))
                    last = m.offset()
                elif m.error().code() == -191:  # _PARTITION_EOF
                    last = max(last, hi - 1)
    finally:
        c.close()
    return latest_checkpoints(records)


def set_group_offsets(
    rt: LocalRuntime, cluster: str, group: str, offsets: dict[tuple[str, int], int]
) -> None:
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    if not offsets:
        return
    admin = AdminClient({"bootstrap.servers": rt.bootstrap(cluster), "log_level": 0})
    tps = [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]
    futs = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, tps)])
    for fut in futs.values():
        fut.result(timeout=15)


def ensure_topic_like(rt: LocalRuntime, source: str, target: str, topic: str) -> bool:
    """Create `topic` on `target` with the source's partition count; False if it existed."""
    from confluent_kafka.admin import AdminClient, NewTopic

    tgt = AdminClient({"bootstrap.servers": rt.bootstrap(target), "log_level": 0})
    if topic in tgt.list_topics(timeout=10).topics:
        return False
    spec = next((t for t in rt.topology.cluster(source).topics if t.name == topic), None)
    parts = spec.partitions if spec else 3
    rf = min(spec.replication_factor if spec else 3, rt.topology.cluster(target).size)
    cfg = dict(spec.config) if spec else {}
    if "min.insync.replicas" in cfg and int(cfg["min.insync.replicas"]) > rf:
        cfg["min.insync.replicas"] = str(rf)
    for fut in tgt.create_topics([NewTopic(topic, parts, rf, config=cfg)]).values():
        fut.result(timeout=30)
    return True


def groups_of(consumers: list[Any]) -> list[str]:
    return sorted({c.spec.group for c in consumers})


def apply_translated_offsets(
    ctx: RunbookContext, *, cluster: str, source_alias: str
) -> dict[str, Any]:
    """Decode `<source>.checkpoints.internal` on `cluster` and set every workload group's
    committed offsets there; returns the evidence for the runbook step."""
    cps = read_checkpoints(ctx.runtime, cluster, source_alias)
    applied: dict[str, dict[str, int]] = {}
    for group in groups_of(ctx.consumers):
        offsets = translate(cps, group)
        set_group_offsets(ctx.runtime, cluster, group, offsets)
        applied[group] = {f"{t}-{p}": o for (t, p), o in sorted(offsets.items())}
    return {"checkpoints": len(cps), "malformed": cps.malformed, "offsets": applied}


def run_failover(
    ctx: RunbookContext,
    *,
    source: str,
    target: str,
    detect_seconds: float,
    probe_interval: float,
    stop_mm2: bool,
    translate_offsets: bool,
    on_done: Callable[[], None] | None = None,
) -> None:
    rt = ctx.runtime
    rb = "failover"
    target_site = rt.topology.cluster(target).region
    flow = next((f for f in rt.topology.flows if f.source == source and f.target == target), None)
    with step(ctx, rb, "detect") as d:
        began = wait_failing(ctx, source, target_site, detect_seconds, probe_interval)
        d["probe"] = f"no node of {source} answered from {target_site}"
        d["failing_for_s"] = round(time.monotonic() - began, 3)
    with step(ctx, rb, "decide") as d:
        d["decision"] = f"fail over {source} -> {target} (automated runbook, no human wait)"
    if stop_mm2 and flow is not None:
        with step(ctx, rb, "stop_mm2") as d:
            # SIGTERM, then SIGKILL after 5 s: a graceful MM2 shutdown waits on the dead
            # primary for much longer, and an operator would not wait for it either.
            rt.stop_mm2(flow, timeout=5.0)
            d["mm2_alive"] = rt.mm2_alive(flow)
    with step(ctx, rb, "prepare_topics") as d:
        d["created"] = ensure_topic_like(rt, source, target, ctx.topic)
    if translate_offsets:
        with step(ctx, rb, "translate_offsets") as d:
            d.update(apply_translated_offsets(ctx, cluster=target, source_alias=source))
            ctx.results["translated"] = d["offsets"]
    with step(ctx, rb, "redirect_producers") as d:
        for p in ctx.producers:
            p.paused.clear()
            p.redirect(target, target_site)
        d["producers"] = [p.spec.name for p in ctx.producers]
    with step(ctx, rb, "redirect_consumers") as d:
        for c in ctx.consumers:
            c.paused.clear()
            c.redirect(target, target_site)
        d["consumers"] = [c.spec.name for c in ctx.consumers]
    ctx.results["failed_over_to"] = target
    if on_done:
        on_done()


def run_failback(
    ctx: RunbookContext,
    *,
    original: str,
    current: str,
    catch_up_timeout: float,
    translate_offsets: bool,
) -> None:
    """Reverse replication current->original, let it catch up, switch clients back."""
    rt = ctx.runtime
    rb = "failback"
    original_site = rt.topology.cluster(original).region
    with step(ctx, rb, "wait_original_healthy") as d:
        rt.wait_healthy(original, timeout=90)
        d["healthy"] = True
    reverse = Flow(
        current, original, dict(rt.topology.flows[0].properties) if rt.topology.flows else {}
    )
    with step(ctx, rb, "start_reverse_mm2") as d:
        rt.start_mm2(reverse)
        d["flow"] = reverse.name
    with step(ctx, rb, "stop_producers") as d:
        for p in ctx.producers:
            p.paused.set()
        d["producers"] = [p.spec.name for p in ctx.producers]
    with step(ctx, rb, "wait_caught_up") as d:
        lag = wait_replicated(rt, current, original, ctx.topic, catch_up_timeout)
        d["remaining_lag"] = lag
        if lag:
            raise RunbookAborted(f"reverse replication still {lag} records behind")
    with step(ctx, rb, "stop_reverse_mm2") as d:
        rt.stop_mm2(reverse)
        d["stopped"] = True
    if translate_offsets:
        with step(ctx, rb, "translate_offsets") as d:
            d.update(apply_translated_offsets(ctx, cluster=original, source_alias=current))
    with step(ctx, rb, "redirect_producers") as d:
        for p in ctx.producers:
            p.redirect(original, original_site)
            p.paused.clear()
    with step(ctx, rb, "redirect_consumers") as d:
        for c in ctx.consumers:
            c.redirect(original, original_site)
        d["consumers"] = [c.spec.name for c in ctx.consumers]
    ctx.results["failed_back_to"] = original


def end_total(rt: LocalRuntime, cluster: str, topic: str) -> int:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {"bootstrap.servers": rt.bootstrap(cluster), "group.id": "kafkadrill-lag", "log_level": 0}
    )
    try:
        md = c.list_topics(topic, timeout=5)
        if topic not in md.topics or md.topics[topic].error is not None:
            return 0
        return sum(
            c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
            for p in md.topics[topic].partitions
        )
    finally:
        c.close()


def wait_replicated(rt: LocalRuntime, source: str, target: str, topic: str, timeout: float) -> int:
    """Wait until `target` holds as many records of `source`'s topic as the source; -> lag."""
    remote = f"{source}.{topic}"
    deadline = time.monotonic() + timeout
    lag = 0
    while True:
        try:
            lag = max(0, end_total(rt, source, topic) - end_total(rt, target, remote))
        except Exception:  # a cluster still recovering answers slowly; keep waiting
            lag = -1
        if lag == 0 or time.monotonic() > deadline:
            return lag
        time.sleep(1.0)
