"""`kafkadrill check` / `verify` / `compare` on stored run directories: the verdict comes from the
history alone, unreadable input is one line and exit 2, evidence is never resealed.

Histories are written by hand from docs/reference/history-format.md (JSON Lines, the four
envelope keys first, one event per line), not with the checker code or HistoryWriter.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kafkadrill.cli import main

SCENARIO = "name: truth\nseed: 933818049\nobjectives: {max_lost: 0}\n"
HDR = {"kd-origin-site": "east", "kd-origin-cluster": "primary", "kd-id": "p0:0"}

# One message sent, acknowledged and read back by the final read: PASS when the run completed.
BODY: list[dict[str, Any]] = [
    {"type": "run.start", "run_id": "r1", "scenario": "truth", "seed": 933818049},
    {"type": "phase", "name": "steady"},
    {"type": "send.invoke", "producer": "p0", "id": "p0:0", "cluster": "primary",
     "topic": "orders", "key": "k0", "size": 256},
    {"type": "send.ok", "producer": "p0", "id": "p0:0", "cluster": "primary", "topic": "orders",
     "partition": 0, "offset": 0, "ts": 1732240001300},
    {"type": "phase", "name": "final_read"},
    {"type": "final_read.start", "clusters": ["primary"], "authoritative": "primary",
     "topics": {"primary": ["orders"]}},
    {"type": "recv", "reader": "final", "group": None, "final": True, "cluster": "primary",
     "topic": "orders", "partition": 0, "offset": 0, "ts": 1732240001300, "id": "p0:0",
     "hdr": HDR},
    {"type": "final_read.end", "cluster": "primary", "records": 1, "complete": True},
]  # fmt: skip


def lines(events: list[dict[str, Any]]) -> list[bytes]:
    """One line per event, `\\n`-terminated, envelope keys first (as the format doc shows)."""
    out = []
    for i, e in enumerate(events):
        env = {"seq": i, "t": round(1.0 + i * 0.25, 3), "wall": 1732240000.0 + i * 0.25}
        out.append(json.dumps({**env, **e}, separators=(",", ":")).encode() + b"\n")
    return out


def run_dir(tmp_path: Path, end: dict[str, Any] | None, *, raw: bytes | None = None) -> Path:
    d = tmp_path / "reports" / "truth" / "20261130T120000Z"
    d.mkdir(parents=True)
    (d / "scenario.yaml").write_text(SCENARIO)
    events = BODY + ([{"type": "run.end", **end}] if end is not None else [])
    (d / "history.jsonl").write_bytes(raw if raw is not None else b"".join(lines(events)))
    return d


def check(d: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["check", str(d), *args])


def only_recheck(d: Path) -> Path:
    (out,) = sorted(d.glob("recheck-*"))
    return out


def recheck_report(d: Path) -> dict[str, Any]:
    return json.loads((only_recheck(d) / "report.json").read_text())


COMPLETED = {"status": "completed", "error": None}


# -- the verdict comes from the history ------------------------------------------------------
def test_completed_history_passes(tmp_path: Path) -> None:
    d = run_dir(tmp_path, COMPLETED)
    res = check(d)
    assert res.exit_code == 0, res.output
    rep = recheck_report(d)
    assert rep["verdict"] == "PASS" and rep["error"] is None


@pytest.mark.parametrize(
    ("end", "reason"),
    [
        ({"status": "error", "error": "infrastructure: broker 2 never came back"}, "broker 2"),
        ({"status": "interrupted", "error": "interrupted (Ctrl-C)"}, "interrupted (Ctrl-C)"),
        ({"status": "error", "error": None}, "no error text"),
    ],
)
def test_error_or_interrupted_run_is_unknown(
    tmp_path: Path, end: dict[str, Any], reason: str
) -> None:
    d = run_dir(tmp_path, end)
    res = check(d)
    assert res.exit_code == 2, res.output
    rep = recheck_report(d)
    assert rep["verdict"] == "UNKNOWN" and reason in rep["error"]
    assert "UNKNOWN" in res.output and reason in res.output


@pytest.mark.parametrize(
    "tail",
    [
        b"",  # cut exactly after a complete line
        b'{"seq":8,"t":3.0,"wall":1732240002.0,"type":"run.e',  # cut inside run.end
        b'{"seq":8,"t":3.0,"wa',
    ],
)
def test_crash_cut_history_without_run_end_is_unknown(tmp_path: Path, tail: bytes) -> None:
    d = run_dir(tmp_path, None, raw=b"".join(lines(BODY)) + tail)
    res = check(d)
    assert res.exit_code == 2, res.output
    rep = recheck_report(d)
    assert rep["verdict"] == "UNKNOWN"
    assert "no run.end" in rep["error"]


def test_old_report_json_does_not_decide(tmp_path: Path) -> None:
    # The history says error; a stale report.json says PASS with no error.
    d = run_dir(tmp_path, {"status": "error", "error": "boom"})
    (d / "report.json").write_text(json.dumps({"verdict": "PASS", "error": None}))
    assert check(d).exit_code == 2
    assert recheck_report(d)["error"] == "boom"
    # ...and the other way round: the history completed, a stale report.json claims an error.
    d2 = run_dir(tmp_path / "b", COMPLETED)
    (d2 / "report.json").write_text(json.dumps({"verdict": "UNKNOWN", "error": "old"}))
    assert check(d2).exit_code == 0
    assert recheck_report(d2)["error"] is None


def test_history_without_run_start_is_unknown(tmp_path: Path) -> None:
    events = [*BODY[1:], {"type": "run.end", **COMPLETED}]
    d = run_dir(tmp_path, None, raw=b"".join(lines(events)))
    assert check(d).exit_code == 2
    assert "no run.start" in recheck_report(d)["error"]


# -- unreadable input: one line naming file/line/problem, exit 2, no traceback ------------------
def _one_line_error(res: Result, *needles: str) -> None:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)
    err = [ln for ln in res.output.splitlines() if "error" in ln]
    assert len(err) == 1, res.output
    for n in needles:
        assert n in err[0], err[0]


def test_corrupt_middle_line(tmp_path: Path) -> None:
    ls = lines([*BODY, {"type": "run.end", **COMPLETED}])
    ls[3] = b'{"seq":3,"t":1.75,"wall":1732240000.75,"type":"send.ok",garbage\n'
    d = run_dir(tmp_path, None, raw=b"".join(ls))
    _one_line_error(check(d), "history.jsonl:4:", "corrupt line")
    assert not list(d.glob("recheck-*/report.json"))  # nothing judged from unreadable input


def test_corrupt_second_to_last_line_before_an_unterminated_last_line(tmp_path: Path) -> None:
    # Only a crash-cut FINAL line may be dropped; the line before it was written whole.
    ls = lines([*BODY, {"type": "run.end", **COMPLETED}])
    ls[-2] = b"{not json}\n"
    ls[-1] = ls[-1].rstrip(b"\n")  # a complete last line without its newline
    d = run_dir(tmp_path, None, raw=b"".join(ls))
    _one_line_error(check(d), f"history.jsonl:{len(ls) - 1}:", "corrupt line")


def test_corrupt_terminated_last_line_is_an_error(tmp_path: Path) -> None:
    # A crash cannot write the newline without the line before it.
    raw = b"".join(lines([*BODY])) + b'{"seq":8,"t":3.0,"wa\n'
    d = run_dir(tmp_path, None, raw=raw)
    _one_line_error(check(d), f"history.jsonl:{len(BODY) + 1}:")


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    raw = b"".join(lines([*BODY, {"type": "run.end", **COMPLETED}])).rstrip(b"\n")
    d = run_dir(tmp_path, None, raw=raw)
    assert check(d).exit_code == 0  # run.end was read: the run completed


@pytest.mark.parametrize(
    ("event", "needle"),
    [
        ({"type": "send.okk", "producer": "p0"}, "unknown event type 'send.okk'"),
        ({"type": "send.ok", "producer": "p0", "id": "p0:1", "cluster": "primary",
          "topic": "orders", "partiton": 1, "offset": 1, "ts": 1}, "'partition'"),
        ({"type": "run.end", "status": "done", "error": None}, "'status'"),
        ({"type": "fault.verify", "fault_id": "f0", "ok": "yes", "detail": ""}, "'ok'"),
    ],
)  # fmt: skip
def test_event_breaking_the_format_is_named(
    tmp_path: Path, event: dict[str, Any], needle: str
) -> None:
    events = [*BODY[:4], event, *BODY[4:], {"type": "run.end", **COMPLETED}]
    d = run_dir(tmp_path, None, raw=b"".join(lines(events)))
    _one_line_error(check(d), "history.jsonl:5:", needle)


def test_missing_events_in_seq_are_an_error(tmp_path: Path) -> None:
    ls = lines([*BODY, {"type": "run.end", **COMPLETED}])
    del ls[2]  # a deleted line: evidence is missing
    d = run_dir(tmp_path, None, raw=b"".join(ls))
    _one_line_error(check(d), "history.jsonl:3:", "seq 3 where 2 was expected")


def test_no_history_file(tmp_path: Path) -> None:
    d = run_dir(tmp_path, COMPLETED)
    (d / "history.jsonl").unlink()
    _one_line_error(check(d), "history.jsonl", "no such history file")


def test_missing_scenario(tmp_path: Path) -> None:
    d = run_dir(tmp_path, COMPLETED)
    (d / "scenario.yaml").unlink()
    _one_line_error(check(d), "scenario.yaml")


def test_garbage_run_dir(tmp_path: Path) -> None:
    d = tmp_path / "junk"
    d.mkdir()
    (d / "notes.txt").write_bytes(b"\x00\xff not a run")
    _one_line_error(check(d))
    f = tmp_path / "afile"
    f.write_text("x")
    assert check(f).exit_code == 2  # click usage error: not a directory


def test_binary_history(tmp_path: Path) -> None:
    d = run_dir(tmp_path, None, raw=b"\x00\x01\xff\xfe" * 50 + b"\n" + b"".join(lines(BODY)))
    _one_line_error(check(d), "history.jsonl:1:")


def test_corrupt_gzip_history(tmp_path: Path) -> None:
    d = run_dir(tmp_path, COMPLETED)
    (d / "history.jsonl").unlink()
    (d / "history.jsonl.gz").write_bytes(b"\x1f\x8b" + b"\x00garbage" * 20)
    _one_line_error(check(d), "history.jsonl.gz", "gzip")


def test_debug_flag_shows_the_traceback(tmp_path: Path) -> None:
    d = run_dir(tmp_path, COMPLETED)
    (d / "history.jsonl").unlink()
    res = check(d, "--debug")
    assert res.exception is not None and not isinstance(res.exception, SystemExit)


def test_no_traceback_in_a_real_process(tmp_path: Path) -> None:
    ls = lines([*BODY, {"type": "run.end", **COMPLETED}])
    ls[2] = b"]]]\n"
    d = run_dir(tmp_path, None, raw=b"".join(ls))
    p = subprocess.run(
        [sys.executable, "-m", "kafkadrill.cli", "check", str(d)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2
    assert "Traceback" not in p.stderr + p.stdout
    assert re.search(r"history\.jsonl:3: corrupt line", p.stderr), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


# -- evidence stays evidence -------------------------------------------------------------------
def _seal(d: Path) -> None:
    from kafkadrill.report.manifest import write_manifest

    write_manifest(d)


def verify(d: Path) -> Result:
    return CliRunner().invoke(main, ["verify", str(d)])


def _snapshot(d: Path) -> dict[str, bytes]:
    return {
        p.relative_to(d).as_posix(): p.read_bytes()
        for p in sorted(d.rglob("*"))
        if p.is_file() and not p.relative_to(d).parts[0].startswith("recheck-")
    }


def test_check_never_reseals_an_altered_run(tmp_path: Path) -> None:
    d = run_dir(tmp_path, COMPLETED)
    _seal(d)
    assert verify(d).exit_code == 0
    hist = d / "history.jsonl"
    hist.write_bytes(hist.read_bytes().replace(b'"records":1', b'"records":2'))  # tampering
    before = _snapshot(d)
    res = check(d)
    assert res.exit_code == 0, res.output  # the altered history still judges...
    assert "altered" in res.output  # ...but the reader is told the evidence changed
    assert _snapshot(d) == before  # the run directory itself is untouched, manifest included
    v = verify(d)
    assert v.exit_code == 1 and "changed" in v.output and "history.jsonl" in v.output
    out = only_recheck(d)
    assert f"re-check {out.name} (own manifest): intact" in v.output
    record = json.loads((out / "recheck.json").read_text())
    assert record["original_state"] == "altered"
    assert record["original_manifest"]["changed"] == ["history.jsonl"]
    assert recheck_report(d)["recheck"]["original_state"] == "altered"
    assert verify(out).exit_code == 0  # the re-check is sealed by its own manifest
    from kafkadrill.report.manifest import read_manifest

    assert {"recheck.json", "report.json", "report.md", "report.html"} <= set(read_manifest(out))


def test_check_of_an_intact_run_leaves_it_intact(tmp_path: Path) -> None:
    d = run_dir(tmp_path, COMPLETED)
    _seal(d)
    before = _snapshot(d)
    for _ in range(3):  # re-checks side by side (same second too), the run still intact
        assert check(d).exit_code == 0
    assert _snapshot(d) == before
    assert verify(d).exit_code == 0
    records = [json.loads((r / "recheck.json").read_text()) for r in d.glob("recheck-*")]
    assert len(records) == 3 and all(r["original_state"] == "intact" for r in records)
    # the re-check names the exact history it judged
    import hashlib

    digest = hashlib.sha256((d / "history.jsonl").read_bytes()).hexdigest()
    assert all(r["inputs_sha256"]["history.jsonl"] == digest for r in records)


def test_check_output_option(tmp_path: Path) -> None:
    d = run_dir(tmp_path, COMPLETED)
    out = tmp_path / "elsewhere"
    assert check(d, "--output", str(out)).exit_code == 0
    assert (out / "report.json").is_file() and not list(d.glob("recheck-*"))
    assert json.loads((out / "recheck.json").read_text())["original_state"] == "unverifiable"


@pytest.mark.parametrize(
    ("manifest", "code", "needle"),
    [
        (None, 3, "cannot verify"),
        (b"garbage\n", 3, "cannot verify"),
        (b"", 3, "lists no file"),
        (b"\xff\xfe\x00binary", 3, "cannot verify"),
    ],
)
def test_verify_cannot_verify_exit_code(
    tmp_path: Path, manifest: bytes | None, code: int, needle: str
) -> None:
    d = run_dir(tmp_path, COMPLETED)
    if manifest is not None:
        (d / "MANIFEST.sha256").write_bytes(manifest)
    res = verify(d)
    assert res.exit_code == code, res.output
    assert needle in res.output and "Traceback" not in res.output


def test_verify_intact_and_altered_exit_codes(tmp_path: Path) -> None:
    d = run_dir(tmp_path, COMPLETED)
    _seal(d)
    assert verify(d).exit_code == 0
    (d / "extra.txt").write_text("added after sealing")
    res = verify(d)
    assert res.exit_code == 1 and "added" in res.output
    (d / "extra.txt").unlink()
    (d / "scenario.yaml").unlink()
    res = verify(d)
    assert res.exit_code == 1 and "missing" in res.output


def test_compare_on_a_missing_path(tmp_path: Path) -> None:
    d = run_dir(tmp_path, COMPLETED)
    missing = tmp_path / "no-such-run"
    res = CliRunner().invoke(main, ["compare", str(d), str(missing), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert str(missing) in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()


# -- figures for people ------------------------------------------------------------------------
def test_summary_rounds_seconds_and_prints_the_seed_plainly() -> None:
    from rich.console import Console

    import kafkadrill.cli as cli
    from kafkadrill.cli import _app

    report = {
        "verdict": "FAIL",
        "scenario": "truth",
        "seed": 933818049,
        "objectives": [
            {"name": "max_rto_seconds", "target": 5.0, "observed": 8.834751684999986,
             "verdict": "FAIL"},
        ],
        "rpo": {"acked": 120000, "lost": 3, "window_seconds": 1.2345678, "duplicates": 0,
                "unknown": None},
        "rto": {"write_unavailable_seconds": 8.834751684999986, "read_unavailable_seconds": None},
        "error": None,
    }  # fmt: skip
    narrow = Console(width=40, file=None, soft_wrap=True, record=True, force_terminal=False)
    # The console lives in cli/_app.py, where every command module reads it.
    old, _app.console = _app.console, narrow
    try:
        with narrow.capture() as cap:
            cli._print_result(report, Path("/r"))
    finally:
        _app.console = old
    text = cap.get()
    assert "(seed 933818049)" in text
    assert "observed 8.83" in text and "writes unavailable 8.83 s" in text
    assert "window 1.23 s" in text and "reads unavailable n/a" in text
    assert "8.8347" not in text and "None" not in text
    # one line per figure group even on a 40-column terminal: nothing wrapped mid-line
    assert any(ln.startswith("  RTO: writes unavailable 8.83 s, reads") for ln in text.splitlines())
    assert any(ln.startswith("  RPO: acked 120000, lost 3, window") for ln in text.splitlines())


# -- run_status: the pure function both the runner's report and `check` use ---------------------
def _ev(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"seq": i, "t": float(i), "wall": 1e9 + i, **e} for i, e in enumerate(events)]


START = {"type": "run.start", "run_id": "r", "scenario": "s", "seed": 1}


@pytest.mark.parametrize(
    ("events", "status", "error"),
    [
        (_ev(START, {"type": "run.end", **COMPLETED}), "completed", None),
        (_ev(START, {"type": "run.end", "status": "error", "error": "Boom\ntrace"}), "error",
         "Boom\ntrace"),  # verbatim: the runner's report and the re-check agree
        (_ev(START, {"type": "run.end", "status": "interrupted", "error": ""}), "interrupted",
         "run.end has status 'interrupted' and no error text"),
        (_ev(START, {"type": "phase", "name": "steady"}), "missing",
         "history has no run.end event: the run was cut off (crash or kill) before it finished"
         " (last event at t=1.000 s)"),
        (_ev({"type": "phase", "name": "steady"}, {"type": "run.end", **COMPLETED}), "missing",
         "history has no run.start event: not a complete drill history"),
        (_ev(START, {"type": "run.end", "status": "weird", "error": None}), "weird",
         "run.end has status 'weird', not one of completed, error, interrupted"),
        ([], "missing", "history has no run.start event: not a complete drill history"),
    ],
)  # fmt: skip
def test_run_status(events: list[dict[str, Any]], status: str, error: str | None) -> None:
    from kafkadrill.report.run_status import run_status

    got = run_status(events)
    assert (got.status, got.error, got.completed) == (status, error, error is None)


def test_runner_report_path_uses_the_history_status(tmp_path: Path) -> None:
    # build_report is what the runner calls after a drill: a caller that passes no error
    # still gets the history's.
    from datetime import UTC, datetime

    from kafkadrill.report.build import build_report
    from kafkadrill.scenario.compile import stored_report_subject

    d = run_dir(tmp_path, {"status": "interrupted", "error": "interrupted (Ctrl-C)"})
    now = datetime.now(UTC)
    rep = build_report(
        d,
        stored_report_subject(d / "scenario.yaml"),
        started=now,
        finished=now,
        error=None,
        versions={},
    )
    assert rep["verdict"] == "UNKNOWN" and rep["error"] == "interrupted (Ctrl-C)"


def test_keys_in_any_order_are_read(tmp_path: Path) -> None:
    # "readers may rely on [the key order] to find lines fast, but must accept any order"
    events = [*BODY, {"type": "run.end", **COMPLETED}]
    raw = b"".join(
        json.dumps(dict(reversed(list(json.loads(ln).items())))).encode() + b"\n"
        for ln in lines(events)
    )
    d = run_dir(tmp_path, None, raw=raw)
    res = check(d)
    assert res.exit_code == 0, res.output
    assert recheck_report(d)["rpo"]["acked"] == 1


def test_interrupted_check_is_no_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kafkadrill.report.build as build

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(build, "recheck", interrupted)
    res = check(run_dir(tmp_path, COMPLETED))
    assert res.exit_code == 2 and "interrupted" in res.output  # never 1, which reads as FAIL


def test_sigkilled_writer_reads_unknown(tmp_path: Path) -> None:
    # A real process writing a history is SIGKILLed mid-run: what it left is judged UNKNOWN.
    import os
    import signal
    import time

    d = tmp_path / "run"
    d.mkdir()
    (d / "scenario.yaml").write_text(SCENARIO)
    code = (
        "import sys\n"
        "from kafkadrill.history import HistoryWriter\n"
        "w = HistoryWriter(sys.argv[1], 'r1')\n"
        "w.append('run.start', run_id='r1', scenario='truth', seed=933818049)\n"
        "i = 0\n"
        "while True:\n"
        "    w.append('send.invoke', producer='p0', id=f'p0:{i}', cluster='primary',\n"
        "             topic='orders', key=None, size=10)\n"
        "    i += 1\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code, str(d / "history.jsonl")])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            path = d / "history.jsonl"
            if path.exists() and path.stat().st_size > 200_000:
                break
            time.sleep(0.05)
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.wait(timeout=30)
    res = check(d)
    assert res.exit_code == 2, res.output
    rep = recheck_report(d)
    assert rep["verdict"] == "UNKNOWN" and "no run.end" in rep["error"]
