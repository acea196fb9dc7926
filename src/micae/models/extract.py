"""Read a QKeras encoder into the exact integer description, refusing what can't be bit-exact.

This is the guard in front of every hardware route. It accepts exactly the
shallow shape Input -> quantizer -> QConv2D -> quantizer -> Flatten -> QDense
-> quantizer, where each quantizer is a ``QActivation`` or the layer's own
quantized ``activation``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from micae.errors import ConstraintError
from micae.fixed.graph import AffineStage, IntegerEncoder, conv2d_as_matrix
from micae.fixed.types import FixedType
from micae.models.quantizers import fixed_type_of

FLOAT32_MANTISSA_BITS = 24


@dataclass
class GuardReport:
    encoder: IntegerEncoder | None
    problems: list[str]

    @property
    def exact(self) -> bool:
        return not self.problems


def _is_quantizer_activation(layer) -> bool:
    return type(layer).__name__ == "QActivation"


def _layer_activation_quantizer(layer):
    """The quantizer a QConv2D/QDense applies itself, None for linear, or raise for others."""
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    name = getattr(act, "__name__", None)
    if name == "linear":
        return None
    if hasattr(act, "bits"):
        return act
    raise ConstraintError(
        f"layer '{layer.name}': activation {name or act} is not a QKeras quantizer",
        "remove it and put a QActivation(quantized_relu(...)) or QActivation(quantized_bits(...)) after the layer",
    )


def _walk(model) -> list:
    """The layers in order, refusing graphs that branch (the encoder is a chain)."""
    layers = [l for l in model.layers]
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ConstraintError(
            f"model '{model.name}' has {len(model.inputs)} inputs and {len(model.outputs)} outputs",
            "give the single shared encoder (micae's encoder.h5), not the multi-input MICAE model",
        )
    return layers


def shared_encoder(model):
    """A MICAE model holds its tied encoder as a nested Model; return it, else the model itself."""
    nested = [l for l in model.layers if hasattr(l, "layers") and len(getattr(l, "inputs", []) or []) == 1]
    encoders = [l for l in nested if l.name.startswith("encoder")]
    if len(model.inputs) > 1 and encoders:
        return encoders[0]
    return model


SUPPORTED = "InputLayer, QActivation, QConv2D, Flatten, QDense"


def inspect_encoder(model, *, name: str | None = None) -> GuardReport:
    """Build the integer model and list every reason it would not be bit-exact."""
    model = shared_encoder(model)
    layers = _walk(model)
    problems: list[str] = []
    stages: list[AffineStage] = []
    input_type: FixedType | None = None
    input_q_name = ""
    pending = None  # an affine layer waiting for its quantizer
    n_conv = n_dense = 0
    input_shape = tuple(int(v) for v in model.input_shape[1:])
    shape = input_shape
    seen_input_quant = False

    def close_pending(quantizer, qname):
        nonlocal pending, shape
        layer, kind = pending
        out_t = fixed_type_of(quantizer, f"layer '{qname}'")
        stages.append(_affine_stage(layer, kind, shape, out_t, qname))
        shape = tuple(int(v) for v in layer.output_shape[1:])
        pending = None

    for layer in layers:
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        if layer.name == "input":
            problems.append(f"layer '{layer.name}': hls4ml reserves the name 'input' - rename the layer")
        if not seen_input_quant:
            if not _is_quantizer_activation(layer):
                raise ConstraintError(
                    f"layer '{layer.name}' ({cls}) comes right after the input, but the input is not quantized",
                    "add QActivation(quantized_bits(bits, integer, keep_negative=..., alpha=1)) right after the Input",
                )
            input_type = fixed_type_of(layer.quantizer, f"input quantizer '{layer.name}'")
            input_q_name = layer.name
            seen_input_quant = True
            continue
        if cls in ("QConv2D", "QDense"):
            if pending is not None:
                raise ConstraintError(
                    f"layer '{layer.name}' follows '{pending[0].name}' with no quantizer in between",
                    f"add a QActivation quantizer after '{pending[0].name}'",
                )
            _check_affine_layer(layer)
            kind = "conv2d" if cls == "QConv2D" else "dense"
            n_conv += kind == "conv2d"
            n_dense += kind == "dense"
            if kind == "dense" and len(shape) != 1:
                raise ConstraintError(
                    f"layer '{layer.name}': QDense on a {len(shape)}-D tensor", "put Flatten before the QDense"
                )
            pending = (layer, kind)
            own = _layer_activation_quantizer(layer)
            if own is not None:
                close_pending(own, layer.name)
            continue
        if _is_quantizer_activation(layer):
            if pending is None:
                raise ConstraintError(
                    f"layer '{layer.name}': a second quantizer in a row",
                    "keep one quantizer after each QConv2D/QDense",
                )
            close_pending(layer.quantizer, layer.name)
            continue
        if cls == "Flatten":
            if pending is not None:
                raise ConstraintError(
                    f"layer '{pending[0].name}' has no quantizer before Flatten",
                    f"add a QActivation quantizer after '{pending[0].name}'",
                )
            shape = (int(np.prod(shape)),)
            continue
        raise ConstraintError(
            f"layer '{layer.name}' ({cls}) is outside the supported encoder shape ({SUPPORTED})",
            "build the encoder as Input -> QActivation -> QConv2D -> QActivation -> Flatten -> QDense -> QActivation",
        )
    if pending is not None:
        raise ConstraintError(
            f"layer '{pending[0].name}' output is not quantized",
            f"add a QActivation quantizer after '{pending[0].name}'",
        )
    if n_conv != 1 or n_dense != 1:
        raise ConstraintError(
            f"model '{model.name}' has {n_conv} QConv2D and {n_dense} QDense layers; the shallow encoder has exactly one of each",
            "use Input -> QConv2D -> Flatten -> QDense with quantizers",
        )
    assert input_type is not None
    enc = IntegerEncoder(
        name=name or model.name,
        input_shape=input_shape,
        input_type=input_type,
        input_quantizer_name=input_q_name,
        stages=tuple(stages),
    )
    for stage, in_t in zip(enc.stages, enc.stage_input_types()):
        acc_t = stage.acc_type(in_t)
        if acc_t.width > FLOAT32_MANTISSA_BITS:
            problems.append(
                f"layer '{stage.name}': accumulators need {acc_t.width} bits, more than float32's "
                f"{FLOAT32_MANTISSA_BITS}, so QKeras itself rounds them - use fewer weight/input bits"
            )
    return GuardReport(encoder=enc, problems=problems)


def _check_affine_layer(layer) -> None:
    cfg = layer.get_config()
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise ConstraintError(f"layer '{layer.name}': data_format {cfg['data_format']}", "use channels_last")
    if tuple(cfg.get("dilation_rate", (1, 1))) not in ((1, 1), (1,)):
        raise ConstraintError(f"layer '{layer.name}': dilation {cfg['dilation_rate']}", "use dilation_rate=1")
    if cfg.get("groups", 1) != 1:
        raise ConstraintError(f"layer '{layer.name}': grouped convolution", "use groups=1")
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


def _quantized(quantizer, values: np.ndarray) -> np.ndarray:
    return np.asarray(quantizer(values.astype(np.float32)), dtype=np.float64)


def _affine_stage(layer, kind: str, in_shape: tuple, out_t: FixedType, qname: str) -> AffineStage:
    kq = layer.kernel_quantizer_internal
    k_type = fixed_type_of(kq, f"weights of '{layer.name}'")
    kernel = k_type.to_int(_quantized(kq, layer.kernel.numpy()))
    if layer.use_bias:
        bq = layer.bias_quantizer_internal
        b_type = fixed_type_of(bq, f"bias of '{layer.name}'")
        bias = b_type.to_int(_quantized(bq, layer.bias.numpy()))
        bias_frac = b_type.frac
    else:
        bias = np.zeros(kernel.shape[-1], dtype=np.int64)
        bias_frac = k_type.frac
    meta: dict = {"weight_type": k_type.to_dict()}
    if kind == "conv2d":
        cfg = layer.get_config()
        strides = tuple(int(s) for s in cfg["strides"])
        matrix, out_shape, pads = conv2d_as_matrix(kernel, in_shape, strides, cfg["padding"])
        bias_full = np.tile(bias, out_shape[0] * out_shape[1])
        meta.update(
            kernel_shape=list(kernel.shape),
            strides=list(strides),
            padding=cfg["padding"],
            input_shape=list(in_shape),
            output_shape=list(out_shape),
            pads=pads,
        )
    else:
        matrix, bias_full = kernel, bias
    return AffineStage(
        name=layer.name,
        kind=kind,
        matrix=matrix.astype(np.int64),
        weight_frac=k_type.frac,
        bias=bias_full.astype(np.int64),
        bias_frac=bias_frac,
        out=out_t,
        quantizer_name=qname,
        meta=meta,
    )


def extract_encoder(model, *, name: str | None = None, allow_inexact: bool = False) -> GuardReport:
    """``inspect_encoder`` that raises on the first inexact construct unless ``allow_inexact``."""
    report = inspect_encoder(model, name=name)
    if report.problems and not allow_inexact:
        raise ConstraintError(
            report.problems[0], "fix the model, or pass --allow-inexact to convert anyway and see the mismatches"
        )
    return report
