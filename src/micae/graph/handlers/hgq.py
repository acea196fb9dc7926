"""HGQ layers (:mod:`micae.graph.hgq_front`): per-weight and per-element bit widths, exactly as HGQ computes them.

At inference every HGQ quantizer computes ``q(x) = floor(x * 2**f + 0.5) / 2**f`` (half up; ``floor(x * 2**f)`` with
``rnd_strategy='floor'``) with ``f = round(clip(fbw, bw_clip))`` per weight or per element, and never saturates.

* Weights: HGQ's own quantized kernel (``fused_qkernel``) and bias (``paq.bias_forward``) as integer codes on the
  finest grid among them: per-weight widths become integer codes with more or fewer trailing zeros.
* Activations with a frac ``f_j`` per element: the stage rounds every output element at its own LSB. Column ``j`` of
  the matrix (and bias) is scaled by ``2**-(F - f_j)`` (``F`` = the finest ``f``; done by shifting the other columns
  left, all integers), so one rounding at ``2**-F`` is a rounding at ``2**-f_j`` for each element. The stage's code
  ``c_j`` is then in units of ``2**-f_j``: the next matrix's row ``j`` is shifted left by ``F - f_j`` to read it, and
  a last wiring stage (:func:`align_latent`) puts the latent on the common grid ``2**-F``.
* Half-up rounding is a floor after adding half an output LSB to the bias (HGQ's proxy model does the same);
  no saturation: every output type holds the whole range the input type can produce (interval arithmetic), so a
  saturation can never act, except as the ``relu``: a ReLU after a quantizer is ``max(c, 0)``, the saturation into
  an unsigned type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from micae.errors import ConstraintError
from micae.fixed.ops import UNIT_WEIGHT
from micae.fixed.ops.affine import conv2d_as_matrix
from micae.fixed.types import FixedType
from micae.graph.handlers import core
from micae.graph.handlers.affine import check_conv_form
from micae.graph.registry import handler

handler("PFlatten", "PReshape")(core.reshape)
handler("PDropout")(core.inference_identity)

FLOOR = 3
"""HGQ's ``rnd_strategy`` code of ``floor``; every other strategy rounds half up at inference."""


@dataclass
class HgqState:
    """What the HGQ handlers carry from layer to layer on the lowering (``low.hgq``)."""

    input_int_bits: int | None = None
    input_signed: bool = False
    scale: np.ndarray | None = None
    """per materialized code: how many bits coarser than the stage's common grid it is (None: all on it)"""
    bounds: tuple[np.ndarray, np.ndarray] | None = None
    """per materialized code of the last HGQ stage: its smallest and largest value (the next sums' box)"""
    ranges: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """per HGQ layer: its quantized output's range per element, real units, before its relu (calibration form)"""
    float_bits: dict[str, int] = field(default_factory=dict)
    """per HGQ layer: the bits HGQ's float32 sum and rounding need"""


def state(low) -> HgqState:
    """The lowering's HGQ state (created empty on first use)."""
    if not hasattr(low, "hgq"):
        low.hgq = HgqState()
    return low.hgq


def fracs(quantizer, shape: tuple[int, ...]) -> np.ndarray:
    """The integer frac bits ``round(clip(fbw))`` of an HGQ quantizer, broadcast to ``shape`` (batch dropped)."""
    fbw = np.asarray(quantizer.fbw.numpy(), dtype=np.float32)
    if quantizer.bw_clip:
        fbw = np.clip(fbw, *quantizer.bw_clip)
    f = np.round(fbw).astype(np.int64)  # tf.round and np.round: half to even
    if f.ndim == len(shape) + 1:
        f = f[0]
    return np.broadcast_to(f, shape).copy()


def _half_up(quantizer) -> bool:
    return int(quantizer.rnd_strategy) != FLOOR


def _codes(values: np.ndarray, frac: int, what: str) -> np.ndarray:
    scaled = np.asarray(values, dtype=np.float64) * 2.0**frac
    if not np.array_equal(scaled, np.round(scaled)):
        raise ConstraintError(f"{what} are not on HGQ's grid 2**-{frac}", "save the model HGQ trained, unmodified")
    return np.round(scaled).astype(np.int64)


def _relu(layer) -> bool:
    import tensorflow as tf

    act = getattr(layer, "activation", None)
    if act is None or act is tf.keras.activations.linear:
        return False
    if act is tf.keras.activations.relu:
        return True
    name = getattr(act, "__name__", act)
    raise ConstraintError(
        f"layer '{layer.name}' ({type(layer).__name__}, an HGQ layer): activation {name!r} is not exact in fixed point",
        "use activation='relu' or 'linear'",
    )


