"""What the hardware tools measured: resources, latency, timing analyses and routes (report.json's ``routes``,
``timing``, ``resources`` and ``latency``). The tool wrappers (:mod:`micae.rtl.pnr`, :mod:`micae.rtl.sta`,
:mod:`micae.rtl.vivado_timing`, :mod:`micae.rtl.yosys`, :mod:`micae.hls.reports`) return these types."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field

from micae.results.base import Maybe, ResultModel

PNR: Final = "place-and-route"
LOGIC_STA: Final = "logic-sta"
VENDOR: Final = "vendor"
ESTIMATE: Final = "estimate"
TIMING_KINDS = (PNR, LOGIC_STA, VENDOR, ESTIMATE)
SIGNOFF_KINDS = (VENDOR, PNR)
"""Analyses whose 'met' may be called verified: they include routing."""
OPEN_SOURCE = "open-source"
VENDOR_ROUTE = "vendor"
STAND_IN = "stand-in (not a vendor run)"


class CacheUse(ResultModel):
    """The result was read from micae's tool cache (:mod:`micae.cache`), not computed by this run."""

    hit: bool = True
    kind: str
    """which cache (yosys-sta, pnr)"""
    key: str
    """SHA-256 of the tool's inputs (Verilog text, tool version, options)"""
    stored: str
    """when the tool made the result (UTC)"""
    tool_seconds: float | None = None
    """how long the tool took when it made it"""


class Resources(ResultModel):
    """Resource counts of one estimator; ``available_*`` is the part's total where the tool reported it."""

    estimator: Maybe[str] = None
    """the tool and flow that counted (absent for counts of a netlist inside a timing analysis)"""
    part: Maybe[str] = None
    family: Maybe[str] = None
    LUT: Maybe[int] = None
    FF: Maybe[int] = None
    CARRY: Maybe[int] = None
    WIDEMUX: Maybe[int] = None
    DSP: Maybe[int] = None
    BRAM: Maybe[int] = None
    """block RAM in 18K units"""
    URAM: Maybe[int] = None
    available_LUT: Maybe[int] = None
    available_FF: Maybe[int] = None
    available_DSP: Maybe[int] = None
    available_BRAM: Maybe[int] = None
    available_URAM: Maybe[int] = None
    cells: Maybe[dict[str, int]] = None
    """cell counts by type"""
    cache: Maybe[CacheUse] = None
    """set when the counts were read from micae's tool cache"""


class Latency(ResultModel):
    """A route's latency in clock cycles (``None``: the tool could not bound it)."""

    cycles_min: int | None = None
    cycles_max: int | None = None
    interval: int | None = None
    interval_max: Maybe[int] = None
    clock_ns: float | None = None
    """the clock the cycles are counted at (the requested one)"""
    ns: Maybe[float] = None
    """cycles_max x clock_ns, for routes that say so themselves (an HLS estimate)"""


class HeadlineLatency(Latency):
    """The headline latency: ns = cycles x the achieved period of the most trusted timing analysis."""

    ns: float | None
    ns_source: str
    """the analysis the ns come from (place-and-route, logic-only STA, vendor, or the requested clock)"""
    verified: bool
    """a place-and-route or vendor analysis met the clock"""
    ns_note: Maybe[str] = None


class ToolInfo(ResultModel):
    name: str
    version: str | None
    synth: Maybe[str] = None
    """the synthesis in front of a place-and-route"""
    banner: Maybe[str] = None
    """the tool's own identification line, verbatim"""


class PathEnds(ResultModel):
    """The worst register-to-register path of a routed design, split into logic and routing."""

    from_: str = Field(alias="from")
    to: str
    launch: str
    """pipeline stage (or wrapper/output register) of the launching register"""
    capture: str
    logic_ns: float
    routing_ns: float


class PnrCriticalPath(PathEnds):
    total_ns: float
    segments: int
    carry_cells: int


class VivadoCriticalPath(PathEnds):
    data_path_ns: float
    logic_levels: int | None
    cells: str


class ClosureAttempt(ResultModel):
    """One place-and-route of one pipeline cut during timing closure."""

    cycles: int
    predicted_period_ns: float | None
    """what the delay model predicted (an estimate)"""
    delay_model: str | None
    measured_period_ns: float | None
    fmax_mhz: float | None
    slack_ns: float | None
    met: bool | None
    work_dir: str
    shipped: Maybe[bool] = None


class _Analysis(ResultModel):
    """One timing analysis of the hardware: who measured what, at which clock."""

    target: str
    tool: ToolInfo
    clock_ns: float
    fmax_mhz: float | None
    slack_ns: float | None
    met: bool | None
    critical_path: str = ""
    stage_delays_ns: list[float] = []
    cache: Maybe[CacheUse] = None
    """set when the analysis was read from micae's tool cache (the tool did not run now)"""

    @property
    def label(self) -> str:
        return f"{self.kind} ({self.tool.name}, {self.target})"  # type: ignore[attr-defined]

    def achieved_period_ns(self) -> float | None:
        """The clock this analysis supports: the requested one when met, else 1000 / Fmax."""
        if self.met:
            return self.clock_ns
        return 1000.0 / self.fmax_mhz if self.fmax_mhz else None


