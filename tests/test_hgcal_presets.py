"""hgcal-synth presets: legacy reproduces the generator before presets; pileup/nopileup are physical and fitted."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from tests.conftest import SHARED

from micae.data import load_dataset
from micae.data.compare import compare
from micae.data.hgcal_chain import calq_from_adc, calvalue
from micae.data.hgcal_physics import PhysicsParams, readout
from micae.data.hgcal_presets import FITS, PRESETS, physics_params
from micae.data.hgcal_synth import generate, generate_with_info
from micae.data.wafer_stats import ks_statistics, wafer_statistics
from micae.errors import ConfigError

PUBLIC = SHARED / "data" / "econt-public"
FILES = {"pileup": PUBLIC / "CALQ_output_head.csv", "nopileup": PUBLIC / "ttbar_0PU.csv"}


def test_legacy_is_the_generator_before_presets():
    # sha256 of generate(5000, seed=7) computed with micae main at 323d4c6, before the presets existed
    q, aux = generate(5000, seed=7)
    assert hashlib.sha256(q.tobytes()).hexdigest() == (
        "b6ab36b33e322eade3451922068b1cfbf19df7ec8ae875a4e9a64d4e0b72e330"
    )
    q2, _ = generate(5000, seed=7, preset="legacy")
    np.testing.assert_array_equal(q, q2)
    ds = load_dataset("hgcal-synth", n_samples=300, seed=7)
    assert ds.meta["generator"]["preset"] == "legacy" and ds.meta["generator"]["name"] == "micae.data.hgcal_synth"


@pytest.mark.parametrize("preset", ["pileup", "nopileup"])
def test_physical_presets_are_seeded_non_empty_calq(preset):
    q, aux, info = generate_with_info(3000, seed=5, preset=preset)
    assert q.shape == (3000, 48) and q.dtype == np.int32
    assert (q > 0).any(axis=1).all() and q.min() >= 0
    assert not (q == 1).any()  # calq_min = 2: the smallest non-zero CALQ of both public files
    assert info["preset"] == preset and info["wafers_generated"] == 3000 + info["empty_wafers_dropped"]
    assert set(aux) >= {"eta", "hd_module", "energy"} and all(len(v) == 3000 for v in aux.values())
    assert ((aux["eta"] >= 1.5) & (aux["eta"] <= 3.0)).all()
    again, _ = generate(3000, seed=5, preset=preset)
    np.testing.assert_array_equal(q, again)
    prefix, _ = generate(1000, seed=5, preset=preset)
    np.testing.assert_array_equal(prefix, q[:1000])
    other, _ = generate(1000, seed=6, preset=preset)
    assert not np.array_equal(other, prefix)


def test_readout_applies_noise_thresholds_and_the_chain():
    rng = np.random.default_rng(0)
    n = 200
    eta = rng.uniform(1.5, 3.0, (n, 48))
    pos = {"eta_tc": eta, "hd": rng.random(n) < 0.5}
    mip = rng.exponential(1.0, (n, 48)) * (rng.random((n, 48)) < 0.5)
    prm = PhysicsParams(noise_adc=0.0, tc_threshold_adc=20.0, calq_min=3)
    got = readout(mip, pos, rng, prm)
    adc = np.rint(mip * 3.43 / (100 / 1024)).astype(np.int64)  # 3.43 fC per MIP, LSB 100/1024 fC (doc A1, A3)
    adc[adc < 20] = 0
    want = calq_from_adc(adc, calvalue(eta), np.where(pos["hd"], 3, 1)[:, None])
    want[want < 3] = 0
    np.testing.assert_array_equal(got, want)


def test_dataset_preset_and_errors():
    ds = load_dataset("hgcal-synth", n_samples=400, seed=1, preset="nopileup")
    gen = ds.meta["generator"]
    assert gen["preset"] == "nopileup" and gen["name"] == "micae.data.hgcal_physics"
    assert ds.meta["wafers_dropped_zero_sum"] == gen["empty_wafers_dropped"] > 0
    assert sum(ds.sizes.values()) == 400 and "eta" in ds.aux["test"]
    with pytest.raises(ConfigError, match="preset"):
        load_dataset("hgcal-synth", n_samples=10, preset="200pu")
    with pytest.raises(ConfigError, match="preset"):
        generate(10, preset="nope")
    with pytest.raises(ConfigError, match="noise_adc"):
        generate(10, params=PhysicsParams(noise_adc=-1.0), preset="pileup")
    assert PRESETS == ("legacy", "pileup", "nopileup")


def _real(preset):
    path = FILES[preset]
    if not path.is_file():
        pytest.skip(f"public ECON-T file not found at {path} (clone shared/ beside the repo)")
    return path


@pytest.mark.parametrize("preset", ["pileup", "nopileup"])
def test_fit_record_names_its_data(preset):
    path = _real(preset)
    fit = FITS[preset]
    from micae.data.dataset import file_sha256

    assert fit["data"]["file"] == path.name and fit["data"]["sha256"] == file_sha256(path)
    prm = physics_params(preset)
    for name, value in fit["fitted"].items():
        assert getattr(prm, name) == pytest.approx(value, rel=1e-3)


@pytest.mark.parametrize("preset", ["pileup", "nopileup"])
def test_compare_against_the_real_file(preset, tmp_path):
    path = _real(preset)
    cmp = compare(preset, path, n=20_000, seed=3)
    rec = cmp.record
    # the statistics are what they say: recomputed here from the two sets of wafers
    real, synth = wafer_statistics(cmp.real), wafer_statistics(cmp.synth)
    from scipy.stats import ks_2samp

    lit = ks_2samp((cmp.real > 0).sum(1), (cmp.synth > 0).sum(1)).statistic
    assert rec["ks"]["lit_cells"] == pytest.approx(lit, abs=1e-12)
    assert rec["ks"] == pytest.approx(ks_statistics(real, synth), abs=1e-12)
    assert rec["data"]["rows"] == len(cmp.real) and rec["synth"]["n"] == 20_000
    assert rec["synth"]["generator"]["fit"]["data"]["file"] == path.name
    # calibration holds: the documented KS on the two goal distributions (README, Data)
    limits = KS_LIMITS[preset]
    for key, limit in limits.items():
        assert rec["ks"][key] <= limit, (key, rec["ks"][key])
    from micae.report.compare_page import write_compare

    html, js = write_compare(cmp, tmp_path / "out")
    assert json.loads(js.read_text())["ks"] == pytest.approx(rec["ks"])
    page = html.read_text()
    assert page.count("data:image/png;base64,") == 2 and "micae data compare" in page


# Issue 20's goal (KS <= 0.10 on lit TCs and non-zero CALQ); the wafer sum, fitted too, held to the same bound.
# Measured with n=20000, seed 3: pileup 0.023 / 0.023 / 0.048, nopileup 0.027 / 0.049 / 0.067.
KS_LIMITS: dict[str, dict[str, float]] = {
    preset: {"lit_cells": 0.10, "nonzero_charge": 0.10, "wafer_sum": 0.10} for preset in ("pileup", "nopileup")
}
