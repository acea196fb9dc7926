"""Training losses for MICAE outputs of shape (H, W, N*C)."""

from __future__ import annotations


def make_loss(name: str, layout: str, n_parts: int, channels: int):
    """``mse``, or the ECON-T telescope loss applied to each of the N parts and averaged."""
    if name == "mse":
        return "mse"
    import tensorflow as tf

    from micae.metrics.telescope import telescope_loss

    if layout not in ("4x4x3", "8x8"):
        from micae.errors import ConfigError

        raise ConfigError(
            f"the telescope loss needs an HGCAL layout, not {layout!r}", "use --loss mse for this dataset"
        )
    single = telescope_loss(layout)

    def telescope_parts(y_true, y_pred):
        losses = [
            single(y_true[..., i * channels : (i + 1) * channels], y_pred[..., i * channels : (i + 1) * channels])
            for i in range(n_parts)
        ]
        return tf.add_n(losses) / float(n_parts)

    return telescope_parts
