"""A workload worker: producers in a process of their own (issue 25), ``python -m
kafkadrill.workload.worker SPEC.json``.

One Python process tops out at about 50-78k acked msg/s; workers spread a producer group over
processes so the load is bounded by Kafka and the machine. The protocol is plain JSON lines
over the worker's stdin and stdout, so a worker can run anywhere its spec's bootstrap servers
are reachable:

- the spec (:class:`WorkerSpec`, a JSON file, or the first line of stdin with ``-``): the run
  id, the producers (their :class:`~kafkadrill.workload.producer.ProducerSpec`), a bootstrap
  per (cluster, site), the segment to write (``history.w<N>.arrow``) and the runner history's
  origin (``start``, ``t0_wall``) on the shared monotonic clock: a worker on the runner's host
  stamps events on the runner's ``t`` exactly; one on another host (origin null) keeps its own
  clock, which the merge corrects from the clock exchanges (docs/explanation/workers.md);
- commands on stdin, one JSON object per line: ``{"op": "stop"}``, ``{"op": "pause" | "resume",
  "producer": NAME}``, ``{"op": "redirect", "producer": NAME, "cluster": C, "site": S,
  "bootstrap": B}``, ``{"op": "clock", "n": N}``; end of input is a stop (the runner is gone);
- status on stdout, one JSON object per line at least every :data:`STATUS_INTERVAL_S`:
  ``{"producers": {NAME: {"acked", "failed", "unknown", "cluster", "site", "error"}}}``, and
  ``"done": true`` on the last one, after the segment is closed. With ``ship_segment`` each
  also carries what the segment gained since the last (``"segment"``, base64). A clock command
  is answered at once with ``{"clock": N, "t": T}``, T the worker's ``t`` (the runner brackets
  it with its own ``t`` before and after: the bounds of the offset, see the ``clocks`` checker).

The worker writes every event of its producers to its segment as the run goes (a batch at least
every second); the runner merges the segments into the run's history at the end
(:func:`kafkadrill.history.merge.merge_segments`).
"""

from __future__ import annotations

import base64
import json
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kafkadrill.history.columnar_writer import open_history
from kafkadrill.workload.producer import ProducerSpec, WorkloadProducer
from kafkadrill.workload.txn_producer import TransactionalProducer

__all__ = ["STATUS_INTERVAL_S", "WorkerSpec", "main"]

STATUS_INTERVAL_S = 0.5


@dataclass
class WorkerSpec:
    index: int
    run_id: str
    segment: str
    # The runner history's (start, t0_wall) on CLOCK_MONOTONIC; None: the worker's own clock (a
    # worker on another host), which the merge corrects from the clock exchanges.
    origin: tuple[float, float] | None
    producers: list[ProducerSpec]
    bootstrap: dict[str, str] = field(default_factory=dict)  # "cluster|site" -> servers
    # Send the segment's bytes to the runner with each status (a worker on another host: the
    # runner keeps a copy as it grows, so a lost worker costs at most its last status' worth).
    ship_segment: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerSpec:
        raw = json.loads(text)
        raw["origin"] = None if raw["origin"] is None else tuple(raw["origin"])
        raw["producers"] = [ProducerSpec(**p) for p in raw["producers"]]
        return cls(**raw)


def bootstrap_key(cluster: str, site: str) -> str:
    return f"{cluster}|{site}"


class _Worker:
    def __init__(self, spec: WorkerSpec, out: TextIO) -> None:
        self.spec, self.out = spec, out
        self.bootstrap = dict(spec.bootstrap)
        self.history = open_history(
            Path(spec.segment), spec.run_id, clock=time.monotonic, origin=spec.origin
        )
        self.stop = threading.Event()
        self.producers: dict[str, WorkloadProducer] = {}
        for p in spec.producers:
            cls = WorkloadProducer if p.txn_size is None else TransactionalProducer
            self.producers[p.name] = cls(p, self.history, self._bootstrap, spec.run_id, self.stop)
        self._out_lock = threading.Lock()
        self._shipped = 0  # bytes of the segment sent so far (ship_segment)

    def _bootstrap(self, cluster: str, site: str) -> str:
        return self.bootstrap[bootstrap_key(cluster, site)]

    def status(self, done: bool = False) -> None:
        line = {
            "producers": {
                name: {
                    "acked": p.acked,
                    "failed": p.failed,
                    "unknown": p.unknown,
                    "cluster": p.cluster,
                    "site": p.site,
                    "error": None if p.error is None else repr(p.error),
                }
                for name, p in self.producers.items()
            },
            "done": done,
        }
        if self.spec.ship_segment:
            line["segment"] = self._new_segment_bytes()
        self._write(line)

    def _new_segment_bytes(self) -> str:
        """What the segment gained since the last status, base64 (the writer appends whole
        writes; a batch cut mid-way is completed by the next status)."""
        with open(self.spec.segment, "rb") as f:
            f.seek(self._shipped)
            data = f.read()
        self._shipped += len(data)
        return base64.b64encode(data).decode()

    def _write(self, line: dict[str, Any]) -> None:
        with self._out_lock:
            self.out.write(json.dumps(line) + "\n")
            self.out.flush()

    def command(self, cmd: dict[str, Any]) -> None:
        op = cmd.get("op")
        if op == "stop":
            self.stop.set()
            return
        if op == "clock":
            self._write({"clock": cmd["n"], "t": self.history.now()})
            return
        p = self.producers[cmd["producer"]]
        if op == "pause":
            p.paused.set()
        elif op == "resume":
            p.paused.clear()
        elif op == "redirect":
            self.bootstrap[bootstrap_key(cmd["cluster"], cmd["site"])] = cmd["bootstrap"]
            p.redirect(cmd["cluster"], cmd["site"])
        else:
            raise ValueError(f"unknown worker command {cmd!r}")

    def read_commands(self, source: TextIO) -> None:
        for line in source:
            if line.strip():
                self.command(json.loads(line))
        self.stop.set()  # end of input: the runner is gone

    def run(self, commands: TextIO) -> None:
        reader = threading.Thread(target=self.read_commands, args=(commands,), daemon=True)
        reader.start()
        for p in self.producers.values():
            p.start()
        while not self.stop.wait(STATUS_INTERVAL_S):
            self.status()
        for p in self.producers.values():
            p.join()  # each drains its backlog (bounded by its delivery timeout)
        self.history.close()
        self.status(done=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m kafkadrill.workload.worker SPEC.json|-", file=sys.stderr)
        return 2
    # "-": the spec is the first line of stdin (a worker started on another host through a
    # command that carries only its stdin and stdout).
    text = sys.stdin.readline() if args[0] == "-" else Path(args[0]).read_text()
    spec = WorkerSpec.from_json(text)
    worker = _Worker(spec, sys.stdout)
    # SIGTERM stops the worker as a stop command does (its producers drain, the segment closes).
    signal.signal(signal.SIGTERM, lambda *_: worker.stop.set())
    worker.run(sys.stdin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
