"""Self-checking Verilog testbench, its hex vector files and the ``run_sim.sh`` that reruns it.

Vector files hold one flat bus per line in hex (``$readmemh``), element 0 in
the least significant bits, each element in two's complement at the port
width. The testbench drives one vector per clock and compares ``y`` against the
expected bus whenever ``out_valid`` is high. It prints, one per line::

    MISMATCH <index> <got hex> <expected hex>
    PASS <n>            or      FAIL <m> of <n>
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from micae.fixed.types import FixedType

SIM_TIMEOUT_DEFAULT_S = 600.0
VECTORS_IN = "vectors_in.hex"
VECTORS_OUT = "vectors_out.hex"

_CHUNK = 16384

_LINE = re.compile(r"^(MISMATCH|PASS|FAIL)\b(.*)$")


def bus_words(t: FixedType, count: int) -> int:
    """32-bit words per vector of a flat bus of ``count`` elements (Verilator's ``VlWide`` layout)."""
    return max(1, -(-(t.width * count) // 32))


def pack_words(codes: np.ndarray, t: FixedType) -> np.ndarray:
    """Rows of integer codes -> the flat bus as little-endian ``uint32`` words, shape ``(n, bus_words)``.

    Element ``j`` occupies bits ``[t.width*j, t.width*(j+1))`` in two's complement; unused top bits are zero.
    """
    codes = np.asarray(codes, dtype=np.int64)
    if codes.ndim != 2:
        raise ValueError(f"expected a 2-D array of codes, got shape {codes.shape}")
    if codes.size and (codes.min() < t.min_int or codes.max() > t.max_int):
        raise ValueError(f"codes outside the range of {t.describe()}")
    n, count = codes.shape
    nw = bus_words(t, count)
    out = np.empty((n, nw), dtype=np.uint32)
    for lo in range(0, n, _CHUNK):  # cache-sized blocks: ~10x faster than whole 10^6-row columns
        values = (codes[lo : lo + _CHUNK] & ((1 << t.width) - 1)).astype(np.uint64).T
        words = np.zeros((nw + 2, len(values[0]) if count else 0), dtype=np.uint64)  # spare: straddling elements
        for j in range(count):
            w, off = divmod(t.width * j, 32)
            v = values[j] << np.uint64(off)  # < 2**(off + width): fits 64 bits for width <= 32
            words[w] |= v & np.uint64(0xFFFFFFFF)
            words[w + 1] |= v >> np.uint64(32)
        out[lo : lo + _CHUNK] = words[:nw].T
    return out


def unpack_words(words: np.ndarray, t: FixedType, count: int) -> np.ndarray:
    """The inverse of :func:`pack_words`: ``(n, bus_words)`` words -> ``(n, count)`` int64 codes."""
    words = np.asarray(words, dtype=np.uint64).reshape(len(words), -1)
    padded = np.concatenate([words, np.zeros((len(words), 1), dtype=np.uint64)], axis=1).T
    out = np.empty((count, len(words)), dtype=np.int64)
    for j in range(count):
        w, off = divmod(t.width * j, 32)
        v = (padded[w] | (padded[w + 1] << np.uint64(32))) >> np.uint64(off)
        out[j] = (v & np.uint64((1 << t.width) - 1)).astype(np.int64)
    out = np.ascontiguousarray(out.T)
    if t.signed:
        out -= (out >> (t.width - 1)) << t.width
    return out


def pack_bus(codes: np.ndarray, t: FixedType) -> list[str]:
    """Rows of integer codes -> hex strings of the flat bus (element 0 at the LSB)."""
    codes = np.asarray(codes, dtype=np.int64)
    if t.width > 32:  # pack_words shifts within 64 bits; wider elements take the exact Python-int path
        return _pack_bus_int(codes, t)
    words = pack_words(codes, t)
    digits = max(1, -(-(t.width * codes.shape[1]) // 4))
    row = 8 * words.shape[1]
    text = np.ascontiguousarray(words[:, ::-1]).astype(">u4").tobytes().hex()
    return [text[i + row - digits : i + row] for i in range(0, len(text), row)]


def _pack_bus_int(codes: np.ndarray, t: FixedType) -> list[str]:
    if codes.ndim != 2:
        raise ValueError(f"expected a 2-D array of codes, got shape {codes.shape}")
    if codes.size and (codes.min() < t.min_int or codes.max() > t.max_int):
        raise ValueError(f"codes outside the range of {t.describe()}")
    digits = max(1, -(-(t.width * codes.shape[1]) // 4))
    mask = (1 << t.width) - 1
    lines = []
    for row in codes.tolist():
        word = 0
        for j, c in enumerate(row):
            word |= (c & mask) << (t.width * j)
        lines.append(format(word, f"0{digits}x"))
    return lines


def unpack_bus(word: str, t: FixedType, count: int) -> list[int | None]:
    """Hex bus as printed by the simulator -> codes; elements with x/z bits become ``None``."""
    word = word.strip().lower()
    bits_per = t.width
    total = bits_per * count
    # Expand each hex digit to 4 bits so x/z can be located per element.
    bits = "".join(format(int(d, 16), "04b") if d in "0123456789abcdef" else d * 4 for d in word)
    bits = bits[-total:].rjust(total, "0")
    out: list[int | None] = []
    for j in range(count):
        chunk = bits[total - bits_per * (j + 1) : total - bits_per * j]
        if any(b not in "01" for b in chunk):
            out.append(None)
            continue
        v = int(chunk, 2)
        if t.signed and v >> (bits_per - 1):
            v -= 1 << bits_per
        out.append(v)
    return out


def write_vectors(path: Path, codes: np.ndarray, t: FixedType) -> None:
    path.write_text("\n".join(pack_bus(codes, t)) + "\n")


def testbench(top: str, in_bus: int, out_bus: int, n_vectors: int, latency: int, clock_ns: float) -> str:
    half = clock_ns / 2
    return f"""`timescale 1 ns / 1 ps

// Self-checking testbench for {top} (generated by micae.rtl).
// Plusargs: +vin=<file> +vout=<file> (defaults {VECTORS_IN}, {VECTORS_OUT});
// the vector count is the parameter N_VECTORS (iverilog -P{top}_tb.N_VECTORS=<n>).
module {top}_tb;
    parameter N_VECTORS = {n_vectors};
    localparam IN_W = {in_bus};
    localparam OUT_W = {out_bus};
    localparam LATENCY = {latency};

    reg clk = 1'b0;
    reg in_valid = 1'b0;
    reg [IN_W-1:0] x = {{IN_W{{1'b0}}}};
    wire out_valid;
    wire [OUT_W-1:0] y;

    reg [IN_W-1:0] vin [0:N_VECTORS-1];
    reg [OUT_W-1:0] vout [0:N_VECTORS-1];
    reg [8*4096-1:0] fin, fout;
    integer n_in, n_out, errors, cycles;

    {top} dut (.clk(clk), .in_valid(in_valid), .x(x), .out_valid(out_valid), .y(y));

    always #{half:g} clk = ~clk;

    initial begin
        if (!$value$plusargs("vin=%s", fin)) fin = "{VECTORS_IN}";
        if (!$value$plusargs("vout=%s", fout)) fout = "{VECTORS_OUT}";
        $readmemh(fin, vin);
        $readmemh(fout, vout);
        errors = 0;
        n_out = 0;
        cycles = 0;
        for (n_in = 0; n_in < N_VECTORS; n_in = n_in + 1) begin
            @(negedge clk);
            x = vin[n_in];
            in_valid = 1'b1;
        end
        @(negedge clk);
        in_valid = 1'b0;
        x = {{IN_W{{1'b0}}}};
    end

    // Outputs change on the rising edge; check them half a period later.
    always @(negedge clk) begin
        cycles = cycles + 1;
        if (out_valid) begin
            if (y !== vout[n_out]) begin
                errors = errors + 1;
                $display("MISMATCH %0d %h %h", n_out, y, vout[n_out]);
            end
            n_out = n_out + 1;
            if (n_out == N_VECTORS) begin
                if (errors == 0) $display("PASS %0d", N_VECTORS);
                else $display("FAIL %0d of %0d", errors, N_VECTORS);
                $finish;
            end
        end
        if (cycles > N_VECTORS + LATENCY + 16) begin
            $display("FAIL %0d of %0d (only %0d outputs arrived: out_valid never rose or stalled)",
                     N_VECTORS - n_out + errors, N_VECTORS, n_out);
            $finish;
        end
    end
endmodule
"""


def run_sim_script(top: str, sources: list[str]) -> str:
    srcs = " ".join(sources)
    return f"""#!/bin/sh
# Rerun the self-checking simulation of {top} with Icarus Verilog (apt-get install iverilog).
# Extra arguments go to vvp, e.g. ./run_sim.sh +vin=other_in.hex +vout=other_out.hex
# (then also pass -P{top}_tb.N_VECTORS=<n> to iverilog if the count differs).
set -e
cd "$(dirname "$0")"
iverilog -g2005 -o {top}_tb.vvp -s {top}_tb {srcs} {top}_tb.v
exec vvp -n {top}_tb.vvp "$@"
"""


def parse_sim_output(text: str) -> dict:
    """Mismatch lines and the verdict from the testbench's output."""
    mismatches: list[tuple[int, str, str]] = []
    verdict = None
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        kind, rest = m.group(1), m.group(2).split()
        if kind == "MISMATCH" and len(rest) >= 3:
            mismatches.append((int(rest[0]), rest[1], rest[2]))
        elif kind == "PASS" and rest:
            verdict = {"pass": True, "errors": 0, "vectors": int(rest[0])}
        elif kind == "FAIL" and len(rest) >= 3:
            verdict = {"pass": False, "errors": int(rest[0]), "vectors": int(rest[2])}
    return {"mismatches": mismatches, "verdict": verdict}
