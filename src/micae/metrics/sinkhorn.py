"""A differentiable EMD for training: entropic optimal transport (Sinkhorn) on the hexagonal TC geometry.

The evaluation metric (:mod:`micae.metrics.emd`) is POT's exact EMD between the two wafers
normalised to unit sum (negatives clipped), with the euclidean distance between TC centres
in emd units as ground cost. The exact optimum is piecewise linear in the inputs and is solved
by a network simplex outside TensorFlow, so it cannot be a Keras loss. This module computes the
same transport problem with an entropic regulariser ``epsilon`` (Sinkhorn iterations, a fixed
number of them so the graph is static) and returns the transport cost ``<P, C>`` of the
regularised plan ``P``: for small ``epsilon`` and enough iterations it approaches the exact EMD, and
it is smooth in both wafers. Cost per wafer: ``iterations`` x two 48x48 matrix-vector products.
Measured on 256 random sparse unit-sum wafers against POT (shared 2-core machine, forward + backward
per batch of 256): epsilon 0.5, 20 iterations (the defaults) correlation 0.994, ~15 ms; epsilon 0.3,
50 iterations 0.998, ~17 ms; with too few iterations the value lies below the exact EMD.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from micae.data.geometry import arrangement_shape, tc_pixel_index
from micae.errors import ConfigError
from micae.metrics.emd import ground_distance

DEFAULT_EPSILON = 0.5
"""Entropic regulariser in emd units (neighbouring TCs are 2.0 apart)."""
DEFAULT_ITERATIONS = 20
MIN_EPSILON = 0.2


def sinkhorn_cost(a, b, cost, epsilon: float = DEFAULT_EPSILON, iterations: int = DEFAULT_ITERATIONS):
    """Transport cost of the entropic plan between ``a`` and ``b`` (``(..., n)``, each row summing to 1).

    ``cost`` is ``(n, n)``. Scaling form (``u = a / K v``, ``v = b / K^T u`` with ``K = exp(-C / epsilon)``):
    two small matrix products per iteration. In float32 keep ``epsilon >= 0.2`` on the ECON-T wafer
    (largest distance ~14 emd units): at 0.15 with 100 iterations a random wafer already gave NaN.
    """
    import tensorflow as tf

    kernel = tf.exp(-cost / epsilon)
    v = tf.ones_like(b)
    tiny = tf.constant(1e-30, b.dtype)
    for _ in range(iterations):
        u = a / (tf.linalg.matmul(v, kernel, transpose_b=True) + tiny)
        v = b / (tf.linalg.matmul(u, kernel) + tiny)
    plan = u[..., :, None] * kernel * v[..., None, :]
    return tf.reduce_sum(plan * cost, axis=[-2, -1])


def unit_sum(x):
    """Clip negatives and normalise each row to unit sum, as the EMD metric does (an empty row stays uniform)."""
    import tensorflow as tf

    x = tf.nn.relu(x) + 1e-9
    return x / tf.reduce_sum(x, axis=-1, keepdims=True)


def sinkhorn_emd_loss(
    layout: str = "4x4x3",
    epsilon: float = DEFAULT_EPSILON,
    iterations: int = DEFAULT_ITERATIONS,
    debiased: bool = False,
) -> Callable:
    """Keras-2 loss ``fn(y_true, y_pred) -> (N,)``: the Sinkhorn EMD of each wafer, averaged over its parts.

    ``debiased``: the Sinkhorn divergence ``W(t, p) - (W(t, t) + W(p, p)) / 2``, exactly 0 on identical
    wafers (three transport problems instead of one). Plain ``W(t, p)`` is > 0 even for ``t == p``
    (the entropic plan spreads mass to neighbours), a constant offset per target that training ignores.
    """
    import tensorflow as tf

    if not epsilon >= MIN_EPSILON or int(iterations) < 1:
        raise ConfigError(
            f"sinkhorn loss needs epsilon >= {MIN_EPSILON} (float32 underflow below) and iterations >= 1, "
            f"got epsilon {epsilon}, iterations {iterations}",
            f"set train.emd_epsilon >= {MIN_EPSILON} and train.emd_iterations >= 1",
        )
    shape = arrangement_shape(layout)  # ConfigError on an unknown layout
    n_pix = int(np.prod(shape))
    idx = tf.constant(tc_pixel_index(layout), dtype=tf.int32)
    cost = tf.constant(ground_distance(), dtype=tf.float32)

    def loss(y_true, y_pred):
        y_pred = tf.convert_to_tensor(y_pred)
        y_true = tf.cast(y_true, y_pred.dtype)
        n = tf.shape(y_pred)[0]
        t = unit_sum(tf.gather(tf.reshape(y_true, (n, -1, n_pix)), idx, axis=-1))  # (N, parts, 48)
        p = unit_sum(tf.gather(tf.reshape(y_pred, (n, -1, n_pix)), idx, axis=-1))
        c = tf.cast(cost, p.dtype)
        per_wafer = sinkhorn_cost(t, p, c, epsilon, int(iterations))
        if debiased:
            self_t = sinkhorn_cost(t, t, c, epsilon, int(iterations))
            self_p = sinkhorn_cost(p, p, c, epsilon, int(iterations))
            per_wafer = per_wafer - 0.5 * (self_t + self_p)
        return tf.reduce_mean(per_wafer, axis=-1)

    loss.__name__ = f"sinkhorn_{layout.replace('x', '_')}"
    return loss
