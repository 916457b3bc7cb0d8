"""`kafkadrill plan`: the resolved plan of a drill, as text, computed without touching anything.

The plan names the topology, every fault with its time and the exact commands / API calls it
will run (inject, verify, heal), the runbook steps, the objectives, the safety checks, and what
will be created. It depends only on the compiled DrillPlan (run-scoped names show `<run-id>`),
so the text an approver read and the `plan.txt` a run stores are the same bytes: their SHA-256
ties the evidence to what was approved. The text goes through the one secret policy
(kafkadrill.secrets) before anyone sees it, so the hash is over the redacted text.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from kafkadrill.faults.base import plan_text
from kafkadrill.runbooks.failover import STOP_MM2_GRACE_SECONDS
from kafkadrill.runtimes.external.config import (
    FLOW_STOP_TIMEOUT,
    NODE_STOP_TIMEOUT,
    CommandSpec,
    ExternalSpec,
    capabilities_of,
    connector_path,
    is_reference,
    render_template,
    show_command,
)
from kafkadrill.runtimes.shared.wan import describe_link
from kafkadrill.secrets import redact_text

if TYPE_CHECKING:
    from kafkadrill.plan import DrillPlan, FailoverPlan

RUN_ID = "<run-id>"


def plan_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _cmd(spec: CommandSpec | None, values: dict[str, Any]) -> str:
    if spec is None:
        return "(no command configured)"
    shown = show_command(render_template(spec, values), spec.shell)
    return f"{shown}   [timeout {spec.timeout_seconds:g} s{', via /bin/sh' if spec.shell else ''}]"


class _Plan:
    def __init__(self, plan: DrillPlan, runtime: str) -> None:
        self.s = plan
        self.runtime = runtime
        ext = plan.runtime_options.get("external") if runtime == "external" else None
        self.ext: ExternalSpec | None = ext
        self.topo = plan.topology
        self.lines: list[str] = []

    def out(self, text: str = "") -> None:
        self.lines.append(text)

    def scoped(self, name: str) -> str:
        if self.ext is None:
            return name
        return f"{self.ext.isolation.prefix}-{RUN_ID}-{name}"

    # ----- sections ------------------------------------------------------------------------
    def header(self) -> None:
        s = self.s
        self.out(f"kafkadrill plan: scenario {s.name}" + (f" ({s.source})" if s.source else ""))
        self.out(f"runtime: {self.runtime}; seed {s.seed}")
        self.out(
            f"phases: steady-state check, warmup {s.warmup_seconds:g} s, faults for "
            f"{s.duration_seconds:g} s, heal, final read "
            f"(timeout {s.final_read_timeout_seconds:g} s)"
        )
        if self.runtime == "external":
            self.out("this runtime starts and stops NO cluster; it acts only as listed below")

    def topology(self) -> None:
        self.out()
        self.out("TOPOLOGY")
        for c in self.topo.clusters:
            nodes = ", ".join(f"{n.node_id}@{n.site}" for n in c.nodes) or "(no node listed)"
            self.out(f"  cluster {c.name} in {c.region}: nodes {nodes}")
            if self.ext is not None:
                ec = self.ext.clusters[c.name]
                self.out(f"    bootstrap: {ec.bootstrap}")
                for site, servers in ec.bootstrap_from.items():
                    self.out(f"    bootstrap from {site}: {servers}")
                for k, v in sorted(ec.client_config.items()):
                    self.out(f"    client {k} = {v}")
        if self.topo.schema_registry is not None:
            reg = self.topo.schema_registry
            for c in self.topo.clusters:
                journal, ro = reg.journal_on(self.topo, c.name)
                self.out(
                    f"  schema registry of {c.name} (Apicurio Registry, 127.0.0.1): journal "
                    f"{journal}, {'read-only until a failover' if ro else 'read-write'}"
                )
        if self.topo.backup is not None:
            b = self.topo.backup
            self.out(
                f"  backup of {b.source} (topics {b.topics}) by a Kafka Connect sink in "
                f"{b.region}, flushed every {b.flush_seconds:g} s into the run directory's "
                "backup/"
            )
        principals = next((c.principals for c in self.topo.clusters if c.principals), ())
        if principals:
            self.out(
                f"  principals {', '.join(principals)}: every client listener authenticates "
                "(SASL/PLAIN), nothing is open without an ACL; kafkadrill's own clients log in "
                "as the super user"
            )
        for a in self.s.acls:
            self.out(
                f"  ACL on {a.cluster}: User:{a.principal} ALLOW {', '.join(a.operations)} "
                f"{a.resource} {a.name}"
            )
        for f in self.topo.flows:
            line = f"  flow {f.name}: remote topic names {f.remote_topic('<topic>')}"
            if f.mode == "connect" and self.ext is None:
                line += "; MM2 on Kafka Connect (REST on 127.0.0.1)"
            if f.topics != ".*" or f.groups != ".*":
                line += f"; topics {f.topics!r}, groups {f.groups!r}"
            if f.properties and self.ext is None:
                line += "; MM2 " + ", ".join(f"{k}={v}" for k, v in sorted(f.properties.items()))
            if self.ext is not None:
                fs = self.ext.flow_spec(f.name)
                if fs is not None:
                    line += f"; heartbeats {fs.heartbeats()} on {f.target}"
                    if fs.connect is not None:
                        line += f"; Kafka Connect {fs.connect.url} {fs.connect.connectors}"
            self.out(line)
        for w in self.topo.wan:
            self.out(f"  baseline WAN {w.name}: {describe_link(w)} (whole run)")
        if self.ext is not None:
            self.out(f"  capabilities (from the adapters): {sorted(capabilities_of(self.ext))}")

    def created(self) -> None:
        self.out()
        self.out("WHAT WILL BE CREATED (and written/read; nothing else is)")
        for c in self.topo.clusters:
            for t in c.topics:
                self.out(
                    f"  topic {self.scoped(t.name)} on {c.name} "
                    f"({t.partitions} partitions, rf {t.replication_factor})"
                )
        if self.ext is not None:
            for f in self.topo.flows:
                self.out(f"  topic {self.scoped('probe')} on {f.source} (replication probe)")
        for c in self.s.consumer_groups:
            if c.topics is not None:
                reads = f"topics {', '.join(c.topics)}"
            elif c.pattern is not None:
                reads = f"topics matching '{c.pattern}'"
            else:
                reads = f"topic {self.scoped(c.topic)} and its MM2 copies"
            union = "; union: must receive every acked write of every origin" if c.union else ""
            iso = "" if c.isolation == "read_committed" else f", {c.isolation}"
            self.out(
                f"  consumer group {self.scoped(c.group)} on {c.cluster} "
                f"({c.count} member(s), {reads}{iso}{union})"
            )
        for p in self.s.producer_groups:
            self.out(
                f"  workload: {p.count} producer(s) on {p.cluster} from "
                f"{p.site}, acks={p.acks}, "
                f"{p.rate_per_second or 'unbounded'}/s, topic "
                f"{self.scoped(p.topic)}" + (f", {p.transactions}" if p.transactions else "")
            )
        for cp in self.s.copier_groups:
            self.out(
                f"  copier {cp.group} on {cp.cluster}: {cp.count} member(s) copy "
                f"{cp.from_topic} (and its MM2 copies) to {cp.to_topic} exactly once, "
                f"transactions of up to {cp.max_batch} records with their input offsets, "
                f"timeout {cp.transaction_timeout_ms} ms"
            )
        if self.ext is not None:
            keep = self.ext.isolation.keep_topics
            self.out(
                "  at the end: "
                + (
                    "topics and groups are KEPT"
                    if keep
                    else "every topic/group named "
                    f"{self.ext.isolation.prefix}-{RUN_ID}-* (and replicated copies) is deleted"
                )
            )

    def safety(self) -> None:
        if self.ext is None:
            return
        ss, g = self.ext.steady_state, self.ext.guards
        self.out()
        self.out("SAFETY")
        self.out(
            f"  steady state before any fault: every cluster answers within "
            f"{ss.reachable_timeout_seconds:g} s"
            + (
                f"; each flow replicates a probe within {ss.replication_bound_seconds:g} s"
                if ss.replication_bound_seconds is not None
                else ""
            )
            + (
                f"; heartbeats younger than {ss.max_heartbeat_age_seconds:g} s"
                if ss.max_heartbeat_age_seconds is not None
                else ""
            )
            + (
                f"; lag of {ss.lag_topics} <= {ss.max_lag_records} records"
                if ss.max_lag_records is not None
                else ""
            )
        )
        self.out("  if it fails: ABORT before injecting anything")
        self.out(
            "  guards during the faults: "
            + (
                f"abort and heal if no write is acknowledged for "
                f"{g.max_write_unavailable_seconds:g} s"
                if g.max_write_unavailable_seconds is not None
                else "no write-availability guard"
            )
            + (
                f"; abort and heal if replication lag exceeds {g.max_lag_records} records"
                if g.max_lag_records is not None
                else ""
            )
        )
        self.out("  heal always runs (success, error, abort, Ctrl-C)")

    # ----- what faults ask for their plan text (faults.base.PlanOps) --------------------------
    def node_ops(
        self, cluster: str, node: Any, inject: str, heal: str, want: str = "down"
    ) -> list[str]:
        assert self.ext is not None
        cmds = self.ext.commands_for(cluster)
        vals: dict[str, Any] = {"cluster": cluster, "node": node, "run_id": RUN_ID}
        vals["timeout"] = f"{NODE_STOP_TIMEOUT:g}"  # only node_stop may use it
        c = self.topo.cluster(cluster)
        vals["region"] = c.region
        try:
            vals["site"] = c.node(int(node)).site
        except (KeyError, ValueError):
            vals["site"] = c.region
        state = cmds.node_state
        return [
            f"inject: {_cmd(getattr(cmds, inject), vals)}",
            "verify: "
            + (
                _cmd(state, vals) + f" -> must print '{want}'"
                if state is not None
                else "NONE configured (node_state): the fault will be UNKNOWN, not verified"
            ),
            f"heal:   {_cmd(getattr(cmds, heal), vals)}",
        ]

    def flow_ops(
        self, flow: str, inject: str, heal: str, timeout: float = FLOW_STOP_TIMEOUT
    ) -> list[str]:
        assert self.ext is not None
        fs = self.ext.flow_spec(flow)
        cmds = self.ext.commands.merged(fs.commands if fs else None)
        src, _, dst = flow.partition("->")
        vals = {"flow": flow, "source": src, "target": dst, "run_id": RUN_ID}
        vals["region"] = self.topo.cluster(dst).region if dst else ""
        vals["timeout"] = f"{timeout:g}"  # only flow_stop may use it
        out = []
        for label, op in (("inject", inject), ("heal", heal)):
            spec = getattr(cmds, op)
            if spec is None and fs is not None and fs.connect is not None:
                verb = "pause" if op in ("flow_stop",) else "resume + restart failed tasks"
                out.append(
                    f"{label}: Kafka Connect {verb}: "
                    + ", ".join(
                        f"PUT {fs.connect.url.rstrip('/')}"
                        + connector_path(c, "pause" if op == "flow_stop" else "resume")
                        for c in fs.connect.connectors
                    )
                )
            else:
                out.append(f"{label}: {_cmd(spec, vals)}")
        state = cmds.flow_state
        out.insert(
            1,
            "verify: "
            + (
                _cmd(state, vals)
                if state is not None
                else (
                    "Kafka Connect connector status"
                    if fs is not None and fs.connect is not None
                    else "heartbeat age on the target"
                )
            ),
        )
        return out

    def link_ops(self, link: str, direction: str, kind: str, params: dict[str, Any]) -> list[str]:
        assert self.ext is not None
        a, _, b = link.partition("<->")
        spec = self.ext.link_spec(a.strip(), b.strip())
        if spec is None or self.ext.toxiproxy is None:
            return ["(no Toxiproxy proxies configured for this link)"]
        api = self.ext.toxiproxy.api
        out = []
        for p in spec.proxies:
            if kind == "cut" and direction == "both":
                out.append(f"inject: POST http://{api}/proxies/{p.name} {{enabled: false}}")
            else:
                toxic = "timeout" if kind == "cut" else kind
                streams = (
                    "upstream+downstream"
                    if direction == "both"
                    else (
                        "upstream"
                        if direction.replace(" ", "") == f"{p.client_site}->{p.server_site}"
                        else "downstream"
                        if direction.replace(" ", "") == f"{p.server_site}->{p.client_site}"
                        else "none"
                    )
                )
                out.append(
                    f"inject: POST http://{api}/proxies/{p.name}/toxics type={toxic} "
                    f"stream={streams} {params}"
                )
        out.append(
            "verify: the toxics/disabled state read back from the API, and Kafka requests "
            "through each proxy fail (cut) or slow down (latency)"
        )
        out.append("heal:   remove only kafkadrill's toxics (kd-*), re-enable what it disabled")
        return out

    def faults(self) -> None:
        self.out()
        self.out("FAULTS (seconds after warmup)")
        sched = self.s.schedule
        if not sched:
            self.out("  none")
        for i, sf in enumerate(sched):
            end = "until the end" if sf.open_ended else f"healed at {sf.end:g} s"
            self.out(f"  f{i} at {sf.at:g} s, {end}: {sf.describe()}")
            for line in self._fault_ops(sf.fault, dict(sf.params)):
                self.out(f"      {line}")

    def _fault_ops(self, fault: str, p: dict[str, Any]) -> list[str]:
        if self.ext is None:
            return [f"by the {self.runtime} runtime's own process/network control"]
        # Each fault type registers its own plan text (faults/<family>.py), asking self for the
        # commands behind its node, flow and link operations.
        lines = plan_text(fault, p, self)
        return ["(no adapter for this fault type)"] if lines is None else lines

    def runbooks(self) -> None:
        rb = self.s.runbooks
        self.out()
        self.out("RUNBOOKS")
        if rb.failover is None and rb.failback is None:
            self.out("  none")
            return
        fo = rb.failover
        if fo is not None:
            at = fo.watch_at
            self.out(
                f"  failover {fo.source} -> {fo.target}, watching from "
                f"{'?' if at is None else f'{at:g}'} s: detect ({fo.detect_failing_seconds:g} s "
                f"of failed probes), {_readiness_text(fo)}, decide"
                + (
                    f", check the schema ids {fo.target}'s registry resolves"
                    if self._registry_replica(fo)
                    else ""
                )
                + (", stop MM2" if fo.stop_mm2 and self._has_flow(fo) else "")
                + f", create {self.scoped(self.s.producer_groups[0].topic)} on {fo.target}"
                + (
                    ", restore the backup into " + str(fo.target)
                    if fo.restore
                    else (", translate offsets from checkpoints" if fo.translate_offsets else "")
                )
                + (
                    f", fence {fo.source}"
                    if fo.fence and fo.fence.position == "before_redirect"
                    else ""
                )
                + (
                    f", grant the application's ACLs of {fo.source} on {fo.target}"
                    if fo.grant_acls
                    else ""
                )
                + (
                    f", switch {fo.target}'s schema registry to read-write"
                    if self._registry_replica(fo)
                    else ""
                )
                + ", redirect producers, redirect consumers"
                + (
                    f", fence {fo.source}"
                    if fo.fence and fo.fence.position == "after_redirect"
                    else ""
                )
            )
            if fo.stragglers is not None:
                after = fo.stragglers.redirect_after_seconds
                self.out(
                    f"      stragglers: the last {fo.stragglers.producers} producer(s) stay on "
                    f"{fo.source} "
                    + ("until the end" if after is None else f"for {after:g} s more")
                )
            if self.ext is not None:
                self._failover_ops(fo)
        if rb.failback is not None:
            strategy = {
                "reverse": "",
                "rebuild": ", DELETE the original's topic and refill it from the DR copy",
                "truncate": ", REWRITE the original's topic without what never reached DR",
            }[rb.failback.strategy]
            self.out(
                f"  failback at {rb.failback.at:g} s ({rb.failback.strategy}): reverse flow"
                f"{strategy}, catch up, switch back"
            )
            if self.ext is not None and fo is not None and rb.failback.strategy != "reverse":
                self._rewrite_op(fo, rb.failback.strategy)

    def _rewrite_op(self, fo: FailoverPlan, strategy: str) -> None:
        """The command (or admin calls) that rebuild / truncate the original's topic."""
        assert self.ext is not None and fo.source is not None
        spec = getattr(self.ext.commands_for(fo.source), f"topic_{strategy}")
        topic = self.scoped(self.s.producer_groups[0].topic)
        if spec is None:
            self.out(
                f"      {strategy}: admin API on {fo.source}: read {topic} and its copy on "
                f"{fo.target}, DeleteTopics {topic}, CreateTopics alike, write back what is kept"
            )
            return
        vals = {"run_id": "<run id>", "cluster": fo.source, "topic": topic}
        vals.update(
            source=fo.target, target=fo.source, bootstrap=self.ext.clusters[fo.source].bootstrap
        )
        vals.update(
            region=self.topo.cluster(fo.source).region, site=self.topo.cluster(fo.source).region
        )
        self.out(f"      {strategy}: {_cmd(spec, vals)}")

    def _registry_replica(self, fo: FailoverPlan) -> bool:
        reg = self.topo.schema_registry
        return reg is not None and fo.target is not None and reg.journal_on(self.topo, fo.target)[1]

    def _has_flow(self, fo: FailoverPlan) -> bool:
        return any(f.source == fo.source and f.target == fo.target for f in self.topo.flows)

    def _failover_ops(self, fo: FailoverPlan) -> None:
        """What the failover runbook will run against the user's clusters, step by step."""
        assert self.ext is not None
        src, dst = fo.source, fo.target
        site = self.topo.cluster(dst).region
        probe = self.ext.clusters[src].bootstrap_from.get(site, self.ext.clusters[src].bootstrap)
        self.out(
            f"      detect:  Kafka ApiVersions request to {probe} ({src} as seen from {site}) "
            f"every {fo.probe_interval_seconds:g} s; fails over after "
            f"{fo.detect_failing_seconds:g} s without an answer"
        )
        flow = next((f for f in self.topo.flows if f.source == src and f.target == dst), None)
        if fo.stop_mm2 and flow is not None:
            ops = self.flow_ops(flow.name, "flow_stop", "flow_start", STOP_MM2_GRACE_SECONDS)
            self.out(f"      stop MM2: {ops[0].partition(': ')[2]}")
            self.out(f"      check:   {ops[1].partition(': ')[2]} (recorded: mm2_alive)")
            self.out(f"      at the end, if still stopped: {ops[2].partition(': ')[2]}")
        elif fo.stop_mm2:
            self.out(f"      stop MM2: no flow {src}->{dst} is described: nothing to stop")
        dst_boot = self.ext.clusters[dst].bootstrap
        if fo.translate_offsets:
            groups = ", ".join(self.scoped(c.group) for c in self.s.consumer_groups)
            self.out(
                f"      translate: read {src}.checkpoints.internal on {dst} ({dst_boot}), "
                f"commit the translated offsets of {groups} on {dst}"
            )
        if fo.fence is not None:
            fence_site = fo.fence.from_site or self.topo.cluster(src).region
            fence_boot = self.ext.clusters[src].bootstrap_from.get(
                fence_site, self.ext.clusters[src].bootstrap
            )
            topic = self.scoped(self.s.producer_groups[0].topic)
            cmds = self.ext.commands_for(src)
            vals = {"run_id": "<run id>", "cluster": src, "topic": topic, "bootstrap": fence_boot}
            vals.update(region=self.topo.cluster(src).region, site=fence_site)
            how = (
                f"CreateAcls on {src} ({fence_boot}): ALLOW ALL and DENY WRITE on topic {topic} "
                f"for User:* (needs an ACL authorizer on {src} and ALTER on its cluster for "
                "kafkadrill's principal); lifted by DeleteAcls"
                if cmds.fence is None
                else f"{_cmd(cmds.fence, vals)}; lifted by {_cmd(cmds.unfence, vals)}"
            )
            self.out(
                f"      fence ({fo.fence.position}): {how}. Verified by one probe write that "
                f"must be refused; retried up to {fo.fence.timeout_seconds:g} s; journaled "
                "first (`kafkadrill heal` lifts it if the runner dies); lifted at failback or "
                "at the end"
            )
        self.out(f"      redirect: producers and consumers to {dst} ({dst_boot})")

    def objectives(self) -> None:
        self.out()
        self.out("OBJECTIVES")
        for k, v in self.s.objectives.as_dict().items():
            if v is not None and v != []:
                self.out(f"  {k}: {v}")

    def render(self) -> str:
        self.header()
        self.topology()
        self.created()
        self.safety()
        self.faults()
        self.runbooks()
        self.objectives()
        return "\n".join(self.lines) + "\n"


