"""QONNX nodes (:mod:`micae.graph.onnx_front`): ``Quant`` is a quantizer, ``Conv``/``MatMul``/``Gemm`` (+ ``Add`` of
a constant bias) an affine stage, ``Relu`` the lower clip of the next quantizer, ``Pad``/``Flatten``/``Reshape``
index maps, ``MaxPool`` a max-pool stage. Every node micae cannot reproduce bit for bit is refused here.

ONNX tensors are NCHW; the lowering tracks the channels-last (H, W, C) tensor micae's hardware reads.
"""

from __future__ import annotations

import math

import numpy as np

from micae.errors import ConstraintError
from micae.fixed.ops import conv2d_as_matrix
from micae.fixed.types import FixedType
from micae.graph.handlers.pooling import windows
from micae.graph.onnx_front import channels_last
from micae.graph.registry import handler

MAX_FRAC = 40
MAX_WEIGHT_BITS = 18
"""Wider constants are taken as float, not quantized (and float32 references would round their products)."""
ROUNDING = {"ROUND": "half_even", "HALF_EVEN": "half_even", "FLOOR": "floor"}


def _where(step) -> str:
    return f"node '{step.name}' ({step.cls})"


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def grid_codes(values: np.ndarray, where: str) -> tuple[FixedType, np.ndarray]:
    """The narrowest fixed-point type whose grid holds every value, and the values' integer codes."""
    values = np.asarray(values, dtype=np.float64)
    for frac in range(MAX_FRAC + 1):
        scaled = values * 2.0**frac
        if np.array_equal(scaled, np.rint(scaled)):
            codes = np.rint(scaled).astype(np.int64)
            t = FixedType.holding(int(codes.min(initial=0)), int(codes.max(initial=0)), frac)
            if t.width <= MAX_WEIGHT_BITS:
                return t, codes
            break
    raise ConstraintError(
        f"{where} are float, not on a power-of-two grid of at most {MAX_WEIGHT_BITS} bits",
        "quantize them with a Quant node of power-of-two scale (Brevitas: scaling_impl_type='po2' or a fixed "
        "power-of-two scale)",
    )


def _power_of_two_frac(scale: np.ndarray, step) -> int:
    if scale.size != 1 and not np.all(scale == scale.ravel()[0]):
        raise ConstraintError(
            f"{_where(step)}: a per-channel scale on activations, which one fixed-point type cannot hold",
            "use one (per-tensor) power-of-two scale on activation quantizers",
        )
    s = float(scale.ravel()[0])
    if s <= 0 or not math.log2(s).is_integer():
        raise ConstraintError(
            f"{_where(step)}: scale {s!r} is not a power of two, so the quantizer is not a fixed-point type "
            "and cannot be bit-exact",
            "train with power-of-two scales (Brevitas: restrict_scaling_type=RestrictValueType.POWER_OF_TWO)",
        )
    return -int(math.log2(s))


@handler("onnx:Quant")
def quant(step, low) -> None:
    frac = _power_of_two_frac(step.const(1, "scale"), step)
    if np.any(step.const(2, "zero point") != 0):
        raise ConstraintError(f"{_where(step)}: a non-zero zero point", "use zero_point=0 (symmetric quantizers)")
    bits = step.const(3, "bit width")
    if bits.size != 1 or float(bits.ravel()[0]) != int(bits.ravel()[0]) or int(bits.ravel()[0]) < 1:
        raise ConstraintError(f"{_where(step)}: bit width {bits.ravel().tolist()}", "use one integer bit width")
    bits = int(bits.ravel()[0])
    signed, narrow = bool(step.attrs.get("signed", 1)), bool(step.attrs.get("narrow", 0))
    mode = _text(step.attrs.get("rounding_mode", "ROUND")).upper()
    if mode not in ROUNDING:
        raise ConstraintError(
            f"{_where(step)}: rounding mode {mode}, which micae's quantizers do not reproduce",
            "use rounding_mode ROUND (half to even, as QKeras and hls4ml's AP_RND_CONV) or FLOOR",
        )
    if signed and bits == 1:
        raise ConstraintError(
            f"{_where(step)}: a signed 1-bit Quant is bipolar ({{-1, +1}}, no zero) in qonnx",
            "use 2 or more bits on activations",
        )
    t = FixedType(bits, frac, signed)
    lo, hi = t.min_int + int(narrow and signed), t.max_int - int(narrow and not signed)
    relu = getattr(low, "onnx_relu", None)
    if relu is not None:
        lo = max(lo, 0)
        low.onnx_relu = None
    clip = None if (lo, hi) == (t.min_int, t.max_int) else (lo, hi)
    first = low.mat_type is None
    if first and (clip is not None or ROUNDING[mode] != "half_even"):
        raise ConstraintError(
            f"{_where(step)}: the input quantizer is narrow, follows a Relu or floors",
            "quantize the input with a plain Quant (rounding ROUND, narrow=0)",
        )
    low.quantizer(step.name, t, ROUNDING[mode], clip)
    role = "input quantizer" if first else "quantizer"
    low.layers.append((step.name, step.cls, f"{role} {t.describe()}" + (f", codes {clip}" if clip else "")))


