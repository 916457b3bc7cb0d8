"""The metadata checker on hand-written histories, its objective, and its report section."""

from __future__ import annotations

from typing import Any

import orjson

from kafkadrill.checkers import evaluate, overall, run_checkers
from kafkadrill.checkers.metadata import check_metadata
from kafkadrill.history import load_frames
from kafkadrill.report.blocks import Heading, Table
from kafkadrill.report.markdown import render_markdown
from kafkadrill.report.sections.metadata import metadata_section


class H:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, type: str, t: float, **fields: Any) -> H:
        self.events.append({"seq": len(self.events), "t": t, "wall": 1e9 + t, "type": type,
                            **fields})  # fmt: skip
        return self

    def change(
        self,
        fid: str,
        t: float,
        kind: str,
        topic: str,
        *,
        expect: str = "replicated",
        end: str | None = "seen",
        end_t: float | None = None,
        already: bool = False,
        want: dict[str, Any] | None = None,
    ) -> H:
        """fault.inject + probe applied (+ fault.verify) (+ seen / not_seen at end_t)."""
        self.add("fault.inject", t, fault_id=fid, fault=kind,
                 target={"flow": "primary->dr", "topic": topic}, params={})  # fmt: skip
        cid = f"c-{fid}"
        self.add("probe", t + 0.01, name="metadata", change_id=cid, state="applied",
                 change=kind, flow="primary->dr", source="primary", target="dr", topic=topic,
                 remote_topic=f"primary.{topic}", want=want or {"partitions": 3},
                 expect=expect, before=None, already=already, poll_seconds=0.25)  # fmt: skip
        self.add("fault.verify", t + 0.02, fault_id=fid, ok=True, detail="ok")
        if end is not None and end_t is not None:
            extra = {"observed": 3} if end == "seen" else {"last": None, "poll_error": None}
            self.add("probe", end_t, name="metadata", change_id=cid, state=end, **extra)
        return self

    def verdict(self) -> Any:
        v = check_metadata(load_frames(self.events))
        orjson.dumps(v.to_dict())
        return v


def test_synced_and_excluded_changes_pass_with_seconds_per_change() -> None:
    h = H().add("fault.inject", 0.5, fault_id="f0", fault="node.kill", target={}, params={})
    h.change("f1", 10.0, "topic.create", "audit", end_t=14.51)
    h.change("f2", 10.0, "topic.create", "scratch-x", expect="excluded", end="not_seen",
             end_t=40.5)  # fmt: skip
    h.change("f3", 12.0, "topic.config", "inventory", end_t=21.01,
             want={"config": "retention.ms", "value": "3600000"})  # fmt: skip
    v = h.verdict()
    assert v.status == "PASS", v
    by_topic = {c["topic"]: c for c in v.figures["changes"]}
    audit = by_topic["audit"]
    assert audit["outcome"] == "synced" and audit["tag"] == "F2" and audit["fault_id"] == "f1"
    assert audit["sync_seconds"] == 4.5  # seen.t - applied.t
    assert audit["remote_topic"] == "primary.audit" and audit["what"] == "create (3 partitions)"
    scratch = by_topic["scratch-x"]
    assert scratch["outcome"] == "never_appeared" and scratch["sync_seconds"] is None
    assert scratch["watched_seconds"] == 30.49
    assert by_topic["inventory"]["what"] == "retention.ms=3600000"
    assert v.figures["max_sync_seconds"] == 9.0
    assert (v.figures["synced"], v.figures["never_appeared"]) == (2, 1)
    assert v.evidence == []


def test_a_change_that_never_showed_or_an_excluded_one_that_appeared_fails() -> None:
    v = H().change("f1", 1.0, "topic.partitions", "inv", end="not_seen", end_t=31.0).verdict()
    assert v.status == "FAIL" and v.figures["not_synced"] == 1
    assert v.figures["max_sync_seconds"] is None
    assert v.evidence[0]["outcome"] == "not_synced"
    v = H().change("f1", 1.0, "topic.create", "scratch", expect="excluded", end_t=6.0).verdict()
    assert v.status == "FAIL" and v.figures["appeared"] == 1
    # An excluded change that appeared is timed too, but is not a sync the objective limits.
    assert v.figures["changes"][0]["sync_seconds"] == 4.99
    assert v.figures["max_sync_seconds"] is None


def test_unmeasurable_changes_are_unknown_never_pass() -> None:
    cut = H().change("f1", 1.0, "topic.create", "a", end=None).verdict()
    assert cut.status == "UNKNOWN" and cut.figures["watching"] == 1
    already = H().change("f1", 1.0, "topic.create", "a", already=True, end_t=2.0).verdict()
    assert already.status == "UNKNOWN" and already.figures["already_on_target"] == 1
    h = H().add("fault.inject", 1.0, fault_id="f1", fault="topic.create",
                target={"flow": "primary->dr", "topic": "a"}, params={"partitions": 3})  # fmt: skip
    failed = h.verdict()
    assert failed.status == "UNKNOWN" and failed.figures["not_applied"] == 1


