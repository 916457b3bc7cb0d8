"""Starting nodes on the external runtime: all of a heal's nodes at once, each verified back.

Why together: a `node_start` command may block until the node is ready (`kubectl wait
--for=condition=Ready`, a systemd unit with a readiness check). Started one at a time, the
first node of a fully-down KRaft cluster waits for a quorum that the nodes after it would
form, times out, and the heal fails. So every start command is launched, then all are awaited
(each with its own command timeout), and a failure names every node that failed, not the last.

Why verified: a start command returning says nothing about the node serving again (issue 19:
a node planned down 20 s was down about 52 s, unreported). A heal is done when every node is
`running` by its `node_state` command (when configured) and registered in its cluster's
metadata; the detail says how long each node was really down against the planned window.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from kafkadrill.errors import TopologyError

REJOIN_TIMEOUT = 120.0  # seconds from a start command's return to the node serving again
REJOIN_POLL = 0.5  # seconds between two looks (a state command is an ssh, a kubectl)

T = TypeVar("T")
NodeKey = tuple[str, int]


@dataclass(frozen=True)
class Started:
    """One node started and verified back; the seconds are measured, None when unknown."""

    cluster: str
    node: int
    how: str  # what the start command ran
    rejoin: str  # how the rejoin was verified
    down_seconds: float | None  # from kafkadrill taking it down to its rejoin verified
    planned_seconds: float | None  # from kafkadrill taking it down to the heal beginning

    def detail(self) -> str:
        text = f"{self.cluster}/{self.node}: {self.how}; {self.rejoin}"
        if self.down_seconds is not None:
            text += f"; down {self.down_seconds:.1f} s"
            if self.planned_seconds is not None:
                text += f" (planned {self.planned_seconds:.1f} s)"
        return text


def start_together(nodes: Sequence[NodeKey], start_one: Callable[[str, int], T]) -> list[T]:
    """`start_one` for every node, all launched before any is awaited; results in order.

    Raises TopologyError naming every node that failed with its reason."""
    keys = list(dict.fromkeys(nodes))  # a node listed twice is started once
    if not keys:
        return []
    with ThreadPoolExecutor(max_workers=len(keys), thread_name_prefix="node-start") as pool:
        futures = [pool.submit(start_one, c, n) for c, n in keys]
        outcomes: list[T | BaseException] = [_outcome(f.result) for f in futures]
    failed = [(k, o) for k, o in zip(keys, outcomes, strict=True) if isinstance(o, BaseException)]
    if failed:
        reasons = "; ".join(f"{c}/{n}: {exc}" for (c, n), exc in failed)
        raise TopologyError(
            f"{len(failed)} of {len(keys)} node(s) did not start: {reasons}"
        ) from failed[0][1]
    return [o for o in outcomes if not isinstance(o, BaseException)]


def _outcome(result: Callable[[], T]) -> T | BaseException:
    try:
        return result()
    except Exception as exc:  # reported with the others, by node, by the caller
        return exc


def wait_until(
    what: str, look: Callable[[], tuple[bool, str]], timeout: float | None = None
) -> float:
    """Seconds until `look()` says yes; TopologyError with its last answer after `timeout`
    (default REJOIN_TIMEOUT, read at each call)."""
    timeout = REJOIN_TIMEOUT if timeout is None else timeout
    t0 = time.monotonic()
    while True:
        ok, last = look()
        waited = time.monotonic() - t0
        if ok:
            return waited
        if waited > timeout:
            raise TopologyError(f"{what} not verified after {timeout:g} s: {last}")
        time.sleep(REJOIN_POLL)
