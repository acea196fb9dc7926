"""User data in a ``.npz`` file: key ``x`` (required) and ``y`` (optional, one entry per sample).

``x`` is either model input, ``(N, n_parts, *input_shape)`` (or ``(N, *input_shape)``
when ``n_parts == 1``), or, for the HGCAL layouts, raw TC charges ``(N, 48)``
that are normalised and arranged like the other HGCAL sources.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from micae.data.dataset import file_sha256
from micae.data.geometry import N_TC
from micae.errors import DataError

_FIX_KEYS = "save the file with np.savez(path, x=inputs) or np.savez(path, x=inputs, y=labels)"


def _numeric(arr: np.ndarray, key: str, path: Path) -> None:
    if arr.dtype.kind not in "biuf":
        raise DataError(
            f"{path}: array {key!r} has non-numeric dtype {arr.dtype}",
            f"store {key!r} as a float or integer array",
        )


def read_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Load and check ``x`` (numeric, finite, at least 2-D) and optional ``y`` from ``path``.

    Returns ``(x, y or None, info)``, info = path, sha256, keys.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found", "check the path passed as the data file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not hasattr(npz, "files"):
                raise DataError(f"{path}: is a single .npy array, not an .npz archive", _FIX_KEYS)
            keys = list(npz.files)
            if "x" not in keys:
                raise DataError(
                    f"{path}: no array named 'x' (keys present: {', '.join(keys) or 'none'})",
                    _FIX_KEYS,
                )
            arrays = {k: npz[k] for k in ("x", "y") if k in keys}
    except DataError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(
                f"{path}: an array holds Python objects (object dtype), not numbers",
                "store x (and y) as float or integer arrays",
            ) from None
        raise DataError(f"{path}: not a readable .npz file ({exc})", _FIX_KEYS) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"{path}: corrupt or not an .npz file ({type(exc).__name__}: {exc})", _FIX_KEYS) from None

    x = arrays["x"]
    _numeric(x, "x", path)
    if x.ndim < 2 or x.shape[0] == 0:
        raise DataError(f"{path}: 'x' has shape {x.shape}; need (samples, ...) with at least one sample", _FIX_KEYS)
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
        raise DataError(f"{path}: 'x' has a non-finite value ({x[bad]}) at index {bad}", "replace NaN/inf values")
    y = arrays.get("y")
    if y is not None:
        _numeric(y, "y", path)
        if y.ndim == 0 or len(y) != len(x):
            raise DataError(
                f"{path}: 'y' has shape {y.shape} but 'x' has {len(x)} samples",
                "give y one entry per sample of x",
            )
    return x, y, {"path": str(path.resolve()), "sha256": file_sha256(path), "keys": keys}


def is_tc_charges(x: np.ndarray) -> bool:
    """True if ``x`` looks like raw TC charges ``(N, 48)``."""
    return x.ndim == 2 and x.shape[1] == N_TC


def check_tc_charges(x: np.ndarray, source: str) -> np.ndarray:
    """Raise DataError on negative charges; return float64 charges."""
    neg = np.argwhere(x < 0)
    if len(neg):
        row, col = (int(i) for i in neg[0])
        raise DataError(
            f"{source}: negative charge {x[row, col]} at sample {row}, TC {col}",
            "TC charges are >= 0; fix the producer or clip to 0",
        )
    return x.astype(np.float64)


def as_model_input(x: np.ndarray, input_shape: tuple, n_parts: int, source: str) -> np.ndarray:
    """Return ``x`` as float32 ``(N, n_parts, *input_shape)``; DataError on any other shape."""
    shape = tuple(int(s) for s in input_shape)
    if tuple(x.shape[1:]) == (n_parts, *shape):
        return x.astype(np.float32)
    if n_parts == 1 and tuple(x.shape[1:]) == shape:
        return x.astype(np.float32)[:, None]
    dims = ", ".join(map(str, shape))
    also = f" or (N, {dims})" if n_parts == 1 else ""
    raise DataError(
        f"{source}: 'x' has shape {x.shape}, expected (N, {n_parts}, {dims}){also}",
        "reshape x, or pass the input_shape/n_parts/layout that match it",
    )
