"""What the parts hold, for utilization in percent of a device, and the hls4ml defaults micae does not set.

The tools do not always report the part's totals (yosys ``synth_xilinx`` never does; nextpnr does, and its
figures win where a run recorded them: ``PnrAnalysis.available``), so the totals of the parts micae targets by
default are kept here, each with its source. A part neither lists gets no percentage rather than a guessed one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceTotals:
    totals: dict[str, int]
    """resource (a Resources field, or a nextpnr bel name) -> how many the part has"""
    source: str


DEVICE_TOTALS: dict[str, DeviceTotals] = {
    "LIFCL-40": DeviceTotals(
        {"OXIDE_COMB": 32256, "OXIDE_FF": 32256, "LUT": 32256, "FF": 32256, "OXIDE_EBR": 84, "MULT18_CORE": 56},
        "nextpnr-nexus 0.11.1's device utilisation table for LIFCL-40-9BG400C (a logic cell is one LUT4 or half "
        "a CCU2 carry; CCU2 and WIDEFN9 take two)",
    ),
    "xcvu9p": DeviceTotals(
        {"LUT": 1182240, "FF": 2364480, "DSP": 6840, "BRAM": 4320},
        "AMD/Xilinx DS890 (Virtex UltraScale+ VU9P: 1,182,240 CLB LUTs, 2,364,480 flip-flops, 6,840 DSP48E2, "
        "2,160 36Kb block RAMs = 4,320 18K)",
    ),
}

HLS4ML_CLOCK_UNCERTAINTY = {"Vitis": "27%", "Vivado": "12.5%"}
"""hls4ml 1.3.0's default ClockUncertainty per backend (micae does not change it; see hls4ml_config.yml)."""


def device_totals(part: str | None) -> DeviceTotals | None:
    """The totals of ``part`` (a full part name such as LIFCL-40-9BG400C or xcvu9p-flga2104-2L-e)."""
    if not part:
        return None
    for prefix, totals in DEVICE_TOTALS.items():
        if part.lower().startswith(prefix.lower()):
            return totals
    return None


def percent(used: int | None, part: str | None, resource: str) -> float | None:
    totals = device_totals(part)
    if used is None or totals is None or resource not in totals.totals:
        return None
    return 100.0 * used / totals.totals[resource]
