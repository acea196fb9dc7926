"""Verilog of the ECON-T autoencoder block around a da4ml encoder: normaliser, encoder, output stage (issue 22).

``write_block_rtl`` takes an encoder folder written by :func:`micae.rtl.build.write_rtl` and writes a folder with

* ``<b>.v``: the block top, ports ``clk``, ``in_valid``, ``calq[48*22-1:0]`` (CALQ_i at ``calq[22i+21:22i]``),
  ``bx[11:0]`` (the bunch-crossing number), ``out_valid``, ``elinks[32L-1:0]`` (e-link k at ``elinks[32k+31:32k]``);
* ``<b>_norm_stage1..4.v``: the normaliser's combinational stages (partial sums and BX_CNT; the module sum; msb
  and 5E4M; the shift), each between two register banks, so yosys' per-stage STA times them with the encoder's;
* the encoder's own files, unchanged;
* ``<b>_sim.v``: a harness with the flat ``x``/``y`` ports micae's simulators and place-and-route wrapper drive
  (``x`` = 49 elements of 22 bits: CALQ_0..47, then BX; ``y`` = L elements of 32 bits, e-link 0 first), its
  ``rtl.json``, testbench and vectors.

The pipeline (one bunch crossing per clock): input registers, 4 normaliser stages, the encoder (its own
latency E), one output register: latency 6 + E cycles. BX_CNT and the 5E4M sum ride a delay line of E registers
beside the encoder. The module sum is kept at full width (28 bits: 48 x (2^22 - 1) < 2^28), as the Python
reference (:mod:`micae.econt.block`) and the converter's C model (32-bit) do.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from micae.econt.block import BX_BITS, N_CALQ, FrameLayout, encoder_input_codes
from micae.econt.links import AE_HEADER_BITS, AE_SUM_BITS, N_LATENTS
from micae.econt.normaliser import CALQ_BITS
from micae.errors import ConstraintError
from micae.fixed.types import FixedType
from micae.results.base import write_result
from micae.results.rtl import MANIFEST, RtlManifest, load_manifest
from micae.rtl.build import SOURCES_LIST
from micae.rtl.emit import TIMESCALE, port_doc
from micae.rtl.testbench import VECTORS_IN, VECTORS_OUT, run_sim_script, testbench, write_vectors

SUM_BITS = 28
"""Width of the module sum: 48 x (2^22 - 1) < 2^28."""
PSUM_BITS = 25
"""Width of a partial sum of 8 CALQ."""
NORM_STAGES = 4
IN_TYPE = FixedType(CALQ_BITS, 0, False)
OUT_TYPE = FixedType(32, 0, False)


def block_latency(encoder_latency: int) -> int:
    """Cycles from sampling CALQ to the e-link words: input registers + 4 normaliser stages + encoder + output."""
    return 1 + NORM_STAGES + encoder_latency + 1


def sim_inputs(calq: np.ndarray, bx: np.ndarray) -> np.ndarray:
    """The harness's ``x`` elements: CALQ_0..47, then the BX number, ``(N, 49)`` int64."""
    return np.concatenate([np.asarray(calq, dtype=np.int64), np.asarray(bx, dtype=np.int64).reshape(-1, 1)], axis=1)


def _tree(terms: list[str]) -> str:
    """A balanced sum of ``terms``."""
    while len(terms) > 1:
        terms = [f"({a} + {b})" if b else a for a, b in zip(terms[::2], [*terms[1::2], None])]
    return terms[0]


def _module(name: str, ports: list[str], body: list[str]) -> str:
    nl = "\n    "
    return f"{TIMESCALE}\n\nmodule {name} (\n    {(',' + nl).join(ports)}\n);\n    {nl.join(body)}\nendmodule\n"


def _stage1(name: str) -> str:
    w = CALQ_BITS
    body = [f"wire [{w - 1}:0] c{i} = calq[{w * i + w - 1}:{w * i}];" for i in range(N_CALQ)]
    for g in range(6):
        terms = [f"c{8 * g + k}" for k in range(8)]
        body.append(f"assign psum[{PSUM_BITS * g + PSUM_BITS - 1}:{PSUM_BITS * g}] = {_tree(terms)};")
    body.append(f"assign bx_cnt = (bx == {BX_BITS}'d0) ? 5'd31 : {{1'b0, bx[3:0]}};  // datapath doc C0")
    ports = [
        f"input  wire [{N_CALQ * CALQ_BITS - 1}:0] calq",
        f"input  wire [{BX_BITS - 1}:0] bx",
        f"output wire [{6 * PSUM_BITS - 1}:0] psum",
        "output wire [4:0] bx_cnt",
    ]
    return _module(name, ports, ["// partial module sums of 8 CALQ each; BX_CNT", *body])


