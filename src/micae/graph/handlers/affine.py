"""QConv2D and QDense: exact integer kernels, unrolled into constant matrices (any stride, padding)."""

from __future__ import annotations

import numpy as np

from micae.errors import ConstraintError
from micae.fixed.ops import conv2d_as_matrix
from micae.graph.registry import handler
from micae.models.quantizers import fixed_type_of


def check_conv_form(layer) -> None:
    """The forms micae lowers to one affine stage: channels-last, no dilation, no groups (any front end)."""
    cfg = layer.get_config()
    if cfg.get("data_format", "channels_last") not in ("channels_last", None):
        raise ConstraintError(f"layer '{layer.name}': data_format {cfg['data_format']}", "use channels_last")
    if tuple(cfg.get("dilation_rate", (1, 1))) not in ((1, 1), (1,)):
        raise ConstraintError(f"layer '{layer.name}': dilation {cfg['dilation_rate']}", "use dilation_rate=1")
    if cfg.get("groups", 1) != 1:
        raise ConstraintError(f"layer '{layer.name}': grouped convolution", "use groups=1")


def _check(layer) -> None:
    check_conv_form(layer)
    if layer.kernel_quantizer_internal is None:
        raise ConstraintError(
            f"layer '{layer.name}' has float (unquantized) weights",
            "set kernel_quantizer=quantized_bits(bits, integer, alpha=1)",
        )
    if layer.use_bias and layer.bias_quantizer_internal is None:
        raise ConstraintError(
            f"layer '{layer.name}' has a float (unquantized) bias",
            "set bias_quantizer=quantized_bits(bits, integer, alpha=1) or use_bias=False",
        )


def _codes(quantizer, values, where: str):
    t = fixed_type_of(quantizer, where)
    return t, t.to_int(np.asarray(quantizer(values.astype(np.float32)), dtype=np.float64))


def own_quantizer(layer):
    """The quantizer a QConv2D/QDense applies itself, None for linear, or raise for others."""
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", None)
    if act is None or name == "linear":
        return None
    if hasattr(act, "bits"):
        return act
    raise ConstraintError(
        f"layer '{layer.name}': activation {name or act} is not a QKeras quantizer",
        "remove it and put a QActivation(quantized_relu(...)) or QActivation(quantized_bits(...)) after the layer",
    )


@handler("QConv2D", "QDense")
def q_affine(step, low) -> None:
    layer = step.layer
    low.need_input_quantizer(step.name, step.cls)
    _check(layer)
    k_type, kernel = _codes(layer.kernel_quantizer_internal, layer.kernel.numpy(), f"weights of '{layer.name}'")
    if layer.use_bias:
        b_type, bias = _codes(layer.bias_quantizer_internal, layer.bias.numpy(), f"bias of '{layer.name}'")
    else:
        b_type, bias = None, np.zeros(kernel.shape[-1], dtype=np.int64)
    lower_kernel(step, low, "conv2d" if step.cls == "QConv2D" else "dense", k_type, kernel, b_type, bias)


def lower_kernel(step, low, kind: str, k_type, kernel: np.ndarray, b_type, bias: np.ndarray) -> None:
    """A conv or dense layer with integer ``kernel`` and ``bias`` codes (``b_type`` None: no bias), then the
    layer's own quantizer when it has one."""
    layer = step.layer
    bias_frac = b_type.frac if b_type is not None else k_type.frac
    if kind == "conv2d":
        if len(low.shape) != 3:
            raise ConstraintError(
                f"layer '{layer.name}': {step.cls} on a {len(low.shape)}-D tensor", "reshape to H, W, C"
            )
        cfg = layer.get_config()
        strides = tuple(int(s) for s in cfg["strides"])
        matrix, out_shape, pads = conv2d_as_matrix(kernel, low.shape, strides, cfg["padding"])
        bias_full = np.tile(bias, out_shape[0] * out_shape[1])
        meta = dict(
            kernel_shape=list(kernel.shape),
            strides=list(strides),
            padding=cfg["padding"],
            input_shape=list(low.shape),
            output_shape=list(out_shape),
            pads=pads,
        )
    else:
        if len(low.shape) != 1:
            raise ConstraintError(
                f"layer '{layer.name}': {step.cls} on a {len(low.shape)}-D tensor", f"put Flatten before the {step.cls}"
            )
        matrix, bias_full, out_shape, meta = kernel, bias, (kernel.shape[1],), {}
    low.affine(step.name, kind, matrix, k_type.frac, bias_full, bias_frac, out_shape, meta, k_type)
    low.layers.append((step.name, step.cls, kind))
    own = own_quantizer(layer)
    if own is not None:
        low.quantizer(step.name, fixed_type_of(own, f"layer '{layer.name}'"))
