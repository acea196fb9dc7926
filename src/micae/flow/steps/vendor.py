"""Step ``vendor``: the vendor HLS flow (csim, csynth, cosim) when its tool is on PATH, and its reports."""

from __future__ import annotations

import time

from micae.flow.context import FlowContext
from micae.flow.steps.vectors import level_result
from micae.log import progress
from micae.results.hardware import RouteResult
from micae.results.levels import LevelResult
from micae.results.vendor import VendorRun

LEVELS = ("vendor_csim", "vendor_synth", "vendor_cosim")


def run(ctx: FlowContext) -> list[VendorRun | LevelResult | RouteResult]:
    from micae.hls.vendor import run_vendor_flow

    if ctx.hls_refused is not None:
        return [LevelResult.skipped(level, ctx.hls_refused) for level in LEVELS]
    req = ctx.request
    started = time.time()
    with progress("vendor: HLS flow"):
        result = run_vendor_flow(
            ctx.hls_out,
            req.options.backend,
            mode=req.vendor,
            log_path=ctx.fw_out / "logs" / "vendor.log",
            verilog_dest=ctx.fw_out / "verilog",
        )
    if not result.ran:
        return [result, *(LevelResult.skipped(level, result.reason or "") for level in LEVELS)]
    tag = _run_tag(result)
    return [result, *_levels(ctx, result, tag, started), *_routes(result, tag)]


UNIDENTIFIED = "unidentified tool (no Xilinx banner in its log; not a vendor run)"


def _run_tag(result: VendorRun) -> str:
    """'vendor' only for a tool that identified itself as Xilinx's; anything else never becomes a headline."""
    return "vendor" if result.identified else UNIDENTIFIED


def _levels(ctx: FlowContext, result: VendorRun, tag: str, started: float) -> list[LevelResult]:
    from micae.verify.csim import find_vendor_results, parse_results

    vec = ctx.main_vectors
    logs = find_vendor_results(ctx.hls_out, newer_than=started - 1)
    levels = []
    for level, key in (("vendor_csim", "csim"), ("vendor_cosim", "cosim")):
        if key in logs:
            got = parse_results(logs[key], vec.frac, vec.expected_codes.shape[1])
            levels.append(level_result(level, vec, vec.expected_codes, got, run=tag, log=str(logs[key])))
        else:
            levels.append(LevelResult.skipped(level, f"the {key} step wrote no results", "no results", run=tag))
    has_csynth = result.reports is not None and result.reports.csynth is not None
    levels.append(LevelResult(level="vendor_synth", status="ran" if has_csynth else "no report", reason="", run=tag))
    return levels


def _routes(result: VendorRun, tag: str) -> list[RouteResult]:
    reports = result.reports
    routes: list[RouteResult] = []
    if reports is None:
        return routes
    if reports.csynth is not None:
        cs = reports.csynth
        routes.append(
            RouteResult(
                route=f"hls4ml + {result.tool} csynth",
                kind=tag,
                resources=cs.resources,
                latency=cs.latency,
                tool_banner=result.banner,
            )
        )
    if reports.vivado_synth is not None:
        routes.append(
            RouteResult(
                route="hls4ml + vivado synth",
                kind=tag,
                resources=reports.vivado_synth.resources,
                latency=None,
                tool_banner=result.banner,
            )
        )
    return routes