def _stage2(name: str) -> str:
    terms = [f"psum[{PSUM_BITS * g + PSUM_BITS - 1}:{PSUM_BITS * g}]" for g in range(6)]
    ports = [f"input  wire [{6 * PSUM_BITS - 1}:0] psum", f"output wire [{SUM_BITS - 1}:0] total"]
    return _module(name, ports, ["// the module sum (full width, never wraps)", f"assign total = {_tree(terms)};"])


def _stage3(name: str) -> str:
    body = [
        "// msb = floor(log2 SUM), 0 for SUM = 0 (datapath doc B1); 5E4M: SUM < 16 exact, else exponent msb - 3",
        "// and the 4 bits below the leading one, truncated (B2)",
        "reg [4:0] m;",
        "integer i;",
        "always @* begin",
        "    m = 5'd0;",
        f"    for (i = 0; i < {SUM_BITS}; i = i + 1) if (total[i]) m = i[4:0];",
        "end",
        "assign msb = m;",
        f"wire [{SUM_BITS - 1}:0] below = total >> (m - 5'd4);",
        "wire [4:0] expo = m - 5'd3;",
        "assign sum_code = (total < 16) ? {5'd0, total[3:0]} : {expo, below[3:0]};",
    ]
    ports = [f"input  wire [{SUM_BITS - 1}:0] total", "output wire [4:0] msb", "output wire [8:0] sum_code"]
    return _module(name, ports, body)


def _select(name: str, sel: str, choices: list[list[str]]) -> list[str]:
    """``name = choices[sel]`` as a case statement (bits MSB first)."""
    rows = [f"        {k}: {name} = {{{', '.join(bits)}}};" for k, bits in enumerate(choices)]
    return ["    case (" + sel + ")", *rows, f"        default: {name} = {{{', '.join(choices[-1])}}};", "    endcase"]


def _norm8_function() -> list[str]:
    """``norm8(c, m) = ((c << 7) >> m)[7:0]`` for m = 0..21, as a coarse shift by 4 m[4:2] (11 bits kept), then
    a fine shift by m[1:0]: two small multiplexers per bit instead of one 22:1."""

    def bit(j: int, shift: int) -> str:  # bit j of (c << 7) >> shift
        k = j + shift - 7
        return f"c[{k}]" if 0 <= k < CALQ_BITS else "1'b0"

    coarse = [[bit(j, 4 * k) for j in range(10, -1, -1)] for k in range(6)]
    wide = [f"w[{b}]" for b in range(10, -1, -1)]
    fine = [wide[len(wide) - 8 - k : len(wide) - k] for k in range(4)]
    return [
        f"function [7:0] norm8(input [{CALQ_BITS - 1}:0] c, input [4:0] m);",
        "    reg [10:0] w;",
        "    begin",
        *("    " + line for line in _select("w", "m[4:2]", coarse)),
        *("    " + line for line in _select("norm8", "m[1:0]", fine)),
        "    end",
        "endfunction",
    ]


def _stage4(name: str) -> str:
    body = [
        "// raw_i = ((CALQ_i >> r) << l) mod 256, r = min(max(msb - 7, 0), 14), l = max(7 - msb, 0) (datapath doc B1),",
        "// written as one selection: ((CALQ_i << 7) >> min(msb, 21))[7:0] (the same bits for every msb: for msb <= 7",
        "// the right shift only drops zeros, for msb >= 21 r stays 14 = 21 - 7)",
        "wire [4:0] m = (msb > 5'd21) ? 5'd21 : msb;",
        *_norm8_function(),
    ]
    for i in range(N_CALQ):
        src = f"calq[{CALQ_BITS * i + CALQ_BITS - 1}:{CALQ_BITS * i}]"
        body.append(f"assign raw[{8 * i + 7}:{8 * i}] = norm8({src}, m);")
    ports = [f"input  wire [{N_CALQ * CALQ_BITS - 1}:0] calq", "input  wire [4:0] msb", "output wire [383:0] raw"]
    return _module(name, ports, body)


