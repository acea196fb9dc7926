"""Integer comparison of latents and the per-level report."""

from __future__ import annotations

import numpy as np

MAX_LISTED = 10


def compare_codes(expected: np.ndarray, got: np.ndarray, *, listed: int = MAX_LISTED) -> dict:
    """``{vectors, mismatches, max_abs_lsb_error, first_mismatches}`` for integer codes.

    A mismatch is a vector with at least one differing latent value;
    ``first_mismatches`` lists ``[index, expected, got]`` for the first few.
    """
    expected = np.asarray(expected, dtype=np.int64).reshape(len(expected), -1)
    got = np.asarray(got, dtype=np.int64).reshape(len(got), -1)
    if expected.shape != got.shape:
        return {
            "vectors": int(len(expected)),
            "mismatches": int(len(expected)),
            "max_abs_lsb_error": None,
            "first_mismatches": [],
            "error": f"shape mismatch: expected {expected.shape}, got {got.shape}",
        }
    diff = np.abs(expected - got)
    bad_rows = np.flatnonzero(diff.any(axis=1))
    return {
        "vectors": int(len(expected)),
        "values": int(expected.size),
        "mismatches": int(len(bad_rows)),
        "mismatched_values": int((diff != 0).sum()),
        "identical_fraction": float(1.0 - (diff != 0).mean()) if expected.size else 1.0,
        "max_abs_lsb_error": int(diff.max(initial=0)),
        "first_mismatches": [[int(i), expected[i].tolist(), got[i].tolist()] for i in bad_rows[:listed]],
        "mismatch_rows": [int(i) for i in bad_rows],
    }


def values_to_codes(values: np.ndarray, frac: int) -> np.ndarray:
    """Exact integer codes of binary fractions; raises if a value is off the grid."""
    scaled = np.asarray(values, dtype=np.float64) * (2.0**frac)
    codes = np.rint(scaled)
    off = codes != scaled
    if off.any():
        i = int(np.flatnonzero(off.ravel())[0])
        raise ValueError(f"value {np.asarray(values).ravel()[i]!r} is not a multiple of 2**-{frac}")
    return codes.astype(np.int64)
