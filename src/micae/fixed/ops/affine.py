"""Affine stages: ``Q(matrix.T @ x + bias)``, convolutions and dense layers as one constant matrix.

A convolution over a fixed input shape is a (sparse) constant matrix acting on
the flattened (row-major H, W, C) input (:func:`conv2d_as_matrix`), so conv and
dense share one description; padding, cropping and reshapes fold into the
matrix. The RTL is da4ml's constant-matrix-vector solver (shift-add trees with
shared sub-expressions, no multipliers), the bias, then the stage's
:class:`~micae.fixed.ops.quantize.Quantizer`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from micae.fixed.ops.base import LayerTypes
from micae.fixed.ops.quantize import Quantizer
from micae.fixed.types import FixedType

UNIT_WEIGHT = FixedType(2, 0, True)
"""The weights' type of a 0/1 matrix (a selection, a window sum)."""


@dataclass(frozen=True)
class AffineStage:
    """``out = Q(matrix.T @ x + bias)`` with every number an integer code.

    ``matrix`` is ``(n_in, n_out)`` in units of ``2**-weight_frac`` and
    ``bias`` is ``(n_out,)`` in units of ``2**-bias_frac``; ``Q`` is
    ``Quantizer(out, rounding, clip, quantizer_name)``. ``weight_type`` is the
    weights' own format (their QKeras quantizer), None for weights built by hand.
    """

    name: str
    kind: str
    matrix: np.ndarray
    weight_frac: int
    bias: np.ndarray
    bias_frac: int
    out: FixedType
    quantizer_name: str
    meta: dict = field(default_factory=dict)
    rounding: str = "half_even"
    """``half_even`` (QKeras quantizers) or ``floor`` (``tf.math.floor``: the eLink truncation)."""
    clip: tuple[int, int] | None = None
    """Codes clipped to ``[lo, hi]`` after saturation (``tf.math.minimum``/``maximum`` by a constant)."""
    weight_type: FixedType | None = None
    leak: int | None = None
    """A LeakyReLU with slope ``2**-leak`` between the accumulator and the quantizer (:class:`Quantizer`)."""

    @property
    def quantizer(self) -> Quantizer:
        return Quantizer(self.out, self.rounding, self.clip, self.quantizer_name, self.leak)

    @property
    def lo_code(self) -> int:
        return self.quantizer.lo_code

    @property
    def hi_code(self) -> int:
        return self.quantizer.hi_code

    @property
    def n_in(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.matrix.shape[1])

    # -- integer semantics ---------------------------------------------------------------------------------
    def acc_frac(self, in_type: FixedType) -> int:
        return max(in_type.frac + self.weight_frac, self.bias_frac)

    def accumulate(self, x: np.ndarray, in_type: FixedType) -> np.ndarray:
        """Exact accumulators in units of ``2**-acc_frac(in_type)``."""
        frac = self.acc_frac(in_type)
        x = np.asarray(x, dtype=np.int64)
        m = self.matrix.astype(np.int64)
        bound = int(np.abs(m).sum(axis=0).max(initial=0)) * int(np.abs(x).max(initial=0))
        if bound < 2**53:  # every partial sum is an integer below 2**53: float64 (BLAS) is exact and ~50x faster
            prod = (x.astype(np.float64) @ m.astype(np.float64)).astype(np.int64)
        else:
            prod = x @ m
        prod = prod << (frac - in_type.frac - self.weight_frac)
        return prod + (self.bias.astype(np.int64) << (frac - self.bias_frac))

    def requantize(self, acc: np.ndarray, in_type: FixedType) -> np.ndarray:
        return self.quantizer.apply(acc, self.acc_frac(in_type))

    # -- precision rule ------------------------------------------------------------------------------------
    def acc_range(self, in_type: FixedType) -> tuple[int, int]:
        """Smallest and largest possible accumulator over the input range."""
        frac = self.acc_frac(in_type)
        m = self.matrix.astype(np.int64)
        hi_in, lo_in = in_type.max_int, in_type.min_int
        pos, neg = np.clip(m, 0, None), np.clip(m, None, 0)
        top = pos.sum(0) * hi_in + neg.sum(0) * lo_in
        bottom = pos.sum(0) * lo_in + neg.sum(0) * hi_in
        shift = frac - in_type.frac - self.weight_frac
        bias = self.bias.astype(np.int64) << (frac - self.bias_frac)
        return int(((bottom << shift) + bias).min()), int(((top << shift) + bias).max())

    def acc_type(self, in_type: FixedType) -> FixedType:
        """The accumulator: a signed format that holds every accumulator exactly (symmetric rule)."""
        lo, hi = self.acc_range(in_type)
        return FixedType.holding(lo, hi, self.acc_frac(in_type), signed=True, symmetric=True)

    def bias_type(self) -> FixedType:
        """A signed format that holds every bias code exactly at the bias LSB."""
        lo, hi = int(self.bias.min(initial=0)), int(self.bias.max(initial=0))
        return FixedType.holding(lo, hi, self.bias_frac, signed=True, symmetric=True)

    def weights_type(self) -> FixedType:
        """The weights' format: their quantizer's, else the narrowest that holds the codes."""
        if self.weight_type is not None:
            return self.weight_type
        m = self.matrix
        lo, hi = int(m.min(initial=0)), int(m.max(initial=0))
        return FixedType.holding(lo, hi, self.weight_frac, signed=True, symmetric=True)

    def accum_type(self, in_type: FixedType) -> FixedType:
        """Where the layer sums (its ``accum`` precision): the accumulator itself."""
        return self.acc_type(in_type)

    def layer_types(self, in_type: FixedType) -> LayerTypes:
        acc = self.acc_type(in_type)
        return LayerTypes(
            self.name, acc, weight=self.weights_type(), bias=self.bias_type(), accum=self.accum_type(in_type)
        )

    # -- RTL -----------------------------------------------------------------------------------------------
    def trace(self, x, rounding: str = "half_even"):
        """``x @ W + b`` (da4ml's CMVM solver), then the quantizer; ``rounding`` picks its construction."""
        acc = self.traced_products(x)
        bias = self.bias.astype(np.float64) * 2.0**-self.bias_frac
        if np.any(bias != 0):
            acc = acc + bias
        return self.quantizer.trace(acc, rounding)

    def traced_products(self, x):
        """``x @ W`` in real units, as da4ml shift-add trees."""
        return x @ (self.matrix.astype(np.float64) * 2.0**-self.weight_frac)

    # -- description ---------------------------------------------------------------------------------------
    def describe(self, in_type: FixedType) -> dict:
        """report.json's entry for this stage."""
        q = self.quantizer.describe()
        clip = q.pop("clip_codes", None)
        entry = {
            "layer": self.name,
            "kind": self.kind,
            "quantizer": q.pop("quantizer"),
            "out_type": q.pop("out_type"),
            "weight_frac": self.weight_frac,
            "accumulator": self.acc_type(in_type).to_dict(),
            "unrolled_nonzero_weights": int(np.count_nonzero(self.matrix)),
            **q,
            **{k: v for k, v in self.meta.items() if k not in ("weight_type", "kernel")},
        }
        if clip is not None:
            entry["clip_codes"] = clip
        entry["summary"] = self.summary()
        return entry

    def summary(self) -> str:
        nnz = int(np.count_nonzero(self.matrix))
        return (
            f"{self.kind}: {self.n_in} -> {self.n_out} as a constant matrix ({nnz} non-zero weights), "
            f"then {self.quantizer.summary()}"
        )


