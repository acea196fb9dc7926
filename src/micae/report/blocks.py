"""The report's view model: plain, typed pieces (text, tables, figures, cards) both templates render.

Every value in here is already formatted text: report.md and report.html
show the same characters because they are rendered from the same objects.
No markup is ever stored: the HTML template escapes everything
(``select_autoescape``), the Markdown template its table separators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np


@dataclass
class Span:
    """A run of text; ``style`` is "" (plain), "b" (bold), "code" or "link" (a relative path, linked)."""

    text: str
    style: str = ""


@dataclass
class Para:
    spans: list[Span]
    tone: str = ""  # "", "note", "warn" or "fail"
    kind: ClassVar[str] = "para"


@dataclass
class Bullets:
    items: list[list[Span]]
    kind: ClassVar[str] = "bullets"


@dataclass
class Bar:
    """A table cell drawn as a bar of ``percent`` width (the text form is the percentage)."""

    percent: float

    def __str__(self) -> str:
        return f"{self.percent:.0f}%"


@dataclass
class Table:
    head: list[str]
    rows: list[list[str | Bar]]
    numeric: set[int] = field(default_factory=set)
    tones: list[str] = field(default_factory=list)  # per row: "", "good", "bad", "skip"
    mark: int | None = None  # the verdict column, highlighted in "good" rows
    kind: ClassVar[str] = "table"

    def tone(self, i: int) -> str:
        return self.tones[i] if i < len(self.tones) else ""

    def cell_class(self, j: int) -> str:
        """HTML classes of column ``j``: "num" (right-aligned) and/or "mark" (the verdict column)."""
        return " ".join(c for c, on in (("num", j in self.numeric), ("mark", j == self.mark)) if on)


@dataclass
class Figure:
    """A PNG under ``plots/``: ``path`` is where it is on disk (the HTML embeds it), ``file`` its name."""

    file: str
    path: Path
    alt: str
    caption: str
    kind: ClassVar[str] = "figure"

    @property
    def rel(self) -> str:
        return f"plots/{self.file}"


@dataclass
class Code:
    text: str
    title: str = ""
    kind: ClassVar[str] = "code"


@dataclass
class Heading:
    text: str
    kind: ClassVar[str] = "heading"


@dataclass
class Details:
    """Collapsed in HTML (``<details>``), shown in full in Markdown."""

    summary: str
    blocks: list
    kind: ClassVar[str] = "details"


@dataclass
class Section:
    anchor: str
    title: str
    blocks: list


@dataclass
class Card:
    key: str
    value: str
    detail: str
    tone: str = ""  # "", "pass", "fail", "muted"
    source: str = ""
    """the tool and device (or the data) the value comes from"""


@dataclass
class Banner:
    text: str
    tone: str = "fail"


@dataclass
class ReportView:
    name: str
    subtitle: str
    verdict: str
    ok: bool
    banners: list[Banner]
    cards: list[Card]
    sections: list[Section]
    heading: str = ""  # the page title; "" gives "micae firmware report: <name>"
    scope: list[str] = field(default_factory=list)
    """lines under the cards: what the hardware figures describe, what did not run, what is not estimated"""


# ---------------------------------------------------------------- helpers


def para(text: str, tone: str = "") -> Para:
    return Para([Span(text)], tone)


def note(text: str, tone: str = "note") -> Para:
    return Para([Span(text)], tone)


def num(v, digits: int = 4) -> str:
    """A number for a table cell: integers with thousands separators, floats with ``digits`` significant digits."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.{digits}g}"
    return str(v)


def percent(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"
