"""Exact hls4ml precisions from the integer model.

hls4ml's own inference is close but not exact: ``keep_negative=False``
quantizers come out signed and one fractional bit short, and zero biases get
odd minimal types. micae knows every type exactly, so it writes all of them:
the input, weights, biases, lossless accumulators, and the quantizers with
``RND_CONV`` (half-to-even, as ``tf.round``) and ``SAT``.
"""

from __future__ import annotations

from micae.fixed.graph import IntegerEncoder
from micae.fixed.types import FixedType
from micae.graph.lower import ACTIVATION_SUFFIX  # a layer's own quantizer: hls4ml splits it into "<name>_<act>"


def _weight_type(stage) -> FixedType:
    w = stage.meta["weight_type"]
    return FixedType(width=w["width"], frac=w["frac"], signed=w["signed"])


def _bias_type(stage, in_type: FixedType) -> FixedType:
    """A signed type that holds every bias code exactly at the bias LSB."""
    lo, hi = int(stage.bias.min(initial=0)), int(stage.bias.max(initial=0))
    width = max(abs(lo).bit_length(), abs(hi).bit_length()) + 1
    return FixedType(width=max(width, 2), frac=stage.bias_frac, signed=True)


def exact_precisions(encoder: IntegerEncoder) -> dict[str, dict[str, str]]:
    """hls4ml ``LayerName`` precision entries, keyed by Keras layer name.

    Encoders read from Keras carry the entries their layer handlers wrote (every
    layer, padding and pools included); hand-built ones get them from the stages.
    """
    if encoder.layer_precisions:
        return {name: dict(prec) for name, prec in encoder.layer_precisions}
    out: dict[str, dict[str, str]] = {}
    in_t = encoder.input_type
    out[encoder.input_quantizer_name] = {"result": in_t.hls()}
    for stage, stage_in in zip(encoder.stages, encoder.stage_input_types()):
        acc = stage.acc_type(stage_in).hls_plain()
        out[stage.name] = {
            "weight": _weight_type(stage).hls_plain(),
            "bias": _bias_type(stage, stage_in).hls_plain(),
            "accum": acc,
            "result": acc,
        }
        # hls4ml splits a layer's own activation into "<name>_linear" / "<name>_<act>"
        out[f"{stage.name}_linear"] = {"result": acc}
        out[stage.quantizer_name] = {"result": stage.out.hls()}
    return out


def apply_precisions(hls_config: dict, encoder: IntegerEncoder, input_layer: str) -> dict:
    """Overwrite every precision hls4ml would otherwise infer; returns the config."""
    layers = hls_config.setdefault("LayerName", {})
    layers.setdefault(input_layer, {}).setdefault("Precision", {})["result"] = encoder.input_type.hls()
    for name, prec in exact_precisions(encoder).items():
        if name.endswith(ACTIVATION_SUFFIX):
            base = name[: -len(ACTIVATION_SUFFIX)]
            targets = [k for k in layers if k.startswith(f"{base}_") and k != f"{base}_linear"]
        else:
            targets = [name] if name in layers else []
        for target in targets:
            entry = layers[target].setdefault("Precision", {})
            if not isinstance(entry, dict):
                entry = layers[target]["Precision"] = {}
            entry.update(prec)
    return hls_config
