"""Timing-driven pipelining: per-op delays, stage cuts that follow them, the clock search, the routing fit."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from bench.reference_encoders import conv_dense_encoder

from micae.errors import ConfigError
from micae.rtl import emit, simulate_rtl, write_rtl
from micae.rtl.delay_model import (
    CELL_DELAYS,
    MODELS,
    DelayModel,
    arrival_times,
    corrected_model,
    fanouts,
    fit_routing,
    longest_op_ns,
    model_for,
    op_delay_ns,
    pipeline_for_clock,
    pipeline_stage_delays,
)
from micae.rtl.trace import trace_encoder

MODEL = DelayModel("test", 1.0, 1.0, 0.05, 0.5, "hand-made for tests")


@pytest.fixture(scope="module")
def small():
    enc = conv_dense_encoder(input_shape=(4, 4, 2), filters=4, n_latent=6, name="small")
    return enc, trace_encoder(enc)


def _width(op) -> int:
    lo, hi, step = op.qint
    # bits of the two's-complement range [lo, hi] on the grid step, counted independently of da4ml's helper
    codes = max(abs(lo), abs(hi)) / step
    return math.ceil(math.log2(codes + 1)) + (1 if lo < 0 else 0)


def test_op_delays_by_kind(small):
    _, tr = small
    ops = tr.comb.ops
    add = next(op for op in ops if op.opcode == 0)
    assert op_delay_ns(add, MODEL) == pytest.approx(1.0 + 0.05 * _width(add), abs=0.051)
    assert op_delay_ns(next(op for op in ops if op.opcode == -1), MODEL) == 0.0  # input
    assert op_delay_ns(next(op for op in ops if op.opcode == 3), MODEL) == 0.0  # truncation is wiring
    assert op_delay_ns(next(op for op in ops if op.opcode == 6), MODEL) == 0.5  # MSB mux: one LUT


def test_no_op_straddles_a_register(small):
    _, tr = small
    budget = 3.3
    times = arrival_times(tr.comb, MODEL, budget)
    for op, t in zip(tr.comb.ops, times):
        d = op_delay_ns(op, MODEL)
        if d > 0:
            start = t - d
            assert math.floor(start / budget + 1e-9) == math.floor(t / budget - 1e-9), (op, t)


@pytest.mark.parametrize("clock_ns", [4.0, 6.0, 9.0])
def test_cut_meets_the_clock_with_the_fewest_stages(small, clock_ns):
    _, tr = small
    pipe, est = pipeline_for_clock(tr.comb, MODEL, clock_ns)
    actual = pipeline_stage_delays(pipe, MODEL)  # recomputed from the stages da4ml actually built
    assert actual == pytest.approx(est["stage_delays_ns"], abs=2e-3)
    assert est["met"] and max(actual) <= clock_ns + 1e-6
    assert est["kind"] == "estimate" and est["model"] == "test" and est["stages"] == len(pipe.solutions)
    # balanced: a budget 10 ps tighter than the one chosen needs another stage
    n, budget = len(pipe.solutions), est["stage_budget_ns"]
    tighter = max(arrival_times(tr.comb, MODEL, budget - 0.01))
    assert n == 1 or math.floor(tighter / (budget - 0.01 + 1e-9)) + 1 > n
    assert max(arrival_times(tr.comb, MODEL, math.inf)) <= n * (clock_ns - MODEL.t_stage)


def test_slower_clock_never_needs_more_stages(small):
    _, tr = small
    stages = [pipeline_for_clock(tr.comb, MODEL, c)[1]["stages"] for c in (3.0, 4.0, 6.0, 10.0, 40.0)]
    assert stages == sorted(stages, reverse=True) and stages[-1] == 1


def test_unreachable_clock_says_not_met(small):
    _, tr = small
    floor_ns = MODEL.t_stage + longest_op_ns(tr.comb, MODEL)
    _, est = pipeline_for_clock(tr.comb, MODEL, floor_ns - 0.2)
    assert est["met"] is False and est["predicted_period_ns"] >= floor_ns - 1e-6


def test_timing_driven_rtl_is_bit_exact_in_icarus(small, tmp_path):
    enc, tr = small
    rng = np.random.default_rng(0)
    t = enc.input_type
    x = rng.integers(t.min_int, t.max_int + 1, size=(40, enc.n_inputs))
    sec = write_rtl(enc, tmp_path, vectors_in=x, clock_ns=5.0, family="nexus", traced=tr).to_json()
    est = sec["timing_estimate"]
    assert sec["da4ml"]["latency_cutoff"] is None and sec["da4ml"]["pipelining"].startswith("timing-driven")
    assert est["kind"] == "estimate" and est["model"] == "nexus" and est["calibration"]
    assert sec["latency_cycles"] == est["stages"] + 1 == sec["da4ml"]["stages"] + 1
    res = simulate_rtl(tmp_path, x, enc.latents(x), timeout_s=300).to_json()
    assert res["mismatches"] == 0 and res["vectors"] == 40


def test_rule_of_thumb_pipeline_gets_an_estimate_only_with_a_family(small, tmp_path):
    enc, tr = small
    x = np.zeros((2, enc.n_inputs), dtype=np.int64)
    plain = write_rtl(enc, tmp_path / "a", vectors_in=x, traced=tr).to_json()
    assert plain["timing_estimate"] is None and plain["da4ml"]["latency_cutoff"] == emit.cutoff_for_clock(5.0)
    est = write_rtl(enc, tmp_path / "b", vectors_in=x, traced=tr, latency_cutoff=5, family="nexus").timing_estimate
    assert est is not None and est.to_json()["model"] == "nexus" and len(est.stage_delays_ns) == est.to_json()["stages"]


def test_unknown_family_is_a_config_error():
    with pytest.raises(ConfigError, match="no delay model"):
        model_for("stratix10")


def test_fit_recovers_known_routing(small):
    _, tr = small
    cells = CELL_DELAYS["nexus"]
    truth = replace(cells, t_stage=cells.t_stage + 0.5, t_route=0.4, t_fanout=0.3)
    pipes = [emit.make_pipeline(tr.comb, c) for c in (1, 2, 4, 8)]
    samples = [(p, max(pipeline_stage_delays(p, truth))) for p in pipes]
    grid = tuple(round(0.05 * i, 2) for i in range(13))
    fitted, resid = fit_routing(cells, samples, "nexus", route_grid=grid, fanout_grid=grid)
    assert (fitted.t_route, fitted.t_fanout) == (0.4, 0.3)
    assert fitted.t_stage == pytest.approx(truth.t_stage, abs=1e-3)
    assert max(abs(r) for r in resid) < 3e-3  # stage delays are rounded to 1 ps


def test_route_grows_with_fanout(small):
    _, tr = small
    fo = fanouts(tr.comb)
    assert max(fo) > 2  # CMVM trees share sub-expressions
    m = replace(MODEL, t_route=0.3, t_fanout=0.2)
    assert m.route(1) == pytest.approx(0.3) and m.route(8) == pytest.approx(0.9)
    slow = max(arrival_times(tr.comb, m, math.inf))
    assert slow > max(arrival_times(tr.comb, MODEL, math.inf))


def test_shipped_models_are_calibrated():
    for name, m in MODELS.items():
        assert "place-and-route" in m.calibration, name
        assert m.t_stage >= CELL_DELAYS[name].t_stage and m.t_route + m.t_fanout > 0


def test_corrected_model_predicts_the_measurement(small):
    _, tr = small
    pipe = emit.make_pipeline(tr.comb, 3)
    base = MODELS["nexus"]
    predicted = max(pipeline_stage_delays(pipe, base))
    for measured in (predicted * 1.3, predicted * 0.9):
        fixed = corrected_model(base, pipe, measured)
        assert max(pipeline_stage_delays(pipe, fixed)) == pytest.approx(measured, abs=0.02)
        assert fixed.t_adder == base.t_adder and "match one place-and-route" in fixed.calibration
