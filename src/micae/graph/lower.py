"""The lowering state machine: ops from the layer handlers -> the stages of an ``IntegerEncoder``.

The tensor flowing between layers is described lazily: ``src`` maps each of its
(flat, row-major) elements to an element of the last *materialized* vector (a
quantizer's output, or the live inputs), ``-1`` meaning a constant zero. So
padding, cropping, flatten and reshape cost nothing: they only rewrite ``src``,
and the next matrix absorbs them. An affine layer stays *pending* until its
quantizer arrives; then it becomes one stage of its op class (:mod:`micae.fixed.ops`).
Every Keras layer's tensor types are recorded as :class:`~micae.fixed.ops.LayerTypes`
(the op's own precision rule); :mod:`micae.hls.precision` names and spells them for hls4ml.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from micae.errors import ConstraintError
from micae.fixed.graph import IntegerEncoder
from micae.fixed.ops import UNIT_WEIGHT, AffineStage, LayerTypes, MaxPoolStage, RequantizeStage, Stage
from micae.fixed.types import FixedType


@dataclass
class _Pending:
    name: str
    kind: str
    matrix: np.ndarray  # (n_materialized, n_out) integer codes
    weight_frac: int
    bias: np.ndarray
    bias_frac: int
    meta: dict
    weight_type: FixedType
    stage: type = AffineStage  # the op class the layer becomes (micae.fixed.ops)
    relu: tuple[bool, float | None] | None = None  # a ReLU (with its max_value) between it and its quantizer
    leak: tuple[int, str] | None = None  # a LeakyReLU (slope 2**-k, its layer) between it and its quantizer


class Lowering:
    """Collects the stages, the input type and the types of every Keras layer's tensors."""

    def __init__(self, input_shape: tuple[int, ...], input_columns: np.ndarray | None = None) -> None:
        self.input_shape = tuple(int(v) for v in input_shape)
        self.shape = self.input_shape
        n = int(np.prod(self.shape))
        self.columns = np.arange(n) if input_columns is None else np.asarray(input_columns, dtype=np.int64)
        self.src = np.arange(n)
        self.mat_type: FixedType | None = None
        self.input_type: FixedType | None = None
        self.input_quantizer = ""
        self.pending: _Pending | None = None
        self.deferred_pool: tuple[str, np.ndarray] | None = None
        self.waiting_for_acc: list[str] = []  # layers between an affine layer and its quantizer
        self.stages: list[Stage] = []
        self.types: dict[tuple[str, bool], LayerTypes] = {}  # (layer, is its own quantizer) -> its types
        self.layers: list[tuple[str, str, str]] = []
        self.folded: list[str] | None = None  # batch norms folded inexactly on request, else None (refused)

    # -- helpers -------------------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return int(np.prod(self.shape))

    def need_input_quantizer(self, name: str, cls: str) -> None:
        if self.mat_type is None:
            raise ConstraintError(
                f"layer '{name}' ({cls}) comes right after the input, but the input is not quantized",
                "add QActivation(quantized_bits(bits, integer, keep_negative=..., alpha=1)) right after the Input",
            )

    def _record(self, types: LayerTypes) -> None:
        self.types[(types.layer, types.own_quantizer)] = types

    def _record_tensor(self, name: str) -> None:
        """A layer that passes values through: its result type is the type flowing through it."""
        if self.pending is not None:
            self.waiting_for_acc.append(name)
        elif self.mat_type is not None:
            self._record(LayerTypes(name, self.mat_type))

    # -- ops -----------------------------------------------------------------------------------------------
    def remap(self, name: str, index: np.ndarray, out_shape: tuple[int, ...]) -> None:
        """Output element ``j`` is input element ``index[j]`` (``-1``: zero). Padding, crop, reshape."""
        index = np.asarray(index, dtype=np.int64)
        src = np.append(self.src, -1)  # index -1 reads the appended -1
        self.src = src[index]
        self.shape = tuple(int(v) for v in out_shape)
        self._record_tensor(name)

    def identity(self, name: str) -> None:
        self._record_tensor(name)

    def affine(
        self,
        name: str,
        kind: str,
        matrix: np.ndarray,
        weight_frac: int,
        bias: np.ndarray,
        bias_frac: int,
        out_shape: tuple[int, ...],
        meta: dict,
        weight_type: FixedType,
        stage: type = AffineStage,
    ) -> None:
        """``x @ matrix + bias`` on the current tensor; waits for its quantizer. ``stage`` is the op class
        it becomes (:class:`~micae.fixed.ops.AffineStage` or a subclass such as an average pool)."""
        if self.pending is not None:
            raise ConstraintError(
                f"layer '{name}' follows '{self.pending.name}' with no quantizer in between",
                f"add a QActivation quantizer after '{self.pending.name}'",
            )
        if self.deferred_pool is not None:
            raise ConstraintError(f"layer '{name}' follows a max-pool with no quantizer", "add a QActivation")
        n_mat = self._n_materialized()
        composed = np.zeros((n_mat, matrix.shape[1]), dtype=np.int64)
        live = self.src >= 0
        np.add.at(composed, self.src[live], matrix[live].astype(np.int64))
        self.pending = _Pending(name, kind, composed, weight_frac, bias, bias_frac, meta, weight_type, stage)
        self.src = np.arange(matrix.shape[1])
        self.shape = tuple(int(v) for v in out_shape)

    def _n_materialized(self) -> int:
        if not self.stages:
            return len(self.columns)
        return self.stages[-1].n_out

    def maxpool(self, name: str, groups: np.ndarray, out_shape: tuple[int, ...]) -> None:
        """Max over ``groups`` (indices into the current tensor); a quantizer commutes with it."""
        if self.pending is not None:
            if self.deferred_pool is not None or not np.array_equal(self.src, np.arange(len(self.src))):
                raise ConstraintError(
                    f"layer '{name}': a max-pool after a reshape of un-quantized values",
                    f"put a QActivation quantizer right after '{self.pending.name}'",
                )
            self.deferred_pool = (name, np.asarray(groups, dtype=np.int64))
            self.waiting_for_acc.append(name)
            self.src = np.arange(len(groups))
            self.shape = tuple(int(v) for v in out_shape)
        else:
            meta = {"n_in": self._n_materialized(), "output_shape": list(out_shape)}
            self.add_stage(name, lambda src, t: MaxPoolStage(name, np.append(src, -1)[groups], t, meta=meta), out_shape)

    def add_stage(self, name: str, build: Callable[[np.ndarray, FixedType], Stage], out_shape: tuple[int, ...]) -> None:
        """A stage on quantized values, of any kind: ``build(src, in_type)`` makes it from the current tensor
        (``src[j]``: the materialized value element ``j`` reads, ``-1`` a zero) and the values' type."""
        if self.pending is not None or self.deferred_pool is not None or self.mat_type is None:
            raise ConstraintError(
                f"layer '{name}' reads values that are not quantized yet", "put a QActivation quantizer before it"
            )
        in_type = self.mat_type
        stage = build(self.src.copy(), in_type)
        self.stages.append(stage)
        self._record(stage.layer_types(in_type))
        self.mat_type = stage.out
        self.src = np.arange(stage.n_out)
        self.shape = tuple(int(v) for v in out_shape)

    def quantizer(
        self, name: str, t: FixedType, rounding: str = "half_even", clip: tuple[int, int] | None = None
    ) -> None:
        """A quantizer: closes the pending affine layer, or requantizes already quantized values."""
        if self.mat_type is None:
            if not np.array_equal(self.src, np.arange(len(self.src))):
                raise ConstraintError(
                    f"layer '{name}': the input is reshaped or padded before its quantizer",
                    "put the QActivation quantizer right after the Input",
                )
            self.input_type = self.mat_type = t
            self.input_quantizer = name
            full = np.full(self.n, -1, dtype=np.int64)
            full[self.columns] = np.arange(len(self.columns))
            self.src = full
            self._record(LayerTypes(name, t, rounding))
            return
        if self.pending is not None:
            self._close(name, t, rounding, clip)
        else:
            self._requantize(name, t, rounding, clip)
        self.mat_type = t
        own = (name, False) in self.types  # the quantizer of a QConv2D/QDense just closed (its activation)
        self._record(LayerTypes(name, t, rounding, own_quantizer=own))

    def _close(self, qname: str, t: FixedType, rounding: str, clip) -> None:
        p = self.pending
        in_t = self.mat_type
        if self.deferred_pool is None:
            cols = self.src
            matrix = np.concatenate([p.matrix, np.zeros((len(p.matrix), 1), dtype=np.int64)], axis=1)[:, cols]
            bias = np.append(p.bias, 0)[cols]
        else:
            matrix, bias = p.matrix, p.bias
        if p.relu is not None:
            clip = _relu_clip(t, rounding, clip, p.relu[1])
        stage = p.stage(
            name=p.name,
            kind=p.kind,
            matrix=matrix,
            weight_frac=p.weight_frac,
            bias=bias.astype(np.int64),
            bias_frac=p.bias_frac,
            out=t,
            quantizer_name=qname,
            meta=dict(p.meta),
            rounding=rounding,
            clip=clip,
            weight_type=p.weight_type,
            leak=None if p.leak is None else p.leak[0],
        )
        self.stages.append(stage)
        types = stage.layer_types(in_t)  # the op's precision rule
        self._record(types)
        carried = types.result
        for layer in self.waiting_for_acc:  # reshapes and pools before the quantizer carry the accumulator
            if p.leak is not None and layer == p.leak[1]:  # from the LeakyReLU on: its finer, wider grid
                carried = FixedType(carried.width + p.leak[0], carried.frac + p.leak[0], carried.signed)
            self._record(LayerTypes(layer, carried))
        self.waiting_for_acc = []
        self.pending = None
        if self.deferred_pool is not None:
            pname, groups = self.deferred_pool
            self.stages.append(MaxPoolStage(pname, groups, t, meta={"n_in": stage.n_out}))
            self.deferred_pool = None
        else:
            self.src = np.arange(stage.n_out)

    def _requantize(self, name: str, t: FixedType, rounding: str, clip) -> None:
        n_mat = self._n_materialized()
        matrix = np.zeros((n_mat, len(self.src)), dtype=np.int64)
        live = self.src >= 0
        matrix[self.src[live], np.flatnonzero(live)] = 1
        self.stages.append(
            RequantizeStage(
                name=name,
                kind="requantize",
                matrix=matrix,
                weight_frac=0,
                bias=np.zeros(len(self.src), dtype=np.int64),
                bias_frac=0,
                out=t,
                quantizer_name=name,
                rounding=rounding,
                clip=clip,
            )
        )
        self.src = np.arange(len(self.src))

    def scale(self, name: str, power: int) -> None:
        """Multiply by ``2**power``: exact, only the binary point moves."""
        if self.pending is not None:
            p = self.pending
            p.weight_frac -= power
            p.bias_frac -= power
            return
        last = self.stages[-1] if self.stages else None
        if not isinstance(last, AffineStage):
            raise ConstraintError(
                f"layer '{name}': scaling by 2**{power} is supported on a quantizer's output",
                "put the multiply/divide after a QActivation",
            )
        out = FixedType(last.out.width, last.out.frac - power, last.out.signed)
        self.stages[-1] = replace(last, out=out, weight_frac=last.weight_frac - power, bias_frac=last.bias_frac - power)
        self.mat_type = out

    def offset(self, name: str, value: float) -> None:
        """``x + value`` with a constant: exact, it joins the bias of the pending (or an identity) matrix."""
        frac = 0
        while value * 2.0**frac != int(value * 2.0**frac):
            frac += 1
            if frac > 40:
                raise ConstraintError(
                    f"layer '{name}': constant {value!r} is not a short binary fraction", "use k/2**n"
                )
        if self.pending is None:
            if self.mat_type is None:
                raise ConstraintError(f"layer '{name}': adding to the raw input", "add after a QActivation")
            n_mat, n = self._n_materialized(), len(self.src)
            matrix = np.zeros((n_mat, n), dtype=np.int64)
            live = self.src >= 0
            matrix[self.src[live], np.flatnonzero(live)] = 1
            zeros = np.zeros(n, np.int64)
            self.pending = _Pending(name, "requantize", matrix, 0, zeros, 0, {}, UNIT_WEIGHT, RequantizeStage)
            self.src = np.arange(n)
        p = self.pending
        if frac > p.bias_frac:
            p.bias = p.bias.astype(np.int64) << (frac - p.bias_frac)
            p.bias_frac = frac
        p.bias = p.bias + int(value * 2.0**p.bias_frac)

    def channel_affine(self, name: str, powers: np.ndarray, mean: np.ndarray, beta: np.ndarray) -> None:
        """``(x - mean) * 2**powers + beta`` element-wise on the pending conv/dense output: exact, the shifts
        scale its matrix columns and the constants join its bias (a batch norm with power-of-two scales)."""
        p = self.pending
        if p is None or self.deferred_pool is not None or not np.array_equal(self.src, np.arange(len(self.src))):
            raise ConstraintError(f"layer '{name}' does not follow a conv/dense directly", "put it right after one")
        powers = np.asarray(powers, dtype=np.int64)
        low = int(powers.min())
        shift = powers - low
        p.matrix = p.matrix.astype(np.int64) << shift[None, :]
        p.bias = p.bias.astype(np.int64) << shift
        p.weight_frac -= low
        p.bias_frac -= low
        lo_w, hi_w = int(p.matrix.min(initial=0)), int(p.matrix.max(initial=0))
        p.weight_type = FixedType.holding(lo_w, hi_w, p.weight_frac, signed=True, symmetric=True)
        const = np.asarray(beta, dtype=np.float64) - np.asarray(mean, dtype=np.float64) * 2.0 ** powers.astype(float)
        frac = 0
        while np.any(const * 2.0**frac != np.round(const * 2.0**frac)):
            frac += 1
            if frac > 40:
                raise ConstraintError(f"layer '{name}': offset not a short binary fraction", "quantize it")
        if frac > p.bias_frac:
            p.bias = p.bias << (frac - p.bias_frac)
            p.bias_frac = frac
        p.bias = p.bias + np.round(const * 2.0**p.bias_frac).astype(np.int64)
        self._record_tensor(name)

    def fold_channels(self, name: str, fold: Callable, extra_bits: int) -> None:
        """Replace the pending conv/dense's weight and bias codes by ``fold(matrix, bias, bias_frac)`` (columns:
        the current tensor's elements), which returns ``(matrix, bias)`` on grids ``extra_bits`` finer."""
        p = self.pending
        if p is None or self.deferred_pool is not None or not np.array_equal(self.src, np.arange(len(self.src))):
            raise ConstraintError(f"layer '{name}' does not follow a conv/dense directly", "put it right after one")
        p.matrix, p.bias = fold(p.matrix, p.bias, p.bias_frac)
        p.weight_frac += extra_bits
        p.bias_frac += extra_bits
        lo_w, hi_w = int(p.matrix.min(initial=0)), int(p.matrix.max(initial=0))
        p.weight_type = FixedType.holding(lo_w, hi_w, p.weight_frac, signed=True, symmetric=True)
        self._record_tensor(name)

    def relu(self, name: str, max_value: float | None = None) -> None:
        """``max(x, 0)`` (and ``min(x, max_value)``) before a quantizer ``q``: exact, since ``q`` is monotonic
        with ``q(0) = 0``, ``q(max(x, 0)) = max(q(x), 0)`` and ``q(min(x, m)) = min(q(x), q(m))``: a clip of
        the quantizer's codes. On already quantized values it clips their codes."""
        if self.mat_type is None:
            raise ConstraintError(f"layer '{name}': ReLU on the raw input", "put it after a QActivation")
        if self.pending is not None:
            self._one_activation(name)
            self.pending.relu = (True, max_value)
            self._record_tensor(name)
            return
        self.clip(name, 0.0, upper=False)
        if max_value is not None:
            self.clip(name, float(max_value), upper=True)

    def leaky_relu(self, name: str, k: int) -> None:
        """LeakyReLU with slope ``2**-k`` between a conv/dense and its quantizer: negative accumulators move
        ``k`` bits right of the binary point (exact), then the quantizer rounds (:class:`Quantizer` ``leak``)."""
        if self.pending is None:
            raise ConstraintError(
                f"layer '{name}' (LeakyReLU) reads quantized values, whose scaled negatives fall off their grid",
                "put the LeakyReLU between the QConv2D/QDense and its QActivation quantizer",
            )
        self._one_activation(name)
        self.pending.leak = (k, name)
        self._record_tensor(name)

    def _one_activation(self, name: str) -> None:
        p = self.pending
        if p is not None and (p.relu is not None or p.leak is not None):
            raise ConstraintError(
                f"layer '{name}': a second activation between '{p.name}' and its quantizer",
                "keep one ReLU/LeakyReLU before the QActivation",
            )

    def floor(self, name: str) -> None:
        """``tf.math.floor``: truncation of the current (quantized) values to integers."""
        if self.pending is not None or self.mat_type is None:
            raise ConstraintError(f"layer '{name}': floor of un-quantized values", "put it after a QActivation")
        t = self.mat_type
        if t.frac <= 0:
            return  # already integers
        out = FixedType.holding(t.min_int >> t.frac, t.max_int >> t.frac, 0, signed=t.signed)
        self.quantizer(name, out, rounding="floor")

    def clip(self, name: str, value: float, upper: bool) -> None:
        """``tf.math.minimum`` (``upper``) / ``maximum`` by a constant on the grid of the current values."""
        last = self.stages[-1] if self.stages else None
        if self.pending is not None or not isinstance(last, AffineStage) or self.deferred_pool is not None:
            raise ConstraintError(
                f"layer '{name}': minimum/maximum by a constant is supported right after a quantizer",
                "put it after a QActivation (or after the floor of the eLink truncation)",
            )
        code = value * 2.0**last.out.frac
        if code != int(code):
            raise ConstraintError(
                f"layer '{name}': bound {value!r} is not on the grid of {last.out.describe()}",
                "use a bound that is a multiple of the quantizer's step",
            )
        lo, hi = last.clip if last.clip is not None else (last.out.min_int, last.out.max_int)
        clip = (lo, min(hi, int(code))) if upper else (max(lo, int(code)), hi)
        self.stages[-1] = replace(last, clip=clip)
        self._record(LayerTypes(name, last.out))

    # -- result --------------------------------------------------------------------------------------------
    def finish(self, name: str) -> IntegerEncoder:
        if self.pending is not None:
            raise ConstraintError(
                f"layer '{self.pending.name}' output is not quantized",
                f"add a QActivation quantizer after '{self.pending.name}'",
            )
        if self.input_type is None or not self.stages:
            raise ConstraintError(
                f"model '{name}' has no quantized layer after its input quantizer",
                "give an encoder with at least one QConv2D or QDense followed by a quantizer",
            )
        if not np.array_equal(self.src, np.arange(len(self.src))) or self.deferred_pool is not None:
            raise ConstraintError(
                f"model '{name}' ends with a reshape, padding or pool after its last quantizer",
                "end the encoder with its latent quantizer",
            )
        full = len(self.columns) == int(np.prod(self.input_shape))
        return IntegerEncoder(
            name=name,
            input_shape=self.input_shape,
            input_type=self.input_type,
            input_quantizer_name=self.input_quantizer,
            stages=tuple(self.stages),
            input_columns=None if full else tuple(int(c) for c in self.columns),
            layer_types=tuple(self.types.values()),
            layers=tuple(self.layers),
        )


def _relu_clip(t: FixedType, rounding: str, clip, max_value: float | None) -> tuple[int, int]:
    """The quantizer's code range after a ReLU: from ``q(0) = 0`` to ``q(max_value)``."""
    from micae.fixed.arith import requantize

    lo, hi = clip if clip is not None else (t.min_int, t.max_int)
    lo = max(lo, 0)
    if max_value is not None:
        frac = 0
        while max_value * 2.0**frac != int(max_value * 2.0**frac):
            frac += 1
        code = int(requantize(np.array([int(max_value * 2.0**frac)], dtype=np.int64), frac, t, rounding, None)[0])
        hi = min(hi, code)
    return lo, hi
