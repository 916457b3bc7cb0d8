"""The external runtime's checks on the user's clusters: the steady state before any fault
(every cluster answers, adapters reachable, each flow replicates a probe in a bound, fresh
heartbeats, lag under a bound), the run's own topics, and their removal at the end.

Everything here touches only run-scoped names (the isolation prefix); see runtime.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from kafkadrill.errors import TopologyError
from kafkadrill.runtimes.external.adapters.connect import ConnectAdapter
from kafkadrill.runtimes.external.adapters.record import Exec, Recorder
from kafkadrill.runtimes.external.adapters.toxiproxy import ToxiproxyLinks
from kafkadrill.runtimes.external.config import ExternalSpec
from kafkadrill.runtimes.external.journal import Journal
from kafkadrill.runtimes.shared.replication import (
    PROBE_READ,
    ReplicationProbe,
    wait_probe_copied,
)
from kafkadrill.topology import Flow, Topology
from kafkadrill.workload.access import ConfluentClients, newest_record_age


class ExternalChecks:
    """The steady-state and cleanup half of ExternalRuntime (a mixin: it works on the
    runtime's own state and methods)."""

    topology: Topology
    spec: ExternalSpec
    prefix: str
    groups: list[str]
    created: list[tuple[str, str]]
    client_config: dict[str, dict[str, str]]
    links: ToxiproxyLinks | None
    connect: dict[str, ConnectAdapter]
    recorder: Recorder
    journal: Journal
    _by: str
    # The runtime's own methods used here.
    bootstrap: Callable[..., str]
    _admin: Callable[[str], Any]
    _conf: Callable[..., dict[str, Any]]

    def _check_reachable(self) -> list[dict[str, Any]]:
        from confluent_kafka import KafkaException

        out = []
        timeout = self.spec.steady_state.reachable_timeout_seconds
        for name in self.spec.clusters:
            try:
                admin = self._admin(name)  # kept alive until the answer is in
                desc = admin.describe_cluster(request_timeout=timeout).result()
                ids = sorted(n.id for n in desc.nodes)
                want = [n.id for n in self.spec.clusters[name].nodes]
                missing = sorted(set(want) - set(ids))
                ok = not missing
                detail = f"{len(ids)} broker(s) answer: {ids}" + (
                    f"; described nodes missing: {missing}" if missing else ""
                )
            except KafkaException as exc:
                ok, detail = False, f"no answer from {self.bootstrap(name)}: {exc}"
            out.append({"name": f"reachable:{name}", "ok": ok, "detail": detail})
        return out

    def _check_adapters(self) -> list[dict[str, Any]]:
        out = []
        if self.links is not None:
            ok, detail = self.links.reachable()
            out.append({"name": "toxiproxy", "ok": ok, "detail": detail})
        for name, con in self.connect.items():
            state = con.state(record=True)
            out.append(
                {"name": f"connect:{name}", "ok": state == "running", "detail": f"state {state}"}
            )
        return out

    def _probe_topic(self) -> str:
        return f"{self.prefix}probe"

    def _create_topics(self) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import NewTopic

        wanted: list[tuple[str, str, int, int, dict[str, str]]] = []
        for c in self.topology.clusters:
            for t in c.topics:
                rf = min(t.replication_factor, c.size) if c.size else t.replication_factor
                wanted.append((c.name, t.name, t.partitions, rf, dict(t.config)))
        for f in self.topology.flows:
            src = self.topology.cluster(f.source)
            rf = min(3, src.size) if src.size else 3
            if not any(w[0] == f.source and w[1] == self._probe_topic() for w in wanted):
                wanted.append((f.source, self._probe_topic(), 1, rf, {}))
        for cluster, name, parts, rf, config in wanted:
            if not name.startswith(self.prefix):
                raise TopologyError(f"refusing to create {name}: not a run-scoped name")
            self.journal.did("topic", cluster=cluster, topic=name)
            admin = self._admin(cluster)
            fut = admin.create_topics([NewTopic(name, parts, rf, config=config)])[name]
            try:
                fut.result(timeout=30)
            except KafkaException as exc:
                raise TopologyError(
                    f"cluster {cluster}: cannot create topic {name}: {exc}"
                ) from exc
            self.created.append((cluster, name))

    def _probe_replication(self, f: Flow, topic: str, timeout: float) -> float:
        remote = f.remote_topic(topic)
        probe = ReplicationProbe(
            producer_conf=self._conf(f.source, acks="all"),
            consumer_conf=self._conf(
                f.target, **{"group.id": f"{self.prefix}probe-{uuid.uuid4().hex[:6]}", **PROBE_READ}
            ),
            topic=topic,
            remote_topic=remote,
            marker=f"kd-probe-{uuid.uuid4()}".encode(),
            flush_timeout=min(30.0, timeout),
            not_written=f"cannot write the replication probe to {f.source}:{topic}",
            not_seen=(
                f"flow {f.name}: a probe record written to {f.source}:{topic} did not show on "
                f"{f.target}:{remote} within {timeout:g} s"
            ),
        )
        return wait_probe_copied(probe, timeout)

    def _heartbeat_age(self, f: Flow) -> float | None:
        """Seconds since the newest record of the flow's heartbeat topic on its target."""
        fs = self.spec.flow_spec(f.name)
        topic = fs.heartbeats() if fs else f"{f.source}.heartbeats"
        conf = self._conf(f.target, **{"group.id": f"{self.prefix}hb", "enable.auto.commit": False})
        return newest_record_age(conf, topic)

    def _lag(self, f: Flow, topic: str) -> int:
        src = self.clients_for(f.source).end_total(self.bootstrap(f.source), topic)
        dst = self.clients_for(f.target).end_total(self.bootstrap(f.target), f.remote_topic(topic))
        return max(0, src - dst)

    def clients_for(self, cluster: str) -> ConfluentClients:
        return ConfluentClients(self.client_config.get(cluster, {}))

    def _check_replication(self) -> list[dict[str, Any]]:
        ss = self.spec.steady_state
        out: list[dict[str, Any]] = []
        for f in self.topology.flows:
            if ss.replication_bound_seconds is not None:
                try:
                    secs = self._probe_replication(
                        f, self._probe_topic(), ss.replication_bound_seconds
                    )
                    out.append(
                        {
                            "name": f"replicating:{f.name}",
                            "ok": True,
                            "detail": f"probe replicated in {secs:.1f} s "
                            f"(bound {ss.replication_bound_seconds:g} s)",
                        }
                    )
                except Exception as exc:
                    out.append({"name": f"replicating:{f.name}", "ok": False, "detail": str(exc)})
            if ss.max_heartbeat_age_seconds is not None:
                age = self._heartbeat_age(f)
                fs = self.spec.flow_spec(f.name)
                topic = fs.heartbeats() if fs else "?"
                ok = age is not None and age <= ss.max_heartbeat_age_seconds
                detail = (
                    f"no heartbeat in {f.target}:{topic}"
                    if age is None
                    else f"newest heartbeat in {f.target}:{topic} is {age:.1f} s old"
                )
                out.append(
                    {
                        "name": f"heartbeat:{f.name}",
                        "ok": ok,
                        "detail": f"{detail} (bound {ss.max_heartbeat_age_seconds:g} s)",
                    }
                )
            if ss.max_lag_records is not None:
                for topic in ss.lag_topics:
                    try:
                        lag = self._lag(f, topic)
                        ok = lag <= ss.max_lag_records
                        detail = f"{topic}: {lag} records behind (bound {ss.max_lag_records})"
                    except Exception as exc:
                        ok, detail = False, f"{topic}: cannot read end offsets: {exc}"
                    out.append({"name": f"lag:{f.name}", "ok": ok, "detail": detail})
        return out

    def _cleanup(self) -> None:
        """Delete every run-scoped topic (ours and their replicated copies) and group."""
        from confluent_kafka.admin import AdminClient

        for cluster in self.spec.clusters:
            admin: AdminClient = self._admin(cluster)
            try:
                names = admin.list_topics(timeout=10).topics
            except Exception as exc:
                self._note("cleanup", cluster, f"cannot list topics: {exc}", False)
                continue
            # Ours: the run-scoped prefix, possibly behind a replication prefix (primary.kd-..).
            mine = sorted(t for t in names if t.startswith(self.prefix) or f".{self.prefix}" in t)
            failed: list[str] = []
            if mine:
                futs = admin.delete_topics(mine, operation_timeout=30)
                for t, fut in futs.items():
                    try:
                        fut.result(timeout=30)
                    except Exception as exc:
                        failed.append(f"{t}: {exc}")
                self._note("delete_topics", cluster, f"deleted {mine}; failed {failed}", not failed)
            self._journal_deleted(cluster, {f.partition(":")[0] for f in failed})
            groups = [g for g in self.groups]
            try:
                listed = admin.list_consumer_groups(request_timeout=10).result()
                present = {g.group_id for g in listed.valid}
                groups = sorted(
                    {g for g in present if g.startswith(self.prefix)} | (set(groups) & present)
                )
            except Exception:
                groups = []
            if groups:
                futs = admin.delete_consumer_groups(groups, request_timeout=15)
                failed = []
                for g, fut in futs.items():
                    try:
                        fut.result(timeout=15)
                    except Exception as exc:
                        failed.append(f"{g}: {exc}")
                self._note("delete_groups", cluster, f"deleted {groups}; failed {failed}", True)

    def _journal_deleted(self, cluster: str, failed: set[str]) -> None:
        """Journal the run topics of `cluster` as undone: deleted, or not there to delete."""
        for c, topic in self.created:
            if c == cluster and topic not in failed:
                self.journal.undone("topic", self._by, cluster=cluster, topic=topic)

    def _note(self, op: str, target: str, detail: str, ok: bool) -> None:
        # Admin calls are adapter actions too: the evidence shows what was removed.
        self.recorder.record(Exec("admin", op, target, f"admin {op}", ok, None, 0.0, detail))
