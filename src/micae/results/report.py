"""``report.json``: everything a synthesize run established, typed and versioned (:class:`SynthReport`).

The verdict (``ok``), the headline route (``headline_route``, ``resources``) and the headline latency with its
source (``latency.ns_source``, ``verified``) are decided once, by :meth:`SynthReport.build` when the run ends;
readers (the report pages, sweeps, findings, the console summary) read them. A report.json written before
versions existed goes through :func:`migrate_report`, which decides what it lacks with the same rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, TypeAdapter, ValidationError, model_serializer, model_validator

from micae.config.synth import SynthOptions
from micae.results.base import Maybe, OpenModel, Plain, ResultFile, ResultModel, first_error, load_result
from micae.results.econt_block import EcontBlockSection
from micae.results.hardware import (
    AnyAnalysis,
    HeadlineLatency,
    Resources,
    RouteResult,
    TimingAnalysis,
    headline_latency,
    headline_route,
    timing_met,
)
from micae.results.levels import LevelResult
from micae.results.rtl import RtlSection
from micae.results.vendor import VendorRun

REPORT_SCHEMA_VERSION = 1
REPORT_FILE = "report.json"
REWRITE_REPORT = "write it again with micae synth --force (same --model and options)"


class FixedTypeInfo(ResultModel):
    width: int
    frac: int
    signed: bool
    integer: int


class BitBudget(ResultModel):
    """The bit budget as the detector counts it (:func:`micae.fixed.budget.bit_budget`)."""

    input_values: int
    masked_inputs: int
    input_bits_each: int
    input_bits: int
    latent_values: int
    latent_bits_each: int
    latent_bits: int
    n_parts: int
    total_input_values: int
    total_latent_values: int
    total_input_bits: int
    total_latent_bits: int
    compression_factor: float
    """input values / latent values (the ECON-T measure)"""
    bit_ratio: float
    """input bits / latent bits"""
    # the ECON-T autoencoder frame, when the encoder was trained for an e-link count (econt.elinks)
    elinks: Maybe[int] = None
    frame_bits: Maybe[int] = None
    """32 bits per e-link: header, module sum, latents and spare bits (per part)"""
    frame_header_bits: Maybe[int] = None
    frame_sum_bits: Maybe[int] = None
    frame_latent_bits: Maybe[int] = None
    frame_spare_bits: Maybe[int] = None
    total_frame_bits: Maybe[int] = None
    frame_bit_ratio: Maybe[float] = None
    """input bits / frame bits"""


class StageInfo(OpenModel):
    """One stage of the exact integer model (:meth:`micae.fixed.graph` ``describe``); stage kinds add their own
    keys (window, clip codes, ...)."""

    layer: str
    kind: str
    quantizer: Maybe[str | None] = None
    out_type: FixedTypeInfo
    accumulator: FixedTypeInfo
    unrolled_nonzero_weights: int = 0
    summary: Maybe[str] = None
    """the stage's one-line description, where its op module gives one"""


class ModelSection(ResultModel):
    """report.json ``model``: the file, its shape, and the exact integer description when there is one."""

    name: str
    file: str
    input_shape: list[int]
    parameters: int
    exact: bool
    problems: list[str] = []
    warnings: list[str] = []
    layers_taken: Maybe[list[Plain]] = None
    reference: Maybe[str] = None
    """what every verification level is compared with: QKeras, qonnx's executor or HGQ's predict"""
    latent_size: Maybe[int] = None
    input_type: Maybe[FixedTypeInfo] = None
    latent_type: Maybe[FixedTypeInfo] = None
    stages: Maybe[list[StageInfo]] = None
    bit_budget: Maybe[BitBudget] = None
    compression_factor: Maybe[float] = None


class Coverage(ResultModel):
    """What the vectors exercised at one stage: rounding ties and saturations."""

    stage: str
    quantizer: str | None
    tie_values: int
    vectors_with_ties: int
    saturated_high: int
    saturated_low: int
    vectors_saturating: Maybe[int] = None
    data_vectors: Maybe[int] = None
    """vectors from the data (the run's test split or --data), the rest built by micae (ties, saturation, grid)"""
    data_vectors_with_ties: Maybe[int] = None
    data_vectors_saturating: Maybe[int] = None


class VectorsSection(ResultModel):
    total: int
    sources: dict[str, int]
    """vectors per source (test split, saturation, ties, random grid, ...)"""
    coverage: Maybe[list[Coverage]] = None


