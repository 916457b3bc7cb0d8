"""Container images for the compose runtime, built with no registry at all.

Users with a registry get the official images (`apache/kafka:<version>`, Shopify's Toxiproxy).
Air-gapped machines (and CI here) build equivalents from parts kafkadrill already provisions:
- a Debian bookworm root file system with a JRE made by `mmdebstrap` from the same Debian
  mirror apt uses, turned into a base image with `docker import`;
- the Kafka image: that base plus the Maven-resolved Kafka jars (`ensure_kafka`) in
  /opt/kafka/libs (where the official image keeps them), plus a KRaft bootstrap checkpoint made
  at build time so nodes start without one storage-tool JVM each;
- the Toxiproxy image: `FROM scratch` with the statically linked, go-built server
  (`ensure_toxiproxy`) at /toxiproxy, the official image's entry point.

Tags carry the Kafka version and a hash of the content, so a rebuild happens only when the
content changed (`docker image inspect` says whether a tag exists).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kafkadrill.errors import ProvisionError
from kafkadrill.runtimes.shared.provision import (
    TOXIPROXY_VERSION,
    cache_dir,
    ensure_kafka,
    ensure_toxiproxy,
    require_tool,
)

BASE_REPO = "kafkadrill/base"
KAFKA_REPO = "kafkadrill/kafka"
TOXIPROXY_REPO = "kafkadrill/toxiproxy"
OFFICIAL_KAFKA = "apache/kafka"
OFFICIAL_TOXIPROXY = "ghcr.io/shopify/toxiproxy"
BASE_PACKAGES = ("openjdk-17-jre-headless",)
SUITE = "bookworm"
LABEL = "io.kafkadrill.image"  # every image kafkadrill builds carries it
Progress = Callable[[str], None]

# Where the Kafka image keeps what the node entry script needs (see compose_render.py).
BOOTSTRAP_CHECKPOINT = "/opt/kafkadrill/bootstrap.checkpoint"


@dataclass(frozen=True)
class Images:
    kafka: str
    toxiproxy: str


def docker_bin() -> str:
    return require_tool("docker", "for the compose runtime", "run .ci/docker-setup.sh as root")


def _docker(*args: str, timeout: float = 600.0, input_: bytes | None = None) -> str:
    proc = subprocess.run(
        [docker_bin(), *args],
        capture_output=True,
        input=input_,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()[-2000:]
        raise ProvisionError(f"docker {' '.join(args[:3])} failed: {err}")
    return proc.stdout.decode(errors="replace")


def image_exists(tag: str) -> bool:
    proc = subprocess.run(
        [docker_bin(), "image", "inspect", tag], capture_output=True, check=False, timeout=60
    )
    return proc.returncode == 0


def debian_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror apt uses on this machine (deb822 `.sources` or one-line format)."""
    files = [*sorted(sources.glob("sources.list.d/*.sources")), sources / "sources.list"]
    files += sorted(sources.glob("sources.list.d/*.list"))
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        for m in re.finditer(r"^URIs:\s*(\S+)", text, re.M):
            if re.search(r"/debian/?$", m.group(1)):
                return m.group(1).rstrip("/")
        for m in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s", text, re.M):
            if re.search(r"/debian/?$", m.group(1)):
                return m.group(1).rstrip("/")
    return "http://deb.debian.org/debian"


