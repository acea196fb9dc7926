"""ECON-T trigger-cell geometry: TC coordinates and image arrangements.

The 48 trigger cells (TCs) of one HGCAL wafer are stored as a flat vector in
the CALQ_0..CALQ_47 order. Models see them as small images ("arrangements"):

* ``"4x4x3"``: pixel ``(r, c)``, channel ``k`` holds TC ``4*r + c + 16*k``;
  each of the 3 sensor quadrants (TCs 0-15, 16-31, 32-47) is a 4x4 grid.
* ``"8x8"``: the three quadrants are laid out in one 8x8x1 image; some TCs
  appear twice. ``mask`` is 1 on the pixel that carries each TC and 0 on
  repeats, which are zeroed.

The facts come from ``hgcal_econt_geometry.json`` (package data).
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from importlib import resources

import numpy as np

from micae.errors import ConfigError, DataError

N_TC = 48
HGCAL_LAYOUTS = ("4x4x3", "8x8")
"""The model layouts of the 48 trigger cells (the arrangements of the geometry file)."""


@lru_cache(maxsize=1)
def load_geometry() -> dict:
    """The parsed geometry JSON (cached; treat it as read-only)."""
    text = resources.files("micae.data").joinpath("hgcal_econt_geometry.json").read_text()
    geo = json.loads(text)
    coords = np.asarray(geo["tc_coordinates_cm"], dtype=np.float64)
    if coords.shape != (N_TC, 2):
        raise DataError(
            f"hgcal_econt_geometry.json: tc_coordinates_cm has shape {coords.shape}, expected (48, 2)",
            "reinstall micae; the package data file is damaged",
        )
    return geo


def arrangement_names() -> tuple[str, ...]:
    """Names of the known TC arrangements, e.g. ``("4x4x3", "8x8")``."""
    return tuple(load_geometry()["arrangements"])


@cache
def _arrangement(name: str) -> tuple[tuple[int, int, int], np.ndarray, np.ndarray]:
    """(shape, tc_index per flat pixel, mask per flat pixel) of one arrangement."""
    arrs = load_geometry()["arrangements"]
    if name not in arrs:
        raise ConfigError(
            f"unknown TC arrangement {name!r}",
            f"use one of: {', '.join(arrs)}",
        )
    spec = arrs[name]
    shape = tuple(int(s) for s in spec["shape"])
    if len(shape) == 2:
        shape = (*shape, 1)
    tc_index = np.asarray(spec["tc_index"], dtype=np.int64)
    mask = np.asarray(spec.get("mask", np.ones(tc_index.size)), dtype=np.int64)
    if tc_index.size != int(np.prod(shape)) or mask.size != tc_index.size:
        raise DataError(
            f"hgcal_econt_geometry.json: arrangement {name!r} has {tc_index.size} pixels for shape {shape}",
            "reinstall micae; the package data file is damaged",
        )
    unique = np.sort(tc_index[mask == 1])
    if not np.array_equal(unique, np.arange(N_TC)):
        raise DataError(
            f"hgcal_econt_geometry.json: arrangement {name!r} does not carry each TC exactly once with mask=1",
            "reinstall micae; the package data file is damaged",
        )
    tc_index.setflags(write=False)
    mask.setflags(write=False)
    return shape, tc_index, mask


def arrangement_shape(arrangement: str) -> tuple[int, int, int]:
    """Image shape ``(H, W, C)`` of an arrangement."""
    return _arrangement(arrangement)[0]


def pixel_mask(arrangement: str) -> np.ndarray:
    """``(H, W, C)`` float32 array: 1 on pixels that carry a unique TC, 0 on repeats."""
    shape, _, mask = _arrangement(arrangement)
    return mask.reshape(shape).astype(np.float32)


def masked_pixels(layout: str | None, input_shape: tuple[int, ...]) -> int:
    """How many input positions of ``input_shape`` never carry a TC (0 unless it is an HGCAL arrangement)."""
    if layout not in HGCAL_LAYOUTS or tuple(input_shape) != arrangement_shape(layout):
        return 0
    return int((_arrangement(layout)[2] == 0).sum())


def tc_pixel_index(arrangement: str) -> np.ndarray:
    """For each TC 0..47, the flat (row-major H, W, C) index of its unique (mask=1) pixel."""
    _, tc_index, mask = _arrangement(arrangement)
    flat = np.flatnonzero(mask == 1)
    out = np.empty(N_TC, dtype=np.int64)
    out[tc_index[flat]] = flat
    return out


def arrange(tc: np.ndarray, arrangement: str = "4x4x3") -> np.ndarray:
    """Map ``(N, 48)`` TC vectors to ``(N, H, W, C)`` images; repeated (mask=0) pixels are 0."""
    tc = np.asarray(tc)
    if tc.ndim != 2 or tc.shape[1] != N_TC:
        raise DataError(
            f"arrange: expected TC data of shape (N, 48), got {tc.shape}",
            "pass one row of 48 trigger-cell values per wafer",
        )
    shape, tc_index, mask = _arrangement(arrangement)
    img = tc[:, tc_index] * mask.astype(tc.dtype)
    return img.reshape((tc.shape[0], *shape))


def unarrange(x: np.ndarray, arrangement: str = "4x4x3") -> np.ndarray:
    """Inverse of :func:`arrange`: ``(N, H, W, C)`` images to ``(N, 48)``.

    Each TC is read from its unique mask=1 pixel; values on repeated pixels are ignored.
    """
    x = np.asarray(x)
    shape = arrangement_shape(arrangement)
    if x.ndim != 4 or tuple(x.shape[1:]) != shape:
        raise DataError(
            f"unarrange: expected images of shape (N, {', '.join(map(str, shape))}) for "
            f"arrangement {arrangement!r}, got {x.shape}",
            "pass a batch of images in the model layout of that arrangement",
        )
    return x.reshape(x.shape[0], -1)[:, tc_pixel_index(arrangement)]


def tc_coordinates(unit: str = "emd") -> np.ndarray:
    """``(48, 2)`` TC centres; ``unit="cm"`` or ``"emd"`` (cm / ``emd_unit_cm``).

    In emd units neighbouring TCs inside a quadrant are 2.0 apart (1.8 across
    some quadrant borders): the unit is half the TC pitch of 2.4168 cm.
    """
    geo = load_geometry()
    coords = np.asarray(geo["tc_coordinates_cm"], dtype=np.float64)
    if unit == "cm":
        return coords
    if unit == "emd":
        return coords / float(geo["emd_unit_cm"])
    raise ConfigError(f"unknown coordinate unit {unit!r}", "use 'cm' or 'emd'")
