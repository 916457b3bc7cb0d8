"""Structure figures of the kafkadrill package: sizes, long functions, import cycles, rule breaks.

Usage: python benchmarks/structure.py [SRC_DIR]   (default: src/kafkadrill next to this file)

Imports are read with `ast` (nothing is imported). Two graphs are measured: module-level imports
only (what Python resolves at import time) and all imports including those inside functions and
under TYPE_CHECKING (the coupling a reader sees). A cycle is a strongly connected component of
more than one module. The import rules are those of DESIGN.md; tests/unit/test_architecture.py
asserts them.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (who, what it must not import, why) -- prefixes of dotted module names.
BELOW_RUNNER = (
    "kafkadrill.runtimes",
    "kafkadrill.faults",
    "kafkadrill.runbooks",
    "kafkadrill.workload",
    "kafkadrill.history",
    "kafkadrill.checkers",
    "kafkadrill.report",
    "kafkadrill.isolation",
    "kafkadrill.timeline",
    "kafkadrill.topology",
    "kafkadrill.plan",
)
RULES: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = (
    (BELOW_RUNNER, ("kafkadrill.scenario",), "below the runner: take the plan, not the scenario"),
    (("kafkadrill.runtimes",), ("kafkadrill.report", "kafkadrill.checkers"), "runtimes"),
    (("kafkadrill.report",), ("kafkadrill.runtimes",), "the report imports no runtime"),
    (("kafkadrill.scenario",), ("kafkadrill.runtimes",), "the scenario imports no runtime"),
)
CHECKERS_MAY_IMPORT = ("kafkadrill.checkers", "kafkadrill.history", "kafkadrill.errors")


def module_name(path: Path, src: Path) -> str:
    rel = path.relative_to(src.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    """The longest known module that `name` (a module or a name inside one) refers to."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(path: Path, src: Path, modules: set[str], *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    me = module_name(path, src)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    nodes: Iterable[ast.AST] = tree.body if top_level_only else ast.walk(tree)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            # `from pkg import sub` depends on pkg.sub (pkg/__init__ runs for any submodule
            # import and is not counted, as import-linter and pydeps do not count it).
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
            names = subs if len(subs) == len(node.names) else [*subs, base]
        else:
            continue
        for n in names:
            hit = _resolve(n, modules)
            if hit and hit != me:
                found.add(hit)
    return found


def graph(src: Path, *, top_level_only: bool) -> dict[str, set[str]]:
    files = sorted(src.rglob("*.py"))
    modules = {module_name(f, src) for f in files}
    return {
        module_name(f, src): imports_of(f, src, modules, top_level_only=top_level_only)
        for f in files
    }


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in g:
        if root in index:
            continue
        work = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            nxt = next((w for w in it if w in g), None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(g[nxt]))))
                elif nxt in on_stack:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def _under(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def rule_breaks(g: dict[str, set[str]]) -> list[str]:
    out = []
    for mod, deps in sorted(g.items()):
        for who, banned, why in RULES:
            if _under(mod, who):
                out += [f"{mod} -> {d} ({why})" for d in sorted(deps) if _under(d, banned)]
        if _under(mod, ("kafkadrill.checkers",)):
            out += [
                f"{mod} -> {d} (checkers import only the history)"
                for d in sorted(deps)
                if not _under(d, CHECKERS_MAY_IMPORT)
            ]
    return out


def long_functions(src: Path, limit: int) -> list[tuple[str, int]]:
    out = []
    for f in sorted(src.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > limit:
                    out.append((f"{f.relative_to(src.parent)}:{node.name}", n))
    return sorted(out, key=lambda x: -x[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", nargs="?", default=str(ROOT / "src" / "kafkadrill"))
    args = ap.parse_args(argv)
    src = Path(args.src).resolve()
    files = sorted(src.rglob("*.py"))
    sizes = sorted(((len(f.read_text().splitlines()), f) for f in files), reverse=True)
    print(f"modules: {len(files)}, lines: {sum(n for n, _ in sizes)}")
    for limit in (600, 800):
        big = [f"{f.relative_to(src.parent)} ({n})" for n, f in sizes if n > limit]
        print(f"modules over {limit} lines: {len(big)}  {', '.join(big)}")
    for limit in (80, 100):
        lf = long_functions(src, limit)
        print(
            f"functions over {limit} lines: {len(lf)}  "
            + ", ".join(f"{n} ({k})" for n, k in lf[:12])
        )
    for label, top in (("module-level", True), ("all (incl. function-level)", False)):
        g = graph(src, top_level_only=top)
        cyc = cycles(g)
        print(
            f"import edges [{label}]: {sum(len(v) for v in g.values())}; cycles: {len(cyc)}; "
            f"modules in cycles: {sum(len(c) for c in cyc)}"
        )
        for c in cyc:
            print(f"  cycle of {len(c)}: {' '.join(m.removeprefix('kafkadrill.') for m in c)}")
        breaks = rule_breaks(g)
        print(f"import-rule breaks [{label}]: {len(breaks)}")
        for b in breaks:
            print(f"  {b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