def _input_map(layout: str, man: RtlManifest) -> list[str]:
    """The encoder's ``x`` bus from the raw bytes: port element k is flat position input_columns[k] of ``layout``."""
    probe = encoder_input_codes(np.arange(1, 49)[None, :], layout, FixedType(15, 7, False))
    tc_of_position = probe[0] - 1  # arrange() puts TC t at its pixel (value t + 1); repeated pixels hold 0 -> -1
    t = man.ports.input
    shift = t.frac - 7
    if len(tc_of_position) != man.input_positions:
        raise ConstraintError(
            f"layout {layout} has {len(tc_of_position)} input positions, the encoder takes {man.input_positions}",
            "synthesize the block for an encoder trained on the chip's 48 cells (layout 4x4x3 or 8x8)",
        )
    lines = []
    for k, pos in enumerate(man.input_columns):
        dst = f"enc_x[{t.width * k + t.width - 1}:{t.width * k}]"
        tc = int(tc_of_position[pos])
        if tc < 0:
            lines.append(f"assign {dst} = {t.width}'d0;  // position {pos}: a repeated pixel, always 0")
            continue
        parts = [f"{t.width - 8 - shift}'d0"] if t.width - 8 - shift else []
        parts.append(f"raw_r4[{8 * tc + 7}:{8 * tc}]")
        parts += [f"{shift}'d0"] if shift else []
        lines.append(f"assign {dst} = {{{', '.join(parts)}}};  // position {pos} = CALQ_{tc}")
    return lines


def _latent_field(j: int, t, bits: int) -> str:
    lo = t.width * j
    if t.width >= bits:
        return f"enc_y[{lo + t.width - 1}:{lo + t.width - bits}]"
    return f"{{enc_y[{lo + t.width - 1}:{lo}], {bits - t.width}'d0}}"


def _frame_doc(fmt: FrameLayout, latent_width: int) -> str:
    tail = f" | {fmt.tail_bits} zeros" if fmt.tail_bits else ""
    return (
        f"//              Frame, MSB first: BX_CNT(5) | SUM 5E4M(9) | {fmt.spare_bits} zeros | OUT_15 .. OUT_0\n"
        f"//              ({fmt.latent_bits} bits each: top bits of the encoder's {latent_width}-bit latent){tail};\n"
        "//              e-link k = frame words (2k, 2k+1)."
    )


