"""Small QKeras encoders in the shapes real users train (the CMS ECON-T CAE and variants), random weights."""

from __future__ import annotations

import numpy as np


def _randomize(model, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws and type(layer).__name__ != "BatchNormalization":
            layer.set_weights([rng.uniform(-1, 1, size=w.shape).astype(np.float32) for w in ws])


def _q6():
    from qkeras import quantized_bits

    return quantized_bits(6, 0, alpha=1)


def cae_layers(x, *, tail_bits: int | None = None, filters: int = 8, latent: int = 16):
    """nswood/ECON_QAE's CAE encoder: signed 8-bit input, pad bottom/right, 3x3 stride-2 valid conv."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits

    x = QActivation(quantized_bits(8, 1), name="in_q")(x)
    x = tf.keras.layers.ZeroPadding2D(((0, 1), (0, 1)), name="pad")(x)
    x = QConv2D(filters, 3, strides=2, padding="valid", kernel_quantizer=_q6(), bias_quantizer=_q6(), name="conv")(x)
    x = QActivation(quantized_bits(8, 1), name="conv_act")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = QDense(latent, kernel_quantizer=_q6(), bias_quantizer=_q6(), name="dense")(x)
    z = QActivation(quantized_bits(9, 1), name="latent")(x)
    if tail_bits:
        b = tail_bits
        z = tf.math.floor(z * 2 ** (b - 1)) / 2 ** (b - 1)
        z = tf.math.minimum(z, 1 - 2.0 ** -(b - 1))
    return z


def cae(seed: int = 0, *, tail_bits: int | None = None, conditions: bool = False, **kw):
    """The CAE; ``conditions``: inside a conditional model (eta and wafer type join after the latent)."""
    import tensorflow as tf

    x_in = tf.keras.Input((8, 8, 1), name="wafer")
    z = cae_layers(x_in, tail_bits=tail_bits, **kw)
    if not conditions:
        model = tf.keras.Model(x_in, z, name="cae")
    else:
        eta = tf.keras.Input((1,), name="eta")
        wtype = tf.keras.Input((1,), name="wafer_type")
        joined = tf.keras.layers.Concatenate(name="with_conditions")([z, eta, wtype])
        h = tf.keras.layers.Dense(32, activation="relu", name="dec_dense")(joined)
        out = tf.keras.layers.Reshape((8, 8, 1), name="dec_out")(tf.keras.layers.Dense(64, name="dec_px")(h))
        model = tf.keras.Model([x_in, eta, wtype], out, name="conditional_cae")
    _randomize(model, seed)
    return model


def two_conv(seed: int = 1):
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

    x_in = tf.keras.Input((6, 6, 2), name="img")
    x = QActivation(quantized_bits(6, 1, keep_negative=False), name="in_q")(x_in)
    x = QConv2D(4, 3, padding="same", kernel_quantizer=_q6(), bias_quantizer=_q6(), name="conv1")(x)
    x = QActivation(quantized_relu(6, 2), name="act1")(x)
    x = tf.keras.layers.Cropping2D(((0, 1), (1, 0)), name="crop")(x)
    x = QConv2D(4, 2, strides=2, padding="valid", kernel_quantizer=_q6(), bias_quantizer=_q6(), name="conv2")(x)
    x = QActivation(quantized_bits(7, 2), name="act2")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = tf.keras.layers.Dropout(0.1, name="drop")(x)
    x = QDense(6, kernel_quantizer=_q6(), bias_quantizer=_q6(), name="dense")(x)
    z = QActivation(quantized_bits(8, 2), name="latent")(x)
    model = tf.keras.Model(x_in, z, name="two_conv")
    _randomize(model, seed)
    return model


def dense_only(seed: int = 2):
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits

    x_in = tf.keras.Input((4, 4, 3), name="cells")
    x = QActivation(quantized_bits(8, 1, keep_negative=False), name="in_q")(x_in)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = QDense(12, kernel_quantizer=_q6(), bias_quantizer=_q6(), name="dense")(x)
    z = QActivation(quantized_bits(9, 2), name="latent")(x)
    model = tf.keras.Model(x_in, z, name="dense_only")
    _randomize(model, seed)
    return model


def pooled(seed: int = 3, pool: str = "max"):
    """conv -> quantizer -> max-pool (or 2x2 average-pool -> quantizer) -> dense."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits

    x_in = tf.keras.Input((6, 6, 1), name="img")
    x = QActivation(quantized_bits(7, 1), name="in_q")(x_in)
    x = QConv2D(4, 3, padding="same", kernel_quantizer=_q6(), bias_quantizer=_q6(), name="conv")(x)
    x = QActivation(quantized_bits(7, 2), name="conv_act")(x)
    if pool == "max":
        x = tf.keras.layers.MaxPooling2D(2, name="pool")(x)
    else:
        x = tf.keras.layers.AveragePooling2D(2, name="pool")(x)
        x = QActivation(quantized_bits(7, 2), name="pool_act")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = QDense(8, kernel_quantizer=_q6(), bias_quantizer=_q6(), name="dense")(x)
    z = QActivation(quantized_bits(9, 2), name="latent")(x)
    model = tf.keras.Model(x_in, z, name=f"{pool}_pooled")
    _randomize(model, seed)
    return model


def small_encoder(block: str, seed: int = 5, *, slope: float = 0.125, bn: dict | None = None):
    """The issue's small encoder, 4x4x3 -> conv 3x3 stride 2 -> dense 16, with one layer of ``block`` kind:

    ``convbn`` (QConv2DBatchnorm), ``relu`` (Keras ReLU layer then quantized_bits), ``act_relu``
    (Activation('relu') then quantized_bits), ``leaky`` (LeakyReLU(slope) then quantized_bits),
    ``bn`` / ``qbn`` (BatchNormalization / QBatchNormalization after the conv, keyword arguments ``bn``).
    """
    import tensorflow as tf
    from qkeras import QActivation, QBatchNormalization, QConv2D, QConv2DBatchnorm, QDense, quantized_bits

    x_in = tf.keras.Input((4, 4, 3), name="cells")
    x = QActivation(quantized_bits(8, 1), name="in_q")(x_in)
    conv = dict(strides=2, padding="same", kernel_quantizer=_q6(), bias_quantizer=_q6())
    if block == "convbn":
        x = QConv2DBatchnorm(4, 3, name="convbn", **conv)(x)
    else:
        x = QConv2D(4, 3, name="conv", **conv)(x)
    if block == "relu":
        x = tf.keras.layers.ReLU(name="relu")(x)
    elif block == "act_relu":
        x = tf.keras.layers.Activation("relu", name="relu")(x)
    elif block == "leaky":
        x = tf.keras.layers.LeakyReLU(alpha=slope, name="leaky")(x)
    elif block == "bn":
        x = tf.keras.layers.BatchNormalization(name="bn", **(bn or {}))(x)
    elif block == "qbn":
        x = QBatchNormalization(name="bn", **(bn or {}))(x)
    x = QActivation(quantized_bits(8, 2), name="conv_act")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = QDense(16, kernel_quantizer=_q6(), bias_quantizer=_q6(), name="dense")(x)
    z = QActivation(quantized_bits(9, 2), name="latent")(x)
    model = tf.keras.Model(x_in, z, name=f"small_{block}")
    _randomize(model, seed)
    if block == "convbn":
        _set_batchnorm(model.get_layer("convbn").batchnorm, seed)
    if block in ("bn", "qbn"):
        _set_batchnorm(model.get_layer("bn"), seed)
    return model


def batchnorm_po2(tf, model):
    """Set ``model``'s BatchNormalization 'bn' to per-channel power-of-two scales (1/2, 2, 1, 1/4) and means and
    betas on short binary grids: the case micae folds exactly. Returns the float32 scales TF computes."""
    bn = model.get_layer("bn")
    var = np.array([0.25, 1.0, 4.0, 1.0], np.float32)
    root = np.asarray(tf.math.sqrt(var + np.float32(bn.epsilon)))
    gamma = np.array([0.5, 2.0, 1.0, 0.25], np.float32) * root
    bn.set_weights([gamma, np.float32([0.25, -0.125, 0.0, 0.5]), np.float32([0.125, 0.0, -0.25, 0.0625]), var])
    return np.asarray(tf.math.rsqrt(var + np.float32(bn.epsilon)) * gamma)


def _set_batchnorm(bn, seed: int) -> None:
    """Trained-looking statistics: gamma ~ 1, beta and mean ~ 0.1, variance ~ 0.5..2 (not powers of two)."""
    rng = np.random.default_rng(seed + 100)
    n = int(bn.moving_mean.shape[0])
    bn.gamma.assign(rng.uniform(0.6, 1.4, n).astype(np.float32))
    bn.beta.assign(rng.uniform(-0.3, 0.3, n).astype(np.float32))
    bn.moving_mean.assign(rng.uniform(-0.3, 0.3, n).astype(np.float32))
    bn.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype(np.float32))
