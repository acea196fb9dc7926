"""Pipelined Verilog from a traced encoder: da4ml's codegen for the datapath, a documented top around it.

da4ml cuts the combinational graph into stages of at most ``latency_cutoff``
adder levels (``to_pipeline``, with retiming) and writes one module per stage
plus a module that registers every stage input and the output (its public
``VerilogModel``, written into a scratch folder; micae keeps those modules and
the primitives they instantiate). Its buses are packed: each element is only as
wide as its value range needs and unused elements are absent. The top module
here turns that into fixed-width flat buses in the encoder's own codes.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from da4ml.cmvm import CombLogic
from da4ml.codegen import VerilogModel
from da4ml.trace import to_pipeline

from micae.da4ml_api import Pipeline, one_stage
from micae.fixed.types import FixedType
from micae.rtl.trace import TracedEncoder

TIMESCALE = "`timescale 1 ns / 1 ps"
ADDER_LEVELS_PER_NS = 1.0
"""Rule of thumb behind :func:`cutoff_for_clock`: da4ml's default flow pairs a
cutoff of 5 adder levels with a 5 ns clock (one carry-chain adder plus routing
per ns on UltraScale+). It is a proxy, not timing analysis, and place-and-route
does not meet it (reference encoder: 50-95 MHz on ECP5/Nexus, bench/README.md).
``write_rtl(..., family=...)`` cuts from a calibrated delay model instead
(:mod:`micae.rtl.delay_model`); this rule stays the default and the baseline."""


def cutoff_for_clock(clock_ns: float) -> int:
    """Adder levels per pipeline stage for a target clock period."""
    return max(1, math.floor(clock_ns * ADDER_LEVELS_PER_NS))


def make_pipeline(comb: CombLogic, latency_cutoff: float) -> Pipeline:
    """Registers every ``latency_cutoff`` adder levels; a cutoff <= 0 means one stage."""
    if latency_cutoff <= 0:
        return one_stage(comb)
    return to_pipeline(comb, latency_cutoff, retiming=True, verbose=False)


def latency_cycles(pipe: Pipeline) -> int:
    """Clock edges from sampling ``x`` to ``y`` updating: da4ml registers each stage's input, and the output."""
    return len(pipe.solutions) + 1


@dataclass(frozen=True)
class PortElement:
    """Where one element of a flat port sits in da4ml's packed bus."""

    index: int
    packed_lsb: int
    packed_width: int  # 0: the element is constant zero (output) or unused (input)
    signed: bool
    shift: int  # code = packed_value * 2**shift


def _layout(kifs: list[tuple[int, int, int]], frac: int) -> tuple[list[PortElement], int]:
    elems, lsb = [], 0
    for j, (k, i, f) in enumerate(kifs):
        width = k + i + f
        elems.append(PortElement(j, lsb, width, bool(k), frac - f))
        lsb += width
    return elems, lsb


def _kifs(array) -> list[tuple[int, int, int]]:
    """da4ml's per-element ``(keep_negative, integer, fractional)`` bits (``(3, n)``); width 0 means absent."""
    return [tuple(int(v) for v in column) for column in array.T]


def input_layout(traced: TracedEncoder, pipe: Pipeline) -> tuple[list[PortElement], int]:
    t = traced.input_type
    elems, width = _layout(_kifs(pipe.solutions[0].inp_kifs), t.frac)
    for e in elems:
        if e.packed_width and (e.packed_width != t.width or e.shift != 0):
            raise AssertionError(f"da4ml re-typed input {e.index}; expected {t.describe()}")
    return elems, width


def output_layout(traced: TracedEncoder, pipe: Pipeline) -> tuple[list[PortElement], int]:
    t = traced.latent_type
    elems, width = _layout(_kifs(pipe.solutions[-1].out_kifs), t.frac)
    for e in elems:
        if e.packed_width and (e.shift < 0 or e.packed_width + e.shift > t.width):
            raise AssertionError(f"latent {e.index} of da4ml's output does not fit {t.describe()}")
    return elems, width


def _slice(name: str, lsb: int, width: int) -> str:
    return f"{name}[{lsb + width - 1}:{lsb}]"


def _out_assign(e: PortElement, t: FixedType) -> str:
    dst = _slice("y", e.index * t.width, t.width)
    if e.packed_width == 0:
        return f"assign {dst} = {t.width}'d0;"
    src = _slice("core_out", e.packed_lsb, e.packed_width)
    parts = []
    ext = t.width - e.packed_width - e.shift  # >= 0, checked by output_layout
    if ext > 0:
        msb = f"core_out[{e.packed_lsb + e.packed_width - 1}]"
        parts.append(f"{{{ext}{{{msb}}}}}" if e.signed else f"{ext}'d0")
    parts.append(src)
    if e.shift > 0:
        parts.append(f"{e.shift}'d0")
    return f"assign {dst} = {{{', '.join(parts)}}};"


def port_doc(t: FixedType, count: int, order: str) -> dict:
    return {
        "width": t.width,
        "frac": t.frac,
        "signed": t.signed,
        "count": count,
        "order": order,
        "bus_width": t.width * count,
    }