def _top(name: str, stages: list[str], enc: RtlManifest, layout: str, fmt: FrameLayout) -> str:
    e_lat, t_in, t_out = enc.latency_cycles, enc.ports.input, enc.ports.output
    lat = block_latency(e_lat)
    frame = ["bx_cnt_d", "sum_code_d"] + ([f"{fmt.spare_bits}'d0"] if fmt.spare_bits else [])
    frame += [_latent_field(j, t_out, fmt.latent_bits) for j in reversed(range(N_LATENTS))]
    frame += [f"{fmt.tail_bits}'d0"] if fmt.tail_bits else []
    links = [
        f"assign elinks[{32 * k + 31}:{32 * k}] = frame[{fmt.total_bits - 1 - 32 * k}:{fmt.total_bits - 32 - 32 * k}];"
        for k in range(fmt.elinks)
    ]
    hdr = AE_HEADER_BITS + AE_SUM_BITS
    nl = "\n    "
    return f"""{TIMESCALE}

// {name}: the ECON-T autoencoder block (generated by micae.rtl.econt_block; datapath doc B1, B2, B4, C0).
//
// Ports
//   clk        rising edge; one bunch crossing per clock (II = 1). No reset.
//   in_valid   delayed with the data to out_valid.
//   calq       48 CALQ, 22 bits unsigned each; CALQ_i at calq[22*i+21:22*i].
//   bx         bunch-crossing number (0..3563); BX_CNT = 31 at bx = 0 (orbit marker), else bx mod 16.
//   elinks     {fmt.elinks} x 32-bit words of this crossing's frame; e-link k at elinks[32*k+31:32*k].
{_frame_doc(fmt, t_out.width)}
//   out_valid  in_valid delayed by the latency.
// Latency {lat} cycles: input registers, 4 normaliser stages, encoder '{enc.top}' ({e_lat} cycles), output register.
// Encoder inputs: layout {layout}; the encoder reads its input codes at {t_in.frac} fractional bits.
module {name} (
    input  wire clk,
    input  wire in_valid,
    input  wire [{N_CALQ * CALQ_BITS - 1}:0] calq,
    input  wire [{BX_BITS - 1}:0] bx,
    output wire out_valid,
    output wire [{32 * fmt.elinks - 1}:0] elinks
);
    // input registers
    reg [{N_CALQ * CALQ_BITS - 1}:0] calq_r0, calq_r1, calq_r2, calq_r3;
    reg [{BX_BITS - 1}:0] bx_r0;
    always @(posedge clk) begin calq_r0 <= calq; bx_r0 <= bx; end

    // normaliser: partial sums, sum, msb + 5E4M, shift
    wire [{6 * PSUM_BITS - 1}:0] psum;
    wire [4:0] bx_cnt;
    reg [{6 * PSUM_BITS - 1}:0] psum_r1;
    reg [4:0] bx_cnt_r1, bx_cnt_r2, bx_cnt_r3;
    {stages[0]} u_stage1 (.calq(calq_r0), .bx(bx_r0), .psum(psum), .bx_cnt(bx_cnt));
    always @(posedge clk) begin psum_r1 <= psum; calq_r1 <= calq_r0; bx_cnt_r1 <= bx_cnt; end

    wire [{SUM_BITS - 1}:0] total;
    reg [{SUM_BITS - 1}:0] total_r2;
    {stages[1]} u_stage2 (.psum(psum_r1), .total(total));
    always @(posedge clk) begin total_r2 <= total; calq_r2 <= calq_r1; bx_cnt_r2 <= bx_cnt_r1; end

    wire [4:0] msb;
    wire [8:0] sum_code;
    reg [4:0] msb_r3;
    reg [8:0] sum_code_r3;
    {stages[2]} u_stage3 (.total(total_r2), .msb(msb), .sum_code(sum_code));
    always @(posedge clk) begin msb_r3 <= msb; sum_code_r3 <= sum_code; calq_r3 <= calq_r2; bx_cnt_r3 <= bx_cnt_r2; end

    wire [383:0] raw;
    reg [383:0] raw_r4;
    reg [{hdr - 1}:0] hdr_r4;
    {stages[3]} u_stage4 (.calq(calq_r3), .msb(msb_r3), .raw(raw));
    always @(posedge clk) begin raw_r4 <= raw; hdr_r4 <= {{bx_cnt_r3, sum_code_r3}}; end

    // the encoder
    wire [{t_in.bus_width - 1}:0] enc_x;
    wire [{t_out.bus_width - 1}:0] enc_y;
    wire enc_valid;
    {nl.join(_input_map(layout, enc))}
    {enc.top} u_encoder (.clk(clk), .in_valid(1'b0), .x(enc_x), .out_valid(enc_valid), .y(enc_y));

    // BX_CNT and SUM wait for the encoder ({e_lat} cycles)
    reg [{hdr - 1}:0] hdr_pipe [0:{e_lat - 1}];
    integer k;
    always @(posedge clk) begin
        hdr_pipe[0] <= hdr_r4;
        for (k = 1; k < {e_lat}; k = k + 1) hdr_pipe[k] <= hdr_pipe[k - 1];
    end
    wire [4:0] bx_cnt_d = hdr_pipe[{e_lat - 1}][{hdr - 1}:{AE_SUM_BITS}];
    wire [8:0] sum_code_d = hdr_pipe[{e_lat - 1}][{AE_SUM_BITS - 1}:0];

    // output stage: latent cut, frame, e-link words
    wire [{fmt.total_bits - 1}:0] frame = {{{", ".join(frame)}}};
    reg [{fmt.total_bits - 1}:0] frame_r;
    always @(posedge clk) frame_r <= frame;
    {nl.join(links).replace("frame[", "frame_r[")}

    reg [{lat - 1}:0] valid_pipe = {lat}'d0;
    always @(posedge clk) valid_pipe <= {{valid_pipe[{lat - 2}:0], in_valid}};
    assign out_valid = valid_pipe[{lat - 1}];
endmodule
"""


