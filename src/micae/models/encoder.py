"""The shallow QKeras encoder: Input -> Q -> [pad] -> [QConv2D -> Q] -> Flatten -> [QDense -> Q]* -> QDense -> Q
[-> eLink tail]. Without the convolution (``EncoderSpec.conv = False``) it is the seed projects' dense encoder."""

from __future__ import annotations

from micae.errors import ConfigError
from micae.models.constraints import check_encoder_spec
from micae.models.quantizers import QuantSpec
from micae.models.spec import EncoderSpec

# Layer names are part of the interface: HLS precision overrides and reports use them.
# No layer may be called "input" (hls4ml reserves it).
INPUT_NAME = "enc_in"
LAYER_NAMES = ("in_quant", "conv", "conv_act", "flatten", "dense", "latent_quant")
"""``conv``/``conv_act`` only when ``spec.conv``; ``pad`` follows ``in_quant`` when ``spec.pad`` is set,
``hidden_<i>``/``hidden_<i>_act`` precede ``dense`` with ``spec.dense_hidden``, TF ops follow with ``output_bits``."""


def elink_output(z, bits: int, latent: QuantSpec):
    """What the chip sends on ``bits``-bit eLinks: the top ``bits`` bits of the latent ``z``, truncated.

    Signed latent: ``minimum(floor(z * 2**(b-1)) / 2**(b-1), 1 - 2**-(b-1))``. Unsigned latent (the ECON-T
    chip's, ``quantized_relu(9, 1)``: 8 fractional bits in [0, 2)): ``floor(z * 2**(b-1)) / 2**(b-1)``,
    step ``2**-(b-1)`` in [0, 2 - 2**-(b-1)]; no ``minimum`` is needed, since the latent quantizer already
    saturates at ``2 - 2**-8`` and the cut keeps its top bits (datapath doc B4).

    Rounding, as micae follows it: the 9-bit latent rounds half-to-even as QKeras does (the ECON-T emulator
    truncates, ``int(OUT * 2**8)``, and the chip's encoder binary is not public), and the top-``b`` cut truncates
    as the chip's formatter does. CMSSW instead rounds to ``2**-b``, one bit finer (datapath doc, open point 2).

    ``tf.math.floor`` has no gradient, so the encoder would not train through it. On
    the latent's grid (``f`` fractional bits, ``f >= b - 1``) the floor equals a
    half-even rounding of ``z - (2**-b - 2**-(f+1))`` (never a tie), which a QKeras
    quantizer computes with its straight-through gradient. micae reads this form
    (a constant subtraction, a quantizer, a minimum) back exactly like the floor form.
    """
    import tensorflow as tf
    from qkeras import QActivation

    f = latent.fixed_type().frac
    if f < bits - 1:
        raise ConfigError(
            f"encoder.output_bits = {bits} keeps more fractional bits ({bits - 1}) than the latent has ({f})",
            f"use output_bits <= {f + 1}, or more latent bits",
        )
    signed = latent.signed and not latent.relu
    out = QuantSpec(bits - 1 + latent.integer + int(signed), latent.integer, signed=signed)
    shift = 2.0**-bits - 2.0 ** -(f + 1)
    y = QActivation(out.qkeras(), name="elink_quant")(z - shift if shift else z)
    if not signed:
        return y  # the unsigned quantizer saturates at 2**integer - 2**-(b-1): the chip's top-b bits
    return tf.math.minimum(y, 1.0 - 2.0 ** -(bits - 1))


