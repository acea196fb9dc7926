"""Step ``csim``: hls4ml's testbench compiled standalone with g++ (the sources Vitis csim compiles)."""

from __future__ import annotations

from micae.flow.context import FlowContext
from micae.flow.results import LevelResult
from micae.flow.steps.hls import copy_logs
from micae.flow.steps.vectors import level_result
from micae.log import progress


def run(ctx: FlowContext) -> list[LevelResult]:
    from micae.hls.convert import project_name_for
    from micae.verify.csim import build_csim, parse_results, run_csim

    if ctx.hls_refused is not None:
        return [LevelResult.skipped("csim", ctx.hls_refused)]
    vec = ctx.main_vectors
    try:
        exe = build_csim(ctx.hls_out, project_name_for(ctx.name))
        results = run_csim(ctx.hls_out, exe)
    finally:
        copy_logs(ctx, "csim_compile.log", "csim_run.log")
    with progress("verify: csim"):
        got = parse_results(results, vec.frac, vec.expected_codes.shape[1])
        return [level_result("csim", vec, vec.expected_codes, got)]