def _harness(name: str, top: str, elinks: int) -> str:
    n = N_CALQ * CALQ_BITS
    return f"""{TIMESCALE}

// {name}: flat x/y ports of {top} for micae's simulators and place-and-route wrapper (generated).
// x: 49 elements of 22 bits, CALQ_0..CALQ_47 then the BX number (low 12 bits); y: e-link k at y[32k+31:32k].
module {name} (
    input  wire clk,
    input  wire in_valid,
    input  wire [{n + CALQ_BITS - 1}:0] x,
    output wire out_valid,
    output wire [{32 * elinks - 1}:0] y
);
    {top} dut (.clk(clk), .in_valid(in_valid), .calq(x[{n - 1}:0]), .bx(x[{n + BX_BITS - 1}:{n}]),
        .out_valid(out_valid), .elinks(y));
endmodule
"""


def write_block_rtl(
    encoder_dir: str | Path,
    out_dir: str | Path,
    *,
    elinks: int,
    layout: str,
    vectors_in: np.ndarray,
    vectors_out: np.ndarray,
    name: str = "econt_block",
) -> RtlManifest:
    """Write the block around the encoder RTL in ``encoder_dir``; returns the harness's manifest (``rtl.json``).

    ``vectors_in`` are ``(n, 49)`` harness inputs (:func:`sim_inputs`), ``vectors_out`` their ``(n, L)`` e-link
    words from :func:`micae.econt.block.run_block`; they ship beside the RTL for ``run_sim.sh``.
    """
    enc_dir, out = Path(encoder_dir), Path(out_dir)
    enc = load_manifest(enc_dir)
    t_out = enc.ports.output
    if t_out.count != N_LATENTS or t_out.signed or t_out.width - t_out.frac != 1:
        raise ConstraintError(
            f"the chip's frame carries 16 unsigned latents with 1 integer bit; encoder {enc.top!r} gives "
            f"{t_out.count} latents, {'signed' if t_out.signed else 'unsigned'} {t_out.width} bits, "
            f"{t_out.frac} fractional",
            "train the encoder with latent 16 and latent_quant bits 9, integer 1, unsigned (the chip's latent)",
        )
    fmt = FrameLayout.of(elinks)
    out.mkdir(parents=True, exist_ok=True)
    enc_sources = (enc_dir / SOURCES_LIST).read_text().split()
    for f in enc_sources:
        shutil.copyfile(enc_dir / f, out / f)
    stages = [f"{name}_norm_stage{k}" for k in range(1, NORM_STAGES + 1)]
    for module, text in zip(stages, (_stage1, _stage2, _stage3, _stage4)):
        (out / f"{module}.v").write_text(text(module))
    (out / f"{name}.v").write_text(_top(name, stages, enc, layout, fmt))
    sim = f"{name}_sim"
    (out / f"{sim}.v").write_text(_harness(sim, name, elinks))
    sources = [*enc_sources, *(f"{m}.v" for m in stages), f"{name}.v", f"{sim}.v"]
    (out / SOURCES_LIST).write_text("\n".join(sources) + "\n")
    lat = block_latency(enc.latency_cycles)
    write_vectors(out / VECTORS_IN, vectors_in, IN_TYPE)
    write_vectors(out / VECTORS_OUT, vectors_out, OUT_TYPE)
    tb = f"{sim}_tb.v"
    (out / tb).write_text(testbench(sim, (N_CALQ + 1) * CALQ_BITS, 32 * elinks, len(vectors_in), lat, enc.clock_ns))
    script = out / "run_sim.sh"
    script.write_text(run_sim_script(sim, sources))
    os.chmod(script, 0o755)
    manifest = RtlManifest(
        top=sim,
        ports={
            "input": port_doc(IN_TYPE, N_CALQ + 1, "CALQ_0 .. CALQ_47, then the BX number (0..3563)"),
            "output": port_doc(OUT_TYPE, elinks, "e-link 0 .. L-1, each (word 2k << 16) | word 2k+1 of the frame"),
        },
        latency_cycles=lat,
        clock_ns=enc.clock_ns,
        files=[*sources, tb, VECTORS_IN, VECTORS_OUT, "run_sim.sh", SOURCES_LIST, MANIFEST],
        vectors=len(vectors_in),
        rounding=enc.rounding,
        da4ml=enc.da4ml,
        timing_estimate=enc.timing_estimate,
        input_columns=list(range(N_CALQ + 1)),
        input_positions=N_CALQ + 1,
    )
    write_result(out / MANIFEST, manifest)
    return manifest
