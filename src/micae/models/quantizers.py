"""Quantizer specs <-> QKeras quantizers <-> fixed-point types.

micae only builds (and only accepts) quantizers that hls4ml can reproduce bit
for bit: ``quantized_bits`` with ``alpha`` 1 (or None, which QKeras treats as
1), no stochastic rounding, and ``quantized_relu`` without sigmoid, negative
slope or upper bound. Both round half-to-even and saturate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pydantic import ConfigDict

from micae.config.types import Flag, Integer
from micae.fixed.types import FixedType


@dataclass(frozen=True)
class QuantSpec:
    """``bits`` total, ``integer`` bits (QKeras convention, sign excluded), ``signed``, ``relu``.

    ``relu=True`` builds ``quantized_relu(bits, integer)`` (unsigned, negatives
    clipped to 0); otherwise ``quantized_bits(bits, integer, keep_negative=signed, alpha=1)``.
    """

    __pydantic_config__ = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    bits: Integer(ge=1, le=64)
    """total bits"""
    integer: Integer(ge=-64, le=64)
    """integer bits (QKeras convention: the sign bit excluded)"""
    signed: Flag = True
    """keep negative values (quantized_bits keep_negative)"""
    relu: Flag = False
    """quantized_relu: unsigned, negatives clipped to 0"""

    def fixed_type(self) -> FixedType:
        if self.relu or not self.signed:
            return FixedType(width=self.bits, frac=self.bits - self.integer, signed=False)
        return FixedType(width=self.bits, frac=self.bits - 1 - self.integer, signed=True)

    def qkeras(self):
        from qkeras import quantized_bits, quantized_relu

        if self.relu:
            return quantized_relu(self.bits, self.integer)
        return quantized_bits(self.bits, self.integer, keep_negative=self.signed, alpha=1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "") -> QuantSpec:
        """``{bits, integer, signed, relu}`` validated (ConfigError ``<where>.bits = ...: ...``)."""
        from micae.config.errors import validate

        return validate(cls, d, prefix=f"{where}." if where else "")


def describe_quantizer(q) -> str:
    return str(q) if q is not None else "none"


def fixed_type_of(quantizer, where: str) -> FixedType:
    """The exact output grid of a QKeras quantizer, or a ConstraintError naming why it has none."""
    from qkeras import quantized_bits, quantized_relu

    from micae.errors import ConstraintError

    fix = "use quantized_bits(bits, integer, keep_negative=..., alpha=1) or quantized_relu(bits, integer)"
    if isinstance(quantizer, quantized_bits):
        if quantizer.alpha not in (None, 1, 1.0):
            raise ConstraintError(
                f"{where}: quantizer {quantizer} has alpha={quantizer.alpha!r}; a non-unit or "
                "'auto'/'auto_po2' scale cannot be reproduced bit-exactly by hls4ml",
                "set alpha=1",
            )
        if quantizer.use_stochastic_rounding:
            raise ConstraintError(f"{where}: stochastic rounding cannot be made bit-exact", fix)
        bits, integer = int(quantizer.bits), int(quantizer.integer)
        signed = bool(quantizer.keep_negative)
        if bits - int(signed) <= 0:
            raise ConstraintError(f"{where}: {bits}-bit binary quantizer is not supported", fix)
        frac = bits - int(signed) - integer
        return FixedType(width=bits, frac=frac, signed=signed)
    if isinstance(quantizer, quantized_relu):
        if quantizer.use_sigmoid or quantizer.negative_slope or quantizer.relu_upper_bound:
            raise ConstraintError(
                f"{where}: quantized_relu with sigmoid, negative_slope or relu_upper_bound "
                "cannot be reproduced bit-exactly",
                "use plain quantized_relu(bits, integer)",
            )
        if quantizer.use_stochastic_rounding:
            raise ConstraintError(f"{where}: stochastic rounding cannot be made bit-exact", fix)
        bits, integer = int(quantizer.bits), int(quantizer.integer)
        return FixedType(width=bits, frac=bits - integer, signed=False)
    raise ConstraintError(f"{where}: quantizer {describe_quantizer(quantizer)} is not supported", fix)
