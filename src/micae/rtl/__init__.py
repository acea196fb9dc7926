"""Open-source RTL route: an ``IntegerEncoder`` -> pipelined, bit-exact Verilog via da4ml.

* :func:`trace_encoder` -- the whole encoder as one da4ml graph (CMVM shift-add
  trees + exact QKeras requantization, :mod:`micae.fixed.traced`);
* :func:`write_rtl` -- Verilog, self-checking testbench, vectors, ``run_sim.sh``;
* :func:`simulate_rtl` -- Icarus Verilog run, mismatch statistics;
* :func:`yosys_resources` -- LUT/FF/CARRY/DSP/BRAM from ``yosys synth_xilinx``.
"""

from micae.fixed.traced import EXACT_MODES, ROUNDING_MODES, requantize_variable
from micae.rtl.build import write_rtl
from micae.rtl.simulate import simulate_rtl
from micae.rtl.trace import evaluate, trace_encoder
from micae.rtl.yosys import family_for_part, yosys_resources

__all__ = [
    "EXACT_MODES",
    "ROUNDING_MODES",
    "evaluate",
    "family_for_part",
    "requantize_variable",
    "simulate_rtl",
    "trace_encoder",
    "write_rtl",
    "yosys_resources",
]