class PnrAnalysis(_Analysis):
    """nextpnr behind a pin wrapper (:func:`micae.rtl.pnr.place_and_route`)."""

    kind: Literal["place-and-route"] = PNR
    family: Maybe[str] = None
    clock: Maybe[str] = None
    """nextpnr's name of the clock net"""
    period_ns: Maybe[float] = None
    """the achieved period, 1000 / Fmax"""
    critical: Maybe[PnrCriticalPath] = None
    utilization: Maybe[dict[str, int]] = None
    """nextpnr bels used"""
    available: Maybe[dict[str, int]] = None
    """the part's total of each bel used, as nextpnr reported it"""
    seed: Maybe[int] = None
    wrapper_ff: Maybe[int] = None
    """flip-flops of the pin wrapper (in resources.FF)"""
    resources: Maybe[Resources] = None
    cells: Maybe[dict[str, int]] = None
    carry_ins_undriven: Maybe[int] = None
    work_dir: Maybe[str] = None
    seconds: Maybe[float] = None
    closure: Maybe[list[ClosureAttempt]] = None
    """every place-and-route of the timing closure, the shipped cut marked"""


class LogicStaAnalysis(_Analysis):
    """yosys ``sta`` per pipeline stage (:func:`micae.rtl.sta.logic_sta`): a lower bound, no routing."""

    kind: Literal["logic-sta"] = LOGIC_STA
    lower_bound: Maybe[bool] = None
    note: Maybe[str] = None
    seconds: Maybe[float] = None


class VendorAnalysis(_Analysis):
    """Vivado out-of-context implementation (:func:`micae.rtl.vivado_timing.vivado_timing`)."""

    kind: Literal["vendor"] = VENDOR
    clock: Maybe[str] = None
    wns_ns: Maybe[float] = None
    tns_ns: Maybe[float | None] = None
    failing_endpoints: Maybe[int] = None
    endpoints: Maybe[int] = None
    period_ns: Maybe[float] = None
    critical: Maybe[VivadoCriticalPath | None] = None
    requested_clock_ns: Maybe[float] = None
    wrapper_ff: Maybe[int] = None
    resources: Maybe[Resources | None] = None
    work_dir: Maybe[str] = None
    seconds: Maybe[float] = None


class EstimateAnalysis(_Analysis):
    """A delay model's estimate (no timing tool)."""

    kind: Literal["estimate"] = ESTIMATE


TimingAnalysis = Annotated[
    PnrAnalysis | LogicStaAnalysis | VendorAnalysis | EstimateAnalysis, Field(discriminator="kind")
]
AnyAnalysis = PnrAnalysis | LogicStaAnalysis | VendorAnalysis | EstimateAnalysis


class RouteResult(ResultModel):
    """A route that produced resources and/or latency, labelled with its estimator."""

    route: str
    kind: str
    """open-source, vendor, or an unidentified tool's label (never a headline)"""
    resources: Resources | None = None
    latency: Latency | None = None
    da4ml_cost: Maybe[float] = None
    """da4ml's adder cost of the RTL route"""
    tool_banner: Maybe[str] = None
    stand_in: Maybe[bool] = None
    """written by micae before tools were identified by their banner"""


_TRUST = {VENDOR: 0, PNR: 1, LOGIC_STA: 2, ESTIMATE: 3}


def signoff_analysis(timing: list[AnyAnalysis]) -> AnyAnalysis | None:
    """The analysis a latency in ns is taken from: vendor, then place-and-route, then logic STA (the slowest
    target of the most trusted kind, so the figure holds on every analysed target)."""
    usable = [t for t in timing if t.achieved_period_ns() is not None and t.kind != ESTIMATE]
    if not usable:
        return None
    best = min(_TRUST[t.kind] for t in usable)
    return max((t for t in usable if _TRUST[t.kind] == best), key=lambda t: t.achieved_period_ns() or 0.0)


def headline_route(routes: list[RouteResult]) -> RouteResult | None:
    """The route shown first: a real vendor report, else the open-source route; never a stand-in."""
    for kind in (VENDOR_ROUTE, OPEN_SOURCE):
        for route in routes:
            if route.kind == kind and not route.stand_in and (route.resources or route.latency):
                return route
    return None


def timing_met(timing: list[AnyAnalysis]) -> bool | None:
    """False when any sign-off analysis (vendor, place-and-route) missed the requested clock; None without one."""
    signoff = [t.met for t in timing if t.kind in SIGNOFF_KINDS and t.met is not None]
    return all(signoff) if signoff else None


NOT_CHECKED = "requested clock, not checked by a timing tool"
HLS_ESTIMATE = "vendor HLS estimate (csynth), not place-and-route"
STA_NOTE = "logic-only STA: a lower bound, no routing delay"


def headline_latency(route: RouteResult | None, timing: list[AnyAnalysis]) -> HeadlineLatency | None:
    """The headline latency, with ns = cycles x the achieved period of the most trusted analysis.

    Timing analyses are of the open-source RTL; a vendor HLS route keeps its own csynth estimate, labelled as such."""
    if route is None or route.latency is None:
        return None
    lat = route.latency.model_dump(exclude_unset=True)
    cycles = lat.get("cycles_max")
    analysis = signoff_analysis(timing) if route.kind == OPEN_SOURCE else None
    period = analysis.achieved_period_ns() if analysis is not None else None
    if analysis is not None and period is not None and cycles is not None:
        lat.update(
            clock_ns=round(period, 4),
            ns=round(cycles * period, 4),
            ns_source=analysis.label,
            verified=bool(analysis.met and analysis.kind in SIGNOFF_KINDS),
        )
        if analysis.kind == LOGIC_STA:
            lat["ns_note"] = STA_NOTE
    elif route.kind == VENDOR_ROUTE:
        lat.update(ns=lat.get("ns"), ns_source=HLS_ESTIMATE, verified=False)
    else:
        clock = lat.get("clock_ns")
        lat["ns"] = None if cycles is None or clock is None else round(cycles * clock, 4)
        lat.update(ns_source=NOT_CHECKED, verified=False)
    return HeadlineLatency(**lat)
