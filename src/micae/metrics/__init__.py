"""Reconstruction metrics: EMD on the TC geometry, per-sample MSE, telescope loss.

``telescope_loss`` needs TensorFlow and is imported on first use, so
``micae.metrics.emd``/``mse`` stay light.
"""

from __future__ import annotations

from micae.metrics.emd import emd, emd_summary, ground_distance
from micae.metrics.mse import mse

__all__ = ["emd", "emd_summary", "ground_distance", "mse", "telescope_loss"]


def __getattr__(name: str):
    if name == "telescope_loss":
        from micae.metrics.telescope import telescope_loss

        return telescope_loss
    raise AttributeError(f"module 'micae.metrics' has no attribute {name!r}")
