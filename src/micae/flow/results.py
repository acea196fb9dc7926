"""The typed results of a synthesize run, and the one report they make.

Every step returns results of these types; :class:`SynthReport` holds them,
decides the overall verdict and the headline route **once**, and turns itself
into report.json (keys as before, plus ``headline_route`` and ``timing``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from micae.jsonable import jsonable

PNR = "place-and-route"
LOGIC_STA = "logic-sta"
VENDOR = "vendor"
ESTIMATE = "estimate"
TIMING_KINDS = (PNR, LOGIC_STA, VENDOR, ESTIMATE)
SIGNOFF_KINDS = (VENDOR, PNR)
"""Analyses whose 'met' may be called verified: they include routing."""


@dataclass
class LevelResult:
    """One verification level: integer codes compared, or why the level did not run."""

    level: str
    status: str = "ran"  # ran | skipped | no results | no report
    comparison: dict = field(default_factory=dict)  # micae.verify.compare.compare_codes + mismatches_by_source
    reason: str = ""
    extra: dict = field(default_factory=dict)  # run tag, log, simulator, seconds

    @property
    def compared(self) -> bool:
        return "vectors" in self.comparison

    @property
    def mismatches(self) -> int:
        return int(self.comparison.get("mismatches", 0))

    def to_json(self) -> dict:
        if self.compared:
            return {**self.comparison, **self.extra}
        return {"status": self.status, "reason": self.reason, **self.extra}


@dataclass
class RouteResult:
    """A route that produced resources and/or latency, labelled with its estimator."""

    route: str
    kind: str  # "vendor" | "open-source" | "stand-in (not a vendor run)"
    resources: dict | None = None
    latency: dict | None = None  # cycles_min, cycles_max, interval, interval_max, clock_ns
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "route": self.route,
            "kind": self.kind,
            "resources": self.resources,
            "latency": self.latency,
            **self.extra,
        }


@dataclass
class TimingAnalysis:
    """One timing analysis of the hardware: who measured what, at which clock."""

    target: str
    tool: dict  # {"name", "version"}
    kind: str  # one of TIMING_KINDS
    clock_ns: float
    fmax_mhz: float | None
    slack_ns: float | None
    met: bool | None
    critical_path: str = ""
    stage_delays_ns: list[float] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in TIMING_KINDS:
            raise ValueError(f"timing kind {self.kind!r} is not one of {TIMING_KINDS}")

    @classmethod
    def from_dict(cls, d: dict) -> TimingAnalysis:
        known = {
            "target",
            "tool",
            "kind",
            "clock_ns",
            "fmax_mhz",
            "slack_ns",
            "met",
            "critical_path",
            "stage_delays_ns",
        }
        return cls(
            target=str(d["target"]),
            tool=dict(d["tool"]),
            kind=str(d["kind"]),
            clock_ns=float(d["clock_ns"]),
            fmax_mhz=d.get("fmax_mhz"),
            slack_ns=d.get("slack_ns"),
            met=d.get("met"),
            critical_path=str(d.get("critical_path", "")),
            stage_delays_ns=list(d.get("stage_delays_ns") or []),
            extra={k: v for k, v in d.items() if k not in known},
        )

    @property
    def label(self) -> str:
        return f"{self.kind} ({self.tool.get('name', '?')}, {self.target})"

    def achieved_period_ns(self) -> float | None:
        """The clock this analysis supports: the requested one when met, else 1000 / Fmax."""
        if self.met:
            return self.clock_ns
        return 1000.0 / self.fmax_mhz if self.fmax_mhz else None

    def to_json(self) -> dict:
        return {
            "target": self.target,
            "tool": self.tool,
            "kind": self.kind,
            "clock_ns": self.clock_ns,
            "fmax_mhz": self.fmax_mhz,
            "slack_ns": self.slack_ns,
            "met": self.met,
            "critical_path": self.critical_path,
            "stage_delays_ns": self.stage_delays_ns,
            **self.extra,
        }


StepResult = LevelResult | RouteResult | TimingAnalysis

_TRUST = {VENDOR: 0, PNR: 1, LOGIC_STA: 2, ESTIMATE: 3}


def _signoff(timing: list[TimingAnalysis]) -> TimingAnalysis | None:
    """The analysis a latency in ns is taken from: vendor, then place-and-route, then logic STA (the slowest
    target of the most trusted kind, so the figure holds on every analysed target)."""
    usable = [t for t in timing if t.achieved_period_ns() is not None and t.kind != ESTIMATE]
    if not usable:
        return None
    best = min(_TRUST[t.kind] for t in usable)
    return max((t for t in usable if _TRUST[t.kind] == best), key=lambda t: t.achieved_period_ns())


@dataclass
class SynthReport:
    """Everything a synthesize run established; ``to_json`` is report.json."""

    model: dict
    options: dict
    vectors: dict
    paths: dict
    verification: dict[str, LevelResult] = field(default_factory=dict)
    routes: list[RouteResult] = field(default_factory=list)
    timing: list[TimingAnalysis] = field(default_factory=list)
    vendor: dict = field(default_factory=dict)
    rtl: dict | None = None
    timing_s: dict = field(default_factory=dict)
    skipped_analyses: dict[str, str] = field(default_factory=dict)  # analysis -> why it did not run
    version: str = ""

    def add(self, result: StepResult) -> None:
        if isinstance(result, LevelResult):
            self.verification[result.level] = result
        elif isinstance(result, RouteResult):
            self.routes.append(result)
        elif isinstance(result, TimingAnalysis):
            self.timing.append(result)
        else:
            raise TypeError(f"a step returned {type(result).__name__}, not a LevelResult/RouteResult/TimingAnalysis")

    @cached_property
    def ok(self) -> bool:
        """The verdict: every level that compared vectors found 0 mismatches."""
        return all(level.mismatches == 0 for level in self.verification.values())

    @property
    def failed_levels(self) -> list[str]:
        return [name for name, level in self.verification.items() if level.mismatches]

    @cached_property
    def headline(self) -> RouteResult | None:
        """The route shown first: a real vendor report, else the open-source route; never a stand-in."""
        for kind in ("vendor", "open-source"):
            for route in self.routes:
                if route.kind == kind and (route.resources or route.latency):
                    return route
        return None

    @cached_property
    def timing_met(self) -> bool | None:
        """False when any sign-off analysis (vendor, place-and-route) missed the requested clock."""
        signoff = [t.met for t in self.timing if t.kind in SIGNOFF_KINDS and t.met is not None]
        return all(signoff) if signoff else None

    @cached_property
    def latency(self) -> dict | None:
        """The headline latency, with ns = cycles x the achieved period of the most trusted analysis.

        Timing analyses (``self.timing``) are of the open-source RTL; a vendor HLS route keeps its own
        csynth estimate, labelled as such."""
        route = self.headline
        if route is None or not route.latency:
            return None
        lat = dict(route.latency)
        cycles = lat.get("cycles_max")
        analysis = _signoff(self.timing) if route.kind == "open-source" else None
        if analysis is not None and cycles is not None:
            period = analysis.achieved_period_ns()
            lat.update(
                clock_ns=round(period, 4),
                ns=round(cycles * period, 4),
                ns_source=analysis.label,
                verified=bool(analysis.met and analysis.kind in SIGNOFF_KINDS),
            )
            if analysis.kind == LOGIC_STA:
                lat["ns_note"] = "logic-only STA: a lower bound, no routing delay"
        elif route.kind == "vendor":
            lat["ns_source"] = "vendor HLS estimate (csynth), not place-and-route"
            lat["verified"] = False
        else:
            lat["ns"] = None if cycles is None else round(cycles * lat["clock_ns"], 4)
            lat["ns_source"] = "requested clock, not checked by a timing tool"
            lat["verified"] = False
        return lat

    def to_json(self) -> dict:
        headline = self.headline
        return jsonable(
            {
                "micae_version": self.version,
                "model": self.model,
                "options": self.options,
                "vectors": self.vectors,
                "verification": {name: level.to_json() for name, level in self.verification.items()},
                "vendor": self.vendor,
                "rtl": self.rtl,
                "routes": [r.to_json() for r in self.routes],
                "timing": [t.to_json() for t in self.timing],
                "timing_skipped": self.skipped_analyses,
                "paths": self.paths,
                "headline_route": headline.route if headline else None,
                "resources": headline.resources if headline else None,
                "latency": self.latency,
                "timing_met": self.timing_met,
                "timing_s": self.timing_s,
                "ok": self.ok,
            }
        )
