"""Comparison across settings: grouping by differing keys, statistics, md/csv/html output."""

from __future__ import annotations

import csv
import io
import re
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from kafkadrill.cli import main
from kafkadrill.report.compare import (
    METRICS,
    build_comparison,
    expand_run_dirs,
    flatten,
    load_run,
    markdown_table,
    render_csv,
    write_comparison,
)
from kafkadrill.report.store import new_run_dir, write_json

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _scenario(acks: str, seed: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": "broker-loss",
        "description": f"run with seed {seed}",  # prose differs: never a setting
        "seed": seed,
        "duration_seconds": 30,
        "workload": {"producers": {"count": 2, "acks": acks}},
        "timeline": [{"at": 10, "fault": "node.kill", "duration": 10}],
        **extra,
    }


def _run(
    reports: Path,
    n: int,
    scenario: dict[str, Any] | None,
    *,
    verdict: str | None = "PASS",
    lost: int | None = 0,
    window: float | None = 0.0,
    dups: int = 0,
    rereads: int = 0,
    wdown: float | None = 1.0,
    rdown: float | None = 2.0,
    unknown: int = 0,
    p50: float = 5.0,
    p99: float = 50.0,
    error: str | None = None,
) -> Path:
    d = new_run_dir(reports, "broker-loss", now=T0 + timedelta(minutes=n))
    if scenario is not None:
        (d / "scenario.yaml").write_text("# resolved\n" + yaml.safe_dump(scenario))
    if verdict is not None:
        write_json(
            d / "report.json",
            {
                "scenario": "broker-loss",
                "run_id": d.name,
                "seed": (scenario or {}).get("seed"),
                "verdict": verdict,
                "error": error,
                "rpo": {
                    "acked": 1000,
                    "lost": lost,
                    "window_seconds": window,
                    "duplicates": dups,
                    "unknown": unknown,
                },
                "rto": {"write_unavailable_seconds": wdown, "read_unavailable_seconds": rdown},
                "checkers": {
                    "duplicates": {"status": "PASS", "figures": {"consumer_rereads": rereads}},
                    "latency": {
                        "status": "PASS",
                        "figures": {"per_phase": {"steady": {"p50_ms": p50, "p99_ms": p99}}},
                    },
                },
            },
        )
        (d / "report.html").write_text("<html></html>")
    return d


ACKS1 = [
    dict(
        lost=3, window=0.25, dups=1, rereads=10, wdown=4.5, rdown=5.0, unknown=2, p50=4.0, p99=40.0
    ),
    dict(
        lost=10, window=1.5, dups=0, rereads=4, wdown=2.25, rdown=3.0, unknown=0, p50=6.5, p99=61.0
    ),
    dict(
        lost=5, window=0.5, dups=4, rereads=7, wdown=3.0, rdown=9.75, unknown=1, p50=5.0, p99=55.5
    ),
]
ACKS_ALL = [
    dict(
        lost=0, window=0.0, dups=2, rereads=1, wdown=6.0, rdown=6.5, unknown=3, p50=30.0, p99=300.0
    ),
    dict(
        lost=0, window=0.0, dups=3, rereads=2, wdown=7.0, rdown=8.0, unknown=5, p50=31.0, p99=310.0
    ),
]
FIELDS = {
    "lost": "lost",
    "rpo_window_seconds": "window",
    "duplicates": "dups",
    "consumer_rereads": "rereads",
    "write_unavailable_seconds": "wdown",
    "read_unavailable_seconds": "rdown",
    "unknown": "unknown",
    "produce_p50_ms": "p50",
    "produce_p99_ms": "p99",
}


def _sweep_like(reports: Path) -> list[Path]:
    dirs = []
    for i, (a1, aall) in enumerate(zip(ACKS1, [*ACKS_ALL, None], strict=True)):
        dirs.append(_run(reports, 2 * i, _scenario("1", 100 + i), verdict="FAIL", **a1))
        if aall is not None:
            dirs.append(_run(reports, 2 * i + 1, _scenario("all", 100 + i), **aall))
    return dirs


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.3f}".rstrip("0").rstrip(".")


def test_flatten_uses_the_set_key_spelling() -> None:
    flat = flatten(_scenario("1", 7, topology={"broker_config": {"min.insync.replicas": "2"}}))
    assert flat["workload.producers.acks"] == "1"
    assert flat["timeline[0].duration"] == 10
    assert flat["topology.broker_config.min.insync.replicas"] == "2"


def test_groups_by_differing_settings_ignoring_seed_and_description(tmp_path: Path) -> None:
    comp = build_comparison([load_run(d) for d in _sweep_like(tmp_path / "r")])
    assert comp.keys == ["workload.producers.acks"]
    assert [g.label for g in comp.groups] == [
        "workload.producers.acks=1",
        "workload.producers.acks=all",
    ]
    assert [len(g.runs) for g in comp.groups] == [3, 2]
    assert dict(comp.groups[0].verdicts) == {"FAIL": 3}


