"""Property: on generated lso probes, hanging_transaction reports exactly the stalls the
generator built.

The model: per (cluster, partition), a run of probes about 2 s apart. The generator decides,
probe by probe, what each shows: nothing open, an open transaction held at a fresh LSO, the
same LSO as the previous answered probe (the stall goes on), or no answer at all (the cluster
was down). It knows, without the checker's code, every stall it built (its LSO, first and last
answered probe) and so how long the longest is, which outlast the hang threshold and which are
still open at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkadrill.checkers.hanging_transaction import (
    CLEANUP_INTERVAL_S,
    MARGIN_S,
    check_hanging_transaction,
)
from kafkadrill.history import load_frames

STEP = 2.0
TIMEOUT_MS = 6000  # hang after 6 + 10 + 5 = 21 s: reachable in a generated run
HANG_AFTER = TIMEOUT_MS / 1000 + CLEANUP_INTERVAL_S + MARGIN_S


@dataclass
class Model:
    # (cluster, partition) -> per probe: None (unanswered), -1 (nothing open) or the open LSO
    shows: dict[tuple[str, int], list[int | None]]
    stalls: list[tuple[str, int, float, bool]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


ACTIONS = st.sampled_from(["none", "fresh", "same", "same", "same", "down"])


@st.composite
def models(draw: st.DrawFn) -> Model:
    n = draw(st.integers(2, 30))
    shows: dict[tuple[str, int], list[int | None]] = {}
    stalls: list[tuple[str, int, float, bool]] = []
    next_lso = 100
    for cluster in draw(st.sampled_from([["primary"], ["primary", "dr"]])):
        down = draw(st.lists(st.booleans(), min_size=n, max_size=n))  # whole cluster down
        for p in range(draw(st.integers(1, 3))):
            seq: list[int | None] = []
            cur: tuple[int, float, float] | None = None  # (lso, first t, last t) of this stall
            for i in range(n):
                t = i * STEP
                if down[i]:
                    seq.append(None)
                    continue
                act = draw(ACTIONS)
                if act == "same" and cur is not None:
                    cur = (cur[0], cur[1], t)
                    seq.append(cur[0])
                    continue
                if cur is not None:
                    stalls.append((cluster, p, round(cur[2] - cur[1], 3), False))
                    cur = None
                if act in ("fresh", "same"):
                    next_lso += draw(st.integers(1, 50))
                    cur = (next_lso, t, t)
                    seq.append(next_lso)
                else:
                    seq.append(-1)
            if cur is not None:
                stalls.append((cluster, p, round(cur[2] - cur[1], 3), True))
            shows[(cluster, p)] = seq
    m = Model(shows, stalls)
    clusters = sorted({c for c, _ in shows})
    for i in range(n):
        for c in clusters:
            parts = {p: s[i] for (cc, p), s in shows.items() if cc == c}
            answered = all(v is not None for v in parts.values())
            open_ = [[p, v, v + 7] for p, v in sorted(parts.items()) if v is not None and v >= 0]
            m.events.append(
                {
                    "type": "probe",
                    "t": i * STEP,
                    "name": "lso",
                    "cluster": c,
                    "topic": "orders",
                    "txn_timeout_ms": TIMEOUT_MS,
                    "open": open_ if answered else None,
                    "gap": 7 * len(open_) if answered else None,
                }
            )
    return m


def _history(m: Model) -> list[dict[str, Any]]:
    head = {"type": "run.start", "t": 0.0, "run_id": "r", "scenario": "s", "seed": 1}
    out = [head, *m.events, {"type": "run.end", "t": 999.0, "status": "completed", "error": None}]
    return [{**e, "seq": i, "wall": 0.0} for i, e in enumerate(out)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_hanging_transaction_reports_exactly_the_generated_stalls(m: Model) -> None:
    v = check_hanging_transaction(load_frames(_history(m)))
    hanging = [s for s in m.stalls if s[2] > HANG_AFTER]
    assert v.status == ("FAIL" if hanging else "PASS")
    f = v.figures
    assert f["hanging"] == len(hanging)
    assert f["hang_after_s"] == HANG_AFTER
    assert f["longest_stall_s"] == max((s[2] for s in m.stalls), default=0.0)
    for c, topics in f["clusters"].items():
        row = topics["orders"]
        mine = [s for s in m.stalls if s[0] == c]
        assert row["longest_stall_s"] == max((s[2] for s in mine), default=0.0)
        want_open = sorted((s[1], s[2]) for s in mine if s[3] and s[2] > 0)
        got_open = sorted((p, secs) for p, _lso, secs in row.get("open_at_end", []))
        assert got_open == want_open
        unanswered = sum(e["open"] is None for e in m.events if e["cluster"] == c)
        assert row["unanswered"] == unanswered
    assert sorted(e["stalled_s"] for e in v.evidence) == sorted(s[2] for s in hanging)[-20:] or (
        len(hanging) > 20
    )
