"""Loss of MirrorMaker 2's own state: the flow restarts without its committed source offsets.

    mm2.offsets_loss   kill a flow's MM2, delete its offsets topic on the target; restart at heal

What MM2 users report: after its internal topics are lost (deleted by a cleanup script, a
cluster rebuilt, an `offset.storage.topic` renamed in a redeploy) MM2 starts over and copies
whole topics again: the DR copy gets every record a second time. In dedicated mode MM2 keeps
each herder's source offsets in `mm2-offsets.<source>.internal` on the target (Connect's
`offset.storage.topic`; a scenario may rename it with `<target>.offset.storage.topic`).

inject() kills the flow's process first (a live MM2 would recreate the topic and keep
committing), then deletes the topic; verify() checks the process is down and the topic gone;
heal() starts the flow again, which recreates the topic empty. What it cost is the duplicates
checker's figure (`mm2_recopy` copies on the target).

Not offered on the external runtime: deleting a team's MM2 state is not a drill step to run
against their clusters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kafkadrill.faults.base import FaultContext, fault
from kafkadrill.faults.metadata_admin import confluent_admin
from kafkadrill.faults.process import Mm2Params
from kafkadrill.runtimes.base import Cap, Runtime
from kafkadrill.topology import Flow


def offsets_topic(flow: Flow) -> str:
    """The flow's MM2 offsets topic on its target, as MM2 names it."""
    props = flow.properties
    key = f"{flow.target}.offset.storage.topic"
    return str(props.get(key) or f"mm2-offsets.{flow.source}.internal")


class Mm2StateParams(Mm2Params):
    """mm2.offsets_loss: one flow's MirrorMaker 2 loses its committed source offsets (the
    target is a flow, as for mm2.kill)."""


#: Builds the admin seam for (runtime, cluster); unit tests replace it.
ADMIN_FACTORY: Callable[[Runtime, str], Any] = confluent_admin


@fault(
    "mm2.offsets_loss",
    Mm2StateParams,
    needs={Cap.FLOW_KILL, Cap.FLOW_START, Cap.MM2_STATE},
    summary="kill a flow's MirrorMaker 2 and delete its offsets topic; restarted at heal",
)
class Mm2OffsetsLoss:
    def __init__(self, ctx: FaultContext, params: Mm2StateParams) -> None:
        self.rt = ctx.runtime
        self.flow = self.rt.flow(params.flow)
        self.topic = offsets_topic(self.flow)
        self.admin = ADMIN_FACTORY(self.rt, self.flow.target)

    def _exists(self) -> bool:
        return self.admin.partitions(self.topic) is not None

    def inject(self) -> str:
        killed = self.rt.flow_kill(self.flow)
        existed = self._exists()
        if existed:
            self.admin.delete_topic(self.topic)
        gone = "deleted" if existed else "was already absent"
        where = f"{self.flow.target}:{self.topic}"
        return f"killed MirrorMaker 2 {self.flow.name} ({killed}); {where} {gone}"

    def verify(self, timeout: float = 15.0) -> tuple[bool, str]:
        # Topic deletion completes asynchronously on the controller: give it a moment.
        deadline = time.monotonic() + timeout
        while self._exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        exists = self._exists()
        alive = self.rt.flow_alive(self.flow)
        ok = not exists and not alive
        return ok, (
            f"MirrorMaker 2 {self.flow.name} {'alive' if alive else 'down'}; "
            f"{self.flow.target}:{self.topic} {'still exists' if exists else 'absent'}"
        )

    def heal(self) -> str:
        return (
            f"started MirrorMaker 2 {self.flow.name} without its offsets "
            f"({self.rt.flow_start(self.flow)})"
        )
