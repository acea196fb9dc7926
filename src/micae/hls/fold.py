"""Rewrite what hls4ml cannot parse into layers it converts exactly: the eLink tail.

The tail ``minimum(floor(z * 2**k) / 2**k, bound)`` is a chain of ``TFOpLambda``
layers, which hls4ml does not read. On the output grid ``2**-f`` it is: floor,
then clip at ``hi`` (codes). With ``D = 2**n - 1 - hi`` (``n`` bits span the
codes ``[lo, hi]``), ``z + D`` saturated into ``ufixed<n, n-f, TRN, SAT>`` is
exactly ``floor(z) + D`` clipped at ``hi + D``; subtracting ``D`` again gives
the tail. Both steps are ``BatchNormalization`` layers with scale 1 (epsilon and
variance chosen so ``sqrt(var + eps)`` is exactly 1) and micae's explicit
precisions; without a clip one linear ``Activation`` with a truncating,
saturating result type is enough.
"""

from __future__ import annotations

import math

import numpy as np

from micae.errors import ConstraintError
from micae.fixed.graph import IntegerEncoder
from micae.fixed.types import FixedType
from micae.hls.precision import hls_precision

EPS = 2.0**-10


def tail_layers(keras_model) -> list:
    """The trailing ``TFOpLambda`` layers of a chain model."""
    layers = list(keras_model.layers)
    k = len(layers)
    while k > 0 and type(layers[k - 1]).__name__ == "TFOpLambda":
        k -= 1
    return layers[k:]


def _net_scale(keras_model, tail: list) -> float:
    from micae.graph.chain import _model_nodes

    scale = 1.0
    for layer in tail:
        fn = layer.get_config().get("function")
        nodes = _model_nodes(keras_model, layer)
        node = nodes[0] if nodes else layer.inbound_nodes[-1]
        consts = [v for v in list(node.call_args)[1:] + list(node.call_kwargs.values()) if isinstance(v, (int, float))]
        if fn == "math.multiply":
            scale *= consts[0]
        elif fn == "math.truediv":
            scale /= consts[0]
    return scale


def _constant(keras_model, layer) -> float:
    from micae.graph.chain import _model_nodes

    nodes = _model_nodes(keras_model, layer)
    node = nodes[0] if nodes else layer.inbound_nodes[-1]
    consts = [v for v in list(node.call_args)[1:] + list(node.call_kwargs.values()) if isinstance(v, (int, float))]
    return float(consts[0])


def _offset_layer(keras_model, encoder: IntegerEncoder, layer, x):
    """A mid-chain ``x + c`` (micae's trainable eLink tail) as a scale-1 BatchNormalization."""
    fn = layer.get_config().get("function")
    if fn not in ("math.add", "math.subtract", "__operators__.add"):
        raise ConstraintError(
            f"layer '{layer.name}' (TF op {fn}) sits inside the encoder; hls4ml cannot convert it there",
            "keep floor/minimum/scaling at the end of the encoder (the eLink tail)",
        )
    value = _constant(keras_model, layer) * (-1 if fn == "math.subtract" else 1)
    types = dict(zip([s.name for s in encoder.stages], encoder.stage_input_types()))
    stage = next(s for s in encoder.stages if s.name == layer.name)
    result = hls_precision(stage.acc_type(types[layer.name]))
    return _bias_layer(x, layer.name.replace(".", "_"), value, result, stage.bias_frac)


def fold_tail(keras_model, encoder: IntegerEncoder) -> tuple[object, dict[str, dict[str, str]]]:
    """``(model hls4ml can convert, precisions of the layers added)``; the model itself when there is no TF op."""
    import tensorflow as tf

    tail = tail_layers(keras_model)
    if not any(type(layer).__name__ == "TFOpLambda" for layer in keras_model.layers):
        return keras_model, {}
    if not tail:
        tail_start = len(keras_model.layers)
    else:
        tail_start = len(keras_model.layers) - len(tail)
    if tail and _net_scale(keras_model, tail) != 1.0:
        raise ConstraintError(
            f"the output tail of '{encoder.name}' scales the latent; hls4ml can only take floor/minimum tails",
            "write it as minimum(floor(z * 2**k) / 2**k, bound)",
        )
    q = encoder.stages[-1].quantizer
    out, f = encoder.latent_type, encoder.latent_type.frac
    lo, hi = q.lo_code, q.hi_code
    natural_lo = out.min_int if q.clip is None or q.clip[0] <= out.min_int else None
    n = FixedType.holding(0, hi - lo, f, signed=False).width  # bits that span the codes [lo, hi]
    offset = (1 << n) - 1 - hi
    if natural_lo is None and lo + offset != 0:
        raise ConstraintError(
            f"the output tail of '{encoder.name}' clips at both ends ({lo}, {hi}), which hls4ml cannot express",
            "clip with minimum only, or make the clipped range a power of two",
        )
    base = keras_model.layers[tail_start - 1].name
    x_in = tf.keras.Input(shape=keras_model.input_shape[1:], name=keras_model.layers[0].name)
    x = x_in
    precisions: dict[str, dict[str, str]] = {}
    for layer in keras_model.layers[1:tail_start]:
        if type(layer).__name__ == "TFOpLambda":
            x, prec = _offset_layer(keras_model, encoder, layer, x)
            precisions.update(prec)
        else:
            x = layer(x)
    if not tail:
        pass
    elif q.clip is None or hi >= out.max_int:
        name = f"{base}_trunc"
        x = tf.keras.layers.Activation("linear", name=name)(x)
        precisions[name] = {"result": hls_precision(out, q.rounding)}
    else:
        shifted = FixedType(n, f, False)
        x, p1 = _bias_layer(x, f"{base}_elink_shift", offset * 2.0**-f, hls_precision(shifted, q.rounding), f)
        x, p2 = _bias_layer(x, f"{base}_elink_unshift", -offset * 2.0**-f, hls_precision(out), f)
        precisions.update(p1)
        precisions.update(p2)
    return tf.keras.Model(x_in, x, name=keras_model.name), precisions


def _bias_layer(x, name: str, bias: float, result: str, frac: int):
    """``x + bias`` as a BatchNormalization with scale exactly 1."""
    import tensorflow as tf

    n = int(x.shape[-1])
    bn = tf.keras.layers.BatchNormalization(epsilon=EPS, name=name)
    y = bn(x)
    bn.set_weights(
        [
            np.ones(n, np.float32),
            np.full(n, bias, np.float32),
            np.zeros(n, np.float32),
            np.full(n, 1.0 - EPS, np.float32),
        ]
    )
    code = int(round(abs(bias) * 2.0**frac))
    bias_t = FixedType.holding(0, code, frac, signed=True, symmetric=True)
    if not math.isclose(bias_t.to_float(np.array([code]))[0], abs(bias)):
        raise AssertionError("offset off its grid")
    return y, {name: {"scale": "ufixed<1,1>", "bias": hls_precision(bias_t), "result": result}}
