"""The stage kinds of the integer model, one module each, each holding all of its meaning.

* :mod:`~micae.fixed.ops.affine` -- conv and dense as one constant matrix, bias, quantizer;
* :mod:`~micae.fixed.ops.pool` -- max-pool (no quantizer) and power-of-two average pool;
* :mod:`~micae.fixed.ops.requantize` -- re-rounding quantized values (the per-eLink truncation tail);
* :mod:`~micae.fixed.ops.quantize` -- the quantizer they end with (round, saturate, clip).

Every stage provides the interface of :class:`~micae.fixed.ops.base.Stage`: integer
semantics, precision rule, da4ml trace and description. Verification, the hls4ml
precisions and the RTL only call that interface; none of them switches on a stage's kind.
"""

from micae.fixed.ops.affine import UNIT_WEIGHT, AffineStage, conv2d_as_matrix
from micae.fixed.ops.base import LayerTypes, Stage
from micae.fixed.ops.pool import AvgPoolStage, MaxPoolStage
from micae.fixed.ops.quantize import Quantizer
from micae.fixed.ops.requantize import RequantizeStage

__all__ = [
    "UNIT_WEIGHT",
    "AffineStage",
    "AvgPoolStage",
    "LayerTypes",
    "MaxPoolStage",
    "Quantizer",
    "RequantizeStage",
    "Stage",
    "conv2d_as_matrix",
]
