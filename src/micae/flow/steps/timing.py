"""Timing analyses of the RTL that include routing: open place-and-route (``--pnr``) and Vivado
out-of-context implementation (when ``vivado`` is on PATH). Each returns its analysis (a
:class:`~micae.results.hardware.PnrAnalysis` / :class:`~micae.results.hardware.VendorAnalysis`), or says
why it did not run; the report takes the headline latency in ns from the most trusted one."""

from __future__ import annotations

import contextlib
import contextvars
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from micae.flow.context import FlowContext
from micae.flow.results import SkippedAnalysis
from micae.log import info, progress
from micae.results.hardware import ClosureAttempt, PnrAnalysis, VendorAnalysis
from micae.results.rtl import RtlSection

PNR_TIMEOUT_S = 3600.0
VIVADO_TIMEOUT_S = 4 * 3600.0


def place_and_route(ctx: FlowContext) -> list[PnrAnalysis | RtlSection | SkippedAnalysis]:
    """nextpnr (yowasp) on the RTL behind a pin wrapper, seeded; ``--pnr off`` skips it.

    Timing closure: when the clock is missed and the RTL was cut by the family's delay model, the model's
    routing share is scaled to the measured period (:func:`micae.rtl.delay_model.corrected_model`), the
    RTL is cut again and placed and routed again, at most ``--close-timing`` times. The cut that ships, and
    that the RTL levels verify (they run after this step), is the first that met the clock, else the
    fastest; every attempt is recorded. After a re-cut the step also returns the RTL section of the cut
    that ships (it replaces the first cut's).
    """
    req = ctx.request
    if ctx.rtl_dir is None or ctx.rtl is None:
        return []
    if req.pnr == "off":
        return [SkippedAnalysis("place-and-route", "--pnr off")]
    with _yosys_beside(ctx):
        entry = _pnr(ctx, "pnr")
        # (the delay model that cut the RTL, None: the family's; its place-and-route; the cut's cycles and estimate)
        tried = [(None, entry, _cut(ctx))]
        model = None
        for k in range(1, req.close_timing + 1):
            if entry.met or not ctx.rtl.timing_driven:
                break
            model = _recut(ctx, model, entry)
            entry = _pnr(ctx, f"pnr_recut{k}")
            tried.append((model, entry, _cut(ctx)))
    if len(tried) == 1:
        return [entry]
    return [_keep_best(ctx, tried), ctx.rtl]


@contextlib.contextmanager
def _yosys_beside(ctx: FlowContext) -> Iterator[None]:
    """nextpnr (WebAssembly) keeps one core busy for minutes: meanwhile yosys' resources and logic STA of this
    cut run on the other, into the tool cache (:mod:`micae.cache`), on a copy of the sources. The
    ``rtl_resources`` step after place-and-route then reads them from the cache (it says so in report.json);
    after a re-cut it runs yosys on the new cut. Nothing is filed from here; a failure is only logged."""
    from micae.cache import cache_root

    req = ctx.request
    listing = ctx.rtl_dir / "sources.f" if ctx.rtl_dir is not None else None
    if not req.rtl_resources or cache_root() is None or ctx.rtl is None or listing is None or not listing.is_file():
        yield
        return
    rtl_dir, top = listing.parent, ctx.rtl.top
    names = listing.read_text().split()
    snapshot = Path(tempfile.mkdtemp(prefix="micae_yosys_beside_"))
    for name in ["sources.f", *names]:
        shutil.copyfile(rtl_dir / name, snapshot / name)

    def run() -> None:
        from micae.flow.steps.rtl import YOSYS_TIMEOUT_S
        from micae.rtl.sta import logic_sta_and_resources

        try:
            with progress("rtl: yosys beside place-and-route (into the tool cache)"):
                opts = req.options
                logic_sta_and_resources(snapshot, top, opts.part, opts.clock_ns, timeout_s=YOSYS_TIMEOUT_S)
        except Exception as exc:  # the rtl_resources step runs it again and reports what fails
            info(f"yosys beside place-and-route failed ({exc}); the rtl_resources step runs it again")

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), name="micae-yosys-beside-pnr")
    thread.start()
    try:
        yield
    finally:
        thread.join()
        shutil.rmtree(snapshot, ignore_errors=True)


