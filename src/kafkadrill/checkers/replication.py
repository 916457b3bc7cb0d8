"""Replication health per flow: when replication stopped, when each fault made that visible,
and how long after each heal data and MM2's heartbeats came back.

Read from the monitor's ``replication_lag`` probes only (the drill writes one per flow and topic
every second, and on the flow's first probe every ~2 s the ``heartbeat_age_s``: seconds since the
newest record of ``<source>.heartbeats`` on the target; MM2 keeps the original timestamp, so this
is how long ago the newest heartbeat that made it across was emitted). A probe with ``lag`` null
(a cluster did not answer) or ``heartbeat_age_s`` null (not readable) is no evidence either way:
it neither starts nor ends a stall.

Definitions (times are history ``t`` seconds; see docs/explanation/checkers.md):

- **data stall** (per flow and topic): a run of consecutive readable probes with ``lag > 0`` and
  the target's end offset not above the previous probe's, lasting at least DATA_STALL_S from the
  last probe before the run (where copying was last seen). ``start_t`` is that probe, ``end_t``
  the first probe after the run (the target advanced, or nothing was left to copy); null when
  the run lasts to the last probe. Probes without ``target_end`` fall back to "lag did not
  shrink". A transactional topic (``txn`` probes) never reaches lag 0 (control records are
  not copied): there a probe counts only if the source grew and the target did not.
- **heartbeat stall** (per flow): a run of consecutive heartbeat samples with age above
  HEARTBEAT_STALE_S. ``start_t`` = first such sample's ``t`` minus its age (when the newest
  heartbeat that got across was emitted), ``end_t`` the first sample after the run (null: stale
  to the last sample).
- per fault (fault.inject .. fault.heal by ``fault_id``; metadata changes are not faults) and
  flow, over the probes from the injection up to the next injection after this fault's heal:
  ``visible_after_s`` (inject -> first probe that an alert with these thresholds would fire on),
  ``data_resumed_after_heal_s`` (heal -> first probe where the target advanced or lag is 0, the
  slowest topic), ``caught_up_after_heal_s`` (heal -> lag back within the flow's steady lag: its
  largest lag before the first fault; when it never was: ``behind_after_heal_at_least_s``, heal
  -> the last probe, and ``lag_at_last_probe``, the backlog then),
  ``heartbeats_resumed_after_heal_s`` (heal -> first sample whose newest heartbeat was emitted
  after the heal, within HEARTBEAT_RESUME_SLACK_S, and is fresh),
  ``heartbeats_stale_after_heal_at_least_s`` (when they never resumed: heal -> the last
  sample, a lower bound), ``max_lag``, ``max_heartbeat_age_s``.

A measurement: PASS whenever computed (not applicable without probes: no flow); it fails no
drill on its own. Findings read these figures (heartbeats stale long after data resumed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kafkadrill.checkers._common import Verdict
from kafkadrill.checkers.recovery import fault_table, workload_end_t
from kafkadrill.checkers.registry import checker
from kafkadrill.checkers.timeline import fault_tags
from kafkadrill.history import Ev, HistoryFrames

NAME = "replication"
PROBE = "replication_lag"
#: A data stall lasts at least this long: three 1 s samples in a row showing a backlog the
#: target did not take (one or two are MM2's normal batching and poll latency).
DATA_STALL_S = 3.0
#: Heartbeats are stale above this age: MM2 emits one a second (emit.heartbeats.interval.seconds
#: 1 in our defaults), the copy adds about a second, the age is sampled every ~2 s; 10 s is
#: several missed heartbeats, never sampling noise.
HEARTBEAT_STALE_S = 10.0
#: A heartbeat emitted up to this long before the heal counts as "after the heal": one heartbeat
#: interval plus the copy's latency (a flow that never stopped shows ages of 1-2 s).
HEARTBEAT_RESUME_SLACK_S = 2.0


@dataclass(frozen=True)
class _Lag:
    t: float
    lag: float
    target_end: float | None
    source_end: float | None = None
    txn: bool = False  # lag also counts control records (commit/abort markers) never copied


@dataclass(frozen=True)
class _Stall:
    kind: str  # data | heartbeat
    topic: str | None
    start_t: float
    visible_t: float  # the first probe an alert with these thresholds fires on
    last_t: float  # the last probe of the run
    end_t: float | None  # None: still stalled at the last probe

    def covers(self, a: float, b: float) -> bool:
        """Overlaps [a, b]."""
        return self.start_t <= b and (self.end_t is None or self.end_t >= a)


@dataclass
class _Flow:
    lags: dict[str | None, list[_Lag]] = field(default_factory=dict)  # topic -> readable
    beats: list[tuple[float, float]] = field(default_factory=list)  # (t, heartbeat age)
    mm2_down: list[float] = field(default_factory=list)  # t of probes with mm2_alive false
    samples: int = 0
    unreadable: int = 0
    beats_unreadable: int = 0


def _num(v: Any) -> float | None:
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    return None


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def _count(v: float | None) -> int | float | None:
    """A record count as the probes gave it (an integer unless a probe wrote a fraction)."""
    return int(v) if v is not None and v.is_integer() else v


def _flows(frames: HistoryFrames) -> tuple[dict[str, _Flow], float | None]:
    """The probes per flow (in history order) and the t of the last one."""
    flows: dict[str, _Flow] = {}
    last: float | None = None
    for e in frames.of_type(Ev.PROBE):
        t = _num(e.get("t"))
        if e.get("name") != PROBE or t is None:
            continue
        last = t if last is None else max(last, t)
        f = flows.setdefault(str(e.get("flow") or "flow"), _Flow())
        f.samples += 1
        if e.get("mm2_alive") is False:
            f.mm2_down.append(t)
        lag = _num(e.get("lag"))
        if lag is None:
            f.unreadable += 1
        else:
            topic = e.get("topic")
            f.lags.setdefault(None if topic is None else str(topic), []).append(
                _Lag(
                    t,
                    lag,
                    _num(e.get("target_end")),
                    _num(e.get("source_end")),
                    e.get("txn") is True,
                )
            )
        if "heartbeat_age_s" in e:
            age = _num(e.get("heartbeat_age_s"))
            if age is None:
                f.beats_unreadable += 1
            else:
                f.beats.append((t, age))
    return flows, last


def _frozen(prev: _Lag, cur: _Lag) -> bool:
    """Nothing was copied between two probes while a backlog waited. A transactional topic's
    lag never reaches 0 (its control records are not copied), so there a backlog is only
    proven by new records on the source: a stall shows while the topic is written."""
    if cur.lag <= 0:
        return False
    if cur.txn:
        ends = (prev.source_end, cur.source_end, prev.target_end, cur.target_end)
        if any(v is None for v in ends):
            return False  # no end offsets: no evidence either way
        src0, src1, dst0, dst1 = (float(v) for v in ends)  # type: ignore[arg-type]
        return src1 > src0 and dst1 <= dst0
    if prev.target_end is not None and cur.target_end is not None:
        return cur.target_end <= prev.target_end
    return cur.lag >= prev.lag  # no end offsets in the probe: the lag did not shrink


def _data_stalls(topic: str | None, rows: list[_Lag]) -> list[_Stall]:
    out: list[_Stall] = []
    i = 1
    while i < len(rows):
        if not _frozen(rows[i - 1], rows[i]):
            i += 1
            continue
        j = i
        while j + 1 < len(rows) and _frozen(rows[j], rows[j + 1]):
            j += 1
        start = rows[i - 1].t
        if rows[j].t - start >= DATA_STALL_S:
            visible = next(r.t for r in rows[i : j + 1] if r.t - start >= DATA_STALL_S)
            end = rows[j + 1].t if j + 1 < len(rows) else None
            out.append(_Stall("data", topic, start, visible, rows[j].t, end))
        i = j + 1
    return out


def _heartbeat_stalls(beats: list[tuple[float, float]]) -> list[_Stall]:
    out: list[_Stall] = []
    i = 0
    while i < len(beats):
        if beats[i][1] <= HEARTBEAT_STALE_S:
            i += 1
            continue
        j = i
        while j + 1 < len(beats) and beats[j + 1][1] > HEARTBEAT_STALE_S:
            j += 1
        t0, age0 = beats[i]
        end = beats[j + 1][0] if j + 1 < len(beats) else None
        out.append(_Stall("heartbeat", None, t0 - age0, t0, beats[j][0], end))
        i = j + 1
    return out


def _flowing(prev: _Lag | None, cur: _Lag) -> bool:
    """Data moves at ``cur``: nothing is left to copy, or the target advanced since ``prev``."""
    if cur.lag <= 0:
        return True
    if prev is None:
        return False
    if prev.target_end is not None and cur.target_end is not None:
        return cur.target_end > prev.target_end
    return cur.lag < prev.lag


def _first_after(
    rows: list[_Lag], heal: float, until: float, ok: Callable[[_Lag | None, _Lag], bool]
) -> float | None:
    """Seconds from ``heal`` to the first probe in [heal, until) where ``ok(previous, probe)``."""
    prev: _Lag | None = None
    for r in rows:
        if heal <= r.t < until and ok(prev, r):
            return r.t - heal
        prev = r
    return None


def _slowest(values: list[float | None]) -> float | None:
    """The flow resumed when its slowest topic did (None if one never did)."""
    if not values or any(v is None for v in values):
        return None
    return max(v for v in values if v is not None)


def _alerts(f: _Flow, stalls: list[_Stall], a: float, b: float) -> list[float]:
    """Probe times in [a, b) an alert with these thresholds fires on: a stale heartbeat, or a
    data stall at least DATA_STALL_S old."""
    out = [t for t, age in f.beats if a <= t < b and age > HEARTBEAT_STALE_S]
    for s in stalls:
        if s.kind == "data":
            rows = f.lags.get(s.topic, [])
            out += [r.t for r in rows if a <= r.t < b and s.visible_t <= r.t <= s.last_t]
    return out


def _per_fault(
    f: _Flow, stalls: list[_Stall], fault: Mapping[str, Any], until: float, steady: float
) -> dict[str, Any]:
    """A fault's figures for one flow, from the probes in [inject, until)."""
    inject, heal = float(fault["injected_at"]), fault["healed_at"]
    lags = [r.lag for rows in f.lags.values() for r in rows if inject <= r.t < until]
    beats = [(t, a) for t, a in f.beats if inject <= t < until]
    alerts = _alerts(f, stalls, inject, until)
    out: dict[str, Any] = {
        "tag": fault.get("tag"),
        "type": fault.get("type"),
        "injected_t": inject,
        "healed_t": heal,
        "data_stalled": any(s.kind == "data" and s.covers(inject, until) for s in stalls),
        "heartbeats_stalled": any(
            s.kind == "heartbeat" and s.covers(inject, until) for s in stalls
        ),
        "visible_after_s": _r(min(alerts) - inject) if alerts else None,
        "data_resumed_after_heal_s": None,
        "caught_up_after_heal_s": None,
        "behind_after_heal_at_least_s": None,
        "lag_at_last_probe": None,
        "heartbeats_resumed_after_heal_s": None,
        "heartbeats_stale_after_heal_at_least_s": None,
        "max_lag": _count(max(lags, default=None)),
        "max_heartbeat_age_s": max((a for _, a in beats), default=None),
    }
    if heal is None:
        return out
    heal = float(heal)
    topics = list(f.lags.values())
    out["data_resumed_after_heal_s"] = _r(
        _slowest([_first_after(rows, heal, until, _flowing) for rows in topics])
    )

    def caught_up(_prev: _Lag | None, r: _Lag) -> bool:
        return r.lag <= steady

    out["caught_up_after_heal_s"] = _r(
        _slowest([_first_after(rows, heal, until, caught_up) for rows in topics])
    )
    # Never caught up while probed: a lower bound, heal -> the last probe, and the backlog then
    # (a transactional topic's lag never returns to steady: no claim about it).
    after_heal = [r for rows in topics for r in rows if heal <= r.t < until]
    if out["caught_up_after_heal_s"] is None and after_heal and not any(r.txn for r in after_heal):
        last_t = max(r.t for r in after_heal)
        out["behind_after_heal_at_least_s"] = _r(last_t - heal)
        out["lag_at_last_probe"] = _count(sum(r.lag for r in after_heal if r.t == last_t))
    after = [(t, a) for t, a in beats if t >= heal]
    # Resumed: a heartbeat emitted after the heal got across (the age alone can still be under
    # the threshold right after a short cut while nothing new arrives).
    fresh = [
        t for t, a in after if a <= HEARTBEAT_STALE_S and t - a >= heal - HEARTBEAT_RESUME_SLACK_S
    ]
    if fresh:
        out["heartbeats_resumed_after_heal_s"] = _r(fresh[0] - heal)
    elif after:
        out["heartbeats_stale_after_heal_at_least_s"] = _r(after[-1][0] - heal)
    return out


