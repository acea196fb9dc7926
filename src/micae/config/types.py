"""Value types of micae's config schemas: each refuses a wrong value with the sentence a user reads.

A field's type says what is allowed (``Integer(ge=1)``, ``Number(gt=0)``, ``Choice("a", "b")``, ``Flag``);
a wrong value becomes one line, ``train.epochs = 'abc': must be an integer >= 1`` (:mod:`micae.config.errors`).
Booleans are never numbers and strings are never numbers or booleans: YAML's ``epochs: "5"`` or ``true`` is
a mistake to report, not to convert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

__all__ = ["Check", "Choice", "Choices", "Cli", "Flag", "Integer", "Number", "Text", "allowed_text"]


@dataclass(frozen=True)
class Cli:
    """Marks a field as a command-line option: ``Annotated[T, Cli("--lr", group="training")]``.

    ``flag`` is the option (default ``--`` + the field name with dashes); ``group`` titles its block in
    ``--help``; ``negate`` makes a boolean field a ``--no-...`` switch that sets it false; ``aliases`` are other
    spellings of the flag kept for old command lines.
    """

    flag: str | None = None
    group: str | None = None
    negate: bool = False
    metavar: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Choices:
    """The values a :func:`Choice` field takes (for ``--help``)."""

    values: tuple


def _or_null(text: str, null: bool) -> str:
    return f"{text}, or null" if null else text


def _bounds(ge, le, gt=None) -> str:
    parts = []
    if gt is not None:
        parts.append(f"> {gt:g}")
    if ge is not None and le is not None:
        return f"between {ge:g} and {le:g}"
    if ge is not None:
        parts.append(f">= {ge:g}")
    if le is not None:
        parts.append(f"<= {le:g}")
    return " ".join(parts)


def Integer(ge: int | None = None, le: int | None = None, *, null: bool = False) -> Any:  # noqa: N802
    """An integer (not a bool, not a string, not 1.5), within ``[ge, le]``; ``null`` also accepts None."""
    bounds = _bounds(ge, le)
    allowed = _or_null(f"must be an integer {bounds}".strip(), null)

    def check(v):
        if v is None and null:
            return None
        if isinstance(v, bool) or not isinstance(v, Integral):
            raise ValueError(allowed)
        v = int(v)
        if (ge is not None and v < ge) or (le is not None and v > le):
            raise ValueError(allowed)
        return v

    return Annotated[(int | None) if null else int, BeforeValidator(check)]


def Number(gt: float | None = None, ge: float | None = None, le: float | None = None, *, null: bool = False) -> Any:  # noqa: N802
    """A finite real number (an int is fine, a bool or a string is not) within the bounds."""
    if gt == 0 and ge is None and le is None:
        text = "must be a positive number"
    else:
        text = f"must be a number {_bounds(ge, le, gt)}".strip()
    allowed = _or_null(text, null)

    def check(v):
        if v is None and null:
            return None
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(float(v)):
            raise ValueError(allowed)
        x = float(v)
        if (gt is not None and not x > gt) or (ge is not None and x < ge) or (le is not None and x > le):
            raise ValueError(allowed)
        return v

    return Annotated[(float | None) if null else float, BeforeValidator(check)]


def _bool(v):
    if not isinstance(v, bool):
        raise ValueError("must be true or false")
    return v


Flag = Annotated[bool, BeforeValidator(_bool)]
"""true or false (YAML's booleans), nothing else."""


def Text(*, null: bool = False, nonempty: bool = True) -> Any:  # noqa: N802
    """A string (numbers are refused: quote them in YAML)."""
    allowed = _or_null("must be a non-empty text" if nonempty else "must be a text", null)

    def check(v):
        if v is None and null:
            return None
        if not isinstance(v, str) or (nonempty and not v.strip()):
            raise ValueError(allowed)
        return v

    return Annotated[(str | None) if null else str, BeforeValidator(check)]


def allowed_text(values) -> str:
    return ", ".join(repr(v) for v in values)


def Choice(*values: str, ignore_case: bool = False, null: bool = False, off_on: bool = False) -> Any:  # noqa: N802
    """One of ``values``. ``ignore_case``: also in any case, stored as written in ``values`` (hls4ml's backends).
    ``off_on``: YAML's bare ``off``/``on`` (booleans) mean the strings ``"off"``/``"on"``."""
    allowed = _or_null(f"must be one of {allowed_text(values)}" + (" (any case)" if ignore_case else ""), null)
    lower = {v.lower(): v for v in values}

    def check(v):
        if v is None and null:
            return None
        if off_on and isinstance(v, bool):
            v = "on" if v else "off"
        if isinstance(v, str):
            if v in values:
                return v
            if ignore_case and v.lower() in lower:
                return lower[v.lower()]
        raise ValueError(allowed)

    return Annotated[(str | None) if null else str, BeforeValidator(check), Choices(tuple(values))]


def Check(predicate, message: str) -> AfterValidator:  # noqa: N802
    """An extra rule on an already typed value: ``Annotated[list[int], Check(lambda v: len(v) == 3, "...")]``."""

    def check(v):
        if not predicate(v):
            raise ValueError(message)
        return v

    return AfterValidator(check)