class ReportOptions(SynthOptions):
    """report.json ``options``: every setting of the run, and where each came from."""

    sources: dict[str, str] = {}

    @model_serializer(mode="wrap")
    def _as_read(self, handler):
        """The settings the file holds: an option added after a file was written is not written back into it."""
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set or k == "sources"}


class Paths(ResultModel):
    hls_project: Maybe[str] = None
    firmware: str


class SynthReport(ResultFile):
    """report.json."""

    schema_version: int = REPORT_SCHEMA_VERSION
    micae_version: str
    model: ModelSection
    options: Maybe[ReportOptions] = None
    vectors: VectorsSection
    verification: dict[str, LevelResult]
    vendor: VendorRun | None
    rtl: RtlSection | None
    econt_block: Maybe[EcontBlockSection] = None
    """--block econt: the ECON-T autoencoder block around the encoder"""
    routes: list[RouteResult]
    timing: list[TimingAnalysis]
    timing_skipped: dict[str, str] = {}
    """analysis -> why it did not run"""
    paths: Paths
    # decided once, by build()
    headline_route: str | None
    """the route shown first: a real vendor report, else the open-source route; never a stand-in"""
    resources: Resources | None
    latency: HeadlineLatency | None
    timing_met: bool | None
    """False when any sign-off analysis (vendor, place-and-route) missed the clock; None without one"""
    timing_s: dict[str, float] = {}
    ok: bool
    """the verdict: every level that compared vectors found 0 mismatches"""

    @model_validator(mode="before")
    @classmethod
    def _level_names(cls, data: Any) -> Any:
        """The levels are keyed by name in the file; each level object knows its name."""
        if isinstance(data, dict) and isinstance(data.get("verification"), dict):
            data = dict(data)
            data["verification"] = {
                k: ({**v, "level": k} if isinstance(v, dict) else v) for k, v in data["verification"].items()
            }
        return data

    @classmethod
    def build(
        cls,
        *,
        verification: dict[str, LevelResult],
        routes: list[RouteResult],
        timing: list[AnyAnalysis],
        **sections: Any,
    ) -> SynthReport:
        """The report of a finished run: the verdict, the headline route and latency decided here, once."""
        route = headline_route(routes)
        return cls(
            verification=verification,
            routes=routes,
            timing=timing,
            headline_route=route.route if route else None,
            resources=route.resources if route else None,
            latency=headline_latency(route, timing),
            timing_met=timing_met(timing),
            ok=verdict(verification),
            **sections,
        )

    @property
    def headline(self) -> RouteResult | None:
        return next((r for r in self.routes if r.route == self.headline_route), None)

    @property
    def failed_levels(self) -> list[str]:
        return [name for name, level in self.verification.items() if level.mismatch_count]

    @property
    def levels_run(self) -> list[str]:
        return [name for name, level in self.verification.items() if level.compared]

    def analyses(self, kind: str) -> list[AnyAnalysis]:
        return [t for t in self.timing if t.kind == kind]

    def write(self, folder: str | Path) -> Path:
        from micae.results.base import write_result

        return write_result(Path(folder) / REPORT_FILE, self)


def verdict(levels: dict[str, LevelResult]) -> bool:
    """Every level that compared vectors found 0 mismatches."""
    return all(level.mismatch_count == 0 for level in levels.values())


_ANALYSES = TypeAdapter(list[TimingAnalysis])
_ROUTES = TypeAdapter(list[RouteResult])


def _validated(adapter: TypeAdapter, raw: dict, key: str) -> Any:
    """``raw[key]`` validated, a problem as one line with its key path (``routes[0].resources.LUT: ...``)."""
    try:
        return adapter.validate_python(raw[key])
    except ValidationError as exc:
        raise ValueError(f"{key}{first_error(exc)}") from None


_KIND_WORDS = {
    "place-and-route": "place-and-route",
    "logic-sta": "logic-only STA",
    "vendor": "vendor timing analysis",
    "estimate": "estimate",
}


def _source_text(source: Any) -> str:
    """An ``ns_source`` of an older micae (a dict naming the analysis) as the text it writes now."""
    if not isinstance(source, dict):
        return str(source)
    tool = source.get("tool") or {}
    tool = tool.get("name", "?") if isinstance(tool, dict) else str(tool)
    return f"{source.get('kind', '?')} ({tool}, {source.get('target', '?')})"


