"""Batch normalisation: QKeras's folded QConv2DBatchnorm, and BatchNormalization / QBatchNormalization.

``QConv2DBatchnorm`` computes, at inference (``training=False``, both folding modes and any
``ema_freeze_delay``: the moving statistics are used), ``conv(x, Qk(inv * kernel)) + Qb(inv * (bias -
moving_mean) + beta)`` with ``inv = rsqrt(moving_variance + epsilon) * gamma`` in float32. The folded,
quantized kernel and bias are integer codes on their quantizers' grids: an ordinary affine stage. They
are taken from the layer's own ``get_folded_weights`` (the same float32 ops, in the same order, as its
``call``) through its own quantizers.

A separate batch norm is ``y = x * s + (beta - mean * s)`` in float32 with ``s = rsqrt(var + eps) * gamma``.
It is exact when ``s`` is a power of two for every channel (a shift) and ``mean`` and ``beta`` are
short binary fractions: every product and sum is then a dyadic number, and when the accumulator that
holds them (the guard checks it) fits float32's 24-bit mantissa, no float32 operation rounds. It is then
folded into the pending conv/dense before its quantizer. Anything else is refused, with the fix.
"""

from __future__ import annotations

import numpy as np

from micae.errors import ConstraintError
from micae.graph.handlers.affine import _codes, lower_kernel
from micae.graph.registry import handler


@handler("QConv2DBatchnorm")
def q_conv_batchnorm(step, low) -> None:
    layer = step.layer
    low.need_input_quantizer(step.name, step.cls)
    cfg = layer.get_config()
    for key, want, fix in (
        ("data_format", "channels_last", "use channels_last"),
        ("dilation_rate", (1, 1), "use dilation_rate=1"),
    ):
        value = tuple(cfg[key]) if isinstance(cfg.get(key), (list, tuple)) else cfg.get(key)
        if value not in (want, None):
            raise ConstraintError(f"layer '{step.name}' (QConv2DBatchnorm): {key} {value}", fix)
    for part, quantizer in (("kernel", layer.kernel_quantizer_internal), ("bias", layer.bias_quantizer_internal)):
        if quantizer is None:
            raise ConstraintError(
                f"layer '{step.name}' (QConv2DBatchnorm) has no {part}_quantizer, so its folded {part} stays "
                "float32 and cannot be bit-exact",
                f"set {part}_quantizer=quantized_bits(bits, integer, alpha=1)",
            )
    kernel, bias = (np.asarray(w, dtype=np.float32) for w in layer.get_folded_weights())
    k_type, k_codes = _codes(layer.kernel_quantizer_internal, kernel, f"folded weights of '{step.name}'")
    b_type, b_codes = _codes(layer.bias_quantizer_internal, bias, f"folded bias of '{step.name}'")
    lower_kernel(step, low, "conv2d", k_type, k_codes, b_type, b_codes)
    low.layers[-1] = (step.name, step.cls, "conv2d (batch norm folded)")


def _what(cls: str) -> str:
    return f"{cls}, a QKeras layer" if cls.startswith("Q") else f"{cls}, a Keras layer"


FOLD_FIX = (
    "train the convolution as QConv2DBatchnorm (QKeras folds the batch norm into its quantized weights), "
    "or fold it into the preceding layer with --fold-batchnorm and read the mismatches it reports"
)


