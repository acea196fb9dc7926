"""Decoder: Dense -> Reshape -> Conv2DTranspose stack, reconstructing N concatenated inputs."""

from __future__ import annotations

from micae.models.spec import DecoderSpec


def build_decoder(
    spec: DecoderSpec,
    latent_size: int,
    output_shape: tuple[int, int, int],
    *,
    name: str = "decoder",
    seed: int | None = None,
):
    """Map ``latent_size`` values to an ``output_shape`` (H, W, N*C) image.

    Float: Dense -> Reshape -> Conv2DTranspose (x2) -> Conv2DTranspose. Quantized (QKeras):
    the transposed convolutions become UpSampling2D + QConv2D (see below).

    The first transposed convolution doubles the resolution of a half-size
    feature map; a crop fixes odd sizes.
    """
    import tensorflow as tf

    h, w, c = output_shape
    h2, w2 = -(-h // 2), -(-w // 2)
    init = tf.keras.initializers.GlorotUniform(seed=seed)
    z = tf.keras.Input(shape=(latent_size,), name="latents")
    if spec.quantized:
        # QKeras 0.9's QConv2DTranspose is broken on TF 2.15 (it calls array_ops.stack, which is
        # gone), so the quantized decoder upsamples and convolves instead: same shapes, same reach.
        from qkeras import QActivation, QConv2D, QDense

        wq = spec.weight.qkeras()
        x = QDense(
            h2 * w2 * spec.filters, kernel_quantizer=wq, bias_quantizer=wq, kernel_initializer=init, name="dec_dense"
        )(z)
        x = QActivation(spec.activation.qkeras(), name="dec_dense_act")(x)
        x = tf.keras.layers.Reshape((h2, w2, spec.filters), name="dec_reshape")(x)
        x = tf.keras.layers.UpSampling2D(2, name="dec_upsample")(x)
        x = QConv2D(
            spec.filters,
            spec.kernel,
            padding="same",
            kernel_quantizer=wq,
            bias_quantizer=wq,
            kernel_initializer=init,
            name="dec_upconv",
        )(x)
        x = QActivation(spec.activation.qkeras(), name="dec_upconv_act")(x)
        x = QConv2D(
            c,
            spec.kernel,
            padding="same",
            kernel_quantizer=wq,
            bias_quantizer=wq,
            kernel_initializer=init,
            name="dec_out",
        )(x)
    else:
        x = tf.keras.layers.Dense(h2 * w2 * spec.filters, activation="relu", kernel_initializer=init, name="dec_dense")(
            z
        )
        x = tf.keras.layers.Reshape((h2, w2, spec.filters), name="dec_reshape")(x)
        x = tf.keras.layers.Conv2DTranspose(
            spec.filters,
            spec.kernel,
            strides=2,
            padding="same",
            activation="relu",
            kernel_initializer=init,
            name="dec_upconv",
        )(x)
        x = tf.keras.layers.Conv2DTranspose(
            c, spec.kernel, strides=1, padding="same", kernel_initializer=init, name="dec_out"
        )(x)
    if 2 * h2 != h or 2 * w2 != w:
        x = tf.keras.layers.Cropping2D(((0, 2 * h2 - h), (0, 2 * w2 - w)), name="dec_crop")(x)
    if spec.output_activation != "linear":
        x = tf.keras.layers.Activation(spec.output_activation, name="dec_out_act")(x)
    return tf.keras.Model(z, x, name=name)
