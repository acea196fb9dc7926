"""Training losses for MICAE outputs of shape (H, W, N*C)."""

from __future__ import annotations

from micae.errors import ConfigError

HGCAL_LOSSES = ("telescope", "sinkhorn")


def _per_part(single, n_parts: int, channels: int):
    """Apply a per-wafer loss to each of the N parts of a (H, W, N*C) output and average."""
    import tensorflow as tf

    def parts(y_true, y_pred):
        losses = [
            single(y_true[..., i * channels : (i + 1) * channels], y_pred[..., i * channels : (i + 1) * channels])
            for i in range(n_parts)
        ]
        return tf.add_n(losses) / float(n_parts)

    return parts


def wafer_sum_term(single, weight: float):
    """``single + weight * (sum(pred) - sum(true))^2`` per wafer.

    The EMD compares shapes only (both wafers normalised to unit sum), so a loss made of it
    leaves the reconstruction's scale free and its MSE arbitrary; this term pins the scale
    without pulling on the shape.
    """
    import tensorflow as tf

    if weight == 0:
        return single

    def loss(y_true, y_pred):
        y_pred = tf.convert_to_tensor(y_pred)
        y_true = tf.cast(y_true, y_pred.dtype)
        axes = list(range(1, len(y_pred.shape)))
        diff = tf.reduce_sum(y_pred, axis=axes) - tf.reduce_sum(y_true, axis=axes)
        return single(y_true, y_pred) + weight * tf.square(diff)

    loss.__name__ = f"{single.__name__}_sum"
    return loss


def make_loss(name: str, layout: str, n_parts: int, channels: int, options: dict | None = None):
    """``mse``; the ECON-T telescope loss; or ``sinkhorn``, a differentiable EMD on the hexagonal geometry
    (:mod:`micae.metrics.sinkhorn`) plus ``sum_weight`` x the squared error of the wafer sum.

    HGCAL losses apply to each of the N parts and are averaged. ``options`` is the run's ``train``
    section (``emd_epsilon``, ``emd_iterations``, ``emd_debiased``, ``sum_weight``; defaults when absent).
    """
    if name == "mse":
        return "mse"
    if name not in HGCAL_LOSSES:
        raise ConfigError(f"loss {name!r} is unknown", f"use mse or one of {HGCAL_LOSSES}")
    if layout not in ("4x4x3", "8x8"):
        raise ConfigError(f"the {name} loss needs an HGCAL layout, not {layout!r}", "use --loss mse for this dataset")
    opts = options or {}
    if name == "telescope":
        from micae.metrics.telescope import telescope_loss

        single = telescope_loss(layout)
    else:
        from micae.metrics.sinkhorn import DEFAULT_EPSILON, DEFAULT_ITERATIONS, sinkhorn_emd_loss

        eps = opts.get("emd_epsilon")
        iters = opts.get("emd_iterations")
        single = sinkhorn_emd_loss(
            layout,
            float(DEFAULT_EPSILON if eps is None else eps),
            int(DEFAULT_ITERATIONS if iters is None else iters),
            debiased=bool(opts.get("emd_debiased", False)),
        )
        weight = opts.get("sum_weight")
        single = wafer_sum_term(single, float(1.0 if weight is None else weight))
    return _per_part(single, n_parts, channels)
