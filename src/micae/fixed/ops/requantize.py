"""Requantize stages: values already on a grid, re-rounded (a quantizer after a quantizer, the eLink tail).

The per-eLink truncation tail ``minimum(floor(z * 2**k) / 2**k, bound)`` lowers to
one of these: the scalings move the binary point, ``floor`` is the quantizer's
rounding, ``minimum``/``maximum`` its clip, and an added constant (micae's
trainable form of the tail) its bias. The matrix only selects (each output reads
one input, or a zero), so the RTL is wiring before the quantizer: no adders.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from micae.fixed.ops.affine import UNIT_WEIGHT, AffineStage
from micae.fixed.types import FixedType


@dataclass(frozen=True)
class RequantizeStage(AffineStage):
    """``Q(x[select] * 2**-weight_frac + bias)``: an :class:`AffineStage` whose matrix picks its inputs
    (``kind`` ``"requantize"``)."""

    weight_type: FixedType | None = UNIT_WEIGHT

    def traced_products(self, x):
        """The selected inputs (wiring), scaled by ``2**-weight_frac`` (the binary point moves)."""
        from micae.fixed import traced

        m = self.matrix
        if not np.array_equal(m.sum(axis=0), (m.max(axis=0) > 0).astype(int)) or m.min() < 0:
            raise AssertionError("a requantize stage must select its inputs")
        flat = traced.elements(x)
        picked = [flat[int(r)] for r in m.argmax(axis=0)]
        for j in np.flatnonzero(m.max(axis=0) == 0):
            picked[j] = traced.const(Decimal(0), picked[j])
        acc = traced.from_elements(picked, x)
        return acc * 2.0**-self.weight_frac if self.weight_frac else acc

    def summary(self) -> str:
        scale = f" x 2^{-self.weight_frac}" if self.weight_frac else ""
        offset = " + constant" if np.any(self.bias != 0) else ""
        return f"requantize {self.n_out} values{scale}{offset}: {self.quantizer.summary()}"
