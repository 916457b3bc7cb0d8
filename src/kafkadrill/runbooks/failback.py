"""Failback: return producers and consumers to the original cluster after a failover.

Every strategy starts the reverse flow (current -> original), waits until it caught up with the
producers paused, translates offsets back, lifts a fence, and switches the clients back. They
differ in what happens to the original's own copy of the workload topic, whose *divergent
tail* (records it acknowledged that never reached the DR cluster) is still there:

- `reverse` (the default): nothing is touched; the tail stays in the original's topic.
- `rebuild`: the original's topic is deleted and refilled from the DR cluster's copy of it
  (what the DR side holds of the original's history; seed 002's "delete the topics in the
  primary cluster and mirror them back"). The tail is discarded; MM2's duplicates in that copy
  come back with it, and offsets follow the copy.
- `truncate`: the original keeps, per partition, the prefix of its records that reached the
  DR cluster and loses the rest (an offset-preserving truncation, like Cluster Linking's
  truncate-and-restore). The tail is discarded; offsets of what is kept do not move, and the
  consumer groups' committed offsets on the topic are put back (capped at the new end: the
  topic is rewritten here, and a deleted topic takes its committed offsets with it). A
  `rebuild` does not restore them: its offsets follow the copy, so groups start over.

The step's evidence says how many records each strategy kept and discarded; the figures in
the report come from the checkers (divergent tail, loss, duplicates, re-reads).
"""

from __future__ import annotations

from typing import Any

from kafkadrill.runbooks.failover import (
    STILL_SECONDS,
    apply_translated_offsets,
    groups_of,
    wait_replicated,
    written_in_transactions,
)
from kafkadrill.runbooks.fencing import FENCE_KEY, unfence
from kafkadrill.runbooks.steps import RunbookAborted, RunbookContext, step
from kafkadrill.runtimes.base import RewritesTopicsByCommand
from kafkadrill.topology import Flow

STRATEGIES = ("reverse", "rebuild", "truncate")


def run_failback(
    ctx: RunbookContext,
    *,
    original: str,
    current: str,
    catch_up_timeout: float,
    translate_offsets: bool,
    strategy: str = "reverse",
) -> None:
    """Reverse replication current->original, let it catch up, switch clients back."""
    rt = ctx.runtime
    rb = "failback"
    original_site = rt.topology.cluster(original).region
    ctx.results["failback_started"] = True
    with step(ctx, rb, "wait_original_healthy") as d:
        rt.wait_healthy(original, timeout=90)
        d["healthy"] = True
        d["strategy"] = strategy
    first = rt.topology.flows[0] if rt.topology.flows else None
    reverse = Flow(
        current,
        original,
        dict(first.properties) if first else {},
        mode=first.mode if first else "dedicated",
    )
    with step(ctx, rb, "start_reverse_mm2") as d:
        d["started"] = rt.flow_start(reverse)
        d["flow"] = reverse.name
    with step(ctx, rb, "stop_producers") as d:
        for p in ctx.producers:
            p.paused.set()
        d["producers"] = [p.spec.name for p in ctx.producers]
    if strategy != "reverse":
        with step(ctx, rb, f"{strategy}_topic") as d:
            # What is rewritten: the checkers compare offsets only within one incarnation of
            # a topic, and a rewrite gives the old offsets to other records.
            d["cluster"], d["topic"] = original, ctx.topic
            by_command = (
                rt.rewrite_topic_by_command(strategy, original, current, ctx.topic)
                if isinstance(rt, RewritesTopicsByCommand)
                else None
            )
            if by_command is not None:
                d["command"] = by_command  # the user's own (e.g. truncate-and-restore)
            else:
                d.update(discard_tail(ctx, original, current, strategy))
    with step(ctx, rb, "wait_caught_up") as d:
        # Transactional: the copy never reaches the source's end offsets (control records).
        still = STILL_SECONDS if written_in_transactions(ctx.producers, ctx.topic) else None
        lag = wait_replicated(
            rt, reverse, ctx.topic, catch_up_timeout, ctx.clock, ctx.stop, still_for=still
        )
        d["remaining_lag"] = lag
        if still is not None:
            d["caught_up_when"] = f"both ends unchanged for {still:g} s (transactional topic)"
        if lag:
            raise RunbookAborted(f"reverse replication still {lag} records behind")
    with step(ctx, rb, "stop_reverse_mm2") as d:
        d["stopped"] = rt.flow_stop(reverse)
    if translate_offsets:
        with step(ctx, rb, "translate_offsets") as d:
            d.update(apply_translated_offsets(ctx, cluster=original, source_alias=current))
    if FENCE_KEY in ctx.results:  # the original takes writes again
        with step(ctx, rb, "unfence") as d:
            d.update(unfence(ctx) or {})
    if ctx.schemas is not None:  # the application registers on the original's registry again
        ctx.schemas.redirect(original)
    with step(ctx, rb, "redirect_producers") as d:
        for p in ctx.producers:
            p.redirect(original, original_site)
            p.paused.clear()
    with step(ctx, rb, "redirect_consumers") as d:
        for c in ctx.consumers:
            c.redirect(original, original_site)
        d["consumers"] = [c.spec.name for c in ctx.consumers]
    ctx.results["failed_back_to"] = original


