"""Steps of the open-source RTL route: ``rtl`` (da4ml Verilog, cocotb export), ``rtl_sim`` (Verilator on every
RTL vector: the ``rtl`` level), ``rtl_crosscheck`` (Icarus on the ties, saturations and a random subset) and
``rtl_resources`` (one yosys run: resources and per-stage logic STA). The last three only read the written
folder, so they run at once."""

from __future__ import annotations

from micae.errors import ConstraintError, ToolError
from micae.flow.context import FlowContext
from micae.flow.results import LevelResult, RouteResult, TimingAnalysis
from micae.flow.steps.rtl_vectors import rtl_vector_set
from micae.flow.steps.vectors import level_from_comparison
from micae.log import info, progress

ROUTE_NAME = "micae rtl (da4ml) + yosys"
SIM_TIMEOUT_S = 1800.0
YOSYS_TIMEOUT_S = 1800.0
CROSSCHECK_VECTORS = 1000


def write(ctx: FlowContext) -> list[LevelResult]:
    """Write the pipelined Verilog, testbench and vectors; on ``--rtl auto`` a route that cannot run says why."""
    req = ctx.request
    if req.rtl == "off":
        return _skip(ctx, "--rtl off")
    if ctx.encoder is None:
        reason = "the encoder could not be read exactly, so there is no integer model to build RTL from"
        if req.rtl == "on":
            raise ConstraintError(f"--rtl on: {reason}", "fix the model's quantizers (see the guard's message)")
        return _skip(ctx, reason)
    try:
        _write(ctx)
    except (ConstraintError, ToolError) as exc:
        if req.rtl == "on":
            raise
        info(f"warning: RTL route skipped: {exc.one_line()}")
        return _skip(ctx, exc.one_line())
    return []


def _write(ctx: FlowContext) -> None:
    from micae.rtl.trace import check_supported

    req = ctx.request
    check_supported(ctx.encoder)  # refuse out-of-range widths before building 10^6 vectors
    ctx.rtl_vectors = rtl_vector_set(ctx)
    cut_rtl(ctx, req.pnr if req.pnr != "off" else None)


def cut_rtl(ctx: FlowContext, family) -> None:
    """Write (or rewrite, for timing closure) the pipelined Verilog, testbench and cocotb test into ``rtl/``.

    ``family`` is a family name, a :class:`~micae.rtl.delay_model.DelayModel` (a re-cut after a
    place-and-route miss) or None (da4ml's adder-level rule)."""
    from micae.rtl.build import write_rtl
    from micae.rtl.cocotb_export import export_cocotb

    req = ctx.request
    shipped = _shipped_rows(ctx)  # the files in rtl/ (run_sim.sh, cocotb): ties, saturations, random
    with progress("rtl: trace, pipeline, write Verilog (da4ml)"):
        ctx.report.rtl = write_rtl(
            ctx.encoder,
            ctx.fw_stage / "rtl",
            latency_cutoff=req.latency_cutoff,
            clock_ns=req.options.clock_ns,
            vectors_in=ctx.rtl_vectors.codes[shipped],
            vectors_out=ctx.rtl_vectors.expected[shipped],
            family=family,
        )
    ctx.report.rtl["vectors_note"] = (
        f"rtl/ ships {len(shipped)} vectors (every tie and saturation vector of the main set + random); "
        f"the rtl level simulated {len(ctx.rtl_vectors.codes)}"
    )
    ctx.rtl_dir = ctx.fw_stage / "rtl"
    ctx.report.rtl["cocotb"] = export_cocotb(ctx.rtl_dir)
    estimate = ctx.report.rtl.get("timing_estimate")
    if estimate is None:
        ctx.report.rtl["pipeline_rule"] = (
            "da4ml adder-level cutoff from the clock (a rule of thumb, no delay model for this target): "
            "see the timing analyses for what the stages achieve"
        )


def _shipped_rows(ctx: FlowContext):
    """Rows of the RTL vectors that go into rtl/ and the Icarus cross-check: every tie and saturation vector of
    the main set, and random others up to ``CROSSCHECK_VECTORS``."""
    from micae.rtl.simulate import crosscheck_subset

    main = ctx.vectors
    return crosscheck_subset(main.slices, len(main.codes), limit=CROSSCHECK_VECTORS, seed=ctx.request.seed)


def _skip(ctx: FlowContext, reason: str) -> list[LevelResult]:
    ctx.skipped["rtl"] = reason
    return [LevelResult("rtl", status="skipped", reason=reason)]


def simulate(ctx: FlowContext) -> list[LevelResult]:
    """The ``rtl`` level: every RTL vector through Verilator, every latent compared as an integer."""
    from micae.rtl.verilator import simulate_verilator

    if ctx.rtl_dir is None:
        return []
    vec = ctx.rtl_vectors
    with progress(f"rtl: Verilator simulation of {len(vec.codes)} vectors"):
        sim = simulate_verilator(ctx.rtl_dir, vec.codes, vec.expected, timeout_s=SIM_TIMEOUT_S)
    return [_level("rtl", vec, sim)]


def crosscheck(ctx: FlowContext) -> list[LevelResult]:
    """``rtl_crosscheck``: Icarus, an independent simulator, on every tie and saturation vector of the main set
    and random others; it must agree with Verilator (both compare with QKeras' latents)."""
    from micae.rtl.simulate import simulate_rtl
    from micae.verify.compare import MAX_LISTED

    if ctx.rtl_dir is None:
        return []
    vec = ctx.rtl_vectors
    rows = _shipped_rows(ctx)
    with progress(f"rtl: Icarus cross-check on {len(rows)} vectors"):
        sim = simulate_rtl(ctx.rtl_dir, vec.codes[rows], vec.expected[rows], timeout_s=SIM_TIMEOUT_S)
    sim["mismatch_rows"] = [int(rows[r]) for r in sim.get("mismatch_rows", [])]  # back to RTL vector rows
    for row in sim.get("first_mismatches", [])[:MAX_LISTED]:
        row[0] = int(rows[row[0]])
    return [_level("rtl_crosscheck", vec, sim, subset="every tie and saturation vector of the main set + random")]


def _level(name: str, vec, sim: dict, **more) -> LevelResult:
    keys = ("seconds", "jobs", "simulator", "build_seconds", "run_seconds", "cached", "note")
    comparison = {k: v for k, v in sim.items() if k not in keys}
    return level_from_comparison(name, vec, comparison, **{k: sim[k] for k in keys if k in sim}, **more)


def resources(ctx: FlowContext) -> list:
    """One yosys ``synth_xilinx`` run: resources and the per-stage logic-only STA (a lower bound)."""
    from micae.rtl.sta import logic_sta_and_resources

    if ctx.rtl_dir is None:
        return []
    section, req = ctx.report.rtl, ctx.request
    results: list = []
    res = None
    if req.rtl_resources:
        with progress("rtl: yosys synth_xilinx + logic STA"):
            sta, res = logic_sta_and_resources(
                ctx.rtl_dir, section["top"], req.options.part, req.options.clock_ns, timeout_s=YOSYS_TIMEOUT_S
            )
        results.append(TimingAnalysis.from_dict(sta))
    cycles = section["latency_cycles"]
    latency = {
        "cycles_min": cycles,
        "cycles_max": cycles,
        "interval": 1,
        "interval_max": 1,
        "clock_ns": section["clock_ns"],
    }
    extra = {"da4ml_cost": section.get("da4ml", {}).get("cost")}
    return [RouteResult(ROUTE_NAME, "open-source", res, latency, extra), *results]
