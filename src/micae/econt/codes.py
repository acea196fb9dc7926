"""The chip's unsigned float codes ``xEyM``: ``x`` exponent bits above ``y`` mantissa bits (datapath doc A1, B2, C5).

Encode (truncating, as the chip does): a value below ``2**y`` is sent as exponent 0 and the value itself;
otherwise exponent ``e = bitlen(v) - y`` and mantissa the ``y`` bits just below the leading one (lower bits are
cut). An exponent that does not fit in ``x`` bits saturates to the all-ones code. Decode gives the lower edge
of the bin: exponent 0 -> mantissa, exponent ``e`` -> ``(2**y + m) << (e - 1)``.

Every function works on integer arrays (int64) and is exact: no floating point is involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def bit_length(values: np.ndarray) -> np.ndarray:
    """``int.bit_length`` of every element of a non-negative integer array (0 -> 0), exact up to 2**63.

    Below 2**53 the float64 exponent is exact (``frexp``); larger values take the integer shift path.
    """
    x = np.asarray(values, dtype=np.int64)
    if (x < 0).any():
        raise ValueError("bit_length: values must be >= 0")
    out = np.frexp(x.astype(np.float64))[1].astype(np.int64)
    big = x >= (np.int64(1) << 53)
    if big.any():
        out[big] = _bit_length_shifts(x[big])
    return out


def _bit_length_shifts(values: np.ndarray) -> np.ndarray:
    x = values.copy()
    out = np.zeros_like(x)
    for shift in (32, 16, 8, 4, 2, 1):
        big = x >= (np.int64(1) << shift)
        out[big] += shift
        x[big] >>= shift
    return out + (x > 0)


def msb(values: np.ndarray) -> np.ndarray:
    """Position of the most significant set bit, ``floor(log2 v)``; 0 for v = 0 (as the chip's converter)."""
    return np.maximum(bit_length(values) - 1, 0)


@dataclass(frozen=True)
class FloatCode:
    """An unsigned ``{exp_bits}E{mant_bits}M`` code, exponent in the high bits."""

    exp_bits: int
    mant_bits: int

    @property
    def width(self) -> int:
        return self.exp_bits + self.mant_bits

    @property
    def name(self) -> str:
        return f"{self.exp_bits}E{self.mant_bits}M"

    @property
    def max_code(self) -> int:
        return (1 << self.width) - 1

    @property
    def max_value(self) -> int:
        """The decoded value of the all-ones code (the largest value the code can give back)."""
        return int(self.decode(np.array([self.max_code]))[0])

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Codes of non-negative integers ``values``, truncating; saturates to the all-ones code."""
        v = np.asarray(values, dtype=np.int64)
        m = self.mant_bits
        e = np.where(v < (1 << m), 0, bit_length(v) - m)
        mant = np.where(e == 0, v, (v >> np.maximum(e - 1, 0)) & ((1 << m) - 1))
        code = (e << m) | mant
        return np.where(e >= (1 << self.exp_bits), self.max_code, code).astype(np.int64)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """The lower bin edge of every code."""
        c = np.asarray(codes, dtype=np.int64)
        if ((c < 0) | (c > self.max_code)).any():
            raise ValueError(f"{self.name}: codes must lie in 0..{self.max_code}")
        m = self.mant_bits
        e, mant = c >> m, c & ((1 << m) - 1)
        return np.where(e == 0, mant, ((1 << m) + mant) << np.maximum(e - 1, 0)).astype(np.int64)

    def roundtrip(self, values: np.ndarray) -> np.ndarray:
        """What a receiver decodes for ``values``: encode, then decode to the lower bin edge."""
        return self.decode(self.encode(values))


CELL_4E3M = FloatCode(4, 3)
"""7-bit cell energy: the HGCROC trigger code, and the Threshold-Sum / Best Choice / Repeater / STC_7 energies."""
SUM_5E3M = FloatCode(5, 3)
"""8-bit module sum of Threshold-Sum and Best Choice frames, and of the truncated word."""
SUM_5E4M = FloatCode(5, 4)
"""9-bit module sum of the autoencoder frame, and the STC_9 sums."""