def discard_tail(ctx: RunbookContext, original: str, current: str, strategy: str) -> dict[str, Any]:
    """Rewrite the original's workload topic per `strategy` (see the module doc)."""
    rt = ctx.runtime
    forward = next(
        (f for f in rt.topology.flows if f.source == original and f.target == current), None
    )
    if forward is None:
        raise RunbookAborted(f"no flow {original}->{current}: nothing tells what reached it")
    copy_name = forward.remote_topic(ctx.topic)
    mine = rt.clients.read_topic(rt.bootstrap(original), ctx.topic)
    copy = rt.clients.read_topic(rt.bootstrap(current), copy_name)
    before = sum(len(v) for v in mine.values())
    if strategy == "rebuild":
        keep = {p: copy.get(p, []) for p in mine}
    else:
        keep = mirrored_prefix(mine, {r.id for recs in copy.values() for r in recs})
    kept = sum(len(v) for v in keep.values())
    boot = rt.bootstrap(original)
    # Deleting a topic deletes the groups' committed offsets on it. An offset-preserving
    # truncation keeps them (capped at the new end); a rebuild from a copy cannot.
    saved = {g: rt.clients.group_offsets(boot, g) for g in groups_of(ctx.consumers)}
    written = rt.clients.rewrite_topic(boot, ctx.topic, keep)
    restored: dict[str, dict[str, int]] = {}
    if strategy == "truncate":
        for group, offsets in saved.items():
            mine_now = {
                (t, p): min(o, len(keep.get(p, [])))
                for (t, p), o in offsets.items()
                if t == ctx.topic
            }
            rt.clients.set_group_offsets(boot, group, mine_now)
            restored[group] = {f"{t}-{p}": o for (t, p), o in sorted(mine_now.items())}
    kept_ids = {r.id for recs in keep.values() for r in recs}
    discarded = {r.id for recs in mine.values() for r in recs if r.id not in kept_ids}
    return {
        "records_before": before,
        "kept": kept,
        "written": written,
        "discarded_ids": len(discarded),
        "from_copy": f"{current}:{copy_name}" if strategy == "rebuild" else None,
        "group_offsets_restored": restored if strategy == "truncate" else None,
        "per_partition": {str(p): [len(mine[p]), len(keep.get(p, []))] for p in sorted(mine)},
    }


def mirrored_prefix(mine: dict[int, list[Any]], on_target: set[str | None]) -> dict[int, list[Any]]:
    """Per partition, the records up to the first one the target does not hold (MM2 copies a
    partition in order, so what reached the target is a prefix; a record without an id, e.g.
    someone else's, counts as held)."""
    out: dict[int, list[Any]] = {}
    for part, recs in mine.items():
        n = 0
        while n < len(recs) and (recs[n].id is None or recs[n].id in on_target):
            n += 1
        out[part] = recs[:n]
    return out
