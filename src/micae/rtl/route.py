"""The whole open-source RTL route in one call, as ``micae.synthesize`` uses it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from micae.log import progress
from micae.rtl.build import write_rtl
from micae.rtl.simulate import simulate_rtl
from micae.rtl.yosys import yosys_resources

ROUNDING_ALIASES = {"convergent": "half_even", "rnd_conv": "half_even", "half_even": "half_even", "half_up": "half_up"}
SIM_TIMEOUT_S = 1800.0
YOSYS_TIMEOUT_S = 1800.0


def run_rtl_route(
    encoder,
    out_dir: str | Path,
    codes: np.ndarray,
    expected: np.ndarray,
    *,
    part: str = "xcvu13p-flga2577-2-e",
    clock_ns: float = 5.0,
    latency_cutoff: float | None = None,
    rounding: str = "convergent",
    sim_timeout_s: float = SIM_TIMEOUT_S,
    yosys_timeout_s: float = YOSYS_TIMEOUT_S,
    resources: bool = True,
) -> dict:
    """Write the RTL with ``codes``/``expected`` as its vectors, simulate them, synthesize with yosys.

    Returns ``{"section": <write_rtl report>, "verification": <simulate_rtl result>,
    "resources": <yosys_resources result>, "latency": {"cycles_min", "cycles_max",
    "interval", "interval_max", "clock_ns", "ns"}}``. Mismatches are reported,
    not raised; missing or failing tools raise :class:`~micae.errors.ToolError`.
    """
    mode = ROUNDING_ALIASES.get(rounding, rounding)
    with progress("rtl: trace, pipeline, write Verilog (da4ml)"):
        section = write_rtl(
            encoder,
            out_dir,
            latency_cutoff=latency_cutoff,
            clock_ns=clock_ns,
            vectors_in=codes,
            vectors_out=expected,
            rounding=mode,
        )
    with progress(f"rtl: Icarus simulation of {len(codes)} vectors"):
        verification = simulate_rtl(out_dir, codes, expected, timeout_s=sim_timeout_s)
    if resources:
        with progress("rtl: yosys synth_xilinx"):
            resources = yosys_resources(out_dir, section["top"], part, timeout_s=yosys_timeout_s)
    else:
        resources = None
    cycles = section["latency_cycles"]
    latency = {
        "cycles_min": cycles,
        "cycles_max": cycles,
        "interval": 1,
        "interval_max": 1,
        "clock_ns": clock_ns,
        "ns": cycles * clock_ns,
    }
    return {"section": section, "verification": verification, "resources": resources, "latency": latency}
