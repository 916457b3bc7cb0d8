"""Hypothesis: mutated library scenarios and overrides raise ScenarioError or load -- nothing else,
within time and memory bounds (issue 14: about 1 in 80 malformed inputs escaped as a raw
exception; 600 bytes of aliases took 1.5 GB)."""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkadrill.cli import main
from kafkadrill.errors import ScenarioError
from kafkadrill.scenario import Scenario, load_scenario

LIBRARY = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))
TEXTS = {p.name: p.read_text() for p in LIBRARY}
DATA = {name: yaml.safe_load(text) for name, text in TEXTS.items()}
WORK = Path(tempfile.mkdtemp(prefix="kafkadrill-fuzz-"))

# Per example, in this process's CPU seconds: a blow-up (an alias bomb, a huge repeat) shows
# as CPU, while wall time also counts whatever else the machine runs (a drill beside it).
MAX_SECONDS = 2.0  # a valid library scenario loads in ~10 ms
MAX_BYTES = 64 << 20

FUZZ = settings(
    max_examples=150,
    deadline=None,  # timed below with our own bound (tracemalloc slows everything evenly)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # CI-reproducible; a failure prints the example
)


@contextmanager
def bounded() -> Iterator[None]:
    tracemalloc.start()
    t0 = time.process_time()
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    elapsed = time.process_time() - t0
    assert elapsed < MAX_SECONDS, f"{elapsed:.1f} s"
    assert peak < MAX_BYTES, f"{peak / 1e6:.0f} MB"


def only_scenario_errors(load: Callable[[], Scenario]) -> None:
    with bounded():
        try:
            s = load()
        except ScenarioError as e:
            text = str(e)
            assert text and e.message
            assert "\x00" not in text and "\x07" not in text
            return
        # Accepted: everything a drill derives from it must work too.
        s.to_topology()
        s.schedule()
        assert yaml.safe_load(s.resolved_yaml())["name"] == s.name


# -- hostile values and mutations --------------------------------------------------------------

SPECIAL = [
    "",
    " ",
    "\x00",
    "\x07",
    "\x1b[31m",
    "-1",
    "0",
    "1e999",
    ".nan",
    ".inf",
    "[1, 2]",
    "{a: 1}",
    "*a",
    "&a x",
    "null",
    "node.kill",
    "link.cut",
    "primary",
    "dr",
    "east",
    "all",
    "9" * 50,
]
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 1, 2, 3, 2**31, 2**63, 10**19]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(SPECIAL),
    st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=4)), max_size=3),
    st.dictionaries(st.text(max_size=6), st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
)


def _paths(obj: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*here, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*here, i))
    return out


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        obj = obj[p]
    return obj


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    import copy

    data = copy.deepcopy(DATA[draw(st.sampled_from(sorted(DATA)))])
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths[1:] or paths))
        parent, key = _get(data, path[:-1]), path[-1]
        op = draw(st.sampled_from(["replace", "delete", "insert", "graft", "wrap"]))
        if op == "replace":
            parent[key] = draw(HOSTILE)
        elif op == "delete":
            del parent[key]
        elif op == "insert" and isinstance(parent, dict):
            parent[
                draw(
                    st.one_of(
                        st.text(max_size=8),
                        st.sampled_from(["at", "fault", "x", "runtime", "external"]),
                    )
                )
            ] = draw(HOSTILE)
        elif op == "insert" and isinstance(parent, list):
            parent.append(draw(HOSTILE))
        elif op == "graft":  # a real value from elsewhere in the scenario, in the wrong place
            parent[key] = copy.deepcopy(_get(data, draw(st.sampled_from(paths))))
        elif op == "wrap":
            parent[key] = [parent[key]] if draw(st.booleans()) else {"x": parent[key]}
    return data


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


KNOWN_KEYS = sorted({_dotted(p) for d in DATA.values() for p in _paths(d)[1:]})
OVERRIDE_KEY = st.one_of(
    st.sampled_from(KNOWN_KEYS),
    st.builds(
        lambda k, tail: k + tail,
        st.sampled_from(KNOWN_KEYS),
        st.sampled_from([".x", "[0]", "[9]", ".0", "..", ".", "[0].at", ".random.count"]),
    ),
    st.text(alphabet="abcdefgt.[]0123456789_\x00", max_size=16),
    st.sampled_from(["", "timeline", "timeline[0]", "timeline.0", "topology.mm2.a.b"]),
)
OVERRIDES = st.dictionaries(
    OVERRIDE_KEY, st.one_of(st.sampled_from(SPECIAL), st.text(max_size=10), HOSTILE), max_size=3
)


@FUZZ
@given(data=mutated(), overrides=OVERRIDES)
def test_mutated_data_and_overrides_raise_only_scenario_errors(
    data: dict[str, Any], overrides: dict[str, Any]
) -> None:
    only_scenario_errors(
        lambda: Scenario.from_dict(data, source="fuzz.yaml", overrides=overrides or None)
    )


# -- mutated YAML text ------------------------------------------------------------------------

SNIPPETS = [
    "\x00",
    "\x07",
    "\t",
    "&a ",
    "*a",
    "<<: *a\n",
    "? [a, b]\n: 1\n",
    "[",
    "]",
    "{",
    "}",
    ":",
    "- ",
    "\n",
    "  ",
    "!!python/object:os.system ",
    "!!binary AAAA",
    "9" * 60,
    ".nan",
    "-.inf",
    "'",
    '"',
    "#",
    "---\n",
    "\ufeff",
]


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    text = TEXTS[draw(st.sampled_from(sorted(TEXTS)))]
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "dup-line", "text"]))
        if op == "insert":
            text = text[:pos] + draw(st.sampled_from(SNIPPETS)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)) :]
        elif op == "dup-line":
            lines = text.splitlines(keepends=True)
            i = draw(st.integers(0, max(0, len(lines) - 1)))
            text = "".join(lines[: i + 1] + lines[i:])
        else:
            text = text[:pos] + draw(st.text(max_size=6)) + text[pos:]
    return text


@FUZZ
@given(text=mutated_text())
def test_mutated_yaml_text_raises_only_scenario_errors(text: str) -> None:
    path = WORK / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    only_scenario_errors(lambda: load_scenario(path))


# -- through the CLI ----------------------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(text=mutated_text(), sets=st.lists(st.text(max_size=20), max_size=2))
def test_validate_command_never_crashes(text: str, sets: list[str]) -> None:
    path = WORK / "cli.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    args = ["validate", str(path)]
    for s in sets:
        args += ["--set", s]
    with bounded():
        res = CliRunner().invoke(main, args)
    # 0 valid, 2 invalid (a malformed --set is click's usage error, also 2); never a crash.
    assert res.exit_code in (0, 2), (res.exit_code, res.output, res.exception)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "internal error" not in res.output
