"""Exact integer arithmetic with QKeras/HLS rounding and saturation."""

from __future__ import annotations

import numpy as np

from micae.fixed.types import FixedType


def round_half_even_shift(values: np.ndarray, shift: int) -> np.ndarray:
    """Divide integers by ``2**shift`` rounding half to even (``AP_RND_CONV``).

    A negative shift multiplies exactly.
    """
    values = np.asarray(values, dtype=np.int64)
    if shift <= 0:
        return values << (-shift)
    floor = values >> shift  # arithmetic shift = floor division
    rem = values - (floor << shift)
    half = np.int64(1) << (shift - 1)
    round_up = (rem > half) | ((rem == half) & ((floor & 1) == 1))
    return floor + round_up.astype(np.int64)


def saturate(codes: np.ndarray, out: FixedType) -> np.ndarray:
    return np.clip(codes, out.min_int, out.max_int)


def floor_shift(values: np.ndarray, shift: int) -> np.ndarray:
    """Divide integers by ``2**shift`` rounding down (``AP_TRN``, ``tf.math.floor``)."""
    values = np.asarray(values, dtype=np.int64)
    return values << (-shift) if shift <= 0 else values >> shift


ROUNDINGS = ("half_even", "floor")
"""``half_even``: QKeras quantizers (``tf.round``, ``AP_RND_CONV``); ``floor``: ``tf.math.floor`` (``AP_TRN``)."""


def requantize(
    acc: np.ndarray,
    acc_frac: int,
    out: FixedType,
    rounding: str = "half_even",
    clip: tuple[int, int] | None = None,
) -> np.ndarray:
    """Quantize exact accumulators (units ``2**-acc_frac``) to ``out``: round, saturate, then ``clip`` (codes)."""
    shift = acc_frac - out.frac
    if rounding == "half_even":
        codes = round_half_even_shift(acc, shift)
    elif rounding == "floor":
        codes = floor_shift(acc, shift)
    else:
        raise ValueError(f"unknown rounding {rounding!r}; choose one of {ROUNDINGS}")
    codes = saturate(codes, out)
    return codes if clip is None else np.clip(codes, clip[0], clip[1])


def quantize_float(values: np.ndarray, out: FixedType) -> np.ndarray:
    """Quantize real numbers to integer codes of ``out`` exactly as QKeras does.

    QKeras computes ``round(x * 2**frac)`` with ``tf.round`` (half to even) in
    float32 and clips; the product by a power of two is exact, so float64 here
    gives the same codes.
    """
    x = np.asarray(values, dtype=np.float32).astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("cannot quantize NaN or infinite values")
    codes = np.rint(x * (2.0**out.frac))  # numpy rint rounds half to even
    return np.clip(codes, out.min_int, out.max_int).astype(np.int64)
