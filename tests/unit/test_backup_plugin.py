"""The backup sink connector (provision_data/backup/*.java) compiles against the cached Kafka jars
into one jar per Kafka version and source hash, and a second call does not compile again."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from kafkadrill.errors import ProvisionError
from kafkadrill.runtimes.shared import provision

pytestmark = pytest.mark.skipif(
    shutil.which("javac") is None or shutil.which("jar") is None,
    reason="javac/jar not installed (a JDK is needed to compile the backup connector)",
)


def test_builds_the_connector_jar_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The Kafka jars come from the real cache; the plugin goes to an empty one.
    try:
        dist = provision.ensure_kafka()
    except ProvisionError as exc:
        pytest.skip(f"no cached Kafka jars to compile against: {exc}")
    monkeypatch.setenv("KAFKADRILL_CACHE", str(tmp_path))

    plugin = provision.ensure_backup_plugin(dist)

    assert plugin.parent == tmp_path / "plugins"
    assert plugin.name.startswith(f"backup-{dist.version}-")
    assert [p.name for p in plugin.iterdir()] == [provision.BACKUP_JAR]
    with zipfile.ZipFile(plugin / provision.BACKUP_JAR) as jar:
        names = set(jar.namelist())
        services = jar.read("META-INF/services/org.apache.kafka.connect.sink.SinkConnector")
    assert "io/kafkadrill/backup/BackupSinkTask.class" in names
    assert "io/kafkadrill/backup/BackupSinkConnector.class" in names
    assert services.decode().split() == [provision.BACKUP_CONNECTOR]
    # No build leftovers beside the plugin.
    assert [p.name for p in (tmp_path / "plugins").iterdir()] == [plugin.name]

    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a cached plugin must not be rebuilt: {args}")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    assert provision.ensure_backup_plugin(dist) == plugin
