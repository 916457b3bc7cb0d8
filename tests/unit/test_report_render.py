"""Rendering a stored history fixture: the documents say exactly what the report dict says,
and report.html is one self-contained file."""

from __future__ import annotations

import base64
import importlib.util
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from kafkadrill.report.plots import read_events
from kafkadrill.report.render import (
    derive_findings,
    fmt,
    render_html,
    render_markdown,
    write_report,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sample_run"
_spec = importlib.util.spec_from_file_location("sample_run", FIXTURE / "generate.py")
assert _spec and _spec.loader
sample = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sample)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run_dir = sample.make_run_dir(tmp_path_factory.mktemp("reports"))
    report = sample.load_report()
    out = write_report(run_dir, report, read_events(run_dir / "history.jsonl"))
    return {
        "dir": run_dir,
        "out": out,
        "report": report,
        "json": orjson.loads((run_dir / "report.json").read_bytes()),
        "md": (run_dir / "report.md").read_text(),
        "html": (run_dir / "report.html").read_text(),
    }


def test_fixture_is_reproducible_from_its_generator() -> None:
    data = sample.build()
    assert sample.history_bytes(data["events"]) == (FIXTURE / "history.jsonl").read_bytes()
    assert data["report"] == sample.load_report()


# -- report.json -----------------------------------------------------------------------------
STABLE = [
    "scenario",
    "run_id",
    "started_at",
    "finished_at",
    "seed",
    "verdict",
    "objectives",
    "rpo",
    "rto",
    "faults",
    "versions",
]


def test_report_json_keeps_every_stable_key_and_value(rendered: dict[str, Any]) -> None:
    for key in STABLE:
        assert rendered["json"][key] == rendered["report"][key], key


def test_report_json_adds_documented_keys(rendered: dict[str, Any]) -> None:
    j = rendered["json"]
    assert {"timeline", "findings", "consumer_groups", "report_files", "checkers"} <= j.keys()
    assert j["consumer_groups"]["billing"] == {
        "received": 332,
        "distinct": 324,
        "rereads": 8,
        "skipped": 0,
        "foreign": 0,
    }
    assert all({"severity", "text", "suggestion"} <= f.keys() for f in j["findings"])
    assert all({"t", "wall", "kind", "text"} <= row.keys() for row in j["timeline"])


# -- report.md -------------------------------------------------------------------------------
def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def test_markdown_figures_equal_the_report(rendered: dict[str, Any]) -> None:
    md, r = rendered["md"], rendered["report"]
    rpo, rto = r["rpo"], r["rto"]
    assert "**Verdict: FAIL**" in md
    expected_rows = [
        _row("Acknowledged messages", f"{rpo['acked']:,}"),
        _row("Lost (acked, never read back)", f"{rpo['lost']:,}"),
        _row("Lost bytes", f"{rpo['lost_bytes']:,}"),
        _row("RPO window (first lost ack to fault / last lost ack)", f"{rpo['window_seconds']} s"),
        _row("Duplicates in the final read", str(rpo["duplicates"])),
        _row("Unknown-outcome sends (not counted as lost)", str(rpo["unknown"])),
        _row("Writes unavailable", f"{rto['write_unavailable_seconds']} s"),
        _row("Reads unavailable", f"{rto['read_unavailable_seconds']} s"),
    ]
    for o in r["objectives"]:
        expected_rows.append(
            _row(
                o["name"].replace("_", " "),
                str(o["target"]),
                str(o["observed"]),
                f"**{o['verdict']}**",
            )
        )
    for name, v in rto["phases"].items():
        if isinstance(v, int | float):
            assert f"| {name.removesuffix('_seconds').replace('_', ' ')} | {v} s |" in md
    for row in expected_rows:
        assert row in md.splitlines(), row
    # literal spot checks, so a shared formatting bug cannot hide
    assert "| Lost bytes | 3,441 |" in md and "1.495 s" in md and "6.703 s" in md


def test_markdown_lists_lost_samples_timeline_and_per_group_rereads(
    rendered: dict[str, Any],
) -> None:
    md, r = rendered["md"], rendered["report"]
    for e in r["checkers"]["loss"]["evidence"]:
        assert f"`{e['id']}`" in md
        assert f"`{e['cluster']}/{e['topic']}/{e['partition']}`" in md
    assert "F2 injected: region-outage on east" in md
    assert "replication lag at F2: primary->dr 15 records, heartbeat age 1.5 s" in md
    assert _row("`billing`", "332", "324", "8", "0") in md
    assert (
        _row(
            "Consumer re-reads",
            "8",
            "a consumer group received an id more than once (offset translation, rebalances)",
        )
        in md
    )