def _recovery(per_fault: Mapping[str, Mapping[str, Any]]) -> tuple[float | None, bool]:
    """The slowest full recovery after a heal among the faults that stalled the flow: data
    caught up *and* heartbeats fresh again. (seconds, is a lower bound): data still behind or
    heartbeats still stale when the monitor ended give only a lower bound."""
    worst: float | None = None
    bound = False
    for x in per_fault.values():
        if x.get("healed_t") is None or not (x.get("data_stalled") or x.get("heartbeats_stalled")):
            continue
        data = x.get("caught_up_after_heal_s")
        beats = x.get("heartbeats_resumed_after_heal_s")
        parts = [v for v in (data, beats) if v is not None]
        is_bound = False
        # Still behind, or heartbeats still stale, at the last probe: only a lower bound.
        for got, lower in (
            (data, x.get("behind_after_heal_at_least_s")),
            (beats, x.get("heartbeats_stale_after_heal_at_least_s")),
        ):
            if got is None and lower is not None:
                parts.append(lower)
                is_bound = True
        if not parts:
            continue
        value = max(parts)
        if worst is None or value > worst or (value == worst and is_bound):
            worst, bound = value, is_bound
    return worst, bound


def _stall_row(s: _Stall, f: _Flow, faults: list[dict[str, Any]]) -> dict[str, Any]:
    upto = s.end_t if s.end_t is not None else s.last_t
    return {
        "kind": s.kind,
        "topic": s.topic,
        "start_t": _r(s.start_t),
        "visible_t": s.visible_t,
        "end_t": s.end_t,
        "seconds": _r(upto - s.start_t),
        "open": s.end_t is None,
        "faults": [
            x["fault_id"] for x in faults if s.covers(float(x["window"][0]), float(x["window"][1]))
        ],
        "mm2_stopped": any(s.start_t <= t <= upto for t in f.mm2_down),
    }


