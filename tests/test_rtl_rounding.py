"""The da4ml requantizer is QKeras' requantize: half-even rounding and saturation, ties included.

Checked exhaustively over every accumulator code of randomly drawn formats,
with da4ml's C++ interpreter (all codes) and its Python interpreter (a sample).
"""

from __future__ import annotations

import numpy as np
import pytest
from da4ml.trace import FixedVariableArray, HWConfig, comb_trace
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from micae.fixed.arith import requantize
from micae.fixed.traced import EXACT_MODES, requantize_variable
from micae.fixed.types import FixedType

EXHAUSTIVE_MAX = 1 << 12


def _graph(acc_t: FixedType, out: FixedType, rounding: str, negate: bool, bias_code: int):
    """in -> (+/-in + bias) -> requantize; returns the graph and the accumulator codes it sees."""
    k = int(acc_t.signed)
    x = FixedVariableArray.from_kif(
        np.array([k]), np.array([acc_t.width - acc_t.frac - k]), np.array([acc_t.frac]), hwconf=HWConfig(1, -1, -1)
    )
    v = x[0]
    acc = (-v if negate else v) + float(bias_code) * 2.0**-acc_t.frac
    y = requantize_variable(acc, out, rounding)
    return comb_trace(x, [y])


def _codes(acc_t: FixedType) -> np.ndarray:
    codes = np.arange(acc_t.min_int, acc_t.max_int + 1, dtype=np.int64)
    if len(codes) > EXHAUSTIVE_MAX:
        rng = np.random.default_rng(len(codes))
        codes = np.unique(np.concatenate([codes[:512], codes[-512:], rng.choice(codes, EXHAUSTIVE_MAX)]))
    return codes


def _run(comb, acc_t: FixedType, out: FixedType, codes: np.ndarray) -> np.ndarray:
    got = np.asarray(comb.predict((codes * 2.0**-acc_t.frac)[:, None]), dtype=np.float64)[:, 0]
    scaled = got * 2.0**out.frac
    assert np.array_equal(scaled, np.rint(scaled)), "output off the latent grid"
    return scaled.astype(np.int64)


formats = st.tuples(
    st.integers(2, 13),  # accumulator width
    st.integers(-2, 12),  # accumulator frac
    st.booleans(),  # accumulator signed
    st.integers(1, 10),  # output width
    st.integers(-3, 10),  # output frac
    st.booleans(),  # output signed
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Regressions: tiny negative values whose floor is -1 LSB; a 1-bit signed output with negative frac.
@example(fmt=(2, 12, False, 6, 3, True), rounding="half_even_tiemux", negate=True, bias=-305)
@example(fmt=(3, 8, False, 6, -1, True), rounding="half_even_tiemux", negate=True, bias=-313)
@example(fmt=(2, 12, False, 6, 3, True), rounding="half_even", negate=True, bias=-305)
@example(fmt=(2, 0, True, 1, -1, True), rounding="half_even_tiemux", negate=False, bias=0)
@example(fmt=(2, 0, True, 1, -1, True), rounding="half_even", negate=False, bias=0)
@example(fmt=(2, 0, False, 1, 1, False), rounding="half_even", negate=False, bias=0)
@given(
    fmt=formats,
    rounding=st.sampled_from(EXACT_MODES),
    negate=st.booleans(),
    bias=st.integers(-300, 300),
)
def test_half_even_matches_requantize_exhaustively(fmt, rounding, negate, bias):
    aw, af, asg, ow, of, osg = fmt
    acc_t, out = FixedType(aw, af, asg), FixedType(ow, of, osg)
    comb = _graph(acc_t, out, rounding, negate, bias)
    codes = _codes(acc_t)
    acc = (-codes if negate else codes) + bias
    want = requantize(acc, af, out)
    got = _run(comb, acc_t, out, codes)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"acc code {acc[bad[0]]} (frac {af}) -> {got[bad[0]]}, QKeras gives {want[bad[0]]}"
    # The pure-Python interpreter of the same program agrees (a sample: it is slow).
    for c in codes[:: max(1, len(codes) // 16)]:
        py = float(comb([c * 2.0**-af])[0]) * 2.0**of
        assert py == want[np.searchsorted(codes, c)]


def test_ties_and_saturation_are_exercised():
    """A dense grid of ties on both sides of zero and past both bounds, signed and unsigned outputs."""
    acc_t = FixedType(12, 6, True)
    codes = _codes(acc_t)
    for out in (FixedType(5, 2, True), FixedType(4, 1, False), FixedType(3, -1, True)):
        shift = acc_t.frac - out.frac
        ties = (codes & ((1 << shift) - 1)) == (1 << (shift - 1))
        rounded_floor = codes >> shift
        assert ties.sum() > 10 and (rounded_floor > out.max_int).any() and (rounded_floor < out.min_int).any()
        got = _run(_graph(acc_t, out, "half_even", False, 0), acc_t, out, codes)
        assert np.array_equal(got, requantize(codes, acc_t.frac, out))


def test_half_up_differs_exactly_at_ties_with_even_floor():
    acc_t, out = FixedType(10, 5, True), FixedType(6, 2, True)
    codes = _codes(acc_t)
    got = _run(_graph(acc_t, out, "half_up", False, 0), acc_t, out, codes)
    want = requantize(codes, acc_t.frac, out)
    shift = acc_t.frac - out.frac
    tie = (codes & ((1 << shift) - 1)) == (1 << (shift - 1))
    even_floor = ((codes >> shift) & 1) == 0
    inside = ((codes >> shift) + 1 <= out.max_int) & ((codes >> shift) >= out.min_int)
    assert np.array_equal(got != want, tie & even_floor & inside)
    assert (got != want).sum() > 0


@pytest.mark.parametrize("value", [-3.25, 0.0, 0.375, 1.5, 100.0])
def test_constant_accumulator_folds(value):
    """All-zero weight columns leave a constant (the bias): it is rounded at trace time."""
    out = FixedType(6, 2, True)
    x = FixedVariableArray.from_kif(np.array([0]), np.array([4]), np.array([0]), hwconf=HWConfig(1, -1, -1))
    c = x[0] * 0 + value
    y = requantize_variable(c, out)
    assert y.low == y.high
    assert int(float(y.low) * 4) == int(requantize(np.array([int(value * 8)]), 3, out)[0])
