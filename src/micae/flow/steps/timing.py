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
    """nextpnr (yowasp) on the RTL behind a pin wrapper, seeded; ``--pnr off`` skips it.

    Timing closure: when the clock is missed and the RTL was cut by the family's delay model, the model's
    routing share is scaled to the measured period (:func:`micae.rtl.delay_model.corrected_model`), the
    RTL is cut again and placed and routed again, at most ``--close-timing`` times. The cut that ships, and
    that the RTL levels verify (they run after this step), is the first that met the clock, else the
    fastest; every attempt is recorded.
    """
    req = ctx.request
    if ctx.rtl_dir is None:
        return []
    if req.pnr == "off":
        ctx.report.skipped_analyses["place-and-route"] = "--pnr off"
        return []
    entry = _pnr(ctx, "pnr")
    # (the delay model that cut the RTL, None: the family's; its place-and-route; the cut's cycles and estimate)
    tried = [(None, entry, _cut(ctx))]
    model = None
    for k in range(1, req.close_timing + 1):
        if entry.get("met") or not ctx.report.rtl["da4ml"].get("pipelining", "").startswith("timing-driven"):
            break
        model = _recut(ctx, model, entry)
        entry = _pnr(ctx, f"pnr_recut{k}")
        tried.append((model, entry, _cut(ctx)))
    if len(tried) > 1:
        entry = _keep_best(ctx, tried)
    return [TimingAnalysis.from_dict(entry)]


def _keep_best(ctx: FlowContext, tried: list[tuple]) -> dict:
    """The cut that ships: the first that met the clock, else the fastest. A deeper cut can route slower
    (more flip-flops spread the placement), so a slower last cut is replaced by the best one, cut again
    (the cut is deterministic) so the RTL levels verify what its place-and-route measured."""
    from micae.flow.steps.rtl import cut_rtl
    from micae.log import info

    attempts = [_attempt(entry, cut) for _, entry, cut in tried]
    best = min(range(len(tried)), key=lambda i: (not tried[i][1].get("met"), tried[i][1].get("period_ns") or 1e9))
    if best != len(tried) - 1:
        model, entry, _ = tried[best]
        info(f"timing closure: the last cut was slower; keeping the cut placed in {entry['work_dir']}/")
        cut_rtl(ctx, model or ctx.request.pnr)
        if ctx.report.rtl["latency_cycles"] != attempts[best]["cycles"]:
            raise AssertionError("timing closure: cutting again with the same delay model gave another pipeline")
    for i, a in enumerate(attempts):
        a["shipped"] = i == best
    entry = tried[best][1]
    entry["closure"] = attempts
    return entry


def _pnr(ctx: FlowContext, work: str) -> dict:
    from micae.rtl.pnr import place_and_route as pnr

    req = ctx.request
    with progress(f"rtl: place and route ({req.pnr}, nextpnr, {ctx.report.rtl['latency_cycles']} cycles)"):
        entry = pnr(
            ctx.rtl_dir,
            ctx.report.rtl["top"],
            family=req.pnr,
            device=req.pnr_device,
            clock_ns=req.options.clock_ns,
            seed=req.pnr_seed,
            timeout_s=PNR_TIMEOUT_S,
            work_dir=ctx.fw_stage / work,
        )
    entry["work_dir"] = work  # relative to the firmware folder (the staged path is renamed)
    return entry


def _recut(ctx: FlowContext, model, entry: dict):
    """Cut the RTL again with the delay model (``model``, else the family's) corrected to ``entry``'s period."""
    from micae.da4ml_api import load_pipeline
    from micae.flow.steps.rtl import cut_rtl
    from micae.log import info
    from micae.rtl.delay_model import corrected_model, model_for

    pipe = load_pipeline(ctx.rtl_dir / "da4ml_pipeline.json")
    model = corrected_model(model_for(model or ctx.request.pnr), pipe, float(entry["period_ns"]))
    info(
        f"timing closure: {entry['period_ns']:.2f} ns measured against {ctx.request.options.clock_ns} ns; "
        f"cutting again with the delay model corrected to it ({model.calibration.rsplit('; ', 1)[-1]})"
    )
    cut_rtl(ctx, model)
    return model


def _cut(ctx: FlowContext) -> dict:
    """The RTL as it is cut now: cycles and what the delay model predicted for it."""
    estimate = ctx.report.rtl.get("timing_estimate") or {}
    return {
        "cycles": ctx.report.rtl["latency_cycles"],
        "predicted_period_ns": estimate.get("predicted_period_ns"),
        "delay_model": estimate.get("calibration"),
    }


def _attempt(entry: dict, cut: dict) -> dict:
    """One place-and-route of one cut: stages, what the delay model predicted, what nextpnr measured."""
    return {
        **cut,
        "measured_period_ns": entry.get("period_ns"),
        "fmax_mhz": entry.get("fmax_mhz"),
        "slack_ns": entry.get("slack_ns"),
        "met": entry.get("met"),
        "work_dir": entry["work_dir"],
    }


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
