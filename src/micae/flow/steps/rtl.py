"""Steps of the open-source RTL route: ``rtl`` (da4ml Verilog, cocotb export), ``rtl_sim`` (Verilator on every
RTL vector: the ``rtl`` level), ``rtl_crosscheck`` (Icarus on the ties, saturations and a random subset) and
``rtl_resources`` (one yosys run: resources and per-stage logic STA). The last three only read the written
folder, so they run at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from micae.errors import ConstraintError, ToolError
from micae.flow.context import FlowContext, VectorSet, required
from micae.flow.steps.rtl_vectors import rtl_vector_set
from micae.flow.steps.vectors import level_from_comparison
from micae.log import info, progress
from micae.results.hardware import OPEN_SOURCE, Latency, LogicStaAnalysis, Resources, RouteResult
from micae.results.levels import LevelResult, SimulationResult
from micae.results.rtl import RtlSection

ROUTE_NAME = "micae rtl (da4ml) + yosys"
SIM_TIMEOUT_S = 1800.0
YOSYS_TIMEOUT_S = 1800.0
CROSSCHECK_VECTORS = 1000


def write(ctx: FlowContext) -> list[LevelResult | RtlSection]:
    """Write the pipelined Verilog, testbench and vectors (``ctx.rtl_dir``, ``ctx.rtl``, ``ctx.rtl_vectors``);
    returns the RTL section, or on ``--rtl auto`` a skipped level that says why the route cannot run."""
    req = ctx.request
    if req.rtl == "off":
        return _skip(ctx, "--rtl off")
    if ctx.encoder is None:
        reason = "the encoder could not be read exactly, so there is no integer model to build RTL from"
        if req.rtl == "on":
            raise ConstraintError(f"--rtl on: {reason}", "fix the model's quantizers (see the guard's message)")
        return _skip(ctx, reason)
    try:
        return [_write(ctx)]
    except (ConstraintError, ToolError) as exc:
        if req.rtl == "on":
            raise
        info(f"warning: RTL route skipped: {exc.one_line()}")
        return _skip(ctx, exc.one_line())


def _write(ctx: FlowContext) -> RtlSection:
    from micae.rtl.trace import check_supported

    req = ctx.request
    check_supported(ctx.exact_encoder)  # refuse out-of-range widths before building 10^6 vectors
    ctx.rtl_vectors = rtl_vector_set(ctx)
    return cut_rtl(ctx, req.pnr if req.pnr != "off" else None)


PIPELINE_RULE = (
    "da4ml adder-level cutoff from the clock (a rule of thumb, no delay model for this target): "
    "see the timing analyses for what the stages achieve"
)


def cut_rtl(ctx: FlowContext, family) -> RtlSection:
    """Write (or rewrite, for timing closure) the pipelined Verilog, testbench and cocotb test into ``rtl/``;
    sets ``ctx.rtl_dir`` and ``ctx.rtl`` (the cut as it is now) and returns that section.

    ``family`` is a family name, a :class:`~micae.rtl.delay_model.DelayModel` (a re-cut after a
    place-and-route miss) or None (da4ml's adder-level rule)."""
    from micae.rtl.build import write_rtl

    req, vec = ctx.request, _rtl_vectors(ctx)
    shipped = _shipped_rows(ctx)  # the files in rtl/ (run_sim.sh, cocotb): ties, saturations, random
    with progress("rtl: trace, pipeline, write Verilog (da4ml)"):
        manifest = write_rtl(
            ctx.exact_encoder,
            ctx.fw_out / "rtl",
            latency_cutoff=req.latency_cutoff,
            clock_ns=req.options.clock_ns,
            vectors_in=vec.input_codes[shipped],
            vectors_out=vec.expected_codes[shipped],
            family=family,
        )
    ctx.rtl_dir = ctx.fw_out / "rtl"
    more: dict[str, Any] = {
        "vectors_note": f"rtl/ ships {len(shipped)} vectors (every tie and saturation vector of the main set + "
        f"random); the rtl level simulated {len(vec.input_codes)}",
        "cocotb": _shipped_cocotb(ctx),
    }
    if manifest.timing_estimate is None:
        more["pipeline_rule"] = PIPELINE_RULE
    ctx.rtl = RtlSection.of(manifest, **more)
    return ctx.rtl


def _shipped_cocotb(ctx: FlowContext):
    """The cocotb export, its folder named where it ships (firmware/<name>/rtl/cocotb, not the staging folder)."""
    from micae.rtl.cocotb_export import export_cocotb

    cocotb = export_cocotb(ctx.rtl_path)
    shipped = ctx.fw_dir / Path(cocotb.dir).relative_to(ctx.fw_out)
    return cocotb.model_copy(update={"dir": str(shipped)})


def _rtl_vectors(ctx: FlowContext) -> VectorSet:
    return required(ctx.rtl_vectors, "the RTL vectors")


def _shipped_rows(ctx: FlowContext):
    """Rows of the RTL vectors that go into rtl/ and the Icarus cross-check: every tie and saturation vector of
    the main set, and random others up to ``CROSSCHECK_VECTORS``."""
    from micae.rtl.simulate import crosscheck_subset

    main = ctx.main_vectors
    return crosscheck_subset(main.slices, len(main.input_codes), limit=CROSSCHECK_VECTORS, seed=ctx.request.seed)


def _skip(ctx: FlowContext, reason: str) -> list[LevelResult | RtlSection]:
    return [LevelResult.skipped("rtl", reason)]


def simulate(ctx: FlowContext) -> list[LevelResult]:
    """The ``rtl`` level: every RTL vector through Verilator, every latent compared as an integer."""
    from micae.rtl.verilator import simulate_verilator

    if ctx.rtl_dir is None:
        return []
    vec = _rtl_vectors(ctx)
    with progress(f"rtl: Verilator simulation of {len(vec.input_codes)} vectors"):
        sim = simulate_verilator(ctx.rtl_path, vec.input_codes, vec.expected_codes, timeout_s=SIM_TIMEOUT_S)
    return [_level("rtl", vec, sim)]


def crosscheck(ctx: FlowContext) -> list[LevelResult]:
    """``rtl_crosscheck``: Icarus, an independent simulator, on every tie and saturation vector of the main set
    and random others; it must agree with Verilator (both compare with QKeras' latents)."""
    from micae.rtl.simulate import simulate_rtl
    from micae.verify.compare import MAX_LISTED

    if ctx.rtl_dir is None:
        return []
    vec = _rtl_vectors(ctx)
    rows = _shipped_rows(ctx)
    with progress(f"rtl: Icarus cross-check on {len(rows)} vectors"):
        sim = simulate_rtl(ctx.rtl_path, vec.input_codes[rows], vec.expected_codes[rows], timeout_s=SIM_TIMEOUT_S)
    first = [[int(rows[row[0]]), *row[1:]] for row in sim.first_mismatches[:MAX_LISTED]]
    sim = sim.model_copy(  # back to RTL vector rows
        update={"mismatch_rows": [int(rows[r]) for r in sim.mismatch_rows or []], "first_mismatches": first}
    )
    return [_level("rtl_crosscheck", vec, sim, subset="every tie and saturation vector of the main set + random")]


def _level(name: str, vec: VectorSet, sim: SimulationResult, **more) -> LevelResult:
    return level_from_comparison(name, vec, sim, **more)


def resources(ctx: FlowContext) -> list[RouteResult | LogicStaAnalysis]:
    """One yosys ``synth_xilinx`` run: resources and the per-stage logic-only STA (a lower bound)."""
    from micae.rtl.sta import logic_sta_and_resources

    if ctx.rtl_dir is None or ctx.rtl is None:
        return []
    rtl, req = ctx.rtl, ctx.request
    analyses: list[LogicStaAnalysis] = []
    res: Resources | None = None
    if req.rtl_resources:
        with progress("rtl: yosys synth_xilinx + logic STA"):
            sta, res = logic_sta_and_resources(
                ctx.rtl_dir, rtl.top, req.options.part, req.options.clock_ns, timeout_s=YOSYS_TIMEOUT_S
            )
        analyses.append(sta)
    cycles = rtl.latency_cycles
    latency = Latency(cycles_min=cycles, cycles_max=cycles, interval=1, interval_max=1, clock_ns=rtl.clock_ns)
    route = RouteResult(route=ROUTE_NAME, kind=OPEN_SOURCE, resources=res, latency=latency, da4ml_cost=rtl.da4ml.cost)
    return [route, *analyses]
