"""Metrics: EMD on the TC geometry, per-sample MSE, telescope loss."""

from __future__ import annotations

import numpy as np
import pytest

from micae.data.geometry import arrange, pixel_mask
from micae.errors import DataError
from micae.metrics import emd, emd_summary, ground_distance, mse, telescope_loss
from micae.metrics.telescope import group_matrices


def one_hot(i, n=48, value=1.0):
    v = np.zeros(n)
    v[i] = value
    return v


# ---------------------------------------------------------------- EMD


def test_emd_zero_for_identical_and_scale_invariant():
    rng = np.random.default_rng(0)
    a = rng.random((50, 48)) * (rng.random((50, 48)) < 0.3) + one_hot(0)
    np.testing.assert_allclose(emd(a, a), 0.0, atol=1e-9)
    np.testing.assert_allclose(emd(a, 5 * a), 0.0, atol=1e-9)  # both are normalised to unit sum


def test_emd_positive_and_symmetric():
    rng = np.random.default_rng(1)
    a = rng.random((40, 48)) + 1e-3
    b = rng.random((40, 48)) + 1e-3
    ab, ba = emd(a, b), emd(b, a)
    assert np.all(ab > 0)
    np.testing.assert_allclose(ab, ba, rtol=1e-9, atol=1e-12)


def test_emd_known_moves():
    # Neighbouring TCs are one TC pitch (2.4168 cm) = 2.0 emd units apart.
    d = ground_distance()
    assert d[0, 1] == pytest.approx(2.0, abs=1e-5) and d[0, 4] == pytest.approx(2.0, abs=1e-5)
    t = np.stack([one_hot(0), one_hot(0), one_hot(0), one_hot(0) + one_hot(1)])
    p = np.stack([one_hot(1), 0.5 * one_hot(0) + 0.5 * one_hot(1), one_hot(2), one_hot(1) + one_hot(2)])
    np.testing.assert_allclose(emd(t, p), [2.0, 1.0, 4.0, 2.0], atol=1e-5)


def test_emd_on_the_support_equals_the_full_transport_problem():
    import ot

    rng = np.random.default_rng(5)
    a = rng.random((30, 48)) * (rng.random((30, 48)) < 0.25) + one_hot(7, value=0.5)
    b = rng.random((30, 48)) * (rng.random((30, 48)) < 0.4) + one_hot(40, value=0.2)
    full = [ot.emd2(a[i] / a[i].sum(), b[i] / b[i].sum(), np.ascontiguousarray(ground_distance())) for i in range(30)]
    np.testing.assert_allclose(emd(a, b), full, rtol=1e-9, atol=1e-12)


def test_emd_zero_sum_handling():
    a = np.stack([one_hot(3), np.zeros(48), np.zeros(48)])
    b = np.stack([np.zeros(48), np.zeros(48), -np.ones(48)])  # negatives are clipped to 0
    out = emd(a, b)
    assert np.isnan(out[0]) and out[1] == 0.0 and out[2] == 0.0
    s = emd_summary(np.array([1.0, np.nan, 3.0]))
    assert s["n"] == 2 and s["n_undefined"] == 1 and s["mean"] == 2.0


def test_emd_layouts_and_errors():
    rng = np.random.default_rng(2)
    a, b = rng.random((10, 48)), rng.random((10, 48))
    ref = emd(a, b)
    for layout in ("4x4x3", "8x8"):
        np.testing.assert_allclose(emd(arrange(a, layout), arrange(b, layout), layout=layout), ref)
    parts = arrange(a, "4x4x3").reshape(5, 2, 4, 4, 3)
    parts_b = arrange(b, "4x4x3").reshape(5, 2, 4, 4, 3)
    np.testing.assert_allclose(emd(parts, parts_b, layout="4x4x3"), ref)
    bad = b.copy()
    bad[4, 2] = np.inf
    with pytest.raises(DataError, match="sample 4"):
        emd(a, bad)
    with pytest.raises(DataError, match=r"\(N, 48\)"):
        emd(a[:, :40], b[:, :40])


# ---------------------------------------------------------------- MSE


def test_mse_per_sample():
    a = np.zeros((3, 4, 4, 3))
    b = np.zeros((3, 4, 4, 3))
    b[1] = 2.0
    b[2, 0, 0, 0] = 4.8
    np.testing.assert_allclose(mse(a, b), [0.0, 4.0, 4.8**2 / 48])
    with pytest.raises(DataError):
        mse(a, b[:2])


# ---------------------------------------------------------------- telescope


def test_group_matrices():
    win, quad = group_matrices()
    assert win.shape == (48, 27) and quad.shape == (48, 3)
    assert np.all(win.sum(axis=0) == 4) and np.all(quad.sum(axis=0) == 16) and np.all(quad.sum(axis=1) == 1)
    # Corners of a quadrant's 4x4 grid are in one 2x2 window, the 4 centre TCs in four.
    assert win[0].sum() == 1 and win[15].sum() == 1 and win[5].sum() == 4 and win[16 + 10].sum() == 4
    # No window mixes quadrants.
    for g in range(27):
        assert len(set(np.flatnonzero(win[:, g]) // 16)) == 1


@pytest.mark.parametrize("layout", ["4x4x3", "8x8"])
def test_telescope_zero_for_identical_positive_otherwise(layout):
    rng = np.random.default_rng(3)
    t = arrange(rng.random((6, 48)), layout).astype(np.float32)
    p = arrange(rng.random((6, 48)), layout).astype(np.float32)
    loss = telescope_loss(layout)
    np.testing.assert_allclose(loss(t, t).numpy(), 0.0, atol=1e-7)
    out = loss(t, p).numpy()
    assert out.shape == (6,) and np.all(out > 0)


def test_telescope_multiscale_grouping():
    loss = telescope_loss("4x4x3")
    t = arrange(one_hot(0)[None], "4x4x3").astype(np.float32)
    near = arrange(one_hot(1)[None], "4x4x3").astype(np.float32)  # neighbour, same 2x2 window
    far = arrange(one_hot(16)[None], "4x4x3").astype(np.float32)  # same spot, other quadrant
    l_near, l_far = float(loss(t, near)[0]), float(loss(t, far)[0])
    assert 0 < l_near < l_far


def test_telescope_8x8_ignores_repeated_pixels_and_parts():
    rng = np.random.default_rng(4)
    t = arrange(rng.random((4, 48)), "8x8").astype(np.float32)
    p = t.copy()
    p[:, pixel_mask("8x8") == 0] = 5.0  # models zero these; the loss must not look at them
    loss = telescope_loss("8x8")
    np.testing.assert_allclose(loss(t, p).numpy(), 0.0, atol=1e-7)
    q = arrange(rng.random((4, 48)), "8x8").astype(np.float32)
    per_wafer = loss(t, q).numpy()
    per_sample = loss(t.reshape(2, 2, 8, 8, 1), q.reshape(2, 2, 8, 8, 1)).numpy()
    np.testing.assert_allclose(per_sample, per_wafer.reshape(2, 2).mean(axis=1), rtol=1e-6)


def test_telescope_as_keras_loss():
    import tensorflow as tf

    rng = np.random.default_rng(5)
    x = arrange(rng.random((32, 48)), "4x4x3").astype(np.float32)
    inp = tf.keras.Input((4, 4, 3))
    model = tf.keras.Model(inp, tf.keras.layers.Conv2D(3, 1)(inp))
    model.compile(optimizer="adam", loss=telescope_loss("4x4x3"))
    hist = model.fit(x, x, epochs=2, batch_size=16, verbose=0)
    assert np.all(np.isfinite(hist.history["loss"]))
