"""Checkpoints: what a failover's offset translation rested on, and what it cost each group.

The failover runbook's `translate_offsets` step records, per consumer group and partition, the
MirrorMaker 2 checkpoint it used: the upstream offset the checkpoint covers (U), the downstream
offset it set on the target (D) and when MM2 wrote it (`emitted_ms`). From that and the history:

- **checkpoint age at the decision**: the `decide` step's wall time minus `emitted_ms`, per
  group (its oldest partition) — how stale the translation's basis was when the decision fell;
- **translation distance**: per group, the sum over partitions of C - U, where C is the group's
  last committed offset on the failover's source before the translation: committed progress the
  checkpoint does not cover;
- **re-reads by cause**: every receipt on the target, after the translation, of a message the
  group had already received (a re-read, as the offsets checker counts them), judged by the
  message's offset o on the source partition it was acknowledged on:
  - `uncommitted_at_failover`: o >= C — read on the source, not yet committed when the service
    moved (the outage's share: commit more often to shrink it);
  - `stale_checkpoint`: U <= o < C — committed, but the newest checkpoint predates the commit
    (emit.checkpoints.interval.seconds, a stopped or lagging checkpoint connector);
  - `conservative_translation`: o < U — the checkpoint covered it, yet MM2's translation
    placed the group before it (since Kafka 3.5 it lands up to about offset.lag.max behind);
  - `no_checkpoint`: the translation had no checkpoint for the group's partition (never
    emitted: a new or idle group, checkpoints disabled or not yet written), so the group
    started where auto.offset.reset put it;
  - `unattributed`: no commit on the source, or no acknowledgement found for the message.
  Re-reads before the translation or on another cluster are not the failover's and are left
  out (`other_rereads`).

Figures only: the objective `max_consumer_rereads` judges the total; this explains it. Not
applicable (PASS, null figures) without a translate_offsets step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kafkadrill.checkers._common import (
    Verdict,
    by_id,
    by_id_values,
    cat_codes,
    consumer_rereads,
)
from kafkadrill.checkers.registry import checker
from kafkadrill.history import Ev, HistoryFrames
from kafkadrill.history.folds import runbook_steps

NAME = "checkpoints"
CAUSES = (
    "uncommitted_at_failover",
    "stale_checkpoint",
    "conservative_translation",
    "no_checkpoint",
    "unattributed",
)


def _step_event(frames: HistoryFrames, step: str) -> dict[str, Any] | None:
    """The `ok` event of the failover runbook's step `step` (None if it did not succeed)."""
    for s in runbook_steps(frames):
        if s.runbook == "failover" and s.step == step:
            done = [e for e in s.events if e.get("status") == "ok"]
            return done[-1] if done else None
    return None


def _source_topic(target_topic: str, source: str) -> str:
    # DefaultReplicationPolicy names the copy "<source>.<topic>"; an identity policy keeps it.
    prefix = f"{source}."
    return target_topic[len(prefix) :] if target_topic.startswith(prefix) else target_topic


def _committed(
    frames: HistoryFrames, source: str, before_seq: int
) -> dict[str, dict[tuple[str, int], int]]:
    """Per group: the highest offset committed on `source` per (topic, partition) before seq."""
    out: dict[str, dict[tuple[str, int], int]] = {}
    for e in frames.of_type(Ev.COMMIT):
        if e.get("cluster") != source or int(e.get("seq", 0)) >= before_seq:
            continue
        mine = out.setdefault(str(e.get("group")), {})
        for item in e.get("offsets") or []:
            if isinstance(item, list) and len(item) == 3 and int(item[2]) >= 0:
                key = (str(item[0]), int(item[1]))
                mine[key] = max(mine.get(key, -1), int(item[2]))
    return out


def _ages(used: list[list[Any]], decided_wall: float | None) -> dict[str, float | None]:
    ages: dict[str, float | None] = {}
    for topic, partition, _u, _d, emitted in used:
        key = f"{topic}-{partition}"
        if decided_wall is None or emitted is None:
            ages[key] = None
        else:
            ages[key] = round(max(0.0, decided_wall - float(emitted) / 1000.0), 3)
    return ages


