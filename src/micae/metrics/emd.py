"""Energy Mover's Distance (EMD) between wafers on the hexagonal TC geometry.

As in the public ECON-T benchmark: both 48-vectors are normalised to unit
sum and the optimal-transport cost (POT ``ot.emd2``) is taken with the
euclidean distance between TC centres as ground distance, in emd units
(cm / ``emd_unit_cm``, i.e. half a TC pitch: neighbouring TCs are 2.0 apart,
1.8 across some quadrant borders).

Zero-sum handling (a reconstruction that is all zero, or all negative before
clipping): negative values are clipped to 0 first. If exactly one of the two
wafers then sums to zero the EMD is undefined and the result is NaN for that
sample; if both sum to zero they are identical and the result is 0. Count the
undefined ones with ``np.isnan(d).sum()`` and average the rest with
``np.nanmean``, or use :func:`emd_summary`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from micae.data.geometry import N_TC, tc_coordinates, unarrange
from micae.errors import DataError


@lru_cache(maxsize=1)
def ground_distance() -> np.ndarray:
    """``(48, 48)`` float64 euclidean distances between TC centres in emd units."""
    c = tc_coordinates("emd")
    d = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    d.setflags(write=False)
    return d


def _as_tc(x: np.ndarray, layout: str | None, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if layout is not None and x.ndim > 2:
        x = unarrange(x.reshape(-1, *x.shape[-3:]), layout)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] != N_TC:
        raise DataError(
            f"emd: {name} has shape {x.shape}, expected (N, 48)", "pass TC vectors, or layout=... for images"
        )
    if not np.all(np.isfinite(x)):
        row = int(np.argwhere(~np.isfinite(x))[0, 0])
        raise DataError(f"emd: {name} sample {row} has NaN/inf values", "check the model output for overflow")
    return np.clip(x, 0.0, None)


def emd(y_true: np.ndarray, y_pred: np.ndarray, layout: str | None = None) -> np.ndarray:
    """Per-sample EMD ``(N,)`` float64 between ``(N, 48)`` TC vectors.

    With ``layout`` ("4x4x3"/"8x8"), inputs may be model-layout images ``(N, H, W, C)``
    (or ``(N, n_parts, H, W, C)``, giving one value per wafer). See the module doc for NaN.
    """
    import ot  # POT; imported lazily because it is slow to import

    a = _as_tc(y_true, layout, "y_true")
    b = _as_tc(y_pred, layout, "y_pred")
    if a.shape != b.shape:
        raise DataError(f"emd: y_true has shape {a.shape} but y_pred has {b.shape}", "pass matching batches")
    cost = np.ascontiguousarray(ground_distance())
    sa, sb = a.sum(axis=1), b.sum(axis=1)
    out = np.full(len(a), np.nan)
    out[(sa <= 0) & (sb <= 0)] = 0.0
    for i in np.flatnonzero((sa > 0) & (sb > 0)):
        # cells without charge on either side carry no mass: the transport problem on the support is the
        # same optimum, and ~2x faster on sparse wafers (POT's per-call overhead dominates the rest)
        ia, ib = np.flatnonzero(a[i]), np.flatnonzero(b[i])
        out[i] = ot.emd2(a[i, ia] / sa[i], b[i, ib] / sb[i], np.ascontiguousarray(cost[np.ix_(ia, ib)]))
    return out


def emd_summary(values: np.ndarray) -> dict:
    """Mean, median, 68% interval and number of undefined (NaN) entries of per-sample EMDs."""
    v = np.asarray(values, dtype=np.float64)
    ok = v[~np.isnan(v)]
    if not len(ok):
        return {
            "mean": float("nan"),
            "median": float("nan"),
            "q16": float("nan"),
            "q84": float("nan"),
            "n": 0,
            "n_undefined": int(len(v)),
        }
    q16, q50, q84 = np.percentile(ok, [16, 50, 84])
    return {
        "mean": float(ok.mean()),
        "median": float(q50),
        "q16": float(q16),
        "q84": float(q84),
        "n": int(len(ok)),
        "n_undefined": int(len(v) - len(ok)),
    }
