"""Logic-level STA per pipeline stage with yosys: the parser on a real yosys 0.23 log, and a real run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from bench.reference_encoders import conv_dense_encoder

from micae.errors import ConfigError
from micae.rtl import write_rtl
from micae.rtl.sta import logic_sta, logic_sta_and_resources, parse_sta, timing_entry
from micae.rtl.yosys import parse_stat

LOG = Path(__file__).parent / "fixtures" / "yosys-sta" / "tiny_sta.log"
STAGES = [f"tiny_core_stage{k}" for k in range(6)]


def test_parse_sta_reads_every_stage_of_a_real_log():
    sta = parse_sta(LOG.read_text())
    assert sorted(sta) == STAGES
    # figures as printed by yosys ("Latest arrival time in '...' is <ps>:")
    assert [sta[m]["delay_ps"] for m in STAGES] == [2400, 3264, 2779, 2626, 3354, 1308]
    s4 = sta["tiny_core_stage4"]
    assert s4["start"] == "\\model_inp [1]" and s4["end"] == "\\model_out [41]"
    assert s4["end_kind"] == "<primary output>" and not s4["dangling"]
    assert s4["cells"] == {"CARRY4": 6, "LUT6": 1, "LUT2": 1}
    # yosys warned that these two paths end on a net that is no endpoint
    assert sta["tiny_core_stage0"]["dangling"] and sta["tiny_core_stage5"]["dangling"]
    assert sta["tiny_core_stage0"]["end_kind"] == "<unknown>"
    # then the slowest real endpoint is in the top non-empty histogram bin, "(  2300,   2185] |*******"
    assert sta["tiny_core_stage0"]["endpoint_bin_ps"] == [2185, 2300]
    assert sta["tiny_core_stage0"]["endpoint_ps"] == 2185 and sta["tiny_core_stage5"]["endpoint_ps"] == 1254
    assert s4["endpoint_bin_ps"] == [3246, 3365] and s4["endpoint_ps"] == 3354


def test_timing_entry_from_the_real_log():
    log = LOG.read_text()
    run = {"stages": STAGES, "sta": parse_sta(log), "family": "xcup", "version": "0.23", "seconds": 1.0}
    entry = timing_entry(run, "xcvu13p-flga2577-2-e", 3.0).to_json()
    assert entry["kind"] == "logic-sta" and entry["lower_bound"] is True
    assert entry["tool"] == {"name": "yosys sta", "version": "0.23"}
    assert entry["stage_delays_ns"] == [2.185, 3.264, 2.779, 2.626, 3.354, 1.254]
    assert entry["fmax_mhz"] == round(1000 / 3.354, 1) and entry["slack_ns"] == round(3.0 - 3.354, 3)
    assert entry["met"] is False and "no routing" in entry["note"]
    assert entry["critical_path"].startswith("stage 4 (tiny_core_stage4)") and "3.354 ns" in entry["critical_path"]
    assert timing_entry(run, "xcvu13p-flga2577-2-e", 3.4).met is True
    # the cell counts of the same run: the design-hierarchy total of the last stat
    cells = parse_stat(log.split("Executing STA")[0])
    assert cells["FDRE"] == 459 and cells["CARRY4"] == 223 and cells["LUT2"] == 396


def test_logic_sta_rejects_a_bad_clock_and_a_non_xilinx_part(tmp_path):
    with pytest.raises(ConfigError, match="clock period"):
        logic_sta(tmp_path, "top", "xcvu13p-flga2577-2-e", 0.0)
    with pytest.raises(ConfigError, match="part"):
        logic_sta(tmp_path, "top", "LFE5U-85F", 5.0)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed (apt-get install yosys)")
def test_logic_sta_on_a_real_design(tmp_path):
    enc = conv_dense_encoder(input_shape=(3, 3, 1), filters=2, n_latent=4, name="tiny", sigma=14.0)
    rep = write_rtl(enc, tmp_path, vectors_in=np.zeros((2, enc.n_inputs), dtype=np.int64), latency_cutoff=2).to_json()
    entry, res = (
        r.to_json() for r in logic_sta_and_resources(tmp_path, rep["top"], "xcvu13p-flga2577-2-e", 5.0, timeout_s=600)
    )
    delays = entry["stage_delays_ns"]
    assert len(delays) == rep["da4ml"]["stages"] and all(d > 0 for d in delays)
    assert entry["fmax_mhz"] == round(1000 / max(delays), 1)
    assert entry["met"] == (max(delays) <= 5.0) and entry["slack_ns"] == round(5.0 - max(delays), 3)
    assert entry["tool"]["version"] and entry["seconds"] > 0
    # the same yosys run also counted the cells
    assert res["FF"] > 0 and res["LUT"] > 0 and res["DSP"] == 0
