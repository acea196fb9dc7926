"""Pooling stages: max-pools (their own stage) and average pools (an affine stage with a power-of-two divide).

A max-pool picks values already on a grid, so it needs no quantizer: the maximum
of values on a grid is on that grid, and max commutes with every (monotone)
quantizer. Its RTL is a tree of compare-and-mux. An average over a
power-of-two window is a sum (a matrix of ones) shifted by ``log2(window)``
bits, exact in fixed point, then its quantizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from micae.fixed.ops.affine import AffineStage
from micae.fixed.ops.base import LayerTypes
from micae.fixed.types import FixedType


@dataclass(frozen=True)
class MaxPoolStage:
    """``out[j] = max(x[groups[j, :]])``; index ``-1`` is a constant zero (padding)."""

    name: str
    groups: np.ndarray
    out: FixedType
    quantizer_name: str = ""
    kind: str = "maxpool"
    meta: dict = field(default_factory=dict)
    rounding: str = "none"
    clip: tuple[int, int] | None = None

    @property
    def quantizer(self) -> None:
        return None

    @property
    def n_in(self) -> int:
        return int(self.meta.get("n_in", int(self.groups.max(initial=-1)) + 1))

    @property
    def n_out(self) -> int:
        return int(self.groups.shape[0])

    @property
    def lo_code(self) -> int:
        return self.out.min_int

    @property
    def hi_code(self) -> int:
        return self.out.max_int

    # -- integer semantics ---------------------------------------------------------------------------------
    def acc_frac(self, in_type: FixedType) -> int:
        return in_type.frac

    def accumulate(self, x: np.ndarray, in_type: FixedType) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        padded = np.concatenate([x, np.zeros((len(x), 1), dtype=np.int64)], axis=1)  # column -1 is zero
        return padded[:, self.groups].max(axis=2)

    def requantize(self, acc: np.ndarray, in_type: FixedType) -> np.ndarray:
        return acc

    # -- precision rule ------------------------------------------------------------------------------------
    def acc_range(self, in_type: FixedType) -> tuple[int, int]:
        lo = in_type.min_int if (self.groups >= 0).all(axis=1).any() else max(in_type.min_int, 0)
        return lo, in_type.max_int

    def acc_type(self, in_type: FixedType) -> FixedType:
        """A maximum keeps its inputs' type: nothing accumulates."""
        return in_type

    def layer_types(self, in_type: FixedType) -> LayerTypes:
        return LayerTypes(self.name, in_type)

    # -- RTL -----------------------------------------------------------------------------------------------
    def trace(self, x, rounding: str = "half_even"):
        """``max`` over each group (``-1``: a constant zero) as a tree of compare-and-mux."""
        from decimal import Decimal

        from micae.fixed import traced

        flat = traced.elements(x)
        outs = []
        for group in self.groups:
            vals = [flat[i] for i in dict.fromkeys(int(g) for g in group if g >= 0)]
            if (group < 0).any():
                vals.append(Decimal(0))
            while len(vals) > 1:
                vals = [_max2(vals[i], vals[i + 1]) for i in range(0, len(vals) - 1, 2)] + (
                    [vals[-1]] if len(vals) % 2 else []
                )
            outs.append(vals[0])
        return traced.from_elements(outs, x)

    # -- description ---------------------------------------------------------------------------------------
    def describe(self, in_type: FixedType) -> dict:
        """report.json's entry for this stage."""
        return {
            "layer": self.name,
            "kind": self.kind,
            "quantizer": self.quantizer_name,
            "out_type": self.out.to_dict(),
            "weight_frac": 0,
            "accumulator": self.acc_type(in_type).to_dict(),
            "unrolled_nonzero_weights": 0,
            "window": int(self.groups.shape[1]),
            **{k: v for k, v in self.meta.items() if k != "n_in"},
            "summary": self.summary(),
        }

    def summary(self) -> str:
        return f"max-pool: the largest of {int(self.groups.shape[1])} values, {self.n_out} outputs (no rounding)"


def _max2(a, b):
    from decimal import Decimal

    from micae.fixed import traced

    if isinstance(a, Decimal):
        a, b = b, a
    if isinstance(b, Decimal):
        return traced.if_negative(a - b, b, a, max(a.low, b), max(a.high, b))
    return traced.if_negative(a - b, b, a, max(a.low, b.low), max(a.high, b.high))


@dataclass(frozen=True)
class AvgPoolStage(AffineStage):
    """An average over a power-of-two window: the window's sum (a matrix of ones), ``weight_frac`` =
    ``log2(window)``, then its quantizer (``kind`` ``"avgpool"``)."""

    def accum_type(self, in_type: FixedType) -> FixedType:
        """hls4ml sums the window in ``accum_t``, then divides: room for the sum (``weight_frac`` more bits)."""
        acc = self.acc_type(in_type)
        return FixedType(acc.width + self.weight_frac, acc.frac, True)

    def summary(self) -> str:
        return (
            f"average-pool: window sums (a matrix of ones) x 2^-{self.weight_frac}, {self.n_out} outputs, "
            f"then {self.quantizer.summary()}"
        )
