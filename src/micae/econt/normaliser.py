"""The autoencoder's input normalisation and its module sum, as the chip computes them (datapath doc B1, B2).

The chip's converter sums the 48 CALQ (22-bit unsigned), finds the most significant bit of the sum and shifts
every CALQ so that the sum's MSB maps to 1.0: ``raw = ((CALQ >> r) << l) mod 256`` with ``r = min(max(msb - 7,
0), 14)`` and ``l = max(7 - msb, 0)``, read as 8-bit unsigned fixed point with 1 integer bit (``raw / 128``).
Below a sum of 2**22 this equals ``floor(CALQ * 2**(7 - msb))``; the modulo only acts beyond the design range.
The sum leaves the chip beside the latents as a 9-bit 5E4M code.

CMSSW instead divides by ``2**int(log2 sum)`` (1 for sums below 2) and rounds to 1/256
(``HGCalConcentratorAutoEncoderImpl.cc:175-195``): :func:`cmssw_inputs`.
"""

from __future__ import annotations

import numpy as np

from micae.econt.codes import SUM_5E4M, msb
from micae.errors import DataError

CALQ_BITS = 22
INPUT_FRAC = 7  # the 8-bit input: value = raw / 128
INPUT_BITS = 8
CMSSW_INPUT_FRAC = 8  # CMSSW rounds to 1/256


def _calq(calq: np.ndarray) -> np.ndarray:
    c = np.asarray(calq)
    if c.ndim != 2 or c.shape[1] != 48:
        raise DataError(f"ECON-T normaliser: expected (N, 48) CALQ, got shape {c.shape}", "pass one row per wafer")
    if c.dtype.kind == "f" and (not np.all(np.isfinite(c)) or np.any(c != np.floor(c))):
        raise DataError(
            "ECON-T normaliser: CALQ must be integers (the chip's 22-bit trigger charges)",
            "pass integer charges, or use normalisation sumlog2 for data that is already normalised",
        )
    c = c.astype(np.int64)
    if (c < 0).any():
        raise DataError("ECON-T normaliser: negative CALQ", "trigger charges are >= 0")
    return c


def chip_inputs(calq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(N, 48)`` CALQ -> (raw 8-bit input codes (N, 48), module sums (N,), msb of each sum (N,)), all int64."""
    c = _calq(calq)
    total = c.sum(axis=1)
    top = msb(total)
    right = np.clip(top - INPUT_FRAC, 0, 14)[:, None]
    left = np.maximum(INPUT_FRAC - top, 0)[:, None]
    raw = ((c >> right) << left) & ((1 << INPUT_BITS) - 1)
    return raw, total, top


def chip_normalise(calq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chip's normalised inputs as float32 values ``raw / 128`` (exact) and the scale ``2**msb`` per wafer."""
    raw, _, top = chip_inputs(calq)
    return (raw / (1 << INPUT_FRAC)).astype(np.float32), np.exp2(top.astype(np.float64))


def cmssw_normalise(charges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CMSSW's form: divide by ``2**int(log2 sum)`` (1 below a sum of 2), round half up to 1/256."""
    c = np.asarray(charges, dtype=np.float64)
    if c.ndim != 2:
        raise DataError(f"CMSSW normaliser: expected (N, 48) charges, got shape {c.shape}", "pass one row per wafer")
    total = c.sum(axis=1)
    scale = np.ones_like(total)
    big = total >= 2
    scale[big] = np.exp2(np.floor(np.log2(total[big])))
    step = float(1 << CMSSW_INPUT_FRAC)
    values = np.floor(c / scale[:, None] * step + 0.5) / step
    return values.astype(np.float32), scale


def module_sum_code(calq: np.ndarray) -> np.ndarray:
    """The 9-bit 5E4M code of each wafer's CALQ sum (what the frame carries beside the latents)."""
    return SUM_5E4M.encode(_calq(calq).sum(axis=1))
