"""Property: on generated histories with transactional producers, the aborted_read and
torn_transaction checkers' figures equal what the generator put there.

The model: transactional producers ``t0..`` write ``orders`` on ``primary`` in transactions
(sizes 0..4; committed, aborted, failed commit = aborted, or commit unknown), possibly ending in
a transaction never ended (its messages unknown); an optional plain producer ``n0`` writes
outside transactions. Group readers read subsets of the messages on ``primary`` or on ``dr``
(MM2's ``primary.orders``), some twice, with a read_committed or read_uncommitted ``reader``
event, none (read_committed), or one setting and another later. The final read (any isolation)
reads ``primary`` and/or ``dr``, each completely or not; each transaction is held on each
cluster whole, not at all, or in part, whatever its state (the checkers must count what is
there, not what Kafka should have done).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkadrill.checkers.aborted_read import check_aborted_read
from kafkadrill.checkers.loss import check_loss
from kafkadrill.checkers.torn_transaction import check_torn_transaction
from kafkadrill.history import load_frames

CLUSTERS = ("primary", "dr")
RC, RU = "read_committed", "read_uncommitted"
# (decision, outcome) -> state, as history/transactions defines it
ENDINGS = {
    ("commit", "ok"): "committed",
    ("abort", "ok"): "aborted",
    ("abort", "fail"): "aborted",
    ("commit", "fail"): "aborted",
    ("commit", "unknown"): "unknown",
}


@dataclass
class Txn:
    producer: str
    n: int
    first: int
    last: int
    decision: str
    outcome: str
    held: dict[str, set[int]] = field(default_factory=dict)  # cluster -> seqs held

    @property
    def state(self) -> str:
        return ENDINGS[(self.decision, self.outcome)]

    @property
    def seqs(self) -> range:
        return range(self.first, self.last + 1)


@dataclass
class Reader:
    name: str
    cluster: str
    # (isolation of the reader event before the phase, or None: no event; seqs read (producer,
    # seq), in order). Only a reader's first phase may have no event.
    phases: list[tuple[str | None, list[tuple[str, int]]]]


@dataclass
class Model:
    txns: list[Txn] = field(default_factory=list)
    open_: dict[str, list[int]] = field(default_factory=dict)  # producer -> seqs in no txn
    plain: list[int] = field(default_factory=list)  # n0's seqs
    readers: list[Reader] = field(default_factory=list)
    final_isolation: str | None = None
    final: dict[str, bool] = field(default_factory=dict)  # cluster read -> complete
    final_plain: dict[str, bool] = field(default_factory=dict)  # cluster -> holds n0's

    def messages(self) -> list[tuple[str, int, str]]:
        """(producer, seq, state) of every message sent."""
        out = [(t.producer, s, t.state) for t in self.txns for s in t.seqs]
        # A transactional producer's message in no ended transaction is unknown; a producer
        # with no txn event at all is not known to be transactional.
        txn_producers = {t.producer for t in self.txns}
        out += [(p, s, "unknown" if p in txn_producers else "none")
                for p, seqs in self.open_.items() for s in seqs]  # fmt: skip
        return out + [("n0", s, "none") for s in self.plain]


@st.composite
def models(draw: st.DrawFn) -> Model:
    m = Model()
    for p in range(draw(st.integers(1, 3))):
        name, seq = f"t{p}", 0
        for n in range(draw(st.integers(0, 4))):
            size = draw(st.integers(0, 4))
            decision, outcome = draw(st.sampled_from(sorted(ENDINGS)))
            t = Txn(name, n, seq, seq + size - 1, decision, outcome)
            for c in CLUSTERS:
                how = draw(st.sampled_from(["whole", "none", "part"]))
                part = {s for s in t.seqs if draw(st.booleans())}
                t.held[c] = set(t.seqs) if how == "whole" else set() if how == "none" else part
            m.txns.append(t)
            seq += size
        if draw(st.booleans()):
            m.open_[name] = list(range(seq, seq + draw(st.integers(1, 2))))
    if draw(st.booleans()):
        m.plain = list(range(draw(st.integers(1, 3))))
    ids = [(p, s) for p, s, _ in m.messages()]
    for r in range(draw(st.integers(0, 3))):
        first = draw(st.sampled_from([RC, RU, None]))
        later = [draw(st.sampled_from([RC, RU]))] if first and draw(st.booleans()) else []
        phases = [(iso, draw(st.lists(st.sampled_from(ids), max_size=8)) if ids else [])
                  for iso in [first, *later]]  # fmt: skip
        m.readers.append(Reader(f"c{r}", draw(st.sampled_from(CLUSTERS)), phases))
    m.final_isolation = draw(st.sampled_from([RC, RU, None]))
    for c in CLUSTERS:
        read = draw(st.sampled_from(["complete", "complete", "incomplete", "absent"]))
        if read != "absent":
            m.final[c] = read == "complete"
            m.final_plain[c] = draw(st.booleans())
    return m


def _events(m: Model) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(type: str, **f: Any) -> None:
        out.append({"seq": len(out), "t": len(out) * 0.01, "wall": 1e9, "type": type, **f})

    def send(p: str, s: int) -> None:
        base = {"producer": p, "id": f"{p}:{s}", "cluster": "primary", "topic": "orders"}
        add("send.invoke", **base, key=None, size=10)
        add("send.ok", **base, partition=_part(p), offset=s, ts=0)

    for t in m.txns:
        for s in t.seqs:
            send(t.producer, s)
        add("txn", producer=t.producer, cluster="primary", topic="orders", txn=t.n,
            first=t.first, last=t.last, decision=t.decision, outcome=t.outcome,
            error=None if t.outcome == "ok" else "x")  # fmt: skip
    for p, seqs in m.open_.items():
        for s in seqs:
            send(p, s)
    for s in m.plain:
        send("n0", s)
    for r in m.readers:
        for iso, reads in r.phases:
            if iso is not None:
                add("reader", reader=r.name, group="g", cluster=r.cluster, isolation=iso)
            for i, (p, s) in enumerate(reads):
                _recv(add, r.name, r.cluster, p, s, i, final=False)
    if m.final:
        extra = {} if m.final_isolation is None else {"isolation": m.final_isolation}
        add("final_read.start", clusters=list(m.final), authoritative="primary",
            topics={c: [_topic(c)] for c in m.final}, **extra)  # fmt: skip
        for c, complete in m.final.items():
            held = _held(m, c)
            for i, (p, s) in enumerate(held):
                _recv(add, "final", c, p, s, i, final=True)
            add("final_read.end", cluster=c, records=len(held), complete=complete)
    return out


def _part(p: str) -> int:
    return 0 if p == "n0" else 1 + int(p[1:])


def _topic(cluster: str) -> str:
    return "orders" if cluster == "primary" else "primary.orders"


def _recv(add: Any, reader: str, c: str, p: str, s: int, i: int, *, final: bool) -> None:
    add("recv", reader=reader, group=None if final else "g", final=final, cluster=c,
        topic=_topic(c), partition=_part(p), offset=s if c == "primary" else i, ts=0,
        id=f"{p}:{s}", hdr=None)  # fmt: skip


def _held(m: Model, c: str) -> list[tuple[str, int]]:
    """What the final read of ``c`` returns, in order (open transactions: not held)."""
    out = [(t.producer, s) for t in m.txns for s in t.seqs if s in t.held[c]]
    return out + ([("n0", s) for s in m.plain] if m.final_plain.get(c) else [])


def _expected_aborted_read(m: Model) -> dict[str, Any]:
    state = {(p, s): st_ for p, s, st_ in m.messages()}
    rc_pairs: dict[tuple[str, str, int], str] = {}  # (reader, p, s) -> cluster of first read
    ru_pairs: set[tuple[str, str, int]] = set()
    receipts: list[tuple[str, str, bool, str, int]] = []  # reader, cluster, committed, p, s
    for r in m.readers:
        for iso, reads in r.phases:
            receipts += [(r.name, r.cluster, iso != RU, p, s) for p, s in reads]
    for c in m.final:
        receipts += [("final", c, m.final_isolation != RU, p, s) for p, s in _held(m, c)]
    for reader, c, committed, p, s in receipts:
        if state[(p, s)] != "aborted":
            continue
        if committed:
            rc_pairs.setdefault((reader, p, s), c)
        else:
            ru_pairs.add((reader, p, s))
    per_cluster: dict[str, int] = {}
    by_reader: dict[str, int] = {}
    for (reader, _, _), c in rc_pairs.items():
        per_cluster[c] = per_cluster.get(c, 0) + 1
        by_reader[reader] = by_reader.get(reader, 0) + 1
    states = [t.state for t in m.txns]
    msg_states = [st_ for _, _, st_ in m.messages()]
    return {
        "applicable": True,
        "transactions": {
            **{k: states.count(k) for k in ("committed", "aborted", "unknown")},
            "messages": {k: msg_states.count(k) for k in ("committed", "aborted", "unknown")},
        },
        "count": len(rc_pairs),
        "ids": len({(p, s) for _, p, s in rc_pairs}),
        "per_cluster": dict(sorted(per_cluster.items())),
        "on_origin": per_cluster.get("primary", 0),
        "elsewhere": per_cluster.get("dr", 0),
        "by_reader": dict(sorted(by_reader.items())),
        "read_uncommitted_seen": len(ru_pairs),
    }


def _expected_torn(m: Model) -> tuple[str, dict[str, Any]]:
    judged = [t for t in m.txns if t.state in ("committed", "unknown") and t.seqs]
    complete = sorted(c for c, ok in m.final.items() if ok)
    per_cluster: dict[str, int] = {}
    torn_txns: set[tuple[str, int]] = set()
    missing = 0
    for c in complete:
        for t in judged:
            k = len(t.held[c])
            if 0 < k < len(t.seqs):
                per_cluster[c] = per_cluster.get(c, 0) + 1
                torn_txns.add((t.producer, t.n))
            missing += int(k == 0 and t.state == "committed" and c == "primary")
    torn = sum(per_cluster.values())
    origin = per_cluster.get("primary", 0)  # the generator's transactions all run on primary
    status = "FAIL" if origin else "UNKNOWN" if judged and not complete else "PASS"
    return status, {
        "applicable": True,
        "transactions": len(judged),
        "clusters_judged": complete,
        "checked": len(judged) * len(complete),
        "torn": torn,
        "torn_transactions": len(torn_txns),
        "per_cluster": per_cluster,
        "on_origin": origin,
        "elsewhere": torn - origin,
        "missing_on_origin": missing,
        "incomplete_clusters": sorted(c for c, ok in m.final.items() if not ok),
    }


@settings(max_examples=120, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(models())
def test_txn_checkers_figures_equal_the_model(m: Model) -> None:
    frames = load_frames(_events(m))
    ar, tt = check_aborted_read(frames), check_torn_transaction(frames)
    if not m.txns:
        assert ar.figures == tt.figures == {"applicable": False}
        assert ar.status == tt.status == "PASS"
        return
    want = _expected_aborted_read(m)
    assert ar.figures == want
    assert ar.status == ("FAIL" if want["on_origin"] else "PASS")
    assert len(ar.evidence) == min(want["count"], 20)
    status, want_torn = _expected_torn(m)
    assert tt.figures == want_torn
    assert tt.status == status, tt.notes
    # Acknowledged keeps one meaning: committed transactional messages and plain ones only.
    acked = sum(st_ in ("committed", "none") for _, _, st_ in m.messages())
    assert check_loss(frames).figures["acked"] == acked
