"""Run directory layout: unique stamped dirs, atomic JSON, optional history gzip."""

from __future__ import annotations

import gzip
import math
import threading
from datetime import UTC, datetime
from pathlib import Path

import orjson

from kafkadrill.report.store import (
    HISTORY_FILE,
    HISTORY_GZ_FILE,
    RunPaths,
    compress_history,
    history_path,
    iter_run_dirs,
    new_run_dir,
    read_json,
    utc_stamp,
    write_json,
)

NOW = datetime(2026, 11, 22, 3, 15, 0, tzinfo=UTC)


def test_run_dir_is_scenario_slash_utc_stamp_with_logs_and_plots(tmp_path: Path) -> None:
    d = new_run_dir(tmp_path / "reports", "region-outage", now=NOW)
    assert d == tmp_path / "reports" / "region-outage" / "20261122T031500Z"
    assert (d / "logs").is_dir() and (d / "plots").is_dir()
    p = RunPaths(d)
    assert p.report_json.name == "report.json" and p.manifest.name == "MANIFEST.sha256"
    assert p.scenario.name == "scenario.yaml" and p.environment.name == "environment.json"


def test_stamp_is_utc_even_for_other_timezones() -> None:
    from datetime import timedelta, timezone

    tokyo = NOW.astimezone(timezone(timedelta(hours=9)))
    assert utc_stamp(tokyo) == "20261122T031500Z"


def test_same_second_runs_get_distinct_dirs_even_in_parallel(tmp_path: Path) -> None:
    out: list[Path] = []
    lock = threading.Lock()

    def start() -> None:
        d = new_run_dir(tmp_path, "s", now=NOW)
        with lock:
            out.append(d)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({p.name for p in out}) == 8
    assert {p.name for p in out} >= {"20261122T031500Z", "20261122T031500Z-2"}
    assert len(list(iter_run_dirs(tmp_path))) == 8


def test_scenario_name_cannot_escape_the_reports_dir(tmp_path: Path) -> None:
    d = new_run_dir(tmp_path, "../../etc/x y", now=NOW)
    assert d.parent.parent == tmp_path


def test_write_json_roundtrip_nan_is_null_and_no_temp_left(tmp_path: Path) -> None:
    p = write_json(tmp_path / "r.json", {"a": 1.5, "b": math.nan, "c": Path("x"), "d": {1, 2}})
    assert read_json(p) == {"a": 1.5, "b": None, "c": "x", "d": [1, 2]}
    assert [f.name for f in tmp_path.iterdir()] == ["r.json"]


def test_compress_history_only_when_large(tmp_path: Path) -> None:
    lines = b"".join(orjson.dumps({"seq": i, "type": "x"}) + b"\n" for i in range(1000))
    (tmp_path / HISTORY_FILE).write_bytes(lines)
    assert compress_history(tmp_path, threshold_bytes=10**9).name == HISTORY_FILE
    gz = compress_history(tmp_path, threshold_bytes=100)
    assert gz.name == HISTORY_GZ_FILE and not (tmp_path / HISTORY_FILE).exists()
    assert gzip.decompress(gz.read_bytes()) == lines
    assert history_path(tmp_path) == gz