def _keep_best(ctx: FlowContext, tried: list[tuple]) -> PnrAnalysis:
    """The cut that ships: the first that met the clock, else the fastest. A deeper cut can route slower
    (more flip-flops spread the placement), so a slower last cut is replaced by the best one, cut again
    (the cut is deterministic) so the RTL levels verify what its place-and-route measured."""
    from micae.flow.steps.rtl import cut_rtl

    attempts = [_attempt(entry, cut) for _, entry, cut in tried]
    best = min(range(len(tried)), key=lambda i: (not tried[i][1].met, tried[i][1].period_ns or 1e9))
    if best != len(tried) - 1:
        model, entry, _ = tried[best]
        info(f"timing closure: the last cut was slower; keeping the cut placed in {entry.work_dir}/")
        section = cut_rtl(ctx, model or ctx.request.pnr)
        if section.latency_cycles != attempts[best].cycles:
            raise AssertionError("timing closure: cutting again with the same delay model gave another pipeline")
    attempts = [a.model_copy(update={"shipped": i == best}) for i, a in enumerate(attempts)]
    return tried[best][1].model_copy(update={"closure": attempts})


def _pnr(ctx: FlowContext, work: str) -> PnrAnalysis:
    from micae.rtl.pnr import place_and_route as pnr

    req, rtl = ctx.request, _rtl(ctx)
    with progress(f"rtl: place and route ({req.pnr}, nextpnr, {rtl.latency_cycles} cycles)"):
        entry = pnr(
            ctx.rtl_path,
            rtl.top,
            family=req.pnr,
            device=req.pnr_device,
            clock_ns=req.options.clock_ns,
            seed=req.pnr_seed,
            timeout_s=PNR_TIMEOUT_S,
            work_dir=ctx.fw_out / work,
        )
    return entry.model_copy(update={"work_dir": work})  # relative to the firmware folder (the stage is renamed)


def _recut(ctx: FlowContext, model, entry: PnrAnalysis):
    """Cut the RTL again with the delay model (``model``, else the family's) corrected to ``entry``'s period."""
    from micae.da4ml_api import load_pipeline
    from micae.flow.steps.rtl import cut_rtl
    from micae.rtl.delay_model import corrected_model, model_for

    period = _measured(entry)
    pipe = load_pipeline(ctx.rtl_path / "da4ml_pipeline.json")
    model = corrected_model(model_for(model or ctx.request.pnr), pipe, period)
    info(
        f"timing closure: {period:.2f} ns measured against {ctx.request.options.clock_ns} ns; "
        f"cutting again with the delay model corrected to it ({model.calibration.rsplit('; ', 1)[-1]})"
    )
    cut_rtl(ctx, model)
    return model


def _measured(entry: PnrAnalysis) -> float:
    period = entry.period_ns or (1000.0 / entry.fmax_mhz if entry.fmax_mhz else None)
    if period is None:
        raise RuntimeError("timing closure: the place-and-route result has no achieved period")
    return float(period)


def _rtl(ctx: FlowContext) -> RtlSection:
    if ctx.rtl is None:
        raise RuntimeError("place-and-route runs after the rtl step")
    return ctx.rtl


def _cut(ctx: FlowContext) -> dict:
    """The RTL as it is cut now: cycles and what the delay model predicted for it."""
    rtl = _rtl(ctx)
    estimate = rtl.timing_estimate
    return {
        "cycles": rtl.latency_cycles,
        "predicted_period_ns": estimate.predicted_period_ns if estimate else None,
        "delay_model": estimate.calibration if estimate else None,
    }


def _attempt(entry: PnrAnalysis, cut: dict) -> ClosureAttempt:
    """One place-and-route of one cut: stages, what the delay model predicted, what nextpnr measured."""
    return ClosureAttempt(
        **cut,
        measured_period_ns=entry.period_ns,
        fmax_mhz=entry.fmax_mhz,
        slack_ns=entry.slack_ns,
        met=entry.met,
        work_dir=entry.work_dir or "",
    )


def vivado(ctx: FlowContext) -> list[VendorAnalysis | SkippedAnalysis]:
    """Vivado out-of-context synthesis + implementation of the RTL on ``--part``, when Vivado is installed."""
    from micae.rtl.vivado_timing import vivado_timing

    req = ctx.request
    if ctx.rtl_dir is None or ctx.rtl is None:
        return []
    if req.vendor == "off":
        return [SkippedAnalysis("vendor", "--vendor off")]
    if shutil.which("vivado") is None:
        return [SkippedAnalysis("vendor", "vivado is not on PATH (source Vivado's settings64.sh to add it)")]
    with progress("rtl: Vivado out-of-context implementation"):
        entry = vivado_timing(
            ctx.rtl_dir,
            req.options.part,
            req.options.clock_ns,
            top=ctx.rtl.top,
            timeout_s=VIVADO_TIMEOUT_S,
            work_dir=ctx.fw_out / "vivado",
        )
    return [entry.model_copy(update={"work_dir": "vivado"}) if entry.work_dir else entry]  # as pnr's: relative