@handler("onnx:Trunc")
def trunc(step, low) -> None:
    """qonnx ``Trunc`` (v1): ``floor(round(x / s) / 2**t) * s`` with ``t = in_bits - out_bits``: a floor onto the
    grid ``s * 2**t``, then the binary point moved by ``t`` (exact), codes of ``out_bits`` signed bits."""
    low.need_input_quantizer(step.name, step.cls)
    frac = _power_of_two_frac(step.const(1, "scale"), step)
    if np.any(step.const(2, "zero point") != 0):
        raise ConstraintError(f"{_where(step)}: a non-zero zero point", "use zero_point=0")
    if len(step.node.input) != 5:
        raise ConstraintError(f"{_where(step)}: Trunc v2 (output scale input)", "export Trunc v1 (opset 1)")
    in_bits, out_bits = (int(step.const(i, "bit width").ravel()[0]) for i in (3, 4))
    mode = _text(step.attrs.get("rounding_mode", "FLOOR")).upper()
    if mode != "FLOOR":
        raise ConstraintError(f"{_where(step)}: rounding mode {mode}", "use Trunc's FLOOR rounding")
    p, t = low.pending, in_bits - out_bits
    have = low.mat_type.frac if p is None else max(low.mat_type.frac + p.weight_frac, p.bias_frac)
    if have > frac or t < 0:
        raise ConstraintError(
            f"{_where(step)}: its input has {have} fractional bits, finer than its scale 2**-{frac}, so qonnx "
            "rounds before truncating",
            "put a Quant with the Trunc's scale before it",
        )
    low.quantizer(step.name, FixedType(out_bits, frac - t, True), "floor")
    low.scale(step.name, -t)
    low.mat_type = low.stages[-1].out
    low.layers.append((step.name, step.cls, f"truncate {t} bits (floor)"))


@handler("onnx:BipolarQuant")
def bipolar_quant(step, low) -> None:
    raise ConstraintError(
        f"{_where(step)} quantizes activations to {{-1, +1}} (no zero), which micae's fixed-point quantizers "
        "do not express",
        "use a Quant with 2 or more bits on activations (BipolarQuant is read on weights)",
    )


def _check_attrs(step, allowed: dict) -> None:
    for key, value in allowed.items():
        got = step.attrs.get(key)
        if (
            got is not None
            and list(np.ravel(got)) != list(np.ravel(value))
            and not (key == "auto_pad" and _text(got) in ("NOTSET", "VALID"))
        ):
            raise ConstraintError(f"{_where(step)}: {key}={got}", f"export it with {key}={value}")


def _pad_hw(low, step, top: int, left: int, bottom: int, right: int) -> None:
    if len(low.shape) != 3:
        raise ConstraintError(f"{_where(step)} pads a {len(low.shape)}-D tensor", "pad the (C, H, W) image")
    grid = np.arange(low.n).reshape(low.shape)
    index = np.pad(grid, ((top, bottom), (left, right), (0, 0)), constant_values=-1)
    low.remap(f"{step.name}_pad", index.ravel(), index.shape)


