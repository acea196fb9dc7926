"""Replace the layers hls4ml would convert inexactly by equivalent layers it converts exactly.

``QConv2DBatchnorm``: hls4ml parses it as a convolution with the *unfolded* kernel and a separate
batch norm, which is not what QKeras computes. It becomes a ``QConv2D`` holding QKeras's folded,
quantized kernel and bias (codes on the quantizers' grids, so its quantizers leave them unchanged),
with the same name, strides, padding and own quantizer; micae's precisions then apply to it as to
any QConv2D. The QKeras reference latents still come from the user's original layer.
"""

from __future__ import annotations

import numpy as np

REWRITTEN = ("QConv2DBatchnorm",)


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


def exact_layers(keras_model):
    """``keras_model`` with every :data:`REWRITTEN` layer replaced; the model itself when it has none."""
    import tensorflow as tf

    from micae.graph.chain import _is_tensor, _model_nodes

    if not any(type(layer).__name__ in REWRITTEN for layer in keras_model.layers):
        return keras_model
    x_in = tf.keras.Input(shape=keras_model.input_shape[1:], name=keras_model.layers[0].name)
    x = x_in
    for layer in keras_model.layers[1:]:
        node = _model_nodes(keras_model, layer)[0]
        if type(layer).__name__ == "QConv2DBatchnorm":
            conv, weights = folded_qconv2d(layer)
            x = conv(x)
            conv.set_weights(weights)
            continue
        args = [x if _is_tensor(a) else a for a in node.call_args]
        kwargs = {k: (x if _is_tensor(v) else v) for k, v in node.call_kwargs.items()}
        x = layer(*args, **kwargs)
    return tf.keras.Model(x_in, x, name=keras_model.name)
