"""Class-data sharing (AppCDS) for the local runtime's JVMs: Kafka's classes parsed once.

A drill on a 2-core machine starts six brokers, their storage formats and MirrorMaker 2 at
once, and restarts nodes as it heals; every JVM loads, parses and verifies the same few
thousand classes from the same jars. A CDS archive holds them pre-parsed and is mapped by every
JVM: measured here, a broker start took about a third less CPU with it
(`benchmarks/jvm_cds.py`). Nothing a drill measures depends on it; with `-Xshare:auto` (the
default) a JVM that cannot use the archive (another Java build, changed jars) starts as before.

The archive is built once per (Java build, classpath) into the cache: the classes a one-node
KRaft broker loads to format its storage, start, and serve one produce and one fetch are
listed (`-XX:DumpLoadedClassList`), then dumped (`-Xshare:dump`). Building takes ~15 s and
never fails a drill: any problem leaves no archive and a note. `KAFKADRILL_CDS=0` turns it off.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from kafkadrill.runtimes.shared.config import new_cluster_id
from kafkadrill.runtimes.shared.processes import run_guarded, spawn_guarded
from kafkadrill.runtimes.shared.provision import KafkaDist, cache_dir, java_version

__all__ = ["archive_path", "enabled", "ensure_archive", "jvm_options"]

_BUILD_TIMEOUT_S = 120.0


def enabled() -> bool:
    return os.environ.get("KAFKADRILL_CDS", "1") not in ("0", "false", "no", "off")


def archive_path(kafka: KafkaDist) -> Path:
    """Where the archive of this classpath and this Java build lives (it fits no other)."""
    key = hashlib.sha256(f"{java_version()}\n{kafka.classpath}".encode()).hexdigest()[:16]
    return cache_dir() / "cds" / f"kafka-{kafka.version}-{key}.jsa"


def jvm_options(kafka: KafkaDist) -> list[str]:
    """The JVM options that use the archive, or [] when there is none (or CDS is off)."""
    if not enabled():
        return []
    path = archive_path(kafka)
    return [f"-XX:SharedArchiveFile={path}", "-Xshare:auto"] if path.exists() else []


def ensure_archive(kafka: KafkaDist) -> tuple[Path | None, str]:
    """Build the archive if it is missing. Returns (path or None, what happened). Never raises:
    without an archive the JVMs start as they always did."""
    if not enabled():
        return None, "class-data sharing off (KAFKADRILL_CDS=0)"
    path = archive_path(kafka)
    if path.exists():
        return path, f"class-data sharing archive {path.name}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; the others then find it
        if path.exists():
            return path, f"class-data sharing archive {path.name}"
        work = Path(tempfile.mkdtemp(prefix="kafkadrill-cds-"))
        try:
            _build(kafka, work, path)
        except Exception as exc:  # a missing archive only costs start-up time
            return None, f"no class-data sharing archive ({exc})"
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return path, f"built class-data sharing archive {path.name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _java(kafka: KafkaDist, *opts: str) -> list[str]:
    # The same java and classpath as the nodes (an archive fits only the classpath it was
    # dumped with); a small heap: this broker serves a handful of records.
    return ["java", "-Xmx256m", "-XX:+UseSerialGC", *opts, "-cp", kafka.classpath]


def one_node_config(work: Path) -> tuple[Path, int]:
    """server.properties of a throwaway one-node KRaft cluster in `work`, and its client port."""
    port, cport = _free_port(), _free_port()
    conf = work / "server.properties"
    conf.write_text(
        "process.roles=broker,controller\nnode.id=1\n"
        f"controller.quorum.voters=1@127.0.0.1:{cport}\n"
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}\n"
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n"
        "controller.listener.names=CONTROLLER\n"
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
        f"log.dirs={work / 'data'}\noffsets.topic.replication.factor=1\n"
        "offsets.topic.num.partitions=1\ngroup.initial.rebalance.delay.ms=0\n"
    )
    return conf, port


def _build(kafka: KafkaDist, work: Path, out: Path) -> None:
    conf, port = one_node_config(work)
    cluster_id = new_cluster_id()
    fmt_list, node_list = work / "format.classlist", work / "node.classlist"
    # Every JVM here is a guarded child: a runner killed mid-build leaves none behind.
    run_guarded(
        [
            *_java(kafka, f"-XX:DumpLoadedClassList={fmt_list}"),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(conf),
        ],
        _BUILD_TIMEOUT_S,
    )
    with open(work / "node.log", "wb") as log:
        node = spawn_guarded(
            [*_java(kafka, f"-XX:DumpLoadedClassList={node_list}"), "kafka.Kafka", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            _exercise(f"127.0.0.1:{port}", node)
        finally:
            node.terminate()  # a clean exit writes the whole class list
            try:
                node.wait(30)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait()
    classes = work / "all.classlist"
    classes.write_text(fmt_list.read_text() + node_list.read_text())
    part = out.with_suffix(f".part{os.getpid()}")
    dump = ("-Xshare:dump", f"-XX:SharedClassListFile={classes}", f"-XX:SharedArchiveFile={part}")
    run_guarded(_java(kafka, *dump), _BUILD_TIMEOUT_S)
    part.replace(out)


def _exercise(bootstrap: str, node: subprocess.Popen[bytes]) -> None:
    """Wait for the node, then one produce and one group fetch (the hot paths of a drill)."""
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient

    deadline = time.monotonic() + _BUILD_TIMEOUT_S
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    while True:
        if node.poll() is not None:
            raise RuntimeError(f"the one-node broker exited ({node.returncode})")
        with contextlib.suppress(Exception):
            if admin.list_topics(timeout=1).brokers:
                break
        if time.monotonic() > deadline:
            raise RuntimeError("the one-node broker did not answer")
        time.sleep(0.2)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "log_level": 0})
    for i in range(10):
        producer.produce("kafkadrill-cds", value=str(i).encode())
    if producer.flush(30):
        raise RuntimeError("the one-node broker did not acknowledge")
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "kafkadrill-cds",
            "auto.offset.reset": "earliest",
            "log_level": 0,
        }
    )
    try:
        consumer.subscribe(["kafkadrill-cds"])
        got = 0
        while got < 10 and time.monotonic() < deadline:
            got += len([m for m in consumer.consume(10, 1.0) if m.error() is None])
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
