"""Property: on generated copier histories, the copier checker reports exactly what the
generator put there.

The model: a producer ``p0`` writes ``orders`` on ``primary`` (1 or 2 partitions, offsets 0
up); a copier ``cp`` cuts each partition into consecutive spans, each a transaction that
committed, aborted or ended unknown, and may leave a tail it never reached. Whatever the
transactions say, each input record is in the output 0, 1 or 2 times, and a few ids no input
holds (phantoms) may be there too (the checker must count what is there, not what Kafka should
have done). The derived part of the final read completed or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkadrill.checkers.copier import check_copier
from kafkadrill.history import load_frames

OUT = "orders-copy"


@dataclass
class Model:
    offsets: list[int]  # records per partition
    spans: list[tuple[int, int, int, str]]  # (partition, first, last, outcome), in file order
    copies: dict[tuple[int, int], int]  # (partition, offset) -> times in the output
    phantoms: int
    complete: bool
    events: list[dict[str, Any]] = field(default_factory=list)

    def seq(self, p: int, o: int) -> int:
        return sum(self.offsets[:p]) + o


@st.composite
def models(draw: st.DrawFn) -> Model:
    parts = draw(st.integers(1, 2))
    offsets = [draw(st.integers(1 if p == 0 else 0, 12)) for p in range(parts)]
    spans: list[tuple[int, int, int, str]] = []
    for p, n in enumerate(offsets):
        reach = draw(st.integers(0, n))  # records it got to
        o = 0
        while o < reach:
            size = draw(st.integers(1, reach - o))
            outcome = draw(st.sampled_from(["ok", "ok", "fail", "unknown"]))
            spans.append((p, o, o + size - 1, outcome))
            o += size
    spans = draw(st.permutations(spans)) if spans else spans
    copies = {
        (p, o): draw(st.sampled_from([1, 1, 1, 0, 2]))
        for p, n in enumerate(offsets)
        for o in range(n)
    }
    return Model(offsets, list(spans), copies, draw(st.integers(0, 2)), draw(st.booleans()))


def history(m: Model) -> list[dict[str, Any]]:
    ev: list[dict[str, Any]] = []

    def add(type_: str, **f: Any) -> None:
        ev.append({"seq": len(ev), "t": float(len(ev)), "wall": 1e9 + len(ev), "type": type_, **f})

    def recv(mid: str, topic: str, p: int, o: int) -> None:
        add("recv", reader="final", group=None, final=True, cluster="primary", topic=topic,
            partition=p, offset=o, ts=0, id=mid, hdr=None)  # fmt: skip

    for p, n in enumerate(m.offsets):
        for o in range(n):
            mid = f"p0:{m.seq(p, o)}"
            base = {"producer": "p0", "id": mid, "cluster": "primary", "topic": "orders"}
            add("send.invoke", **base, key=None, size=10)
            add("send.ok", **base, partition=p, offset=o, ts=0)
    for i, (p, first, last, outcome) in enumerate(m.spans):
        add("copy.txn", copier="cp-0", group="cp", cluster="primary", from_topic="orders",
            to_topic=OUT, txn=i, ranges=[["orders", p, first, last]],
            records=last - first + 1, outcome=outcome, error=None)  # fmt: skip
    add("final_read.start", clusters=["primary"], authoritative="primary",
        topics={"primary": ["orders"]}, derived={"primary": [OUT]})  # fmt: skip
    for p, n in enumerate(m.offsets):
        for o in range(n):
            recv(f"p0:{m.seq(p, o)}", "orders", p, o)
    out = 0
    for (p, o), k in sorted(m.copies.items()):
        for _ in range(k):
            recv(f"p0:{m.seq(p, o)}", OUT, 0, out)
            out += 1
    for j in range(m.phantoms):
        recv(f"x9:{j}", OUT, 0, out)
        out += 1
    add("final_read.end", cluster="primary", records=sum(m.offsets), complete=True,
        derived={"records": out, "complete": m.complete})  # fmt: skip
    return ev


def expected(m: Model) -> dict[str, Any]:
    hi = {p: -1 for p in range(len(m.offsets))}
    for p, _first, last, outcome in m.spans:
        if outcome == "ok":
            hi[p] = max(hi[p], last)
    judged = [(p, o) for (p, o) in m.copies if o <= hi[p]]
    missing = sum(1 for key in judged if m.copies[key] == 0)
    committed = any(s[3] == "ok" for s in m.spans)
    return {
        "committed": committed,
        "judged": len(judged),
        "not_reached": len(m.copies) - len(judged),
        "missing": missing if m.complete else None,
        "duplicated": sum(1 for k in m.copies.values() if k > 1),
        "phantom": m.phantoms if m.complete else None,
        "output": sum(1 for k in m.copies.values() if k) + m.phantoms,
        "transactions": {
            "committed": sum(s[3] == "ok" for s in m.spans),
            "aborted": sum(s[3] == "fail" for s in m.spans),
            "unknown": sum(s[3] == "unknown" for s in m.spans),
        },
    }


@settings(max_examples=150, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(models())
def test_copier_figures_equal_the_model(m: Model) -> None:
    v = check_copier(load_frames(history(m)))
    want = expected(m)
    if not m.spans:
        # No copy.txn: the derived read alone says a copier should have run.
        assert v.status == "UNKNOWN" and v.figures["copiers"] == {}
        return
    cp = v.figures["copiers"]["cp"]
    assert cp["transactions"] == want["transactions"]
    if not want["committed"]:
        assert cp["clusters"] == {}
        assert v.status == "UNKNOWN"
        return
    f = cp["clusters"]["primary"]
    got = {k: f[k] for k in ("judged", "not_reached", "missing", "duplicated", "phantom", "output")}
    assert got == {k: want[k] for k in got}, (got, want)
    fail = bool(want["missing"] or want["duplicated"] or want["phantom"])
    unknown = not m.complete or want["not_reached"] > 0
    assert v.status == ("FAIL" if fail else "UNKNOWN" if unknown else "PASS"), (v.status, want)
    ids = {e["id"] for e in v.evidence if e["kind"] == "duplicated"}
    assert len(ids) == min(want["duplicated"], 20)
