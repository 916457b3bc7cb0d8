"""The `fake` runtime: a topology in memory, for unit tests of everything above the seam.

No process, no socket, no Kafka. Nodes are states, links are sets of cuts, clusters are lists of
records, MirrorMaker 2 is a pump that copies records while its flow is alive and its link is up
(and writes a heartbeat to the flow's source every second, as MM2 does to `heartbeats`), and
workload clients are threads that write the same history events as the real ones. It keeps a log
of every operation (`ops`) so tests can check what the runner did and when, and it can be told to
misbehave (`fail`, `ineffective`) to test error paths.

It models availability coarsely (a cluster takes writes while a majority of its nodes run and
are reachable) and is not a Kafka simulator: figures from it test the orchestration, never
Kafka.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafkadrill.clock import REAL, Clock
from kafkadrill.errors import TopologyError
from kafkadrill.history import Ev, HistoryWriter, SendLines
from kafkadrill.runbooks.offsets import CheckpointSet, latest_checkpoints
from kafkadrill.runtimes.base import (
    Cap,
    LinkEffect,
    NodeState,
    Progress,
    find_flow,
    register_runtime,
)
from kafkadrill.topology import Flow, Topology, subscribed
from kafkadrill.workload.client import BootstrapFn, ClientThread
from kafkadrill.workload.consumer import ConsumerSpec, topic_pattern
from kafkadrill.workload.copier import CopierSpec
from kafkadrill.workload.payload import HDR_ID, HDR_ORIGIN_CLUSTER, HDR_ORIGIN_SITE, message_id
from kafkadrill.workload.producer import ProducerSpec

HEARTBEATS = "heartbeats"  # MM2's heartbeat topic (copied as `<source>.heartbeats`)
HEARTBEAT_INTERVAL_S = 1.0  # emit.heartbeats.interval.seconds of the real runtimes' MM2


@dataclass
class Record:
    id: str | None
    ts: int
    hdr: dict[str, str]


@dataclass
class FakeCluster:
    name: str
    region: str
    topics: dict[str, list[list[Record]]] = field(default_factory=dict)
    groups: dict[str, dict[tuple[str, int], int]] = field(default_factory=dict)

    def topic(self, name: str, partitions: int = 3) -> list[list[Record]]:
        if name not in self.topics:
            self.topics[name] = [[] for _ in range(partitions)]
        return self.topics[name]


def _addr(cluster: str, node: int, site: str) -> str:
    return f"{cluster}.n{node}.from.{site}:9092"


def _parse(address: str) -> tuple[str, int, str]:
    host = address.rsplit(":", 1)[0]
    left, _, site = host.partition(".from.")
    cluster, _, node = left.rpartition(".n")
    return cluster, int(node), site


# No ACLs and no topic rewrites in memory: a fence or a rebuild/truncate failback is refused
# before a fake drill starts rather than crashing its runbook.
FAKE_CAPABILITIES = Cap.ALL - {
    Cap.ACL,
    Cap.TOPIC_REWRITE,
    Cap.TOPIC_RETENTION,
    Cap.MM2_STATE,
    Cap.BACKUP,
    Cap.SCHEMA_REGISTRY,
    Cap.WORKERS,
}


@register_runtime(
    "fake",
    FAKE_CAPABILITIES,
    "in memory, no Kafka: for unit tests of the runner",
    testing_only=True,
)
class FakeRuntime:
    kind = "fake"
    capabilities = FAKE_CAPABILITIES

    def __init__(
        self,
        topology: Topology,
        workdir: Path,
        *,
        progress: Progress | None = None,
        clock: Clock = REAL,
        fail: dict[str, BaseException] | None = None,
        ineffective: Iterable[str] = (),
        pump_interval: float = 0.2,
    ) -> None:
        self.topology = topology
        self.workdir = Path(workdir)
        self.progress = progress or (lambda _m: None)
        self.clock = clock
        self.fail = dict(fail or {})  # operation name -> exception it raises
        self.ineffective = set(ineffective)  # operations that do nothing (verify must catch)
        self.pump_interval = pump_interval
        self.timings: dict[str, float] = {}
        self.lock = threading.RLock()
        self.nodes: dict[tuple[str, int], NodeState] = {
            (c.name, n.node_id): "running" for c in topology.clusters for n in c.nodes
        }
        self.data = {c.name: FakeCluster(c.name, c.region) for c in topology.clusters}
        self._flows: dict[str, Flow] = {}
        self.flow_up: dict[str, bool] = {}
        self.copied: dict[tuple[str, str, int], int] = {}  # (flow, topic, partition) -> next
        self.cuts: dict[int, tuple[frozenset[str], str]] = {}  # effect id -> (regions, dir)
        self.isolated: dict[int, tuple[str, str]] = {}  # effect id -> (cluster, az)
        self.toxics: dict[int, tuple[frozenset[str], str, dict[str, Any]]] = {}
        self.ops: list[tuple[float, str, str]] = []  # (clock time, operation, detail)
        self.started = False
        self.stopped = False
        self._stop = threading.Event()
        self._pump: threading.Thread | None = None
        self._next_effect = 0
        self._heartbeat_at: dict[str, float] = {}  # flow -> clock time of its last heartbeat
        self.clients = FakeClients(self)

    # ----- bookkeeping -----------------------------------------------------------------------
    def _op(self, name: str, detail: str = "") -> None:
        with self.lock:
            self.ops.append((self.clock.monotonic(), name, detail))
        if name in self.fail:
            raise self.fail[name]

    def op_names(self) -> list[str]:
        return [name for _t, name, _d in self.ops]

    # ----- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> FakeRuntime:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.started = True
        self._op("start")
        for c in self.topology.clusters:
            for t in c.topics:
                self.data[c.name].topic(t.name, t.partitions)
        for f in self.topology.flows:
            self.flow_start(f)
        self._pump = threading.Thread(target=self._pump_loop, name="fake-mm2", daemon=True)
        self._pump.start()
        self.timings["ready_s"] = 0.0

    def stop(self) -> None:
        if self.stopped or not self.started:
            return
        self.stopped = True
        self._stop.set()
        if self._pump is not None:
            self._pump.join(timeout=5)
        with self.lock:
            self.ops.append((self.clock.monotonic(), "stop", ""))

    # ----- reachability ----------------------------------------------------------------------
    def region_of(self, site: str) -> str:
        for c in self.topology.clusters:
            if site == c.region or site in c.azs:
                return c.region
        return site

    def _cut(self, from_site: str, to_region: str) -> bool:
        src = self.region_of(from_site)
        if src == to_region:
            return False
        for regions, direction in self.cuts.values():
            if regions == frozenset({src, to_region}):
                a, _, b = direction.partition("->")
                if direction == "both" or (
                    self.region_of(a.strip()) == src and self.region_of(b.strip()) == to_region
                ):
                    return True
        return False

    def _node_isolated(self, cluster: str, node: int) -> bool:
        site = self.topology.cluster(cluster).node(node).site
        return any(c == cluster and az == site for c, az in self.isolated.values())

    def node_reachable(self, cluster: str, node: int, from_site: str | None) -> bool:
        with self.lock:
            if self.nodes[(cluster, node)] != "running":
                return False
            if (
                self._node_isolated(cluster, node)
                and from_site != self.topology.cluster(cluster).node(node).site
            ):
                return False
            region = self.topology.cluster(cluster).region
            return from_site is None or not self._cut(from_site, region)

    def writable(self, cluster: str, from_site: str | None) -> bool:
        c = self.topology.cluster(cluster)
        up = sum(self.node_reachable(cluster, n.node_id, from_site) for n in c.nodes)
        return up * 2 > c.size

    def readable(self, cluster: str, from_site: str | None) -> bool:
        c = self.topology.cluster(cluster)
        return any(self.node_reachable(cluster, n.node_id, from_site) for n in c.nodes)

    # ----- addresses and probes --------------------------------------------------------------
    def bootstrap(self, cluster: str, from_site: str | None = None) -> str:
        c = self.topology.cluster(cluster)
        return ",".join(_addr(cluster, n.node_id, from_site or c.region) for n in c.nodes)

    def ping(self, address: str, timeout: float = 1.0) -> float | None:
        cluster, node, site = _parse(address)
        if not self.node_reachable(cluster, node, site):
            return None
        region = self.topology.cluster(cluster).region
        delay = 0.001
        for regions, _direction, attrs in self.toxics.values():
            if regions == frozenset({self.region_of(site), region}) and "latency" in attrs:
                delay += int(attrs["latency"]) / 1000.0
        return delay

    def kafka_version(self) -> str | None:
        return "fake"

    # ----- nodes -----------------------------------------------------------------------------
    def _set(self, op: str, cluster: str, node: int, state: NodeState) -> str:
        self.topology.cluster(cluster).node(node)  # KeyError for an unknown node
        self._op(op, f"{cluster}/{node}")
        if op not in self.ineffective:
            with self.lock:
                self.nodes[(cluster, node)] = state
        return f"{op} {cluster}/{node}"

    def node_kill(self, cluster: str, node: int) -> str:
        return self._set("node.kill", cluster, node, "down")

    def node_stop(self, cluster: str, node: int, timeout: float = 30.0) -> str:
        return self._set("node.stop", cluster, node, "down")

    def node_pause(self, cluster: str, node: int) -> str:
        return self._set("node.pause", cluster, node, "paused")

    def node_resume(self, cluster: str, node: int) -> str:
        return self._set("node.resume", cluster, node, "running")

    def node_start(self, cluster: str, node: int) -> str:
        return self._set("node.start", cluster, node, "running")

    def node_state(self, cluster: str, node: int) -> NodeState:
        return self.nodes[(cluster, node)]

    def node_alive(self, cluster: str, node: int) -> bool:
        return self.nodes[(cluster, node)] != "down"

    # ----- flows -----------------------------------------------------------------------------
    def flows(self) -> list[Flow]:
        out = list(self.topology.flows)
        return out + [f for f in self._flows.values() if f not in out]

    def flow(self, name: Flow | str | None = None) -> Flow:
        return find_flow(self.flows(), name)

    def flow_start(self, flow: Flow | str | None = None) -> str:
        f = self.flow(flow)
        self._op("flow.start", f.name)
        with self.lock:
            self._flows[f.name] = f
            self.flow_up[f.name] = True
        return f"started {f.name}"

    def flow_stop(self, flow: Flow | str | None = None, timeout: float = 20.0) -> str:
        f = self.flow(flow)
        self._op("flow.stop", f.name)
        self.flow_up[f.name] = False
        return f"stopped {f.name}"

    def flow_kill(self, flow: Flow | str | None = None) -> str:
        f = self.flow(flow)
        self._op("flow.kill", f.name)
        if "flow.kill" not in self.ineffective:
            self.flow_up[f.name] = False
        return f"killed {f.name}"

    def flow_alive(self, flow: Flow | str | None = None) -> bool:
        return self.flow_up.get(self.flow(flow).name, False)

    def flow_describe(self, flow: Flow | str | None = None) -> dict[str, Any]:
        f = self.flow(flow)
        return {"flow": f.name, "engine": "fake", "alive": self.flow_alive(f)}

    def _pump_loop(self) -> None:
        while not self.clock.wait(self._stop, self.pump_interval):
            for f in self.flows():
                if self.flow_up.get(f.name):
                    self.heartbeat(f)
                    self.replicate(f)

    def heartbeat(self, f: Flow) -> None:
        """MM2's heartbeat, at most one per clock second: written to the source's `heartbeats`
        topic from the target's region (the copy to the target is the flow's, as any topic)."""
        now = self.clock.monotonic()
        if now - self._heartbeat_at.get(f.name, -HEARTBEAT_INTERVAL_S) < HEARTBEAT_INTERVAL_S:
            return
        if not self.writable(f.source, self.topology.cluster(f.target).region):
            return
        with self.lock:
            self.data[f.source].topic(HEARTBEATS, 1)[0].append(Record(None, int(now * 1000), {}))
        self._heartbeat_at[f.name] = now

    def replicate(self, f: Flow) -> None:
        """Copy what the flow can reach (MM2 runs in the target's region)."""
        target_site = self.topology.cluster(f.target).region
        if not (self.readable(f.source, target_site) and self.writable(f.target, target_site)):
            return
        with self.lock:
            src, dst = self.data[f.source], self.data[f.target]
            for topic, parts in list(src.topics.items()):
                if topic.startswith(f"{f.target}."):  # never copy back (cycle prevention)
                    continue
                remote = dst.topic(f.remote_topic(topic), len(parts))
                for p, recs in enumerate(parts):
                    key = (f.name, topic, p)
                    start = self.copied.get(key, 0)
                    remote[p].extend(recs[start:])
                    self.copied[key] = len(recs)

    # ----- links -----------------------------------------------------------------------------
    def _effect(
        self, kind: str, probes: list[str], detail: str, store: dict[int, Any], value: Any
    ) -> LinkEffect:
        with self.lock:
            self._next_effect += 1
            eid = self._next_effect
            effective = kind not in self.ineffective and f"link.{kind}" not in self.ineffective
            if effective:
                store[eid] = value
        return LinkEffect(kind, tuple(probes), tuple(probes), detail, (eid, store))

    def _probes(self, a: str, b: str) -> list[str]:
        out = []
        for x, y in ((a, b), (b, a)):
            for c in self.topology.cluster_in(self.region_of(y)):
                out += [_addr(c.name, n.node_id, x) for n in c.nodes]
        return out

    def link_cut(self, a: str, b: str, direction: str = "both") -> LinkEffect:
        self._op("link.cut", f"{a}<->{b} {direction}")
        regions = frozenset({self.region_of(a), self.region_of(b)})
        return self._effect(
            "cut", self._probes(a, b), f"cut {a}<->{b} {direction}", self.cuts, (regions, direction)
        )

    def link_toxic(
        self, a: str, b: str, direction: str, toxic: str, attributes: dict[str, Any]
    ) -> LinkEffect:
        self._op("link.toxic", f"{toxic} {a}<->{b} {direction}")
        regions = frozenset({self.region_of(a), self.region_of(b)})
        value = (regions, direction, {toxic: True, **attributes})
        if toxic == "reset_peer":  # connections reset: as good as cut for a probe
            self._effect("cut", [], "", self.cuts, (regions, direction))
        return self._effect(toxic, self._probes(a, b), f"{toxic} on {a}<->{b}", self.toxics, value)

    def az_partition(self, cluster: str, az: str, direction: str, cut_clients: bool) -> LinkEffect:
        self._op("az.partition", f"{cluster}/{az} {direction}")
        c = self.topology.cluster(cluster)
        probes = [_addr(cluster, n.node_id, c.region) for n in c.nodes if n.site == az]
        return self._effect("cut", probes, f"AZ {az} of {cluster}", self.isolated, (cluster, az))

    def link_in_force(self, effect: LinkEffect) -> tuple[bool, str]:
        eid, store = effect.handle
        ok = eid in store
        return ok, "in force" if ok else "not in force"

    def link_restore(self, effect: LinkEffect) -> str:
        eid, store = effect.handle
        self._op("link.restore", effect.detail)
        with self.lock:
            store.pop(eid, None)
        return f"restored {effect.detail}"

    # ----- health, reset, description --------------------------------------------------------
    def wait_healthy(self, cluster: str, timeout: float = 90.0) -> None:
        self._op("wait_healthy", cluster)
        if not self.writable(cluster, None):
            raise TopologyError(f"cluster {cluster} not healthy: no majority of nodes")

    def wait_replicating(self, flow: Flow | str | None = None, timeout: float = 120.0) -> float:
        f = self.flow(flow)
        self.replicate(f)
        return 0.0

    def restore_all(self) -> list[str]:
        self._op("restore_all")
        done = []
        with self.lock:
            self.cuts.clear()
            self.isolated.clear()
            self.toxics.clear()
            for (cluster, node), state in self.nodes.items():
                if state != "running":
                    self.nodes[(cluster, node)] = "running"
                    done.append(f"{cluster}-n{node}")
        return done

    def describe(self) -> dict[str, Any]:
        return {
            "runtime": "fake",
            "bootstrap": {c.name: self.bootstrap(c.name) for c in self.topology.clusters},
            "flows": [self.flow_describe(f) for f in self.flows()],
        }


class FakeProducer(ClientThread):
    role = "producer"

    def __init__(
        self,
        rt: FakeRuntime,
        spec: ProducerSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        stop: threading.Event,
    ) -> None:
        super().__init__(spec.name, spec.cluster, spec.site, history, bootstrap, stop)
        self.rt = rt
        self.spec = spec
        self.seq = 0
        self.acked = 0
        self._lines: dict[str, SendLines] = {}

    def work(self) -> None:
        rt, spec = self.rt, self.spec
        # At most 20 sends per clock second: the fake tests orchestration, not throughput,
        # and a fast clock multiplies the real rate.
        interval = 1.0 / min(spec.rate_per_second or 20, 20)
        while not self.stop_event.is_set():
            if spec.max_messages is not None and self.seq >= spec.max_messages:
                return
            move = self.take_redirect()
            if move is not None:
                self.switch(*move)
            if not self.paused.is_set():
                self.send_one()
            rt.clock.wait(self.stop_event, interval)

    def send_one(self) -> None:
        rt, spec = self.rt, self.spec
        seq, msg_id = self.seq, message_id(spec.name, self.seq)
        self.seq += 1
        cluster = self.cluster
        key = f"{spec.name}-{self.seq % spec.keys}"
        lines = self._send_lines(cluster)
        lines.invoke(seq, key, spec.message_bytes)
        if not rt.writable(cluster, self.site):
            lines.fail(seq, "NOT_ENOUGH_REPLICAS")
            return
        ts = int(rt.clock.monotonic() * 1000)
        hdr = {HDR_ORIGIN_SITE: self.site, HDR_ORIGIN_CLUSTER: cluster, HDR_ID: msg_id}
        with rt.lock:
            parts = rt.data[cluster].topic(spec.topic)
            p = zlib.crc32(key.encode()) % len(parts)
            parts[p].append(Record(msg_id, ts, hdr))
            offset = len(parts[p]) - 1
        self.acked += 1
        lines.ok(seq, p, offset, ts)

    def _send_lines(self, cluster: str) -> SendLines:
        """The send recorder on ``cluster`` (a redirect moves the producer): the same one the
        workload's producers write through, so the fake's send events are theirs byte for
        byte."""
        lines = self._lines.get(cluster)
        if lines is None:
            lines = self._lines[cluster] = self.history.send_lines(
                self.spec.name, cluster, self.spec.topic
            )
        return lines


class FakeConsumer(ClientThread):
    role = "consumer"

    def __init__(
        self,
        rt: FakeRuntime,
        spec: ConsumerSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        stop: threading.Event,
    ) -> None:
        super().__init__(spec.name, spec.cluster, spec.site, history, bootstrap, stop)
        self.rt = rt
        self.spec = spec
        self.received = 0
        self.instance = 1  # the client, as the real consumer counts them: a redirect starts one

    def work(self) -> None:
        rt, spec = self.rt, self.spec
        subscription = list(spec.subscription) or [topic_pattern(spec.topic)]
        positions = dict(rt.data[self.cluster].groups.get(spec.group, {}))
        next_commit = rt.clock.monotonic()
        while not self.stop_event.is_set():
            move = self.take_redirect()
            if move is not None:
                self.switch(*move, group=spec.group)
                self.instance += 1
                positions = dict(rt.data[self.cluster].groups.get(spec.group, {}))
            if not self.paused.is_set() and rt.readable(self.cluster, self.site):
                with rt.lock:
                    topics = list(rt.data[self.cluster].topics.items())
                for topic, parts in topics:
                    if not subscribed(subscription, topic):
                        continue
                    for p, recs in enumerate(parts):
                        start = positions.get((topic, p), 0)
                        if start < len(recs):  # a batch: its poll event first, as for real
                            self._poll(topic, p, start, len(recs))
                        for off in range(start, len(recs)):
                            self._recv(topic, p, off, recs[off])
                        positions[(topic, p)] = max(start, len(recs))
                if rt.clock.monotonic() >= next_commit:
                    self._commit(positions)
                    next_commit = rt.clock.monotonic() + spec.commit_interval_ms / 1000.0
            rt.clock.wait(self.stop_event, 0.1)
        self._commit(positions)

    def _poll(self, topic: str, p: int, start: int, end: int) -> None:
        self.history.append(
            Ev.POLL,
            reader=self.spec.name,
            cluster=self.cluster,
            instance=self.instance,
            ranges=[[topic, p, start, end - 1, end - start]],
        )

    def _recv(self, topic: str, p: int, off: int, rec: Record) -> None:
        self.history.append(
            Ev.RECV,
            reader=self.spec.name,
            group=self.spec.group,
            final=False,
            cluster=self.cluster,
            topic=topic,
            partition=p,
            offset=off,
            ts=rec.ts,
            id=rec.id,
            hdr=dict(rec.hdr),
        )
        self.received += 1

    def _commit(self, positions: dict[tuple[str, int], int]) -> None:
        if not positions:
            return
        with self.rt.lock:
            self.rt.data[self.cluster].groups[self.spec.group] = dict(positions)
        self.history.append(
            Ev.COMMIT,
            reader=self.spec.name,
            group=self.spec.group,
            cluster=self.cluster,
            offsets=[[t, p, o] for (t, p), o in sorted(positions.items())],
        )


class FakeClients:
    """`KafkaClients` over the fake runtime's in-memory clusters (bootstraps name the cluster)."""

    def __init__(self, rt: FakeRuntime) -> None:
        self.rt = rt

    def _cluster(self, bootstrap: str) -> tuple[FakeCluster, str]:
        cluster, _node, site = _parse(bootstrap.split(",")[0])
        if not self.rt.readable(cluster, site):
            raise TopologyError(f"fake cluster {cluster} unreachable from {site}")
        return self.rt.data[cluster], site

    def client_spec(self, spec: ProducerSpec) -> ProducerSpec:
        return spec  # never a worker's (no Cap.WORKERS): the fake cluster is in this process

    def producer(
        self,
        spec: ProducerSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        run_id: str,
        stop: threading.Event,
    ) -> FakeProducer:
        if spec.txn_size is not None:
            # A stand-in would write history without txn events: refused, never faked.
            raise TopologyError(
                f"producer {spec.name}: the fake runtime does not model transactions "
                "(workload.producers.transactions): run on local, compose or external"
            )
        return FakeProducer(self.rt, spec, history, bootstrap, stop)

    def consumer(
        self,
        spec: ConsumerSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        stop: threading.Event,
    ) -> FakeConsumer:
        return FakeConsumer(self.rt, spec, history, bootstrap, stop)

    def copier(
        self,
        spec: CopierSpec,
        history: HistoryWriter,
        bootstrap: BootstrapFn,
        run_id: str,
        stop: threading.Event,
    ) -> Any:
        # A stand-in would write history without copy.txn events: refused, never faked.
        raise TopologyError(
            f"copier {spec.name}: the fake runtime does not model transactions "
            "(workload.copiers): run on local or compose"
        )

    def topics(self, bootstrap: str, timeout: float = 15.0) -> list[str]:
        data, _site = self._cluster(bootstrap)
        with self.rt.lock:
            return sorted(data.topics)

    def end_total(self, bootstrap: str, topic: str) -> int:
        data, _site = self._cluster(bootstrap)
        with self.rt.lock:
            return sum(len(p) for p in data.topics.get(topic, []))

    def log_starts(self, bootstrap: str, topic: str) -> dict[int, int]:
        data, _site = self._cluster(bootstrap)
        with self.rt.lock:
            return {p: 0 for p in range(len(data.topics.get(topic, [])))}  # nothing expires

    def newest_record_age(self, bootstrap: str, topic: str) -> float | None:
        try:
            data, _site = self._cluster(bootstrap)
        except TopologyError:
            return None
        with self.rt.lock:
            newest = max((p[-1].ts for p in data.topics.get(topic, []) if p), default=None)
        return None if newest is None else max(0.0, self.rt.clock.monotonic() - newest / 1000.0)

    def leader(self, bootstrap: str, topic: str, partition: int) -> int:
        cluster, _node, _site = _parse(bootstrap.split(",")[0])
        c = self.rt.topology.cluster(cluster)
        up = [n.node_id for n in c.nodes if self.rt.node_state(cluster, n.node_id) == "running"]
        return up[partition % len(up)]

    def coordinator(self, bootstrap: str, group: str) -> int:
        # Kafka places a group on the __consumer_offsets partition its name hashes to; any
        # stable choice among the running nodes will do here.
        return self.leader(bootstrap, "__consumer_offsets", sum(group.encode()))

    def final_read(
        self,
        history: HistoryWriter,
        bootstrap: str,
        cluster: str,
        topics: Iterable[str],
        timeout: float,
    ) -> tuple[int, bool]:
        data, _site = self._cluster(bootstrap)
        count = 0
        with self.rt.lock:
            snapshot = {t: [list(p) for p in data.topics.get(t, [])] for t in topics}
        for topic, parts in snapshot.items():
            for p, recs in enumerate(parts):
                for off, rec in enumerate(recs):
                    history.append(
                        Ev.RECV,
                        reader="final",
                        group=None,
                        final=True,
                        cluster=cluster,
                        topic=topic,
                        partition=p,
                        offset=off,
                        ts=rec.ts,
                        id=rec.id,
                        hdr=dict(rec.hdr),
                    )
                    count += 1
        return count, True

    def read_checkpoints(
        self, bootstrap: str, source_alias: str, timeout: float = 15.0
    ) -> CheckpointSet:
        self._cluster(bootstrap)
        return latest_checkpoints([])  # the fake MM2 writes no checkpoints

    def set_group_offsets(
        self, bootstrap: str, group: str, offsets: dict[tuple[str, int], int]
    ) -> None:
        data, _site = self._cluster(bootstrap)
        with self.rt.lock:
            data.groups.setdefault(group, {}).update(offsets)

    def create_topic(
        self,
        bootstrap: str,
        name: str,
        partitions: int,
        replication_factor: int,
        config: dict[str, str],
    ) -> bool:
        data, _site = self._cluster(bootstrap)
        with self.rt.lock:
            if name in data.topics:
                return False
            data.topic(name, partitions)
        return True
