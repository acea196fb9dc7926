"""The vendor HLS flow: its parsed reports (:mod:`micae.hls.reports`) and the run (report.json ``vendor``)."""

from __future__ import annotations

from micae.results.base import Maybe, ResultModel
from micae.results.hardware import Latency, Resources


class CsynthReport(ResultModel):
    """A Vivado/Vitis HLS C-synthesis estimate (``*csynth.xml`` or ``*csynth.rpt``)."""

    source: str
    tool: str
    """e.g. vivado_hls 2020.1"""
    part: str
    top: str
    clock_ns: float
    """the target clock"""
    estimated_clock_ns: float | None
    clock_uncertainty_ns: float | None
    resources: Resources
    latency: Latency


class VivadoUtilization(ResultModel):
    """Vivado ``report_utilization`` after logic synthesis (hls4ml's vivado_synth.rpt)."""

    source: str
    tool: str
    device: str
    resources: Resources


class VendorReports(ResultModel):
    project_dir: str
    files: dict[str, str]
    csynth: CsynthReport | None
    vivado_synth: VivadoUtilization | None
    warnings: list[str] = []


class VendorRun(ResultModel):
    """report.json ``vendor``: the vendor HLS flow, or why it did not run."""

    status: str
    """ran or skipped"""
    reason: Maybe[str] = None
    tool: Maybe[str] = None
    tool_path: Maybe[str] = None
    banner: Maybe[str | None] = None
    """the tool's own identification line (None: it printed none)"""
    identified: Maybe[bool] = None
    """a Xilinx banner was found: only then are its figures a vendor run"""
    stand_in: Maybe[bool] = None
    steps: Maybe[list[str]] = None
    commands: Maybe[list[list[str]]] = None
    seconds: Maybe[float] = None
    log: Maybe[str] = None
    reports: Maybe[VendorReports] = None
    verilog: Maybe[list[str]] = None
    csim_log: Maybe[str | None] = None

    @property
    def ran(self) -> bool:
        return self.status == "ran"