def conv2d_as_matrix(
    kernel: np.ndarray, input_shape: tuple[int, int, int], strides: tuple[int, int], padding: str
) -> tuple[np.ndarray, tuple[int, int, int], dict]:
    """Unroll a conv kernel ``(kh, kw, cin, cout)`` over a fixed input into a dense matrix.

    Padding follows TensorFlow: ``same`` pads ``total // 2`` before and the rest after.
    Returns the ``(H*W*cin, Ho*Wo*cout)`` matrix, the output shape and the padding used.
    """
    kh, kw, cin, cout = kernel.shape
    h, w, c = input_shape
    if c != cin:
        raise ValueError(f"kernel expects {cin} channels, input has {c}")
    sh, sw = strides
    if padding == "same":
        ho, wo = -(-h // sh), -(-w // sw)
        pad_h = max((ho - 1) * sh + kh - h, 0)
        pad_w = max((wo - 1) * sw + kw - w, 0)
        top, left = pad_h // 2, pad_w // 2
    elif padding == "valid":
        ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
        top = left = pad_h = pad_w = 0
    else:
        raise ValueError(f"unsupported padding {padding!r}")
    mat = np.zeros((h * w * c, ho * wo * cout), dtype=np.int64)
    for oy in range(ho):
        for ox in range(wo):
            out_base = (oy * wo + ox) * cout
            for ky in range(kh):
                iy = oy * sh + ky - top
                if not 0 <= iy < h:
                    continue
                for kx in range(kw):
                    ix = ox * sw + kx - left
                    if not 0 <= ix < w:
                        continue
                    in_base = (iy * w + ix) * c
                    mat[in_base : in_base + c, out_base : out_base + cout] += kernel[ky, kx]
    pads = {"top": top, "bottom": pad_h - top, "left": left, "right": pad_w - left}
    return mat, (ho, wo, cout), pads