def _hash_files(paths: list[Path], extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for p in sorted(paths):
        st = p.stat()
        # Names and sizes identify Maven jars (versioned file names); hashing 50 MB each time
        # would cost more than the check saves.
        h.update(f"{p.name}:{st.st_size}\n".encode())
    return h.hexdigest()[:12]


def base_tag() -> str:
    spec = f"{SUITE}|{','.join(BASE_PACKAGES)}|variant=apt"
    return f"{BASE_REPO}:{SUITE}-jre17-{hashlib.sha256(spec.encode()).hexdigest()[:8]}"


def ensure_base(progress: Progress | None = None) -> str:
    """The Debian + JRE base image (mmdebstrap + docker import), built once."""
    say = progress or (lambda _m: None)
    tag = base_tag()
    if image_exists(tag):
        return tag
    mmdebstrap = require_tool(
        "mmdebstrap", "to build a base image without a registry", "apt-get install mmdebstrap"
    )
    cache = cache_dir() / "images"
    cache.mkdir(parents=True, exist_ok=True)
    rootfs = cache / f"rootfs-{tag.split(':')[1]}.tar"
    if not rootfs.is_file():
        _remove(rootfs)  # a directory left by an older kafkadrill would break `docker import`
        mirror = debian_mirror()
        say(f"building a Debian {SUITE} root file system with a JRE (mmdebstrap, {mirror})")
        build_rootfs(mmdebstrap, rootfs, mirror)
    say(f"importing {rootfs.name} as {tag}")
    _docker(
        "import",
        "--change",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change",
        f"LABEL {LABEL}=base",
        str(rootfs),
        tag,
        timeout=900,
    )
    return tag


def partial_rootfs_path(rootfs: Path, pid: int) -> Path:
    """Where mmdebstrap writes before the atomic rename to `rootfs`.

    mmdebstrap picks its output format from the file name: only a `.tar` suffix gives a tarball;
    anything else (e.g. `rootfs-x.part123`) makes it write a directory, which `docker import`
    then refuses. So the partial name keeps `.tar` last.
    """
    return rootfs.with_name(f"{rootfs.stem}.part{pid}.tar")


def build_rootfs(mmdebstrap: str, rootfs: Path, mirror: str) -> None:
    """Run mmdebstrap into a partial tarball and rename it to `rootfs` only when complete."""
    part = partial_rootfs_path(rootfs, os.getpid())
    proc = subprocess.run(
        [
            mmdebstrap,
            "--quiet",
            "--variant=apt",
            f"--include={','.join(BASE_PACKAGES)}",
            SUITE,
            str(part),
            mirror,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if proc.returncode != 0 or not part.is_file():
        why = (
            f"mmdebstrap failed:\n{proc.stderr[-2000:]}"
            if proc.returncode != 0
            else f"mmdebstrap wrote {part} as a directory, not a tarball"
        )
        _remove(part)
        raise ProvisionError(why)
    part.replace(rootfs)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


KAFKA_DOCKERFILE = """FROM {base}
COPY libs/ /opt/kafka/libs/
COPY format.properties /opt/kafkadrill/format.properties
# A KRaft bootstrap checkpoint depends only on the Kafka version: made once here, every node
# copies it instead of running the storage tool (what the local runtime does too).
RUN java -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format \\
      --cluster-id=a2Fma2FkcmlsbC1idWlsZA --config /opt/kafkadrill/format.properties \\
    && cp /tmp/kd-format/bootstrap.checkpoint {checkpoint} && rm -rf /tmp/kd-format \\
    && mkdir -p /var/lib/kafka/data /etc/kafkadrill
LABEL {label}=kafka io.kafkadrill.kafka-version={version}
WORKDIR /opt/kafka
"""

FORMAT_PROPERTIES = """process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
controller.listener.names=CONTROLLER
log.dirs=/tmp/kd-format
"""

TOXIPROXY_DOCKERFILE = """FROM scratch
COPY toxiproxy /toxiproxy
LABEL {label}=toxiproxy io.kafkadrill.toxiproxy-version={version}
EXPOSE 8474
ENTRYPOINT ["/toxiproxy"]
CMD ["-host=0.0.0.0"]
"""


def _build(context: Path, tag: str) -> None:
    # The classic builder: BuildKit is not part of Debian's docker.io 20.10.
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    proc = subprocess.run(
        [docker_bin(), "build", "-q", "-t", tag, str(context)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=1800,
    )
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr)[-2000:]
        raise ProvisionError(f"docker build of {tag} failed:\n{out}")


def ensure_kafka_image(version: str | None = None, progress: Progress | None = None) -> str:
    """kafkadrill/kafka:<version>-<hash>: the base image plus the Maven-resolved jars."""
    say = progress or (lambda _m: None)
    dist = ensure_kafka(version)
    base = ensure_base(progress)
    jars = sorted(dist.libs.glob("*.jar"))
    digest = _hash_files(jars, KAFKA_DOCKERFILE + FORMAT_PROPERTIES + base)
    tag = f"{KAFKA_REPO}:{dist.version}-{digest}"
    if image_exists(tag):
        return tag
    say(f"building {tag}")
    with tempfile.TemporaryDirectory(prefix="kafkadrill-image-") as tmp:
        ctx = Path(tmp)
        (ctx / "libs").mkdir()
        for jar in jars:
            # Hard links are free; a copy when the cache is on another file system.
            try:
                os.link(jar, ctx / "libs" / jar.name)
            except OSError:
                shutil.copyfile(jar, ctx / "libs" / jar.name)
        (ctx / "format.properties").write_text(FORMAT_PROPERTIES)
        (ctx / "Dockerfile").write_text(
            KAFKA_DOCKERFILE.format(
                base=base, checkpoint=BOOTSTRAP_CHECKPOINT, label=LABEL, version=dist.version
            )
        )
        _build(ctx, tag)
    return tag


def ensure_toxiproxy_image(progress: Progress | None = None) -> str:
    """kafkadrill/toxiproxy:<version>-<hash>: the go-built static binary on scratch."""
    say = progress or (lambda _m: None)
    binary = ensure_toxiproxy()
    digest = _hash_files([binary], TOXIPROXY_DOCKERFILE)
    tag = f"{TOXIPROXY_REPO}:{TOXIPROXY_VERSION.lstrip('v')}-{digest}"
    if image_exists(tag):
        return tag
    say(f"building {tag}")
    with tempfile.TemporaryDirectory(prefix="kafkadrill-image-") as tmp:
        ctx = Path(tmp)
        shutil.copyfile(binary, ctx / "toxiproxy")
        (ctx / "toxiproxy").chmod(0o755)
        (ctx / "Dockerfile").write_text(
            TOXIPROXY_DOCKERFILE.format(label=LABEL, version=TOXIPROXY_VERSION)
        )
        _build(ctx, tag)
    return tag


def build_images(kafka_version: str | None = None, progress: Progress | None = None) -> Images:
    """Build (or find cached) both images; returns their tags."""
    return Images(ensure_kafka_image(kafka_version, progress), ensure_toxiproxy_image(progress))


def _newest_local(repo: str, prefix: str = "") -> str | None:
    """The most recently built local tag of `repo` starting with `prefix`, if any."""
    try:
        out = _docker(
            "image",
            "ls",
            "--filter",
            f"label={LABEL}",
            "--format",
            "{{.Repository}}:{{.Tag}}\t{{.CreatedAt}}",
            repo,
            timeout=60,
        )
    except ProvisionError:
        return None
    rows = [line.split("\t") for line in out.splitlines() if "\t" in line]
    rows = [r for r in rows if r[0].split(":", 1)[1].startswith(prefix)]
    if not rows:
        return None
    rows.sort(key=lambda r: r[1], reverse=True)
    return rows[0][0]


def resolve_images(
    kafka_version: str,
    kafka_image: str | None = None,
    toxiproxy_image: str | None = None,
) -> Images:
    """Which images a compose topology uses: explicit names first (CLI/scenario/environment
    `KAFKADRILL_KAFKA_IMAGE`, `KAFKADRILL_TOXIPROXY_IMAGE`), then images `kafkadrill images`
    built for this Kafka version, then the official images."""
    kafka = kafka_image or os.environ.get("KAFKADRILL_KAFKA_IMAGE")
    toxi = toxiproxy_image or os.environ.get("KAFKADRILL_TOXIPROXY_IMAGE")
    if kafka is None:
        local = _newest_local(KAFKA_REPO, f"{kafka_version}-")
        kafka = local or f"{OFFICIAL_KAFKA}:{kafka_version}"
    if toxi is None:
        toxi = _newest_local(TOXIPROXY_REPO) or f"{OFFICIAL_TOXIPROXY}:{TOXIPROXY_VERSION}"
    return Images(kafka, toxi)
