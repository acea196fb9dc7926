"""The integer primitives of :mod:`micae.fixed.arith` as da4ml traced operations (the RTL of every op).

QKeras requantization (round half to even, saturate) built from da4ml's traced operations.

da4ml only rounds by truncation (``TRN``) or half-up (``RND``), so convergent
rounding is assembled from its operations. ``acc`` has LSB ``eps = 2**-f_acc``,
the output ``2**-f_out`` with ``f_out < f_acc``; ``b`` is bit ``f_out`` of
``floor(acc)`` (the LSB that will be kept; reading it is free wiring).

``half_even`` (default)
    ``floor(acc + half - eps + b*eps)`` on the output grid: at an exact tie
    this adds exactly ``half`` when ``b = 1`` (round up to even) and less when
    ``b = 0`` (stay even); off ties it is ordinary rounding. ``half - eps``
    folds into the bias adder; the ``b*eps`` add has a 1-bit operand, so in
    yosys' mapping it is a carry chain with almost no LUTs.
``half_even_tiemux``
    ``r = floor(acc + half)``; an exact tie is "the ``f_acc - f_out`` dropped
    bits of ``acc + half`` are all zero" (a small adder over those bits only);
    at a tie the result is ``r`` with its LSB cleared, chosen by a mux that
    synthesizes to one LUT. No second full-width adder: fewer carry cells,
    but yosys counts a few more LUTs (see bench/bench_rtl.py).
``half_even_textbook``
    ``half_even``'s sum, then da4ml's own saturating truncation (full-width
    comparisons): kept to measure what the cheaper saturation saves.

Saturation (all but the textbook variant) compares only the bits above the
output range: ``floor(t / 2**p)`` (a free bit slice) against +/-1 with a
few-bit adder, instead of a full-width comparison, then muxes in the constant
bound. Unsigned outputs clip negatives with da4ml's ``relu`` (an AND with the
inverted sign bit). Bounds the value range cannot reach are not built at all.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from da4ml.trace import FixedVariable, FixedVariableArray  # da4ml's public tracing API

from micae.da4ml_api import stored_negated
from micae.fixed.arith import requantize
from micae.fixed.types import FixedType

EXACT_MODES = ("half_even", "half_even_tiemux", "half_even_textbook")
ROUNDING_MODES = EXACT_MODES + ("half_up", "da4ml_native")
"""The exact (QKeras) modes above, plus two that are wrong at ties on purpose:
``half_up`` (da4ml ``RND`` with micae's saturation) exists to prove the
verification catches it; ``da4ml_native`` is da4ml's own
``quantize(..., 'SAT', 'RND')``, the stock flow used as the benchmark baseline."""

_TWO = Decimal(2)


def _pow2(e: int) -> Decimal:
    return _TWO**e


def _frac_bits(v: FixedVariable) -> int:
    return int(v.kif[2])


def const(value: Decimal, like: FixedVariable) -> FixedVariable:
    return FixedVariable.from_const(value, hwconf=like.hwconf)


def if_negative(key: FixedVariable, a: FixedVariable | Decimal, b: FixedVariable | Decimal, low, high) -> FixedVariable:
    """``a if key < 0 else b``, known to lie in ``[low, high]``.

    da4ml 0.5's ``msb_mux`` tests the stored MSB; for a variable stored negated
    (:func:`micae.da4ml_api.stored_negated`) it tests ``key > 0`` instead, which is
    wrong at ``key == 0``. Such keys are first turned into ``-key - lsb`` (stored
    positive; ``>= 0`` exactly when ``key < 0``) and the branches swapped.
    The result's step must be the finer of the two inputs' steps: da4ml's
    codegen aligns the output LSB with the finer input.
    """
    a = a if isinstance(a, FixedVariable) else const(a, key)
    b = b if isinstance(b, FixedVariable) else const(b, key)
    if key.high < 0:
        return a
    if key.low >= 0:
        return b
    # floats, as da4ml 0.6 takes them; exact (fixed-point values), so da4ml 0.5's Decimals are the same
    qint = (float(low), float(high), float(min(a.step, b.step)))
    if stored_negated(key):
        flipped = (-key) - key.step
        return flipped.msb_mux(b, a, qint)
    return key.msb_mux(a, b, qint)


def floor_to(v: FixedVariable, f: int) -> FixedVariable:
    """``floor(v * 2**f) * 2**-f``: dropping low bits is free wiring in da4ml (a ``wrap``).

    The integer bits asked for are generous (da4ml clamps them to what the
    value needs): asking too few makes da4ml return a constant zero, which is
    wrong for small negative values (their floor is ``-2**-f``).
    """
    k, i, _ = v.kif
    return v.quantize(int(k), max(int(i) + 2, 2 - f), f)


def _round_half_even_tiemux(t: FixedVariable, f_out: int, f_acc: int) -> FixedVariable:
    """Half-even rounding of ``acc`` to ``f_out`` bits, given ``t = acc + 2**-(f_out+1)``."""
    up = floor_to(t, f_out)  # floor(t): round half up
    even = floor_to(t, f_out - 1)  # floor(t) with the LSB cleared
    low = t.quantize(0, -f_out, f_acc)  # the dropped bits of t, unsigned
    if low.low == low.high:  # the dropped bits are constant: always a tie (zero) or never
        return even if low.low == 0 else up
    tie = low - _pow2(-f_acc)  # negative iff the dropped bits are all zero
    return if_negative(tie, even, up, min(up.low, even.low), max(up.high, even.high))


def saturate(y: FixedVariable, src: FixedVariable, out: FixedType) -> FixedVariable:
    """Clip ``y`` to ``out``'s range; the overflow tests read ``src``, which floors to ``y``'s high bits."""
    lsb = _pow2(-out.frac)
    lo_v, hi_v = out.min_int * lsb, out.max_int * lsb
    if y.low >= hi_v:
        return const(hi_v, y)
    if y.high <= lo_v:
        return const(lo_v, y)
    # p: the first bit position that lies outside the output range (2**p = max + lsb).
    p = out.width - out.frac - (1 if out.signed else 0)
    bound = _pow2(p)
    need_low = out.signed and y.low < lo_v
    if not out.signed and y.low < 0:
        y = y.relu()
    if y.high > hi_v:
        hi_key = floor_to(src, -p) - bound  # negative iff src < 2**p iff no overflow
        y = if_negative(hi_key, y, hi_v, min(y.low, hi_v), hi_v)
    if need_low:
        lo_key = floor_to(src, -p) + bound  # negative iff src < -2**p iff underflow
        y = if_negative(lo_key, lo_v, y, lo_v, y.high)
    return y


def requantize_variable(acc: FixedVariable, out: FixedType, rounding: str = "half_even") -> FixedVariable:
    """One exact accumulator (real units) -> value on ``out``'s grid, rounded and saturated like QKeras."""
    if rounding not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding {rounding!r}; choose one of {ROUNDING_MODES}")
    f_out = out.frac
    if acc.low == acc.high:  # a constant accumulator (all-zero weights): fold it here
        f_c = max(_frac_bits(acc), f_out, 0)
        code = int(acc.low * _pow2(f_c))
        exact = rounding in EXACT_MODES
        val = int(requantize(code, f_c, out)) if exact else _round_const_up(code, f_c, out)
        return const(val * _pow2(-f_out), acc)
    k = int(out.signed)
    if rounding == "da4ml_native":
        return acc.quantize(k, out.width - out.frac - k, f_out, "SAT", "RND")
    f_acc = _frac_bits(acc)
    if f_acc <= f_out:  # already on the output grid: only saturation
        return saturate(acc, acc, out)
    if rounding == "half_up":
        t = acc + _pow2(-f_out - 1)
        return saturate(floor_to(t, f_out), t, out)
    if rounding == "half_even_tiemux":
        t = acc + _pow2(-f_out - 1)
        y = _round_half_even_tiemux(t, f_out, f_acc)
        # floor(t / 2**p) equals floor(y / 2**p) unless the cleared LSB is itself
        # an overflow-tested bit (a 1-bit signed output); then test y.
        lsb_tested = out.signed and out.width == 1
        return saturate(y, y if lsb_tested else t, out)
    eps = _pow2(-f_acc)
    kept_lsb = acc.quantize(0, 1 - f_out, f_out)  # b * 2**-f_out: bit f_out of floor(acc)
    t = (acc + (_pow2(-f_out - 1) - eps)) + (kept_lsb >> (f_acc - f_out))
    if rounding == "half_even_textbook":
        return t.quantize(k, out.width - out.frac - k, f_out, "SAT", "TRN")
    return saturate(floor_to(t, f_out), t, out)


def _round_const_up(code: int, frac: int, out: FixedType) -> int:
    shift = frac - out.frac
    if shift > 0:
        code = (code + (1 << (shift - 1))) >> shift
    else:
        code <<= -shift
    return min(max(code, out.min_int), out.max_int)


def requantize_array(acc: FixedVariableArray, out: FixedType, rounding: str = "half_even") -> FixedVariableArray:
    """Element-wise :func:`requantize_variable` over a traced array."""
    return map_elements(acc, lambda v: requantize_variable(v, out, rounding))


def elements(arr: FixedVariableArray) -> list[FixedVariable]:
    """The traced variables of ``arr``, flat (row-major)."""
    flat = arr.ravel()
    return [flat[j] for j in range(len(flat))]


def from_elements(values: list, like: FixedVariableArray) -> FixedVariableArray:
    """A flat traced array of ``values`` (variables; a constant needs at least one variable beside it)."""
    vars_ = np.empty(len(values), dtype=object)
    vars_[:] = values
    return FixedVariableArray(vars_, like.solver_options)


def map_elements(arr: FixedVariableArray, fn) -> FixedVariableArray:
    """``fn`` applied to every traced variable of ``arr`` (shape kept)."""
    return from_elements([fn(v) for v in elements(arr)], arr).reshape(*arr.shape)
