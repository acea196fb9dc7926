"""Exact hls4ml precisions from the integer model: hls4ml's layer names and precision strings.

hls4ml's own inference is close but not exact: ``keep_negative=False``
quantizers come out signed and one fractional bit short, and zero biases get
odd minimal types. micae knows every type exactly (each stage kind's precision
rule, :mod:`micae.fixed.ops`, recorded per Keras layer as
:class:`~micae.fixed.ops.LayerTypes`), so it writes all of them: the input,
weights, biases, lossless accumulators, and the quantizers with ``RND_CONV``
(half-even, as ``tf.round``) or ``TRN`` (``tf.math.floor``) and ``SAT``.
"""

from __future__ import annotations

from collections.abc import Iterator

from micae.fixed.graph import IntegerEncoder
from micae.fixed.ops import LayerTypes
from micae.fixed.types import FixedType

ROUNDING_MODES = {"half_even": "RND_CONV", "floor": "TRN"}
"""micae's rounding -> ap_fixed's quantization mode (a quantizer's result also saturates: ``SAT``)."""


def hls_precision(t: FixedType, rounding: str | None = None) -> str:
    """hls4ml precision string: ``fixed<9,3,RND_CONV,SAT>`` for a quantizer's result (``rounding`` given),
    ``fixed<9,3>`` (truncate, wrap) for values that pass through."""
    base = "fixed" if t.signed else "ufixed"
    if rounding is None:
        return f"{base}<{t.width},{t.integer}>"
    return f"{base}<{t.width},{t.integer},{ROUNDING_MODES[rounding]},SAT>"


def layer_precisions(encoder: IntegerEncoder) -> Iterator[tuple[str, bool, dict[str, str]]]:
    """``(Keras layer name, is its own quantizer, hls4ml Precision entry)`` for every layer.

    A layer with weights also gets ``<name>_linear``: hls4ml splits a layer's own
    activation off as a linear layer that carries the accumulator.
    """
    for types in encoder.tensor_types():
        prec = _entry(types)
        yield types.layer, types.own_quantizer, prec
        if types.weight is not None:
            yield f"{types.layer}_linear", False, {"result": prec["result"]}


def _entry(types: LayerTypes) -> dict[str, str]:
    prec: dict[str, str] = {}
    if types.weight is not None:
        prec["weight"] = hls_precision(types.weight)
    if types.accum is not None:
        prec["accum"] = hls_precision(types.accum)
    prec["result"] = hls_precision(types.result, types.rounding)
    if types.bias is not None:
        prec["bias"] = hls_precision(types.bias)
    return prec


def apply_precisions(hls_config: dict, encoder: IntegerEncoder, input_layer: str) -> dict:
    """Overwrite every precision hls4ml would otherwise infer; returns the config."""
    layers = hls_config.setdefault("LayerName", {})
    input_prec = hls_precision(encoder.input_type, "half_even")
    layers.setdefault(input_layer, {}).setdefault("Precision", {})["result"] = input_prec
    for name, own, prec in layer_precisions(encoder):
        if own:  # a QConv2D/QDense's own quantizer: hls4ml makes it a layer "<name>_<activation>"
            targets = [k for k in layers if k.startswith(f"{name}_") and k != f"{name}_linear"]
        else:
            targets = [name] if name in layers else []
        for target in targets:
            entry = layers[target].setdefault("Precision", {})
            if not isinstance(entry, dict):
                entry = layers[target]["Precision"] = {}
            entry.update(prec)
    return hls_config
