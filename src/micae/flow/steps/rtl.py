"""Steps of the open-source RTL route: ``rtl`` (da4ml Verilog), ``rtl_sim`` (the ``rtl`` level) and
``rtl_resources`` (yosys). Simulation and synthesis only read the written folder, so they run at once."""

from __future__ import annotations

from micae.errors import ConstraintError, ToolError
from micae.flow.context import FlowContext
from micae.flow.results import LevelResult, RouteResult
from micae.flow.steps.vectors import level_from_comparison
from micae.log import info, progress

ROUTE_NAME = "micae rtl (da4ml) + yosys"
SIM_TIMEOUT_S = 1800.0
YOSYS_TIMEOUT_S = 1800.0


def write(ctx: FlowContext) -> list[LevelResult]:
    """Write the pipelined Verilog, testbench and vectors; on ``--rtl auto`` a route that cannot run says why."""
    from micae.rtl.build import write_rtl

    req = ctx.request
    if req.rtl == "off":
        return _skip(ctx, "--rtl off")
    if ctx.encoder is None:
        reason = "the encoder could not be read exactly, so there is no integer model to build RTL from"
        if req.rtl == "on":
            raise ConstraintError(f"--rtl on: {reason}", "fix the model's quantizers (see the guard's message)")
        return _skip(ctx, reason)
    vec = ctx.rtl_vectors or ctx.vectors
    try:
        with progress("rtl: trace, pipeline, write Verilog (da4ml)"):
            ctx.report.rtl = write_rtl(
                ctx.encoder,
                ctx.fw_stage / "rtl",
                latency_cutoff=req.latency_cutoff,
                clock_ns=req.options.clock_ns,
                vectors_in=vec.codes,
                vectors_out=vec.expected,
            )
    except (ConstraintError, ToolError) as exc:
        if req.rtl == "on":
            raise
        info(f"warning: RTL route skipped: {exc.one_line()}")
        return _skip(ctx, exc.one_line())
    ctx.rtl_dir = ctx.fw_stage / "rtl"
    return []


def _skip(ctx: FlowContext, reason: str) -> list[LevelResult]:
    ctx.skipped["rtl"] = reason
    return [LevelResult("rtl", status="skipped", reason=reason)]


def simulate(ctx: FlowContext) -> list[LevelResult]:
    """The ``rtl`` level: every vector through the written testbench, latents compared as integers."""
    from micae.rtl.simulate import simulate_rtl

    if ctx.rtl_dir is None:
        return []
    vec = ctx.rtl_vectors or ctx.vectors
    with progress(f"rtl: Icarus simulation of {len(vec.codes)} vectors"):
        sim = simulate_rtl(ctx.rtl_dir, vec.codes, vec.expected, timeout_s=SIM_TIMEOUT_S)
    comparison = {k: v for k, v in sim.items() if k not in ("seconds", "jobs", "simulator")}
    extra = {k: sim[k] for k in ("seconds", "jobs", "simulator") if k in sim}
    return [level_from_comparison("rtl", vec, comparison, **extra)]


def resources(ctx: FlowContext) -> list[RouteResult]:
    """yosys ``synth_xilinx`` resources and the pipeline's cycles: the open-source route's row."""
    from micae.rtl.yosys import yosys_resources

    if ctx.rtl_dir is None:
        return []
    section = ctx.report.rtl
    res = None
    if ctx.request.rtl_resources:
        with progress("rtl: yosys synth_xilinx"):
            res = yosys_resources(ctx.rtl_dir, section["top"], ctx.request.options.part, timeout_s=YOSYS_TIMEOUT_S)
    cycles = section["latency_cycles"]
    latency = {
        "cycles_min": cycles,
        "cycles_max": cycles,
        "interval": 1,
        "interval_max": 1,
        "clock_ns": section["clock_ns"],
        "ns": cycles * section["clock_ns"],
    }
    return [
        RouteResult(
            ROUTE_NAME,
            "open-source",
            res,
            latency,
            {"da4ml_cost": section.get("da4ml", {}).get("cost")},
        )
    ]
