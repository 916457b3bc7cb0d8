"""The `external:` section of a scenario: clusters kafkadrill did not start, and how to act on them.

Pure data and pure functions (no socket, no process): what the clusters are (bootstrap servers
per client site, client security settings), what can be observed of their replication flows
(source/target, replication policy, heartbeat and checkpoint topics), and the *adapters* that
may act on them — `commands` (argv templates run without a shell unless asked), the user's
Toxiproxy (which proxies carry which link), Kafka Connect REST (MM2 on Connect). The runtime
(runtimes/external/runtime.py) may only do what an adapter is configured for: capabilities are
computed from this section (`capabilities_of`).

Secrets never appear here as values: a secret setting (by its key, e.g. `sasl.password`) must be
a reference, `${ENV:NAME}` or `${FILE:/path}`, resolved only when the drill runs
(`resolve_refs`). The model keeps the reference, so every output (resolved scenario, plan,
reports) shows the reference, never the value.
"""

from __future__ import annotations

import os
import re
import shlex
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from kafkadrill.errors import ScenarioError
from kafkadrill.runtime_options import register_options
from kafkadrill.runtimes.base import Cap
from kafkadrill.secrets import REDACTED, is_secret_key
from kafkadrill.topology import Cluster, Flow, Node, TopicSpec, Topology

REF_RE = re.compile(r"\$\{(ENV|FILE):([^}]+)\}")
_NAME = r"^[a-z0-9][a-z0-9-]*$"
# Placeholders a command template may use; anything else in braces is an error at load time.
PLACEHOLDERS = frozenset(
    {
        "cluster",
        "node",
        "site",
        "region",
        "flow",
        "source",
        "target",
        "run_id",
        "timeout",
        "topic",
        "bootstrap",
    }
)
_PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_OUTPUT = 4000  # characters of a command's output kept in the history