def test_markdown_links_every_plot(rendered: dict[str, Any]) -> None:
    links = re.findall(r"!\[[^\]]*\]\((plots/[^)]+\.png)\)", rendered["md"])
    assert sorted(links) == [
        "plots/consumer_lag.png",
        "plots/lost.png",
        "plots/rates.png",
        "plots/replication_lag.png",
    ]
    for link in links:
        assert (rendered["dir"] / link).is_file()


def test_unknown_checker_is_flagged_never_pass(rendered: dict[str, Any]) -> None:
    md = rendered["md"]
    assert "### Checker ordering — UNKNOWN" in md
    assert "Checker ordering is UNKNOWN: it could not decide. This is not a pass" in md
    assert "ordering — PASS" not in md


def test_findings_are_derived_from_the_figures(rendered: dict[str, Any]) -> None:
    texts = " ".join(f["text"] + " " + f["suggestion"] for f in rendered["json"]["findings"])
    assert "roughly equals the replication lag at F2" in texts  # RPO window ~ lag at fault
    assert "offset.flush.interval.ms" in texts  # duplicates after the MM2 restart
    assert "re-read 8 messages" in texts and "expected by the scenario" in texts
    assert "acks=" not in texts  # the scenario used acks=all
    severities = [f["severity"] for f in rendered["json"]["findings"]]
    assert severities == sorted(severities, key=["high", "medium", "low", "info"].index)


def test_acks_1_with_loss_suggests_acks_all() -> None:
    report = {**sample.load_report(), "workload": {"producers": [{"name": "p1", "acks": 1}]}}
    texts = [f["suggestion"] for f in derive_findings(report)]
    assert any("acks=all" in t for t in texts)


# -- report.html -----------------------------------------------------------------------------
FORBIDDEN = [
    'src="http',
    "src='http",
    'href="http',
    "href='http",
    "<script",
    "@import",
    "url(",
    "<link",
    "<iframe",
    "<object",
    "<embed",
]


def test_html_is_self_contained(rendered: dict[str, Any]) -> None:
    page = rendered["html"].lower()
    for needle in FORBIDDEN:
        assert needle not in page, needle
    assert "http://" not in page and "https://" not in page


def test_html_embeds_every_plot_as_a_data_uri(rendered: dict[str, Any]) -> None:
    srcs = re.findall(r'<img [^>]*src="([^"]+)"', rendered["html"])
    assert len(srcs) == 4
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in srcs}
    on_disk = {p.read_bytes() for p in (rendered["dir"] / "plots").glob("*.png")}
    assert embedded == on_disk


def test_html_figures_equal_the_report(rendered: dict[str, Any]) -> None:
    page, r = rendered["html"], rendered["report"]
    assert '<div class="verdict">FAIL</div>' in page
    assert f'<td class="num">{r["rpo"]["lost_bytes"]:,}</td>' in page
    assert f'<td class="num">{r["rpo"]["window_seconds"]} s</td>' in page
    for o in r["objectives"]:
        assert (
            f'<td class="num">{fmt(o["target"])}</td><td class="num">{fmt(o["observed"])}</td>'
        ) in page


def test_renderers_escape_markup() -> None:
    report = {**sample.load_report(), "description": "<b>x</b> | y", "scenario": "<script>"}
    assert "<script>" not in render_html(report, {})
    assert "<b>" not in render_markdown(report, {})


# -- degenerate runs -------------------------------------------------------------------------
def test_empty_history_and_empty_report_render(tmp_path: Path) -> None:
    out = write_report(tmp_path, {}, [])
    md = out["md"].read_text()
    assert "**Verdict: UNKNOWN**" in md
    assert "No replication\\_lag probes were recorded" in md
    assert {"rates", "lost", "consumer_lag"} <= out.keys()
    assert "replication_lag" not in out


def test_crashed_run_shows_the_error(tmp_path: Path) -> None:
    report = {"scenario": "s", "verdict": "UNKNOWN", "error": "TopologyError: broker 2 died"}
    out = write_report(tmp_path, report, [{"seq": 0, "t": 0.0, "type": "run.start"}])
    html = out["html"].read_text()
    assert "The run crashed: TopologyError: broker 2 died" in html
    assert '<header class="banner v-UNKNOWN">' in html


def test_seed_is_printed_as_typed_not_as_a_quantity() -> None:
    # A seed is an identifier to copy into a re-run, not a figure: no thousands separators.
    md = render_markdown({"scenario": "s", "seed": 933818049}, {})
    assert "| Seed | `933818049` |" in md and "933,818,049" not in md
