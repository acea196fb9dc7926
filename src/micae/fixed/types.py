"""Fixed-point number formats."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FixedType:
    """A two's-complement (or unsigned) fixed-point format.

    ``width`` bits in total (sign included), ``frac`` fractional bits, so a
    value is ``int * 2**-frac``. ``frac`` may exceed ``width`` or be negative.
    """

    width: int
    frac: int
    signed: bool

    def __post_init__(self) -> None:
        if self.width < 1:
            raise ValueError(f"fixed-point width must be >= 1, got {self.width}")

    @property
    def integer(self) -> int:
        """Integer bits in the HLS convention (sign bit included)."""
        return self.width - self.frac

    @property
    def min_int(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_int(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> float:
        return float(2.0**-self.frac)

    @property
    def min_value(self) -> float:
        return self.min_int * self.lsb

    @property
    def max_value(self) -> float:
        return self.max_int * self.lsb

    def describe(self) -> str:
        kind = "signed" if self.signed else "unsigned"
        return f"{kind} {self.width} bits, {self.frac} fractional"

    def to_int(self, values: np.ndarray) -> np.ndarray:
        """Exact integer codes of values that already lie on this grid.

        Raises ``ValueError`` when a value is off the grid or out of range,
        because silently rounding here would hide a bit-exactness bug.
        """
        scaled = np.asarray(values, dtype=np.float64) * (2.0**self.frac)
        codes = np.rint(scaled)
        if not np.array_equal(codes, scaled):
            bad = np.flatnonzero((codes != scaled).ravel())[0]
            raise ValueError(f"value {np.asarray(values).ravel()[bad]!r} is not on the grid of {self.describe()}")
        codes = codes.astype(np.int64)
        if codes.size and (codes.min() < self.min_int or codes.max() > self.max_int):
            raise ValueError(f"values exceed the range of {self.describe()}")
        return codes

    def to_float(self, codes: np.ndarray) -> np.ndarray:
        return np.asarray(codes, dtype=np.float64) * (2.0**-self.frac)

    def to_dict(self) -> dict:
        return {"width": self.width, "frac": self.frac, "signed": self.signed, "integer": self.integer}

    @classmethod
    def holding(cls, lo: int, hi: int, frac: int, *, signed: bool | None = None, symmetric: bool = False) -> FixedType:
        """The narrowest format whose codes include every integer in ``[lo, hi]`` (LSB ``2**-frac``).

        The one rule for "how many bits does this range need" (accumulators, biases, floors, da4ml's
        port widths). ``signed`` defaults to ``lo < 0``. ``symmetric`` sizes the range as ``[-m, m]``
        with ``m = max(|lo|, |hi|)`` and at least one magnitude bit: the rule of the accumulator and
        bias types micae gives hls4ml (a lone ``-2**k`` gets its own bit there, and a constant zero two
        bits), kept so the precisions stay what they always were.
        """
        lo, hi = int(lo), int(hi)
        if lo > hi:
            raise ValueError(f"empty range [{lo}, {hi}]")
        signed = lo < 0 if signed is None else signed
        if not signed and lo < 0:
            raise ValueError(f"an unsigned format cannot hold {lo}")
        if symmetric:
            m = max(abs(lo), abs(hi))
            return cls(width=max(m.bit_length(), 1) + int(signed), frac=frac, signed=signed)
        magnitude = max((-lo - 1).bit_length() if lo < 0 else 0, hi.bit_length() if hi > 0 else 0)
        return cls(width=max(magnitude + int(signed), 1), frac=frac, signed=signed)
