"""Per-wafer normalisation of TC charges before they reach a model.

* ``sumlog2`` (default): divide each row by ``2**floor(log2(row sum))``, a
  power of two (a shift in hardware). Row sums then lie in [1, 2) and every
  value in [0, 2).
* ``maxcharge``: divide each row by its maximum; values lie in [0, 1].
* ``none``: values unchanged (cast to float32).

Rows whose sum (or max) is not positive get scale 1 and stay as they are, so
an all-zero row stays all-zero instead of turning into NaN.
"""

from __future__ import annotations

import numpy as np

from micae.errors import ConfigError, DataError

METHODS = ("sumlog2", "maxcharge", "none")


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


def normalise(tc: np.ndarray, method: str = "sumlog2") -> tuple[np.ndarray, np.ndarray]:
    """Apply the named method; returns ``(values float32 (N, 48), scale float64 (N,))``.

    ``values * scale[:, None]`` gives the charges back.
    """
    funcs = {"sumlog2": sumlog2, "maxcharge": maxcharge, "none": none}
    if method not in funcs:
        raise ConfigError(f"unknown normalisation {method!r}", f"use one of: {', '.join(METHODS)}")
    return funcs[method](tc)