def top_module(top: str, core: str, traced: TracedEncoder, pipe: Pipeline, ports: dict, clock_ns: float) -> str:
    """The documented top: flat fixed-width buses, a valid flag delayed with the data."""
    tin, tout = traced.input_type, traced.latent_type
    ins, packed_in = input_layout(traced, pipe)
    outs, packed_out = output_layout(traced, pipe)
    lat = latency_cycles(pipe)
    pi, po = ports["input"], ports["output"]
    in_assign = [
        f"assign {_slice('core_in', e.packed_lsb, e.packed_width)} = {_slice('x', e.index * tin.width, tin.width)};"
        for e in ins
        if e.packed_width
    ]
    unused = [e.index for e in ins if not e.packed_width]
    out_assign = [_out_assign(e, tout) for e in outs]
    unused_note = f"\n//   Inputs never read by the datapath (all-zero weights): {unused}." if unused else ""
    core_in_decl = f"    wire [{packed_in - 1}:0] core_in;\n" if packed_in else ""
    core_out_decl = f"    wire [{packed_out - 1}:0] core_out;\n" if packed_out else ""
    core_inst = (
        f"    {core} core (.clk(clk), .model_inp(core_in), .model_out(core_out));\n" if packed_in and packed_out else ""
    )
    nl = "\n    "
    kind_in = "two's complement" if tin.signed else "unsigned"
    kind_out = "two's complement" if tout.signed else "unsigned"
    return f"""{TIMESCALE}

// {top}: encoder '{traced.name}' as a fixed-latency pipeline (generated by micae.rtl from da4ml).
//
// Ports
//   clk        rising-edge clock, target period {clock_ns:g} ns. No reset: the datapath holds no state
//              besides its pipeline registers; y is valid from {lat} cycles after the first input.
//   in_valid   optional; delayed with the data to out_valid.
//   x[{pi["bus_width"] - 1}:0]   {pi["count"]} input codes, each {tin.width} bits {kind_in}, {tin.frac} fractional bits
//              (value = code * 2^-{tin.frac}). Element j occupies x[{tin.width}*j+{tin.width - 1}:{tin.width}*j].
//              Order: {pi["order"]}.
//   y[{po["bus_width"] - 1}:0]   {po["count"]} latents, each {tout.width} bits {kind_out}, {tout.frac} fractional bits
//              (value = code * 2^-{tout.frac}). Element j occupies y[{tout.width}*j+{tout.width - 1}:{tout.width}*j].
//              Order: {po["order"]}.
//   out_valid  in_valid delayed by the latency.
//
// Timing: x is sampled on a rising edge; the matching y appears {lat} rising edges later
// (latency {lat} cycles, one new input per cycle, II = 1).
// Arithmetic: exact sums, then round half to even and saturate per stage (QKeras / AP_RND_CONV, AP_SAT).{unused_note}
module {top} (
    input  wire clk,
    input  wire in_valid,
    input  wire [{pi["bus_width"] - 1}:0] x,
    output wire out_valid,
    output wire [{po["bus_width"] - 1}:0] y
);
{core_in_decl}{core_out_decl}
    {nl.join(in_assign)}

{core_inst}
    {nl.join(out_assign)}

    reg [{lat - 1}:0] valid_pipe = {lat}'d0;
    always @(posedge clk) valid_pipe <= {{valid_pipe[{max(lat - 2, 0)}:0], in_valid}};
    assign out_valid = valid_pipe[{lat - 1}];
endmodule
"""


def _used_primitives(modules: list[Path], primitives: list[Path]) -> list[Path]:
    text = "\n".join(path.read_text() for path in modules)
    used = []
    for path in sorted(primitives):
        if re.search(rf"(^|[;\s]){re.escape(path.stem)}\s+#\(", text, flags=re.M):
            used.append(path)
    return used


def write_datapath(pipe: Pipeline, core: str, out_dir: Path) -> list[str]:
    """da4ml's pipelined modules and the primitives they instantiate; returns the file names written.

    da4ml's ``VerilogModel`` writes a whole project (``src/<core>.v``, ``src/<core>_stage<k>.v``,
    its primitives in ``src/static/``, build scripts, an I/O wrapper, a C++ binder); micae keeps
    the datapath modules and the primitives they use, byte for byte (timescale 1 ns / 1 ps, as
    :data:`TIMESCALE`).
    """
    files = []
    with tempfile.TemporaryDirectory(prefix="micae_da4ml_") as tmp:
        VerilogModel(pipe, core, tmp, print_latency=False).write()
        src = Path(tmp) / "src"
        modules = [src / f"{core}.v"] + sorted(src.glob(f"{core}_stage*.v"))
        for path in _used_primitives(modules, list((src / "static").glob("*.v"))):
            shutil.copyfile(path, out_dir / path.name)
            files.append(path.name)
        for path in sorted(modules, key=lambda p: (p.stem == core, p.stem)):
            shutil.copyfile(path, out_dir / path.name)
            files.append(path.name)
    if not files or not (out_dir / f"{core}.v").read_text().startswith(TIMESCALE):
        raise AssertionError(f"da4ml's VerilogModel did not write the expected {core}.v")
    return files
