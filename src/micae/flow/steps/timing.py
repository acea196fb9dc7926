"""Timing analyses of the RTL that include routing: open place-and-route (``--pnr``) and Vivado
out-of-context implementation (when ``vivado`` is on PATH). Each returns a :class:`TimingAnalysis`;
the report takes the headline latency in ns from the most trusted one."""

from __future__ import annotations

import shutil

from micae.flow.context import FlowContext
from micae.flow.results import TimingAnalysis
from micae.log import progress

PNR_TIMEOUT_S = 3600.0
VIVADO_TIMEOUT_S = 4 * 3600.0


def place_and_route(ctx: FlowContext) -> list[TimingAnalysis]:
    """nextpnr (yowasp) on the RTL behind a pin wrapper, seeded; ``--pnr off`` skips it."""
    from micae.rtl.pnr import place_and_route as pnr

    req = ctx.request
    if ctx.rtl_dir is None:
        return []
    if req.pnr == "off":
        ctx.report.skipped_analyses["place-and-route"] = "--pnr off"
        return []
    with progress(f"rtl: place and route ({req.pnr}, nextpnr)"):
        entry = pnr(
            ctx.rtl_dir,
            ctx.report.rtl["top"],
            family=req.pnr,
            device=req.pnr_device,
            clock_ns=req.options.clock_ns,
            seed=req.pnr_seed,
            timeout_s=PNR_TIMEOUT_S,
            work_dir=ctx.fw_stage / "pnr",
        )
    entry["work_dir"] = "pnr"  # relative to the firmware folder (the staged path is renamed)
    return [TimingAnalysis.from_dict(entry)]


def vivado(ctx: FlowContext) -> list[TimingAnalysis]:
    """Vivado out-of-context synthesis + implementation of the RTL on ``--part``, when Vivado is installed."""
    from micae.rtl.vivado_timing import vivado_timing

    req = ctx.request
    if ctx.rtl_dir is None:
        return []
    if req.vendor == "off":
        ctx.report.skipped_analyses["vendor"] = "--vendor off"
        return []
    if shutil.which("vivado") is None:
        ctx.report.skipped_analyses["vendor"] = "vivado is not on PATH (source Vivado's settings64.sh to add it)"
        return []
    with progress("rtl: Vivado out-of-context implementation"):
        entry = vivado_timing(
            ctx.rtl_dir,
            req.options.part,
            req.options.clock_ns,
            top=ctx.report.rtl["top"],
            timeout_s=VIVADO_TIMEOUT_S,
            work_dir=ctx.fw_stage / "vivado",
        )
    return [TimingAnalysis.from_dict(entry)]
