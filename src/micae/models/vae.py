"""The two-head VAE encoder of training, around the hardware encoder.

The hardware encoder (``build_encoder``: ... -> QDense ``dense`` -> ``latent_quant``) *is* the mean head:
its quantized latent is the posterior mean, the one thing the chip computes and sends. A log-variance
head, a float ``Dense`` named ``logvar``, branches off the same features (the input of ``dense``) and
exists only in training. Both heads share every layer before the branch, so training the VAE trains
the hardware encoder in place and ``encoder.h5`` needs no conversion.
"""

from __future__ import annotations

LOGVAR_NAME = "logvar"
VAE_ENCODER_FILE = "vae_encoder.h5"
"""Saved beside ``encoder.h5``: the trained two-head encoder (outputs: mean, log-variance)."""


def build_vae_encoder(encoder, *, name: str = "vae_encoder", seed: int | None = None):
    """``encoder`` (mean head) plus a log-variance head on the features of its ``dense`` layer.

    Returns a Keras model with outputs ``[mean, logvar]``; its layers are ``encoder``'s own (shared) plus
    ``logvar``. The head starts at zero weights, so training begins from unit posterior variance.
    """
    import tensorflow as tf

    features = encoder.get_layer("dense").input
    logvar = tf.keras.layers.Dense(
        int(encoder.output_shape[-1]),
        kernel_initializer=tf.keras.initializers.RandomNormal(stddev=1e-3, seed=seed),
        bias_initializer="zeros",
        name=LOGVAR_NAME,
    )(features)
    return tf.keras.Model(encoder.input, [encoder.output, logvar], name=name)


def reparameterize_layer(seed: int | None = None):
    """A layer ``[mean, logvar] -> z``: ``mean + exp(logvar / 2) * eps`` in training, ``mean`` otherwise."""
    import tensorflow as tf

    class Reparameterize(tf.keras.layers.Layer):
        def call(self, inputs, training=None):
            mean, logvar = inputs
            if not training:
                return mean
            eps = tf.random.normal(tf.shape(mean), seed=seed)
            return mean + tf.exp(0.5 * logvar) * eps

    return Reparameterize(name="reparameterize")


def build_vae_micae(vae_encoder, decoder, n_inputs: int, kl_layer, *, seed: int | None = None, name: str = "vae_micae"):
    """The VAE training model: every input through the SAME two-head encoder (tied weights), a sample per
    part, the samples concatenated and decoded together. ``kl_layer([means, logvars])`` adds the KL term
    (see :mod:`micae.train.objectives`) and passes ``means`` through."""
    import tensorflow as tf

    shape = tuple(vae_encoder.input_shape[1:])
    inputs = [tf.keras.Input(shape=shape, name=f"part_{i}") for i in range(n_inputs)]
    heads = [vae_encoder(x) for x in inputs]
    if n_inputs == 1:
        mean, logvar = heads[0]
    else:
        mean = tf.keras.layers.Concatenate(name="means")([h[0] for h in heads])
        logvar = tf.keras.layers.Concatenate(name="logvars")([h[1] for h in heads])
    mean = kl_layer([mean, logvar])
    z = reparameterize_layer(seed)([mean, logvar])
    return tf.keras.Model(inputs, decoder(z), name=name)
