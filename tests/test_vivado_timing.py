"""Vendor timing: Vivado's timing summary and utilization parsed; the flow run through a labelled stand-in.

No Vivado is installed here. ``timing_summary.rpt`` is hand-written in Vivado 2020.1's layout
(see tests/fixtures/vivado/README.md); the utilization report is a real one from shared/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from bench.reference_encoders import conv_dense_encoder

from micae.errors import ToolError
from micae.rtl import write_rtl
from micae.rtl.vivado_timing import TCL, parse_timing_summary, parse_utilization, vivado_timing

FIX = Path(__file__).parent / "fixtures" / "vivado"


def test_timing_summary_fields():
    t = parse_timing_summary((FIX / "timing_summary.rpt").read_text())
    assert t["clock"] == "clk" and t["clock_ns"] == 5.0
    assert t["wns_ns"] == -1.512 and t["tns_ns"] == -87.344
    assert t["failing_endpoints"] == 131 and t["endpoints"] == 1941
    assert t["met"] is False
    assert t["period_ns"] == pytest.approx(6.512) and t["fmax_mhz"] == pytest.approx(153.56, abs=0.01)
    c = t["critical"]
    assert (c["launch"], c["capture"]) == ("stage 2", "stage 3")
    assert c["data_path_ns"] == 6.441 and c["logic_ns"] == 3.385 and c["routing_ns"] == 3.056
    assert c["logic_levels"] == 16 and c["cells"] == "CARRY4=12 LUT2=2 LUT3=1 LUT4=1"
    assert c["from"] == "core/stage2_inp_reg[118]/C"  # the Max (setup) path, not the Min one


def test_met_timing_and_missing_tables():
    text = (FIX / "timing_summary.rpt").read_text().replace("     -1.512     -87.344", "      0.250       0.000")
    t = parse_timing_summary(text)
    assert t["met"] is True and t["period_ns"] == pytest.approx(4.75)
    with pytest.raises(ToolError, match="Design Timing Summary"):
        parse_timing_summary("Copyright 1986-2020 Xilinx, Inc.\nERROR: [Route 35-9] routing failed\n")


def test_real_utilization_report(fixtures):
    u = parse_utilization((fixtures / "vivado_synth.rpt").read_text())
    assert u == {"LUT": 1526, "FF": 2428, "CARRY": 295, "DSP": 66, "BRAM": 0}


def test_without_vivado_the_reason_is_given(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolError, match="'vivado' is not on PATH"):
        vivado_timing(tmp_path, "xc7a200tfbg676-2")


@pytest.fixture
def standin(tmp_path, monkeypatch, fixtures) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copyfile(FIX / "vivado_standin.sh", bin_dir / "vivado")
    os.chmod(bin_dir / "vivado", 0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_TIMING", str(FIX / "timing_summary.rpt"))
    monkeypatch.setenv("STANDIN_UTIL", str(fixtures / "vivado_synth.rpt"))
    return bin_dir


def test_flow_through_the_stand_in_is_labelled(standin, tmp_path):
    enc = conv_dense_encoder(input_shape=(3, 3, 1), filters=2, n_latent=4, name="tiny")
    rtl = tmp_path / "rtl"
    write_rtl(enc, rtl, vectors_in=np.zeros((2, enc.n_inputs), dtype=np.int64))
    work = tmp_path / "work"
    entry = vivado_timing(rtl, "xc7a200tfbg676-2", 5.0, work_dir=work).to_json()
    assert entry["kind"] == "vendor" and entry["target"] == "xc7a200tfbg676-2"
    assert "stand-in" in entry["tool"]["banner"]  # a stand-in never passes for a real Vivado run
    assert entry["wns_ns"] == -1.512 and entry["resources"]["LUT"] == 1526
    tcl = (work / TCL).read_text()
    assert "synth_design -top tiny -part xc7a200tfbg676-2 -mode out_of_context" in tcl
    assert "create_clock -name clk -period 5 [get_ports clk]" in tcl
    assert "read_verilog {src/tiny.v}" in tcl


def test_stand_in_failure_is_a_tool_error(standin, tmp_path, monkeypatch):
    monkeypatch.delenv("STANDIN_TIMING")
    enc = conv_dense_encoder(input_shape=(3, 3, 1), filters=2, n_latent=4, name="tiny")
    rtl = tmp_path / "rtl"
    write_rtl(enc, rtl, vectors_in=np.zeros((2, enc.n_inputs), dtype=np.int64))
    with pytest.raises(ToolError, match="no timing_summary.rpt"):
        vivado_timing(rtl, "xc7a200tfbg676-2", 5.0)
