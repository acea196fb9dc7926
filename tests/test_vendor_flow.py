"""Vendor flow orchestration: tool detection, command lines, logs, timeouts.

No Xilinx tool runs here. Orchestration is tested with stand-in executables that
record how they were called and drop the real Vivado HLS 2020.1 fixture reports
where the real tool writes them. A run counts as a vendor run only when the tool
printed a Xilinx banner; the stand-ins print none unless a test says so.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from micae.errors import ConfigError, ToolError
from micae.hls.vendor import detect_vendor_tool, run_vendor_flow, vendor_commands


@pytest.fixture
def project(tmp_path) -> Path:
    """The parts of an hls4ml project folder the flow looks at."""
    prj = tmp_path / "hls_project"
    prj.mkdir()
    (prj / "build_prj.tcl").write_text("# stands for hls4ml's build_prj.tcl; never run here\n")
    (prj / "project.tcl").write_text('variable project_name\nset project_name "myproject"\n')
    return prj


@pytest.fixture
def empty_path(tmp_path, monkeypatch) -> None:
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


VIVADO_HLS_2020_BANNER = (
    "****** Vivado(TM) HLS - High-Level Synthesis from C, C++ and SystemC v2020.1 (64-bit)\n"
    "  **** SW Build 2902540 on Wed May 27 19:54:35 MDT 2020"
)


def _stand_in(tmp_path: Path, monkeypatch, name: str, body: str) -> Path:
    """An executable ``name`` first on PATH; ``body`` is shell run in its working dir."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    record = tmp_path / "record"
    tool.write_text("#!/bin/sh\n" + f'printf "%s\\n" "$@" > "{record}.argv"\n' + f'pwd -P > "{record}.cwd"\n' + body)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tool


def _recorded(tmp_path: Path) -> tuple[list[str], Path]:
    argv = (tmp_path / "record.argv").read_text().splitlines()
    return argv, Path((tmp_path / "record.cwd").read_text().strip())


def _writes_reports(fixtures: Path) -> str:
    """Shell that writes what vivado_hls leaves behind, from the real fixture reports."""
    return f"""
echo "INFO: [HLS 200-10] stand-in starting"
R=myproject_prj/solution1/syn/report
mkdir -p "$R" myproject_prj/solution1/syn/verilog myproject_prj/solution1/csim/report
cat "{fixtures}/myproject_csynth.xml" > "$R/myproject_csynth.xml"
cat "{fixtures}/myproject_csynth.rpt" > "$R/myproject_csynth.rpt"
cat "{fixtures}/vivado_hls.app" > myproject_prj/vivado_hls.app
cat "{fixtures}/vivado_synth.rpt" > vivado_synth.rpt
echo "module myproject(); endmodule" > myproject_prj/solution1/syn/verilog/myproject.v
echo "module relu_s(); endmodule" > myproject_prj/solution1/syn/verilog/relu_s.v
echo "INFO: [SIM 1] CSim done with 0 errors." > myproject_prj/solution1/csim/report/myproject_csim.log
echo "INFO: [HLS 200-112] Total elapsed time: 1 seconds"
"""


# ----------------------------------------------------------------- no tool on PATH


def test_off_skips_without_looking(empty_path, project):
    got = run_vendor_flow(project, "vivado", mode="off")
    assert (got.status, got.reason, got.ran) == ("skipped", "--vendor off", False)
    assert got.to_json() == {"status": "skipped", "reason": "--vendor off"}


@pytest.mark.parametrize("backend", ["vivado", "vitis", "Vitis"])
def test_auto_without_tool_skips(empty_path, project, backend):
    assert detect_vendor_tool(backend) is None
    got = run_vendor_flow(project, backend, mode="auto").to_json()
    assert got == {"status": "skipped", "reason": "no vitis_hls/vitis-run/vivado_hls on PATH"}