def _acks_on(frames: HistoryFrames, cluster: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Over id codes: the topic, partition and offset of each id's first ack on `cluster`
    (topic as text, None / -1 where there is none)."""
    ok = frames.ok[(frames.ok["cluster"] == cluster).to_numpy()]
    names = np.array([str(t) for t in ok["topic"].cat.categories] + [None], dtype=object)
    topic_code = by_id_values(frames, ok, cat_codes(ok["topic"]), -1)
    return (
        names[np.where(topic_code >= 0, topic_code, len(names) - 1)],
        by_id(frames, ok, "partition", -1),
        by_id(frames, ok, "offset", -1),
    )


@checker(NAME, order=65)
def check_checkpoints(frames: HistoryFrames) -> Verdict:
    figures: dict[str, Any] = {"per_group": {}, "rereads_by_cause": None, "other_rereads": None}
    translated = _step_event(frames, "translate_offsets")
    decided = _step_event(frames, "decide")
    if translated is None or not isinstance(translated.get("detail"), dict):
        return Verdict(NAME, "PASS", figures, [], ["no translate_offsets step: not applicable"])
    detail = translated["detail"]
    used_all: dict[str, list[list[Any]]] = detail.get("used") or {}
    source = str((decided or {}).get("detail", {}).get("from") or "")
    target = str((decided or {}).get("detail", {}).get("to") or "")
    notes: list[str] = []
    recorded = "used" in detail  # older histories did not record what the translation used
    if not recorded:
        notes.append("the translate_offsets step did not record its checkpoints (older history)")
    elif not used_all:
        notes.append("the translation found no checkpoint for any workload group")
    decided_wall = float(decided["wall"]) if decided and "wall" in decided else None
    committed = _committed(frames, source, int(translated.get("seq", 0)))
    topic, part, off = _acks_on(frames, source)

    rr = consumer_rereads(frames)
    extra = rr["extra_rows"]
    after = (extra["seq"].to_numpy() > int(translated.get("seq", 0))) & (
        extra["cluster"] == target
    ).to_numpy()
    # Per group: (source topic, partition) -> the upstream offset its checkpoint covers.
    covers = {
        g: {(_source_topic(str(t), source), int(p)): int(u) for t, p, u, _d, _e in used}
        for g, used in used_all.items()
    }
    totals = dict.fromkeys(CAUSES, 0)
    for group, rows in extra[after].groupby("group", observed=True):
        group = str(group)
        cover = covers.get(group, {})
        commits = committed.get(group, {})
        causes = dict.fromkeys(CAUSES, 0)
        for code in rows["id_code"].to_numpy():
            t, p, o = topic[code], int(part[code]), int(off[code])
            u, c = cover.get((t, p)), commits.get((t, p))
            if recorded and t is not None and u is None:
                causes["no_checkpoint"] += 1
            elif t is None or o < 0 or c is None:
                causes["unattributed"] += 1
            elif o >= c:
                causes["uncommitted_at_failover"] += 1
            elif o >= u:
                causes["stale_checkpoint"] += 1
            else:
                causes["conservative_translation"] += 1
        for k, n in causes.items():
            totals[k] += n
        figures["per_group"].setdefault(group, {})["rereads_by_cause"] = causes
    for group, used in used_all.items():
        ages = _ages(used, decided_wall)
        known = [a for a in ages.values() if a is not None]
        commits = committed.get(group, {})
        distance = sum(max(0, commits[k] - u) for k, u in covers[group].items() if k in commits)
        row = figures["per_group"].setdefault(group, {})
        row.update(
            checkpoint_age_s=ages,
            max_checkpoint_age_s=max(known) if known else None,
            translation_distance=distance if commits else None,
        )
        row.setdefault("rereads_by_cause", dict.fromkeys(CAUSES, 0))
    figures["rereads_by_cause"] = totals
    figures["other_rereads"] = int(rr["rereads"]) - int(after.sum())
    return Verdict(NAME, "PASS", figures, [], notes)
