"""Malformed and hostile scenario input (issue 14): every case is a ScenarioError naming the file,
the field, the line where known and a fix -- never a raw exception, never minutes of CPU or GBs."""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kafkadrill.cli import main
from kafkadrill.errors import ScenarioError
from kafkadrill.faults.schedule import RandomSpec, plan_timeline
from kafkadrill.scenario import (
    LIMITS,
    Scenario,
    ScenarioValidationError,
    apply_overrides,
    load_scenario,
    located_problems,
)
from kafkadrill.topology import two_dc

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
KILL = "fault: node.kill, target: {cluster: primary, node: 1}"


def write(tmp_path: Path, text: str | bytes, name: str = "drill.yaml") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


def load_err(path: Path, **kw: Any) -> ScenarioError:
    """Load `path`, expecting a ScenarioError within 2 s and 64 MB, that names the file."""
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(ScenarioError) as info:
            load_scenario(path, **kw)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.monotonic() - t0 < 2.0
    assert peak < 64 << 20, f"{peak / 1e6:.0f} MB to reject a bad file"
    err = info.value
    assert str(path) in str(err), "the error must name the file"
    return err


def one_line(err: ScenarioError) -> int | None:
    return located_problems(err)[0].line


# -- malformed input that used to escape as a raw exception -----------------------------------


@pytest.mark.parametrize(
    ("text", "expect", "line"),
    [
        ("name: x\ndescription: a\x00b\n", "#x0000", 2),
        ("name: x\ndesc\x07ription: y\n", "#x0007", 2),
        # Our depth limit, or libyaml's own (PyYAML >= 6.0.4: "exceeded max nesting depth").
        ("name: x\ndescription: " + "[" * 5000 + "]" * 5000 + "\n", "nest", 2),
        (
            "name: x\n" + "".join("  " * i + f"k{i}:\n" for i in range(100)),
            "nested more than",
            None,
        ),
        ("name: x\n? [a, b]\n: 1\n", "a list used as a key", 2),
        ("name: x\n? {a: 1}\n: 1\n", "a mapping used as a key", 2),
        ("name: x\nseed: " + "9" * 5000 + "\n", "integer literal with 5000 characters", 2),
        ("name: x\ndescription: &a [*a]\n", "refers to its own anchor", 2),
    ],
    ids=["nul", "bel", "deep-flow", "deep-block", "list-key", "map-key", "huge-int", "self-alias"],
)
def test_malformed_yaml_is_a_scenario_error(
    tmp_path: Path, text: str, expect: str, line: int | None
) -> None:
    err = load_err(write(tmp_path, text))
    assert expect in str(err)
    assert err.fix, "every error says how to fix it"
    if line is not None:
        assert one_line(err) == line
    assert "\x00" not in str(err) and "\x07" not in str(err), "no raw control character printed"


def test_a_control_character_inside_a_quoted_key_is_escaped_in_the_error(tmp_path: Path) -> None:
    # A double-quoted "\a" is valid YAML: the unknown key holds a BEL, which must not be printed.
    err = load_err(write(tmp_path, 'name: x\n"bad\\akey": 1\n'))
    assert "\x07" not in str(err) and "bad\\x07key" in str(err)


@pytest.mark.parametrize(
    "value",
    ["9" * 39, "-" + "9" * 39, "1e999", "-.inf", ".nan"],
    ids=["39-digits", "neg-39-digits", "1e999", "-inf", "nan"],
)
def test_absurd_numbers_are_field_errors(tmp_path: Path, value: str) -> None:
    for field in ("seed", "duration_seconds", "warmup_seconds"):
        err = load_err(write(tmp_path, f"name: x\n{field}: {value}\n"))
        assert err.field == field and one_line(err) == 2


def test_a_directory_is_rejected_with_a_fix(tmp_path: Path) -> None:
    err = load_err(tmp_path)
    assert "is a directory" in str(err) and err.fix


def test_a_device_is_rejected_without_reading_it() -> None:
    err = load_err(Path("/dev/zero"))  # reading it would never end
    assert "not a regular file" in str(err)


def test_a_fifo_is_rejected_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    done: list[BaseException] = []

    def load() -> None:
        try:
            load_scenario(fifo)
        except BaseException as e:
            done.append(e)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(timeout=5)
    assert not t.is_alive(), "opening a FIFO blocks until a writer comes"
    assert isinstance(done[0], ScenarioError) and "not a regular file" in str(done[0])


