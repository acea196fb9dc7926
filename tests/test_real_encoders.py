"""Real users' encoders through the whole flow: 0 mismatches at every level (integer model, C model, csim, RTL).

The CMS ECON-T CAE (nswood/ECON_QAE) in four forms, plus a two-conv, a dense-only and
pooled encoders; small random weights, 300 vectors (saturation and ties at every
quantizer stage, then random codes). Every level compares integer codes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests import frontend_models as fm

LEVELS = ("integer_model", "c_model", "csim", "rtl")
N = 300


def _synth(tmp_path, model, name: str, n: int = N, **kw) -> dict:
    from micae.models.io import save_model
    from micae.synthesize import SynthRequest, synthesize

    path = tmp_path / f"{name}.h5"
    save_model(model, path)
    req = SynthRequest(
        model=path,
        name=name,
        hls_root=tmp_path / "hls",
        firmware_root=tmp_path / "fw",
        vectors=n,
        rtl_vectors=n,
        rtl="on",
        vendor="off",
        rtl_resources=False,
        **kw,
    )
    return synthesize(req)


def _assert_exact(report: dict) -> None:
    total = report["vectors"]["total"]
    assert total >= N  # saturation and tie vectors of every stage come first, random codes fill up to N
    levels = [lv for lv in report["verification"] if lv in LEVELS or lv.startswith("rtl")]
    assert set(LEVELS) <= set(levels)
    for level in levels:
        v = report["verification"][level]
        assert v["vectors"] >= N if level.startswith("rtl") else v["vectors"] == total, (level, v)
        assert v["mismatches"] == 0 and v["max_abs_lsb_error"] == 0, (level, v.get("first_mismatches"))


@pytest.mark.slow
def test_cae_zero_padding_valid_conv(tmp_path, tf):
    report = _synth(tmp_path, fm.cae(seed=0), "cae_pad")
    _assert_exact(report)
    assert report["model"]["layers_taken"][:3] == ["wafer", "in_q", "pad"]
    assert report["model"]["warnings"] == []


@pytest.mark.slow
def test_cae_inside_a_conditional_model(tmp_path, tf):
    """Two condition inputs joined after the latent: the encoder is cut out of the model file."""
    report = _synth(tmp_path, fm.cae(seed=1, conditions=True), "cae_cond")
    _assert_exact(report)
    taken = report["model"]["layers_taken"]
    assert taken[0] == "wafer" and taken[-1] == "latent" and "eta" not in taken
    assert report["model"]["input_shape"] == [8, 8, 1]


@pytest.mark.slow
def test_cae_with_5_bit_elink_outputs(tmp_path, tf):
    report = _synth(tmp_path, fm.cae(seed=2, tail_bits=5), "cae_elink5")
    _assert_exact(report)
    assert report["model"]["latent_type"]["frac"] == 4
    # the truncation and the saturation at 1 - 2**-4 are exercised
    cov = report["vectors"]["coverage"][-1]
    assert cov["saturated_high"] > 0


@pytest.mark.slow
def test_cae_with_the_8x8_mask(tmp_path, tf):
    mask_file = tmp_path / "mask.npy"
    from micae.data.geometry import pixel_mask

    np.save(mask_file, pixel_mask("8x8") > 0)
    report = _synth(tmp_path, fm.cae(seed=3), "cae_mask", input_mask=mask_file)
    _assert_exact(report)
    budget = report["model"]["bit_budget"]
    assert (budget["input_values"], budget["masked_inputs"]) == (48, 16)
    rtl = json.loads((tmp_path / "fw" / "cae_mask" / "rtl" / "rtl.json").read_text())
    assert rtl["ports"]["input"]["count"] == 48 and len(rtl["input_columns"]) == 48
    assert rtl["input_columns"] == [int(c) for c in np.flatnonzero(pixel_mask("8x8").ravel() > 0)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "build",
    [fm.two_conv, fm.dense_only, fm.pooled, lambda: fm.pooled(pool="avg")],
    ids=["two_conv", "dense", "max", "avg"],
)
def test_other_graphs(tmp_path, tf, build):
    model = build()
    report = _synth(tmp_path, model, model.name)
    _assert_exact(report)
    if model.name in ("two_conv", "dense_only"):
        assert "shallow" in report["model"]["warnings"][0]
