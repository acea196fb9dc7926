"""The ECON-T "telescope" loss: MSE at three spatial scales of the wafer.

Inputs are model-layout tensors ``(N, H, W, C)`` (or ``(N, n_parts, H, W, C)``)
of an HGCAL arrangement ("4x4x3" or "8x8"). Each wafer is first read back as
its 48 TC values (for "8x8" from the unique mask=1 pixels; repeated pixels
are ignored). Then, with ``d = t - p`` and the amplitude weight
``w = max(|t|, |p|)`` (errors on large deposits cost more, as in the public
ECON-T training), the loss per wafer is

    4 * mean_TC(d^2 w) + 2 * mean_2x2(D^2 W) + mean_4x4(D^2 W)

where the 2x2 and 4x4 terms use sums over TC groups (D, W computed on the
group sums of t and p). Grouping: TC ``i``, ``i+16``, ``i+32`` are the same
position in the three sensor quadrants; inside a quadrant TC ``q*16 + 4*r + c``
sits at row ``r``, column ``c`` of a 4x4 grid (neighbouring grid positions are
neighbouring hexagonal cells). The 2x2 groups are the 9 overlapping 2x2
windows of each quadrant's grid (27 groups), the 4x4 groups the 3 whole
quadrants. Values are used as given: the data pipeline already normalised
each wafer. For ``n_parts > 1`` the per-wafer losses are averaged per sample.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from micae.data.geometry import N_TC, arrangement_shape, tc_pixel_index
from micae.errors import ConfigError

WEIGHTS = (4.0, 2.0, 1.0)  # 1x1, 2x2, 4x4 terms


@lru_cache(maxsize=1)
def group_matrices() -> tuple[np.ndarray, np.ndarray]:
    """``(48, 27)`` 2x2-window and ``(48, 3)`` quadrant membership matrices (float32 0/1)."""
    win = np.zeros((N_TC, 27), dtype=np.float32)
    quad = np.zeros((N_TC, 3), dtype=np.float32)
    g = 0
    for q in range(3):
        quad[q * 16 : (q + 1) * 16, q] = 1
        for r in range(3):
            for c in range(3):
                for dr in (0, 1):
                    for dc in (0, 1):
                        win[q * 16 + 4 * (r + dr) + (c + dc), g] = 1
                g += 1
    return win, quad


def telescope_loss(layout: str = "4x4x3") -> Callable:
    """Keras-2 loss ``fn(y_true, y_pred) -> (N,)`` for the given HGCAL layout."""
    import tensorflow as tf

    shape = arrangement_shape(layout)  # ConfigError on an unknown layout
    n_pix = int(np.prod(shape))
    idx = tf.constant(tc_pixel_index(layout), dtype=tf.int32)
    win, quad = (tf.constant(m) for m in group_matrices())

    def term(t: tf.Tensor, p: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(tf.square(t - p) * tf.maximum(tf.abs(t), tf.abs(p)), axis=-1)

    def loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        y_pred = tf.convert_to_tensor(y_pred)
        y_true = tf.cast(y_true, y_pred.dtype)
        tail = tuple(y_pred.shape[-3:])
        if None not in tail and tail != shape:
            raise ConfigError(
                f"telescope loss for layout {layout!r} expects (..., {', '.join(map(str, shape))}), "
                f"got {tuple(y_pred.shape)}",
                "use the loss of the layout the model outputs",
            )
        n = tf.shape(y_pred)[0]
        t = tf.gather(tf.reshape(y_true, (n, -1, n_pix)), idx, axis=-1)  # (N, parts, 48)
        p = tf.gather(tf.reshape(y_pred, (n, -1, n_pix)), idx, axis=-1)
        w = tf.cast(win, p.dtype)
        qd = tf.cast(quad, p.dtype)
        per_wafer = (
            WEIGHTS[0] * term(t, p)
            + WEIGHTS[1] * term(tf.linalg.matmul(t, w), tf.linalg.matmul(p, w))
            + WEIGHTS[2] * term(tf.linalg.matmul(t, qd), tf.linalg.matmul(p, qd))
        )
        return tf.reduce_mean(per_wafer, axis=-1)

    loss.__name__ = f"telescope_{layout.replace('x', '_')}"
    return loss
