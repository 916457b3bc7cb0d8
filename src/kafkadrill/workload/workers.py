"""The runner's side of workload workers (:mod:`kafkadrill.workload.worker`).

:class:`WorkerProcess` starts one worker as a guarded child (it dies with the runner, even by
SIGKILL), relays commands to it and reads its status. Each of the worker's producers is seen by
the drill through a :class:`RemoteProducer`, which has what the drill, the faults and the
runbooks use of a producer thread (counters, ``spec``, ``paused``, ``redirect``, ``error``,
``start``/``join``), so they do not know where a producer runs.

Twice, after it starts and before it stops, the runner exchanges clock readings with each
worker (:meth:`WorkerProcess.exchange_clocks`, a ``worker.clock`` event): the ``clocks``
checker derives the bounds of the worker's clock offset from them.

A worker that exits without its final status (killed, crashed) is a crashed workload client,
as a producer thread that raises is: its producers get a ``client.error`` event and the run
stops with an error. Its segment keeps every batch written before the end (at most the last
second is lost): the sends recorded there without an outcome are reported as unknown by the
checkers.
"""

from __future__ import annotations

import base64
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kafkadrill.history import Ev, HistoryWriter
from kafkadrill.runtimes.shared.processes import spawn_guarded
from kafkadrill.workload.client import BootstrapFn
from kafkadrill.workload.producer import ProducerSpec
from kafkadrill.workload.worker import WorkerSpec, bootstrap_key

__all__ = ["CLOCK_PINGS", "RemoteProducer", "WorkerLost", "WorkerProcess", "make_workers"]

#: Pings per clock exchange: the bounds are the tightest ping's (one slow answer costs nothing).
CLOCK_PINGS = 8
#: Seconds a worker may take to answer a ping; the first waits for its start-up (imports,
#: clients), so it is generous. A worker that does not answer ends the exchange.
CLOCK_TIMEOUT_S = 30.0


class WorkerLost(RuntimeError):
    """A worker process ended without its final status."""


class _RemotePause:
    """``paused`` of a remote producer: setting or clearing it is a command to its worker."""

    def __init__(self, worker: WorkerProcess, producer: str) -> None:
        self._worker, self._producer = worker, producer
        self._set = threading.Event()

    def set(self) -> None:
        self._set.set()
        self._worker.send({"op": "pause", "producer": self._producer})

    def clear(self) -> None:
        self._set.clear()
        self._worker.send({"op": "resume", "producer": self._producer})

    def is_set(self) -> bool:
        return self._set.is_set()


class RemoteProducer:
    """One producer of a worker, as the drill sees it."""

    role = "producer"

    def __init__(self, worker: WorkerProcess, spec: ProducerSpec) -> None:
        self.worker, self.spec = worker, spec
        self.client_name = spec.name
        self.cluster, self.site = spec.cluster, spec.site
        self.acked = self.failed = self.unknown = 0
        self.error: BaseException | None = None
        self.paused = _RemotePause(worker, spec.name)

    def start(self) -> None:
        self.worker.start()

    def join(self, timeout: float | None = None) -> None:
        self.worker.join(timeout)

    def is_alive(self) -> bool:
        return self.worker.is_alive()

    def redirect(self, cluster: str, site: str | None = None) -> None:
        to_site = site or self.site
        self.worker.send(
            {
                "op": "redirect",
                "producer": self.spec.name,
                "cluster": cluster,
                "site": to_site,
                "bootstrap": self.worker.bootstrap(cluster, to_site),
            }
        )

    def update(self, status: dict[str, Any]) -> None:
        self.acked, self.failed, self.unknown = status["acked"], status["failed"], status["unknown"]
        self.cluster, self.site = status["cluster"], status["site"]
        if status.get("error") and self.error is None:
            self.error = RuntimeError(status["error"])