def build_encoder(spec: EncoderSpec, *, min_compression: float = 3.0, name: str = "encoder", seed: int | None = None):
    """Build the quantized encoder after checking the hardware constraints."""
    import tensorflow as tf
    from qkeras import QActivation

    masked = 0
    if spec.input_mask:
        from micae.data.geometry import masked_pixels

        masked = masked_pixels(spec.input_mask, spec.input_shape)
    check_encoder_spec(spec, min_compression, masked_inputs=masked)
    init = tf.keras.initializers.GlorotUniform(seed=seed)
    x_in = tf.keras.Input(shape=spec.input_shape, name=INPUT_NAME)
    x = QActivation(spec.input_quant.qkeras(), name="in_quant")(x_in)
    if spec.pad is not None:
        x = tf.keras.layers.ZeroPadding2D(spec.pad, name="pad")(x)
    if spec.conv:
        x = _qconv(spec, init)(x)
        x = QActivation(spec.conv_act.qkeras(), name="conv_act")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(spec.dense_hidden):
        x = _qdense(spec, units, init, f"hidden_{i}")(x)
        x = QActivation(spec.conv_act.qkeras(), name=f"hidden_{i}_act")(x)
    x = _qdense(spec, spec.latent, init, "dense", bias_init=latent_bias_init(spec))(x)
    x = QActivation(spec.latent_quant.qkeras(), name="latent_quant")(x)
    if spec.output_bits:
        x = elink_output(x, spec.output_bits, spec.latent_quant)
    return tf.keras.Model(x_in, x, name=name)


def _qconv(spec: EncoderSpec, init):
    from qkeras import QConv2D

    return QConv2D(
        spec.filters,
        spec.kernel,
        strides=spec.strides,
        padding=spec.padding,
        kernel_quantizer=spec.conv_weight.qkeras(),
        bias_quantizer=spec.conv_bias.qkeras(),
        kernel_initializer=init,
        name="conv",
    )


def _qdense(spec: EncoderSpec, units: int, init, name: str, bias_init: float = 0.0):
    import tensorflow as tf
    from qkeras import QDense

    return QDense(
        units,
        kernel_quantizer=spec.dense_weight.qkeras(),
        bias_quantizer=spec.dense_bias.qkeras(),
        kernel_initializer=init,
        bias_initializer=tf.keras.initializers.Constant(bias_init),
        name=name,
    )


RELU_LATENT_BIAS = 0.125
"""Starting bias of a ReLU (unsigned) latent's Dense: every latent starts alive. With 0, 1-2 of the 16 latents
of the ECON-T encoder at 2 e-links died (ReLU never open, no gradient) in each of 4 seeds; with 0.125 none did
(hgcal-synth, 20k wafers, 8 epochs; bench/econt_quality.md)."""


def latent_bias_init(spec: EncoderSpec) -> float:
    """``spec.latent_bias_init``, else :data:`RELU_LATENT_BIAS` for a ReLU latent and 0 otherwise."""
    if spec.latent_bias_init is not None:
        return float(spec.latent_bias_init)
    return RELU_LATENT_BIAS if spec.latent_quant.relu else 0.0


def build_float_encoder(spec: EncoderSpec, *, name: str = "float_encoder", seed: int | None = None):
    """The unquantized twin: same shape, float weights and activations."""
    import tensorflow as tf

    init = tf.keras.initializers.GlorotUniform(seed=seed)
    act = "relu" if spec.conv_act.relu else "linear"
    x_in = tf.keras.Input(shape=spec.input_shape, name=INPUT_NAME)
    x = tf.keras.layers.ZeroPadding2D(spec.pad, name="pad")(x_in) if spec.pad is not None else x_in
    if spec.conv:
        x = tf.keras.layers.Conv2D(
            spec.filters,
            spec.kernel,
            strides=spec.strides,
            padding=spec.padding,
            activation=act,
            kernel_initializer=init,
            name="conv",
        )(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(spec.dense_hidden):
        x = tf.keras.layers.Dense(units, activation=act, kernel_initializer=init, name=f"hidden_{i}")(x)
    lat_act = "relu" if spec.latent_quant.relu else "linear"
    x = tf.keras.layers.Dense(
        spec.latent,
        activation=lat_act,
        kernel_initializer=init,
        bias_initializer=tf.keras.initializers.Constant(latent_bias_init(spec)),
        name="dense",
    )(x)
    return tf.keras.Model(x_in, x, name=name)
