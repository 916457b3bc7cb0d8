"""The per-minute table of long drills (issue 25): each minute's counts are exactly the
history's, and the report shows the table only for runs of ten minutes or more."""

from __future__ import annotations

from typing import Any

from kafkadrill.checkers import run_checkers
from kafkadrill.checkers.per_minute import LONG_DRILL_SECONDS
from kafkadrill.history import load_frames
from kafkadrill.report.sections import build_blocks
from kafkadrill.report.sections.per_minute import per_minute_section


def _history(minutes: int) -> list[dict[str, Any]]:
    """A send every 2 s, acked 0.1 s later; every 7th fails instead; a group reads each acked
    one 0.5 s later; a replication-lag probe every 30 s whose lag is the minute number."""
    ev: list[dict[str, Any]] = []

    def add(t: float, type: str, **f: Any) -> None:
        ev.append({"seq": len(ev), "t": t, "wall": 1e9 + t, "type": type, **f})

    add(0.0, "run.start", run_id="r", scenario="s", seed=1)
    base = {"producer": "p0", "cluster": "primary", "topic": "orders"}
    for i in range(minutes * 30):
        t = 2.0 * i + 0.5
        mid = f"p0:{i}"
        add(t, "send.invoke", **base, id=mid, key=None, size=10)
        if i % 7 == 6:
            add(t + 0.1, "send.fail", **base, id=mid, error="boom")
            continue
        add(t + 0.1, "send.ok", **base, id=mid, partition=0, offset=i, ts=0)
        add(t + 0.6, "recv", reader="g-0", group="g", final=False, cluster="primary",
            topic="orders", partition=0, offset=i, ts=0, id=mid, hdr={"kd-id": mid})  # fmt: skip
        if i % 15 == 0:
            add(t + 0.7, "probe", name="replication_lag", flow="primary->dr", topic="orders",
                source_end=i, target_end=i, lag=i // 30, mm2_alive=True)  # fmt: skip
    add(minutes * 60.0 - 0.5, "run.end", status="completed", error=None)
    return ev


def _expected(events: list[dict[str, Any]], minute: int, type: str) -> int:
    return sum(1 for e in events if e["type"] == type and int(e["t"] // 60) == minute - 1)


def test_each_minute_counts_exactly_what_the_history_holds() -> None:
    events = _history(12)
    figs = run_checkers(load_frames(events))["per_minute"].figures
    assert figs["long"] is True and figs["width_seconds"] == 60
    assert [m["minute"] for m in figs["minutes"]] == list(range(1, 13))
    for m in figs["minutes"]:
        n = m["minute"]
        assert m["from_t"] == 60.0 * (n - 1)
        assert m["acked"] == _expected(events, n, "send.ok") > 0
        assert m["failed_or_unknown"] == _expected(events, n, "send.fail") > 0
        assert m["received"] == _expected(events, n, "recv")
        assert m["max_replication_lag"] == n - 1
    assert sum(m["acked"] for m in figs["minutes"]) == sum(
        1 for e in events if e["type"] == "send.ok"
    )


def test_the_table_is_shown_for_long_drills_only() -> None:
    for minutes, shown in ((3, False), (int(LONG_DRILL_SECONDS // 60) + 1, True)):
        verdicts = run_checkers(load_frames(_history(minutes)))
        report = {"checkers": {k: v.to_dict() for k, v in verdicts.items()}}
        blocks = per_minute_section(report, {})
        assert bool(blocks) is shown
        assert (blocks[0] in build_blocks(report, {})) if shown else True