def _readiness_text(fo: FailoverPlan) -> str:
    """The readiness step of a failover: what it reads and whether it may stop the failover."""
    if not fo.translate_offsets:
        return "no readiness check (no offsets to translate)"
    gate = fo.max_checkpoint_age_seconds
    if gate is None:
        return "check readiness (MM2 checkpoints per group: recorded, no gate)"
    return (
        f"check readiness (gate: REFUSE the failover unless every group has a checkpoint for "
        f"every partition, the oldest at most {gate:g} s old)"
    )


def render_plan(plan: DrillPlan, runtime: str | None = None) -> str:
    """The plan of a drill on `runtime` (default: the scenario's, else local). Pure.

    Every secret the scenario holds (by key, e.g. MM2-prefixed `primary.sasl.jaas.config` or
    `dr.basic.auth.user.info`, and by shape, e.g. the password of a Kafka Connect URL) is
    replaced by the product-wide policy before the text is shown, hashed or stored."""
    name = runtime or plan.runtime or "local"
    return _redacted(_Plan(plan, name).render(), plan.secrets)


def redact_plan_text(text: str, secrets: frozenset[str]) -> str:
    """Any text naming the scenario's commands (e.g. `kafkadrill heal`'s), as the plan is."""
    return _redacted(text, secrets)


def _redacted(text: str, secrets: frozenset[str]) -> str:
    """`text` through the secret policy (`redact_text`), except the `key = ${ENV:..}` /
    `${FILE:..}` lines: a reference names where a secret comes from and holds none (external
    refuses literal secrets), and the approver must see which one the drill will read."""
    out: list[str] = []
    block: list[str] = []  # lines redacted together: a multi-line value stays one piece
    for line in text.split("\n"):
        if not is_reference(line.rpartition(" = ")[2]):
            block.append(line)
            continue
        if block:
            out.append(redact_text("\n".join(block), secrets))
            block = []
        out.append(line)
    if block:
        out.append(redact_text("\n".join(block), secrets))
    return "\n".join(out)
