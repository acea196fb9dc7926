"""The integer model: half-to-even rounding, saturation, conv unrolling, QKeras agreement."""

from fractions import Fraction

import numpy as np
import pytest

from micae.fixed.arith import quantize_float, requantize, round_half_even_shift
from micae.fixed.ops import conv2d_as_matrix
from micae.fixed.types import FixedType


def reference_round(v: int, shift: int) -> int:
    q = Fraction(v, 2**shift)
    fl = q.numerator // q.denominator
    rem = q - fl
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and fl % 2 == 1):
        return fl + 1
    return fl


def test_round_half_even_matches_exact_fractions():
    values = np.arange(-300, 301, dtype=np.int64)
    for shift in range(6):
        got = round_half_even_shift(values, shift)
        assert [int(g) for g in got] == [reference_round(int(v), shift) for v in values]


def test_ties_go_to_even():
    # 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, -3.5 -> -4 (shift 1: values are halves)
    assert round_half_even_shift(np.array([5, 7, -5, -7]), 1).tolist() == [2, 4, -2, -4]


def test_requantize_saturates_and_clips_unsigned():
    u = FixedType(width=4, frac=0, signed=False)
    s = FixedType(width=4, frac=0, signed=True)
    acc = np.array([-40, -3, 0, 7, 30, 200])
    assert requantize(acc, 2, u).tolist() == [0, 0, 0, 2, 8, 15]
    assert requantize(acc, 2, s).tolist() == [-8, -1, 0, 2, 7, 7]


def test_fixed_type_to_int_refuses_off_grid():
    t = FixedType(width=8, frac=4, signed=True)
    assert t.to_int(np.array([0.0625, -8.0])).tolist() == [1, -128]
    with pytest.raises(ValueError, match="not on the grid"):
        t.to_int(np.array([0.03]))
    with pytest.raises(ValueError, match="exceed"):
        t.to_int(np.array([8.0]))


@pytest.mark.parametrize(
    "padding,strides,shape", [("same", 2, (4, 4, 3)), ("valid", 1, (5, 5, 2)), ("same", 1, (8, 8, 1))]
)
def test_conv_matrix_matches_tensorflow(tf, padding, strides, shape):
    rng = np.random.default_rng(1)
    kernel = rng.integers(-8, 8, size=(3, 3, shape[2], 4))
    x = rng.integers(-5, 6, size=(6, *shape))
    mat, out_shape, _ = conv2d_as_matrix(kernel, shape, (strides, strides), padding)
    ours = x.reshape(6, -1) @ mat
    theirs = tf.nn.conv2d(
        x.astype(np.float64), kernel.astype(np.float64), strides=strides, padding=padding.upper()
    ).numpy()
    assert theirs.shape[1:] == out_shape
    assert np.array_equal(ours, theirs.reshape(6, -1).astype(np.int64))


def test_quantize_float_matches_qkeras(tf):
    from qkeras import quantized_bits, quantized_relu

    x = np.concatenate([np.linspace(-3, 3, 2001), np.arange(-40, 41) / 16 + 1 / 32]).astype(np.float32)
    for q, t in [
        (quantized_bits(6, 1, keep_negative=True, alpha=1), FixedType(6, 4, True)),
        (quantized_bits(5, 0, keep_negative=False, alpha=1), FixedType(5, 5, False)),
        (quantized_relu(7, 2), FixedType(7, 5, False)),
    ]:
        expected = t.to_int(np.asarray(q(x)))
        assert np.array_equal(quantize_float(x, t), expected)
