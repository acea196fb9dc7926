"""One module per stage kind: each op's integer semantics, precision rule, da4ml trace and description agree.

Encoders here are built by hand from every stage kind (no Keras), so the ops are checked on
their own: the da4ml trace of each kind equals its integer semantics on stress vectors, and
the hls4ml precisions of a hand-built encoder come from the same per-op rule the front end
records for a Keras one.
"""

from __future__ import annotations

import numpy as np
import pytest

from micae.fixed.graph import IntegerEncoder
from micae.fixed.ops import (
    UNIT_WEIGHT,
    AffineStage,
    AvgPoolStage,
    MaxPoolStage,
    Quantizer,
    RequantizeStage,
    conv2d_as_matrix,
)
from micae.fixed.types import FixedType
from micae.hls.precision import hls_precision, layer_precisions


@pytest.mark.parametrize("signed", [True, False])
def test_holding_is_the_narrowest_format(signed):
    rng = np.random.default_rng(1)
    for _ in range(3000):
        lo = int(rng.integers(-300, 300)) if signed else int(rng.integers(0, 300))
        hi = lo + int(rng.choice([0, 1, 2, 7, 64, 255]))
        t = FixedType.holding(lo, hi, 3, signed=signed)
        assert t.min_int <= lo and hi <= t.max_int and t.frac == 3 and t.signed == signed
        if t.width > 1:
            smaller = FixedType(t.width - 1, 3, signed)
            assert lo < smaller.min_int or hi > smaller.max_int, (lo, hi, t)


def test_holding_edges():
    assert FixedType.holding(-4, 3, 0).width == 3  # -4 needs no extra bit ...
    assert FixedType.holding(-4, 3, 0, symmetric=True).width == 4  # ... except in the symmetric rule
    assert FixedType.holding(-1, -1, 0).width == 1
    assert FixedType.holding(0, 0, 0, signed=True, symmetric=True).width == 2  # a constant zero: two bits
    assert FixedType.holding(0, 0, 5) == FixedType(1, 5, False)
    with pytest.raises(ValueError, match="cannot hold -1"):
        FixedType.holding(-1, 2, 0, signed=False)


def _every_kind(seed: int = 0) -> IntegerEncoder:
    """Input 4x4x2 -> conv -> max-pool -> average-pool -> dense -> floor + clip (the eLink tail)."""
    rng = np.random.default_rng(seed)
    t_in = FixedType(7, 5, True)
    kernel = rng.integers(-20, 20, size=(3, 3, 2, 4))
    mat, _, _ = conv2d_as_matrix(kernel, (4, 4, 2), (1, 1), "same")
    conv = AffineStage("conv", "conv2d", mat, 4, rng.integers(-40, 40, 64), 6, FixedType(8, 4, True), "conv_q")
    groups = np.array([[(2 * y * 4 + 2 * x + dy * 4 + dx) * 4 + c for dy in (0, 1) for dx in (0, 1)]
                       for y in range(2) for x in range(2) for c in range(4)])  # fmt: skip
    pool = MaxPoolStage("mpool", groups, FixedType(8, 4, True), meta={"n_in": 64})
    ones = np.zeros((16, 4), dtype=np.int64)
    for j in range(4):
        ones[[j, 4 + j, 8 + j, 12 + j], j] = 1
    avg = AvgPoolStage("apool", "avgpool", ones, 2, np.zeros(4, np.int64), 0, FixedType(7, 4, True), "apool_q",
                       weight_type=UNIT_WEIGHT)  # fmt: skip
    dense = AffineStage("dense", "dense", rng.integers(-30, 30, (4, 6)), 5, rng.integers(-9, 9, 6), 7,
                        FixedType(9, 6, True), "latent")  # fmt: skip
    tail = RequantizeStage("floor", "requantize", np.eye(6, dtype=np.int64), 0, np.zeros(6, np.int64), 0,
                           FixedType(6, 3, True), "floor", rounding="floor", clip=(-32, 7))  # fmt: skip
    return IntegerEncoder("every_kind", (4, 4, 2), t_in, "in_q", (conv, pool, avg, dense, tail))


def test_every_kind_traces_to_its_integer_semantics():
    from micae.rtl.trace import evaluate, trace_encoder
    from micae.verify.vectors import build_vector_set, coverage

    enc = _every_kind()
    codes, _ = build_vector_set(enc, 400, seed=3)
    want = enc.latents(codes)
    assert np.array_equal(evaluate(trace_encoder(enc), codes), want)
    cov = {c["stage"]: c for c in coverage(enc, codes)}
    assert cov["conv"]["tie_values"] > 0 and cov["dense"]["saturated_high"] > 0
    assert cov["floor"]["tie_values"] == 0 and cov["floor"]["saturated_high"] > 0  # a floor has no ties; clipped
    assert want.max() == 7  # the clip bound is reached


def test_hand_built_precisions_follow_each_ops_rule():
    """The average pool's accumulator gets room for the window sum, the floor truncates, the max-pool keeps
    its input type: the same rules the Keras front end records (one rule per op)."""
    enc = _every_kind()
    prec = {(name, own): p for name, own, p in layer_precisions(enc)}
    types = dict(zip([s.name for s in enc.stages], enc.stage_input_types()))
    avg = enc.stages[2]
    acc = avg.acc_type(types["apool"])
    assert prec[("apool", False)]["accum"] == hls_precision(FixedType(acc.width + 2, acc.frac, True))
    assert prec[("apool", False)]["result"] == prec[("apool_linear", False)]["result"] == hls_precision(acc)
    assert prec[("floor", False)]["result"] == "fixed<6,3,TRN,SAT>"
    assert prec[("latent", False)]["result"] == "fixed<9,3,RND_CONV,SAT>"
    assert prec[("mpool", False)] == {"result": "fixed<8,4>"}
    assert prec[("in_q", False)] == {"result": "fixed<7,2,RND_CONV,SAT>"}
    bits = int(np.abs(enc.stages[0].bias).max()).bit_length() + 1  # sign + magnitude (the symmetric rule)
    assert prec[("conv", False)]["bias"] == f"fixed<{bits},{bits - 6}>"


def test_quantizer_semantics():
    q = Quantizer(FixedType(4, 1, True), "floor", clip=(-8, 5), name="q")
    acc = np.array([-100, -3, -2, 0, 3, 11, 12, 100])  # units of 2**-2
    assert q.apply(acc, 2).tolist() == [-8, -2, -1, 0, 1, 5, 5, 5]
    assert not q.ties(acc, 2).any()
    half_even = Quantizer(FixedType(4, 1, True))
    assert half_even.apply(np.array([1, 3, 5, 7]), 2).tolist() == [0, 2, 2, 4]  # ties go to even
    assert half_even.ties(np.array([1, 2, 3]), 2).tolist() == [True, False, True]
    with pytest.raises(ValueError, match="unknown rounding"):
        Quantizer(FixedType(4, 1, True), "up")


def test_every_stage_describes_itself_in_one_line():
    enc = _every_kind()
    for stage, in_t in zip(enc.stages, enc.stage_input_types()):
        entry = stage.describe(in_t)
        assert entry["layer"] == stage.name and entry["kind"] == stage.kind
        assert "\n" not in entry["summary"] and entry["summary"] == stage.summary()
    assert "floor, saturate to signed 6 bits, 3 fractional, clip codes to [-32, 7]" in enc.stages[-1].summary()
    assert enc.stages[1].summary().startswith("max-pool: the largest of 4 values")