class WorkerProcess:
    """One worker process and its producers (:attr:`producers`)."""

    def __init__(
        self,
        index: int,
        specs: list[ProducerSpec],
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        run_dir: Path,
        stop: threading.Event,
        command: Sequence[str] | None = None,
    ) -> None:
        """``command``: how to start the worker's Python elsewhere (``ssh HOST python3``,
        ``kubectl exec -i POD -- python3``: it must carry stdin and stdout); its spec then goes
        on its stdin, it keeps its own clock (the merge corrects it from the clock exchanges)
        and ships its segment back with its status. None: a child of the runner, on its clock,
        writing the segment in place."""
        self.index, self.history, self.bootstrap, self.run_dir = index, history, bootstrap, run_dir
        self.command = list(command) if command is not None else None
        self.shared = command is None
        self.stop_event = stop
        self.segment = run_dir / f"history.w{index}.arrow"
        self.producers = [RemoteProducer(self, s) for s in specs]
        self._by_name = {p.spec.name: p for p in self.producers}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._clock_replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self._clock_lock = threading.Lock()
        self._ping = 0
        self.done = False  # its final status arrived: it stopped in order
        self.lost: str | None = None  # why not, once it ended without it
        self.returncode: int | None = None

    @property
    def name(self) -> str:
        return f"w{self.index}"

    def spec(self) -> WorkerSpec:
        return WorkerSpec(
            index=self.index,
            run_id=self.history.run_id,
            # Elsewhere: in the worker's working directory (the runner keeps its own copy).
            segment=str(self.segment) if self.shared else self.segment.name,
            origin=self.history.origin if self.shared else None,
            ship_segment=not self.shared,
            producers=[p.spec for p in self.producers],
            bootstrap={
                bootstrap_key(p.spec.cluster, p.spec.site): self.bootstrap(
                    p.spec.cluster, p.spec.site
                )
                for p in self.producers
            },
        )

    def start(self) -> None:
        with self._lock:
            if self._proc is not None:
                return
            spec = self.spec()
            spec_path = self.run_dir / "workers" / f"{self.name}.json"
            spec_path.parent.mkdir(parents=True, exist_ok=True)
            spec_path.write_text(spec.to_json())
            log_dir = self.run_dir / "logs"
            log_dir.mkdir(parents=True, exist_ok=True)
            module = ["-m", "kafkadrill.workload.worker"]
            argv = [sys.executable, *module, str(spec_path)]
            if self.command is not None:  # elsewhere: the spec travels on its stdin
                argv = [*self.command, *module, "-"]
            with (log_dir / f"worker-{self.name}.log").open("ab") as log:
                self._proc = spawn_guarded(
                    argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log
                )
            if self.command is not None:
                self._write_line(spec.to_json())
            self._reader = threading.Thread(
                target=self._read_status, name=f"worker-{self.name}-status", daemon=True
            )
            self._reader.start()
        threading.Thread(target=self._clocks_and_stop, daemon=True).start()

    def _clocks_and_stop(self) -> None:
        self.exchange_clocks("start")
        self.stop_event.wait()
        self.exchange_clocks("end")
        self.send({"op": "stop"})

    def exchange_clocks(self, at: str, pings: int = CLOCK_PINGS) -> None:
        """Ask the worker for its ``t`` ``pings`` times, each bracketed by the runner's ``t``,
        and record the samples (``worker.clock``): on a shared clock they prove the offset is
        0, within the round trip; on the worker's own they are what the merge corrects by. An
        exchange without an answer is recorded for an own clock (the checker then says its
        times cannot be placed), not for a shared one (it is exact anyway)."""
        samples: list[list[float]] = []
        with self._clock_lock:
            for _ in range(pings):
                if not self.is_alive():
                    break
                self._ping += 1
                sent = self.history.now()
                self.send({"op": "clock", "n": self._ping})
                t_worker = self._clock_reply(self._ping)
                if t_worker is None:
                    break  # no answer: the worker is gone or stuck (its status says which)
                samples.append([sent, t_worker, self.history.now()])
        if (samples or not self.shared) and not self.history.closed:
            self.history.append(
                Ev.WORKER_CLOCK, worker=self.name, at=at, samples=samples, shared=self.shared
            )

    def _clock_reply(self, n: int) -> float | None:
        """The worker's ``t`` in its answer to ping ``n`` (a late answer to an earlier ping is
        skipped), or None when it ended or after :data:`CLOCK_TIMEOUT_S`."""
        deadline = time.monotonic() + CLOCK_TIMEOUT_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                reply = self._clock_replies.get(timeout=left)
            except queue.Empty:
                return None
            if reply.get("gone"):
                return None
            if reply.get("clock") == n:
                return float(reply["t"])
        return None

    def send(self, cmd: dict[str, Any]) -> None:
        with self._lock:
            self._write_line(json.dumps(cmd))

    def _write_line(self, text: str) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            return
        try:
            proc.stdin.write((text + "\n").encode())
            proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # it is gone: _read_status records how it ended

    def _read_status(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        for raw in proc.stdout:
            try:
                status = json.loads(raw)
            except ValueError:
                continue
            if "clock" in status:
                self._clock_replies.put(status)
                continue
            if status.get("segment"):  # shipped: the runner's copy grows with the worker's
                with self.segment.open("ab") as f:
                    f.write(base64.b64decode(status["segment"]))
            for name, s in status.get("producers", {}).items():
                if name in self._by_name:
                    self._by_name[name].update(s)
            if status.get("done"):
                self.done = True
        self.returncode = proc.wait()
        self._clock_replies.put({"gone": True})  # a ping waiting for an answer gets none
        if not self.done:
            self._lost()

    def _lost(self) -> None:
        why = f"worker {self.name} (pid {self.pid}) ended without its final status: " + (
            f"signal {-self.returncode}"
            if self.returncode is not None and self.returncode < 0
            else f"exit {self.returncode}"
        )
        self.lost = why
        for p in self.producers:
            if p.error is None:
                p.error = WorkerLost(why)
            if not self.history.closed:
                self.history.append(Ev.CLIENT_ERROR, client=p.spec.name, error=why)

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def join(self, timeout: float | None = None) -> None:
        if self._reader is not None:
            self._reader.join(timeout)

    def is_alive(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def kill(self) -> None:
        """SIGKILL (cleanup after an error: the run is over)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()


def make_workers(
    specs: list[ProducerSpec],
    history: HistoryWriter,
    bootstrap: BootstrapFn,
    run_dir: Path,
    stop: threading.Event,
) -> list[WorkerProcess]:
    """One :class:`WorkerProcess` per worker index of ``specs`` (``spec.worker``; started by
    their producers' ``start``), started through their group's ``worker_command`` if any."""
    groups: dict[int, list[ProducerSpec]] = {}
    for s in specs:
        assert s.worker is not None
        groups.setdefault(s.worker, []).append(s)
    return [
        WorkerProcess(i, group, history, bootstrap, run_dir, stop, group[0].worker_command)
        for i, group in sorted(groups.items())
    ]