@handler("onnx:Conv")
def conv(step, low) -> None:
    low.need_input_quantizer(step.name, step.cls)
    _check_attrs(step, {"group": 1, "dilations": [1, 1], "auto_pad": "NOTSET"})
    if len(low.shape) != 3:
        raise ConstraintError(f"{_where(step)} on a {len(low.shape)}-D tensor", "give it an (N, C, H, W) tensor")
    top, left, bottom, right = (int(v) for v in step.attrs.get("pads", [0, 0, 0, 0]))
    if top or left or bottom or right:
        _pad_hw(low, step, top, left, bottom, right)
    weights = step.const(1, "weights")  # (out, in, kh, kw)
    k_type, kernel = grid_codes(weights.transpose(2, 3, 1, 0), f"weights of {_where(step)}")
    strides = tuple(int(v) for v in step.attrs.get("strides", [1, 1]))
    matrix, out_shape, _ = conv2d_as_matrix(kernel, low.shape, strides, "valid")
    if tuple(out_shape) != channels_last(step.out_shape):
        raise ConstraintError(f"{_where(step)}: output {out_shape} != ONNX {step.out_shape}", "check the export")
    b_type, bias = _bias(step, 2, kernel.shape[-1], k_type)
    meta = dict(
        kernel_shape=list(kernel.shape),
        strides=list(strides),
        padding="valid",
        input_shape=list(low.shape),
        output_shape=list(out_shape),
        pads=[top, left, bottom, right],
    )
    full = np.tile(bias, out_shape[0] * out_shape[1])
    low.affine(step.name, "conv2d", matrix, k_type.frac, full, b_type.frac, out_shape, meta, k_type)
    low.layers.append((step.name, step.cls, "conv2d"))


def _bias(step, index: int, n_out: int, k_type: FixedType) -> tuple[FixedType, np.ndarray]:
    if index not in step.consts:
        return k_type, np.zeros(n_out, dtype=np.int64)
    b_type, bias = grid_codes(step.consts[index].reshape(-1), f"bias of {_where(step)}")
    if bias.size != n_out:
        raise ConstraintError(f"{_where(step)}: {bias.size} biases for {n_out} outputs", "check the export")
    return b_type, bias


def _dense(step, low, weights: np.ndarray, bias_index: int | None) -> None:
    low.need_input_quantizer(step.name, step.cls)
    if len(low.shape) != 1:
        raise ConstraintError(f"{_where(step)} on a {len(low.shape)}-D tensor", f"put a Flatten before '{step.name}'")
    if weights.ndim != 2 or weights.shape[0] != low.n:
        raise ConstraintError(f"{_where(step)}: weights {weights.shape} for {low.n} inputs", "check the export")
    k_type, kernel = grid_codes(weights, f"weights of {_where(step)}")
    b_type, bias = _bias(step, bias_index, kernel.shape[1], k_type) if bias_index else (k_type, None)
    if bias is None:
        bias = np.zeros(kernel.shape[1], dtype=np.int64)
    low.affine(step.name, "dense", kernel, k_type.frac, bias, b_type.frac, (kernel.shape[1],), {}, k_type)
    low.layers.append((step.name, step.cls, "dense"))


@handler("onnx:MatMul")
def matmul(step, low) -> None:
    _dense(step, low, step.const(1, "weights"), None)


@handler("onnx:Gemm")
def gemm(step, low) -> None:
    if (
        step.attrs.get("transA", 0)
        or float(step.attrs.get("alpha", 1.0)) != 1
        or float(step.attrs.get("beta", 1.0)) != 1
    ):
        raise ConstraintError(f"{_where(step)}: transA, alpha or beta set", "export with transA=0, alpha=beta=1")
    weights = step.const(1, "weights")
    _dense(step, low, weights.T if step.attrs.get("transB", 0) else weights, 2)


