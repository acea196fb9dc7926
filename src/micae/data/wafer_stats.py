"""Distributions that describe a set of wafers, and how two sets differ (two-sample Kolmogorov-Smirnov).

Four distributions, computed on wafers with at least one non-zero TC (all-zero wafers are dropped, as the
public files are):

* ``lit_cells``: non-zero TCs per wafer (1..48).
* ``nonzero_charge``: every non-zero CALQ value, pooled over wafers.
* ``tc_occupancy``: the TC number (0..47) of every non-zero TC, pooled over wafers. Its histogram is the
  per-TC occupancy across the wafer normalised to a distribution, so the KS statistic compares the
  *shape* of the occupancy over the wafer (flat or not, and where), not its level (``lit_cells`` tests the
  level). KS between the 48 per-TC occupancy values themselves would be 1 for any level mismatch and is
  dominated by the counting noise of a 4000-row file, so it is not used.
* ``wafer_sum``: the sum of the 48 CALQ per wafer.
"""

from __future__ import annotations

import numpy as np

from micae.data.geometry import N_TC

STATISTICS = ("lit_cells", "nonzero_charge", "tc_occupancy", "wafer_sum")
DESCRIPTIONS = {
    "lit_cells": "non-zero TCs per wafer",
    "nonzero_charge": "non-zero CALQ values, pooled over wafers",
    "tc_occupancy": "TC number (0-47) of every non-zero TC: the shape of the per-TC occupancy over the wafer",
    "wafer_sum": "sum of the 48 CALQ per wafer",
}


def non_empty(charges: np.ndarray) -> np.ndarray:
    """The wafers with at least one non-zero TC."""
    q = np.asarray(charges)
    return q[(q > 0).any(axis=1)]


def wafer_statistics(charges: np.ndarray) -> dict[str, np.ndarray]:
    """The four samples of :data:`STATISTICS` plus ``occupancy`` (48 per-TC fractions) for ``(N, 48)`` charges."""
    q = non_empty(charges)
    lit = q > 0
    return {
        "lit_cells": lit.sum(axis=1),
        "nonzero_charge": q[lit],
        "tc_occupancy": np.nonzero(lit)[1],
        "wafer_sum": q.sum(axis=1),
        "occupancy": lit.mean(axis=0) if len(q) else np.zeros(N_TC),
    }


def ks_statistics(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    """Two-sample KS statistic (scipy.stats.ks_2samp) of every distribution in :data:`STATISTICS`."""
    from scipy.stats import ks_2samp

    return {k: float(ks_2samp(a[k], b[k]).statistic) for k in STATISTICS}


def charge_bins(max_charge: float) -> np.ndarray:
    """Histogram edges for CALQ: unit bins up to 32 (the code steps matter there), then 8 per octave."""
    unit = np.arange(0.5, 32.5, 1.0)
    top = max(float(max_charge), 64.0)
    octaves = np.exp2(np.arange(5, np.ceil(np.log2(top)) + 1e-9, 1 / 8))
    return np.concatenate([unit, octaves[octaves > 32.5], [np.inf]])


def lit_bins() -> np.ndarray:
    return np.arange(0.5, N_TC + 1.5, 1.0)
