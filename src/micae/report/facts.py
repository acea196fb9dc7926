"""Words for what report.json decided: the report pages read the verdict, the headline route and the latency
source from :class:`~micae.results.report.SynthReport` (decided once, when the run ended) and only phrase them.

The pages take a :class:`SynthReport`; a plain dict (a report.json read by hand, a test's fake) goes through
:func:`as_report`, i.e. the one loader and, for a file of an older micae, the one migration.
"""

from __future__ import annotations

from typing import Any

from micae.results.hardware import NOT_CHECKED, SIGNOFF_KINDS, AnyAnalysis, CacheUse, HeadlineLatency
from micae.results.report import SynthReport, report_from_json

KIND_WORDS = {
    "place-and-route": "place-and-route",
    "logic-sta": "logic-only STA (a lower bound on delay: no routing)",
    "vendor": "vendor timing analysis",
    "estimate": "estimate (no timing tool)",
}
__all__ = ["KIND_WORDS", "NOT_CHECKED", "as_report", "kind_words", "latency_source", "timing_failures", "tool_text"]


def as_report(report: SynthReport | dict[str, Any]) -> SynthReport:
    """The typed report: a SynthReport as it is, a dict through the loader (migrating an older file)."""
    return report if isinstance(report, SynthReport) else report_from_json(report)


def is_signoff(analysis: AnyAnalysis) -> bool:
    return analysis.kind in SIGNOFF_KINDS


def latency_source(lat: HeadlineLatency | None) -> str:
    """Where a latency in ns comes from. The word "verified" only appears when ``verified`` is true."""
    if lat is None:
        return NOT_CHECKED
    src = KIND_WORDS.get(lat.ns_source, lat.ns_source)
    note = f" ({lat.ns_note})" if lat.ns_note else ""
    if lat.verified:
        return f"{src}{note}; verified: a place-and-route or vendor analysis met the clock"
    if "not checked" in src or "not place-and-route" in src:  # the source already says it is no sign-off
        return src + note
    return f"{src}{note}; no place-and-route or vendor analysis has met the clock"


def kind_words(kind: str | None) -> str:
    return KIND_WORDS.get(kind or "", kind or "?")


def tool_text(analysis: AnyAnalysis) -> str:
    tool = analysis.tool
    return " ".join(str(x) for x in (tool.name, tool.version) if x) or "?"


def cache_text(cache: CacheUse | None) -> str:
    """Where a figure read from micae's tool cache comes from: empty when the tool ran in this run."""
    if cache is None or not cache.hit:
        return ""
    took = f" in {cache.tool_seconds:.0f} s" if cache.tool_seconds is not None else ""
    return (
        f"; from micae's tool cache (the tool ran on the same inputs {cache.stored}{took}; MICAE_CACHE=off reruns it)"
    )


def timing_failures(report: SynthReport) -> list[str]:
    """One sentence per analysis with ``met: false``, for the banner at the top of both reports."""
    out = []
    for a in report.timing:
        if a.met is False:
            fmax_text = f"Fmax {a.fmax_mhz:.4g} MHz" if a.fmax_mhz is not None else "Fmax unknown"
            slack_text = f", slack {a.slack_ns:.3g} ns" if a.slack_ns is not None else ""
            out.append(
                f"timing not met at {a.clock_ns} ns: {fmax_text}{slack_text} after "
                f"{kind_words(a.kind)} on {a.target} ({tool_text(a)})"
            )
    return out
