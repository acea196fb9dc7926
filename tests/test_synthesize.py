"""Bit-exactness of the HLS route (C model and standalone csim) on several encoder shapes.

Every check compares integer latent codes; a single differing LSB fails.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from tests.conftest import randomize_weights

from micae.models.quantizers import QuantSpec
from micae.models.spec import EncoderSpec

SHAPES = {
    "econt_default": EncoderSpec(),
    "valid_padding": EncoderSpec(
        input_shape=(5, 5, 3), padding="valid", strides=1, filters=4, latent=8, latent_quant=QuantSpec(8, 3)
    ),
    "image_8x8": EncoderSpec(
        input_shape=(8, 8, 1),
        input_quant=QuantSpec(8, 1, signed=False),
        filters=4,
        latent=12,
        latent_quant=QuantSpec(8, 2),
    ),
    "signed_in_unsigned_latent": EncoderSpec(
        input_quant=QuantSpec(10, 2, signed=True),
        conv_act=QuantSpec(7, 2, signed=True),
        latent_quant=QuantSpec(9, 2, signed=False, relu=True),
    ),
}


def _save_encoder(tmp_path, spec: EncoderSpec, seed: int):
    from micae.models.encoder import build_encoder
    from micae.models.io import save_model

    enc = build_encoder(spec, seed=seed)
    randomize_weights(enc, seed=seed, scale=1.0)
    path = tmp_path / "encoder.h5"
    save_model(enc, path)
    return path


def _run(tmp_path, model_path, name, **kw):
    from micae.synthesize import SynthRequest, synthesize

    req = SynthRequest(
        model=model_path,
        name=name,
        hls_root=tmp_path / "hls",
        firmware_root=tmp_path / "fw",
        vectors=kw.get("vectors", 2000),
        rtl_vectors=kw.pop("rtl_vectors", kw.pop("vectors", 2000)),
        rtl=kw.pop("rtl", "off"),
        vendor=kw.pop("vendor", "auto"),
        **kw,
    )
    return synthesize(req)


def _assert_exact(report: dict, vectors: int, levels=("integer_model", "c_model", "csim", "rtl")):
    for level in levels:
        v = report["verification"][level]
        assert v["vectors"] == vectors, level
        assert v["mismatches"] == 0 and v["max_abs_lsb_error"] == 0, (level, v["first_mismatches"])


def _assert_no_staging_names(*folders):
    """No shipped text file names the staging folder the run was renamed from (its paths would not exist)."""
    texts = 0
    for folder in folders:
        for path in folder.rglob("*"):
            data = path.read_bytes() if path.is_file() else b""
            if not data or b"\0" in data[:4096]:  # binaries (the compiled C model) are not read by a user
                continue
            texts += 1
            assert b".incomplete" not in data, f"{path} names the staging folder"
    assert texts > 20  # README, hls4ml_config.yml, report.json, the RTL, run_sim.sh, cocotb/ ...


@pytest.mark.slow
@pytest.mark.parametrize("shape", list(SHAPES))
def test_hls_route_is_bit_exact(tmp_path, tf, shape):
    path = _save_encoder(tmp_path, SHAPES[shape], seed=len(shape))
    # every shape through both routes; yosys (slow) only for the reference encoder
    report = _run(tmp_path, path, shape, rtl="on", rtl_resources=shape == "econt_default")
    _assert_exact(report, 2000)
    if shape == "econt_default":
        res = report["resources"]
        assert res["DSP"] == 0 and res["LUT"] > 0 and "yosys" in res["estimator"]
        assert report["latency"]["cycles_max"] == report["rtl"]["latency_cycles"] <= 5
        rtl_dir = tmp_path / "fw" / shape / "rtl"
        assert (rtl_dir / "run_sim.sh").exists() and (rtl_dir / f"{report['rtl']['top']}.v").exists()
        assert report["rtl"]["cocotb"]["dir"] == str(rtl_dir.resolve() / "cocotb")
        _assert_no_staging_names(tmp_path / "hls" / shape, tmp_path / "fw" / shape)
    # the vector set really exercises rounding ties and saturation
    cov = report["vectors"]["coverage"]
    assert all(c["tie_values"] > 0 for c in cov)
    assert any(c["saturated_high"] + c["saturated_low"] > 0 for c in cov)
    # tb_data holds exactly the vectors and the QKeras latents, ready for vendor csim
    tb = tmp_path / "hls" / shape / "tb_data"
    assert len((tb / "tb_input_features.dat").read_text().splitlines()) == 2000
    on_disk = json.loads((tmp_path / "fw" / shape / "report.json").read_text())
    assert on_disk["verification"]["csim"]["mismatches"] == 0
    assert on_disk["model"]["compression_factor"] >= 3


@pytest.mark.slow
def test_two_input_micae_encoder_with_user_data(tmp_path, tf):
    """A 2-input MICAE model file: the shared encoder is extracted and verified on the user's inputs."""
    from micae.models.decoder import build_decoder
    from micae.models.encoder import build_encoder
    from micae.models.io import save_model
    from micae.models.micae import build_micae
    from micae.models.spec import DecoderSpec

    spec = EncoderSpec(
        input_shape=(4, 4, 1), input_quant=QuantSpec(6, 1, signed=False), latent=4, latent_quant=QuantSpec(6, 2)
    )
    enc = build_encoder(spec, seed=1)
    randomize_weights(enc, seed=5)
    model = build_micae(enc, build_decoder(DecoderSpec(), 8, (4, 4, 2)), 2)
    save_model(model, tmp_path / "micae2.h5")
    data = np.random.default_rng(0).uniform(0, 2, size=(300, 2, 4, 4, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", data)
    report = _run(
        tmp_path, tmp_path / "micae2.h5", "micae2", data=tmp_path / "x.npy", vectors=1500, rtl="on", rtl_resources=False
    )
    _assert_exact(report, 1500)
    assert report["vectors"]["sources"]["test_split"] == 600  # both parts of every user sample
    assert report["model"]["latent_size"] == 4
    # coverage of the user's own vectors, apart from micae's constructed ones (a subset of the whole set)
    for stage in report["vectors"]["coverage"]:
        assert stage["data_vectors"] == 600
        assert 0 <= stage["data_vectors_saturating"] <= min(stage["vectors_saturating"], 600)
        assert 0 <= stage["data_vectors_with_ties"] <= min(stage["vectors_with_ties"], 600)


@pytest.mark.slow
def test_allow_inexact_reports_instead_of_refusing(tmp_path, tf):
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

    from micae.errors import ConstraintError
    from micae.models.io import save_model

    x_in = tf.keras.Input(shape=(4, 4, 3), name="x_in")
    x = QActivation(quantized_bits(10, 1, keep_negative=False, alpha=1), name="q_in")(x_in)
    x = QConv2D(
        8,
        3,
        strides=2,
        padding="same",
        kernel_quantizer=quantized_bits(6, 0, alpha="auto_po2"),
        bias_quantizer=quantized_bits(8, 2, alpha=1),
        name="conv",
    )(x)
    x = QActivation(quantized_relu(8, 2), name="act")(x)
    x = tf.keras.layers.Flatten()(x)
    x = QDense(16, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(8, 2, alpha=1))(x)
    x = QActivation(quantized_bits(9, 2, alpha=1), name="lat")(x)
    model = tf.keras.Model(x_in, x)
    save_model(model, tmp_path / "po2.h5")
    with pytest.raises(ConstraintError, match="'conv'.*auto_po2.*alpha=1"):
        _run(tmp_path, tmp_path / "po2.h5", "po2", vectors=200)
    assert not (tmp_path / "hls" / "po2").exists() and not (tmp_path / "fw" / "po2").exists()
    from micae.errors import VerificationError

    # converted anyway, and the run says how far off it is: auto_po2 scales cannot be matched by fixed point
    with pytest.raises(VerificationError, match="hardware and QKeras disagree"):
        _run(tmp_path, tmp_path / "po2.h5", "po2", vectors=200, allow_inexact=True)
    report = json.loads((tmp_path / "fw" / "po2" / "report.json").read_text())
    assert report["ok"] is False
    assert report["model"]["exact"] is False and "auto_po2" in report["model"]["problems"][0]
    for level in ("c_model", "csim"):
        assert report["verification"][level]["vectors"] == 200
        assert report["verification"][level]["mismatches"] > 0
        assert report["verification"][level]["max_abs_lsb_error"] > 0
    assert report["verification"]["rtl"]["status"] == "skipped"


@pytest.mark.slow
def test_existing_output_is_refused_and_kept(tmp_path, tf):
    from micae.errors import ConfigError

    path = _save_encoder(tmp_path, EncoderSpec(), seed=2)
    _run(tmp_path, path, "twice", vectors=300)
    before = (tmp_path / "fw" / "twice" / "report.json").read_bytes()
    with pytest.raises(ConfigError, match="already exists.*--force"):
        _run(tmp_path, path, "twice", vectors=300)
    assert (tmp_path / "fw" / "twice" / "report.json").read_bytes() == before


def test_vendor_require_fails_clearly_without_tools(tmp_path, monkeypatch):
    """No vendor tool here: --vendor require must stop with the reason before any work."""
    from micae.errors import ToolError
    from micae.hls.vendor import run_vendor_flow

    if any(shutil.which(t) for t in ("vitis_hls", "vitis-run", "vivado_hls")):
        pytest.skip("a vendor HLS tool is on PATH")
    (tmp_path / "build_prj.tcl").write_text("")
    with pytest.raises(ToolError, match="vitis"):
        run_vendor_flow(tmp_path, "Vitis", mode="require")
    assert run_vendor_flow(tmp_path, "Vitis", mode="auto").status == "skipped"


@pytest.mark.vendor
def test_real_vendor_csim(tmp_path, tf):
    """Runs only where Vitis/Vivado HLS is installed."""
    if not any(shutil.which(t) for t in ("vitis_hls", "vitis-run", "vivado_hls")):
        pytest.skip("no vitis_hls / vitis-run / vivado_hls on PATH: vendor csim cannot run on this machine")
    path = _save_encoder(tmp_path, EncoderSpec(), seed=2)
    report = _run(tmp_path, path, "vendor", vectors=500)
    assert report["verification"]["vendor_csim"]["mismatches"] == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [
        {"backend": "Vivado", "io_type": "io_stream"},
        {"backend": "Vitis", "strategy": "Resource", "reuse": 4},
    ],
)
def test_hls_options_stay_bit_exact(tmp_path, tf, options):
    from micae.hls.convert import HlsOptions

    path = _save_encoder(tmp_path, EncoderSpec(), seed=11)
    report = _run(tmp_path, path, "opts", vectors=1000, options=HlsOptions(**options))
    _assert_exact(report, 1000, levels=("c_model", "csim"))
    assert report["options"]["io_type"] == options.get("io_type", "io_parallel")


@pytest.mark.slow
def test_interrupted_synthesize_keeps_previous_output(tmp_path, tf, monkeypatch):
    import micae.verify.csim as csim

    path = _save_encoder(tmp_path, EncoderSpec(), seed=4)
    _run(tmp_path, path, "keep", vectors=300)
    good = (tmp_path / "fw" / "keep" / "report.json").read_bytes()

    def crash(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(csim, "build_csim", crash)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, path, "keep", vectors=300, force=True)
    assert (tmp_path / "fw" / "keep" / "report.json").read_bytes() == good
    assert (tmp_path / "hls" / "keep.incomplete" / "INCOMPLETE").exists()
    assert (tmp_path / "fw" / "keep.incomplete" / "INCOMPLETE").exists()


STAND_IN = """#!{python}
# Pretends to be the vendor tool (prints no Xilinx banner); copies micae's csim results and real 2020.1 reports.
import glob, os, shutil, sys
top = os.path.basename(glob.glob("*_test.cpp")[0])[: -len("_test.cpp")]
sol = f"{{top}}_prj/solution1"
for sub in ("csim/build/tb_data", "sim/wrapc/tb_data", "syn/report", "syn/verilog"):
    os.makedirs(f"{{sol}}/{{sub}}", exist_ok=True)
lines = open("tb_data/csim_results.log").read().splitlines()
if {corrupt}:
    first = lines[0].split()
    first[0] = repr(float(first[0]) + 2.0 ** -7)
    lines[0] = " ".join(first)
open(f"{{sol}}/csim/build/tb_data/csim_results.log", "w").write("\\n".join(lines) + "\\n")
shutil.copy("tb_data/csim_results.log", f"{{sol}}/sim/wrapc/tb_data/rtl_cosim_results.log")
shutil.copy("{fixtures}/myproject_csynth.xml", f"{{sol}}/syn/report/{{top}}_csynth.xml")
shutil.copy("{fixtures}/vivado_synth.rpt", "vivado_synth.rpt")
open(f"{{sol}}/syn/verilog/{{top}}.v", "w").write("module stand_in; endmodule\\n")
print("stand-in vendor run", sys.argv[1:])
"""


@pytest.mark.slow
@pytest.mark.parametrize("corrupt", [False, True])
def test_vendor_levels_with_a_stand_in_tool(tmp_path, tf, monkeypatch, fixtures, corrupt):
    """Orchestration and parsing of a vendor run; a tool without a Xilinx banner is never reported as a vendor run."""
    import os
    import sys

    from micae.errors import VerificationError

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "vitis-run"
    tool.write_text(STAND_IN.format(python=sys.executable, fixtures=fixtures, corrupt=corrupt))
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    path = _save_encoder(tmp_path, EncoderSpec(), seed=6)
    if corrupt:
        with pytest.raises(VerificationError, match="vendor_csim 1 of 400"):
            _run(tmp_path, path, "standin", vectors=400, vendor="require", rtl="off")
        report = json.loads((tmp_path / "fw" / "standin" / "report.json").read_text())
        assert report["verification"]["vendor_csim"]["first_mismatches"][0][0] == 0
        assert report["verification"]["vendor_csim"]["max_abs_lsb_error"] == 1
        return
    report = _run(tmp_path, path, "standin", vectors=400, vendor="require", rtl="off")
    v = report["verification"]
    assert v["vendor_csim"]["mismatches"] == 0 and v["vendor_csim"]["vectors"] == 400
    assert v["vendor_cosim"]["mismatches"] == 0
    unidentified = "unidentified tool (no Xilinx banner in its log; not a vendor run)"
    assert v["vendor_csim"]["run"] == unidentified
    assert report["vendor"]["identified"] is False
    kinds = {r["route"]: r["kind"] for r in report["routes"]}
    assert set(kinds.values()) == {unidentified}
    csynth = next(r for r in report["routes"] if "csynth" in r["route"])
    assert csynth["resources"]["LUT"] == 2532 and csynth["latency"]["cycles_max"] == 10
    assert report["resources"] is None, "an unidentified tool must not become the headline resource figure"
    assert report["headline_route"] is None
    assert (tmp_path / "fw" / "standin" / "verilog").is_dir()
    assert "not a vendor run" in (tmp_path / "fw" / "standin" / "report.md").read_text()


@pytest.mark.slow
def test_keras_v3_file_from_another_tool(tmp_path, tf):
    """QKeras cannot read its own .keras files back; micae can, and verifies them like .h5."""
    from micae.models.encoder import build_encoder
    from micae.models.io import load_model

    enc = build_encoder(EncoderSpec(), seed=3)
    randomize_weights(enc, seed=3)
    enc.save(tmp_path / "user.keras")
    again = load_model(tmp_path / "user.keras")
    for a, b in zip(enc.get_weights(), again.get_weights()):
        assert np.array_equal(a, b)
    report = _run(tmp_path, tmp_path / "user.keras", "kv3", vectors=500)
    _assert_exact(report, 500, levels=("integer_model", "c_model", "csim"))


@pytest.mark.slow
def test_require_timing_fails_after_place_and_route_misses_the_clock(tmp_path, tf):
    """A real nextpnr run on a small encoder at a clock no FPGA meets: the reports are written, the
    latency takes the achieved period, and --require-timing turns the miss into exit code 4."""
    from micae.errors import TimingError
    from micae.hls.convert import HlsOptions

    spec = EncoderSpec(input_shape=(4, 4, 1), filters=2, latent=4)
    path = _save_encoder(tmp_path, spec, seed=9)
    with pytest.raises(TimingError, match="timing not met at 1.0 ns") as info:
        _run(
            tmp_path,
            path,
            "fast",
            vectors=300,
            rtl="on",
            vendor="off",
            pnr="nexus",
            require_timing=True,
            close_timing=0,
            options=HlsOptions(clock_ns=1.0),
        )
    assert info.value.exit_code == 4 and "--clock-ns" in info.value.fix
    report = json.loads((tmp_path / "fw" / "fast" / "report.json").read_text())
    assert report["ok"] is True and report["timing_met"] is False
    pnr = next(t for t in report["timing"] if t["kind"] == "place-and-route")
    assert pnr["met"] is False and 0 < pnr["fmax_mhz"] < 1000 and pnr["tool"]["name"].startswith("nextpnr")
    lat = report["latency"]
    assert lat["ns_source"].startswith("place-and-route") and lat["verified"] is False
    assert lat["ns"] == pytest.approx(lat["cycles_max"] * 1000.0 / pnr["fmax_mhz"], rel=1e-3)
    assert "timing not met" in (tmp_path / "fw" / "fast" / "report.md").read_text()


@pytest.mark.slow
def test_timing_closure_recuts_after_a_miss_and_verifies_the_last_cut(tmp_path, tf):
    """Real nextpnr: the first cut misses, the delay model is corrected to the measured period, the pipeline is
    cut deeper and placed again; the RTL levels (Verilator, Icarus) verify that last cut bit for bit."""
    from micae.hls.convert import HlsOptions

    spec = EncoderSpec(input_shape=(4, 4, 1), filters=2, latent=4)
    path = _save_encoder(tmp_path, spec, seed=9)
    clock = 3.0
    report = _run(
        tmp_path, path, "closure", vectors=300, rtl="on", vendor="off", pnr="nexus", options=HlsOptions(clock_ns=clock)
    )
    pnr = next(t for t in report["timing"] if t["kind"] == "place-and-route")
    first, recut = pnr["closure"]
    assert first["met"] is False and first["measured_period_ns"] > clock
    assert first["predicted_period_ns"] <= clock  # the shipped model was optimistic: that is why it re-cut
    # the re-cut's model was scaled to the first measurement, and cuts at least as deep
    assert f"({first['measured_period_ns']:.2f} ns)" in recut["delay_model"]
    assert recut["cycles"] >= first["cycles"] and recut["work_dir"] == "pnr_recut1"
    # the headline analysis, the RTL section and the verified RTL are all the last cut's
    assert (pnr["met"], pnr["fmax_mhz"]) == (recut["met"], recut["fmax_mhz"])
    assert report["rtl"]["latency_cycles"] == recut["cycles"]
    _assert_exact(report, 300, levels=("integer_model", "rtl"))
    assert report["verification"]["rtl_crosscheck"]["mismatches"] == 0
    assert "Timing closure" in (tmp_path / "fw" / "closure" / "report.html").read_text()


@pytest.mark.slow
def test_timing_closure_keeps_the_faster_cut_when_the_recut_routes_slower(tmp_path, tf, monkeypatch):
    """Place-and-route stood in by measured periods (11 ns, then a slower 12 ns for the deeper cut): the first
    cut ships, its RTL is written again, and the RTL levels verify that cut, not the slower one."""
    from micae.hls.convert import HlsOptions
    from micae.rtl import pnr as pnr_module

    periods = iter([11.0, 12.0])

    def measured(rtl_dir, top, *, family, device, clock_ns, seed, timeout_s, work_dir):
        from micae.results.hardware import PnrAnalysis, ToolInfo

        period = next(periods)
        return PnrAnalysis(
            target="LIFCL-40-9BG400C",
            tool=ToolInfo(name="nextpnr-nexus", version="stand-in"),
            clock_ns=clock_ns,
            fmax_mhz=1000.0 / period,
            slack_ns=clock_ns - period,
            met=False,
            period_ns=period,
        )

    monkeypatch.setattr(pnr_module, "place_and_route", measured)
    path = _save_encoder(tmp_path, EncoderSpec(input_shape=(4, 4, 1), filters=2, latent=4), seed=9)
    report = _run(
        tmp_path, path, "keep", vectors=300, rtl="on", vendor="off", pnr="nexus", options=HlsOptions(clock_ns=10.0)
    )
    pnr = next(t for t in report["timing"] if t["kind"] == "place-and-route")
    first, recut = pnr["closure"]
    assert (first["measured_period_ns"], recut["measured_period_ns"]) == (11.0, 12.0)
    assert (first["shipped"], recut["shipped"]) == (True, False)
    assert recut["cycles"] > first["cycles"]  # the re-cut was deeper, so shipping it would show in the cycles
    assert pnr["fmax_mhz"] == pytest.approx(1000.0 / 11.0) and pnr["work_dir"] == "pnr"
    assert report["rtl"]["latency_cycles"] == first["cycles"]
    assert report["latency"]["cycles_max"] == first["cycles"]
    _assert_exact(report, 300, levels=("integer_model", "rtl"))
