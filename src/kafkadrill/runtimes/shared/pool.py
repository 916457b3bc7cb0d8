"""One running topology kept between drills (a pytest session's drills of equal topology).

Starting a 3+3 topology is most of a short drill's overhead. A runtime that can prove a reset
(`adopt`: every fault healed and checked, nodes running, links at the baseline WAN, clusters
healthy, MirrorMaker 2 kept only if healthy with the same settings, else replaced) serves the
next drill whose topology is equal
(`reuse_key`); a drill that cannot prove the reset gets a fresh topology. Drills on a kept
topology use run-scoped topic and group names (kafkadrill.isolation), so none sees another's
records. Only one topology is kept: two idle topologies would still share the 2 cores.

A kept topology's processes write their logs (and read their configs) in a home of its own,
never in a run directory: a run directory is sealed (MANIFEST.sha256) when its drill ends, and
nodes, MirrorMaker 2 and Toxiproxy that go on logging for the next drills made every sealed run
that had started them read as altered. Each drill gets a copy of the home's logs/ and config/
as they are when it ends (:meth:`TopologyPool.snapshot`), sealed with it.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.base import Progress, Runtime, create_runtime, runtime_type
from kafkadrill.runtimes.shared.lifecycle import start_or_stop
from kafkadrill.topology import Topology, reuse_key


@dataclass
class Lifecycle:
    """How the drill got its topology (the `topology` history event, the report)."""

    reused: bool
    drill: int  # 1 for the drill that started it
    started_in: str  # run directory of the drill that started it
    reset: list[str] = field(default_factory=list)  # evidence of the verified reset
    why_fresh: str | None = None
    reset_seconds: float | None = None

    def event(self) -> dict[str, Any]:
        return asdict(self)


def reusable(runtime: str) -> bool:
    """Does this runtime type keep a topology between drills (is it `Adoptable`)?"""
    return runtime_type(runtime).keeps_topology()


class TopologyPool:
    def __init__(self) -> None:
        self.rt: Any | None = None
        self.name: str | None = None
        self.key: Topology | None = None
        self.started_in = ""
        self.drills = 0
        self.home: Path | None = None  # where the kept topology's processes write

    @contextmanager
    def lease(
        self,
        name: str,
        topology: Topology,
        run_dir: Path,
        *,
        progress: Progress | None = None,
        options: dict[str, Any] | None = None,
    ) -> Iterator[tuple[Runtime, Lifecycle]]:
        """The runtime for one drill. If the drill raises (or is interrupted), the topology
        is stopped rather than kept: nothing unproven carries over. Either way the drill's run
        directory gets its copy of the topology's logs and configs when it ends."""
        try:
            rt, life = self._acquire(name, topology, run_dir, progress, options or {})
        except BaseException:
            self.close(snapshot_to=run_dir)  # a start that failed: its logs say why
            raise
        ok = False
        try:
            yield rt, life
            ok = True
        finally:
            if ok:
                self.snapshot(run_dir)
            else:
                self.close(snapshot_to=run_dir)

    def _acquire(
        self,
        name: str,
        topology: Topology,
        run_dir: Path,
        progress: Progress | None,
        options: dict[str, Any],
    ) -> tuple[Runtime, Lifecycle]:
        key = reuse_key(topology)
        if self.rt is None:
            why = "no topology kept"
        elif (self.name, self.key) != (name, key):
            why = "the kept topology differs (clusters, nodes, WAN or Kafka version)"
        else:
            t0 = time.monotonic()
            try:
                evidence = self.rt.adopt(topology, self.home or run_dir)
            except TopologyError as exc:
                why = f"the reset of the kept topology was not proven: {exc}"
            else:
                self.drills += 1
                life = Lifecycle(
                    True, self.drills, self.started_in, evidence, None,
                    round(time.monotonic() - t0, 3),
                )  # fmt: skip
                return self.rt, life
        self.close()
        self.home = Path(tempfile.mkdtemp(prefix="kafkadrill-kept-"))
        rt = create_runtime(name, topology, self.home, progress=progress, **options)
        start_or_stop(rt)
        self.rt, self.name, self.key = rt, name, key
        self.started_in, self.drills = str(run_dir), 1
        return rt, Lifecycle(False, 1, self.started_in, [], why)

    def snapshot(self, run_dir: Path) -> None:
        """Copy the kept topology's logs/ and config/ as they are now into `run_dir` (sealed
        with it); the processes go on writing in the home."""
        if self.home is None:
            return
        for sub in ("logs", "config"):
            src = self.home / sub
            if src.is_dir():
                shutil.copytree(src, Path(run_dir) / sub, dirs_exist_ok=True)

    def close(self, snapshot_to: Path | None = None) -> None:
        """Stop the kept topology (end of the session, or a drill that failed to finish);
        with `snapshot_to`, copy its logs there once the processes are stopped."""
        rt, self.rt, self.key = self.rt, None, None
        try:
            if rt is not None:
                rt.stop()
        finally:
            if snapshot_to is not None:
                self.snapshot(snapshot_to)
            home, self.home = self.home, None
            if home is not None:
                shutil.rmtree(home, ignore_errors=True)
