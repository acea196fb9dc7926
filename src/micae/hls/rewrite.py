"""Replace the layers hls4ml would convert inexactly by equivalent layers it converts exactly.

A ``BatchNormalization`` / ``QBatchNormalization`` right after a ``QConv2D``/``QDense`` that micae
proved exact (power-of-two scales, offsets on short grids: :mod:`micae.graph.handlers.batchnorm`) is
fused with it: one plain ``Conv2D``/``Dense`` whose weights are the quantized kernel times the scales and
whose bias is ``(bias - mean) * scale + beta``, all exact float32 values; micae's precisions for the
conv/dense (the folded stage's) then hold them. hls4ml would otherwise recompute the scale in float64
(``gamma / sqrt(var + eps)``, a hair off the power of two) and cut it to its default precision.

``QConv2DBatchnorm``: hls4ml parses it as a convolution with the *unfolded* kernel and a separate
batch norm, which is not what QKeras computes. It becomes a ``QConv2D`` holding QKeras's folded,
quantized kernel and bias (codes on the quantizers' grids, so its quantizers leave them unchanged),
with the same name, strides, padding and own quantizer; micae's precisions then apply to it as to
any QConv2D. The QKeras reference latents still come from the user's original layer.
"""

from __future__ import annotations

import numpy as np

REWRITTEN = ("QConv2DBatchnorm", "BatchNormalization", "QBatchNormalization")
BATCHNORMS = ("BatchNormalization", "QBatchNormalization")


def folded_qconv2d(layer):
    """A QConv2D computing what ``layer`` (a QConv2DBatchnorm) computes at inference."""
    from qkeras import QConv2D

    cfg = layer.get_config()
    kernel, bias = (np.asarray(w, dtype=np.float32) for w in layer.get_folded_weights())
    conv = QConv2D(
        int(cfg["filters"]),
        tuple(cfg["kernel_size"]),
        strides=tuple(cfg["strides"]),
        padding=cfg["padding"],
        use_bias=True,
        kernel_quantizer=layer.kernel_quantizer_internal,
        bias_quantizer=layer.bias_quantizer_internal,
        activation=layer.activation,
        name=layer.name,
    )
    weights = [np.asarray(layer.kernel_quantizer_internal(kernel)), np.asarray(layer.bias_quantizer_internal(bias))]
    return conv, weights


def fused_affine(layer, bn):
    """A plain Conv2D/Dense computing ``bn(layer(x))`` exactly (``layer`` a QConv2D/QDense without its own
    quantizer, ``bn`` a batch norm micae accepted as exact)."""
    import tensorflow as tf

    from micae.graph.handlers.batchnorm import FOLD_EXTRA_BITS, approx_fold, batchnorm_constants, inexact_reason
    from micae.models.quantizers import fixed_type_of

    scale, mean, beta = (v.astype(np.float64) for v in batchnorm_constants(bn))
    k_type = fixed_type_of(layer.kernel_quantizer_internal, layer.name)
    codes = k_type.to_int(np.asarray(layer.kernel_quantizer_internal(layer.kernel), dtype=np.float64))
    bias_frac, bias = k_type.frac, np.zeros(codes.shape[-1], dtype=np.int64)
    if layer.use_bias:
        b_type = fixed_type_of(layer.bias_quantizer_internal, layer.name)
        bias_frac = b_type.frac
        bias = b_type.to_int(np.asarray(layer.bias_quantizer_internal(layer.bias), dtype=np.float64))
    if inexact_reason(bn, type(bn).__name__) is None:  # exact: the shifts and offsets in real numbers
        kernel = codes * 2.0**-k_type.frac * scale
        folded_bias = (bias * 2.0**-bias_frac - mean) * scale + beta
    else:  # --fold-batchnorm: the same rounding as the integer model's
        w, b = approx_fold(codes, bias, bias_frac, scale, mean, beta)
        kernel, folded_bias = w * 2.0 ** -(k_type.frac + FOLD_EXTRA_BITS), b * 2.0 ** -(bias_frac + FOLD_EXTRA_BITS)
    weights = [kernel.astype(np.float32), folded_bias.astype(np.float32)]
    if not all(np.array_equal(w.astype(np.float64), v) for w, v in zip(weights, (kernel, folded_bias))):
        raise AssertionError(f"fused weights of '{layer.name}' + '{bn.name}' are not exact in float32")
    cfg = layer.get_config()
    if type(layer).__name__ == "QConv2D":
        fused = tf.keras.layers.Conv2D(
            int(cfg["filters"]),
            tuple(cfg["kernel_size"]),
            strides=tuple(cfg["strides"]),
            padding=cfg["padding"],
            name=layer.name,
        )
    else:
        fused = tf.keras.layers.Dense(int(cfg["units"]), name=layer.name)
    return fused, weights


def exact_layers(keras_model, fuse_batchnorm: bool = True):
    """``keras_model`` with every :data:`REWRITTEN` layer replaced; the model itself when it has none.
    ``fuse_batchnorm``: fuse batch norms (only when micae's integer model, which folds them, exists)."""
    import tensorflow as tf

    from micae.graph.chain import _is_tensor, _model_nodes

    if not any(type(layer).__name__ in REWRITTEN for layer in keras_model.layers):
        return keras_model
    x_in = tf.keras.Input(shape=keras_model.input_shape[1:], name=keras_model.layers[0].name)
    x = x_in
    layers = keras_model.layers[1:]
    for i, layer in enumerate(layers):
        cls = type(layer).__name__
        after = type(layers[i + 1]).__name__ if i + 1 < len(layers) else ""
        if cls == "QConv2DBatchnorm":
            new, weights = folded_qconv2d(layer)
        elif cls in ("QConv2D", "QDense") and after in BATCHNORMS and fuse_batchnorm:
            new, weights = fused_affine(layer, layers[i + 1])
        elif cls in BATCHNORMS and type(layers[i - 1]).__name__ in ("QConv2D", "QDense") and fuse_batchnorm:
            continue  # fused into the layer before
        else:
            node = _model_nodes(keras_model, layer)[0]
            args = [x if _is_tensor(a) else a for a in node.call_args]
            kwargs = {k: (x if _is_tensor(v) else v) for k, v in node.call_kwargs.items()}
            x = layer(*args, **kwargs)
            continue
        x = new(x)
        new.set_weights(weights)
    return tf.keras.Model(x_in, x, name=keras_model.name)
