"""The HGQ front end: an HGQ encoder (high-granularity quantization, the Keras 2 ``HGQ`` 0.2.x) -> ``IntegerEncoder``.

HGQ trains a bit width per weight and per activation element. Its layers (``HQuantize``, ``HConv2D``, ``HDense``,
``HActivation``, the passive ``PFlatten``/``PReshape``/``PDropout``) are read by handlers in the same registry as
the QKeras layers (:mod:`micae.graph.handlers.hgq`); this module recognises an HGQ file, loads it with HGQ's own
classes, and walks the model's layers. The reference of every level is the HGQ model's own ``predict``.

What HGQ computes at inference (``HGQ/quantizer/quantizer.py``, ``training=False``): every quantizer rounds
``x * 2**f`` with ``floor(v + 0.5)`` (half up; ``rnd_strategy='floor'``: ``floor(v)``), ``f = round(fbw)`` per
element, and never saturates: the integer bits HGQ's proxy model uses come from a calibration run
(``trace_minmax``), which the saved file does not keep. So micae derives every width from the input's range
(interval arithmetic: nothing can overflow), and the input's range is the user's to state
(``--input-int-bits``, ``--input-signed``). For hls4ml, :func:`calibrate` writes those exact ranges into HGQ's
min/max records and :func:`proxy_model` builds HGQ's proxy model from them (no WRAP can act).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from micae.errors import ConfigError, ConstraintError
from micae.fixed.graph import IntegerEncoder
from micae.fixed.types import FixedType

HGQ_PREFIX = "HGQ>"
"""How Keras stores a class registered with ``register_keras_serializable(package='HGQ')``."""
HGQ_LAYERS = ("HQuantize", "HConv2D", "HDense", "HConv2DBatchNorm", "HDenseBatchNorm", "HActivation")
HGQ_PASSIVE = ("PFlatten", "PReshape", "PDropout")
HGQ_INSTALL = "pip install --no-deps -c constraints.txt HGQ==0.2.6 (make test does it)"


def hgq_class(cls: str | None) -> str | None:
    """The HGQ class name of a stored ``HGQ>X`` class name, else None."""
    return cls[len(HGQ_PREFIX) :] if cls and cls.startswith(HGQ_PREFIX) else None


def stored_hgq_class(config: dict) -> str | None:
    """The HGQ class of one stored layer config: ``HGQ>X`` in .h5 files, ``registered_name`` in .keras archives."""
    return hgq_class(config.get("class_name")) or hgq_class(config.get("registered_name"))


def uses_hgq(config: dict) -> bool:
    """Whether a stored model config holds an HGQ layer (at any depth)."""
    if stored_hgq_class(config):
        return True
    inner = config.get("config", {})
    return isinstance(inner, dict) and any(uses_hgq(layer) for layer in inner.get("layers", []) or [])


def import_hgq():
    """HGQ itself (it registers its classes with Keras); a one-line error when it is not installed."""
    try:
        import HGQ
    except ImportError:
        raise ConfigError("reading an HGQ model needs the HGQ package (0.2.6, Keras 2)", HGQ_INSTALL) from None
    return HGQ


def is_hgq_model(model) -> bool:
    """Whether a loaded Keras model is built from HGQ layers."""
    return any(type(layer).__module__.startswith("HGQ.") for layer in model.layers)


FLOAT32_MANTISSA_BITS = 24
READ = ("InputLayer", *HGQ_LAYERS, *HGQ_PASSIVE, "Flatten", "Reshape", "Dropout")
"""The layers of an HGQ encoder micae reads (the quantizing ones are HGQ's own: a Keras ReLU or pool between them
would act on codes of per-element grids)."""


def _unsupported(step) -> tuple[str, str]:
    what = "an HGQ layer" if type(step.layer).__module__.startswith("HGQ.") else "a Keras layer"
    return (
        f"layer '{step.name}' ({step.cls}, {what}) is not read in an HGQ encoder; micae reads {', '.join(READ)}",
        "use activation='relu' inside HConv2D/HDense (or an HActivation) and no pooling",
    )


class HgqRead(NamedTuple):
    """What :func:`read_hgq` finds: the integer model, the layers HGQ's float32 cannot sum exactly, and the range
    of every HGQ layer's quantized output, per element, in real units, before its relu (HGQ's calibration form)."""

    encoder: IntegerEncoder
    problems: list[str]
    ranges: dict[str, tuple[np.ndarray, np.ndarray]]


def read_hgq(
    model, name: str, input_mask=None, input_int_bits: int | None = None, input_signed: bool = False
) -> HgqRead:
    """The integer model of an HGQ encoder: each layer's handler, in order, into the lowering.

    The model is taken whole (one input, one output); HGQ layers refuse to be called a second time, so the
    encoder is not replayed on a fresh input like a QKeras model.
    """
    from micae.graph.chain import Step
    from micae.graph.handlers.hgq import align_latent, state
    from micae.graph.lower import Lowering
    from micae.graph.mask import live_columns, load_input_mask
    from micae.graph.registry import get_handler

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ConstraintError(
            f"HGQ model '{model.name}' has {len(model.inputs)} inputs and {len(model.outputs)} outputs",
            "save the HGQ encoder alone (one input, one output)",
        )
    input_shape = tuple(int(v) for v in model.input_shape[1:])
    low = Lowering(input_shape, live_columns(load_input_mask(input_mask, input_shape)))
    hgq = state(low)
    hgq.input_int_bits, hgq.input_signed = input_int_bits, bool(input_signed)
    steps = [Step(layer) for layer in model.layers]
    for step in steps:
        if step.cls != "InputLayer" and len(step.layer.inbound_nodes) != 1:
            raise ConstraintError(
                f"layer '{step.name}' ({step.cls}) is called {len(step.layer.inbound_nodes)} times",
                "save the HGQ encoder as a single path",
            )
        handler = get_handler(step.cls) if step.cls in READ else None
        if handler is None:
            raise ConstraintError(*_unsupported(step))
        handler(step, low)
    align_latent(low, model.layers[-1].name)
    problems = [
        f"layer '{layer}': HGQ sums in float32, and its rounding needs {bits} bits, more than float32's "
        f"{FLOAT32_MANTISSA_BITS}, so HGQ itself rounds them - use fewer weight/input bits"
        for layer, bits in hgq.float_bits.items()
        if bits > FLOAT32_MANTISSA_BITS
    ]
    return HgqRead(low.finish(name), problems, dict(hgq.ranges))


def calibrate(model, ranges: dict[str, tuple[np.ndarray, np.ndarray]], input_type: FixedType) -> bool:
    """Set every HGQ layer's min/max record (what ``trace_minmax`` records from data) to micae's exact ranges: the
    input type's, and every layer's over all inputs of that type. HGQ's proxy model then gets fixed-point types
    that hold every value it can meet, so its WRAP never acts. False when a quantizer keeps no record."""
    import tensorflow as tf

    for layer in model.layers:
        paq = getattr(layer, "paq", None)
        if paq is None:
            continue
        if not hasattr(paq, "_min"):
            return False
        if layer.name in ranges:
            lo, hi = ranges[layer.name]
        else:  # the input quantizer
            lo = np.full(paq._min.shape, input_type.min_value)
            hi = np.full(paq._max.shape, input_type.max_value)
        paq._min.assign(tf.constant(np.reshape(lo, paq._min.shape), tf.float32))
        paq._max.assign(tf.constant(np.reshape(hi, paq._max.shape), tf.float32))
    return True


def proxy_model(model):
    """HGQ's proxy model of a calibrated HGQ model (``FixedPointQuantizer`` layers: what hls4ml reads)."""
    from HGQ import to_proxy_model

    return to_proxy_model(model)
