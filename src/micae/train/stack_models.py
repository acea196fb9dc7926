"""Keras models of a stacked run: per-level decoders and autoencoders, and the chain through all levels.

    inputs -> stage-1 encoders (tied) -> concat -> grid -> stage-2 encoder -> grid -> stage-3 encoder ...
           ... -> stage-K decoder -> ... -> stage-2 decoder -> stage-1 decoder -> inputs

Stacked decoders are small float MLPs (Dense(units, relu) -> Dense(values)) that rebuild the flat
latents of the level below; they run off-detector, so they carry no hardware constraint.
"""

from __future__ import annotations

import numpy as np


def build_level_decoder(
    n_values: int, latent: int, units: int, *, seed: int | None = None, name: str = "stage2_decoder"
):
    """Float Dense(units, relu) -> Dense(n_values): one level's latents -> flat latents of the level below."""
    import tensorflow as tf

    init = tf.keras.initializers.GlorotUniform(seed=seed)
    prefix = name.removesuffix("_decoder").replace("stage", "s")
    z = tf.keras.Input(shape=(latent,), name=f"{name.removesuffix('_decoder')}_latents")
    h = tf.keras.layers.Dense(units, activation="relu", kernel_initializer=init, name=f"{prefix}_dense")(z)
    out = tf.keras.layers.Dense(n_values, kernel_initializer=init, name=f"{prefix}_out")(h)
    return tf.keras.Model(z, out, name=name)


def build_level_autoencoder(encoder, decoder, *, name: str = "stage2_ae"):
    """The level's input grid -> flat reconstruction of the same latents (the ``loss: latent`` model)."""
    import tensorflow as tf

    x = tf.keras.Input(shape=tuple(encoder.input_shape[1:]), name=f"{name}_grid")
    return tf.keras.Model(x, decoder(encoder(x)), name=name)


def build_chain(encoder1, decoder1, levels: list[tuple], n_parts: int, *, name: str = "stacked_micae"):
    """inputs -> stage 1 -> every stacked ``(encoder, decoder)`` in ``levels`` (bottom up) -> back down to inputs.

    Each stacked encoder reads the flat latents below it reshaped to its own input grid.
    """
    import tensorflow as tf

    shape = tuple(encoder1.input_shape[1:])
    inputs = [tf.keras.Input(shape=shape, name=f"part_{i}") for i in range(n_parts)]
    lat = [encoder1(x) for x in inputs]
    z = lat[0] if n_parts == 1 else tf.keras.layers.Concatenate(name="latents")(lat)
    for stage, (encoder, _) in enumerate(levels, start=2):
        grid = tuple(encoder.input_shape[1:])
        z = tf.keras.layers.Reshape(grid, name="latent_grid" if stage == 2 else f"stage{stage}_grid")(z)
        z = encoder(z)
    for _, decoder in reversed(levels):
        z = decoder(z)
    return tf.keras.Model(inputs, decoder1(z), name=name)


def level_latents(encoders: list, z1: np.ndarray) -> list[np.ndarray]:
    """Stage-1 latent grids ``z1`` -> the input grid of every stacked level, plus the top level's flat latents.

    ``out[i]`` is what ``encoders[i]`` reads; ``out[-1]`` (samples, latents) is the top output.
    """
    grids = [np.asarray(z1, dtype=np.float32)]
    for i, encoder in enumerate(encoders):
        z = np.asarray(encoder.predict(grids[-1], batch_size=4096, verbose=0), dtype=np.float32)
        if i + 1 < len(encoders):
            z = z.reshape(len(z), *encoders[i + 1].input_shape[1:])
        grids.append(z)
    return grids


def set_trainable(models: list, trainable: bool) -> None:
    for model in models:
        model.trainable = trainable
