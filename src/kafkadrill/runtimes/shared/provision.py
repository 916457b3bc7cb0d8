"""Provisioning: Kafka jars from Maven Central (or KAFKA_HOME) and Toxiproxy via `go install`.

Everything is cached under one directory (`KAFKADRILL_CACHE`, default ~/.cache/kafkadrill);
every step is idempotent and a second run does no network access at all.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kafkadrill.errors import ProvisionError

# The newest Kafka 4.x whose every artifact we need is on Maven Central (4.4.0 is listed in
# kafka_2.13's metadata but connect-mirror 4.4.0 is not published yet).
DEFAULT_KAFKA_VERSION = "4.3.1"
TOXIPROXY_VERSION = "v2.12.0"
TOXIPROXY_MODULE = "github.com/Shopify/toxiproxy/v2/cmd/server"

_LOG4J2_DEPS = """
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>2.24.3</version></dependency>"""

_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")

BACKUP_JAR = "kafkadrill-backup.jar"
BACKUP_CONNECTOR = "io.kafkadrill.backup.BackupSinkConnector"
_JDK_HINT = "apt-get install openjdk-17-jdk-headless"


@dataclass(frozen=True)
class KafkaDist:
    """A set of jars that can run a broker, the storage tool and MirrorMaker 2."""

    version: str
    libs: Path
    source: str  # "maven" or "KAFKA_HOME"

    @property
    def classpath(self) -> str:
        return str(self.libs / "*")

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


def cache_dir() -> Path:
    env = os.environ.get("KAFKADRILL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "kafkadrill"


def require_tool(name: str, purpose: str, install_hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ProvisionError(
            f"'{name}' is not installed; kafkadrill needs it {purpose}. Install it: {install_hint}"
        )
    return path


def render_pom(version: str) -> str:
    """The shipped pom with the Kafka version and the right logging binding for it."""
    template = resources.files("kafkadrill.runtimes.shared").joinpath("provision_data/pom.xml")
    text = template.read_text()
    text = text.replace("@KAFKA_VERSION@", version)
    # Kafka 4.x logs through Log4j2; 3.x ships its own reload4j binding.
    extra = _LOG4J2_DEPS if int(version.split(".")[0]) >= 4 else ""
    return text.replace("<!--@LOGGING_DEPS@-->", extra)


def _kafka_from_home(home: Path) -> KafkaDist:
    libs = home / "libs"
    jars = sorted(libs.glob("kafka_2.*-*.jar")) if libs.is_dir() else []
    core = [j for j in jars if re.fullmatch(r"kafka_2\.\d+-[\d.]+\.jar", j.name)]
    if not core:
        raise ProvisionError(
            f"KAFKA_HOME={home} does not look like a Kafka distribution (no libs/kafka_2.*.jar); "
            "unset KAFKA_HOME to let kafkadrill fetch Kafka from Maven Central"
        )
    if not list(libs.glob("connect-mirror-*.jar")):
        raise ProvisionError(f"KAFKA_HOME={home} has no connect-mirror jar (MirrorMaker 2)")
    version = core[0].name.split("-", 1)[1].removesuffix(".jar")
    return KafkaDist(version, libs, "KAFKA_HOME")


def ensure_kafka(version: str | None = None, *, quiet: bool = True) -> KafkaDist:
    """Return a Kafka distribution, fetching jars with Maven into the cache when needed."""
    home = os.environ.get("KAFKA_HOME")
    if home and version is None:
        return _kafka_from_home(Path(home))
    version = version or DEFAULT_KAFKA_VERSION
    if not _VERSION_RE.match(version):
        raise ProvisionError(f"Kafka version {version!r} is not of the form X.Y.Z (e.g. 3.9.1)")
    if home:
        dist = _kafka_from_home(Path(home))
        if dist.version == version:
            return dist
    root = cache_dir() / "kafka" / version
    libs = root / "libs"
    marker = root / ".complete"
    if marker.exists():
        return KafkaDist(version, libs, "maven")
    require_tool("java", "to run Kafka brokers and MirrorMaker 2", "apt-get install openjdk-17-jre")
    mvn = require_tool("mvn", "to fetch the Kafka jars from Maven Central", "apt-get install maven")
    root.mkdir(parents=True, exist_ok=True)
    (root / "pom.xml").write_text(render_pom(version))
    if libs.exists():
        shutil.rmtree(libs)
    cmd = [
        mvn,
        "-B",
        "-f",
        str(root / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={libs}",
        "-DincludeScope=runtime",
    ]
    if quiet:
        cmd.insert(2, "-q")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ProvisionError(
            f"Maven could not fetch Kafka {version} (is it published on Maven Central?):\n{tail}"
        )
    if not list(libs.glob("connect-mirror-*.jar")):
        raise ProvisionError(f"Maven fetched Kafka {version} but no connect-mirror jar")
    marker.write_text(version + "\n")
    return KafkaDist(version, libs, "maven")


def ensure_toxiproxy() -> Path:
    """Return the Toxiproxy server binary, building it with `go install` when needed."""
    env = os.environ.get("TOXIPROXY_BIN")
    if env:
        path = Path(env)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ProvisionError(f"TOXIPROXY_BIN={env} is not an executable file")
        return path
    gobin = cache_dir() / "toxiproxy" / TOXIPROXY_VERSION
    binary = gobin / "server"
    if binary.exists():
        return binary
    go = require_tool("go", "to build Toxiproxy", "install Go >= 1.22 (https://go.dev/dl)")
    gobin.mkdir(parents=True, exist_ok=True)
    env_vars = {**os.environ, "GOBIN": str(gobin), "CGO_ENABLED": "0"}
    proc = subprocess.run(
        [go, "install", f"{TOXIPROXY_MODULE}@{TOXIPROXY_VERSION}"],
        capture_output=True,
        text=True,
        env=env_vars,
        check=False,
    )
    if proc.returncode != 0 or not binary.exists():
        raise ProvisionError(
            f"go install of Toxiproxy {TOXIPROXY_VERSION} failed:\n" + proc.stderr[-2000:]
        )
    return binary


def _backup_sources() -> dict[str, bytes]:
    folder = resources.files("kafkadrill.runtimes.shared").joinpath("provision_data/backup")
    sources = {f.name: f.read_bytes() for f in folder.iterdir() if f.name.endswith(".java")}
    if not sources:
        raise ProvisionError(f"no backup connector sources in {folder} (broken install?)")
    return dict(sorted(sources.items()))


def ensure_backup_plugin(dist: KafkaDist) -> Path:
    """The backup sink connector's jar (compiled once per Kafka version and source hash into the
    cache); returns the plugin directory to put in a worker's plugin.path."""
    sources = _backup_sources()
    digest = hashlib.sha256()
    for name, data in sources.items():
        digest.update(name.encode() + b"\0" + data + b"\0")
    plugins = cache_dir() / "plugins"
    target = plugins / f"backup-{dist.version}-{digest.hexdigest()[:12]}"
    if (target / BACKUP_JAR).exists():
        return target
    javac = require_tool("javac", "to compile the backup sink connector", _JDK_HINT)
    jar = require_tool("jar", "to package the backup sink connector", _JDK_HINT)
    plugins.mkdir(parents=True, exist_ok=True)
    # Built beside the target (same filesystem) and renamed into place: an interrupted build
    # leaves only a stray temp dir, never a plugin dir with a half-written jar.
    work = Path(tempfile.mkdtemp(prefix=".backup-build-", dir=plugins))
    try:
        src, classes, staged = work / "src", work / "classes", work / "plugin"
        src.mkdir()
        staged.mkdir()
        # Copied out of the package: javac wants real files, the package may be a zip.
        files = []
        for name, data in sources.items():
            (src / name).write_bytes(data)
            files.append(str(src / name))
        _run_jdk(
            [javac, "--release", "17", "-cp", dist.classpath, "-d", str(classes), *files],
            "javac could not compile the backup sink connector",
        )
        # Kafka's service-loader plugin discovery (plugin.discovery=service_load) needs this.
        services = classes / "META-INF" / "services"
        services.mkdir(parents=True)
        (services / "org.apache.kafka.connect.sink.SinkConnector").write_text(
            BACKUP_CONNECTOR + "\n"
        )
        _run_jdk(
            [jar, "cf", str(staged / BACKUP_JAR), "-C", str(classes), "."],
            "jar could not package the backup sink connector",
        )
        if target.exists():  # a leftover without its jar (the check above failed)
            shutil.rmtree(target)
        try:
            staged.rename(target)
        except OSError:
            if not (target / BACKUP_JAR).exists():  # not a concurrent build that won the race
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _run_jdk(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ProvisionError(f"{what}:\n{tail}")


@functools.cache
def java_version() -> str:
    # One `java -version` per process: a JVM start each time, and the CDS archive key, the
    # local start and the environment record all ask (the java on PATH does not change).
    java = require_tool("java", "to run Kafka", "apt-get install openjdk-17-jre")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    return out.splitlines()[0] if out else "unknown"


@dataclass(frozen=True)
class Provisioned:
    kafka: KafkaDist
    toxiproxy: Path


def ensure_all(kafka_version: str | None = None) -> Provisioned:
    return Provisioned(ensure_kafka(kafka_version), ensure_toxiproxy())
