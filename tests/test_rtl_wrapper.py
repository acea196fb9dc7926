"""The place-and-route pin wrapper: shift a vector in, load the latents, shift them out -> the encoder's result."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from bench.reference_encoders import conv_dense_encoder

from micae.rtl import write_rtl
from micae.rtl.build import SOURCES_LIST
from micae.rtl.testbench import pack_bus
from micae.rtl.wrapper import PINS, WRAPPER_FILE, wrapper_verilog, write_pin_wrapper

N_VECTORS = 6


def _tb(wrap: str, in_bits: int, out_bits: int) -> str:
    """Drive only the six pins: si MSB first, vi with the vector, ld when vo rises, read so MSB first."""
    return f"""`timescale 1 ns / 1 ps
module wrap_tb;
    reg clk = 0, si = 0, ld = 0, vi = 0;
    wire so, vo;
    reg [{in_bits - 1}:0] vin [0:{N_VECTORS - 1}];
    reg [{out_bits - 1}:0] got;
    integer v, b, waited;
    {wrap} dut (.clk(clk), .si(si), .ld(ld), .vi(vi), .so(so), .vo(vo));
    always #2.5 clk = ~clk;
    initial begin
        $readmemh("in.hex", vin);
        #1;
        for (v = 0; v < {N_VECTORS}; v = v + 1) begin
            for (b = {in_bits - 1}; b >= 0; b = b - 1) begin
                si = vin[v][b];
                @(posedge clk); #1;
            end
            vi = 1; si = 0;
            @(posedge clk); #1;
            vi = 0;
            waited = 0;
            while (!vo && waited < 100) begin
                @(posedge clk); #1;
                waited = waited + 1;
            end
            ld = 1;
            @(posedge clk); #1;
            ld = 0;
            for (b = {out_bits - 1}; b >= 0; b = b - 1) begin
                got[b] = so;
                @(posedge clk); #1;
            end
            $display("OUT %0d %0d %h", v, waited, got);
        end
        $finish;
    end
endmodule
"""


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not on PATH (apt-get install iverilog)")
def test_wrapper_round_trip_gives_the_encoders_latents(tmp_path: Path):
    enc = conv_dense_encoder(input_shape=(3, 3, 1), filters=2, n_latent=4, name="tiny")
    rng = np.random.default_rng(3)
    t = enc.input_type
    x = rng.integers(t.min_int, t.max_int + 1, size=(N_VECTORS, enc.n_inputs))
    x[0] = t.max_int  # saturating corner
    want = enc.latents(x)
    rtl = tmp_path / "rtl"
    section = write_rtl(enc, rtl, vectors_in=x).to_json()
    info = write_pin_wrapper(rtl)
    assert info["pins"] == list(PINS) and info["top"] == "tiny_pnr_wrap"
    assert info["wrapper_ff"] == section["ports"]["input"]["bus_width"] + section["ports"]["output"]["bus_width"]

    (tmp_path / "in.hex").write_text("\n".join(pack_bus(x, t)) + "\n")
    (tmp_path / "tb.v").write_text(_tb(info["top"], info["in_bits"], info["out_bits"]))
    sources = [str(rtl / s) for s in (rtl / SOURCES_LIST).read_text().split()] + [str(rtl / WRAPPER_FILE)]
    subprocess.run(["iverilog", "-g2005", "-o", "sim.vvp", "-s", "wrap_tb", *sources, "tb.v"], cwd=tmp_path, check=True)
    out = subprocess.run(["vvp", "-n", "sim.vvp"], cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in out.splitlines() if line.startswith("OUT ")]
    assert len(rows) == N_VECTORS
    expected_hex = pack_bus(want, enc.latent_type)
    for (_, v, waited, got), exp in zip(rows, expected_hex):
        assert int(got, 16) == int(exp, 16), f"vector {v}: got {got}, want {exp}"
        # out_valid arrives latency-1 edges after the sampling edge (the last of them loads shift_out)
        assert int(waited) == section["latency_cycles"] - 1


def test_wrapper_text_names_every_pin_and_keeps_the_ports_direct():
    text = wrapper_verilog("enc", 24, 12)
    for pin in PINS:
        assert f"wire {pin}" in text or f"wire {pin}," in text
    assert ".x(shift_in)" in text  # the wrapper register drives the encoder input bus directly
    assert "shift_out <= ld ? y :" in text  # and captures the output bus directly
