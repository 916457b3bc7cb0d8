"""Scale benchmark of the history reader and the checkers (not a test; prints figures).

Generates synthetic failover histories of the requested sizes (events), then times
``load_frames`` and ``run_checkers`` separately, and measures the HistoryWriter append rate.

    python benchmarks/checkers_scale.py                  # 1M and 10M events
    python benchmarks/checkers_scale.py 200000 1000000   # custom sizes
    python benchmarks/checkers_scale.py --keep --dir /tmp/kd-bench 1000000

The synthetic drill: 4 producers write ``orders`` (6 partitions) on ``primary``; MM2 mirrors to
``dr`` as ``primary.orders``; at 60% of the run the primary region fails, the runbook fails over,
producers and the consumer group move to ``dr``. 0.1% of the messages in flight at the fault are
lost, 0.05% duplicated (MM2 re-copies before the fault), 0.05% unknown. Each message costs ~4
events (invoke, ok, group receipt, final read, plus a mirror receipt before the fault); the
group consumer records a poll event every 200 receipts.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from kafkadrill.checkers import run_checkers
from kafkadrill.history import HistoryWriter, load_frames

PRODUCERS = 4
PARTITIONS = 6
RATE = 20_000.0  # messages per second of simulated time
POLL_BATCH = 200  # group receipts per poll event
HDR = b'{"kd-origin-site":"%s","kd-origin-cluster":"%s","kd-id":"%s"}'


def generate(path: Path, target_events: int, seed: int = 7) -> int:
    """Write a synthetic history of about ``target_events`` events; returns the exact count."""
    n_msgs = max(10, int(target_events / 4.0))
    fault_at = int(n_msgs * 0.6)
    seq = 0
    out: list[bytes] = []
    f = path.open("wb")

    def emit(t: float, body: bytes) -> None:
        nonlocal seq
        out.append(b'{"seq":%d,"t":%.6f,"wall":%.6f,%s}\n' % (seq, t, 1.7e9 + t, body))
        seq += 1
        if len(out) >= 100_000:
            f.write(b"".join(out))
            out.clear()

    emit(0.0, b'"type":"run.start","run_id":"bench","scenario":"bench","seed":%d' % seed)
    emit(0.0, b'"type":"phase","name":"steady"')
    off = {}  # (cluster, topic, partition) -> next offset
    final_dr: list[bytes] = []  # final-read events on dr, emitted at the end
    dup_every, lost_every, unk_every = 2000, 1000, 2000
    polled_after = False  # the consumer polled on dr (its second client) already
    for i in range(n_msgs):
        t = i / RATE
        p = i % PRODUCERS
        s = i // PRODUCERS
        mid = b"p%d:%d" % (p, s)
        part = s % PARTITIONS
        after = i >= fault_at
        cluster = b"dr" if after else b"primary"
        if i == fault_at:
            emit(t, b'"type":"phase","name":"faults"')
            emit(
                t,
                b'"type":"fault.inject","fault_id":"f1","fault":"region_outage",'
                b'"target":"east","params":{"site":"east"}',
            )
            emit(t + 0.01, b'"type":"fault.verify","fault_id":"f1","ok":true,"detail":"down"')
            for step, dt in ((b"detect", 1.0), (b"promote", 2.0), (b"redirect", 0.5)):
                emit(
                    t,
                    b'"type":"runbook.step","runbook":"failover","step":"%s",'
                    b'"status":"start","detail":null' % step,
                )
                emit(
                    t + dt,
                    b'"type":"runbook.step","runbook":"failover","step":"%s",'
                    b'"status":"ok","detail":null' % step,
                )
            for r in range(PRODUCERS):
                emit(
                    t,
                    b'"type":"redirect","client":"p%d","role":"producer","group":null,'
                    b'"from_cluster":"primary","to_cluster":"dr"' % r,
                )
            emit(
                t,
                b'"type":"redirect","client":"c0","role":"consumer","group":"g1",'
                b'"from_cluster":"primary","to_cluster":"dr"',
            )
        emit(
            t,
            b'"type":"send.invoke","producer":"p%d","id":"%s","cluster":"%s",'
            b'"topic":"orders","key":"k%d","size":256' % (p, mid, cluster, s % 97),
        )
        if i % unk_every == 17:
            emit(
                t + 0.002,
                b'"type":"send.unknown","producer":"p%d","id":"%s","cluster":"%s",'
                b'"topic":"orders","error":"timed out"' % (p, mid, cluster),
            )
            continue
        k = (cluster, b"orders", part)
        o = off.get(k, 0)
        off[k] = o + 1
        ts = int((1.7e9 + t) * 1000)
        emit(
            t + 0.002,
            b'"type":"send.ok","producer":"p%d","id":"%s","cluster":"%s",'
            b'"topic":"orders","partition":%d,"offset":%d,"ts":%d' % (p, mid, cluster, part, o, ts),
        )
        hdr = HDR % (b"west" if after else b"east", cluster, mid)
        if i % POLL_BATCH == 0 or i == fault_at or (after and not polled_after):
            # A poll batch before its receipts; the redirect at the fault starts client 2.
            polled_after = after
            emit(
                t + 0.004,
                b'"type":"poll","reader":"c0","cluster":"%s","instance":%d,"ranges":[]'
                % (cluster, 2 if after else 1),
            )
        emit(
            t + 0.004,
            b'"type":"recv","reader":"c0","group":"g1","final":false,"cluster":"%s",'
            b'"topic":"orders","partition":%d,"offset":%d,"ts":%d,"id":"%s","hdr":%s'
            % (cluster, part, o, ts, mid, hdr),
        )
        if i % 5000 == 0:
            emit(
                t,
                b'"type":"commit","reader":"c0","group":"g1","cluster":"%s",'
                b'"offsets":[["orders",%d,%d]]' % (cluster, part, o),
            )
            emit(
                t,
                b'"type":"probe","name":"replication_lag","flow":"primary->dr",'
                b'"topic":"orders","partition":%d,"lag":%d' % (part, i % 13),
            )
        lost = (not after) and fault_at - i < 5000 and i % lost_every == 3
        if lost:
            continue
        topic = b"orders" if after else b"primary.orders"
        # Duplicates are MM2's re-copies into primary.orders. After the fault the final read
        # sees dr's own log, each record at the offset its ack and the group's receipt name.
        copies = 2 if i % dup_every == 5 and not after else 1
        for _ in range(copies):
            k2 = (b"dr", topic, part)
            o2 = o if after else off.get(k2, 0)
            off[k2] = max(off.get(k2, 0), o2 + 1)
            final_dr.append(
                b'"type":"recv","reader":"final","group":null,"final":true,"cluster":"dr",'
                b'"topic":"%s","partition":%d,"offset":%d,"ts":%d,"id":"%s","hdr":%s'
                % (topic, part, o2, ts, mid, hdr)
            )
    t_end = n_msgs / RATE + 1.0
    emit(t_end, b'"type":"phase","name":"final_read"')
    emit(
        t_end,
        b'"type":"final_read.start","clusters":["dr"],"authoritative":"dr",'
        b'"topics":{"dr":["orders","primary.orders"]}',
    )
    for body in final_dr:
        emit(t_end + 0.5, body)
    emit(
        t_end + 1,
        b'"type":"final_read.end","cluster":"dr","records":%d,"complete":true' % len(final_dr),
    )
    emit(t_end + 1, b'"type":"run.end","status":"completed","error":null')
    f.write(b"".join(out))
    f.close()
    return seq


def writer_rate(path: Path, n: int = 300_000, threads: int = 1) -> float:
    """Appends/s of HistoryWriter with send.ok-shaped events."""
    w = HistoryWriter(path, "bench")
    per = n // threads

    def work(k: int) -> None:
        for i in range(per):
            w.append(
                "send.ok",
                producer="p0",
                id=f"p{k}:{i}",
                cluster="primary",
                topic="orders",
                partition=i % 6,
                offset=i,
                ts=1_700_000_000_000 + i,
            )

    t0 = time.perf_counter()
    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    w.close()
    return per * threads / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[1_000_000, 10_000_000])
    ap.add_argument("--dir", type=Path, default=None, help="where to write histories")
    ap.add_argument("--keep", action="store_true", help="keep generated histories")
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="kd-bench-"))
    base.mkdir(parents=True, exist_ok=True)

    rows = []
    for size in args.sizes:
        path = base / f"history-{size}.jsonl"
        t0 = time.perf_counter()
        n = generate(path, size)
        gen = time.perf_counter() - t0
        os.sync()  # dirty-page writeback would otherwise compete with the timed read
        busy = os.getloadavg()[0]  # this is a shared machine: say how busy it was
        cpu0 = time.process_time()  # CPU seconds: robust to other load on the machine
        t0 = time.perf_counter()
        frames = load_frames(path)
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        verdicts = run_checkers(frames)
        check = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        crashed = [k for k, v in verdicts.items() if not v.figures]
        statuses = " ".join(f"{k}={v.status}" for k, v in verdicts.items())
        rows.append((n, path.stat().st_size, gen, load, check, cpu, busy, statuses, crashed))
        if not args.keep:
            path.unlink()
        del frames

    print(
        f"{'events':>11} {'MB':>7} {'gen s':>7} {'load s':>7} {'check s':>8} "
        f"{'total s':>8} {'events/s':>11} {'cpu s':>7} {'loadavg':>8}"
    )
    for n, size, gen, load, check, cpu, busy, _, _ in rows:
        total = load + check
        print(
            f"{n:>11,} {size / 1e6:>7.0f} {gen:>7.1f} {load:>7.2f} {check:>8.2f} "
            f"{total:>8.2f} {n / total:>11,.0f} {cpu:>7.1f} {busy:>8.2f}"
        )
    for n, *_, statuses, crashed in rows:
        print(f"{n:,}: {statuses}" + (f"  CRASHED: {crashed}" if crashed else ""))

    wpath = base / "writer.jsonl"
    for threads in (1, 4):
        if wpath.exists():
            wpath.unlink()
        rate = writer_rate(wpath, threads=threads)
        print(f"HistoryWriter.append: {rate:,.0f} events/s ({threads} thread(s))")
    wpath.unlink()
    if not args.keep and not os.listdir(base):
        base.rmdir()


if __name__ == "__main__":
    main()