def _flow_figures(f: _Flow, faults: list[dict[str, Any]]) -> dict[str, Any]:
    stalls = [s for topic, rows in f.lags.items() for s in _data_stalls(topic, rows)]
    stalls = sorted([*stalls, *_heartbeat_stalls(f.beats)], key=lambda s: (s.start_t, s.kind))
    first = min((float(x["injected_at"]) for x in faults), default=math.inf)
    # The flow's steady lag (largest before the first fault): what "caught up" comes back to.
    steady = max((r.lag for rows in f.lags.values() for r in rows if r.t < first), default=0.0)
    per_fault: dict[str, Any] = {}
    for x in faults:
        ref = x["healed_at"] if x["healed_at"] is not None else x["injected_at"]
        # The probes a fault owns: from its injection to the next injection after its heal.
        until = min(
            (float(y["injected_at"]) for y in faults if y["injected_at"] > ref), default=math.inf
        )
        per_fault[x["fault_id"]] = _per_fault(f, stalls, x, until, steady)
    last = f.beats[-1] if f.beats else None
    return {
        "samples": f.samples,
        "unreadable_samples": f.unreadable,
        "heartbeat_samples": len(f.beats),
        "heartbeat_unreadable_samples": f.beats_unreadable,
        "steady_lag": _count(steady),
        "stalls": [_stall_row(s, f, faults) for s in stalls],
        "per_fault": per_fault,
        "last_heartbeat_t": None if last is None else last[0],
        "last_heartbeat_age_s": None if last is None else last[1],
        "heartbeats_stale_at_end": None if last is None else last[1] > HEARTBEAT_STALE_S,
    }


