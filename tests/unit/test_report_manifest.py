"""MANIFEST.sha256: sha256sum-compatible, and any one-byte change anywhere is detected."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from kafkadrill.report.manifest import (
    ALTERED,
    INTACT,
    MANIFEST_FILE,
    RECHECK_PREFIX,
    UNVERIFIABLE,
    evidence_record,
    hash_files,
    read_manifest,
    verify,
    write_manifest,
)
from kafkadrill.report.plots import read_events
from kafkadrill.report.render import write_report

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sample_run"
_spec = importlib.util.spec_from_file_location("sample_run", FIXTURE / "generate.py")
assert _spec and _spec.loader
sample = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sample)


@pytest.fixture(scope="module")
def sealed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = sample.make_run_dir(tmp_path_factory.mktemp("reports"))
    write_report(run_dir, sample.load_report(), read_events(run_dir / "history.jsonl"))
    return run_dir


def _files(run_dir: Path) -> list[str]:
    return sorted(read_manifest(run_dir))


# Every file a rendered run has (parametrized statically so each shows up as its own test).
EXPECTED_FILES = [
    "environment.json",
    "history.jsonl",
    "logs/mm2.log",
    "logs/primary-1.log",
    "plots/consumer_lag.png",
    "plots/lost.png",
    "plots/rates.png",
    "plots/replication_lag.png",
    "report.html",
    "report.json",
    "report.md",
    "scenario.yaml",
]


def test_manifest_covers_every_file_but_itself(sealed_run: Path) -> None:
    assert _files(sealed_run) == EXPECTED_FILES
    assert verify(sealed_run).ok


def test_manifest_is_sha256sum_compatible(sealed_run: Path) -> None:
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum not installed")
    res = subprocess.run(
        ["sha256sum", "--check", "--strict", "MANIFEST.sha256"],
        cwd=sealed_run,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("rel", EXPECTED_FILES)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_byte_change_is_detected(
    sealed_run: Path, tmp_path: Path, rel: str, where: str
) -> None:
    run = tmp_path / "run"
    shutil.copytree(sealed_run, run)
    path = run / rel
    data = bytearray(path.read_bytes())
    i = {"first": 0, "middle": len(data) // 2, "last": len(data) - 1}[where]
    data[i] ^= 0x01
    path.write_bytes(bytes(data))
    res = verify(run)
    assert not res.ok and res.changed == [rel] and not res.missing and not res.added


def test_missing_and_added_files_are_detected(sealed_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(sealed_run, run)
    (run / "logs" / "mm2.log").unlink()
    (run / "logs" / "late.log").write_text("written after sealing\n")
    res = verify(run)
    assert not res.ok
    assert res.missing == ["logs/mm2.log"] and res.added == ["logs/late.log"]
    assert "missing: logs/mm2.log" in res.summary()


def test_verify_reports_missing_or_corrupt_manifest(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    assert verify(tmp_path).error and not verify(tmp_path)
    (tmp_path / "MANIFEST.sha256").write_text("not a manifest\n")
    assert "unreadable" in (verify(tmp_path).error or "")


def test_odd_file_names_roundtrip(tmp_path: Path) -> None:
    (tmp_path / "a b.txt").write_text("x")
    (tmp_path / "back\\slash.txt").write_text("y")
    write_manifest(tmp_path)
    assert read_manifest(tmp_path).keys() == hash_files(tmp_path).keys()
    assert verify(tmp_path).ok


def test_states(sealed_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(sealed_run, run)
    assert verify(run).state == INTACT
    (run / "report.md").write_text("rewritten")
    assert verify(run).state == ALTERED
    for text in ("", "\n\n", "zz  report.md\n"):
        (run / MANIFEST_FILE).write_text(text)
        res = verify(run)
        assert res.state == UNVERIFIABLE and res.error, text
    (run / MANIFEST_FILE).unlink()
    assert verify(run).state == UNVERIFIABLE


def test_recheck_dirs_are_not_part_of_the_original(sealed_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(sealed_run, run)
    recheck = run / f"{RECHECK_PREFIX}20261130T120000Z"
    recheck.mkdir()
    (recheck / "report.json").write_text("{}")
    write_manifest(recheck)
    assert verify(run).ok and verify(recheck).ok
    assert not any(p.startswith(RECHECK_PREFIX) for p in read_manifest(run))
    # only a top-level recheck-* directory is set aside; elsewhere the name means nothing
    (run / "logs" / f"{RECHECK_PREFIX}x").mkdir()
    (run / "logs" / f"{RECHECK_PREFIX}x" / "a.log").write_text("late")
    assert verify(run).added == [f"logs/{RECHECK_PREFIX}x/a.log"]


def test_evidence_record_names_state_and_inputs(sealed_run: Path, tmp_path: Path) -> None:
    import hashlib

    run = tmp_path / "run"
    shutil.copytree(sealed_run, run)
    rec = evidence_record(run, ("history.jsonl", "scenario.yaml", "absent.txt"))
    assert rec["original_state"] == INTACT
    digest = hashlib.sha256((run / "history.jsonl").read_bytes()).hexdigest()
    assert rec["inputs_sha256"] == {
        "history.jsonl": digest,
        "scenario.yaml": hashlib.sha256((run / "scenario.yaml").read_bytes()).hexdigest(),
    }
    (run / "history.jsonl").write_bytes(b"")
    rec = evidence_record(run, ("history.jsonl",))
    assert rec["original_state"] == ALTERED
    assert rec["original_manifest"]["changed"] == ["history.jsonl"]