def _budget_v0(budget: dict) -> dict:
    """A bit budget before ``bit_ratio`` (whose ``compression_factor`` was the bit ratio) in today's counts."""
    b = dict(budget)
    if "bit_ratio" not in b:
        b["compression_factor"] = b["input_values"] / b["latent_values"]
        b["bit_ratio"] = b["input_bits"] / b["latent_bits"]
    n = int(b.setdefault("n_parts", 1))
    b.setdefault("masked_inputs", 0)
    for side in ("input", "latent"):
        b.setdefault(f"total_{side}_values", b[f"{side}_values"] * n)
        b.setdefault(f"total_{side}_bits", b[f"{side}_bits"] * n)
    return b


def migrate_report(raw: dict, version: int) -> dict:
    """report.json of an older micae (version 0: before schema versions) -> the current version.

    Version 0 files were written by flows whose headline, verdict and latency rules changed over time; what a
    file lacks (``ok``, ``headline_route``, ``timing_met``, a text ``ns_source``, ``bit_ratio``) is decided here
    with today's rules (:meth:`SynthReport.build`), what it has is kept.
    """
    if version != 0:
        raise ValueError(f"no migration from schema_version {version}")
    raw = dict(raw)
    model = dict(raw.get("model") or {})
    model.setdefault("exact", not model.get("problems"))
    if isinstance(model.get("bit_budget"), dict):
        model["bit_budget"] = _budget_v0(model["bit_budget"])
        model["compression_factor"] = model["bit_budget"]["compression_factor"]
    raw["model"] = model
    if isinstance(raw.get("options"), dict):
        options = {k: v for k, v in raw["options"].items() if k in ReportOptions.model_fields}
        raw["options"] = options
    elif "options" in raw:
        del raw["options"]
    if not raw.get("vendor"):
        raw["vendor"] = None
    raw.setdefault("rtl", None)
    raw.setdefault("micae_version", "")
    raw["verification"] = {k: v for k, v in (raw.get("verification") or {}).items() if isinstance(v, dict)}
    raw["routes"] = [r for r in (raw.get("routes") or []) if isinstance(r, dict)]
    raw["timing"] = [t for t in (raw.get("timing") or []) if isinstance(t, dict)]
    raw.setdefault("timing_skipped", {})
    raw.setdefault("timing_s", {})
    routes = _validated(_ROUTES, raw, "routes")
    timing = _validated(_ANALYSES, raw, "timing")
    if "headline_route" not in raw:  # older than the flow's own decision: decide it now, the same way
        route = headline_route(routes)
        raw["headline_route"] = route.route if route else None
        raw["resources"] = route.resources.to_json() if route and route.resources else None
        lat = headline_latency(route, timing)
        raw["latency"] = lat.to_json() if lat else None
    elif isinstance(raw.get("latency"), dict) and "ns_source" in raw["latency"]:
        raw["latency"] = {**raw["latency"], "ns_source": _source_text(raw["latency"]["ns_source"])}
    elif isinstance(raw.get("latency"), dict):  # a headline without a latency source: say it, the same way
        named = next((r for r in routes if r.route == raw["headline_route"]), None)
        lat = headline_latency(named, timing)
        raw["latency"] = lat.to_json() if lat else None
    if "timing_met" not in raw:
        raw["timing_met"] = timing_met(timing)
    if "ok" not in raw:
        levels = {k: LevelResult.model_validate({**v, "level": k}) for k, v in raw["verification"].items()}
        raw["ok"] = verdict(levels)
    raw["schema_version"] = REPORT_SCHEMA_VERSION
    return raw


def load_report(path: str | Path, *, raw: Any = None) -> SynthReport:
    """Read report.json (or the firmware folder holding it) as a :class:`SynthReport`; an older file is carried
    over by :func:`migrate_report`, anything else refused with a DataError naming the file, version and fix."""
    return load_result(
        path,
        SynthReport,
        version=REPORT_SCHEMA_VERSION,
        migrate=migrate_report,
        fix=REWRITE_REPORT,
        raw=raw,
        file_name=REPORT_FILE,
    )


def report_from_json(data: dict, where: str = "report.json") -> SynthReport:
    """A report held in memory (e.g. ``synthesize()``'s return value) as a :class:`SynthReport`."""
    return load_report(where, raw=data)


__all__ = [
    "REPORT_SCHEMA_VERSION",
    "BitBudget",
    "Coverage",
    "Field",
    "FixedTypeInfo",
    "ModelSection",
    "Paths",
    "ReportOptions",
    "StageInfo",
    "SynthReport",
    "VectorsSection",
    "load_report",
    "migrate_report",
    "report_from_json",
    "verdict",
]
