"""The exported cocotb test replays the vectors with Icarus, passes on the real RTL and fails on a corrupted file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bench.reference_encoders import conv_dense_encoder

from micae.rtl import write_rtl
from micae.rtl.cocotb_export import export_cocotb
from micae.rtl.testbench import VECTORS_OUT, pack_bus
from micae.verify.vectors import build_vector_set

pytest.importorskip("cocotb_tools.runner", reason="cocotb >= 2 not installed")
pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed")


def run_exported(folder: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # cocotb-config
    return subprocess.run(
        [sys.executable, "run_cocotb.py"], cwd=folder, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_exported_cocotb_test_passes_then_catches_a_corrupted_expected_file(tmp_path):
    enc = conv_dense_encoder(input_shape=(3, 3, 1), filters=2, n_latent=4, name="tiny", sigma=14.0)
    x, _ = build_vector_set(enc, 40, seed=5)
    want = enc.latents(x)
    rtl = tmp_path / "firmware" / "tiny" / "rtl"
    rep = write_rtl(enc, rtl, vectors_in=x, latency_cutoff=3).to_json()
    out = export_cocotb(rtl).to_json()
    assert sorted(out["files"]) == ["cocotb/README.md", "cocotb/run_cocotb.py", f"cocotb/test_{rep['top']}.py"]
    folder = Path(out["dir"])

    ok = run_exported(folder)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
    assert f"{len(x)} vectors, 0 mismatching, 0 never came out" in ok.stdout + ok.stderr

    bad = want.copy()
    bad[17, 2] = want[17, 2] + 1 if want[17, 2] < enc.latent_type.max_int else want[17, 2] - 1
    (rtl / VECTORS_OUT).write_text("\n".join(pack_bus(bad, enc.latent_type)) + "\n")
    fail = run_exported(folder)
    log = fail.stdout + fail.stderr
    assert fail.returncode == 1, log[-3000:]
    assert f"vector 17: expected {bad[17].tolist()}, got {want[17].tolist()}" in log
    assert f"{len(x)} vectors, 1 mismatching, 0 never came out" in log