def test_a_path_with_a_nul_byte_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="invalid path"):
        load_scenario(Path("drill\x00.yaml"))


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    err = load_err(write(tmp_path, b"name: x\ndescription: caf\xe9\n"))
    assert "not UTF-8" in str(err) and "line 2" in str(err)


# -- limits ----------------------------------------------------------------------------------


def test_file_size_limit(tmp_path: Path) -> None:
    body = "name: x\ndescription: '" + "a" * LIMITS["file_bytes"] + "'\n"
    err = load_err(write(tmp_path, body))
    assert "larger than the 1024 KiB limit" in str(err)
    # Just under the limit is read (and judged on its content).
    ok = write(tmp_path, "name: x\ndescription: '" + "a" * 1000 + "'\n", "small.yaml")
    assert load_scenario(ok).name == "x"


BILLION_LAUGHS = "\n".join(
    [
        "name: x",
        "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
        *(
            f"{n}: &{n} [" + ", ".join([f"*{p}"] * 9) + "]"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "",
    ]
)


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    assert len(BILLION_LAUGHS.encode()) < 700  # 9^9 = 387 million values once expanded
    err = load_err(write(tmp_path, BILLION_LAUGHS))
    assert f"aliases expand to more than {LIMITS['nodes']} values" in str(err)


def test_too_many_aliases(tmp_path: Path) -> None:
    refs = ", ".join(["*a"] * (LIMITS["aliases"] + 1))
    err = load_err(write(tmp_path, f"name: x\nx: &a 1\ny: [{refs}]\n"))
    assert "YAML aliases" in str(err) and one_line(err) == 3


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    text = (
        "name: x\ntopology:\n  broker_config: &cfg {num.network.threads: 3}\n"
        "  cluster_config: {primary: *cfg, dr: *cfg}\n"
    )
    s = load_scenario(write(tmp_path, text))
    assert s.topology.cluster_config.dr == {"num.network.threads": "3"}


def test_timeline_entry_count_limit() -> None:
    n = LIMITS["timeline_entries"] + 1
    entries = [{"at": i * 0.1, "duration": 0.05, "fault": "mm2.kill"} for i in range(n)]
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict({"name": "x", "timeline": entries})
    assert info.value.field == "timeline" and f"at most {n - 1}" in str(info.value)


def test_scheduled_fault_count_limit() -> None:
    entry = {"random": {"count": 100, "faults": ["mm2.kill"], "duration": [0.1, 0.2]}}
    t0 = time.monotonic()
    with pytest.raises(ScenarioError, match="the limit is 200"):
        Scenario.from_dict({"name": "x", "timeline": [entry] * 3})
    assert time.monotonic() - t0 < 2


def test_node_limit_on_a_big_flat_file(tmp_path: Path) -> None:
    # 25,000 timeline entries (the MemoryError of the issue) fit in 1 MiB only as flow text.
    body = "name: x\ntimeline: [" + ", ".join(["{at: 1}"] * 25_000) + "]\n"
    assert len(body) < LIMITS["file_bytes"]
    err = load_err(write(tmp_path, body))
    assert f"more than {LIMITS['nodes']} YAML values" in str(err)


def test_data_limits_apply_to_from_dict_too() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ScenarioError, match="nested more than"):
        Scenario.from_dict({"name": "x", "description": deep})
    cyclic: dict[str, Any] = {"name": "x"}
    cyclic["description"] = cyclic
    with pytest.raises(ScenarioError, match="cycle"):
        Scenario.from_dict(cyclic)


# -- accepted although wrong -------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, "0"])
def test_topic_min_insync_replicas_below_one(value: Any) -> None:
    data = {
        "name": "x",
        "topology": {
            "topics": [
                {
                    "name": "orders",
                    "replication_factor": 3,
                    "config": {"min.insync.replicas": value},
                }
            ]
        },
    }
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    assert info.value.field == "topology.topics[0].config.min.insync.replicas"
    assert "must be at least 1" in str(info.value) and info.value.fix


