"""The Sinkhorn EMD training loss against the exact POT EMD on hand-made wafers, and make_loss options."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO
from micae.data.geometry import arrange
from micae.errors import ConfigError
from micae.metrics.emd import emd, ground_distance


def _wafer(cells: dict[int, float]) -> np.ndarray:
    tc = np.zeros((1, 48), dtype=np.float32)
    for i, q in cells.items():
        tc[0, i] = q
    return tc


def _moved_wafers() -> tuple[np.ndarray, np.ndarray]:
    """A two-cell wafer and copies with one cell moved farther and farther (ordered by exact EMD)."""
    dist = ground_distance()
    base = {5: 1.0, 20: 0.5}
    picks, last = [], 0.0
    for cell in np.argsort(dist[5]):  # cells ever farther from cell 5 (at least 1.5 emd units more each time)
        if cell != 20 and dist[5, cell] > last + 1.5:
            picks.append(int(cell))
            last = dist[5, cell]
    targets = np.concatenate([_wafer(base)] * len(picks))
    preds = np.concatenate([_wafer({c: 1.0, 20: 0.5}) for c in picks])
    return targets, preds


def _loss_values(loss, t_tc: np.ndarray, p_tc: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    t = tf.constant(arrange(t_tc, "4x4x3"), tf.float32)
    p = tf.constant(arrange(p_tc, "4x4x3"), tf.float32)
    return loss(t, p).numpy()


@pytest.fixture(scope="module")
def sinkhorn():
    from micae.metrics.sinkhorn import sinkhorn_emd_loss

    return {"plain": sinkhorn_emd_loss("4x4x3"), "debiased": sinkhorn_emd_loss("4x4x3", debiased=True)}


def test_debiased_sinkhorn_is_zero_on_identical_wafers(sinkhorn):
    t, _ = _moved_wafers()
    assert np.abs(_loss_values(sinkhorn["debiased"], t, t)).max() < 1e-4
    # the plain entropic cost is not 0 on identical wafers, but below any real move (2 emd units per neighbour)
    assert 0 < _loss_values(sinkhorn["plain"], t, t).max() < 0.5


def test_sinkhorn_orders_wafers_as_the_exact_emd_and_is_symmetric(sinkhorn):
    t, p = _moved_wafers()
    exact = emd(t, p)
    assert np.all(np.diff(exact) > 0)  # the hand-made moves really are ordered
    for loss in sinkhorn.values():
        approx = _loss_values(loss, t, p)
        assert np.all(np.diff(approx) > 0), (exact, approx)
        # symmetric up to the 20 unconverged iterations (~1%)
        np.testing.assert_allclose(approx, _loss_values(loss, p, t), rtol=0.02, atol=1e-4)
    # close to the exact value (entropic blur 0.5 emd units)
    np.testing.assert_allclose(_loss_values(sinkhorn["debiased"], t, p), exact, rtol=0.1, atol=0.2)


def test_sinkhorn_is_scale_free_and_has_a_gradient_on_every_cell(sinkhorn):
    import tensorflow as tf

    t, p = _moved_wafers()
    a = _loss_values(sinkhorn["plain"], t, p)
    b = _loss_values(sinkhorn["plain"], t, 3 * p)
    np.testing.assert_allclose(a, b, rtol=1e-4)
    target = tf.constant(arrange(t, "4x4x3"), tf.float32)
    pred = tf.Variable(arrange(p, "4x4x3") + 0.01, dtype=tf.float32)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(sinkhorn["debiased"](target, pred))
    grad = tape.gradient(value, pred).numpy()
    assert np.all(np.isfinite(grad))
    assert np.count_nonzero(grad.reshape(len(t), -1), axis=1).min() == 48


def test_make_loss_sinkhorn_pins_the_wafer_sum():
    from micae.train.losses import make_loss

    t, p = _moved_wafers()
    shape_only = make_loss("sinkhorn", "4x4x3", 1, 3, {"sum_weight": 0.0})
    with_sum = make_loss("sinkhorn", "4x4x3", 1, 3, {"sum_weight": 1.0})
    # same sum (1.5): the term adds nothing; doubled prediction: it adds (3 - 1.5)^2 = 2.25
    np.testing.assert_allclose(_loss_values(with_sum, t, p), _loss_values(shape_only, t, p), rtol=1e-5)
    extra = _loss_values(with_sum, t, 2 * p) - _loss_values(shape_only, t, 2 * p)
    np.testing.assert_allclose(extra, 2.25, rtol=1e-4)


def test_make_loss_refuses_what_it_cannot_do():
    from micae.train.losses import make_loss

    with pytest.raises(ConfigError, match="HGCAL layout"):
        make_loss("sinkhorn", "28x28", 1, 1)
    with pytest.raises(ConfigError, match="unknown"):
        make_loss("wasserstein", "4x4x3", 1, 3)
    with pytest.raises(ConfigError, match="epsilon"):
        make_loss("sinkhorn", "4x4x3", 1, 3, {"emd_epsilon": 0.1})


def test_econt_configs_train_with_the_sinkhorn_loss_and_its_keys():
    from micae.train.config import load_config

    for name in ("econt", "econt_full"):
        cfg = load_config(REPO / "models" / f"{name}.yaml")
        assert cfg.train["loss"] == "sinkhorn"
        assert {"emd_epsilon", "emd_iterations", "emd_debiased", "sum_weight"} <= set(cfg.train)
    with pytest.raises(ConfigError, match=r"train\.emd_eps = 0\.3: unknown key; train takes .*emd_epsilon"):
        load_config(REPO / "models" / "econt.yaml", sets=["train.emd_eps=0.3"])
