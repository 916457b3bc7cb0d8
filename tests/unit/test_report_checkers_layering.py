"""DESIGN.md's import rules for checkers/ and report/: checkers import only history/ (and each
other); the report imports no runtime."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "src" / "kafkadrill"


def _kafkadrill_imports(path: Path) -> set[str]:
    """Every kafkadrill module a file imports, at any depth (function-level imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m == "kafkadrill" or m.startswith("kafkadrill.")}


def _under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("path", sorted((PKG / "checkers").rglob("*.py")), ids=str)
def test_checkers_import_only_history(path: Path) -> None:
    bad = {
        m
        for m in _kafkadrill_imports(path)
        if not _under(m, "kafkadrill.checkers", "kafkadrill.history")
    }
    assert not bad, f"{path.relative_to(PKG)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", sorted((PKG / "report").rglob("*.py")), ids=str)
def test_report_imports_no_runtime(path: Path) -> None:
    bad = {m for m in _kafkadrill_imports(path) if _under(m, "kafkadrill.runtimes")}
    assert not bad, f"{path.relative_to(PKG)} imports {sorted(bad)}"