@pytest.mark.parametrize("key", ["min.insync.replicas", "default.replication.factor"])
def test_broker_counts_below_one_or_not_integers(key: str) -> None:
    for value in ("0", "two"):
        with pytest.raises(ScenarioError) as info:
            Scenario.from_dict({"name": "x", "topology": {"broker_config": {key: value}}})
        assert info.value.field == f"topology.broker_config.{key}"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("objectives.max_lost", False),
        ("objectives.max_duplicates", True),
        ("objectives.max_rpo_seconds", True),
        ("duration_seconds", True),
        ("workload.producers.count", True),
        ("runbooks.failover.trigger.on_fault", True),
        ("timeline[0].at", False),
        ("timeline[0].random.count", True),
    ],
)
def test_booleans_are_not_numbers(path: str, value: bool) -> None:
    data: dict[str, Any] = {"name": "x", "duration_seconds": 60}
    if path.startswith("runbooks"):
        data["timeline"] = [{"at": 1, "duration": 5, "fault": "mm2.kill"}]
    if path == "timeline[0].random.count":
        data["timeline"] = [{"random": {"count": 1, "faults": ["mm2.kill"], "duration": [1, 2]}}]
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data, overrides={path: value})
    assert "a boolean" in str(info.value), str(info.value)


def test_max_lost_false_is_not_zero_in_a_file(tmp_path: Path) -> None:
    err = load_err(write(tmp_path, "name: x\nobjectives:\n  max_lost: false\n"))
    assert err.field == "objectives.max_lost" and one_line(err) == 3
    assert "got false (a boolean)" in str(err)


def test_back_to_back_faults_are_not_an_overlap_by_float_rounding() -> None:
    assert 1.1 + 2.2 > 3.3  # the binary rounding that made this an "overlap"
    entries = [
        {
            "at": 1.1,
            "duration": 2.2,
            "fault": "node.kill",
            "target": {"cluster": "primary", "node": 1},
        },
        {
            "at": 3.3,
            "duration": 1,
            "fault": "node.kill",
            "target": {"cluster": "primary", "node": 1},
        },
    ]
    s = Scenario.from_dict({"name": "x", "timeline": entries})
    assert [f.at for f in s.schedule()] == [1.1, 3.3]
    # A real overlap (by 0.1 s) is still one.
    entries[1]["at"] = 3.2
    with pytest.raises(ScenarioError, match="overlaps"):
        Scenario.from_dict({"name": "x", "timeline": entries})


def test_nan_and_inf_never_reach_random_placement() -> None:
    topo = two_dc(3)
    for between in ((0.0, float("nan")), (0.0, float("inf")), (float("-inf"), 10.0)):
        # model_construct skips validation, as code building entries by hand might.
        spec = RandomSpec.model_construct(
            count=1, faults=["node.kill"], between=between, duration=(1.0, 2.0), params={}
        )
        from kafkadrill.faults.schedule import RandomFaults

        entry = RandomFaults.model_construct(random=spec)
        sched, probs = plan_timeline([entry], seed=1, topology=topo, duration_seconds=60)
        assert sched == [] and probs and "finite" in probs[0].message
    # Finite but huge: no OverflowError from the 0.1 s grid.
    spec = RandomSpec(count=1, faults=["node.kill"], between=(0, 1e308), duration=(1e308, 1e308))
    from kafkadrill.faults.schedule import RandomFaults

    sched, probs = plan_timeline(
        [RandomFaults(random=spec)], seed=1, topology=topo, duration_seconds=60
    )
    assert sched == [] and probs[0].field == "timeline[0].random.between"


@pytest.mark.parametrize("text", ["[0, .nan]", "[0, .inf]", "[.nan, 5]"])
def test_nan_and_inf_in_a_file_are_field_errors(tmp_path: Path, text: str) -> None:
    body = (
        "name: x\ntimeline:\n"
        f"  - random: {{count: 1, faults: [node.kill], between: {text}, duration: [1, 2]}}\n"
    )
    err = load_err(write(tmp_path, body))
    assert (err.field or "").startswith("timeline[0].random.between")
    assert "finite number" in str(err) and one_line(err) == 3


