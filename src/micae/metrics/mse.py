"""Per-sample mean squared error."""

from __future__ import annotations

import numpy as np

from micae.errors import DataError


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """``(N,)`` float64: mean of squared differences over all axes but the first."""
    a = np.asarray(y_true, dtype=np.float64)
    b = np.asarray(y_pred, dtype=np.float64)
    if a.shape != b.shape or a.ndim < 1:
        raise DataError(f"mse: y_true has shape {a.shape} but y_pred has {b.shape}", "pass matching batches")
    return ((a - b) ** 2).reshape(len(a), -1).mean(axis=1)
