"""Loss of MirrorMaker 2's own state: the flow restarts without some of its internal topics.

    mm2.state_loss     kill a flow's MM2, delete the internal topics named in `topics`
                       (offsets, configs, status) on the target; restart it at heal
    mm2.offsets_loss   the same with `topics: [offsets]` (kept: scenarios name it)

What MM2 users report: after its internal topics are lost (deleted by a cleanup script, a
cluster rebuilt, a storage topic renamed in a redeploy) MM2 starts over. In dedicated mode each
herder keeps Kafka Connect's three topics on the target: `mm2-offsets.<source>.internal` (the
committed source offsets: losing it makes MM2 copy whole topics again, every record a second
time on the target), `mm2-configs.<source>.internal` (connector configs and task assignments)
and `mm2-status.<source>.internal` (connector and task states). A scenario may rename them with
`<target>.offset.storage.topic`, `<target>.config.storage.topic`, `<target>.status.storage.topic`.
What losing configs or status costs is measured, not assumed: in dedicated mode MM2 writes its
connector configs again from its properties at start.

inject() kills the flow's process first (a live MM2 would recreate the topics and keep writing),
then deletes the topics; verify() checks the process is down and every topic gone; heal()
starts the flow again, which recreates them empty. What it cost is the duplicates checker's
figure (`mm2_recopy` copies on the target) and the replication checker's resume time.

Not offered on the external runtime: deleting a team's MM2 state is not a drill step to run
against their clusters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from kafkadrill.faults.base import FaultContext, fault
from kafkadrill.faults.metadata_admin import confluent_admin
from kafkadrill.faults.process import Mm2Params
from kafkadrill.runtimes.base import Cap, Runtime
from kafkadrill.topology import Flow

#: Kafka Connect's internal topics of one MM2 herder: the worker setting that renames each,
#: and MM2's default name (`<kind>.<source>.internal` with the `mm2-` prefix).
STATE_TOPICS: dict[str, tuple[str, str]] = {
    "offsets": ("offset.storage.topic", "mm2-offsets"),
    "configs": ("config.storage.topic", "mm2-configs"),
    "status": ("status.storage.topic", "mm2-status"),
}
StateTopic = Literal["offsets", "configs", "status"]


def state_topic(flow: Flow, kind: str) -> str:
    """The flow's MM2 internal topic of `kind` on its target, as MM2 names it."""
    setting, prefix = STATE_TOPICS[kind]
    named = flow.properties.get(f"{flow.target}.{setting}")
    return str(named or f"{prefix}.{flow.source}.internal")


def offsets_topic(flow: Flow) -> str:
    """The flow's MM2 offsets topic on its target, as MM2 names it."""
    return state_topic(flow, "offsets")


class Mm2StateParams(Mm2Params):
    """mm2.state_loss: one flow's MirrorMaker 2 loses internal topics (the target is a flow, as
    for mm2.kill). `topics`: which of offsets, configs, status (default: all three)."""

    topics: list[StateTopic] = Field(
        default_factory=lambda: ["offsets", "configs", "status"], min_length=1
    )


class Mm2OffsetsParams(Mm2Params):
    """mm2.offsets_loss: one flow's MirrorMaker 2 loses its committed source offsets."""


#: Builds the admin seam for (runtime, cluster); unit tests replace it.
ADMIN_FACTORY: Callable[[Runtime, str], Any] = confluent_admin


class _StateLoss:
    """Kill the flow, delete `kinds` of its internal topics; restart at heal."""

    def __init__(self, ctx: FaultContext, flow_name: str, kinds: list[str]) -> None:
        self.rt = ctx.runtime
        self.flow = self.rt.flow(flow_name)
        self.topics = [state_topic(self.flow, k) for k in dict.fromkeys(kinds)]
        self.admin = ADMIN_FACTORY(self.rt, self.flow.target)

    def _present(self) -> list[str]:
        return [t for t in self.topics if self.admin.partitions(t) is not None]

    def inject(self) -> str:
        killed = self.rt.flow_kill(self.flow)
        present = self._present()
        for topic in present:
            self.admin.delete_topic(topic)
        where = self.flow.target
        said = [
            f"{where}:{t} {'deleted' if t in present else 'was already absent'}"
            for t in self.topics
        ]
        return f"killed MirrorMaker 2 {self.flow.name} ({killed}); " + ", ".join(said)

    def verify(self, timeout: float = 15.0) -> tuple[bool, str]:
        # Topic deletion completes asynchronously on the controller: give it a moment.
        deadline = time.monotonic() + timeout
        while self._present() and time.monotonic() < deadline:
            time.sleep(0.5)
        left = self._present()
        alive = self.rt.flow_alive(self.flow)
        said = [
            f"{self.flow.target}:{t} {'still exists' if t in left else 'absent'}"
            for t in self.topics
        ]
        return not left and not alive, (
            f"MirrorMaker 2 {self.flow.name} {'alive' if alive else 'down'}; " + ", ".join(said)
        )

    def heal(self) -> str:
        return (
            f"started MirrorMaker 2 {self.flow.name} without {', '.join(self.topics)} "
            f"({self.rt.flow_start(self.flow)})"
        )


_NEEDS = {Cap.FLOW_KILL, Cap.FLOW_START, Cap.MM2_STATE}


@fault(
    "mm2.state_loss",
    Mm2StateParams,
    needs=_NEEDS,
    summary="kill a flow's MirrorMaker 2 and delete its internal topics (offsets, configs, "
    "status); restarted at heal",
)
class Mm2StateLoss(_StateLoss):
    def __init__(self, ctx: FaultContext, params: Mm2StateParams) -> None:
        super().__init__(ctx, params.flow, list(params.topics))


@fault(
    "mm2.offsets_loss",
    Mm2OffsetsParams,
    needs=_NEEDS,
    summary="kill a flow's MirrorMaker 2 and delete its offsets topic; restarted at heal",
)
class Mm2OffsetsLoss(_StateLoss):
    def __init__(self, ctx: FaultContext, params: Mm2OffsetsParams) -> None:
        super().__init__(ctx, params.flow, ["offsets"])