# -- overrides ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "key", "expect"),
    [
        ({"name": "x", "timeline": ["oops"]}, "timeline[0].at", "timeline[0] is text"),
        ({"name": "x", "topology": {"topics": [5]}}, "topology.topics[0].name", "is a number"),
        ({"name": "x", "timeline": {"a": 1}}, "timeline[0].at", "is a mapping in the scenario"),
        ({"name": "x"}, "name.first", "goes below a plain value"),
        ({"name": "x"}, "timeline[3].at", "which has 0 entries"),
        (
            {"name": "x", "timeline": [{"random": {"params": {"node.kill": 5}}}]},
            "timeline[0].random.params.node.kill.signal",
            "is a number",
        ),
        ({"name": "x", "topology": {"broker_config": []}}, "topology.broker_config.x", "a list"),
    ],
)
def test_override_into_a_list_or_scalar(data: dict[str, Any], key: str, expect: str) -> None:
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data, source="d.yaml", overrides={key: "1"})
    assert expect in str(info.value) and info.value.field == key
    assert info.value.file == "d.yaml" and info.value.fix


@pytest.mark.parametrize("key", ["", " ", ".", "a..b", "workload.", ".name", "na\x07me"])
def test_bad_override_keys(key: str) -> None:
    with pytest.raises(ScenarioError) as info:
        apply_overrides({"name": "x"}, {key: "1"})
    assert info.value.fix and "\x07" not in str(info.value)


def test_override_key_must_be_text() -> None:
    with pytest.raises(ScenarioError, match="must be text"):
        apply_overrides({"name": "x"}, {3: "1"})  # type: ignore[dict-item]


def test_override_value_is_bounded_like_a_file() -> None:
    with pytest.raises(ScenarioError, match="nested more than") as info:
        Scenario.from_dict({"name": "x"}, overrides={"description": "[" * 1000 + "]" * 1000})
    assert info.value.field == "description"
    # Text that is not YAML stays text (and is judged as such).
    s = Scenario.from_dict({"name": "x"}, overrides={"description": "a: b: c"})
    assert s.description == "a: b: c"


# -- the C loader ---------------------------------------------------------------------------


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="libyaml not installed")
def test_the_c_loader_is_used_with_line_numbers(tmp_path: Path) -> None:
    from kafkadrill import scenario as mod

    assert mod.YAML_LOADER_NAME == "CSafeLoader"
    err = load_err(write(tmp_path, "name: x\n\nworkload:\n  producers:\n    acks: 2\n"))
    assert err.field == "workload.producers.acks" and one_line(err) == 5


def test_every_library_scenario_loads_with_the_limits() -> None:
    for path in sorted(LIBRARY.glob("*.yaml")):
        assert load_scenario(path).name == path.stem


# -- kafkadrill validate ----------------------------------------------------------------------


def test_validate_library_exits_0() -> None:
    files = [str(p) for p in sorted(LIBRARY.glob("*.yaml"))]
    res = CliRunner().invoke(main, ["validate", *files])
    assert res.exit_code == 0, res.output
    assert res.output.count(": ok (") == len(files)


def test_validate_prints_every_problem_with_file_line_field_and_fix(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "name: x\nobjectives:\n  max_lost: false\nworkload:\n  producers:\n    acks: 2\n",
        "bad.yaml",
    )
    syntax = write(tmp_path, "name: x\nworkload: {producers: [\n", "syntax.yaml")
    good = LIBRARY / "default.yaml"
    res = CliRunner().invoke(main, ["validate", str(good), str(bad), str(syntax), str(tmp_path)])
    assert res.exit_code == 2, res.output
    lines = res.output.splitlines()
    assert f"{bad}:3: objectives.max_lost: expected a number, got false (a boolean)" in lines
    assert any(line.startswith(f"{bad}:6: workload.producers.acks: ") for line in lines)
    assert any(line.startswith(f"{syntax}:") and "invalid YAML" in line for line in lines)
    assert any(line.startswith(f"{tmp_path}: is a directory") for line in lines)
    assert any(line.startswith(f"{good}: ok") for line in lines)


def test_validate_applies_set_overrides() -> None:
    res = CliRunner().invoke(
        main, ["validate", str(LIBRARY / "default.yaml"), "--set", "objectives.max_lost=-1"]
    )
    assert res.exit_code == 2 and "objectives.max_lost" in res.output


def test_validation_error_carries_lines_per_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nduration_seconds: -1\nwarmup_seconds: -2\n")
    err = load_err(path)
    assert isinstance(err, ScenarioValidationError)
    located = located_problems(err)
    assert [(p.field, p.line) for p in located] == [
        ("duration_seconds", 2),
        ("warmup_seconds", 3),
    ]
    assert located[0].format().startswith(f"{path}:2: duration_seconds: ")
