"""Safe, bounded YAML reading with a line index: size, depth, node and alias limits are checked
before anything is built, and every key's line is kept so problems can name it."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml

from kafkadrill.errors import ScenarioError
from kafkadrill.faults.catalog import did_you_mean
from kafkadrill.scenario.errors import printable
from kafkadrill.scenario.limits import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    MAX_SCALAR_DIGITS,
)
from kafkadrill.scenario.paths import Loc, fmt_path

# The C loader (libyaml) when installed: the same YAML, parsed several times faster.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAML_LOADER_NAME = _BaseLoader.__name__


class LimitError(ScenarioError):
    """A size/depth/alias/count limit was exceeded (not a syntax error)."""


def _limit_error(message: str, source: str | None, fix: str, line: int | None = None) -> LimitError:
    err = LimitError(message + (f" (line {line})" if line else ""), file=source, fix=fix)
    err.line = line  # type: ignore[attr-defined]
    return err


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    # int("9" * 5000) raises ValueError inside PyYAML (Python's 4300-digit limit) and a long
    # sexagesimal literal costs quadratic time: no scenario integer needs more than a few digits.
    if len(node.value) > MAX_SCALAR_DIGITS:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"integer literal with {len(node.value)} characters "
            f"(limit {MAX_SCALAR_DIGITS}); quote it if it is text",
            node.start_mark,
        )
    return yaml.SafeLoader.construct_yaml_int(loader, node)


class LineIndex(dict[Loc, int]):
    """The line of every field path, and the source text of every unquoted number (`numbers`):
    `4.10` and `007` are read as 4.1 and 7, which is wrong wherever a string is meant."""

    def __init__(self) -> None:
        super().__init__()
        self.numbers: dict[Loc, str] = {}


_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


class _ScenarioLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    pass


_ScenarioLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def read_yaml(path: Path) -> tuple[Any, dict[Loc, int]]:
    return parse_yaml(_read_text(path), str(path))


def _read_text(path: Path) -> str:
    """The file's text, after checking it is a regular file of at most MAX_FILE_BYTES.

    Never reads more than the limit: a device (/dev/zero), a FIFO or a huge file is refused
    from its metadata, and the read itself is bounded in case the size lied (/proc files).
    """
    src = printable(str(path))
    try:
        st = path.stat()
    except FileNotFoundError:
        raise _not_found(path) from None
    except ValueError as e:  # "embedded null byte"
        raise ScenarioError(f"invalid path ({e})", file=src, fix="check the path") from None
    except OSError as e:
        raise ScenarioError(
            f"cannot read: {e.strerror or e}", file=src, fix="check the path and permissions"
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise ScenarioError(
            "is a directory, not a scenario file",
            file=src,
            fix=f"pass a .yaml file (e.g. {src.rstrip('/')}/*.yaml)",
        )
    if not stat.S_ISREG(st.st_mode):
        raise ScenarioError(
            "is not a regular file (a device, pipe or socket)",
            file=src,
            fix="pass a scenario .yaml file",
        )
    too_big = _limit_error(
        f"file is larger than the {MAX_FILE_BYTES // 1024} KiB limit for a scenario",
        src,
        "a scenario is a few KB: split it, or generate fewer timeline entries",
    )
    if st.st_size > MAX_FILE_BYTES:
        raise too_big
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ScenarioError(
            f"cannot read: {e.strerror or e}", file=src, fix="check the path and permissions"
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise too_big
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ScenarioError(
            f"not UTF-8 text: byte 0x{data[e.start]:02x} at line {line}",
            file=src,
            fix="save the file as UTF-8",
        ) from None


def _line_col(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def _check_events(text: str, source: str | None) -> None:
    """Depth, node and alias limits, checked on the event stream before anything is built
    (libyaml's composer recurses in C: depth must be bounded before it runs)."""
    depth = nodes = aliases = 0
    fix_depth = "a scenario needs only a few levels: flatten the data"
    for ev in yaml.parse(text, Loader=_ScenarioLoader):
        if isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            nodes += 1
            if depth > MAX_DEPTH:
                raise _limit_error(
                    f"nested more than {MAX_DEPTH} levels deep",
                    source,
                    fix_depth,
                    ev.start_mark.line + 1,
                )
        elif isinstance(ev, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(ev, yaml.AliasEvent):
            aliases += 1
            nodes += 1
            if aliases > MAX_ALIASES:
                raise _limit_error(
                    f"more than {MAX_ALIASES} YAML aliases (*name)",
                    source,
                    "write the values out, or use fewer anchors",
                    ev.start_mark.line + 1,
                )
        elif isinstance(ev, yaml.ScalarEvent):
            nodes += 1
        if nodes > MAX_NODES:
            raise _limit_error(
                f"more than {MAX_NODES} YAML values",
                source,
                "a scenario has a few hundred values: shorten it",
                ev.start_mark.line + 1,
            )


def _check_expansion(root: yaml.Node, source: str | None) -> None:
    """Nodes after alias expansion (a 600-byte "billion laughs" file expands to 10^9 values),
    and no alias inside its own anchor (a recursive structure)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _limit_error(
                "a YAML alias refers to its own anchor (a recursive structure)",
                source,
                "remove the self-reference",
                node.start_mark.line + 1,
            )
        active.add(key)
        n = 1
        if isinstance(node, yaml.MappingNode):
            n += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            n += sum(size(v) for v in node.value)
        active.discard(key)
        sizes[key] = n
        if n > MAX_NODES:
            raise _limit_error(
                f"YAML aliases expand to more than {MAX_NODES} values",
                source,
                "write the values out, or use fewer nested aliases",
                node.start_mark.line + 1,
            )
        return n

    size(root)  # depth is bounded by _check_events, so this recursion is too


def _yaml_error(e: yaml.YAMLError, text: str, source: str | None) -> ScenarioError:
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = str(e.problem or e.context or "syntax error")
        if e.context and e.context_mark is not None and e.problem:
            # The parser notices late: an unclosed '{' on line 4 is reported on line 5.
            what += f" ({e.context} started at line {e.context_mark.line + 1})"
        err = ScenarioError(
            f"invalid YAML{where}: {what}",
            file=source,
            fix="quote the value, or use a shorter number"
            if "integer literal" in what
            else "check indentation, colons and quotes on that line",
        )
        err.line = mark.line + 1 if mark else None  # type: ignore[attr-defined]
        return err
    if isinstance(e, yaml.reader.ReaderError):
        line, col = _line_col(text, e.position)
        err = ScenarioError(
            f"invalid YAML at line {line}, column {col}: character "
            f"#x{e.character if isinstance(e.character, int) else ord(e.character):04x} "
            "(a control character) is not allowed",
            file=source,
            fix='remove it, or write it escaped in a double-quoted string ("\\a")',
        )
        err.line = line  # type: ignore[attr-defined]
        return err
    return ScenarioError(f"invalid YAML: {printable(str(e))}", file=source)


def parse_yaml(text: str, source: str | None) -> tuple[Any, dict[Loc, int]]:
    if len(text) > MAX_FILE_BYTES:
        raise _limit_error(
            f"more than {MAX_FILE_BYTES // 1024} KiB of YAML",
            source,
            "a scenario is a few KB: shorten it",
        )
    try:
        _check_events(text, source)
        loader = _ScenarioLoader(text)
        try:
            node = loader.get_single_node()
            lines = LineIndex()
            if node is not None:
                _check_expansion(node, source)
                _index_lines(node, (), lines, source)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        raise _yaml_error(e, text, source) from None
    return data, lines


def _index_lines(node: yaml.Node, path: Loc, out: dict[Loc, int], source: str | None) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    # A plain (unquoted) scalar has style None (PyYAML) or "" (the C loader).
    plain = isinstance(node, yaml.ScalarNode) and not node.style
    if plain and node.tag in _NUMBER_TAGS and isinstance(out, LineIndex):
        out.numbers[path] = node.value
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for knode, vnode in node.value:
            line = knode.start_mark.line + 1
            if not isinstance(knode, yaml.ScalarNode):
                err = ScenarioError(
                    f"a {'list' if isinstance(knode, yaml.SequenceNode) else 'mapping'} "
                    f"used as a key at line {line}",
                    file=source,
                    field=fmt_path(path) or None,
                    fix="keys are plain names (`? [a, b]` complex keys are not supported)",
                )
                err.line = line  # type: ignore[attr-defined]
                raise err
            key = knode.value
            if key in seen:
                # PyYAML silently keeps the last duplicate; a repeated key is always a mistake.
                err = ScenarioError(
                    f"duplicate key '{printable(key)}' at line {line} (first at line {seen[key]})",
                    file=source,
                    field=printable(fmt_path((*path, key))),
                    fix="merge the two entries",
                )
                err.line = line  # type: ignore[attr-defined]
                raise err
            seen[key] = line
            out[(*path, key)] = line
            _index_lines(vnode, (*path, key), out, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            _index_lines(item, (*path, i), out, source)


def _not_found(path: Path) -> ScenarioError:
    fix = "check the path"
    parent = path.parent
    if parent.is_dir():
        names = sorted(p.name for p in parent.glob("*.yaml"))
        if names:
            fix += f"{did_you_mean(path.name, names)}; files in {parent}: {', '.join(names)}"
    return ScenarioError("scenario file not found", file=printable(str(path)), fix=fix)


def check_data(data: Any, source: str | None) -> None:
    """Depth, size and cycle limits on already-parsed data (Scenario.from_dict callers and
    override values bypass the YAML checks); iterative, so deep input cannot overflow."""
    count = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    on_path: set[int] = set()
    # A container is "entered" when pushed; cycles show up as revisiting an id on the stack.
    exits: list[tuple[int, int]] = []
    while stack:
        o, depth = stack.pop()
        while exits and exits[-1][1] >= depth:
            on_path.discard(exits.pop()[0])
        count += 1
        if count > MAX_NODES:
            raise _limit_error(
                f"more than {MAX_NODES} values", source, "a scenario has a few hundred values"
            )
        if isinstance(o, dict | list | tuple):
            if depth > MAX_DEPTH:
                raise _limit_error(
                    f"nested more than {MAX_DEPTH} levels deep",
                    source,
                    "a scenario needs only a few levels: flatten the data",
                )
            if id(o) in on_path:
                raise _limit_error(
                    "the data contains itself (a cycle)", source, "remove the self-reference"
                )
            on_path.add(id(o))
            exits.append((id(o), depth))
            children = [*o.keys(), *o.values()] if isinstance(o, dict) else list(o)
            stack.extend((c, depth + 1) for c in children)
