"""Consecutive rows of a data file, chosen as ``START:STOP`` in row counts or fractions of the file.

``micae evaluate --rows 0.8:`` takes the last 20 % of a file, so a run trained on its first 80 % (``:0.8``)
is judged on rows it never saw. Both ends use the same rule, so ``:f`` and ``f:`` split a file without
overlap or gap:

* an integer (``100``, ``-500``) is a row index as in Python slicing (negative counts from the end);
* a number with a decimal point (``0.8``, ``.25``, ``1.0``) is a fraction of the file's rows in [0, 1],
  i.e. row ``round(f * n)``;
* an empty end is the file's start or end.
"""

from __future__ import annotations

from dataclasses import dataclass

from micae.errors import ConfigError

_FIX = "write START:STOP with row numbers (e.g. 0:3200, -800:) or fractions (e.g. 0.8: for the last 20%)"


@dataclass(frozen=True)
class RowRange:
    """The rows ``start`` (inclusive) to ``stop`` (exclusive) of a file of ``total`` rows, and how they were asked."""

    spec: str
    start: int
    stop: int
    total: int

    @property
    def n(self) -> int:
        return self.stop - self.start

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop == self.total


def _end(text: str, n: int, default: int, spec: str) -> int:
    text = text.strip()
    if not text:
        return default
    if "." in text or "e" in text.lower():
        try:
            f = float(text)
        except ValueError:
            raise ConfigError(f"--rows {spec!r}: {text!r} is not a number", _FIX) from None
        if not 0.0 <= f <= 1.0:
            raise ConfigError(f"--rows {spec!r}: the fraction {text} is outside [0, 1]", _FIX)
        return int(round(f * n))
    try:
        i = int(text)
    except ValueError:
        raise ConfigError(f"--rows {spec!r}: {text!r} is not a number", _FIX) from None
    return max(0, min(n, i + n if i < 0 else i))


def select_rows(spec: str | None, n: int) -> RowRange:
    """The :class:`RowRange` of ``spec`` (None or "" or ":" = every row) in a file of ``n`` rows."""
    text = (spec or ":").strip()
    if ":" not in text:
        raise ConfigError(f"--rows {spec!r} has no ':'", _FIX)
    lo, hi = text.split(":", 1)
    if ":" in hi:
        raise ConfigError(f"--rows {spec!r} has more than one ':'", _FIX)
    start, stop = _end(lo, n, 0, text), _end(hi, n, n, text)
    if stop <= start:
        raise ConfigError(
            f"--rows {spec!r} selects no row of the {n} (rows {start} to {stop})",
            "choose START below STOP, e.g. 0.8: or 0:1000",
        )
    return RowRange(spec=text, start=start, stop=stop, total=n)
