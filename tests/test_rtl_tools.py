"""yosys resource counts, part -> family mapping, tool discovery and failures, bus packing."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from bench.reference_encoders import conv_dense_encoder
from hypothesis import given, settings
from hypothesis import strategies as st

from micae.errors import ConfigError, ConstraintError, ToolError
from micae.fixed.graph import IntegerEncoder
from micae.fixed.ops import AffineStage
from micae.fixed.types import FixedType
from micae.rtl import family_for_part, simulate_rtl, write_rtl, yosys_resources
from micae.rtl.testbench import pack_bus, parse_sim_output, unpack_bus
from micae.rtl.yosys import parse_stat, summarize_cells


@pytest.fixture(scope="module")
def tiny_rtl(tmp_path_factory) -> tuple[Path, dict, IntegerEncoder]:
    enc = conv_dense_encoder(input_shape=(3, 3, 1), filters=2, n_latent=4, name="tiny")
    out = tmp_path_factory.mktemp("rtl")
    x = np.zeros((4, enc.n_inputs), dtype=np.int64)
    return out, write_rtl(enc, out, vectors_in=x).to_json(), enc


@pytest.mark.parametrize(
    "part, family",
    [
        ("xcvu13p-flga2577-2-e", "xcup"),
        ("xcvu9p-flga2104-2L-e", "xcup"),
        ("XCKU15P-FFVA1156-2-E", "xcup"),
        ("xczu9eg-ffvb1156-2-e", "xcup"),
        ("xcau25p-ffvb676-2-e", "xcup"),
        ("xcku115-flvb2104-2-e", "xcu"),
        ("xcvu440-flga2892-2-e", "xcu"),
        ("xc7a200tfbg676-2", "xc7"),
        ("xc7z020clg400-1", "xc7"),
        ("xc6slx45-2csg324", "xc6s"),
    ],
)
def test_family_for_part(part, family):
    assert family_for_part(part) == family


def test_unknown_part_is_a_config_error():
    with pytest.raises(ConfigError, match="family"):
        family_for_part("10cx220yf780")


STAT = """
=== design hierarchy ===
   Number of cells:                 17
     CARRY4                          3
     FDRE                            5
     FDSE                            1
     INV                             1
     LUT2                            3
     LUT6                            2
     SRL16E                          1
     DSP48E2                         1

End of script.
"""


def test_parse_stat_and_totals():
    cells = parse_stat(STAT)
    assert cells["LUT2"] == 3 and cells["SRL16E"] == 1
    assert summarize_cells(cells) == {"LUT": 5, "FF": 6, "CARRY": 3, "DSP": 1, "BRAM": 0}


def test_parse_stat_without_counts_is_a_tool_error():
    with pytest.raises(ToolError, match="stat"):
        parse_stat("ERROR: syntax error\n")


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed")
def test_yosys_counts_parse_and_use_no_dsp(tiny_rtl):
    rtl_dir, rep, _ = tiny_rtl
    res = yosys_resources(rtl_dir, rep["top"], "xcvu13p-flga2577-2-e", timeout_s=300).to_json()
    assert res["estimator"].startswith("yosys 0.") and "synth_xilinx" in res["estimator"]
    assert "-family xcup" in res["estimator"] and res["family"] == "xcup"
    assert res["DSP"] == 0 and res["BRAM"] == 0
    assert res["LUT"] > 0 and res["FF"] > 0 and res["CARRY"] > 0
    assert res["LUT"] == sum(n for c, n in res["cells"].items() if c.startswith("LUT"))
    # Registers: at least the input bus, the output bus and the valid flags.
    assert res["FF"] >= rep["ports"]["input"]["bus_width"] + rep["ports"]["output"]["bus_width"]


def _fake_path(tmp_path: Path, tools: dict[str, str]) -> str:
    """A PATH holding only shell stand-ins (plus the basics a shell script needs)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in tools.items():
        p = bin_dir / name
        p.write_text(f"#!/bin/sh\n{body}\n")
        p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return str(bin_dir)


def test_missing_iverilog_is_a_tool_error_with_fix(tiny_rtl, tmp_path, monkeypatch):
    rtl_dir, _, enc = tiny_rtl
    monkeypatch.setenv("PATH", _fake_path(tmp_path, {}))
    x = np.zeros((2, enc.n_inputs), dtype=np.int64)
    with pytest.raises(ToolError) as err:
        simulate_rtl(rtl_dir, x, enc.latents(x), timeout_s=30)
    assert "iverilog" in err.value.problem and "apt-get install iverilog" in err.value.fix


