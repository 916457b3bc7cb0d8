"""The block model: a report as a list of blocks, rendered by one renderer per format.

Sections (``report/sections``) build blocks from the report dict; ``markdown`` and ``html_page``
render them, so the Markdown and the HTML can never disagree on a figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Badge",
    "Block",
    "Bullets",
    "Cards",
    "Cell",
    "Code",
    "Gantt",
    "Heading",
    "Image",
    "Link",
    "Note",
    "Para",
    "Table",
]


@dataclass
class Badge:
    status: str


@dataclass
class Code:
    text: str


@dataclass
class Link:
    text: str
    href: str  # relative to the run directory


Cell = str | Badge | Code | Link


@dataclass
class Heading:
    level: int
    text: str
    anchor: str
    badge: str = ""  # a status shown next to the heading


@dataclass
class Para:
    text: str
    cls: str = ""


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Cell]]
    numeric: set[int] = field(default_factory=set)  # right-aligned columns
    compact: bool = False  # size to content (short figure/value tables)


@dataclass
class Note:
    kind: str  # info | warn | error
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Image:
    key: str
    title: str


@dataclass
class Cards:
    items: list[tuple[str, str, str]]  # (value, label, status for colour or "")


@dataclass
class Gantt:
    """Recovery chart: bars on one axis of seconds since the fault."""

    rows: list[tuple[str, float, float, str]]  # (label, start, end, kind: step|fail|milestone)


Block = Heading | Para | Table | Note | Bullets | Image | Cards | Gantt
