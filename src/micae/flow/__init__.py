"""The synthesize flow: registered steps over one context, one typed report.

``synthesize(request)`` checks the model and builds the vectors (``CHECK_STEPS``),
then runs ``BUILD_STEPS`` into staged output folders that are renamed into
``hls/<name>/`` and ``firmware/<name>/`` only when every step finished (a
failed verification still finishes: its report is the point, and the run then
raises :class:`~micae.errors.VerificationError`).
"""

from __future__ import annotations

import time
from pathlib import Path

from micae.errors import TimingError, VerificationError
from micae.flow.context import FlowContext
from micae.flow.registry import BUILD_STEPS, CHECK_STEPS
from micae.flow.request import RTL_MODES, SynthRequest, resolve_model
from micae.flow.results import ReportDraft, SynthReport
from micae.flow.runner import run_steps
from micae.outputs import check_target, staged_output
from micae.results.report import Paths, ReportOptions

__all__ = ["RTL_MODES", "SynthRequest", "SynthReport", "run_synthesis", "synthesize"]


def _context(req: SynthRequest) -> FlowContext:
    model_file, run_dir = resolve_model(req.model)
    name = req.name or (run_dir.name if run_dir is not None else model_file.stem)
    # absolute, because tools run with their own working directories
    hls_dir, fw_dir = Path(req.hls_root).resolve() / name, Path(req.firmware_root).resolve() / name
    check_target(hls_dir, force=req.force)
    check_target(fw_dir, force=req.force)
    return FlowContext(request=req, name=name, model_file=model_file, run_dir=run_dir, hls_dir=hls_dir, fw_dir=fw_dir)


def _finish(ctx: FlowContext, draft: ReportDraft, started: float) -> SynthReport:
    from micae import __version__

    return draft.finish(
        options=ReportOptions.model_validate(ctx.request.options_json()),
        paths=Paths(hls_project=str(ctx.hls_dir), firmware=str(ctx.fw_dir)),
        version=__version__,
        timing_s={**ctx.timings.as_dict(), "total": round(time.perf_counter() - started, 3)},
    )


def run_synthesis(req: SynthRequest) -> SynthReport:
    """Run the whole flow and write the reports; returns the typed report (also when verification failed)."""
    from micae.report.build import write_reports

    req.validate()
    started = time.perf_counter()
    ctx = _context(req)
    draft = run_steps(CHECK_STEPS, ctx)
    with staged_output(ctx.hls_dir, force=req.force) as hls_stage, staged_output(ctx.fw_dir, force=req.force) as fw:
        ctx.hls_stage, ctx.fw_stage = hls_stage, fw
        run_steps(BUILD_STEPS, ctx, draft)
        report = _finish(ctx, draft, started)
        write_reports(fw, report, ctx.run_dir)
    return report


def synthesize(req: SynthRequest) -> dict:
    """Run the flow; returns report.json's content. Raises VerificationError when any level mismatched."""
    report = run_synthesis(req)
    if not report.ok:
        raise _verification_error(report)
    if req.require_timing and not report.timing_met:
        raise _timing_error(report)
    return report.to_json()


def _verification_error(report: SynthReport) -> VerificationError:
    bad = report.failed_levels
    first = (report.verification[bad[0]].first_mismatches or [])[:1]
    counts = ", ".join(f"{k} {report.verification[k].mismatch_count} of {report.verification[k].vectors}" for k in bad)
    return VerificationError(
        f"hardware and QKeras disagree: {counts} vectors; first {first}",
        f"see {Path(report.paths.firmware) / 'report.md'}",
    )


def _timing_error(report: SynthReport) -> TimingError:
    """--require-timing: the run completed and its reports are written, but the clock was not met."""
    from micae.results.hardware import SIGNOFF_KINDS

    signoff = [t for t in report.timing if t.kind in SIGNOFF_KINDS]
    where = Path(report.paths.firmware) / "report.html"
    if not signoff:
        return TimingError(
            "--require-timing: no place-and-route or vendor timing analysis ran",
            f"run with --pnr nexus (or ecp5) or with vivado on PATH; see {where}",
        )
    failed = [t for t in signoff if t.met is False]
    worst = failed[0] if failed else signoff[0]
    fmax = f"{worst.fmax_mhz:.1f} MHz" if worst.fmax_mhz else "unknown Fmax"
    return TimingError(
        f"timing not met at {worst.clock_ns} ns ({1000 / worst.clock_ns:.1f} MHz): {fmax}, slack "
        f"{worst.slack_ns} ns after {worst.label}",
        f"request a clock of at least {1000 / worst.fmax_mhz:.2f} ns (--clock-ns), or re-pipeline "
        f"(--latency-cutoff); see {where}"
        if worst.fmax_mhz
        else f"see {where}",
    )