@checker("replication", order=75, anomaly=False)
def check_replication(frames: HistoryFrames) -> Verdict:
    flows, last = _flows(frames)
    figures: dict[str, Any] = {
        "applicable": bool(flows),
        "data_stall_seconds": DATA_STALL_S,
        "heartbeat_stale_seconds": HEARTBEAT_STALE_S,
        "monitor_end_t": last,
        "flows": {},
        "heartbeats_stale_at_end": [],
        "max_recovery_after_heal_s": None,
        "max_recovery_is_lower_bound": False,
    }
    if not flows:
        why = "no replication_lag probes (no flow, or a history from before the monitor)"
        return Verdict(NAME, "PASS", figures, [], [f"{why}: replication not measured"])
    tags = {str(k): tag for k, (tag, _t) in fault_tags(frames.events).items()}
    faults = [
        {**x, "tag": tags.get(x["fault_id"])} for x in fault_table(frames, workload_end_t(frames))
    ]
    notes: list[str] = []
    for name, f in sorted(flows.items()):
        figs = figures["flows"][name] = _flow_figures(f, faults)
        if figs["heartbeats_stale_at_end"]:
            figures["heartbeats_stale_at_end"].append(name)
        if not f.beats and not f.beats_unreadable:
            notes.append(
                f"{name}: no heartbeat_age_s in its probes (a history from before the "
                "heartbeat monitor): heartbeat figures null"
            )
        elif not f.beats:
            notes.append(
                f"{name}: its heartbeat topic was never readable on the target "
                f"({f.beats_unreadable} samples): heartbeat figures null"
            )
        if not f.lags:
            notes.append(f"{name}: no readable lag probe ({f.unreadable}): data figures null")
        worst, bound = _recovery(figs["per_fault"])
        prev = figures["max_recovery_after_heal_s"]
        if worst is not None and (prev is None or worst > prev):
            figures["max_recovery_after_heal_s"] = worst
            figures["max_recovery_is_lower_bound"] = bound
    return Verdict(NAME, "PASS", figures, [], notes)
