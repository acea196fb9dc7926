"""MICAE: N inputs share ONE encoder; their latents are concatenated and decoded together."""

from __future__ import annotations


def build_micae(encoder, decoder, n_inputs: int, *, name: str = "micae", module_sum: bool = False):
    """Wire ``n_inputs`` inputs through the same ``encoder`` instance (tied weights).

    The model takes N separate inputs and outputs the reconstruction of their
    channel-wise concatenation, shape (H, W, N*C). A single-input CAE is N=1.
    ``module_sum``: one more input ``module_sum`` (N values: each part's decoded, normalised 5E4M module sum,
    which the ECON-T frame carries beside the latents) joins the latents at the decoder's input; the
    encoder never sees it.
    """
    import tensorflow as tf

    if n_inputs < 1:
        from micae.errors import ConfigError

        raise ConfigError(f"n_inputs = {n_inputs}", "use at least one input")
    shape = tuple(encoder.input_shape[1:])
    inputs = [tf.keras.Input(shape=shape, name=f"part_{i}") for i in range(n_inputs)]
    latents = [encoder(x) for x in inputs]
    z = latents[0] if n_inputs == 1 else tf.keras.layers.Concatenate(name="latents")(latents)
    if module_sum:
        z, sums = with_module_sum(z, n_inputs)
        inputs = [*inputs, sums]
    return tf.keras.Model(inputs, decoder(z), name=name)


MODULE_SUM_INPUT = "module_sum"


MODULE_SUM_CENTRE = 1.5
"""Subtracted from the module sums (in [1, 2) with the chip's normalisation) before they join the latents.
Fed as they are, the decoder trained worse than without them (econt at 2 e-links, 20k wafers, 8 epochs: QAT EMD
1.504 against 1.349); centred, better (1.305; bench/econt_quality.md)."""


def with_module_sum(z, n_inputs: int):
    """``(decoder input, module-sum Input)``: the latents ``z`` with the N module sums appended (centred)."""
    import tensorflow as tf

    sums = tf.keras.Input(shape=(n_inputs,), name=MODULE_SUM_INPUT)
    centred = tf.keras.layers.Rescaling(1.0, offset=-MODULE_SUM_CENTRE, name="module_sum_centred")(sums)
    return tf.keras.layers.Concatenate(name="latents_and_sum")([z, centred]), sums


def concat_parts(x):
    """(samples, N, H, W, C) -> (samples, H, W, N*C): the MICAE target."""
    import numpy as np

    x = np.asarray(x)
    return np.concatenate([x[:, i] for i in range(x.shape[1])], axis=-1)


def split_parts(x):
    """Inputs for a MICAE model: (samples, N, H, W, C) -> list of N arrays."""
    return [x[:, i] for i in range(x.shape[1])]
