"""Class-data sharing for the local runtime's JVMs (runtimes/shared/cds.py): used only when its
archive exists, keyed to the Java build and classpath, and never a reason for a drill to fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkadrill.runtimes.shared import cds
from kafkadrill.runtimes.shared.provision import KafkaDist


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KAFKADRILL_CACHE", str(tmp_path))
    monkeypatch.delenv("KAFKADRILL_CDS", raising=False)
    monkeypatch.setattr(cds, "java_version", lambda: 'openjdk version "17.0.99"')
    return tmp_path


def _dist(libs: Path) -> KafkaDist:
    return KafkaDist("4.3.1", libs, "maven")


def test_no_archive_no_option(cache: Path) -> None:
    assert cds.jvm_options(_dist(cache / "libs")) == []


def test_an_archive_is_used_once_it_exists(cache: Path) -> None:
    kafka = _dist(cache / "libs")
    path = cds.archive_path(kafka)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"archive")
    assert cds.jvm_options(kafka) == [f"-XX:SharedArchiveFile={path}", "-Xshare:auto"]
    assert cds.ensure_archive(kafka) == (path, f"class-data sharing archive {path.name}")


def test_the_archive_fits_one_java_build_and_one_classpath(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = cds.archive_path(_dist(cache / "libs"))
    assert cds.archive_path(_dist(cache / "other")) != a
    monkeypatch.setattr(cds, "java_version", lambda: 'openjdk version "21.0.1"')
    assert cds.archive_path(_dist(cache / "libs")) != a


def test_switched_off(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kafka = _dist(cache / "libs")
    path = cds.archive_path(kafka)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"archive")
    monkeypatch.setenv("KAFKADRILL_CDS", "0")
    assert cds.jvm_options(kafka) == []
    assert cds.ensure_archive(kafka) == (None, "class-data sharing off (KAFKADRILL_CDS=0)")


def test_a_failed_build_leaves_no_archive_and_says_why(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(kafka: KafkaDist, work: Path, out: Path) -> None:
        (out.parent / "half.part").write_bytes(b"x")
        raise RuntimeError("the one-node broker exited (1)")

    monkeypatch.setattr(cds, "_build", broken)
    kafka = _dist(cache / "libs")
    path, note = cds.ensure_archive(kafka)
    assert path is None and "the one-node broker exited (1)" in note
    assert not cds.archive_path(kafka).exists()
    assert cds.jvm_options(kafka) == []


def test_guarded_runs_report_failure_and_overrun() -> None:
    import subprocess
    import sys

    from kafkadrill.runtimes.shared.processes import run_guarded

    run_guarded([sys.executable, "-c", "print('ok')"], 30)
    with pytest.raises(subprocess.CalledProcessError) as err:
        run_guarded([sys.executable, "-c", "print('bad'); raise SystemExit(3)"], 30)
    assert err.value.returncode == 3 and b"bad" in err.value.output
    with pytest.raises(subprocess.TimeoutExpired):
        run_guarded([sys.executable, "-c", "import time; time.sleep(30)"], 0.5)
