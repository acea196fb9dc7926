"""ZeroPadding2D and Cropping2D: index maps over the (H, W, C) tensor, folded into the next matrix."""

from __future__ import annotations

import numpy as np

from micae.errors import ConstraintError
from micae.graph.registry import handler


def _pairs(value) -> tuple[tuple[int, int], tuple[int, int]]:
    if isinstance(value, int):
        return (value, value), (value, value)
    a, b = value
    a = (a, a) if isinstance(a, int) else tuple(a)
    b = (b, b) if isinstance(b, int) else tuple(b)
    return (int(a[0]), int(a[1])), (int(b[0]), int(b[1]))


def _grid(shape: tuple[int, ...], name: str) -> np.ndarray:
    if len(shape) != 3:
        raise ConstraintError(f"layer '{name}' needs an (H, W, C) tensor, got shape {shape}", "check the model")
    return np.arange(int(np.prod(shape))).reshape(shape)


def _channels_last(step) -> None:
    fmt = step.layer.get_config().get("data_format") or "channels_last"
    if fmt != "channels_last":
        raise ConstraintError(f"layer '{step.name}': data_format {fmt}", "use channels_last")


@handler("ZeroPadding2D")
def zero_padding(step, low) -> None:
    _channels_last(step)
    (top, bottom), (left, right) = _pairs(step.layer.get_config()["padding"])
    grid = _grid(low.shape, step.name)
    index = np.pad(grid, ((top, bottom), (left, right), (0, 0)), constant_values=-1)
    low.remap(step.name, index.ravel(), index.shape)
    low.layers.append((step.name, step.cls, f"pad (({top},{bottom}),({left},{right}))"))


@handler("Cropping2D")
def cropping(step, low) -> None:
    _channels_last(step)
    (top, bottom), (left, right) = _pairs(step.layer.get_config()["cropping"])
    grid = _grid(low.shape, step.name)
    h, w, _ = grid.shape
    index = grid[top : h - bottom, left : w - right, :]
    if index.size == 0:
        raise ConstraintError(f"layer '{step.name}' crops everything away", "crop less")
    low.remap(step.name, index.ravel(), index.shape)
    low.layers.append((step.name, step.cls, f"crop (({top},{bottom}),({left},{right}))"))