@handler("HQuantize")
def h_quantize(step, low) -> None:
    """The input quantizer: its finest grid is the input type; coarser elements get a rounding stage."""
    layer = step.layer
    f = fracs(layer.paq, low.shape).reshape(-1)
    if low.mat_type is not None:  # an HQuantize between layers: a requantization like an HActivation
        _requantize(step, low, f, relu=False)
        return
    int_bits, signed = state(low).input_int_bits, state(low).input_signed
    if int_bits is None:
        raise ConstraintError(
            f"layer '{step.name}' (HQuantize, an HGQ layer) rounds the input but never saturates, so the file does "
            "not hold the input's range",
            "pass --input-int-bits I (integer bits of the input, sign not counted; add --input-signed for signed "
            "inputs), as you would give hls4ml the input precision",
        )
    top = int(f.max())
    width = int(int_bits) + top + int(signed)
    if width < 1:
        raise ConstraintError(f"input of {width} bits ({int_bits} integer, {top} fractional)", "raise --input-int-bits")
    low.quantizer(step.name, FixedType(width, top, bool(signed)))
    if np.all(f == top):
        low.layers.append((step.name, step.cls, f"input quantizer {low.input_type.describe()}"))
        return
    _requantize(step, low, f, relu=False, role="input rounded per element")


@handler("HActivation")
def h_activation(step, low) -> None:
    """``paq(activation(x))`` on quantized values: relu or linear, then a per-element requantization."""
    if low.mat_type is None or low.pending is not None:
        raise ConstraintError(
            f"layer '{step.name}' (HActivation) reads unquantized values", "put it after an HGQ layer"
        )
    _requantize(step, low, fracs(step.layer.paq, low.shape).reshape(-1), relu=_relu(step.layer))


def _requantize(step, low, f: np.ndarray, relu: bool, role: str = "requantize per element") -> None:
    n, frac = len(low.src), low.mat_type.frac
    eye = np.eye(n, dtype=np.int64)
    low.affine(step.name, "requantize", eye, 0, np.zeros(n, np.int64), frac, low.shape, {}, UNIT_WEIGHT)
    _read_scaled_inputs(low)
    close(step.name, low, f, _half_up(step.layer.paq), relu)
    low.layers.append((step.name, step.cls, role))


@handler("HConv2D", "HDense", "HConv2DBatchNorm", "HDenseBatchNorm")
def h_affine(step, low) -> None:
    """HGQ's quantized kernel and bias (batch norm folded by HGQ itself), then the per-element quantizer."""
    layer = step.layer
    low.need_input_quantizer(step.name, step.cls)
    check_conv_form(layer)
    relu = _relu(layer)
    qkernel = np.asarray(layer.fused_qkernel.numpy(), dtype=np.float64)
    k_frac = int(fracs(layer.kq, qkernel.shape).max())
    kernel = _codes(qkernel, k_frac, f"weights of '{layer.name}'")
    k_type = FixedType.holding(int(kernel.min(initial=0)), int(kernel.max(initial=0)), k_frac, signed=True)
    conv = "Conv" in step.cls
    out_shape = tuple(int(v) for v in layer.output_shape[1:])
    out_f = fracs(layer.paq, out_shape)
    if layer.use_bias:
        qbias = np.asarray(layer.paq.bias_forward(layer.fused_bias, False, layer.channel_loc).numpy(), np.float64)
        b_frac = int(out_f.max())
        bias = _codes(qbias, b_frac, f"bias of '{layer.name}'")
    else:
        b_frac, bias = k_frac, np.zeros(kernel.shape[-1], dtype=np.int64)
    if conv:
        if len(low.shape) != 3:
            raise ConstraintError(f"layer '{layer.name}': {step.cls} on a {len(low.shape)}-D tensor", "use H, W, C")
        cfg = layer.get_config()
        strides = tuple(int(s) for s in cfg["strides"])
        matrix, shape, pads = conv2d_as_matrix(kernel, low.shape, strides, cfg["padding"])
        bias_full = np.tile(bias, shape[0] * shape[1])
        meta = dict(kernel_shape=list(kernel.shape), strides=list(strides), padding=cfg["padding"], pads=pads)
        meta.update(input_shape=list(low.shape), output_shape=list(shape))
    else:
        if len(low.shape) != 1:
            raise ConstraintError(f"layer '{layer.name}': {step.cls} on a {len(low.shape)}-D tensor", "flatten first")
        matrix, bias_full, shape, meta = kernel, bias, (kernel.shape[1],), {}
    low.affine(step.name, "conv2d" if conv else "dense", matrix, k_frac, bias_full, b_frac, shape, meta, k_type)
    _read_scaled_inputs(low)
    close(step.name, low, out_f.reshape(-1), _half_up(layer.paq), relu)
    low.layers.append((step.name, step.cls, ("conv2d" if conv else "dense") + (" + relu" if relu else "")))


def _read_scaled_inputs(low) -> None:
    """Row ``i`` of the pending matrix reads a code in units of ``2**-(F - d_i)``: shift it left by ``d_i``."""
    scale = state(low).scale
    if scale is not None:
        p = low.pending
        p.matrix = p.matrix.astype(np.int64) << scale[:, None]