def batchnorm_constants(layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(scale, mean, beta)`` per channel, float32, as the layer computes them at inference
    (QBatchNormalization's quantizers applied first)."""
    import tensorflow as tf

    n = int(layer.moving_mean.shape[0])
    values = {
        "gamma": layer.gamma if layer.scale else None,
        "beta": layer.beta if layer.center else None,
        "mean": layer.moving_mean,
        "variance": layer.moving_variance,
    }
    for key, value in values.items():
        q = getattr(layer, f"{key}_quantizer_internal", None)  # QBatchNormalization only
        if value is not None and q is not None:
            values[key] = q(value)
    gamma = tf.ones(n) if values["gamma"] is None else values["gamma"]
    beta = tf.zeros(n) if values["beta"] is None else values["beta"]
    mean, var = values["mean"], values["variance"]
    scale = tf.math.rsqrt(tf.cast(var, tf.float32) + np.float32(layer.epsilon)) * tf.cast(gamma, tf.float32)
    return tuple(np.asarray(v, dtype=np.float32).reshape(n) for v in (scale, mean, beta))


def _binary_frac(value: float, limit: int = 40) -> int | None:
    frac = 0
    while value * 2.0**frac != int(value * 2.0**frac):
        frac += 1
        if frac > limit:
            return None
    return frac


def inexact_reason(layer, cls: str) -> tuple[str, str] | None:
    """``(why, fix)`` when the batch norm cannot be exact for its constants, None when it is exact."""
    what = _what(cls)
    scale, mean, beta = batchnorm_constants(layer)
    for s in scale.astype(np.float64):
        if s <= 0 or np.frexp(s)[0] != 0.5:
            qbn = (
                "keep QBatchNormalization's power-of-two gamma/variance quantizers and set epsilon=1e-10 (below "
                "float32's resolution, so the scale stays a power of two), or "
            )
            return (
                f"layer '{layer.name}' ({what}): its scale gamma/sqrt(variance + epsilon) = {s:.7g} is not a power "
                "of two, so the float32 product rounds and no fixed-point circuit reproduces it bit for bit",
                (qbn if cls == "QBatchNormalization" else "") + FOLD_FIX,
            )
    for label, values in (("moving mean", mean), ("beta", beta)):
        bad = [float(v) for v in values if _binary_frac(float(v)) is None]
        if bad:
            return (
                f"layer '{layer.name}' ({what}): its {label} {bad[0]!r} is not a short binary fraction, so adding "
                "it rounds in float32",
                "quantize it (QBatchNormalization mean_quantizer/beta_quantizer=quantized_bits(...)), or " + FOLD_FIX,
            )
    return None


FOLD_EXTRA_BITS = 4
"""``--fold-batchnorm`` keeps the folded weights and bias this many bits finer than the layer's own grids."""


def approx_fold(weights: np.ndarray, bias: np.ndarray, bias_frac: int, scale, mean, beta, extra: int = FOLD_EXTRA_BITS):
    """``--fold-batchnorm``: weight codes times the scale and the bias through the batch norm, rounded half to even
    onto grids ``extra`` bits finer than the weights' and the bias's (returned codes are in those units; the last
    axis is the channel)."""
    scale, mean, beta = (np.asarray(v, dtype=np.float64) for v in (scale, mean, beta))
    w = np.rint(np.asarray(weights, dtype=np.float64) * scale * 2.0**extra).astype(np.int64)
    real_bias = (np.asarray(bias, dtype=np.float64) * 2.0**-bias_frac - mean) * scale + beta
    return w, np.rint(real_bias * 2.0 ** (bias_frac + extra)).astype(np.int64)


@handler("BatchNormalization", "QBatchNormalization")
def batch_norm(step, low) -> None:
    layer, name = step.layer, step.name
    what = _what(step.cls)
    axis = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    if len(axis) != 1 or axis[0] not in (-1, len(low.shape)):
        raise ConstraintError(f"layer '{name}' ({what}) normalises axis {axis}, not the channels", "use axis=-1")
    if low.pending is None or not np.array_equal(low.src, np.arange(len(low.src))):
        raise ConstraintError(
            f"layer '{name}' ({what}) does not follow a conv/dense directly, so it cannot join its arithmetic",
            "put the batch norm right after the QConv2D/QDense, or train it as QConv2DBatchnorm",
        )
    scale, mean, beta = batchnorm_constants(layer)
    per_element = np.arange(low.n) % int(low.shape[-1])
    reason = inexact_reason(layer, step.cls)
    if reason is not None:
        if low.folded is None:
            raise ConstraintError(*reason)
        target = low.pending.name
        low.fold_channels(
            name,
            lambda m, b, bf: approx_fold(m, b, bf, scale[per_element], mean[per_element], beta[per_element]),
            FOLD_EXTRA_BITS,
        )
        low.folded.append(f"{reason[0]}; --fold-batchnorm folded it into '{target}' anyway (not bit-exact)")
        low.layers.append((name, step.cls, f"batch norm folded into '{target}' (inexact, --fold-batchnorm)"))
        return
    powers = np.array([int(np.frexp(s)[1]) - 1 for s in scale.astype(np.float64)])
    low.channel_affine(name, powers[per_element], mean[per_element], beta[per_element])
    low.layers.append((name, step.cls, "batch norm (power-of-two scale, folded)"))