def _no_bool(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got {str(v).lower()} (a boolean)")
    return v


def _config_str(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return v


def _version_str(v: Any) -> Any:
    # `kafka_version: 3.9` is a float in YAML; a version is text. As in the scenario's
    # topology.kafka_version, the loader refuses a number that reads back differently (3.10).
    return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


Float = Annotated[float, BeforeValidator(_no_bool)]
Int = Annotated[int, BeforeValidator(_no_bool)]
ConfigMap = dict[str, Annotated[str, BeforeValidator(_config_str)]]
#: A Kafka release as its distribution names it: 3.9.1, 4.0.0, 3.9, 7.6.1-ccs (Confluent).
KAFKA_VERSION_RE = re.compile(r"[0-9]{1,4}(\.[0-9]{1,4}){1,3}([-+][0-9A-Za-z.+-]{1,40})?")


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


# --------------------------------------------------------------------------------------------
# Secret references
# --------------------------------------------------------------------------------------------


def is_reference(value: str) -> bool:
    return bool(REF_RE.fullmatch(value.strip()))


def _check_secret_values(config: Mapping[str, str], where: str) -> None:
    for key, value in config.items():
        if not is_secret_key(key) or not value.strip():
            continue
        # REDACTED: a scenario stored in a run directory (it can be re-checked, not re-run).
        if value != REDACTED and not is_reference(value):
            raise ValueError(
                f"{where}.{key} holds a secret value; give a reference instead: "
                f"'${{ENV:NAME}}' (an environment variable) or '${{FILE:/path}}' (a file)"
            )


def resolve_refs(value: str, *, field: str = "external") -> str:
    """Replace every `${ENV:NAME}` / `${FILE:/path}` in `value` (at run time only)."""
    if value == REDACTED:
        raise ScenarioError(
            "a secret of this scenario was redacted (it comes from a run directory)",
            field=field,
            fix="run the original scenario file, which holds ${ENV:..}/${FILE:..} references",
        )

    def sub(m: re.Match[str]) -> str:
        kind, name = m.group(1), m.group(2).strip()
        if kind == "ENV":
            if name not in os.environ:
                raise ScenarioError(
                    f"environment variable {name} is not set",
                    field=field,
                    fix=f"export {name}=... before running the drill",
                )
            return os.environ[name]
        path = Path(name)
        try:
            return path.read_text().rstrip("\n")
        except OSError as exc:
            raise ScenarioError(
                f"cannot read secret file {name}: {exc.strerror or exc}",
                field=field,
                fix="check the path and its permissions",
            ) from None

    return REF_RE.sub(sub, value)


def resolve_config(config: Mapping[str, str], *, field: str) -> dict[str, str]:
    return {k: resolve_refs(v, field=f"{field}.{k}") for k, v in config.items()}


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


class CommandSpec(_M):
    """One command template: `argv` (a list, run without a shell) or, with `shell: true`, one
    string given to /bin/sh. Placeholders: {cluster} {node} {site} {region} {flow} {source}
    {target} {run_id}; fence/unfence and topic_rebuild/topic_truncate also {topic} {bootstrap}
    (the failback's: {source} is the DR cluster the copy comes from, {target} the original)."""

    argv: list[str] | str
    shell: bool = False
    timeout_seconds: Float = Field(default=60, gt=0, le=3600)
    env: ConfigMap = Field(default_factory=dict, description="extra environment; ${ENV:..} ok")
    ok_exit_codes: list[Int] = Field(default_factory=lambda: [0])

    @model_validator(mode="after")
    def _check(self) -> CommandSpec:
        if isinstance(self.argv, str) and not self.shell:
            # A string would need a shell to split it; split it here, visibly, with shlex.
            self.argv = shlex.split(self.argv)
        if isinstance(self.argv, list) and not self.argv:
            raise ValueError("argv is empty")
        if self.shell and isinstance(self.argv, list):
            self.argv = shlex.join(self.argv)
        texts = [self.argv] if isinstance(self.argv, str) else list(self.argv)
        for text in texts:
            for name in _PLACEHOLDER_RE.findall(text):
                if name not in PLACEHOLDERS:
                    raise ValueError(
                        f"unknown placeholder {{{name}}} in {text!r}; "
                        f"known: {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))}"
                    )
        _check_secret_values(self.env, "env")
        return self


# {timeout} is the grace a stop gets before a kill (seconds): only stops have one. These are
# the runtime's defaults when the caller names none (a node.stop fault, a failback's stop).
TIMED_OPS = frozenset({"node_stop", "flow_stop"})
NODE_STOP_TIMEOUT = 30.0
FLOW_STOP_TIMEOUT = 20.0

NODE_OPS = ("node_kill", "node_stop", "node_start", "node_pause", "node_resume", "node_state")
FLOW_OPS = ("flow_kill", "flow_stop", "flow_start", "flow_state")


class Commands(_M):
    """Command templates per operation. `node_state` / `flow_state` verify: their output's
    first word must be `running`, `paused` or `down` (anything else reads as unknown)."""

    node_kill: CommandSpec | None = None
    node_stop: CommandSpec | None = None
    node_start: CommandSpec | None = None
    node_pause: CommandSpec | None = None
    node_resume: CommandSpec | None = None
    node_state: CommandSpec | None = None
    flow_kill: CommandSpec | None = None
    flow_stop: CommandSpec | None = None
    flow_start: CommandSpec | None = None
    flow_state: CommandSpec | None = None
    # The failover's fence on a cluster (e.g. kafka-acls.sh, a Strimzi KafkaUser applied with
    # kubectl); unset: kafkadrill creates the deny ACLs itself with the cluster's client settings.
    fence: CommandSpec | None = None
    unfence: CommandSpec | None = None
    # The failback's `rebuild` / `truncate` of the original's topic (e.g. a wrapper of Cluster
    # Linking's `kafka-mirrors --truncate-and-restore`); unset: kafkadrill rewrites the topic
    # through the admin API with the cluster's client settings.
    topic_rebuild: CommandSpec | None = None
    topic_truncate: CommandSpec | None = None

    @model_validator(mode="after")
    def _timeout_only_for_stops(self) -> Commands:
        for op in (*NODE_OPS, *FLOW_OPS, "fence", "unfence", "topic_rebuild", "topic_truncate"):
            spec: CommandSpec | None = getattr(self, op)
            if spec is None or op in TIMED_OPS:
                continue
            texts = [spec.argv] if isinstance(spec.argv, str) else spec.argv
            if any("timeout" in _PLACEHOLDER_RE.findall(t) for t in texts):
                raise ValueError(
                    f"{op}: {{timeout}} has a value only in node_stop and flow_stop (the grace "
                    "before a kill); use a fixed number here"
                )
        return self

    @model_validator(mode="after")
    def _fence_with_its_undo(self) -> Commands:
        if (self.fence is None) != (self.unfence is None):
            raise ValueError("give both fence and unfence commands (a fence must be undoable)")
        return self

    def merged(self, override: Commands | None) -> Commands:
        if override is None:
            return self
        data = {k: v for k, v in self.__dict__.items()}
        data.update({k: v for k, v in override.__dict__.items() if v is not None})
        return Commands(**data)


def render_template(spec: CommandSpec, values: Mapping[str, Any]) -> list[str] | str:
    """The argv (or shell string) with placeholders filled in. Without a shell each argument
    is filled separately, so a value can never split into more arguments or run a command."""
    vals = {k: str(v) for k, v in values.items()}

    def fill(text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in vals:
                raise ScenarioError(
                    f"placeholder {{{name}}} has no value for this operation",
                    field="external.commands",
                    fix="use only the placeholders of this operation (see the how-to)",
                )
            return vals[name]

        return _PLACEHOLDER_RE.sub(sub, text)

    if spec.shell:
        assert isinstance(spec.argv, str)
        # With a shell, values are quoted so that they stay one word.
        quoted = {k: shlex.quote(v) for k, v in vals.items()}
        return _PLACEHOLDER_RE.sub(lambda m: quoted.get(m.group(1), m.group(0)), spec.argv)
    assert isinstance(spec.argv, list)
    return [fill(a) for a in spec.argv]


def show_command(rendered: list[str] | str, shell: bool) -> str:
    return f"sh -c {shlex.quote(rendered)}" if shell else shlex.join(rendered)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Clusters, flows, links
# --------------------------------------------------------------------------------------------


class NodeModel(_M):
    id: Int = Field(ge=0)
    site: str | None = Field(default=None, description="AZ or region; default the region")


def _node(v: Any) -> Any:
    return {"id": v} if isinstance(v, int) and not isinstance(v, bool) else v


class ExternalCluster(_M):
    region: str = Field(pattern=_NAME)
    bootstrap: str = Field(min_length=1, description="host:port,... for clients in the region")
    bootstrap_from: dict[str, str] = Field(
        default_factory=dict, description="client site -> bootstrap servers from that site"
    )
    nodes: list[Annotated[NodeModel, BeforeValidator(_node)]] = Field(
        default_factory=list, max_length=200, description="node ids (for node faults)"
    )
    client_config: ConfigMap = Field(
        default_factory=dict, description="librdkafka settings (security); secrets by reference"
    )
    commands: Commands | None = Field(default=None, description="overrides for this cluster")

    @field_validator("client_config")
    @classmethod
    def _secrets(cls, v: dict[str, str]) -> dict[str, str]:
        _check_secret_values(v, "client_config")
        return v


# Characters that end or escape one segment of a URL path (or the path itself): '/', '\',
# '?', '#', '%', and control characters (C0, DEL, C1; Kafka Connect refuses those in names).
_URL_UNSAFE_RE = re.compile(r"[/\\?#%\x00-\x1f\x7f-\x9f]")


def url_segment_problem(name: str) -> str | None:
    """Why `name` cannot be one segment of a REST API's URL path (a Toxiproxy proxy, a Kafka
    Connect connector), or None: `../../reset` or `a/b?x` would reach another endpoint."""
    if not name.strip():
        return "is empty or only spaces"
    if name != name.strip():
        return "has leading or trailing spaces"
    if name in (".", ".."):
        return "is a relative path segment"
    bad = _URL_UNSAFE_RE.search(name)
    if bad is not None:
        return f"holds {bad.group()!r}"
    return None


def _connector_name(v: str) -> str:
    problem = url_segment_problem(v)
    if problem is not None:
        raise ValueError(
            f"connector name {v!r} {problem}: it goes into the Kafka Connect REST URL path "
            "(/connectors/<name>/pause); use the name `GET /connectors` lists, without '/', "
            "'\\', '?', '#', '%', control characters or surrounding spaces, and not '.' or '..'"
        )
    return v


def connector_path(name: str, action: str = "") -> str:
    """`/connectors/<name>[/<action>]` with the name quoted as one path segment: validation
    refuses names that could leave it, quoting keeps any other character (a space, Strimzi's
    `->`) inside it and is the defence should an unchecked name ever get here."""
    path = f"/connectors/{urllib.parse.quote(name, safe='')}"
    return f"{path}/{action}" if action else path


class ConnectSpec(_M):
    """MirrorMaker 2 running on a Kafka Connect cluster: pause/resume/restart its connectors."""

    url: str = Field(pattern=r"^https?://")
    connectors: list[Annotated[str, AfterValidator(_connector_name)]] = Field(min_length=1)
    headers: ConfigMap = Field(default_factory=dict, description="e.g. Authorization by ref")
    timeout_seconds: Float = Field(default=10, gt=0, le=600)

    @field_validator("headers")
    @classmethod
    def _secrets(cls, v: dict[str, str]) -> dict[str, str]:
        for k, val in v.items():
            secret = k.lower() in ("authorization", "proxy-authorization") or is_secret_key(k)
            if secret and val.strip() and val != REDACTED and not REF_RE.search(val):
                raise ValueError(f"headers.{k} holds a secret value; use ${{ENV:NAME}}")
        return v


class ExternalFlow(_M):
    source: str
    target: str
    replication_policy: Literal["default", "identity"] = "default"
    heartbeat_topic: str | None = Field(
        default=None, description="on the target; default <source>.heartbeats (identity: none)"
    )
    checkpoint_topic: str | None = Field(
        default=None, description="on the target; default <source>.checkpoints.internal"
    )
    connect: ConnectSpec | None = None
    commands: Commands | None = Field(default=None, description="flow_* command templates")

    @property
    def name(self) -> str:
        return f"{self.source}->{self.target}"

    def heartbeats(self) -> str:
        if self.heartbeat_topic:
            return self.heartbeat_topic
        identity = self.replication_policy == "identity"
        return "heartbeats" if identity else f"{self.source}.heartbeats"

    def properties(self) -> dict[str, str]:
        if self.replication_policy == "identity":
            cls = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"
            return {"replication.policy.class": cls}
        return {}


#: A Toxiproxy proxy name goes into the API's URL path (/proxies/<name>/toxics): no '/', no
#: '..', nothing to encode -- `../../reset` would reach another endpoint.
PROXY_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class ProxyRef(_M):
    name: str = Field(min_length=1)
    client_site: str = Field(description="the site whose side connects to the proxy")
    server_site: str = Field(description="the site the proxy's upstream is in")
    probe: str | None = Field(
        default=None, description="host:port a Kafka request crossing this proxy goes to"
    )

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        plain = PROXY_NAME_RE.fullmatch(v) is not None and ".." not in v
        if url_segment_problem(v) is not None or not plain:
            raise ValueError(
                f"proxy name {v!r} is not a plain Toxiproxy name (it becomes part of the API's "
                "URL path); use the name `toxiproxy-cli list` shows: letters, digits, '.', '_' "
                "and '-', starting with a letter or digit, no '..'"
            )
        return v


class ToxiproxyLink(_M):
    link: str = Field(pattern=r"^[a-z0-9-]+\s*<->\s*[a-z0-9-]+$")
    proxies: list[ProxyRef] = Field(min_length=1)

    @property
    def sites(self) -> frozenset[str]:
        a, _, b = self.link.partition("<->")
        return frozenset({a.strip(), b.strip()})


class ToxiproxySpec(_M):
    api: str = Field(description="host:port of the Toxiproxy API the user runs")
    links: list[ToxiproxyLink] = Field(min_length=1)


class SteadyState(_M):
    reachable_timeout_seconds: Float = Field(default=15, gt=0, le=600)
    replication_bound_seconds: Float | None = Field(
        default=60, gt=0, le=3600, description="a probe record must be replicated within this"
    )
    max_heartbeat_age_seconds: Float | None = Field(default=None, gt=0, le=86400)
    max_lag_records: Int | None = Field(default=None, ge=0)
    lag_topics: list[str] = Field(
        default_factory=list, description="existing source topics whose lag is read (read only)"
    )


class Guards(_M):
    max_write_unavailable_seconds: Float | None = Field(default=120, gt=0, le=86400)
    max_lag_records: Int | None = Field(default=None, ge=0)
    interval_seconds: Float = Field(default=2, gt=0, le=60)


class Isolation(_M):
    prefix: str = Field(default="kd", pattern=r"^[A-Za-z0-9._-]{1,40}$")
    keep_topics: bool = False


@register_options("external")  # the scenario's `external:` section (runtime_options)
class ExternalSpec(_M):
    """Everything kafkadrill knows about clusters it did not start."""

    clusters: dict[str, ExternalCluster] = Field(min_length=1, max_length=16)
    kafka_version: Annotated[str | None, BeforeValidator(_version_str)] = Field(
        default=None,
        description='the clusters\' Kafka release as you know it (e.g. "3.9.1"), for the report; '
        "Kafka has no client API that returns it, so null = unknown",
    )
    flows: list[ExternalFlow] = Field(default_factory=list, max_length=16)
    commands: Commands = Field(default_factory=Commands)
    toxiproxy: ToxiproxySpec | None = None
    isolation: Isolation = Field(default_factory=Isolation)
    steady_state: SteadyState = Field(default_factory=SteadyState)
    guards: Guards = Field(default_factory=Guards)

    @field_validator("kafka_version")
    @classmethod
    def _release(cls, v: str | None) -> str | None:
        if v is not None and not KAFKA_VERSION_RE.fullmatch(v):
            raise ValueError(
                f"{v!r} is not a Kafka release; write it as its distribution names it, quoted: "
                '"3.9.1" (or null when you do not know it)'
            )
        return v

    @field_validator("clusters")
    @classmethod
    def _names(cls, v: dict[str, ExternalCluster]) -> dict[str, ExternalCluster]:
        for name in v:
            if not re.fullmatch(_NAME, name):
                raise ValueError(f"cluster name {name!r}: use lower-case [a-z0-9-]")
        return v

    @model_validator(mode="after")
    def _refs(self) -> ExternalSpec:
        sites = self.sites()
        for i, f in enumerate(self.flows):
            for end in (f.source, f.target):
                if end not in self.clusters:
                    raise ValueError(
                        f"flows[{i}]: unknown cluster {end!r} (known: {', '.join(self.clusters)})"
                    )
        for name, c in self.clusters.items():
            ids = [n.id for n in c.nodes]
            if len(set(ids)) != len(ids):
                raise ValueError(f"clusters.{name}.nodes: a node id is listed twice")
            for site in c.bootstrap_from:
                if site not in sites:
                    raise ValueError(
                        f"clusters.{name}.bootstrap_from: unknown site {site!r} "
                        f"(known: {', '.join(sorted(sites))})"
                    )
        if self.toxiproxy is not None:
            for link in self.toxiproxy.links:
                unknown = sorted(link.sites - sites)
                if unknown:
                    raise ValueError(f"toxiproxy link {link.link}: unknown site(s) {unknown}")
                for p in link.proxies:
                    if {p.client_site, p.server_site} - link.sites:
                        raise ValueError(
                            f"toxiproxy proxy {p.name}: client_site/server_site must be the "
                            f"sites of link {link.link}"
                        )
        return self

    # ----- derived views -----------------------------------------------------------------
    def sites(self) -> set[str]:
        out: set[str] = set()
        for c in self.clusters.values():
            out.add(c.region)
            out.update(n.site for n in c.nodes if n.site)
        return out

    def to_topology(
        self, name: str, topics: tuple[TopicSpec, ...], topic_cluster: str | None
    ) -> Topology:
        """The Topology (names, regions, node ids, flows) faults validate their targets
        against; `topics` are declared on `topic_cluster` (the producers' cluster)."""
        clusters = []
        for cname, c in self.clusters.items():
            nodes = tuple(Node(n.id, n.site or c.region) for n in c.nodes)
            clusters.append(
                Cluster(cname, c.region, nodes, {}, topics if cname == topic_cluster else ())
            )
        flows = tuple(Flow(f.source, f.target, f.properties()) for f in self.flows)
        return Topology(name, tuple(clusters), flows)

    def commands_for(self, cluster: str | None) -> Commands:
        if cluster is None or cluster not in self.clusters:
            return self.commands
        return self.commands.merged(self.clusters[cluster].commands)

    def flow_spec(self, name: str) -> ExternalFlow | None:
        return next((f for f in self.flows if f.name == name), None)

    def link_spec(self, a: str, b: str) -> ToxiproxyLink | None:
        if self.toxiproxy is None:
            return None
        return next((x for x in self.toxiproxy.links if x.sites == frozenset({a, b})), None)


#: Which adapter setting gives which capability, as `capabilities_of` computes it, for people
#: (a refusal's fix and `kafkadrill runtimes`). az.partition and topic.admin: no adapter.
ADAPTERS: tuple[tuple[str, str], ...] = (
    (Cap.NODE_KILL, "external.commands.node_kill (for every cluster)"),
    (Cap.NODE_STOP, "external.commands.node_stop (for every cluster)"),
    (Cap.NODE_START, "external.commands.node_start (for every cluster)"),
    (Cap.NODE_PAUSE, "external.commands.node_pause and node_resume (for every cluster)"),
    (Cap.FLOW_STOP, "external.flows[].connect or commands.flow_stop (for every flow)"),
    (Cap.FLOW_START, "external.flows[].connect or commands.flow_start (for every flow)"),
    (Cap.FLOW_KILL, "external.commands.flow_kill (for every flow)"),
    (Cap.LINK_CUT, "external.toxiproxy"),
    (Cap.LINK_TOXIC, "external.toxiproxy"),
    (Cap.ACL, "always (the clusters' client settings; needs their ACL authorizer)"),
    (Cap.TOPIC_REWRITE, "always (the clusters' client settings)"),
)


def capabilities_of(spec: ExternalSpec | None) -> frozenset[str]:
    """Exactly the capabilities some adapter of `spec` provides."""
    if spec is None:
        return frozenset()
    caps: set[str] = set()
    per_cluster = [spec.commands_for(c) for c in spec.clusters] or [spec.commands]
    # A node capability exists only if every cluster can do it (a fault may name any cluster).
    for op, cap in (
        ("node_kill", Cap.NODE_KILL),
        ("node_stop", Cap.NODE_STOP),
        ("node_start", Cap.NODE_START),
    ):
        if all(getattr(c, op) is not None for c in per_cluster):
            caps.add(cap)
    if all(c.node_pause is not None and c.node_resume is not None for c in per_cluster):
        caps.add(Cap.NODE_PAUSE)
    if spec.flows:
        flows = [(f.connect, spec.commands.merged(f.commands)) for f in spec.flows]
        if all(con is not None or cmd.flow_stop is not None for con, cmd in flows):
            caps.add(Cap.FLOW_STOP)
        if all(con is not None or cmd.flow_start is not None for con, cmd in flows):
            caps.add(Cap.FLOW_START)
        # Connect has no "kill": a paused connector is a stop, not the loss of a process.
        if all(cmd.flow_kill is not None for _con, cmd in flows):
            caps.add(Cap.FLOW_KILL)
    if spec.toxiproxy is not None:
        caps |= {Cap.LINK_CUT, Cap.LINK_TOXIC}
    # Admin requests with the scenario's client settings: whether the clusters have an ACL
    # authorizer and grant them is found out by the step itself (`kafkadrill plan` says so).
    caps |= {Cap.ACL, Cap.TOPIC_REWRITE}
    return frozenset(caps)