@handler("onnx:Add")
def add(step, low) -> None:
    """A constant bias after a Conv/MatMul (Brevitas and the Gemm-less exports write it as its own Add)."""
    value = np.broadcast_to(step.const(1, "addend"), (1, *step.in_shape))[0]
    if value.ndim == 3:
        value = value.transpose(1, 2, 0)
    value = value.reshape(-1)
    p = low.pending
    if p is None or not np.array_equal(low.src, np.arange(len(low.src))) or low.deferred_pool is not None:
        raise ConstraintError(
            f"{_where(step)} adds a constant that is not the bias of the Conv/MatMul right before it",
            "add biases right after their Conv/MatMul/Gemm, before any Relu, reshape or Quant",
        )
    b_type, codes = grid_codes(value, f"addend of {_where(step)}")
    if not np.any(p.bias):  # the layer's only bias: keep its own grid
        p.bias_frac = b_type.frac
    frac = max(b_type.frac, p.bias_frac)
    p.bias = (np.asarray(p.bias, dtype=np.int64) << (frac - p.bias_frac)) + (codes << (frac - b_type.frac))
    p.bias_frac = frac
    low.identity(step.name)
    low.layers.append((step.name, step.cls, "bias"))


@handler("onnx:Relu")
def relu(step, low) -> None:
    """``max(x, 0)`` commutes with rounding and with the reshapes and pools before a quantizer: the next
    ``Quant`` clips its codes at zero."""
    low.need_input_quantizer(step.name, step.cls)
    low.onnx_relu = step.name
    low.identity(step.name)
    low.layers.append((step.name, step.cls, "relu (clips the next Quant at 0)"))


@handler("onnx:Pad")
def pad(step, low) -> None:
    mode = _text(step.attrs.get("mode", "constant"))
    pads = step.consts.get(1, step.attrs.get("pads"))
    value = step.consts.get(2, np.zeros(1)).ravel()
    if mode != "constant" or pads is None or np.any(value != 0) or 3 in step.consts:
        raise ConstraintError(f"{_where(step)}: mode {mode}, value {value.tolist()}", "pad with constant zeros")
    pads = [int(v) for v in np.ravel(pads)]
    if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
        raise ConstraintError(f"{_where(step)}: pads {pads}", "pad only the H and W axes of an (N, C, H, W) tensor")
    _pad_hw(low, step, pads[2], pads[3], pads[6], pads[7])
    low.identity(step.name)
    low.layers.append((step.name, step.cls, f"pad {pads[2:4]}/{pads[6:8]}"))


def _flatten_order(low) -> np.ndarray:
    """ONNX flattens (C, H, W): element ``j`` of the flat tensor reads this (H, W, C) element."""
    if len(low.shape) != 3:
        return np.arange(low.n)
    return np.arange(low.n).reshape(low.shape).transpose(2, 0, 1).ravel()


@handler("onnx:Flatten", "onnx:Reshape")
def flatten(step, low) -> None:
    if len(step.out_shape) != 1 or step.out_shape[0] != low.n:
        if tuple(step.out_shape) == tuple(step.in_shape):
            low.identity(step.name)
            low.layers.append((step.name, step.cls, "identity"))
            return
        raise ConstraintError(
            f"{_where(step)}: reshape to {step.out_shape}; micae reads flattening to (N, features) only",
            "flatten right before the MatMul/Gemm",
        )
    low.remap(step.name, _flatten_order(low), (low.n,))
    low.layers.append((step.name, step.cls, "flatten (C, H, W order)"))


@handler("onnx:MaxPool")
def max_pool(step, low) -> None:
    low.need_input_quantizer(step.name, step.cls)
    _check_attrs(
        step, {"pads": [0, 0, 0, 0], "ceil_mode": 0, "dilations": [1, 1], "storage_order": 0, "auto_pad": "NOTSET"}
    )
    pool = tuple(int(v) for v in step.attrs["kernel_shape"])
    strides = tuple(int(v) for v in step.attrs.get("strides", [1, 1]))
    groups, out_shape, _ = windows(low.shape, pool, strides, "valid", step.name)
    low.maxpool(step.name, groups, out_shape)
    low.layers.append((step.name, step.cls, f"max-pool {pool[0]}x{pool[1]}"))


@handler("onnx:Identity", "onnx:Dropout")
def identity(step, low) -> None:
    low.identity(step.name)
    low.layers.append((step.name, step.cls, "identity"))