def close(name: str, low, f: np.ndarray, half_up: bool, relu: bool) -> None:
    """Close the pending matrix with a quantizer rounding output element ``j`` at ``2**-f[j]`` (module docstring)."""
    p = low.pending
    bounds = _in_bounds(low)
    lo, hi = _acc_range(p.matrix, p.weight_frac, p.bias, p.bias_frac, low.mat_type, bounds)  # HGQ's float32 sum
    hgq = state(low)
    hgq.float_bits[name] = FixedType.holding(lo, hi, 0).width + int(half_up)  # + the half LSB HGQ adds first
    top = int(f.max())
    d = top - f.astype(np.int64)
    spread = int(d.max())
    p.matrix = p.matrix.astype(np.int64) << (spread - d)[None, :]
    p.bias = p.bias.astype(np.int64) << (spread - d)
    p.weight_frac += spread
    p.bias_frac += spread
    in_frac = low.mat_type.frac
    acc_frac = max(in_frac + p.weight_frac, p.bias_frac)
    if acc_frac > top and half_up:
        p.bias = (p.bias << (acc_frac - p.bias_frac)) + (np.int64(1) << (acc_frac - top - 1))
        p.bias_frac = acc_frac
    lo_j, hi_j = _acc_ranges(p.matrix, p.weight_frac, p.bias, p.bias_frac, low.mat_type, bounds)
    lo_j, hi_j = _floor_codes(lo_j, acc_frac, top), _floor_codes(hi_j, acc_frac, top)
    hgq.ranges[name] = (lo_j * 2.0 ** -f.astype(float), hi_j * 2.0 ** -f.astype(float))
    if relu:
        lo_j, hi_j = np.maximum(lo_j, 0), np.maximum(hi_j, 0)
    lo, hi = int(lo_j.min()), int(hi_j.max())
    p.weight_type = FixedType.holding(int(p.matrix.min(initial=0)), int(p.matrix.max(initial=0)), p.weight_frac)
    low.quantizer(name, FixedType.holding(lo, hi, top), rounding="floor")
    hgq.scale = d if spread else None
    hgq.bounds = (lo_j, hi_j)


def _floor_codes(acc, acc_frac: int, frac: int):
    return acc >> (acc_frac - frac) if acc_frac >= frac else acc << (frac - acc_frac)


def _in_bounds(low) -> tuple[np.ndarray, np.ndarray]:
    """The range of every materialized input code: the last HGQ stage's own ranges, else the type's."""
    n = low.pending.matrix.shape[0]
    bounds = state(low).bounds
    if bounds is not None and len(bounds[0]) == n and low.stages and low.stages[-1].out == low.mat_type:
        return bounds
    t = low.mat_type
    return np.full(n, t.min_int, dtype=np.int64), np.full(n, t.max_int, dtype=np.int64)


def _acc_ranges(
    matrix, weight_frac: int, bias, bias_frac: int, in_type: FixedType, bounds
) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest accumulator of every column (units ``2**-acc_frac``), each input code ``i`` anywhere in
    ``[bounds[0][i], bounds[1][i]]`` independently (the codes of the quantizers before hold such a box)."""
    frac = max(in_type.frac + weight_frac, bias_frac)
    pos, neg = np.clip(matrix, 0, None), np.clip(matrix, None, 0)
    lo_in, hi_in = (np.asarray(v, dtype=np.int64) for v in bounds)
    top = hi_in @ pos + lo_in @ neg
    bottom = lo_in @ pos + hi_in @ neg
    shift = frac - in_type.frac - weight_frac
    b = bias.astype(np.int64) << (frac - bias_frac)
    return (bottom << shift) + b, (top << shift) + b


def _acc_range(matrix, weight_frac: int, bias, bias_frac: int, in_type: FixedType, bounds) -> tuple[int, int]:
    lo, hi = _acc_ranges(matrix, weight_frac, bias, bias_frac, in_type, bounds)
    return int(lo.min()), int(hi.max())


def align_latent(low, last: str) -> None:
    """A wiring stage putting latent codes of per-element grids onto the finest grid (shifts, no rounding)."""
    scale = state(low).scale
    if scale is None:
        return
    n, t = len(scale), low.mat_type
    shifts = np.diag(np.int64(1) << scale)
    low.affine(f"{last}_grid", "requantize", shifts, 0, np.zeros(n, np.int64), t.frac, low.shape, {}, UNIT_WEIGHT)
    p = low.pending
    lo, hi = _acc_range(p.matrix, 0, p.bias, t.frac, t, _in_bounds(low))
    p.weight_type = FixedType.holding(0, int(p.matrix.max()), 0)
    state(low).scale = None
    low.quantizer(f"{last}_grid", FixedType.holding(lo, hi, t.frac), rounding="floor")
    low.layers.append((f"{last}_grid", "HGQ grid", "latent codes onto one grid (wiring)"))
