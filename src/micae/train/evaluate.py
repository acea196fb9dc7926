"""Test-split metrics: MSE and (on HGCAL layouts) EMD, side by side for every model."""

from __future__ import annotations

import numpy as np

from micae.data.geometry import HGCAL_LAYOUTS
from micae.metrics.emd import emd, emd_summary


def reconstruction_metrics(x: np.ndarray, recon: np.ndarray, layout: str) -> dict:
    """``x`` and ``recon`` are (samples, n_parts, H, W, C)."""
    per_sample = ((x - recon) ** 2).reshape(len(x), -1).mean(axis=1)
    out = {
        "mse": float(per_sample.mean()),
        "mse_median": float(np.median(per_sample)),
        "per_sample_mse": per_sample,
    }
    if layout in HGCAL_LAYOUTS:
        flat_x = x.reshape(-1, *x.shape[2:])
        flat_r = recon.reshape(-1, *recon.shape[2:])
        values = emd(flat_x, flat_r, layout=layout)
        summary = emd_summary(values)
        out.update(
            emd_mean=summary["mean"],
            emd_median=summary["median"],
            emd_q16=summary["q16"],
            emd_q84=summary["q84"],
            emd_undefined=summary["n_undefined"],
            per_sample_emd=values,
        )
    return out


def public(metrics: dict) -> dict:
    """Drop the per-sample arrays (they go to plots, not JSON)."""
    return {k: v for k, v in metrics.items() if not k.startswith("per_sample")}


def dead_latents(latents: np.ndarray) -> list[int]:
    """Latent dimensions that never change on the test set (they carry no information)."""
    lat = latents.reshape(-1, latents.shape[-1])
    return [int(i) for i in np.flatnonzero(lat.std(axis=0) == 0)]


def saturated_latents(latents: np.ndarray, lo: float, hi: float, fraction: float = 0.5) -> list[int]:
    """Latent dimensions stuck at a rail for more than ``fraction`` of the test samples."""
    lat = latents.reshape(-1, latents.shape[-1])
    at_rail = ((lat <= lo) | (lat >= hi)).mean(axis=0)
    return [int(i) for i in np.flatnonzero(at_rail > fraction)]


def zero_codes(latents: np.ndarray) -> dict:
    """How often the quantized latent is the zero code (integer code 0 <=> value exactly 0.0 on any grid):
    what a zero-suppressing link would not send. ``fraction`` over every value, ``per_latent`` per dimension."""
    lat = latents.reshape(-1, latents.shape[-1])
    zero = lat == 0.0
    return {
        "fraction": float(zero.mean()) if zero.size else 0.0,
        "per_latent": [round(float(v), 6) for v in zero.mean(axis=0)],
        "values": int(zero.size),
    }
