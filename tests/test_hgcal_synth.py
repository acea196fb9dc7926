"""hgcal-synth generator: integer charges, physics sanity, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from micae.data import hgcal_synth as hs
from micae.data.geometry import tc_coordinates
from micae.errors import ConfigError

N = 40_000


@pytest.fixture(scope="module")
def wafers():
    return hs.generate(N, seed=7)


def test_integer_nonnegative(wafers):
    q, aux = wafers
    assert q.shape == (N, 48) and q.dtype == np.int32
    assert q.min() >= 0
    assert set(aux) == {"energy", "impact_x", "impact_y", "n_showers"}
    assert all(len(v) == N for v in aux.values())


def test_shower_multiplicity_and_aux(wafers):
    q, aux = wafers
    ns = aux["n_showers"]
    assert set(np.unique(ns)) == {0, 1, 2}
    assert np.mean(ns == 0) == pytest.approx(0.25, abs=0.02)
    assert np.mean(ns == 2) == pytest.approx(0.15, abs=0.02)
    none = ns == 0
    assert np.all(aux["energy"][none] == 0) and np.all(np.isnan(aux["impact_x"][none]))
    assert np.all(aux["energy"][~none] >= 1.0) and np.all(np.isfinite(aux["impact_y"][~none]))
    single = ns == 1
    assert aux["energy"][single].max() <= 200.0


def test_mean_charge_grows_with_energy(wafers):
    q, aux = wafers
    single = aux["n_showers"] == 1
    total = q.sum(axis=1)
    edges = [1, 5, 20, 60, 200]
    means = [total[single & (aux["energy"] >= lo) & (aux["energy"] < hi)].mean() for lo, hi in zip(edges, edges[1:])]
    assert np.all(np.diff(means) > 0), means
    assert means[-1] > 3 * means[0]


def test_showers_localised_near_impact(wafers):
    q, aux = wafers
    coords = tc_coordinates("cm")
    centre = coords.mean(axis=0)
    impact = np.stack([aux["impact_x"], aux["impact_y"]], axis=1)
    inside = np.linalg.norm(np.nan_to_num(impact) - centre, axis=1) < 6.0
    strong = (aux["n_showers"] == 1) & inside & (q.sum(axis=1) > 300)
    assert strong.sum() > 200
    hottest = coords[q[strong].argmax(axis=1)]
    dist = np.linalg.norm(hottest - impact[strong], axis=1)
    # The hottest TC is the one hit or a neighbour (pitch 2.42 cm) for nearly all showers.
    assert np.mean(dist < 2.5) > 0.97
    centroid = (q[strong] @ coords) / q[strong].sum(axis=1, keepdims=True)
    assert np.median(np.linalg.norm(centroid - impact[strong], axis=1)) < 1.0


def test_pileup_only_wafers_exist(wafers):
    q, aux = wafers
    none = aux["n_showers"] == 0
    total = q.sum(axis=1)
    # Wafers without a shower still carry pile-up hits clearly above noise ...
    assert np.mean(q[none].max(axis=1) >= 8) > 0.3
    # ... but far less charge than wafers with a shower.
    assert total[none].mean() < 0.5 * total[aux["n_showers"] >= 1].mean()


def test_fractions_integrate_and_peak():
    coords = tc_coordinates("cm")
    centre = coords.mean(axis=0)
    frac = hs.tc_fractions(np.array([centre, coords[5]]), np.array([1.0, 1.0]))
    assert frac.shape == (2, 48) and np.all(frac >= 0)
    assert 0.9 < frac[0].sum() <= 1.0 + 1e-6  # a central shower is contained in the wafer
    assert frac[1].argmax() == 5 and frac[1, 5] > 0.5


def test_reproducible_and_seed_dependent():
    a, aux_a = hs.generate(3000, seed=3)
    b, aux_b = hs.generate(3000, seed=3)
    c, _ = hs.generate(3000, seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(aux_a["energy"], aux_b["energy"])
    assert not np.array_equal(a, c)


def test_chunking(monkeypatch):
    monkeypatch.setattr(hs, "_CHUNK", 1000)
    a, aux = hs.generate(2500, seed=1)
    b, _ = hs.generate(2500, seed=1)
    assert a.shape == (2500, 48) and len(aux["n_showers"]) == 2500
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[:1000], a[1000:2000])  # chunks use different streams


def test_saturation_and_params():
    q, _ = hs.generate(2000, seed=0, params=hs.SynthParams(adc_max=20, e_min_gev=100.0))
    assert q.max() == 20
    quiet, aux = hs.generate(
        500, seed=0, params=hs.SynthParams(p_no_shower=1.0, p_two_showers=0.0, pileup_mean_hits=0.0, noise_adc=0.0)
    )
    assert np.all(quiet == 0) and np.all(aux["n_showers"] == 0)
    with pytest.raises(ConfigError, match="e_min_gev"):
        hs.generate(10, params=hs.SynthParams(e_min_gev=0.0))
    with pytest.raises(ConfigError):
        hs.generate(-1)
