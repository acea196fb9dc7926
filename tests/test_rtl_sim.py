"""Generated RTL is bit-exact with the integer (QKeras) model in Icarus Verilog, and wrong rounding is caught."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from bench.reference_encoders import conv_dense_encoder

from micae.fixed.graph import IntegerEncoder
from micae.fixed.ops import AffineStage
from micae.fixed.types import FixedType
from micae.rtl import EXACT_MODES, evaluate, simulate_rtl, trace_encoder, write_rtl
from micae.verify.vectors import build_vector_set, coverage, tie_vectors

needs_iverilog = pytest.mark.skipif(
    subprocess.run(["sh", "-c", "command -v iverilog && command -v vvp"], capture_output=True).returncode != 0,
    reason="iverilog/vvp not installed",
)


def one_stage(in_t: FixedType, out_t: FixedType, weights, weight_frac: int, bias, bias_frac: int) -> IntegerEncoder:
    w = np.asarray(weights, dtype=np.int64).reshape(1, -1)
    stage = AffineStage(
        "q", "dense", w, weight_frac, np.asarray(bias, dtype=np.int64), bias_frac, out_t, "quantized_bits"
    )
    return IntegerEncoder("one_stage", (1,), in_t, "quantized_bits", (stage,))


def tiny_encoder(**kw) -> IntegerEncoder:
    args = dict(input_shape=(3, 3, 1), filters=2, n_latent=4, name="tiny", sigma=14.0)
    args.update(kw)
    return conv_dense_encoder(**args)


# Requantizer formats where every input code is simulated: ties, both saturations, a 1-bit
# signed output, a coarse (negative frac) output, an output finer than the accumulator.
ROUNDING_CASES = {
    "signed": (FixedType(10, 6, True), FixedType(5, 2, True), [1, -1, 3, -5, 7], 1, [0, 1, -3, 5, 0], 7),
    "unsigned_relu": (FixedType(10, 6, True), FixedType(4, 1, False), [1, -3, 5, 2], 0, [0, 1, 0, -9], 6),
    "one_bit": (FixedType(9, 3, True), FixedType(1, 0, True), [1, -1], 1, [3, 0], 4),
    "coarse": (FixedType(10, 2, False), FixedType(4, -2, True), [-1, 3, 1], 0, [0, 0, 5], 2),
    "finer_out": (FixedType(6, 0, True), FixedType(7, 1, True), [1, -1, 5], 0, [0, 2, 0], 0),
}


@needs_iverilog
@pytest.mark.parametrize("mode", EXACT_MODES)
@pytest.mark.parametrize("case", sorted(ROUNDING_CASES))
def test_requantizer_exhaustive_in_icarus(tmp_path, case, mode):
    in_t, out_t, w, wf, b, bf = ROUNDING_CASES[case]
    enc = one_stage(in_t, out_t, w, wf, b, bf)
    x = np.arange(in_t.min_int, in_t.max_int + 1, dtype=np.int64)[:, None]
    want = enc.latents(x)
    traced = trace_encoder(enc, rounding=mode)
    assert np.array_equal(evaluate(traced, x), want)
    write_rtl(enc, tmp_path, vectors_in=x, latency_cutoff=2, traced=traced)
    res = simulate_rtl(tmp_path, x, want, timeout_s=120).to_json()
    assert res["mismatches"] == 0, res["first_mismatches"]
    assert res["vectors"] == len(x) and res["max_abs_lsb_error"] == 0


@needs_iverilog
def test_half_up_rounding_is_caught_on_ties(tmp_path):
    in_t, out_t, w, wf, b, bf = ROUNDING_CASES["signed"]
    enc = one_stage(in_t, out_t, w, wf, b, bf)
    x = np.arange(in_t.min_int, in_t.max_int + 1, dtype=np.int64)[:, None]
    want = enc.latents(x)
    write_rtl(enc, tmp_path, vectors_in=x, rounding="half_up")
    res = simulate_rtl(tmp_path, x, want, timeout_s=120).to_json()
    assert res["mismatches"] > 0 and res["max_abs_lsb_error"] == 1
    idx, expected, got = res["first_mismatches"][0]
    assert expected == want[idx].tolist() and got != expected


@needs_iverilog
def test_tiny_conv_encoder_full_flow(tmp_path):
    enc = tiny_encoder()
    x, _ = build_vector_set(enc, 300, seed=3)
    want = enc.latents(x)
    rep = write_rtl(
        enc, tmp_path / "firmware" / enc.name / "rtl", vectors_in=x, latency_cutoff=3, clock_ns=4.0
    ).to_json()
    rtl_dir = tmp_path / "firmware" / enc.name / "rtl"
    assert json.loads((rtl_dir / "rtl.json").read_text()) == rep
    assert rep["ports"]["input"] == {
        "width": 8,
        "frac": 8,
        "signed": False,
        "count": 9,
        "bus_width": 72,
        "order": rep["ports"]["input"]["order"],
    }
    assert rep["ports"]["output"]["bus_width"] == 4 * 9
    assert rep["latency_cycles"] == rep["da4ml"]["stages"] + 1 and rep["clock_ns"] == 4.0
    assert rep["da4ml"]["latency_cutoff"] == 3 and rep["da4ml"]["cost"] > 0 and rep["da4ml"]["version"]
    for name in rep["files"]:
        assert (rtl_dir / name).is_file(), name
    header = (rtl_dir / f"{rep['top']}.v").read_text().split("module ")[0]
    for needle in (
        "x[71:0]",
        "y[35:0]",
        "unsigned, 8 fractional",
        "two's complement, 6 fractional",
        "Element j",
        "(h*3 + w)*1 + c",
    ):
        assert needle in header, needle
    res = simulate_rtl(rtl_dir, x, want, timeout_s=120).to_json()
    assert res["mismatches"] == 0, res["first_mismatches"]
    # The shipped script reruns the same check on the shipped vectors.
    out = subprocess.run([str(rtl_dir / "run_sim.sh")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and f"PASS {len(x)}" in out.stdout


@needs_iverilog
def test_mismatch_report_decodes_values(tmp_path):
    enc = tiny_encoder()
    x, _ = build_vector_set(enc, 40, seed=4)
    want = enc.latents(x)
    write_rtl(enc, tmp_path, vectors_in=x)
    bad = want.copy()
    bad[5, 2] = want[5, 2] - 3 if want[5, 2] - 3 >= enc.latent_type.min_int else want[5, 2] + 3
    res = simulate_rtl(tmp_path, x, bad, timeout_s=120).to_json()
    assert res["mismatches"] == 1 and res["max_abs_lsb_error"] == 3
    assert res["first_mismatches"] == [[5, bad[5].tolist(), want[5].tolist()]]


# name -> encoder; the ECON-T-like default first.
ENCODERS = {
    "econt_like": lambda: conv_dense_encoder(),
    "valid_padding": lambda: conv_dense_encoder(input_shape=(5, 5, 2), padding="valid", name="valid_conv"),
    "input_8x8x1": lambda: conv_dense_encoder(input_shape=(8, 8, 1), filters=4, name="img8x8"),
    "signed_in_unsigned_latent": lambda: conv_dense_encoder(
        input_type=FixedType(8, 6, True),
        conv_out=FixedType(8, 5, True),
        latent=FixedType(8, 5, False),
        name="signed_in",
    ),
}


@pytest.mark.slow
@needs_iverilog
@pytest.mark.parametrize("name", list(ENCODERS))
def test_encoder_bit_exact_in_icarus(tmp_path, name):
    enc = ENCODERS[name]()
    x, slices = build_vector_set(enc, 500, seed=11)
    want = enc.latents(x)
    cov = coverage(enc, x)
    assert all(c["tie_values"] > 0 for c in cov), cov  # ties reached in every stage
    assert sum(c["saturated_high"] for c in cov) > 0 and sum(c["saturated_low"] for c in cov) > 0, cov
    traced = trace_encoder(enc)
    wide = np.concatenate([x, build_vector_set(enc, 5000, seed=12)[0]])
    assert np.array_equal(evaluate(traced, wide), enc.latents(wide))  # da4ml's interpreter, many vectors
    rep = write_rtl(enc, tmp_path, vectors_in=x, clock_ns=5.0, traced=traced).to_json()
    assert rep["latency_cycles"] <= 6
    res = simulate_rtl(tmp_path, x, want, timeout_s=300).to_json()
    assert res["mismatches"] == 0, res["first_mismatches"]


@pytest.mark.slow
@needs_iverilog
def test_wrong_rounding_caught_on_econt_ties(tmp_path):
    enc = conv_dense_encoder()
    x = tie_vectors(enc, 60, np.random.default_rng(2))
    want = enc.latents(x)
    write_rtl(enc, tmp_path, vectors_in=x, rounding="half_up")
    res = simulate_rtl(tmp_path, x, want, timeout_s=300).to_json()
    assert res["mismatches"] > 0
    assert res["max_abs_lsb_error"] is not None and res["max_abs_lsb_error"] >= 1


@needs_iverilog
def test_unused_inputs_and_constant_latents(tmp_path):
    """A never-read input vanishes from da4ml's bus; all-zero weight columns give constant latents."""
    rng = np.random.default_rng(7)
    w1 = rng.integers(-20, 20, size=(5, 4))
    w1[2] = 0  # input 2 is never read
    w2 = rng.integers(-20, 20, size=(4, 4))
    w2[:, 1] = 0  # latent 1 is its bias, requantized
    w2[:, 3] = 0  # latent 3 is zero
    s1 = AffineStage("a", "dense", w1, 4, rng.integers(-50, 50, 4), 10, FixedType(6, 3, False), "quantized_relu")
    s2 = AffineStage("b", "dense", w2, 4, np.array([3, -37, 11, 0]), 7, FixedType(7, 4, True), "quantized_bits")
    enc = IntegerEncoder("edge", (5,), FixedType(7, 6, True), "quantized_bits", (s1, s2))
    x = np.concatenate([build_vector_set(enc, 200, seed=1)[0], np.array([[-64, 63, -64, 63, 0]])])
    want = enc.latents(x)
    assert len(np.unique(want[:, 1])) == 1 and want[0, 1] != 0 and np.all(want[:, 3] == 0)
    rep = write_rtl(enc, tmp_path, vectors_in=x).to_json()
    assert rep["top"] == "edge_enc"  # 'edge' is a Verilog keyword
    assert "never read" in (tmp_path / "edge_enc.v").read_text()
    res = simulate_rtl(tmp_path, x, want, timeout_s=120).to_json()
    assert res["mismatches"] == 0, res["first_mismatches"]
