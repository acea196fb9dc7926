"""The shallow QKeras encoder: Input -> Q -> QConv2D -> Q -> Flatten -> QDense -> Q."""

from __future__ import annotations

from micae.models.constraints import check_encoder_spec
from micae.models.spec import EncoderSpec

# Layer names are part of the interface: HLS precision overrides and reports use them.
# No layer may be called "input" (hls4ml reserves it).
INPUT_NAME = "enc_in"
LAYER_NAMES = ("in_quant", "conv", "conv_act", "flatten", "dense", "latent_quant")


def build_encoder(spec: EncoderSpec, *, min_compression: float = 3.0, name: str = "encoder", seed: int | None = None):
    """Build the quantized encoder after checking the hardware constraints."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense

    check_encoder_spec(spec, min_compression)
    init = tf.keras.initializers.GlorotUniform(seed=seed)
    x_in = tf.keras.Input(shape=spec.input_shape, name=INPUT_NAME)
    x = QActivation(spec.input_quant.qkeras(), name="in_quant")(x_in)
    x = QConv2D(
        spec.filters,
        spec.kernel,
        strides=spec.strides,
        padding=spec.padding,
        kernel_quantizer=spec.conv_weight.qkeras(),
        bias_quantizer=spec.conv_bias.qkeras(),
        kernel_initializer=init,
        name="conv",
    )(x)
    x = QActivation(spec.conv_act.qkeras(), name="conv_act")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    x = QDense(
        spec.latent,
        kernel_quantizer=spec.dense_weight.qkeras(),
        bias_quantizer=spec.dense_bias.qkeras(),
        kernel_initializer=init,
        name="dense",
    )(x)
    x = QActivation(spec.latent_quant.qkeras(), name="latent_quant")(x)
    return tf.keras.Model(x_in, x, name=name)


def build_float_encoder(spec: EncoderSpec, *, name: str = "float_encoder", seed: int | None = None):
    """The unquantized twin: same shape, float weights and activations."""
    import tensorflow as tf

    init = tf.keras.initializers.GlorotUniform(seed=seed)
    act = "relu" if spec.conv_act.relu else "linear"
    x_in = tf.keras.Input(shape=spec.input_shape, name=INPUT_NAME)
    x = tf.keras.layers.Conv2D(
        spec.filters,
        spec.kernel,
        strides=spec.strides,
        padding=spec.padding,
        activation=act,
        kernel_initializer=init,
        name="conv",
    )(x_in)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    lat_act = "relu" if spec.latent_quant.relu else "linear"
    x = tf.keras.layers.Dense(spec.latent, activation=lat_act, kernel_initializer=init, name="dense")(x)
    return tf.keras.Model(x_in, x, name=name)
