"""Step ``vendor``: the vendor HLS flow (csim, csynth, cosim) when its tool is on PATH, and its reports."""

from __future__ import annotations

import time

from micae.flow.context import FlowContext
from micae.flow.results import LevelResult, RouteResult
from micae.flow.steps.vectors import level_result
from micae.log import progress

LEVELS = ("vendor_csim", "vendor_synth", "vendor_cosim")


def run(ctx: FlowContext) -> list:
    from micae.hls.vendor import run_vendor_flow

    req = ctx.request
    started = time.time()
    with progress("vendor: HLS flow"):
        result = run_vendor_flow(
            ctx.hls_stage,
            req.options.backend,
            mode=req.vendor,
            log_path=ctx.fw_stage / "logs" / "vendor.log",
            verilog_dest=ctx.fw_stage / "verilog",
        )
    ctx.report.vendor = result
    if result.get("status") != "ran":
        return [LevelResult(level, status="skipped", reason=result.get("reason", "")) for level in LEVELS]
    tag = _run_tag(result)
    return _levels(ctx, result, tag, started) + _routes(result, tag)


UNIDENTIFIED = "unidentified tool (no Xilinx banner in its log; not a vendor run)"


def _run_tag(result: dict) -> str:
    """'vendor' only for a tool that identified itself as Xilinx's; anything else never becomes a headline."""
    return "vendor" if result.get("identified") else UNIDENTIFIED


def _levels(ctx: FlowContext, result: dict, tag: str, started: float) -> list[LevelResult]:
    from micae.verify.csim import find_vendor_results, parse_results

    vec = ctx.vectors
    logs = find_vendor_results(ctx.hls_stage, newer_than=started - 1)
    levels = []
    for level, key in (("vendor_csim", "csim"), ("vendor_cosim", "cosim")):
        if key in logs:
            got = parse_results(logs[key], vec.latent_frac, vec.expected.shape[1])
            levels.append(level_result(level, vec, vec.expected, got, run=tag, log=str(logs[key])))
        else:
            levels.append(
                LevelResult(level, status="no results", reason=f"the {key} step wrote no results", extra={"run": tag})
            )
    has_csynth = bool((result.get("reports") or {}).get("csynth"))
    levels.append(LevelResult("vendor_synth", status="ran" if has_csynth else "no report", extra={"run": tag}))
    return levels


def _routes(result: dict, tag: str) -> list[RouteResult]:
    reports = result.get("reports") or {}
    extra = {"tool_banner": result.get("banner")}
    routes = []
    if reports.get("csynth"):
        cs = reports["csynth"]
        routes.append(
            RouteResult(f"hls4ml + {result.get('tool')} csynth", tag, cs.get("resources"), cs.get("latency"), extra)
        )
    if reports.get("vivado_synth"):
        routes.append(RouteResult("hls4ml + vivado synth", tag, reports["vivado_synth"].get("resources"), None, extra))
    return routes
