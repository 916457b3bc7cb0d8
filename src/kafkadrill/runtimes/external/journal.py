"""The undo journal of the external runtime: what kafkadrill did to a team's clusters and what
undoes it, written to the run directory before each change (issue 26).

`stop()` heals on success, error, abort and Ctrl-C; a SIGKILL (CI timeout, OOM kill, a lost
machine) skips it and would leave nodes stopped, MirrorMaker 2 stopped and toxics in force with
nobody told. So every injection is journaled first (write-ahead: an entry may name a change
that never took effect; undoing it again is harmless), each undo is journaled once done, and a
clean `stop()` closes the journal. `kafkadrill heal RUN_DIR` and `kafkadrill status` read it.

The file is JSON Lines, appended and fsync'd one entry at a time, so a crash loses at most the
line being written; `read_journal` skips a cut last line. It holds names only (clusters, nodes,
flows, proxies, toxics, topics), never a command or a secret: the commands are rendered again
from the run's scenario.yaml when healing.

Entries (every one has `op` and `at`, UTC ISO time):
- `begin`: run_id, scenario, runtime, pid, pid_created (process create time), host;
- a change, with `undo` naming what reverts it: `node_down` (cluster, node, how), `node_paused`
  (cluster, node), `flow_stopped` (flow, how), `toxic` (proxy, toxic), `proxy_disabled`
  (proxy), `topic` (cluster, topic);
- `undone` (id of the change, by);
- `closed` (by): everything kafkadrill did was undone; the fold starts empty again;
- `heal` (pid, operator): a `kafkadrill heal` began (informational).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafkadrill.errors import TopologyError

JOURNAL_FILE = "journal.jsonl"
HEAL_FILE = "heal.json"

#: What undoes each change (the journal records it too, for a reader without kafkadrill).
UNDO = {
    "node_down": "node_start",
    "node_paused": "node_resume",
    "flow_stopped": "flow_start",
    "toxic": "remove_toxic",
    "proxy_disabled": "enable_proxy",
    "topic": "delete_topic",
    "fence": "unfence",
}
#: The fields naming the target of each change: its identity in the fold.
KEYS = {
    "node_down": ("cluster", "node"),
    "node_paused": ("cluster", "node"),
    "flow_stopped": ("flow",),
    "toxic": ("proxy", "toxic"),
    "proxy_disabled": ("proxy",),
    "topic": ("cluster", "topic"),
    "fence": ("cluster", "topic"),
}


def entry_id(op: str, target: Mapping[str, Any]) -> str:
    """`node_down:primary/2`: the identity an `undone` entry names (KeyError: a field of the
    target is missing)."""
    return f"{op}:" + "/".join(str(target[k]) for k in KEYS[op])


@dataclass(frozen=True)
class Pending:
    """One change kafkadrill made and did not undo (the entry that journaled it)."""

    id: str
    op: str
    entry: dict[str, Any]

    def get(self, key: str) -> Any:
        return self.entry.get(key)

    def describe(self) -> str:
        e = self.entry
        what = {
            "node_down": f"node {e.get('cluster')}/{e.get('node')} down ({e.get('how')})",
            "node_paused": f"node {e.get('cluster')}/{e.get('node')} paused",
            "flow_stopped": f"flow {e.get('flow')} stopped ({e.get('how')})",
            "toxic": f"toxic {e.get('toxic')} on proxy {e.get('proxy')}",
            "proxy_disabled": f"proxy {e.get('proxy')} disabled",
            "topic": f"run topic {e.get('topic')} on {e.get('cluster')}",
            "fence": f"writes to {e.get('topic')} fenced on {e.get('cluster')}",
        }[self.op]
        return f"{what} since {e.get('at', '?')}"


def in_force(entries: Iterable[dict[str, Any]]) -> list[Pending]:
    """The changes done and not undone, in the order they were first done. Pure.

    A change repeated while in force keeps its first entry (it has been in force since then);
    an `undone` of something not in force is ignored; `closed` empties the fold; unknown ops
    (a newer kafkadrill's) are skipped."""
    live: dict[str, Pending] = {}
    for e in entries:
        op = e.get("op")
        if op == "closed":
            live.clear()
        elif op == "undone":
            live.pop(str(e.get("id")), None)
        elif op in KEYS:
            try:
                eid = entry_id(op, e)
            except KeyError:
                continue  # a malformed change names nothing that could be undone
            live.setdefault(eid, Pending(eid, op, dict(e)))
    return list(live.values())


@dataclass(frozen=True)
class JournalFile:
    """A journal as read: its `begin` entry (None if absent) and every entry in order."""

    path: Path
    header: dict[str, Any] | None
    entries: list[dict[str, Any]]
    damaged: int  # lines that could not be read (a cut last line after a crash)

    @property
    def pending(self) -> list[Pending]:
        return in_force(self.entries)


def read_journal(path: Path) -> JournalFile:
    """Every readable entry of the journal at `path`; unreadable lines are counted, not fatal
    (the last one is cut when the runner died while writing it)."""
    entries: list[dict[str, Any]] = []
    damaged = 0
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        try:
            e = json.loads(line)
        except ValueError:
            damaged += 1
            continue
        if isinstance(e, dict):
            entries.append(e)
        else:
            damaged += 1
    header = next((e for e in entries if e.get("op") == "begin"), None)
    return JournalFile(path, header, entries, damaged)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def process_identity(pid: int | None = None) -> dict[str, Any]:
    """pid, its create time and the host: a pid alone is reused after the runner dies."""
    import psutil

    pid = os.getpid() if pid is None else pid
    created = psutil.Process(pid).create_time()
    return {"pid": pid, "pid_created": created, "host": socket.gethostname()}


def runner_alive(header: dict[str, Any]) -> bool | None:
    """True if the journal's runner still runs, False if it is gone, None if that cannot be
    told from here (it ran on another host)."""
    import psutil

    if header.get("host") != socket.gethostname():
        return None
    try:
        created = psutil.Process(int(header["pid"])).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError, ValueError, TypeError):
        return False
    return abs(created - float(header.get("pid_created", -1))) < 0.01


class JournalError(TopologyError):
    """The journal cannot be written: nothing may be injected then."""


class Journal:
    """Appends entries to `path`, one fsync each. Thread-safe (nodes start in parallel).

    `begin` is written with the first entry, so a runtime that changes nothing leaves no file."""

    def __init__(self, path: Path, begin: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self._begin = begin  # None: continue an existing journal (heal)
        self._lock = threading.Lock()

    def _write(self, entry: dict[str, Any]) -> None:
        line = json.dumps({**entry, "at": _now()}, sort_keys=True) + "\n"
        new = not self.path.exists()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            if new:  # the file's name must survive a crash too
                _fsync_dir(self.path.parent)
        except OSError as exc:
            raise JournalError(f"cannot write the undo journal {self.path}: {exc}") from exc

    def append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            if self._begin is not None:
                self._write({"op": "begin", **self._begin})
                self._begin = None
            self._write(entry)

    def did(self, op: str, **target: Any) -> str:
        """Journal a change before making it; returns its id."""
        eid = entry_id(op, target)
        self.append({"op": op, "id": eid, "undo": UNDO[op], **target})
        return eid

    def undone(self, op: str, by: str = "runner", **target: Any) -> None:
        """Journal that a change was undone (after the undo succeeded)."""
        if self.path.exists():  # nothing journaled, nothing to mark
            self.append({"op": "undone", "id": entry_id(op, target), "by": by})

    def closed(self, by: str = "runner") -> None:
        if self.path.exists():
            self.append({"op": "closed", "by": by})


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsync'd
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