def test_no_metadata_change_passes_with_nothing_to_judge() -> None:
    v = H().add("run.start", 0.0, run_id="r", scenario="s", seed=1).verdict()
    assert v.status == "PASS" and v.figures["changes"] == []
    assert v.figures["max_sync_seconds"] is None and "nothing to judge" in v.notes[0]


def test_two_entries_on_one_topic_are_told_apart_by_their_injections() -> None:
    h = H().change("f1", 1.0, "topic.partitions", "inv", end_t=3.0)
    h.change("f2", 20.0, "topic.partitions", "inv", end_t=27.0)
    got = [(c["fault_id"], c["sync_seconds"]) for c in h.verdict().figures["changes"]]
    assert got == [("f1", 1.99), ("f2", 6.99)]


def test_objective_limits_sync_time_but_does_not_excuse_a_missing_change() -> None:
    fast = H().change("f1", 1.0, "topic.create", "a", end_t=5.01)
    verdicts = run_checkers(load_frames(fast.events))
    res = {r.name: r for r in evaluate(verdicts, {"max_metadata_sync_seconds": 5})}
    assert (res["max_metadata_sync_seconds"].observed, res["max_metadata_sync_seconds"].verdict) \
        == (4.0, "PASS")  # fmt: skip
    res = {r.name: r for r in evaluate(verdicts, {"max_metadata_sync_seconds": 3})}
    assert res["max_metadata_sync_seconds"].verdict == "FAIL"

    missing = H().change("f1", 1.0, "topic.create", "a", end_t=5.0)
    missing.change("f2", 1.0, "topic.create", "b", end="not_seen", end_t=31.0)
    # Only this checker: the others are UNKNOWN on a history without a final read.
    verdicts = run_checkers(load_frames(missing.events), checkers={"metadata": check_metadata})
    results = evaluate(verdicts, {"max_metadata_sync_seconds": 10})
    assert [r.verdict for r in results] == ["PASS"]  # the one that showed was fast enough
    assert overall(results, verdicts) == "FAIL"  # ... but one never showed
    allowed = evaluate(
        verdicts, {"max_metadata_sync_seconds": 10, "expected_anomalies": ["metadata"]}
    )
    assert overall(allowed, verdicts) == "PASS"


def _report(figures: dict[str, Any]) -> dict[str, Any]:
    return {"checkers": {"metadata": {"status": "PASS", "figures": figures}}}


def test_report_section_formats_the_checker_figures_only() -> None:
    h = H().change("f1", 10.0, "topic.create", "audit", end_t=14.51)
    h.change("f2", 10.0, "topic.create", "scratch", expect="excluded", end="not_seen", end_t=40.0)
    figs = h.verdict().to_dict()["figures"]
    blocks = metadata_section(_report(figs), {})
    assert isinstance(blocks[0], Heading) and blocks[0].text == "Metadata replication"
    table = next(b for b in blocks if isinstance(b, Table))
    rows = [[getattr(c, "text", c) for c in row] for row in table.rows]
    assert rows[0][0] == "F1" and rows[0][3] == "dr:primary.audit" and rows[0][6] == "4.5 s"
    assert rows[1][4] == "leave it out" and rows[1][6] == "not within 29.99 s"
    assert "excluded" in rows[1][5]
    md = render_markdown({"scenario": "s", "verdict": "PASS", **_report(figs)}, {})
    assert "## Metadata replication" in md and "primary.audit" in md
    assert metadata_section(_report({"changes": []}), {}) == []
    assert metadata_section({}, {}) == []


def test_a_missing_or_leaked_change_is_a_high_finding() -> None:
    from kafkadrill.checkers.findings import derive_findings

    h = H().change("f1", 1.0, "topic.create", "audit", end="not_seen", end_t=31.0)
    h.change("f2", 1.0, "topic.create", "scratch", expect="excluded", end_t=7.0)
    found = derive_findings(_report(h.verdict().to_dict()["figures"]))
    texts = [f["text"] for f in found if f["severity"] == "high"]
    assert any("audit never showed on dr:primary.audit within 29.99 s" in t for t in texts)
    assert any("appeared on dr:primary.scratch although" in t for t in texts)
    ok = H().change("f1", 1.0, "topic.create", "audit", end_t=3.0)
    assert derive_findings(_report(ok.verdict().to_dict()["figures"])) == []


def test_metadata_changes_are_not_fault_windows_for_recovery_and_latency() -> None:
    h = H().change("f1", 1.0, "topic.create", "audit", end_t=3.0)
    verdicts = run_checkers(load_frames(h.events))
    assert verdicts["recovery"].figures["faults"] == []
    assert "no fault injected" in verdicts["recovery"].notes[0]
    h.add("fault.inject", 5.0, fault_id="f2", fault="node.kill",
          target={"cluster": "primary", "node": 1}, params={})  # fmt: skip
    rec = run_checkers(load_frames(h.events))["recovery"].figures
    assert [f["fault_id"] for f in rec["faults"]] == ["f2"] and rec["first_fault_t"] == 5.0