def test_missing_yosys_is_a_tool_error_with_fix(tiny_rtl, tmp_path, monkeypatch):
    rtl_dir, rep, _ = tiny_rtl
    monkeypatch.setenv("PATH", _fake_path(tmp_path, {}))
    with pytest.raises(ToolError) as err:
        yosys_resources(rtl_dir, rep["top"], timeout_s=30)
    assert "yosys" in err.value.problem and "apt-get install yosys" in err.value.fix


def test_hung_yosys_is_killed_with_its_last_lines(tiny_rtl, tmp_path, monkeypatch):
    rtl_dir, rep, _ = tiny_rtl
    monkeypatch.setenv(
        "PATH", _fake_path(tmp_path, {"yosys": "echo 'ABC: mapping luts'\nexec sleep 30"}) + ":/bin:/usr/bin"
    )
    with pytest.raises(ToolError) as err:
        yosys_resources(rtl_dir, rep["top"], timeout_s=1.0)
    assert "ABC: mapping luts" in err.value.problem


def test_crashing_simulator_is_a_tool_error(tiny_rtl, tmp_path, monkeypatch):
    rtl_dir, _, enc = tiny_rtl
    fake = _fake_path(tmp_path, {"iverilog": "echo 'sim.v:3: syntax error' >&2; exit 2", "vvp": "exit 0"})
    monkeypatch.setenv("PATH", fake + ":/bin:/usr/bin")
    x = np.zeros((2, enc.n_inputs), dtype=np.int64)
    with pytest.raises(ToolError, match="syntax error"):
        simulate_rtl(rtl_dir, x, enc.latents(x), timeout_s=30)


def test_bad_vectors_are_config_errors(tiny_rtl):
    rtl_dir, _, enc = tiny_rtl
    x = np.zeros((2, enc.n_inputs), dtype=np.int64)
    with pytest.raises(ConfigError):
        simulate_rtl(rtl_dir, x[:, :3], enc.latents(x))
    with pytest.raises(ConfigError):
        simulate_rtl(rtl_dir, x + 1000, enc.latents(x))
    with pytest.raises(ConfigError):
        write_rtl(enc, rtl_dir.parent / "bad", vectors_in=x[:, :3])


def test_too_wide_accumulator_is_a_constraint_error(tmp_path):
    w = np.full((1, 2), (1 << 23) - 1, dtype=np.int64)
    stage = AffineStage("d", "dense", w, 0, np.zeros(2, dtype=np.int64), 0, FixedType(8, 0, True), "quantized_bits")
    enc = IntegerEncoder("wide", (1,), FixedType(32, 0, True), "quantized_bits", (stage,))
    with pytest.raises(ConstraintError, match="accumulator"):
        write_rtl(enc, tmp_path, vectors_in=np.zeros((1, 1), dtype=np.int64))


@settings(max_examples=60, deadline=None)
@given(
    width=st.integers(1, 13),
    signed=st.booleans(),
    n=st.integers(1, 9),
    data=st.data(),
)
def test_pack_unpack_roundtrip(width, signed, n, data):
    t = FixedType(width, 0, signed)
    rows = data.draw(
        st.lists(st.lists(st.integers(t.min_int, t.max_int), min_size=n, max_size=n), min_size=1, max_size=4)
    )
    words = pack_bus(np.array(rows), t)
    assert all(len(w) == -(-width * n // 4) for w in words)
    assert [unpack_bus(w, t, n) for w in words] == rows


def test_unpack_marks_unknown_bits():
    t = FixedType(4, 0, True)
    assert unpack_bus("x5", t, 2) == [5, None]


def test_parse_sim_output():
    text = "VCD info\nMISMATCH 3 0a1 0a2\nMISMATCH 7 fff 000\nFAIL 2 of 10\n"
    parsed = parse_sim_output(text)
    assert parsed["mismatches"] == [(3, "0a1", "0a2"), (7, "fff", "000")]
    assert parsed["verdict"] == {"pass": False, "errors": 2, "vectors": 10}
    assert parse_sim_output("PASS 12\n")["verdict"] == {"pass": True, "errors": 0, "vectors": 12}
