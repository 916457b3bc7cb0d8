"""The workload's hot path writes exactly what the generic path wrote.

`SendLines` (history) preformats send.invoke / send.ok lines, `payload.Encoder` encodes values
with the names checked once, and `WorkloadProducer` sends in bursts with one callback per
cluster. Each is compared with the plain path it replaces: same bytes, same events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkadrill.history import HistoryWriter, load_frames, read_history
from kafkadrill.workload import payload
from kafkadrill.workload import producer as producer_mod
from kafkadrill.workload.producer import ProducerSpec, WorkloadProducer


class StepClock:
    """Deterministic clock: the same sequence of readings for two writers."""

    def __init__(self, steps: list[float]) -> None:
        self.steps = iter(steps)
        self.now = 0.0

    def __call__(self) -> float:
        self.now += next(self.steps, 0.25)
        return self.now


# t values that orjson and repr() format differently (tiny, huge), and ordinary ones.
STEPS = [0.0, 3e-06, 5e-05, 0.1, 1.0 / 3.0, 12.5, 1e16, 7.0]


def _pair(tmp_path: Path, steps: list[float]) -> tuple[HistoryWriter, HistoryWriter]:
    fast = HistoryWriter(tmp_path / "fast.jsonl", "r", clock=StepClock(steps))
    plain = HistoryWriter(tmp_path / "plain.jsonl", "r", clock=StepClock(steps))
    plain.t0_wall = fast.t0_wall = 1796000000.123456  # the same epoch for both
    return fast, plain


def _plain_invoke(w: HistoryWriter, p: str, c: str, tp: str, seq: int, key: Any, size: Any) -> None:
    w.append("send.invoke", producer=p, id=f"{p}:{seq}", cluster=c, topic=tp, key=key, size=size)


def _plain_ok(w: HistoryWriter, p: str, c: str, tp: str, seq: int, *rest: Any) -> None:
    part, off, ts = rest
    w.append(
        "send.ok", producer=p, id=f"{p}:{seq}", cluster=c, topic=tp, partition=part, offset=off,
        ts=ts,
    )  # fmt: skip


def _write_both(tmp_path: Path, ops: list[tuple[Any, ...]], names: tuple[str, str, str]) -> None:
    fast, plain = _pair(tmp_path, STEPS)
    p, c, tp = names
    lines = fast.send_lines(p, c, tp)
    for op in ops:
        if op[0] == "invoke":
            lines.invoke(*op[1:])
            _plain_invoke(plain, p, c, tp, *op[1:])
        elif op[0] == "ok":
            lines.ok(*op[1:])
            _plain_ok(plain, p, c, tp, *op[1:])
        else:  # an ordinary event between them: one seq for all
            fast.append("phase", name=op[1])
            plain.append("phase", name=op[1])
    fast.close()
    plain.close()


def test_send_lines_are_the_bytes_append_writes(tmp_path: Path) -> None:
    ops = [
        ("invoke", 0, "p0-0", 200),
        ("phase", "steady"),
        ("invoke", 1, None, 7),
        ("ok", 0, 3, 41, 1764500000123),
        ("ok", 1, 0, None, -1),  # no offset in the delivery report: null
        ("invoke", 2**40, 'k\u00e9y "quoted" \\ %d', 10**6),
        ("ok", 2**40, 5, 2**62, 0),
    ]
    _write_both(tmp_path, ops, ("p0", "primary", "orders"))
    fast = (tmp_path / "fast.jsonl").read_bytes()
    assert fast == (tmp_path / "plain.jsonl").read_bytes()
    events = read_history(tmp_path / "fast.jsonl", validate=True)
    assert [e["seq"] for e in events] == list(range(len(ops)))
    assert events[4]["offset"] is None and events[5]["key"] == 'k\u00e9y "quoted" \\ %d'
    assert fast.count(b"5e-05") == 0  # orjson's number format, not repr's


def test_names_that_need_escaping_stay_exact(tmp_path: Path) -> None:
    names = ('p"%s\\x', "clu%ster\u00fc", "topic%%.1")
    ops = [("invoke", 5, "a", 1), ("ok", 5, 1, 2, 3)]
    _write_both(tmp_path, ops, names)
    assert (tmp_path / "fast.jsonl").read_bytes() == (tmp_path / "plain.jsonl").read_bytes()
    ev = read_history(tmp_path / "fast.jsonl")
    assert ev[0]["id"] == 'p"%s\\x:5' and ev[1]["cluster"] == "clu%ster\u00fc"


def test_values_that_are_not_plain_ints_take_the_generic_path(tmp_path: Path) -> None:
    # %d would write True as 1 and cut 2.5 to 2: these go through append() as before.
    ops = [
        ("ok", 1, True, 2, 3),
        ("ok", 2, 1, 2.5, 3),
        ("ok", 3, None, 2, 3),
        ("invoke", 4, "k", 2.0),
        ("invoke", 5, 17, 1),  # a non-text key is serialised as append() does
    ]
    _write_both(tmp_path, ops, ("p0", "c", "t"))
    assert (tmp_path / "fast.jsonl").read_bytes() == (tmp_path / "plain.jsonl").read_bytes()
    ev = read_history(tmp_path / "fast.jsonl")
    assert ev[0]["partition"] is True and ev[1]["offset"] == 2.5 and ev[3]["size"] == 2.0


text = st.text(min_size=1, max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.tuples(text, text, text),
    key=st.none() | st.text(max_size=8),
    seq=st.integers(0, 2**63 - 1),
    nums=st.tuples(
        st.integers(0, 2**31),
        st.none() | st.integers(0, 2**63 - 1),
        st.integers(-(2**63), 2**63 - 1),
    ),  # orjson's range
    steps=st.lists(st.floats(0, 1e9, allow_nan=False), min_size=2, max_size=2),
)
def test_any_names_and_numbers_match_append(
    tmp_path_factory: pytest.TempPathFactory,
    names: tuple[str, str, str],
    key: str | None,
    seq: int,
    nums: tuple[int, int | None, int],
    steps: list[float],
) -> None:
    d = tmp_path_factory.mktemp("h")
    fast, plain = _pair(d, steps)
    lines = fast.send_lines(*names)
    lines.invoke(seq, key, 200)
    lines.ok(seq, *nums)
    _plain_invoke(plain, *names, seq, key, 200)
    _plain_ok(plain, *names, seq, *nums)
    fast.close()
    plain.close()
    assert (d / "fast.jsonl").read_bytes() == (d / "plain.jsonl").read_bytes()


def test_frames_and_order_with_threads(tmp_path: Path) -> None:
    """Several threads mixing the fast and the generic path: one seq order, t never goes
    back in file order, and the checkers' frames read every event."""
    w = HistoryWriter(tmp_path / "h.jsonl", "r")
    n = 3000

    def fast(name: str) -> None:
        lines = w.send_lines(name, "primary", "orders")
        for i in range(n):
            lines.invoke(i, f"{name}-{i % 4}", 200)
            lines.ok(i, i % 6, i, 1764500000000 + i)

    def plain() -> None:
        for i in range(n // 10):
            w.append("phase", name=f"x{i}")

    threads = [threading.Thread(target=fast, args=(f"p{k}",)) for k in range(2)]
    threads.append(threading.Thread(target=plain))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    w.close()
    events = read_history(w.path, validate=True)
    assert len(events) == 2 * 2 * n + n // 10
    ts = [e["t"] for e in events]
    assert ts == sorted(ts)
    frames = load_frames(w.path)
    assert len(frames.invoke) == len(frames.ok) == 2 * n
    assert set(frames.with_ids(frames.ok)["id"]) == {
        f"p{k}:{i}" for k in range(2) for i in range(n)
    }


def test_closed_writer_refuses_fast_events(tmp_path: Path) -> None:
    w = HistoryWriter(tmp_path / "h.jsonl", "r")
    lines = w.send_lines("p0", "c", "t")
    w.close()
    with pytest.raises(RuntimeError, match="closed"):
        lines.invoke(0, "k", 1)
    with pytest.raises(RuntimeError, match="closed"):
        lines.ok(0, 0, 0, 0)


@pytest.mark.parametrize("size", [0, 10, 29, 200, 1000])
@pytest.mark.parametrize("seq", [0, 7, 123456789012])
def test_encoder_is_encode(size: int, seq: int) -> None:
    enc = payload.Encoder("run%1", "p0", size)
    for ns in (0, 1764500000123456789):
        assert enc(seq, ns) == payload.encode("run%1", "p0", seq, ns, size)
        assert payload.decode(enc(seq, ns)) == (
            payload.Decoded("run%1", "p0", seq, ns, f"p0:{seq}")
        )
    with pytest.raises(ValueError):
        enc(-1, 0)
    with pytest.raises(ValueError):
        payload.Encoder("run", "p:0", 10)


# -- the producer's send loop, with a fake client (pure logic: no Kafka) -----------------------
class FakeMsg:
    def __init__(self, topic: str, partition: int, offset: int | None) -> None:
        self._t, self._p, self._o = topic, partition, offset

    def topic(self) -> str:
        return self._t

    def partition(self) -> int:
        return self._p

    def offset(self) -> int | None:
        return self._o

    def timestamp(self) -> tuple[int, int]:
        return (1, 1764500000000 + (self._o or 0))


class FakeClient:
    """Queues produced messages; poll() reports them: every 5th as an error (alternating a
    definite and an unknown one), the rest as acks. ``full`` raises BufferError that often."""

    def __init__(self, full: int = 0) -> None:
        self.sent: list[dict[str, Any]] = []
        self.pending: list[tuple[Callable[..., None], FakeMsg, int]] = []
        self.full = full
        self.calls = 0

    def produce(self, topic: str, **kw: Any) -> None:
        self.calls += 1
        if self.full and self.calls % self.full == 0:
            raise BufferError("queue full")
        n = len(self.sent)
        self.sent.append({"topic": topic, **kw})
        self.pending.append((kw["on_delivery"], FakeMsg(topic, n % 3, n), n))

    def poll(self, timeout: float = 0) -> int:
        todo, self.pending = self.pending, []
        for cb, msg, n in todo:
            if n % 5 == 4:
                code = KafkaError.MSG_SIZE_TOO_LARGE if n % 10 == 4 else KafkaError._MSG_TIMED_OUT
                cb(KafkaError(code), msg)
            else:
                cb(None, msg)
        return len(todo)

    def flush(self, timeout: float = 0) -> int:
        self.poll()
        return 0

    def purge(self) -> None:
        pass


def _run_producer(tmp_path: Path, client: FakeClient, max_messages: int) -> Path:
    w = HistoryWriter(tmp_path / "h.jsonl", "r")
    spec = ProducerSpec(
        "p0", "primary", "orders", "east", rate_per_second=None, keys=4, max_messages=max_messages
    )
    prod = WorkloadProducer(spec, w, lambda c, s: "unused", "run1", threading.Event())
    prod._new_client = lambda: client  # type: ignore[method-assign]
    prod.run()
    w.close()
    assert prod.error is None
    assert prod.acked + prod.failed + prod.unknown == max_messages
    return w.path


def test_producer_records_every_send_once(tmp_path: Path) -> None:
    n = producer_mod.BURST * 3 + 5  # bursts and a partial one
    client = FakeClient()
    events = read_history(_run_producer(tmp_path, client, n), validate=True)
    invokes = [e for e in events if e["type"] == "send.invoke"]
    outcomes = [e for e in events if e["type"] != "send.invoke"]
    assert [e["id"] for e in invokes] == [f"p0:{i}" for i in range(n)]
    assert sorted(e["id"] for e in outcomes) == sorted(e["id"] for e in invokes)
    first = {e["id"]: e["seq"] for e in invokes}
    assert all(first[e["id"]] < e["seq"] for e in outcomes)  # invoke is recorded first
    by_type = {e["id"]: e["type"] for e in outcomes}
    assert by_type["p0:4"] == "send.fail" and by_type["p0:9"] == "send.unknown"
    assert by_type["p0:0"] == "send.ok"
    ok0 = next(e for e in outcomes if e["id"] == "p0:1")
    assert (ok0["partition"], ok0["offset"], ok0["ts"]) == (1, 1, 1764500000001)
    assert ok0["cluster"] == "primary" and ok0["topic"] == "orders"
    # What went on the wire: the plain encode(), key and kd-* headers of each id.
    for i, sent in enumerate(client.sent):
        dec = payload.decode(sent["value"])
        assert dec is not None and dec.id == f"p0:{i}" and len(sent["value"]) == 200
        assert sent["key"] == f"p0-{i % 4}".encode()
        assert sent["headers"] == payload.headers("east", "primary", f"p0:{i}")
        assert invokes[i]["key"] == f"p0-{i % 4}" and invokes[i]["size"] == 200


def test_producer_retries_a_full_queue(tmp_path: Path) -> None:
    client = FakeClient(full=7)
    events = read_history(_run_producer(tmp_path, client, 50), validate=True)
    assert [e["id"] for e in events if e["type"] == "send.invoke"] == [f"p0:{i}" for i in range(50)]
    assert len(client.sent) == 50  # every message produced once, after its retries


class RefusingClient(FakeClient):
    """librdkafka refuses at produce() once a topic is unauthorized (a fence's ACL)."""

    def produce(self, topic: str, **kw: Any) -> None:
        from confluent_kafka import KafkaException

        if (self.calls + 1) % 3 == 0:
            self.calls += 1
            raise KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))
        super().produce(topic, **kw)  # counts the call itself


