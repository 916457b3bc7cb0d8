"""Class-data sharing (AppCDS) archives: JVM start-up without re-parsing Kafka's classes.

A broker or MirrorMaker 2 JVM spends most of its start-up CPU loading and verifying the same
few thousand classes; on a 2-core machine starting seven JVMs at once, that is most of the
topology's start time. Java 17 can dump the classes a JVM loaded into an archive at exit
(`-XX:ArchiveClassesAtExit`) and map it in later JVMs (`-XX:SharedArchiveFile`), as the official
Kafka image does. `ensure_archives` makes one archive per role (broker, mm2) and Kafka
distribution, once, by running a one-node-per-cluster topology through start-up, replication and
a clean stop. An archive that no longer matches (another JDK, other jars) is ignored by the JVM
(`-Xshare:auto`), and the file name carries the JDK version so a new JDK makes new archives.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from kafkadrill.topology.provision import KafkaDist, cache_dir, java_version

ROLES = ("broker", "mm2")


def _key(kafka: KafkaDist) -> str:
    try:
        java = java_version()
    except Exception:  # no java: nothing will start anyway; the archive name must not fail
        java = "unknown"
    digest = hashlib.sha256(f"{kafka.libs}|{kafka.classpath}|{java}".encode()).hexdigest()[:12]
    return f"{kafka.version}-{kafka.source}-{digest}"


def archive_path(kafka: KafkaDist, role: str) -> Path:
    return cache_dir() / "cds" / _key(kafka) / f"{role}.jsa"


def disabled() -> bool:
    return os.environ.get("KAFKADRILL_CDS", "1") in ("0", "false", "no")


def ensure_archives(kafka: KafkaDist) -> dict[str, Path]:
    """Make the broker and MM2 archives of `kafka` if missing; returns those that exist."""
    if disabled():
        return {}
    attempted = archive_path(kafka, "broker").parent / "attempted"
    missing = [r for r in ROLES if not archive_path(kafka, r).exists()]
    if missing and not attempted.exists():
        _dump(kafka)
        # One attempt per distribution: a role whose JVM did not write its archive (MM2 does
        # not always exit cleanly on SIGTERM) starts without one rather than retrying forever.
        attempted.touch()
    return {r: archive_path(kafka, r) for r in ROLES if archive_path(kafka, r).exists()}


def _dump(kafka: KafkaDist) -> None:
    from kafkadrill.topology.local import LocalRuntime
    from kafkadrill.topology.model import two_dc

    target = archive_path(kafka, "broker").parent
    target.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="kafkadrill-cds-"))
    dump = work / "dump"
    dump.mkdir()
    try:
        # Start-up, health probes, topic creation and a replicated probe record load the
        # classes every later start needs; the clean stop (SIGTERM) writes the archives.
        with LocalRuntime(
            two_dc(1, kafka_version=kafka.version), work, kafka=kafka, cds_dump_dir=dump
        ):
            pass
        for role, name in (("broker", "primary-n1"), ("mm2", "mm2-primary-dr")):
            made = dump / f"{name}.jsa"
            if made.exists() and made.stat().st_size > 0:
                part = target / f".{role}.jsa.{os.getpid()}"
                shutil.copyfile(made, part)
                part.replace(archive_path(kafka, role))  # atomic for concurrent runs
    finally:
        shutil.rmtree(work, ignore_errors=True)
