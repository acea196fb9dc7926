"""HLS C++ of the ECON-T autoencoder block around an hls4ml encoder project (issue 22): a top a vendor HLS tool
synthesizes, and its testbench.

:func:`write_block_hls` writes ``<project>/econt_block/`` beside the hls4ml project's ``firmware/``:

* ``econt_block.h`` / ``econt_block.cpp``: ``void econt_block(const ap_uint<22> calq[48], ap_uint<12> bx,
  ap_uint<32> elinks[L])``, one bunch crossing per call, ``#pragma HLS PIPELINE II=1``: the normaliser (module
  sum, msb priority encoder, shift with truncation, datapath doc B1) in ``ap_uint`` arithmetic, a call into the
  hls4ml top function (io_parallel), the output stage (latents cut to B bits, 9-bit 5E4M sum, 5-bit BX_CNT, the
  frame cut into L 32-bit e-link words; B2, B4, C0);
* ``econt_block_test.cpp``: the testbench. Without arguments (what vendor csim runs) it reads
  ``tb_data/block_in.dat`` (48 CALQ and the BX per line) and ``tb_data/block_out.dat`` (the L words the Python
  reference gives), writes ``tb_data/block_csim_results.log`` and exits 1 on any differing word. With
  ``--binary IN OUT`` it maps little-endian uint32 rows of 49 to rows of L (micae's bulk check);
* ``build_block.tcl``: the vendor project (csim + csynth), run in ``econt_block/``; ``README.md``.

The normaliser is written from the document's own form (``r``, ``l``), not from the RTL's single selection, so
the C++ and the Verilog are two independent readings of B1 checked against the same Python reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from micae.econt.block import N_CALQ, FrameLayout, encoder_input_codes
from micae.econt.links import AE_HEADER_BITS, AE_SUM_BITS, N_LATENTS
from micae.econt.normaliser import CALQ_BITS
from micae.errors import ConstraintError
from micae.fixed.types import FixedType

FOLDER = "econt_block"
TOP = "econt_block"
SUM_BITS = 28
"""48 x (2^22 - 1) < 2^28: the module sum never wraps (as the Python reference and the RTL)."""
VECTORS_IN = "tb_data/block_in.dat"
VECTORS_OUT = "tb_data/block_out.dat"
RESULTS = "tb_data/block_csim_results.log"
TESTBENCH = "econt_block_test.cpp"
TCL = "build_block.tcl"
WEIGHTS_DIR = "../firmware/weights"


@dataclass(frozen=True)
class EncoderTop:
    """The hls4ml top function the block calls, as ``firmware/<project>.h`` declares it (io_parallel)."""

    function: str
    input_type: str
    inputs: int
    output_type: str
    outputs: int


_PROTOTYPE = re.compile(
    r"void\s+(\w+)\s*\(\s*(\w+)\s+\w+\s*\[([0-9*\s]+)\]\s*,\s*(\w+)\s+\w+\s*\[([0-9*\s]+)\]\s*\)\s*;", re.S
)


def _product(expr: str) -> int:
    out = 1
    for factor in expr.split("*"):
        out *= int(factor)
    return out


def read_encoder_top(project_dir: Path, project_name: str) -> EncoderTop:
    """The top function of an hls4ml io_parallel project with one input and one output array."""
    header = Path(project_dir) / "firmware" / f"{project_name}.h"
    if not header.is_file():
        raise ConstraintError(f"no {header}: not an hls4ml project", "point at a folder written by hls4ml")
    found = _PROTOTYPE.search(header.read_text())
    if found is None or found.group(1) != project_name:
        raise ConstraintError(
            f"{header.name} declares no io_parallel top '{project_name}(input_t x[N], result_t y[M])' (an io_stream "
            "or multi-input project?)",
            "synthesize the encoder with io_type io_parallel for the HLS block (the RTL block does not need it)",
        )
    fn, t_in, n_in, t_out, n_out = found.groups()
    return EncoderTop(fn, t_in, _product(n_in), t_out, _product(n_out))


def check_latent_type(latent: FixedType) -> None:
    """The frame carries unsigned latents with 1 integer bit (the chip's 9-bit latent, or a narrower cut)."""
    if latent.signed or latent.width - latent.frac != 1:
        raise ConstraintError(
            f"the chip's frame carries unsigned latents with 1 integer bit; the encoder gives {latent.describe()}",
            "train the encoder with latent_quant bits 9, integer 1, unsigned (the chip's latent)",
        )


def input_map(layout: str, positions: int) -> list[int]:
    """For each flat input position of ``layout`` (Keras flatten order), the CALQ index it carries, -1 for a
    repeated pixel (always 0, as :func:`micae.econt.block.encoder_input_codes`)."""
    probe = encoder_input_codes(np.arange(1, N_CALQ + 1)[None, :], layout, FixedType(15, 7, False))
    tc = [int(v) - 1 for v in probe[0]]
    if len(tc) != positions:
        raise ConstraintError(
            f"layout {layout} has {len(tc)} input positions, the hls4ml encoder takes {positions}",
            "synthesize the block for an encoder trained on the chip's 48 cells (layout 4x4x3 or 8x8)",
        )
    return tc


def header_text(project_name: str, layout: FrameLayout) -> str:
    return f"""#ifndef ECONT_BLOCK_H_
#define ECONT_BLOCK_H_
// The ECON-T autoencoder block around the hls4ml encoder '{project_name}' (generated by micae; do not edit).
// Per bunch crossing: 48 CALQ (22 bits) and the BX number in, {layout.elinks} e-link words of 32 bits out.
#include "ap_int.h"
#include "ap_fixed.h"
#include "{project_name}.h"

#define ECONT_BLOCK_ELINKS {layout.elinks}
#define ECONT_BLOCK_LATENT_BITS {layout.latent_bits}

typedef ap_uint<{CALQ_BITS}> calq_t;
typedef ap_uint<12> bx_t;
typedef ap_uint<32> elink_t;

void econt_block(const calq_t calq[{N_CALQ}], bx_t bx, elink_t elinks[ECONT_BLOCK_ELINKS]);

#endif
"""


def _helpers(latent: FixedType, bits: int) -> str:
    w = latent.width
    cut = "code" if w == bits else f"code >> {w - bits}" if w > bits else f"field_t(code) << {bits - w}"
    return f"""typedef ap_uint<{SUM_BITS}> sum_t;  // 48 x (2^22 - 1) < 2^28: the module sum never wraps
typedef ap_uint<5> msb_t;
typedef ap_uint<8> raw_t;  // the encoder's 8-bit input, value raw / 128
typedef ap_ufixed<8, 1> raw_value_t;
typedef ap_ufixed<{w}, 1> latent_value_t;  // the encoder's latent (micae's exact integer model)
typedef ap_uint<{w}> latent_code_t;
typedef ap_uint<{bits}> field_t;

// floor(log2 SUM), 0 for SUM = 0 (datapath doc B1): a priority encoder
static msb_t msb_of(sum_t total) {{
#pragma HLS INLINE
    msb_t m = 0;
    for (int i = 0; i < {SUM_BITS}; i++) {{
#pragma HLS UNROLL
        if (total[i]) m = i;
    }}
    return m;
}}

// raw = ((CALQ >> r) << l) mod 256, r = min(max(msb - 7, 0), 14), l = max(7 - msb, 0) (datapath doc B1): truncated
static raw_t normalise(calq_t calq, msb_t msb) {{
#pragma HLS INLINE
    const int m = msb.to_int();
    const int r = m > 21 ? 14 : (m > 7 ? m - 7 : 0);
    const int l = m < 7 ? 7 - m : 0;
    ap_uint<{CALQ_BITS + 7}> shifted = ap_uint<{CALQ_BITS + 7}>(calq >> r) << l;
    return shifted.range(7, 0);
}}

// 9-bit 5E4M of the module sum (datapath doc B2): below 16 exact; else exponent msb - 3 and the 4 bits below the
// leading one, truncated (the exponent is at most 27 - 3 = 24: it never saturates)
static ap_uint<9> sum_5e4m(sum_t total, msb_t msb) {{
#pragma HLS INLINE
    if (total < 16) return ap_uint<9>(total.range(3, 0));
    const int m = msb.to_int();
    sum_t below = total >> (m - 4);
    ap_uint<9> code = m - 3;  // the exponent, in the top 5 bits after the shift
    code = (code << 4) | ap_uint<9>(below.range(3, 0));
    return code;
}}

// the 5-bit BX_CNT (datapath doc C0): 31 at BX 0 (the orbit marker), else BX mod 16
static ap_uint<5> bx_counter(bx_t bx) {{
#pragma HLS INLINE
    return bx == 0 ? ap_uint<5>(31) : ap_uint<5>(bx.range(3, 0));
}}

// the top {bits} bits of the encoder's {w}-bit unsigned latent code (datapath doc B4)
template <class result_T> static field_t latent_field(result_T y) {{
#pragma HLS INLINE
    latent_value_t value = y;  // exact: the latents are on this grid (the c_model level checks it)
    latent_code_t code = value.range({w - 1}, 0);
    return {cut};
}}
"""


def _pack_lines(layout: FrameLayout) -> list[str]:
    """``frame.range(hi, lo) = value;`` for every field of the frame (padding stays 0)."""
    values = {"BX_CNT": "bx_counter(bx)", "SUM": "sum_5e4m(total, msb)"}
    values.update({f"OUT_{j}": f"latent_field(enc_out[{j}])" for j in range(N_LATENTS)})
    lines = []
    for name, start, width in layout.fields():
        if name in values:
            lo = layout.lsb_of(start, width)
            lines.append(f"    frame.range({lo + width - 1}, {lo}) = {values[name]};  // {name}")
    return lines


def source_text(project_name: str, top: EncoderTop, layout: FrameLayout, pixels: list[int], latent: FixedType) -> str:
    inputs = [
        f"    enc_in[{p}] = {'0' if tc < 0 else f'input_value(raw[{tc}])'};  // "
        + ("a repeated pixel, always 0" if tc < 0 else f"CALQ_{tc}")
        for p, tc in enumerate(pixels)
    ]
    words = [
        f"    elinks[{k}] = frame.range({32 * (layout.elinks - k) - 1}, {32 * (layout.elinks - k - 1)});"
        for k in range(layout.elinks)
    ]
    tail = f" | {layout.tail_bits} zeros" if layout.tail_bits else ""
    return f"""// The ECON-T autoencoder block (generated by micae; do not edit): normaliser, the hls4ml encoder
// '{project_name}', output stage. Frame, MSB first: BX_CNT({AE_HEADER_BITS}) | SUM 5E4M({AE_SUM_BITS}) |
// {layout.spare_bits} zeros | OUT_15 .. OUT_0 ({layout.latent_bits} bits each){tail}; e-link 0 = the top 32 bits.
#include "econt_block.h"

{_helpers(latent, layout.latent_bits)}
static {top.input_type} input_value(raw_t raw) {{
#pragma HLS INLINE
    raw_value_t value;
    value.range(7, 0) = raw;
    return {top.input_type}(value);  // exact: the encoder's input type holds every 8-bit input
}}

void econt_block(const calq_t calq[{N_CALQ}], bx_t bx, elink_t elinks[ECONT_BLOCK_ELINKS]) {{
#pragma HLS PIPELINE II=1
#pragma HLS ARRAY_RESHAPE variable=calq complete dim=0
#pragma HLS ARRAY_PARTITION variable=elinks complete dim=0
#pragma HLS INTERFACE ap_vld port=calq,bx,elinks
    sum_t total = 0;
    for (int i = 0; i < {N_CALQ}; i++) {{
#pragma HLS UNROLL
        total += calq[i];
    }}
    const msb_t msb = msb_of(total);
    raw_t raw[{N_CALQ}];
#pragma HLS ARRAY_PARTITION variable=raw complete dim=0
    for (int i = 0; i < {N_CALQ}; i++) {{
#pragma HLS UNROLL
        raw[i] = normalise(calq[i], msb);
    }}
    {top.input_type} enc_in[{top.inputs}];
#pragma HLS ARRAY_PARTITION variable=enc_in complete dim=0
{chr(10).join(inputs)}
    {top.output_type} enc_out[{top.outputs}];
#pragma HLS ARRAY_PARTITION variable=enc_out complete dim=0
    {top.function}(enc_in, enc_out);
    ap_uint<{layout.total_bits}> frame = 0;
{chr(10).join(_pack_lines(layout))}
{chr(10).join(words)}
}}
"""


def testbench_text(layout: FrameLayout) -> str:
    n_in = N_CALQ + 1
    return f"""// Testbench of the ECON-T block (generated by micae; do not edit).
//   econt_block_tb                  {VECTORS_IN} + {VECTORS_OUT} -> {RESULTS}; exit 1 on any differing word
//   econt_block_tb --binary IN OUT  little-endian uint32 rows of {n_in} (CALQ_0..47, BX) -> rows of {layout.elinks}
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "econt_block.h"
#include "nnet_utils/nnet_helpers.h"

namespace nnet {{
bool trace_enabled = false;
std::map<std::string, void *> *trace_outputs = NULL;
size_t trace_type_size = sizeof(double);
}} // namespace nnet

static const int N_IN = {n_in};
static const int L = ECONT_BLOCK_ELINKS;

static bool run_row(const uint64_t *in, uint32_t *out) {{
    calq_t calq[{N_CALQ}];
    for (int i = 0; i < {N_CALQ}; i++) {{
        if (in[i] >= (1u << {CALQ_BITS})) return false;
        calq[i] = in[i];
    }}
    if (in[{N_CALQ}] >= 4096) return false;
    elink_t words[L];
    econt_block(calq, bx_t(in[{N_CALQ}]), words);
    for (int k = 0; k < L; k++) out[k] = words[k].to_uint();
    return true;
}}

static int run_binary(const char *in_path, const char *out_path) {{
    FILE *fin = std::fopen(in_path, "rb"), *fout = std::fopen(out_path, "wb");
    if (!fin || !fout) {{
        std::cerr << "ERROR: cannot open " << in_path << " or " << out_path << std::endl;
        return 2;
    }}
    uint32_t row[N_IN], out[L];
    uint64_t wide[N_IN];
    long rows = 0;
    while (std::fread(row, sizeof(uint32_t), N_IN, fin) == (size_t)N_IN) {{
        for (int i = 0; i < N_IN; i++) wide[i] = row[i];
        if (!run_row(wide, out)) {{
            std::cerr << "ERROR: row " << rows << ": CALQ above 22 bits or BX above 12 bits" << std::endl;
            return 2;
        }}
        std::fwrite(out, sizeof(uint32_t), L, fout);
        rows++;
    }}
    std::fclose(fin);
    std::fclose(fout);
    std::cout << "INFO: " << rows << " bunch crossings" << std::endl;
    return 0;
}}

static int run_text() {{
    std::ifstream fin("{VECTORS_IN}"), fexp("{VECTORS_OUT}");
    std::ofstream fout("{RESULTS}");
    if (!fin.is_open() || !fexp.is_open()) {{
        std::cerr << "ERROR: cannot open {VECTORS_IN} or {VECTORS_OUT}" << std::endl;
        return 2;
    }}
    std::string iline, eline;
    long rows = 0, bad = 0;
    while (std::getline(fin, iline) && std::getline(fexp, eline)) {{
        std::istringstream is(iline), es(eline);
        uint64_t in[N_IN], expected[L];
        uint32_t out[L];
        for (int i = 0; i < N_IN; i++) is >> in[i];
        for (int k = 0; k < L; k++) es >> expected[k];
        if (!is || !es || !run_row(in, out)) {{
            std::cerr << "ERROR: line " << rows + 1 << ": expected 48 CALQ (< 2^22) and a BX (< 4096), and " << L
                      << " words" << std::endl;
            return 2;
        }}
        bool same = true;
        for (int k = 0; k < L; k++) {{
            fout << out[k] << (k + 1 < L ? " " : "\\n");
            same = same && out[k] == expected[k];
        }}
        if (!same && bad++ < 10) std::cout << "MISMATCH at line " << rows + 1 << std::endl;
        rows++;
    }}
    std::cout << "INFO: " << rows << " bunch crossings, " << bad << " with a differing e-link word" << std::endl;
    return bad ? 1 : 0;
}}

int main(int argc, char **argv) {{
    if (argc == 4 && std::strcmp(argv[1], "--binary") == 0) return run_binary(argv[2], argv[3]);
    if (argc != 1) {{
        std::cerr << "usage: " << argv[0] << " [--binary IN OUT]" << std::endl;
        return 2;
    }}
    return run_text();
}}
"""


def tcl_text(project_name: str, part: str, clock_ns: float) -> str:
    flags = "-std=c++0x -I../firmware"
    return f"""# Vendor HLS project of the ECON-T block (generated by micae): C simulation and synthesis of econt_block.
# Run in this folder: vitis_hls -f {TCL}  |  vitis-run --mode hls --tcl {TCL}  |  vivado_hls -f {TCL}
open_project -reset {TOP}_prj
set_top {TOP}
add_files {TOP}.cpp -cflags "{flags}"
add_files ../firmware/{project_name}.cpp -cflags "{flags}"
add_files -tb {TESTBENCH} -cflags "{flags}"
add_files -tb {WEIGHTS_DIR}
add_files -tb tb_data
open_solution -reset "solution1"
config_compile -name_max_length 80
set_part {{{part}}}
create_clock -period {clock_ns:g} -name default
csim_design
csynth_design
exit
"""


def compile_command(project_name: str, exe: str = "econt_block_tb") -> list[str]:
    """g++ on the block, its testbench and the encoder, with hls4ml's bundled ap_types (run in ``econt_block/``)."""
    return [
        "g++",
        "-O2",
        "-std=c++14",
        "-w",
        "-I.",
        "-I../firmware",
        "-I../firmware/ap_types",
        f'-DWEIGHTS_DIR="{WEIGHTS_DIR}"',
        f"{TOP}.cpp",
        TESTBENCH,
        f"../firmware/{project_name}.cpp",
        "-o",
        exe,
    ]


def write_vectors(folder: Path, calq: np.ndarray, bx: np.ndarray, words: np.ndarray) -> None:
    """``tb_data/block_in.dat`` (48 CALQ and the BX per line) and ``block_out.dat`` (the L words, decimal)."""
    rows = np.concatenate([np.asarray(calq, dtype=np.int64), np.asarray(bx, dtype=np.int64).reshape(-1, 1)], axis=1)
    (folder / "tb_data").mkdir(parents=True, exist_ok=True)
    (folder / VECTORS_IN).write_text("".join(" ".join(map(str, r)) + "\n" for r in rows.tolist()))
    (folder / VECTORS_OUT).write_text("".join(" ".join(map(str, r)) + "\n" for r in np.asarray(words).tolist()))


def write_block_hls(
    project_dir: str | Path,
    project_name: str,
    *,
    elinks: int,
    layout: str,
    latent_type: FixedType,
    part: str,
    clock_ns: float,
    vectors: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Path:
    """Write ``<project_dir>/econt_block/`` around the hls4ml project ``project_name``; returns that folder.

    ``latent_type``: the encoder's latent type (unsigned, 1 integer bit); ``vectors``: ``(calq, bx, words)``
    shipped as the testbench's text vectors."""
    project_dir = Path(project_dir)
    if project_name == TOP:
        raise ConstraintError(f"the encoder's project is named {TOP!r}, the block's own top", "rename the run")
    check_latent_type(latent_type)
    top = read_encoder_top(project_dir, project_name)
    if top.outputs != N_LATENTS:
        raise ConstraintError(
            f"the chip's frame carries 16 latents; the hls4ml encoder gives {top.outputs}", "train with latent 16"
        )
    fmt = FrameLayout.of(elinks)
    pixels = input_map(layout, top.inputs)
    out = project_dir / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{TOP}.h").write_text(header_text(project_name, fmt))
    (out / f"{TOP}.cpp").write_text(source_text(project_name, top, fmt, pixels, latent_type))
    (out / TESTBENCH).write_text(testbench_text(fmt))
    (out / TCL).write_text(tcl_text(project_name, part, clock_ns))
    if vectors is not None:
        write_vectors(out, *vectors)
    (out / "README.md").write_text(readme_text(project_name, fmt, layout, vectors is not None))
    return out


def _shell(cmd: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(c) for c in cmd)


def readme_text(project_name: str, fmt: FrameLayout, layout: str, has_vectors: bool) -> str:
    vec = (
        f"- `{VECTORS_IN}`, `{VECTORS_OUT}`: block vectors (edge cases first) and the L words micae's Python reference "
        "of the chip gives for them.\n"
        if has_vectors
        else ""
    )
    return f"""# The ECON-T autoencoder block, HLS C++ (generated by micae)

`{TOP}(calq[48], bx, elinks[{fmt.elinks}])`: 48 CALQ (`ap_uint<22>`) and the bunch-crossing number in, {fmt.elinks}
e-link words (`ap_uint<32>`, e-link 0 first) out, one bunch crossing per call (`#pragma HLS PIPELINE II=1`).
Normaliser (module sum, msb, truncating shift to 8-bit inputs), the hls4ml encoder `{project_name}` in
`../firmware/` (inputs in layout {layout}), latents cut to {fmt.latent_bits} bits, 9-bit 5E4M sum, 5-bit BX_CNT.
Rules: micae's `econt-datapath.md` parts B1, B2, B4, C0 (the chip's emulator form: truncation).

- `{TOP}.h`, `{TOP}.cpp`: the block top; `{TESTBENCH}`: its testbench; `{TCL}`: the vendor project.
{vec}
## Without vendor tools

```sh
{_shell(compile_command(project_name))}
./econt_block_tb      # writes {RESULTS}; exit status 1 on any differing word
```

## Vendor tools (C simulation and synthesis)

```sh
vitis_hls -f {TCL}     # or: vitis-run --mode hls --tcl {TCL}, or: vivado_hls -f {TCL}
```

micae runs this with `micae synth --block econt --vendor auto|require` (levels `block_vendor_csim`,
`block_vendor_synth`). Not yet run through a vendor tool by micae (none on the machines its tests run on): the
C++ is checked with g++ only. Inside the pipelined block the tool is expected to flatten the encoder call and
ignore the encoder's own `#pragma HLS DATAFLOW` (it warns when it does); check its log.
"""
