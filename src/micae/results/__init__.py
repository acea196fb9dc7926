"""micae's result files as typed, versioned models, each with one loader and one migration.

============================  =============================================  ====================================
file                          model                                          loader
============================  =============================================  ====================================
``firmware/<n>/report.json``  :class:`~micae.results.report.SynthReport`     :func:`~micae.results.report.load_report`
``firmware/<n>/rtl/rtl.json`` :class:`~micae.results.rtl.RtlManifest`        :func:`~micae.results.rtl.load_manifest`
``models/<n>/metrics.json``   :class:`~micae.results.metrics.Metrics`        :func:`~micae.results.metrics.load_metrics`
``<sweep>/results.csv``       :class:`~micae.sweep.results.SweepRow`         :func:`~micae.sweep.results.load_rows`
============================  =============================================  ====================================

:mod:`micae.results.base` holds the convention (``schema_version``, :func:`~micae.results.base.load_result`).
Nothing here imports TensorFlow.
"""

from micae.results.base import Maybe, ResultFile, ResultModel, load_result
from micae.results.hardware import (
    ESTIMATE,
    LOGIC_STA,
    PNR,
    SIGNOFF_KINDS,
    TIMING_KINDS,
    VENDOR,
    AnyAnalysis,
    EstimateAnalysis,
    HeadlineLatency,
    Latency,
    LogicStaAnalysis,
    PnrAnalysis,
    Resources,
    RouteResult,
    TimingAnalysis,
    ToolInfo,
    VendorAnalysis,
)
from micae.results.levels import Comparison, LevelResult, SimulationResult
from micae.results.metrics import Metrics, load_metrics
from micae.results.report import SynthReport, load_report
from micae.results.rtl import RtlManifest, RtlSection, load_manifest

__all__ = [
    "ESTIMATE",
    "LOGIC_STA",
    "PNR",
    "SIGNOFF_KINDS",
    "TIMING_KINDS",
    "VENDOR",
    "AnyAnalysis",
    "Comparison",
    "EstimateAnalysis",
    "HeadlineLatency",
    "Latency",
    "LevelResult",
    "LogicStaAnalysis",
    "Maybe",
    "Metrics",
    "PnrAnalysis",
    "Resources",
    "ResultFile",
    "ResultModel",
    "RouteResult",
    "RtlManifest",
    "RtlSection",
    "SimulationResult",
    "SynthReport",
    "TimingAnalysis",
    "ToolInfo",
    "VendorAnalysis",
    "load_manifest",
    "load_metrics",
    "load_report",
    "load_result",
]
