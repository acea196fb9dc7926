"""``rtl.json``: the manifest of an RTL folder written by :func:`micae.rtl.build.write_rtl` (top, ports, pipeline,
files), typed and versioned, with its one loader :func:`load_manifest`; and report.json's ``rtl`` section (the
manifest of the RTL that ships, and what the flow adds to it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from micae.results.base import Maybe, OpenModel, Plain, ResultFile, ResultModel, load_result

MANIFEST = "rtl.json"
RTL_SCHEMA_VERSION = 1
REWRITE_RTL = "write the RTL again (micae synth --force, or micae.rtl.write_rtl)"


class Port(ResultModel):
    """A flat bus of ``count`` fixed-point elements."""

    width: int
    frac: int
    signed: bool
    count: int
    order: str
    bus_width: int


class Ports(ResultModel):
    input: Port
    output: Port


class Da4mlInfo(ResultModel):
    """How da4ml built and cut the pipeline."""

    version: str
    cost: float
    latency_cutoff: float | None
    pipelining: str
    """timing-driven (micae delay model) or adder levels (da4ml rule)"""
    stages: int
    adder_levels: float
    register_bits: int
    solver_options: dict[str, Plain] = {}


class TimingEstimate(OpenModel):
    """A delay model's prediction for the cut (:mod:`micae.rtl.delay_model`): an estimate, not a timing analysis."""

    calibration: str | None = None
    predicted_period_ns: float | None = None
    stage_delays_ns: list[float] = []
    met: bool | None = None


class RtlDesign(ResultModel):
    top: str
    ports: Ports
    latency_cycles: int
    clock_ns: float
    files: list[str]
    vectors: int
    """vectors written beside the RTL (vectors_in.hex / vectors_out.hex)"""
    rounding: str
    da4ml: Da4mlInfo
    timing_estimate: TimingEstimate | None
    input_columns: list[int]
    """port element k is flat input input_columns[k]: simulators feed codes[:, input_columns]"""
    input_positions: int

    @property
    def timing_driven(self) -> bool:
        return self.da4ml.pipelining.startswith("timing-driven")


class RtlManifest(RtlDesign, ResultFile):
    """rtl.json."""

    schema_version: int = RTL_SCHEMA_VERSION


class Cocotb(ResultModel):
    dir: str
    files: list[str]


class RtlSection(RtlDesign):
    """report.json ``rtl``: the manifest of the RTL that ships, the cocotb export and how the vectors were chosen."""

    vectors_note: Maybe[str] = None
    cocotb: Maybe[Cocotb] = None
    pipeline_rule: Maybe[str] = None

    @classmethod
    def of(cls, manifest: RtlDesign, **more: Any) -> RtlSection:
        data = manifest.model_dump(exclude={"schema_version"})
        return cls(**data, **more)


def migrate_manifest(raw: dict, version: int) -> dict:
    """rtl.json before versions (0): the same keys."""
    if version == 0:
        raw["schema_version"] = RTL_SCHEMA_VERSION
    return raw


def load_manifest(rtl_dir: str | Path) -> RtlManifest:
    """The manifest of an RTL folder (or of the rtl.json given); DataError naming the file and the fix."""
    path = Path(rtl_dir)
    path = path if path.suffix == ".json" else path / MANIFEST
    if not path.is_file():
        from micae.errors import ConfigError

        raise ConfigError(f"{path} not found: {path.parent} is not an RTL folder written by micae", REWRITE_RTL)
    return load_result(path, RtlManifest, version=RTL_SCHEMA_VERSION, migrate=migrate_manifest, fix=REWRITE_RTL)
