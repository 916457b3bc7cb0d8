"""The command line on hostile or broken input: data text never becomes rich markup, and a bad
path is one line with exit 2 -- never a traceback with exit 1, which CI would read as a FAIL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner
from rich.console import Console

from kafkadrill.cli import _app, main
from kafkadrill.cli.drill import _print_result, _progress_printer


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def _captured(fn: Any) -> str:
    """What `fn` prints on the CLI console (swapped where every command reads it)."""
    rec = Console(width=200, soft_wrap=True, record=True, force_terminal=False)
    old, _app.console = _app.console, rec
    try:
        with rec.capture() as cap:
            fn()
    finally:
        _app.console = old
    return cap.get()


# -- rich markup in data text -------------------------------------------------------------------
def test_markup_in_a_scenario_value_is_printed_not_parsed(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text('name: "[/x]"\n')
    for cmd in (["plan", str(p)], ["run", str(p), "--dry-run"]):
        res = _invoke(*cmd)
        assert res.exit_code == 2, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
        assert "'[/x]'" in res.output
        # rich ate "[a-z0-9]" from the name pattern before the fix ('^*$').
        assert "^[a-z0-9][a-z0-9-]*$" in res.output


def test_fail_prints_markup_like_text_verbatim() -> None:
    from kafkadrill.errors import ScenarioError

    def go() -> None:
        try:
            _app._fail(ScenarioError("bad [/x] and [bold]not bold[/bold] [a-z0-9]"))
        except SystemExit as exc:
            assert exc.code == 2

    assert "bad [/x] and [bold]not bold[/bold] [a-z0-9]" in _captured(go)


def test_run_summary_prints_markup_in_names_and_errors_verbatim() -> None:
    report = {
        "verdict": "FAIL",
        "scenario": "[/x]",
        "seed": 1,
        "objectives": [{"name": "[/o]", "target": 0, "observed": 1, "verdict": "FAIL"}],
        "rpo": {},
        "rto": {},
        "error": "broker said [/e] [red]",
    }
    text = _captured(lambda: _print_result(report, Path("/r")))
    assert "FAIL [/x] (seed 1)" in text
    assert "[/o]: target 0" in text
    assert "error: broker said [/e] [red]" in text


def test_progress_lines_print_markup_in_phases_faults_and_events_verbatim() -> None:
    class Live:
        text = ""

        def update(self, t: str) -> None:
            Live.text = t

    show = _progress_printer(Live())
    state = {
        "t": 1.0,
        "phase": "[/p]",
        "acked": 1,
        "received": 1,
        "active_faults": ["[/f]"],
        "event": "[/ev] happened",
    }
    printed = _captured(lambda: show(state))
    assert "[/ev] happened" in printed
    rendered = Console(record=True, width=300)
    with rendered.capture() as cap:
        rendered.print(Live.text)
    assert "phase [/p]" in cap.get() and "active faults: [/f]" in cap.get()


# -- bad paths: one line, exit 2 ------------------------------------------------------------------
def test_schema_to_a_missing_directory_is_one_line_and_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.json"
    res = _invoke("schema", "-o", str(target))
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and str(target) in res.output
    assert not isinstance(res.exception, OSError)


def test_compare_on_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    f = tmp_path / "report.json"
    f.write_text("{}")
    res = _invoke("compare", str(f), "-o", str(tmp_path / "o"))
    assert res.exit_code == 2, res.output
    assert "not a directory" in res.output and str(f) in res.output
    assert not (tmp_path / "o").exists()


def test_compare_on_a_corrupt_sweep_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    d = tmp_path / "sweep"
    d.mkdir()
    (d / "sweep.json").write_text("{not json")
    res = _invoke("compare", str(d), "-o", str(tmp_path / "o"))
    assert res.exit_code == 2, res.output
    assert "error:" in res.output and "--debug" in res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)


def test_compare_into_an_unwritable_output_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from tests.unit.test_compare import _run, _scenario

    run = _run(tmp_path / "reports", 1, _scenario("1", 1))
    blocker = tmp_path / "file"
    blocker.write_text("")
    res = _invoke("compare", str(run), "-o", str(blocker / "out"))
    assert res.exit_code == 2, res.output
    assert "error:" in res.output and str(blocker) in res.output


# -- capabilities: validate refuses what plan and run refuse --------------------------------------
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"


def _external_without_node_commands(tmp_path: Path) -> Path:
    import yaml

    doc = yaml.safe_load((LIBRARY / "external-example.yaml").read_text())
    for op in ("node_kill", "node_start"):
        doc["external"]["commands"].pop(op)
    p = tmp_path / "ext.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


def test_validate_refuses_an_external_node_kill_without_its_adapter_commands(
    tmp_path: Path,
) -> None:
    p = _external_without_node_commands(tmp_path)
    res = _invoke("validate", str(p))
    assert res.exit_code == 2, res.output
    assert "node.kill" in res.output and "1 invalid" in res.output
    # The fix names the adapter commands, not "choose a runtime".
    assert "external.commands.node_kill" in res.output
    assert "external.commands.node_start" in res.output
    assert "choose a runtime" not in res.output
    plan = _invoke("plan", str(p))
    assert plan.exit_code == 2 and "external.commands.node_kill" in plan.output


def test_a_fixed_set_runtime_still_says_choose_a_runtime(tmp_path: Path) -> None:
    from kafkadrill.runner import _capability_fix
    from kafkadrill.runtimes.base import runtime_type

    fix = _capability_fix(runtime_type("local"), frozenset(), {"node.kill"})
    assert fix.startswith("choose a runtime")


def test_runtimes_says_external_capabilities_depend_on_its_adapters() -> None:
    res = _invoke("runtimes")
    assert res.exit_code == 0, res.output
    ext = res.output.split("external:")[1].split("local:")[0]
    assert "depend on the adapters configured" in ext
    assert "node.kill: external.commands.node_kill" in ext
    assert "link.cut: external.toxiproxy" in ext
    # local keeps its fixed list.
    assert "capabilities: acl, az.partition" in res.output.split("local:")[1]


def test_progress_times_say_run_clock_and_timeline_clock() -> None:
    # Scenario `at:` times count from the fault phase; the run clock from the start (issue 19).
    from io import StringIO

    from rich.console import Console

    from kafkadrill.cli import _app
    from kafkadrill.cli.drill import _progress_printer

    out = StringIO()
    saved = _app.console
    _app.console = Console(file=out, width=300, soft_wrap=True)
    try:
        lines: list[str] = []
        live = type("Live", (), {"update": lambda self, line: lines.append(line)})()
        show = _progress_printer(live)
        base = {"acked": 0, "received": 0, "active_faults": []}
        show({**base, "t": 5.0, "phase": "steady"})
        show({**base, "t": 12.0, "phase": "faults"})
        show({**base, "t": 33.0, "phase": "faults", "event": "injected node.kill"})
        show({**base, "t": 34.0, "phase": "faults", "acked": 900, "errors": 17})
    finally:
        _app.console = saved
    assert "[run    5.0s]" in lines[0]
    # The live line counts the sends that failed or whose outcome is unknown (issue 25).
    assert "acked 900, failed or unknown 17" in lines[-1]
    assert "timeline   21.0s" in out.getvalue() and "[run   33.0s" in out.getvalue()
