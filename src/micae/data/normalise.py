"""Per-wafer normalisation of TC charges before they reach a model.

* ``sumlog2`` (default): divide each row by ``2**floor(log2(row sum))``, a
  power of two (a shift in hardware). Row sums then lie in [1, 2) and every
  value in [0, 2).
* ``chip``: the ECON-T chip's converter (:mod:`micae.econt.normaliser`, datapath doc B1): integer charges
  (CALQ) shifted so that the MSB of the row sum maps to 1.0 and **truncated** to 1/128,
  ``floor(CALQ * 2**(7 - msb(sum))) / 128``; 8 bits with 1 integer bit, exactly the encoder's default
  input grid, so its input quantizer changes nothing. Needs integer charges.
* ``cmssw``: CMSSW's form (``HGCalConcentratorAutoEncoderImpl.cc``): divide by ``2**int(log2 sum)`` (1 below 2)
  and **round** to 1/256. These values carry 8 fractional bits; the encoder's default 8-bit input quantizer
  (7 fractional bits) rounds them once more, half-to-even to 1/128: the odd multiples of 1/256 move by
  1/256 to the even neighbour. ``encoder.input_quant: {bits: 9, integer: 1, signed: false}`` keeps CMSSW's
  grid, at one more bit per input (a wider input than the chip's).
* ``maxcharge``: divide each row by its maximum; values lie in [0, 1].
* ``none``: values unchanged (cast to float32).

``chip`` and ``sumlog2`` differ only where the sum is 256 or more (the chip cuts the low bits of big charges);
``sumlog2`` is the form for data that is already normalised (floats).

Rows whose sum (or max) is not positive get scale 1 and stay as they are, so
an all-zero row stays all-zero instead of turning into NaN.
"""

from __future__ import annotations

import numpy as np

from micae.errors import ConfigError, DataError

METHODS = ("sumlog2", "chip", "cmssw", "maxcharge", "none")


def _check(tc: np.ndarray) -> np.ndarray:
    tc = np.asarray(tc, dtype=np.float64)
    if tc.ndim != 2:
        raise DataError(
            f"normalise: expected a 2-D array (wafers, TCs), got shape {tc.shape}",
            "pass one row per wafer",
        )
    return tc


def _divide(tc: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (tc / scale[:, None]).astype(np.float32), scale


def sumlog2(tc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Divide each row by 2**floor(log2(sum)); returns (float32 values, float64 scale per row)."""
    tc = _check(tc)
    total = tc.sum(axis=1)
    scale = np.ones_like(total)
    ok = total > 0
    scale[ok] = np.exp2(np.floor(np.log2(total[ok])))
    return _divide(tc, scale)


def maxcharge(tc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Divide each row by its maximum; returns (float32 values, float64 scale per row)."""
    tc = _check(tc)
    peak = tc.max(axis=1) if tc.shape[1] else np.zeros(tc.shape[0])
    scale = np.where(peak > 0, peak, 1.0)
    return _divide(tc, scale)


def none(tc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """No normalisation; returns (float32 values, scale of ones)."""
    tc = _check(tc)
    return _divide(tc, np.ones(tc.shape[0]))


def chip(tc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chip's truncating normalisation of integer charges; returns (float32 values, scale ``2**msb``)."""
    from micae.econt.normaliser import chip_normalise

    return chip_normalise(_integer_charges(tc, "chip"))


def cmssw(tc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CMSSW's rounding normalisation (to 1/256); returns (float32 values, float64 scale per row)."""
    from micae.econt.normaliser import cmssw_normalise

    return cmssw_normalise(_check(tc))


def _integer_charges(tc: np.ndarray, method: str) -> np.ndarray:
    tc = _check(tc)
    if not np.all(tc == np.floor(tc)) or (tc < 0).any():
        bad = np.argwhere((tc != np.floor(tc)) | (tc < 0))[0]
        raise DataError(
            f"normalisation {method!r} needs the chip's integer trigger charges (CALQ >= 0); row {bad[0]}, "
            f"cell {bad[1]} holds {tc[tuple(bad)]!r}",
            "give integer charges, or use normalisation sumlog2 for data that is already normalised",
        )
    return tc.astype(np.int64)


def integer_charges(tc: np.ndarray) -> bool:
    """Whether every charge is a non-negative integer (the chip's CALQ): then the 5E4M module sum exists."""
    tc = np.asarray(tc)
    return tc.dtype.kind in "iu" or bool(np.all(tc == np.floor(tc)) and (tc >= 0).all())


def normalise(tc: np.ndarray, method: str = "sumlog2") -> tuple[np.ndarray, np.ndarray]:
    """Apply the named method; returns ``(values float32 (N, 48), scale float64 (N,))``.

    ``values * scale[:, None]`` gives the charges back (to the input grid with ``chip`` and ``cmssw``).
    """
    funcs = {"sumlog2": sumlog2, "chip": chip, "cmssw": cmssw, "maxcharge": maxcharge, "none": none}
    if method not in funcs:
        raise ConfigError(f"unknown normalisation {method!r}", f"use one of: {', '.join(METHODS)}")
    return funcs[method](tc)
