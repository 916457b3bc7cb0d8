"""The layout rules of DESIGN.md, measured on the source (read with ast, nothing imported).

benchmarks/structure.py computes the figures (and prints them with the before/after numbers in
docs/explanation/architecture.md); this test keeps the rules true.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "kafkadrill"
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 100


def _structure() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kd_structure", ROOT / "benchmarks/structure.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def structure() -> ModuleType:
    return _structure()


@pytest.mark.parametrize("top_level_only", [True, False], ids=["module-level", "all-imports"])
def test_no_import_cycle(structure: ModuleType, top_level_only: bool) -> None:
    g = structure.graph(SRC, top_level_only=top_level_only)
    assert structure.cycles(g) == []


def test_import_rules_hold(structure: ModuleType) -> None:
    # Function-level and TYPE_CHECKING imports count too: they are coupling all the same.
    assert structure.rule_breaks(structure.graph(SRC, top_level_only=False)) == []


def test_no_module_over_limit() -> None:
    big = {
        str(f.relative_to(SRC)): n
        for f in SRC.rglob("*.py")
        if (n := len(f.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert big == {}


def test_no_function_over_limit(structure: ModuleType) -> None:
    assert structure.long_functions(SRC, MAX_FUNCTION_LINES) == []


def test_the_rules_catch_a_break(structure: ModuleType, tmp_path: Path) -> None:
    # The measuring code itself must be able to fail: a checker importing a runtime, a cycle.
    pkg = tmp_path / "kafkadrill"
    for name, body in {
        "__init__.py": "",
        "checkers/__init__.py": "",
        "checkers/loss.py": "from kafkadrill.runtimes.base import Cap\n",
        "runtimes/__init__.py": "",
        "runtimes/base.py": "def f():\n    from kafkadrill.runtimes import fake\n",
        "runtimes/fake.py": "from kafkadrill.runtimes.base import f\n",
    }.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(body)
    g = structure.graph(pkg, top_level_only=False)
    assert structure.cycles(g) == [["kafkadrill.runtimes.base", "kafkadrill.runtimes.fake"]]
    breaks = structure.rule_breaks(g)
    assert any(b.startswith("kafkadrill.checkers.loss -> kafkadrill.runtimes.base") for b in breaks)
    assert structure.cycles(structure.graph(pkg, top_level_only=True)) == []
