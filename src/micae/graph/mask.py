"""Input masks: positions of the input that never carry a value (16 of the 64 cells of HGCAL's 8x8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from micae.errors import ConfigError


def load_input_mask(mask, input_shape: tuple[int, ...]) -> np.ndarray | None:
    """A bool array of ``input_shape`` (True = live) from an array, a ``.npy`` file or a layout name (``8x8``).

    ``None`` means no mask. Raises :class:`ConfigError` naming the file and the shapes when it does not fit.
    """
    if mask is None:
        return None
    where = "the input mask"
    if isinstance(mask, (str, Path)):
        from micae.data.geometry import arrangement_names, pixel_mask

        if str(mask) in arrangement_names() and not Path(mask).is_file():
            where = f"the mask of layout '{mask}'"
            mask = pixel_mask(str(mask))
        else:
            path = Path(mask)
            where = f"input mask {path}"
            if not path.is_file():
                raise ConfigError(f"{where} does not exist", "give a .npy file with a 0/1 array of the input shape")
            try:
                mask = np.load(path, allow_pickle=False)
            except Exception as exc:  # numpy raises several types for bad files
                raise ConfigError(f"{where} is not a readable .npy array ({exc})", "save it with np.save") from exc
    arr = np.asarray(mask)
    shape = tuple(int(v) for v in input_shape)
    if arr.size != int(np.prod(shape)) or (arr.ndim > 1 and arr.shape != shape):
        raise ConfigError(f"{where} has shape {arr.shape}, the encoder input is {shape}", f"give a {shape} array")
    if arr.dtype != bool and not np.isin(arr, (0, 1)).all():
        raise ConfigError(f"{where} holds values other than 0/1 (or bool)", "give a bool or 0/1 array")
    live = arr.astype(bool).reshape(shape)
    if not live.any():
        raise ConfigError(f"{where} masks every input", "mark the live cells with 1")
    return live


def live_columns(live: np.ndarray | None) -> np.ndarray | None:
    """Flat (row-major, channels-last) indices of the live positions, in port order."""
    return None if live is None else np.flatnonzero(live.ravel())


def run_input_mask(run_dir: str | Path, input_shape: tuple[int, ...]) -> np.ndarray | None:
    """The mask of a training run folder: its ``encoder.input_mask``, else its dataset layout's (``8x8``).

    ``None`` when the run's arrangement has no dead cells or does not match ``input_shape``.
    """
    import yaml

    from micae.data.geometry import HGCAL_LAYOUTS, arrangement_shape

    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        return None
    raw = yaml.safe_load(path.read_text()) or {}
    layout = (raw.get("encoder") or {}).get("input_mask") or (raw.get("dataset") or {}).get("layout")
    if layout not in HGCAL_LAYOUTS or tuple(arrangement_shape(layout)) != tuple(input_shape):
        return None
    live = load_input_mask(layout, input_shape)
    return None if live.all() else live
