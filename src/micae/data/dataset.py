"""The ``Dataset`` container, deterministic train/val/test splits and array checks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from micae.errors import ConfigError, DataError

SPLITS = ("train", "val", "test")


def validate_array(
    arr: np.ndarray,
    name: str,
    *,
    rank: int | None = None,
    dtype: type | None = np.float32,
    source: str = "",
) -> None:
    """Raise DataError unless ``arr`` is a finite ndarray of ``dtype`` and ``rank``.

    ``source`` (e.g. a file name) is prefixed to the message.
    """
    where = f"{source}: " if source else ""
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{where}{name} is a {type(arr).__name__}, not a numpy array", "pass a numpy array")
    if dtype is not None and arr.dtype != np.dtype(dtype):
        raise DataError(
            f"{where}{name} has dtype {arr.dtype}, expected {np.dtype(dtype)}",
            f"convert it with .astype(np.{np.dtype(dtype).name})",
        )
    if rank is not None and arr.ndim != rank:
        raise DataError(
            f"{where}{name} has shape {arr.shape} (rank {arr.ndim}), expected rank {rank}",
            "reshape the data to (samples, n_parts, *input_shape)",
        )
    if arr.dtype.kind in "fc" and arr.size and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise DataError(
            f"{where}{name} has a non-finite value ({arr[tuple(bad)]}) at index {tuple(int(i) for i in bad)}",
            "remove or replace NaN/inf values",
        )


@dataclass
class Dataset:
    """Model-ready data: ``x_*`` are float32 ``(samples, n_parts, *input_shape)``.

    ``aux[split][key]`` holds per-sample side info aligned with ``x_<split>``
    (first axis = samples; for ``n_parts > 1`` HGCAL data it is ``(samples, n_parts)``).
    ``meta`` records provenance (generator/source, seed, sizes, normalisation).
    """

    name: str
    x_train: np.ndarray
    x_val: np.ndarray
    x_test: np.ndarray
    input_shape: tuple
    n_parts: int
    layout: str
    aux: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.input_shape = tuple(int(s) for s in self.input_shape)
        for split in SPLITS:
            arr = getattr(self, f"x_{split}")
            validate_array(arr, f"x_{split}", rank=2 + len(self.input_shape), source=f"dataset {self.name!r}")
            if tuple(arr.shape[1:]) != (self.n_parts, *self.input_shape):
                raise DataError(
                    f"dataset {self.name!r}: x_{split} has shape {arr.shape}, expected "
                    f"(samples, {self.n_parts}, {', '.join(map(str, self.input_shape))})",
                    "build x as (samples, n_parts, *input_shape)",
                )
            for key, val in self.aux.get(split, {}).items():
                if len(val) != len(arr):
                    raise DataError(
                        f"dataset {self.name!r}: aux[{split!r}][{key!r}] has {len(val)} rows, x_{split} has {len(arr)}",
                        "give one aux entry per sample",
                    )

    def split(self, name: str) -> np.ndarray:
        """``x_train`` / ``x_val`` / ``x_test`` by split name."""
        if name not in SPLITS:
            raise ConfigError(f"unknown split {name!r}", f"use one of: {', '.join(SPLITS)}")
        return getattr(self, f"x_{name}")

    @property
    def sizes(self) -> dict[str, int]:
        return {s: int(len(self.split(s))) for s in SPLITS}


def split_indices(
    n: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle ``range(n)`` with ``seed`` and cut it into (train, val, test) index arrays.

    val and test get ``floor(n * fraction)`` samples each, train the rest.
    A split with a positive fraction that would be empty raises DataError.
    """
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3 or any(not np.isfinite(f) or f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise ConfigError(
            f"split fractions {fractions} are not three non-negative numbers summing to 1",
            "use e.g. (0.8, 0.1, 0.1)",
        )
    n_val, n_test = int(n * fr[1]), int(n * fr[2])
    counts = (n - n_val - n_test, n_val, n_test)
    for split, f, c in zip(SPLITS, fr, counts):
        if f > 0 and c <= 0:
            raise DataError(
                f"{n} samples are too few: the {split} split ({f:g}) would be empty",
                "use more samples or change the split fractions",
            )
    perm = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5D17])).permutation(n)
    return perm[: counts[0]], perm[counts[0] : counts[0] + n_val], perm[counts[0] + n_val :]


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
