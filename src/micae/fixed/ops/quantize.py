"""The quantizer every rounding stage ends with: round, saturate, clip.

QKeras quantizers round half to even (``tf.round``; HLS ``AP_RND_CONV``) and
saturate (``AP_SAT``); ``tf.math.floor`` (the per-eLink truncation) rounds down
(``AP_TRN``); ``tf.math.minimum``/``maximum`` by a constant clip the codes after
saturation. One :class:`Quantizer` describes all of them, exactly, as integers
(:func:`micae.fixed.arith.requantize`) and as traced da4ml operations
(:mod:`micae.fixed.traced`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from micae.fixed.arith import ROUNDINGS, floor_shift, requantize, round_half_even_shift
from micae.fixed.types import FixedType


@dataclass(frozen=True)
class Quantizer:
    """``clip(saturate(round(acc), out))`` with ``rounding`` in :data:`micae.fixed.arith.ROUNDINGS`.

    ``clip`` is ``(lo, hi)`` in codes of ``out`` (``minimum``/``maximum`` by a constant), or None.
    ``leak`` is a LeakyReLU with slope ``2**-leak`` before the rounding: negative accumulators are
    scaled by it (exact: only the binary point moves), or None.
    """

    out: FixedType
    rounding: str = "half_even"
    clip: tuple[int, int] | None = None
    name: str = ""
    leak: int | None = None

    def __post_init__(self) -> None:
        if self.rounding not in ROUNDINGS:
            raise ValueError(f"unknown rounding {self.rounding!r}; choose one of {ROUNDINGS}")

    @property
    def lo_code(self) -> int:
        return self.out.min_int if self.clip is None else max(self.out.min_int, self.clip[0])

    @property
    def hi_code(self) -> int:
        return self.out.max_int if self.clip is None else min(self.out.max_int, self.clip[1])

    # -- integer semantics ---------------------------------------------------------------------------------
    def leaked(self, acc: np.ndarray, acc_frac: int) -> tuple[np.ndarray, int]:
        """``(accumulators, their frac)`` after the LeakyReLU: negatives keep their codes one ``leak``
        further right of the binary point (times ``2**-leak``), the rest are shifted left to match."""
        if self.leak is None:
            return acc, acc_frac
        acc = np.asarray(acc, dtype=np.int64)
        return np.where(acc < 0, acc, acc << self.leak), acc_frac + self.leak

    def apply(self, acc: np.ndarray, acc_frac: int) -> np.ndarray:
        """Output codes of exact accumulators in units of ``2**-acc_frac``."""
        acc, acc_frac = self.leaked(acc, acc_frac)
        return requantize(acc, acc_frac, self.out, self.rounding, self.clip)

    def rounded(self, acc: np.ndarray, acc_frac: int) -> np.ndarray:
        """The codes before saturation and clipping (to count what saturates)."""
        acc, acc_frac = self.leaked(acc, acc_frac)
        shift = acc_frac - self.out.frac
        return floor_shift(acc, shift) if self.rounding == "floor" else round_half_even_shift(acc, shift)

    def can_tie(self, acc_frac: int) -> bool:
        """Whether accumulators with ``acc_frac`` fractional bits can hit a rounding tie (a floor has none)."""
        return self.rounding == "half_even" and acc_frac + (self.leak or 0) > self.out.frac

    def ties(self, acc: np.ndarray, acc_frac: int) -> np.ndarray:
        """Which accumulators sit exactly half an output LSB between two codes."""
        acc = np.asarray(acc, dtype=np.int64)
        if not self.can_tie(acc_frac):
            return np.zeros_like(acc, dtype=bool)
        acc, acc_frac = self.leaked(acc, acc_frac)
        shift = acc_frac - self.out.frac
        rem = acc & ((np.int64(1) << shift) - 1)
        return rem == (np.int64(1) << (shift - 1))

    # -- RTL -----------------------------------------------------------------------------------------------
    def trace(self, acc, mode: str = "half_even"):
        """The quantizer on traced accumulators; ``mode`` picks the half-even construction
        (:data:`micae.fixed.traced.ROUNDING_MODES`). A floor is free wiring plus the saturation."""
        from micae.fixed import traced

        if self.leak is not None:
            acc = traced.map_elements(acc, self._leaky)
        if self.rounding == "floor":
            out = traced.map_elements(acc, self._floor_saturate)
        else:
            out = traced.requantize_array(acc, self.out, mode)
        return out if self.clip is None else traced.map_elements(out, self._clip)

    def _leaky(self, v):
        """``v * 2**-leak if v < 0 else v``: a shift and a mux, only where ``v`` can be negative."""
        from micae.fixed import traced

        if v.low >= 0:
            return v
        scaled = v * (Decimal(2) ** -self.leak)
        if v.high < 0:
            return scaled
        return traced.if_negative(v, scaled, v, scaled.low, v.high)

    def _floor_saturate(self, v):
        """``tf.math.floor`` onto ``out``'s grid (dropping low bits: free wiring), then saturation."""
        from micae.fixed import traced

        out = self.out
        if v.low == v.high:
            code = int(np.floor(float(v.low) * 2.0**out.frac))
            code = min(max(code, out.min_int), out.max_int)
            return traced.const(Decimal(code) * Decimal(2) ** -out.frac, v)
        y = traced.floor_to(v, out.frac) if int(v.kif[2]) > out.frac else v
        return traced.saturate(y, y, out)

    def _clip(self, v):
        """``minimum``/``maximum`` by a constant: a compare and a mux, only where the range can reach it."""
        from micae.fixed import traced

        lsb = Decimal(2) ** -self.out.frac
        hi, lo = self.hi_code * lsb, self.lo_code * lsb
        if v.high > hi:
            v = traced.if_negative(v - hi, v, hi, min(v.low, hi), hi)
        if v.low < lo:
            v = traced.if_negative(v - lo, lo, v, lo, max(v.high, lo))
        return v

    # -- description ---------------------------------------------------------------------------------------
    def describe(self) -> dict:
        """The quantizer's keys of a report.json stage entry."""
        entry = {"quantizer": self.name, "out_type": self.out.to_dict(), "rounding": self.rounding}
        if self.clip is not None:
            entry["clip_codes"] = [self.lo_code, self.hi_code]
        if self.leak is not None:
            entry["leaky_relu_slope"] = 2.0**-self.leak
        return entry

    def summary(self) -> str:
        how = "floor" if self.rounding == "floor" else "round half to even"
        if self.leak is not None:
            how = f"LeakyReLU (slope 2**-{self.leak}), {how}"
        text = f"{how}, saturate to {self.out.describe()}"
        if self.clip is not None:
            text += f", clip codes to [{self.lo_code}, {self.hi_code}]"
        return text
