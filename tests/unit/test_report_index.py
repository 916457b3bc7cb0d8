"""reports/index.html: every run newest first, a trend per scenario, self-contained."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from kafkadrill.report.index import build_index, collect_runs
from kafkadrill.report.store import new_run_dir, write_json


def _run(
    reports: Path,
    scenario: str,
    when: datetime,
    verdict: str | None,
    lost: int = 0,
    rto: float = 10.0,
) -> Path:
    d = new_run_dir(reports, scenario, now=when)
    if verdict is not None:
        write_json(
            d / "report.json",
            {
                "scenario": scenario,
                "run_id": d.name,
                "started_at": when.isoformat(),
                "verdict": verdict,
                "rpo": {"lost": lost, "window_seconds": 1.25},
                "rto": {"write_unavailable_seconds": rto, "read_unavailable_seconds": rto + 1},
            },
        )
        (d / "report.html").write_text("<html></html>")
    return d


def test_index_lists_every_run_newest_first_with_trends(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    _run(reports, "region-outage", datetime(2026, 2, 1, tzinfo=UTC), "PASS", 0, 30.0)
    _run(reports, "region-outage", datetime(2026, 5, 1, tzinfo=UTC), "FAIL", 12, 45.5)
    _run(reports, "broker-loss", datetime(2026, 8, 1, tzinfo=UTC), "PASS", 0, 3.0)
    _run(reports, "broker-loss", datetime(2026, 11, 1, tzinfo=UTC), None)  # crashed: no report
    runs = collect_runs(reports)
    assert [r.stamp[:8] for r in runs] == ["20261101", "20260801", "20260501", "20260201"]
    assert runs[0].verdict == "NO REPORT"

    page = build_index(reports).read_text()
    md = (reports / "index.md").read_text()
    assert page.index("20260801") < page.index("20260501")  # newest first
    assert "45.5 s" in page and ">12<" in page and "NO REPORT" in page
    assert 'href="region-outage/20260501T000000Z/report.html"' in page
    imgs = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(imgs) == 2 and all(s.startswith("data:image/png;base64,") for s in imgs)
    for needle in ('src="http', 'href="http', "<script", "@import", "url("):
        assert needle not in page
    assert (reports / "_index" / "region-outage.png").is_file()
    assert "](_index/broker-loss.png)" in md
    assert md.index("20260801") < md.index("20260501")
    # the index's own assets are never mistaken for a scenario
    assert len(collect_runs(reports)) == 4


def test_index_of_an_empty_reports_dir(tmp_path: Path) -> None:
    page = build_index(tmp_path / "reports").read_text()
    assert "0 runs in 0 scenarios" in page