def test_markdown_and_csv_hold_median_min_max_of_the_inputs(tmp_path: Path) -> None:
    comp = build_comparison([load_run(d) for d in _sweep_like(tmp_path / "r")])
    md = markdown_table(comp)
    rows = {
        line.split("|")[2].strip(): [c.strip() for c in line.strip().strip("|").split("|")]
        for line in md.splitlines()[2:]
    }
    csv_rows = {r["setting"]: r for r in csv.DictReader(io.StringIO(render_csv(comp)))}
    for label, inputs in (
        ("workload.producers.acks=1", ACKS1),
        ("workload.producers.acks=all", ACKS_ALL),
    ):
        cells = rows[label]
        assert cells[2] == str(len(inputs))
        row = csv_rows[label]
        for i, m in enumerate(METRICS):
            vals = [float(x[FIELDS[m.key]]) for x in inputs]
            med, lo, hi = statistics.median(vals), min(vals), max(vals)
            expected = _num(med) if lo == hi else f"{_num(med)} ({_num(lo)}–{_num(hi)})"
            assert cells[5 + i] == expected, (label, m.key)
            assert float(row[f"{m.key}_median"]) == med
            assert float(row[f"{m.key}_min"]) == lo
            assert float(row[f"{m.key}_max"]) == hi
            assert int(row[f"{m.key}_n"]) == len(inputs)
        assert row["workload.producers.acks"] == label.split("=")[1]
    # spot-check an even count: the median of two is their mean
    assert csv_rows["workload.producers.acks=all"]["write_unavailable_seconds_median"] == "6.5"


def test_error_runs_stay_in_tables_but_not_in_statistics(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    ok = _run(reports, 0, _scenario("1", 1), lost=4)
    crashed = _run(
        reports, 1, _scenario("1", 2), verdict="UNKNOWN", lost=999, error="infrastructure: boom"
    )
    no_report = _run(reports, 2, _scenario("all", 3), verdict=None)
    comp = build_comparison([load_run(d) for d in (ok, crashed, no_report)])
    g1, g2 = comp.groups
    assert g1.errors == 1 and g1.stats(METRICS[0]).max == 4  # 999 of the crashed run left out
    assert g2.runs[0].verdict == "NO REPORT" and g2.stats(METRICS[0]).n == 0
    md = (write_comparison(comp, tmp_path / "out")["md"]).read_text()
    assert "infrastructure: boom" in md and "NO REPORT" in md
    assert "| G2 | workload.producers.acks=all | 1 | NO REPORT×1 | 1 | n/a |" in md


def test_key_missing_in_one_run_is_a_setting_too(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    a = _run(reports, 0, _scenario("1", 1))
    b = _run(reports, 1, _scenario("1", 1, client={"linger.ms": 5}))
    comp = build_comparison([load_run(a), load_run(b)])
    assert [g.label for g in comp.groups] == ["client.linger.ms=(unset)", "client.linger.ms=5"]


def test_identical_settings_make_one_group(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    dirs = [_run(reports, i, _scenario("all", i), lost=i) for i in range(3)]
    comp = build_comparison([load_run(d) for d in dirs])
    assert comp.keys == [] and [g.label for g in comp.groups] == ["(same settings)"]


def test_html_is_self_contained_and_files_are_written(tmp_path: Path) -> None:
    comp = build_comparison([load_run(d) for d in _sweep_like(tmp_path / "r")], title="t")
    out = tmp_path / "out"
    paths = write_comparison(comp, out)
    for name in ("compare.md", "compare.html", "compare.csv", "runs.csv", "compare.json"):
        assert (out / name).is_file()
    assert (out / "plots" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    page = paths["html"].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "http://" not in page and "https://" not in page
    for needle in ("<script", "@import", "url(", "<link"):
        assert needle not in page
    imgs = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(imgs) == 1 and imgs[0].startswith("data:image/png;base64,")
    # run links are relative to the output directory and point at the run's report
    assert 'href="../r/broker-loss/20260301T000000Z/report.html"' in page
    md = paths["md"].read_text()
    assert "](plots/compare.png)" in md
    assert "(../r/broker-loss/20260301T000000Z/report.html)" in md
    assert len(list(csv.DictReader(io.StringIO(paths["runs_csv"].read_text())))) == 5


def test_expand_run_dirs_accepts_scenario_and_sweep_dirs(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    dirs = _sweep_like(reports)
    assert expand_run_dirs([reports / "broker-loss"]) == dirs
    sweep = tmp_path / "sweep"
    write_json(sweep / "sweep.json", {"runs": [{"run_dir": str(dirs[1])}, {"run_dir": None}]})
    assert expand_run_dirs([sweep, dirs[0]]) == [dirs[1], dirs[0]]


def test_compare_cli_prints_the_table(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    _sweep_like(reports)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["compare", str(reports / "broker-loss"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "| G1 | workload.producers.acks=1 | 3 | FAIL×3 | 0 | 5 (3–10) |" in res.output
    assert (out / "compare.html").is_file()


def test_reports_cli_builds_index_and_lists_runs(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    _sweep_like(reports)
    res = CliRunner().invoke(main, ["reports", "--reports-dir", str(reports)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == f"index: {reports / 'index.html'}"
    assert len(lines) == 6 and "20260301T000400Z" in lines[1]  # newest first
    assert (reports / "index.html").is_file()