def test_auto_names_the_missing_tool_when_another_backends_tool_exists(tmp_path, monkeypatch, project):
    _stand_in(tmp_path, monkeypatch, "vitis-run", "exit 0\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    got = run_vendor_flow(project, "vivado", mode="auto").to_json()
    assert got["status"] == "skipped"
    assert got["reason"].startswith("no vivado_hls on PATH for the vivado backend (found vitis-run")


def test_require_without_tool_is_a_tool_error(empty_path, project):
    with pytest.raises(ToolError) as info:
        run_vendor_flow(project, "vivado", mode="require")
    msg = str(info.value)
    assert "no vivado_hls on PATH" in msg and "fix:" in msg and "settings64.sh" in msg and "\n" not in msg
    with pytest.raises(ToolError, match="vitis-run/vitis_hls"):
        run_vendor_flow(project, "vitis", mode="require")


def test_bad_options_are_config_errors(empty_path, project, tmp_path):
    with pytest.raises(ConfigError, match="mode"):
        run_vendor_flow(project, "vivado", mode="sometimes")
    with pytest.raises(ConfigError, match="backend"):
        run_vendor_flow(project, "quartus", mode="auto")
    with pytest.raises(ConfigError, match="steps"):
        run_vendor_flow(project, "vivado", mode="auto", steps=("csim", "place"))
    with pytest.raises(ConfigError, match="need 'synth'"):
        vendor_commands("vivado", "vivado_hls", project, ("csim", "cosim"))
    with pytest.raises(ConfigError, match="timeout"):
        run_vendor_flow(project, "vivado", mode="auto", timeout_s=0)
    with pytest.raises(ConfigError, match="cannot build a vivado"):
        vendor_commands("vivado", "vitis-run", project, ("synth",))
    with pytest.raises(ConfigError, match="no build_prj.tcl"):
        vendor_commands("vivado", "vivado_hls", tmp_path / "nothing", ("synth",))


# ----------------------------------------------------------------- command lines


def test_vendor_commands_mirror_hls4ml(project):
    steps = ("csim", "synth", "cosim", "export", "vsynth")
    options = "reset=1 csim=1 synth=1 cosim=1 validation=0 export=1 vsynth=1 fifo_opt=0"
    assert vendor_commands("vivado", "vivado_hls", project, steps) == [["vivado_hls", "-f", "build_prj.tcl", options]]
    assert vendor_commands("vitis", "/opt/Xilinx/bin/vitis-run", project, steps) == [
        ["/opt/Xilinx/bin/vitis-run", "--tcl", "build_prj.tcl", "--mode", "hls"]
    ]
    assert vendor_commands("vitis", "vitis_hls", project, ("synth",)) == [["vitis_hls", "-f", "build_prj.tcl"]]


# ----------------------------------------------------------------- stand-in runs


def test_stand_in_run_collects_reports_and_verilog(fixtures, tmp_path, monkeypatch, project):
    tool = _stand_in(tmp_path, monkeypatch, "vivado_hls", _writes_reports(fixtures))
    assert detect_vendor_tool("vivado") == tool
    log = tmp_path / "logs/vendor.log"
    got = run_vendor_flow(
        project, "vivado", mode="require", log_path=log, verilog_dest=tmp_path / "rtl", timeout_s=30
    ).to_json()

    argv, cwd = _recorded(tmp_path)
    assert argv == ["-f", "build_prj.tcl", "reset=1 csim=1 synth=1 cosim=1 validation=0 export=1 vsynth=0 fifo_opt=0"]
    assert cwd == project.resolve()
    assert got["status"] == "ran"
    assert got["identified"] is False and got["banner"] is None  # no Xilinx banner: not a vendor run
    assert got["tool"] == "vivado_hls" and got["tool_path"] == str(tool)
    assert got["steps"] == ["csim", "synth", "cosim", "export"]
    assert got["commands"] == [[str(tool), "-f", "build_prj.tcl", argv[2]]]
    assert 0 <= got["seconds"] < 20
    assert got["log"] == str(log) and "Total elapsed time" in log.read_text()

    reports = got["reports"]
    assert reports["csynth"]["tool"] == "vivado_hls 2020.1"
    assert reports["csynth"]["resources"]["LUT"] == 2532
    assert reports["csynth"]["resources"]["FF"] == 7969
    assert reports["csynth"]["resources"]["DSP"] == 73
    assert reports["csynth"]["latency"]["cycles_max"] == 10
    assert reports["csynth"]["latency"]["interval"] == 8
    assert reports["vivado_synth"]["resources"]["LUT"] == 1526
    assert reports["vivado_synth"]["resources"]["CARRY"] == 295
    assert reports["csynth"]["source"].endswith("myproject_prj/solution1/syn/report/myproject_csynth.xml")

    assert sorted(Path(p).name for p in got["verilog"]) == ["myproject.v", "relu_s.v"]
    assert (tmp_path / "rtl/myproject.v").read_text().startswith("module myproject")
    assert got["csim_log"].endswith("solution1/csim/report/myproject_csim.log")


def test_vitis_run_stand_in_gets_build_opt_tcl(fixtures, tmp_path, monkeypatch, project):
    _stand_in(tmp_path, monkeypatch, "vitis-run", _writes_reports(fixtures))
    got = run_vendor_flow(project, "vitis", mode="auto", steps=("csim", "synth"), timeout_s=30).to_json()
    argv, cwd = _recorded(tmp_path)
    assert argv == ["--tcl", "build_prj.tcl", "--mode", "hls"] and cwd == project.resolve()
    opts = (project / "build_opt.tcl").read_text()
    assert opts.startswith("array set opt {\n") and "    reset      1\n" in opts
    assert "    csim       1\n" in opts and "    synth      1\n" in opts and "    cosim      0\n" in opts
    assert got["identified"] is False and got["reports"]["csynth"]["resources"]["LUT"] == 2532
    assert got["verilog"] == [] and got["log"] == str(project.resolve() / "micae_vendor.log")


def test_a_run_is_identified_only_by_the_tools_own_banner(fixtures, tmp_path, monkeypatch, project):
    _stand_in(tmp_path, monkeypatch, "vivado_hls", _writes_reports(fixtures))
    assert run_vendor_flow(project, "vivado", mode="auto", timeout_s=30).identified is False
    banner = "".join(f'echo "{line}"\n' for line in VIVADO_HLS_2020_BANNER.splitlines())
    _stand_in(tmp_path, monkeypatch, "vivado_hls", banner + _writes_reports(fixtures))
    got = run_vendor_flow(project, "vivado", mode="auto", timeout_s=30).to_json()
    assert got["identified"] is True
    assert got["banner"] == "Vivado(TM) HLS - High-Level Synthesis from C, C++ and SystemC v2020.1 (64-bit)"


def test_failing_tool_reports_its_last_lines(tmp_path, monkeypatch, project):
    body = 'i=1; while [ $i -le 30 ]; do echo "progress line $i"; i=$((i+1)); done\n'
    body += 'echo "ERROR: [HLS 200-70] Compilation errors found" >&2\nexit 1\n'
    _stand_in(tmp_path, monkeypatch, "vivado_hls", body)
    with pytest.raises(ToolError) as info:
        run_vendor_flow(project, "vivado", mode="auto", timeout_s=30)
    msg = str(info.value)
    assert "vivado_hls failed with exit code 1" in msg
    assert "ERROR: [HLS 200-70] Compilation errors found" in msg  # stderr goes to the log too
    assert "progress line 30" in msg and "\n" not in msg
    assert "progress line 20 |" in msg and "progress line 19 |" not in msg  # the last 12 lines only
    assert "read the log" in info.value.fix


def test_hanging_tool_is_killed_with_its_children(tmp_path, monkeypatch, project):
    pid_file = tmp_path / "child.pid"
    body = f'echo "INFO: scheduling forever"\nsleep 60 &\necho $! > "{pid_file}"\nwait\n'
    _stand_in(tmp_path, monkeypatch, "vivado_hls", body)
    start = time.monotonic()
    with pytest.raises(ToolError, match="did not finish within 1 s") as info:
        run_vendor_flow(project, "vivado", mode="auto", timeout_s=1)
    assert time.monotonic() - start < 10
    assert "INFO: scheduling forever" in str(info.value)
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stat_file = Path(f"/proc/{child}/stat")
        if not stat_file.exists() or stat_file.read_text().split(")")[-1].split()[0] == "Z":
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"child process {child} of the timed-out tool is still running")


def test_exit_zero_without_fresh_reports_is_an_error(fixtures, tmp_path, monkeypatch, project):
    report = project / "myproject_prj/solution1/syn/report"
    report.mkdir(parents=True)
    old = report / "myproject_csynth.xml"
    old.write_bytes((fixtures / "myproject_csynth.xml").read_bytes())
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    _stand_in(tmp_path, monkeypatch, "vivado_hls", 'echo "csynth_design failed quietly"\n')
    with pytest.raises(ToolError, match="wrote no csynth report"):
        run_vendor_flow(project, "vivado", mode="auto", timeout_s=30)


def test_vsynth_needs_vivado(tmp_path, monkeypatch, project):
    _stand_in(tmp_path, monkeypatch, "vivado_hls", "exit 0\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(ToolError, match="vivado is not on PATH"):
        run_vendor_flow(project, "vivado", mode="auto", steps=("synth", "vsynth"))
