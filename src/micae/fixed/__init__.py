"""The integer (fixed-point) description of a quantized encoder.

This is the single source of truth shared by verification, the HLS precision
overrides and the open-source RTL route: every latent value is an integer
times a power-of-two LSB, every accumulator is exact, and every quantizer
rounds half-to-even (QKeras' ``tf.round``, HLS ``AP_RND_CONV``) and saturates
(``AP_SAT``). Each stage kind is one module of :mod:`micae.fixed.ops`.
"""

from micae.fixed.arith import quantize_float, requantize, round_half_even_shift
from micae.fixed.graph import IntegerEncoder
from micae.fixed.ops import AffineStage, AvgPoolStage, MaxPoolStage, Quantizer, RequantizeStage
from micae.fixed.types import FixedType

__all__ = [
    "FixedType",
    "quantize_float",
    "requantize",
    "round_half_even_shift",
    "AffineStage",
    "AvgPoolStage",
    "IntegerEncoder",
    "MaxPoolStage",
    "Quantizer",
    "RequantizeStage",
]
