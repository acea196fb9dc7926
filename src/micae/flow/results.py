"""What steps return, and the report draft only the runner fills.

A step returns a list of results: verification levels (:class:`LevelResult`), routes (:class:`RouteResult`),
timing analyses (:data:`AnyAnalysis`), report sections (:data:`Section`: the model, the vectors, the vendor
run, the RTL that ships) and analyses that did not run (:class:`SkippedAnalysis`). The runner
(:func:`micae.flow.runner.run_steps`) files them into a :class:`ReportDraft` in registry order; when every step
finished, :meth:`ReportDraft.finish` makes the :class:`~micae.results.report.SynthReport`, which decides the
verdict, the headline route and the latency source once. The types themselves live in :mod:`micae.results`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from micae.results.econt_block import EcontBlockSection
from micae.results.hardware import (
    ESTIMATE,
    LOGIC_STA,
    PNR,
    SIGNOFF_KINDS,
    TIMING_KINDS,
    VENDOR,
    AnyAnalysis,
    EstimateAnalysis,
    LogicStaAnalysis,
    PnrAnalysis,
    RouteResult,
    VendorAnalysis,
)
from micae.results.levels import LevelResult
from micae.results.report import ModelSection, Paths, ReportOptions, SynthReport, VectorsSection
from micae.results.rtl import RtlSection
from micae.results.vendor import VendorRun


@dataclass(frozen=True)
class SkippedAnalysis:
    """A timing analysis that did not run, and why (report.json ``timing_skipped``)."""

    analysis: str
    reason: str


Section = ModelSection | VectorsSection | VendorRun | RtlSection | EcontBlockSection
StepResult = LevelResult | RouteResult | AnyAnalysis | Section | SkippedAnalysis
_ANALYSES = (PnrAnalysis, LogicStaAnalysis, VendorAnalysis, EstimateAnalysis)
_SECTIONS = {
    ModelSection: "model",
    VectorsSection: "vectors",
    VendorRun: "vendor",
    RtlSection: "rtl",
    EcontBlockSection: "econt_block",
}


@dataclass
class ReportDraft:
    """The results of the steps so far, filed by the runner (never by a step)."""

    model: ModelSection | None = None
    vectors: VectorsSection | None = None
    vendor: VendorRun | None = None
    rtl: RtlSection | None = None
    econt_block: EcontBlockSection | None = None
    verification: dict[str, LevelResult] = field(default_factory=dict)
    routes: list[RouteResult] = field(default_factory=list)
    timing: list[AnyAnalysis] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def file(self, result: StepResult) -> None:
        """One result in its place. A section returned again by a later step replaces the earlier one (the
        place-and-route step's re-cut RTL replaces the first cut)."""
        if isinstance(result, LevelResult):
            self.verification[result.level] = result
        elif isinstance(result, RouteResult):
            self.routes.append(result)
        elif isinstance(result, _ANALYSES):
            self.timing.append(result)
        elif isinstance(result, SkippedAnalysis):
            self.skipped[result.analysis] = result.reason
        elif type(result) in _SECTIONS:
            setattr(self, _SECTIONS[type(result)], result)
        else:
            raise TypeError(f"a step returned {type(result).__name__}, which is not a step result")

    def finish(self, *, options: ReportOptions, paths: Paths, version: str, timing_s: dict[str, float]) -> SynthReport:
        if self.model is None or self.vectors is None:
            raise RuntimeError("the report lacks its model or vectors section: the check steps did not run")
        return SynthReport.build(
            micae_version=version,
            model=self.model,
            options=options,
            vectors=self.vectors,
            verification=self.verification,
            vendor=self.vendor,
            rtl=self.rtl,
            econt_block=self.econt_block,
            routes=self.routes,
            timing=self.timing,
            timing_skipped=self.skipped,
            paths=paths,
            timing_s=timing_s,
        )


__all__ = [
    "ESTIMATE",
    "LOGIC_STA",
    "PNR",
    "SIGNOFF_KINDS",
    "TIMING_KINDS",
    "VENDOR",
    "AnyAnalysis",
    "LevelResult",
    "ReportDraft",
    "RouteResult",
    "Section",
    "SkippedAnalysis",
    "StepResult",
    "SynthReport",
]
