"""Property tests of the fixed-point core against QKeras itself, rounding ties included."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from micae.fixed.arith import quantize_float, requantize
from micae.fixed.types import FixedType
from micae.models.quantizers import QuantSpec

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def spec_and_values(draw):
    relu = draw(st.booleans())
    signed = False if relu else draw(st.booleans())
    bits = draw(st.integers(2 if signed else 1, 16))
    integer = draw(st.integers(0, bits - (1 if signed else 0)))  # QKeras fails on negative integer bits
    spec = QuantSpec(bits, integer, signed=signed, relu=relu)
    t = spec.fixed_type()
    # values on the grid, exactly half-way between grid points (ties), and far outside the range
    codes = draw(st.lists(st.integers(t.min_int - 40, t.max_int + 40), min_size=1, max_size=40))
    halves = np.asarray(codes, dtype=np.float64) + 0.5
    grid = np.asarray(codes, dtype=np.float64)
    noise = np.asarray(draw(st.lists(st.floats(-0.49, 0.49), min_size=len(codes), max_size=len(codes))))
    x = np.concatenate([grid, halves, grid + noise]) * 2.0**-t.frac
    return spec, x.astype(np.float32)


@SETTINGS
@given(spec_and_values())
def test_quantize_float_equals_qkeras(case):
    spec, x = case
    t = spec.fixed_type()
    expected = t.to_int(np.asarray(spec.qkeras()(x)))
    assert np.array_equal(quantize_float(x, t), expected)


@SETTINGS
@given(
    st.integers(2, 14),
    st.integers(0, 8),
    st.booleans(),
    st.integers(0, 10),
    st.lists(st.integers(-(2**20), 2**20), min_size=1, max_size=50),
)
def test_requantize_equals_qkeras_on_exact_accumulators(width, integer, signed, extra_frac, accs):
    """An accumulator with ``extra_frac`` more fractional bits, quantized by micae and by QKeras."""
    from qkeras import quantized_bits

    integer = min(integer, width - int(signed))
    out = FixedType(width=width, frac=width - int(signed) - integer, signed=signed)
    acc_frac = out.frac + extra_frac
    acc = np.asarray(accs, dtype=np.int64)
    # add exact ties on purpose
    if extra_frac > 0:
        acc = np.concatenate([acc, (acc >> extra_frac << extra_frac) + (1 << (extra_frac - 1))])
    x = (acc * 2.0**-acc_frac).astype(np.float32)
    # not representable in float32: QKeras itself would not see the exact value
    assume(np.array_equal(x.astype(np.float64) * 2.0**acc_frac, acc.astype(np.float64)))
    q = quantized_bits(width, integer, keep_negative=signed, alpha=1)
    expected = out.to_int(np.asarray(q(x)))
    assert np.array_equal(requantize(acc, acc_frac, out), expected)