def test_a_refused_produce_is_a_definite_failure_not_a_crash(tmp_path: Path) -> None:
    events = read_history(_run_producer(tmp_path, RefusingClient(), 30), validate=True)
    fails = [e for e in events if e["type"] == "send.fail"]
    refused = [e for e in fails if e["error"] == "TOPIC_AUTHORIZATION_FAILED"]
    assert [e["id"] for e in refused] == [f"p0:{i}" for i in range(2, 30, 3)]
    ids = {e["id"] for e in events if e["type"] != "send.invoke"}
    assert ids == {f"p0:{i}" for i in range(30)}  # every send has exactly one outcome


def test_redirect_names_the_new_cluster(tmp_path: Path) -> None:
    w = HistoryWriter(tmp_path / "h.jsonl", "r")
    spec = ProducerSpec("p0", "primary", "orders", "east", rate_per_second=None, max_messages=100)
    prod = WorkloadProducer(spec, w, lambda c, s: "unused", "run1", threading.Event())
    clients_used = [FakeClient(), FakeClient()]
    clients = list(clients_used)
    prod._new_client = lambda: clients.pop(0)  # type: ignore[method-assign]
    orig = prod._send

    def send(client: Any, route: Any, n: int) -> None:
        orig(client, route, n)
        if prod.seq == producer_mod.BURST:
            prod.redirect("backup", "west")

    prod._send = send  # type: ignore[method-assign]
    prod.run()
    w.close()
    events = read_history(w.path, validate=True)
    sends = [e for e in events if e["type"].startswith("send.")]
    assert {e["cluster"] for e in sends if int(e["id"][3:]) < producer_mod.BURST} == {"primary"}
    assert {e["cluster"] for e in sends if int(e["id"][3:]) >= producer_mod.BURST} == {"backup"}
    assert sorted({e["id"] for e in sends}) == sorted(f"p0:{i}" for i in range(100))
    assert [e["to_cluster"] for e in events if e["type"] == "redirect"] == ["backup"]
    # The application now runs in the other region: the new client's headers say so.
    assert clients_used[1].sent[0]["headers"][:2] == [
        (payload.HDR_ORIGIN_SITE, b"west"),
        (payload.HDR_ORIGIN_CLUSTER, b"backup"),
    ]
