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

``empty_cost`` (an explicit option, off by default) gives that undefined case a value instead: the
unbalanced EMD's cost of destroying (or creating) the whole unit of charge. ``micae evaluate`` sets it to
:func:`empty_reconstruction_cost`, the wafer's largest TC-to-TC distance (13.76), an upper bound of every
balanced EMD on the wafer, so an algorithm that sends nothing never scores better than one that sends
something.

The optimum is the same as POT's ``ot.emd2`` (same network-simplex solver, called without its per-call
backend overhead, ~15x faster); where either wafer has a single lit cell the transport plan is forced and
the cost is the charge-weighted distance to that cell, and identical wafers cost 0.
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


def empty_reconstruction_cost() -> float:
    """The EMD charged for an empty reconstruction of a non-empty wafer (``emd(..., empty_cost=...)``).

    The largest distance between two TC centres (13.76 emd units): moving the whole unit of charge across
    the wafer costs at most this much, so no balanced EMD exceeds it.
    """
    return float(ground_distance().max())


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


def emd(
    y_true: np.ndarray, y_pred: np.ndarray, layout: str | None = None, *, empty_cost: float | None = None
) -> np.ndarray:
    """Per-sample EMD ``(N,)`` float64 between ``(N, 48)`` TC vectors.

    With ``layout`` ("4x4x3"/"8x8"), inputs may be model-layout images ``(N, H, W, C)``
    (or ``(N, n_parts, H, W, C)``, giving one value per wafer). See the module doc for NaN;
    ``empty_cost`` replaces that NaN (exactly one wafer empty) by the given cost.
    """
    a = _as_tc(y_true, layout, "y_true")
    b = _as_tc(y_pred, layout, "y_pred")
    if a.shape != b.shape:
        raise DataError(f"emd: y_true has shape {a.shape} but y_pred has {b.shape}", "pass matching batches")
    sa, sb = a.sum(axis=1), b.sum(axis=1)
    out = np.full(len(a), np.nan)
    out[(sa <= 0) & (sb <= 0)] = 0.0
    if empty_cost is not None:
        out[(sa > 0) != (sb > 0)] = float(empty_cost)
    both = (sa > 0) & (sb > 0)
    if not both.any():
        return out
    pa, pb = a[both] / sa[both, None], b[both] / sb[both, None]
    out[both] = _balanced(pa, pb)
    return out


def _balanced(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """EMD of unit-sum rows: 0 for identical rows, closed form where a side has one lit cell, else the LP."""
    cost = ground_distance()
    res = np.zeros(len(pa))
    na, nb = (pa > 0).sum(axis=1), (pb > 0).sum(axis=1)
    same = (pa == pb).all(axis=1)
    one_a, one_b = ~same & (na == 1), ~same & (nb == 1) & (na != 1)
    res[one_a] = (pb[one_a] * cost[pa[one_a].argmax(axis=1)]).sum(axis=1)
    res[one_b] = (pa[one_b] * cost[pb[one_b].argmax(axis=1)]).sum(axis=1)
    solve = _solver()
    for i in np.flatnonzero(~same & (na > 1) & (nb > 1)):
        # cells without charge on either side carry no mass: the transport problem on the support is the
        # same optimum, and ~2x faster on sparse wafers
        ma, mb = pa[i] > 0, pb[i] > 0
        res[i] = solve(pa[i][ma], pb[i][mb], np.ascontiguousarray(cost[ma][:, mb]))
    return res


@lru_cache(maxsize=1)
def _solver():
    """POT's network simplex on one problem: ``emd_c`` as ``ot.emd2`` calls it, or ``ot.emd2`` itself."""
    import ot  # POT; imported lazily because it is slow to import

    try:
        from ot.lp.emd_wrap import emd_c
    except ImportError:  # another POT layout: the public entry point (same optimum, more overhead per call)
        return lambda a, b, m: float(ot.emd2(a, b, m))

    def solve(a: np.ndarray, b: np.ndarray, m: np.ndarray) -> float:
        b = b * a.sum() / b.sum()  # exactly as ot.emd2 balances the two masses
        _, value, _, _, code = emd_c(a, b, m, 100000, 1)
        if code != 1:  # not OPTIMAL: let POT say why
            return float(ot.emd2(a, b, m))
        return float(value)

    return solve


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
