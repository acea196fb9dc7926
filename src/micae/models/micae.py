"""MICAE: N inputs share ONE encoder; their latents are concatenated and decoded together."""

from __future__ import annotations


def build_micae(encoder, decoder, n_inputs: int, *, name: str = "micae"):
    """Wire ``n_inputs`` inputs through the same ``encoder`` instance (tied weights).

    The model takes N separate inputs and outputs the reconstruction of their
    channel-wise concatenation, shape (H, W, N*C). A single-input CAE is N=1.
    """
    import tensorflow as tf

    if n_inputs < 1:
        from micae.errors import ConfigError

        raise ConfigError(f"n_inputs = {n_inputs}", "use at least one input")
    shape = tuple(encoder.input_shape[1:])
    inputs = [tf.keras.Input(shape=shape, name=f"part_{i}") for i in range(n_inputs)]
    latents = [encoder(x) for x in inputs]
    z = latents[0] if n_inputs == 1 else tf.keras.layers.Concatenate(name="latents")(latents)
    return tf.keras.Model(inputs, decoder(z), name=name)


def concat_parts(x):
    """(samples, N, H, W, C) -> (samples, H, W, N*C): the MICAE target."""
    import numpy as np

    x = np.asarray(x)
    return np.concatenate([x[:, i] for i in range(x.shape[1])], axis=-1)


def split_parts(x):
    """Inputs for a MICAE model: (samples, N, H, W, C) -> list of N arrays."""
    return [x[:, i] for i in range(x.shape[1])]
