"""Where each algorithm wins: EMD by wafer occupancy, and per-wafer comparisons against the QAT encoder.

A mean EMD over all test wafers hides which wafers an algorithm is good at. A physicist
comparing the autoencoder with ECON-T's Best Choice and STC looks at it against the
wafer's occupancy (how many trigger cells carry charge): BC is nearly lossless on
wafers with fewer lit cells than it sends, STC never moves charge out of its 2x2 group,
and the autoencoder's strength is in dense showers. Both summaries here are computed
once at training time and stored in metrics.json; the report only reads them.
"""

from __future__ import annotations

import numpy as np

OCCUPANCY_EDGES = (0, 12, 16, 20, 28, 49)
"""Bin edges ``[lo, hi)`` in lit (non-zero) trigger cells per wafer. 12: Best Choice's default sends
11 cells, so the first bin holds the wafers it sends almost losslessly; 16 is the synthetic data's median."""


def occupancy(x: np.ndarray) -> np.ndarray:
    """Lit (non-zero) cells per wafer of ``x`` (wafers, ...); repeated arrangement pixels are 0 there."""
    x = np.asarray(x)
    return (x.reshape(len(x), -1) > 0).sum(axis=1)


def emd_by_occupancy(occ: np.ndarray, emds: dict[str, np.ndarray], edges=OCCUPANCY_EDGES) -> list[dict]:
    """One record per occupancy bin: ``{"lo", "hi", "n", "emd_mean": {model: v}, "emd_median": {...}}``.

    ``emds`` are per-wafer EMDs aligned with ``occ``; undefined (NaN) EMDs are left out per model,
    and a model with no defined EMD in a bin gets None there. Empty bins are dropped.
    """
    occ = np.asarray(occ)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (occ >= lo) & (occ < hi)
        if not sel.any():
            continue
        rec = {"lo": int(lo), "hi": int(hi), "n": int(sel.sum()), "emd_mean": {}, "emd_median": {}}
        for model, values in emds.items():
            v = np.asarray(values, dtype=np.float64)[sel]
            v = v[np.isfinite(v)]
            rec["emd_mean"][model] = float(v.mean()) if len(v) else None
            rec["emd_median"][model] = float(np.median(v)) if len(v) else None
        out.append(rec)
    return out


def wafer_wins(emds: dict[str, np.ndarray], reference: str = "quantized") -> dict[str, dict]:
    """Per other model: the fractions of wafers (both EMDs defined) where ``reference`` has the lower EMD
    (``better``), the higher (``worse``) or the same (``tie``), and how many wafers were compared."""
    ref = np.asarray(emds[reference], dtype=np.float64)
    out = {}
    for model, values in emds.items():
        if model == reference:
            continue
        v = np.asarray(values, dtype=np.float64)
        ok = np.isfinite(ref) & np.isfinite(v)
        n = int(ok.sum())
        if not n:
            continue
        a, b = ref[ok], v[ok]
        out[model] = {
            "better": float((a < b).mean()),
            "worse": float((a > b).mean()),
            "tie": float((a == b).mean()),
            "n": n,
        }
    return out
