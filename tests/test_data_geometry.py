"""TC geometry: arrangements round-trip all 48 cells; 8x8 mask semantics; coordinates."""

from __future__ import annotations

import numpy as np
import pytest

from micae.data.geometry import (
    arrange,
    arrangement_names,
    arrangement_shape,
    load_geometry,
    pixel_mask,
    tc_coordinates,
    tc_pixel_index,
    unarrange,
)
from micae.errors import ConfigError, DataError


def test_known_arrangements():
    assert set(arrangement_names()) == {"4x4x3", "8x8"}
    assert arrangement_shape("4x4x3") == (4, 4, 3)
    assert arrangement_shape("8x8") == (8, 8, 1)


@pytest.mark.parametrize("layout", ["4x4x3", "8x8"])
def test_round_trip_each_cell(layout):
    # One-hot wafers: cell i must come back as cell i and nowhere else.
    eye = np.eye(48, dtype=np.float32)
    img = arrange(eye, layout)
    assert img.shape == (48, *arrangement_shape(layout))
    np.testing.assert_array_equal(unarrange(img, layout), eye)
    # Every TC is visible in the image exactly once (masked repeats are zero).
    assert np.array_equal(img.reshape(48, -1).sum(axis=1), np.ones(48))


@pytest.mark.parametrize("layout", ["4x4x3", "8x8"])
@pytest.mark.parametrize("seed", range(5))
def test_round_trip_random(layout, seed):
    rng = np.random.default_rng(seed)
    tc = rng.integers(0, 2**22, (int(rng.integers(1, 20)), 48)).astype(np.float64)
    np.testing.assert_array_equal(unarrange(arrange(tc, layout), layout), tc)


def test_4x4x3_pixel_semantics():
    tc = np.arange(48, dtype=np.float64)[None]
    img = arrange(tc, "4x4x3")[0]
    for r in range(4):
        for c in range(4):
            for k in range(3):
                assert img[r, c, k] == 4 * r + c + 16 * k


def test_8x8_mask_semantics():
    mask = pixel_mask("8x8")
    assert mask.shape == (8, 8, 1)
    assert mask.sum() == 48 and (mask == 0).sum() == 16
    tc_index = np.asarray(load_geometry()["arrangements"]["8x8"]["tc_index"])
    flat_mask = mask.ravel()
    # Masked pixels only repeat TCs that also have their own mask=1 pixel.
    assert set(tc_index[flat_mask == 0]) <= set(tc_index[flat_mask == 1])
    assert sorted(tc_index[flat_mask == 1]) == list(range(48))
    # arrange zeroes the repeats even when the TC is non-zero.
    tc = np.arange(1, 49, dtype=np.float64)[None]
    img = arrange(tc, "8x8")
    assert np.all(img[0][mask == 0] == 0)
    assert np.all(img[0][mask == 1] > 0)
    # unarrange reads the mask=1 pixel: garbage on repeats is ignored.
    dirty = img.copy()
    dirty[0][mask == 0] = 999.0
    np.testing.assert_array_equal(unarrange(dirty, "8x8"), tc)
    # tc_pixel_index points at mask=1 pixels carrying the right TC.
    idx = tc_pixel_index("8x8")
    assert np.all(flat_mask[idx] == 1)
    np.testing.assert_array_equal(tc_index[idx], np.arange(48))


def test_coordinates_units():
    cm = tc_coordinates("cm")
    emd = tc_coordinates("emd")
    assert cm.shape == emd.shape == (48, 2)
    np.testing.assert_allclose(emd * load_geometry()["emd_unit_cm"], cm)
    # Inside a quadrant, grid neighbours (TC 0-1, TC 0-4) are one TC pitch = 2 emd units apart.
    assert np.linalg.norm(emd[0] - emd[1]) == pytest.approx(2.0, abs=1e-5)
    assert np.linalg.norm(emd[0] - emd[4]) == pytest.approx(2.0, abs=1e-5)
    with pytest.raises(ConfigError, match="unit"):
        tc_coordinates("mm")


def test_errors():
    with pytest.raises(ConfigError, match="4x4x3"):
        arrange(np.zeros((1, 48)), "6x6")
    with pytest.raises(DataError, match=r"\(N, 48\)"):
        arrange(np.zeros((2, 47)), "4x4x3")
    with pytest.raises(DataError, match="4, 4, 3"):
        unarrange(np.zeros((2, 8, 8, 1)), "4x4x3")


def test_hgcal_layouts_and_their_masked_pixels():
    from micae.data.geometry import HGCAL_LAYOUTS, arrangement_names, masked_pixels

    assert set(HGCAL_LAYOUTS) == set(arrangement_names())
    assert masked_pixels("8x8", (8, 8, 1)) == 64 - 48  # the repeated pixels carry no extra value
    assert masked_pixels("4x4x3", (4, 4, 3)) == 0
    assert masked_pixels("image", (8, 8, 1)) == 0 and masked_pixels("8x8", (4, 4, 3)) == 0


def test_run_config_counts_live_cells_for_the_compression_limit():
    from micae.errors import ConstraintError
    from micae.train.config import load_config

    cfg = load_config(None, {"dataset.layout": "8x8", "encoder.latent": 16})
    b = cfg.check_encoder((8, 8, 1))
    assert (b["input_values"], b["masked_inputs"], b["compression_factor"]) == (48, 16, 3.0)
    with pytest.raises(ConstraintError, match="48 live input values / 17"):
        load_config(None, {"dataset.layout": "8x8", "encoder.latent": 17}).check_encoder((8, 8, 1))
    with pytest.raises(ConstraintError, match="min_bit_compression 2.7"):
        load_config(None, {"min_bit_compression": 2.7}).check_encoder((4, 4, 3))


def test_one_default_sample_count():
    from micae.data import DEFAULT_SYNTH_SAMPLES
    from micae.train.config import DEFAULTS

    assert DEFAULTS["dataset"]["n_samples"] is None and DEFAULT_SYNTH_SAMPLES == 50_000
