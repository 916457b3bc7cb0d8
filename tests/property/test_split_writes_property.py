"""Property: on generated failover histories, the split_writes checker's figures equal what the
generator put there: split writes per producer (less those acked late: sent before the decision
and held by DR), stragglers, what reached DR, what a consumer saw, what was acked (and sent)
through the fence, and the divergent tail held or discarded.

The model: producers write ``orders`` on ``primary``; the failover decides at ``DECIDE``,
optionally fences ``primary`` at ``FENCE``, and moves producers at ``REDIRECT``. On-time producers
redirect right after; a straggler redirects late or never and keeps writing to ``primary`` until
it moves. Each write on ``primary`` is replicated to ``dr/primary.orders`` or not, seen by a
consumer or not, still held by ``primary``'s final read or not; writes after a move go to
``dr/orders``. The final reads of both clusters may be incomplete or absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkadrill.checkers import run_checkers
from kafkadrill.checkers.split_writes import REDIRECT_GRACE_SECONDS
from kafkadrill.history import load_frames

DECIDE, FENCE, REDIRECT_START, REDIRECT_END = 10.0, 10.5, 11.0, 11.5


@dataclass
class Write:
    producer: str
    seq: int
    t: float  # ack time
    sent: float
    cluster: str
    replicated: bool = False
    seen: bool = False
    held: bool = True

    @property
    def id(self) -> str:
        return f"{self.producer}:{self.seq}"


@dataclass
class Model:
    writes: list[Write] = field(default_factory=list)
    redirect: dict[str, float | None] = field(default_factory=dict)
    fenced: bool = False
    dr_read: str = "complete"  # complete | incomplete | absent (no final read at all)
    old_read: str = "complete"  # complete | incomplete | absent (not read)


@st.composite
def models(draw: st.DrawFn) -> Model:
    m = Model(fenced=draw(st.booleans()))
    m.dr_read = draw(st.sampled_from(["complete", "complete", "incomplete", "absent"]))
    m.old_read = draw(st.sampled_from(["complete", "complete", "incomplete", "absent"]))
    for p in range(draw(st.integers(1, 3))):
        name = f"p{p}"
        kind = draw(st.sampled_from(["on_time", "late", "never"]))
        moved = {
            "on_time": REDIRECT_END + 0.1,
            "late": REDIRECT_END + REDIRECT_GRACE_SECONDS + draw(st.floats(0.5, 5.0)),
            "never": None,
        }[kind]
        m.redirect[name] = moved
        times = sorted(draw(st.lists(st.floats(0.0, 25.0), max_size=12)))
        for seq, t in enumerate(times):
            t = round(t, 3)
            on_old = moved is None or t <= moved
            w = Write(name, seq, t, round(t - draw(st.sampled_from([0.0, 0.05, 0.8])), 3),
                      "primary" if on_old else "dr")  # fmt: skip
            if on_old:
                w.replicated = draw(st.booleans())
                w.held = draw(st.sampled_from([True, True, True, False]))
            w.seen = draw(st.booleans())
            m.writes.append(w)
    return m


def _events(m: Model) -> list[dict[str, Any]]:
    ev: list[tuple[float, dict[str, Any]]] = []

    def add(t: float, type: str, **f: Any) -> None:
        ev.append((t, {"t": t, "type": type, **f}))

    def step(name: str, t0: float, t1: float, detail: dict[str, Any]) -> None:
        add(t0, "runbook.step", runbook="failover", step=name, status="start", detail=None)
        add(t1, "runbook.step", runbook="failover", step=name, status="ok", detail=detail)

    step("decide", DECIDE - 0.1, DECIDE, {"from": "primary", "to": "dr"})
    if m.fenced:
        step("fence", DECIDE + 0.1, FENCE, {"method": "acl", "cluster": "primary",
                                            "position": "before_redirect"})  # fmt: skip
    step("redirect_producers", REDIRECT_START, REDIRECT_END, {})
    for p, t in m.redirect.items():
        if t is not None:
            add(t, "redirect", client=p, role="producer", group=None, from_cluster="primary",
                to_cluster="dr")  # fmt: skip
    for w in m.writes:
        base = {"producer": w.producer, "id": w.id, "cluster": w.cluster, "topic": "orders"}
        add(w.sent, "send.invoke", **base, key=None, size=10)
        add(w.t, "send.ok", **base, partition=0, offset=w.seq, ts=0)
        if w.seen:
            add(w.t + 0.01, "recv", reader="c", group="g", final=False, cluster=w.cluster,
                topic="orders", partition=0, offset=w.seq, ts=0, id=w.id, hdr=None)  # fmt: skip
    ev.sort(key=lambda te: te[0])  # stable: same-time events keep their order
    out = [e for _, e in ev]
    out += _final_read(m)
    for i, e in enumerate(out):
        e.update(seq=i, wall=1e9 + e["t"])
    return out


def _final_read(m: Model) -> list[dict[str, Any]]:
    if m.dr_read == "absent":
        return []
    reads = {
        "dr": [(w, "primary.orders" if w.cluster == "primary" else "orders")
               for w in m.writes if w.cluster == "dr" or w.replicated],
    }  # fmt: skip
    if m.old_read != "absent":
        reads["primary"] = [(w, "orders") for w in m.writes if w.cluster == "primary" and w.held]
    complete = {"dr": m.dr_read == "complete", "primary": m.old_read == "complete"}
    t = 100.0
    out: list[dict[str, Any]] = [
        {"t": t, "type": "final_read.start", "clusters": list(reads), "authoritative": "dr",
         "topics": {c: sorted({tp for _, tp in r}) for c, r in reads.items()}}
    ]  # fmt: skip
    for c, recs in reads.items():
        for i, (w, topic) in enumerate(recs):
            out.append({"t": t, "type": "recv", "reader": "final", "group": None, "final": True,
                        "cluster": c, "topic": topic, "partition": 0, "offset": i, "ts": 0,
                        "id": w.id, "hdr": None})  # fmt: skip
        out.append({"t": t, "type": "final_read.end", "cluster": c, "records": len(recs),
                    "complete": complete[c]})  # fmt: skip
    return out


def _acked_late(m: Model, w: Write) -> bool:
    """Sent before the decision, acked after it, and held by DR's final read: in the log in
    time (the model's consumers read a write only after its ack, so never before the decision)."""
    return w.sent <= DECIDE < w.t and w.replicated and m.dr_read != "absent"


def _expected_split(m: Model) -> dict[str, Any]:
    after = [w for w in m.writes if w.cluster == "primary" and w.t > DECIDE]
    split = [w for w in after if not _acked_late(m, w)]
    fenced = [w for w in split if w.t > FENCE] if m.fenced else None
    reached = sum(w.replicated for w in split)
    per: dict[str, int] = {}
    for w in split:
        per[w.producer] = per.get(w.producer, 0) + 1
    late = REDIRECT_END + REDIRECT_GRACE_SECONDS
    return {
        "count": len(split),
        "per_producer": per,
        "stragglers": sorted(
            p for p in per if m.redirect[p] is None or (m.redirect[p] or 0.0) > late
        ),
        "reached_dr": None if m.dr_read == "absent" else reached,
        "not_reached_dr": len(split) - reached if m.dr_read == "complete" else None,
        "seen_by_consumer": sum(w.seen for w in split),
        "acked_through_fence": None if fenced is None else len(fenced),
        "sent_through_fence": None if fenced is None else sum(w.sent > FENCE for w in fenced),
        "acked_late": {
            "count": len(after) - len(split),
            "read_before_decision": 0,
            "on_dr": len(after) - len(split),
        },
    }


def _expected_tail(m: Model) -> dict[str, Any] | None:
    if m.dr_read != "complete":
        return None
    tail = [w for w in m.writes if w.cluster == "primary" and not w.replicated]
    held = sum(w.held for w in tail)
    return {
        "count": len(tail),
        "before_decision": sum(w.t <= DECIDE for w in tail),
        "after_decision": sum(w.t > DECIDE for w in tail),
        "held_on_old_primary": None if m.old_read == "absent" else held,
        "not_held_on_old_primary": len(tail) - held if m.old_read == "complete" else None,
        "nowhere": len(tail) - held if m.old_read == "complete" else None,
    }


@settings(max_examples=150, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(models())
def test_split_writes_figures_equal_the_model(m: Model) -> None:
    v = run_checkers(load_frames(_events(m)))["split_writes"]
    f = v.figures
    assert f["applicable"] is True, v.notes
    s, want = f["split_writes"], _expected_split(m)
    got = {k: s[k] for k in want if k != "per_producer"}
    got["per_producer"] = {p: x["count"] for p, x in s["per_producer"].items()}
    assert got == want
    tail, want_tail = f["divergent_tail"], _expected_tail(m)
    if want_tail is None:
        assert tail is None
    else:
        assert {k: tail[k] for k in want_tail} == want_tail
    assert v.status == ("FAIL" if want["sent_through_fence"] else "PASS")
