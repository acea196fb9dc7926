"""Keeping a ReLU latent alive while it trains (the ECON-T chip's unsigned latent, ``quantized_relu(9, 1)``).

A ReLU latent whose Dense pre-activation is negative for every input passes no gradient: it is dead for
good, and the link sends code 0 for it forever. At 2 e-links (3-bit latents, step 1/4) this is what happens
to 1-2 of the 16 latents in most seeds (bench/econt_quality.md): the truncation sends 0 for every value below
1/4, so early in training the decoder sees nothing from a latent and the gradient pushes about half of them
down, past 0.

A latent can also stay alive below the first code: with the Dense bias starting at 0.125 and a 3-bit step of
1/4, a short run (4000 wafers, 5 epochs) left one latent sending 0 for every test wafer.

The training model therefore adds, per latent ``j``, ``weight * relu(m - max over the batch of pre_j)``
with ``m`` the transmitted latent's step (1/4 at 2 e-links; the LSB without a cut): zero while any wafer of
the batch sends a non-zero code for ``j``, and a push up on the batch's best wafer once none does. The saved
``encoder.h5`` is the plain encoder (the penalty lives in a training-only wrapper); ``dead_latents`` (history)
counts the latents the penalty acted on.
"""

from __future__ import annotations

from micae.models.spec import EncoderSpec

PRE_ACTIVATION = "dense"
"""The latent Dense of micae's encoders (:data:`micae.models.encoder.LAYER_NAMES`)."""


def liveness_margin(spec: EncoderSpec) -> float:
    """The smallest non-zero value the latent leaves with: the eLink step ``2**-(b-1)``, else the latent's LSB.
    A latent whose pre-activation stays below it on a whole batch sends code 0 for every wafer of it."""
    if spec.output_bits:
        return 2.0 ** -(spec.output_bits - 1)
    return float(spec.latent_quant.fixed_type().lsb)


def applies(spec: EncoderSpec, weight: float) -> bool:
    """The penalty is for ReLU latents (the chip's unsigned latent) and a positive weight."""
    return bool(spec.latent_quant.relu) and weight > 0


def live_encoder(encoder, margin: float, weight: float):
    """A training wrapper of ``encoder`` (same input and output, shared weights) that adds the liveness penalty
    with the margin ``margin`` (:func:`liveness_margin` for the quantized encoder; the float twin has no step)."""
    import tensorflow as tf

    class LivenessPenalty(tf.keras.layers.Layer):
        def call(self, inputs):
            z, pre = inputs
            short = tf.nn.relu(margin - tf.reduce_max(pre, axis=0))
            self.add_loss(weight * tf.reduce_sum(short))
            self.add_metric(tf.reduce_sum(tf.cast(short > 0, tf.float32)), name="dead_latents")
            return z

    pre_model = tf.keras.Model(encoder.input, encoder.get_layer(PRE_ACTIVATION).output, name=f"{encoder.name}_pre")
    x_in = tf.keras.Input(shape=encoder.input_shape[1:], name=f"{encoder.name}_in")
    z = LivenessPenalty(name="liveness")([encoder(x_in), pre_model(x_in)])
    return tf.keras.Model(x_in, z, name=f"{encoder.name}_live")
