"""MaxPooling2D (its own stage) and AveragePooling2D (exact when the window is a power of two)."""

from __future__ import annotations

import numpy as np

from micae.errors import ConstraintError
from micae.fixed.ops import UNIT_WEIGHT, AvgPoolStage
from micae.graph.registry import handler


def windows(shape, pool, strides, padding, name: str) -> tuple[np.ndarray, tuple[int, int, int], int]:
    """Per output element the flat input indices of its window (``-1`` past the border), and pads."""
    if len(shape) != 3:
        raise ConstraintError(f"layer '{name}' needs an (H, W, C) tensor, got {shape}", "check the model")
    h, w, c = shape
    (ph, pw), (sh, sw) = pool, strides
    if padding == "valid":
        ho, wo, top, left = (h - ph) // sh + 1, (w - pw) // sw + 1, 0, 0
        pad_any = False
    else:
        ho, wo = -(-h // sh), -(-w // sw)
        top = max((ho - 1) * sh + ph - h, 0) // 2
        left = max((wo - 1) * sw + pw - w, 0) // 2
        pad_any = (ho - 1) * sh + ph > h or (wo - 1) * sw + pw > w
    groups = np.full((ho, wo, c, ph * pw), -1, dtype=np.int64)
    for oy in range(ho):
        for ox in range(wo):
            for ky in range(ph):
                for kx in range(pw):
                    iy, ix = oy * sh + ky - top, ox * sw + kx - left
                    if 0 <= iy < h and 0 <= ix < w:
                        groups[oy, ox, :, ky * pw + kx] = (iy * w + ix) * c + np.arange(c)
    return groups.reshape(-1, ph * pw), (ho, wo, c), int(pad_any)


def _geometry(step):
    cfg = step.layer.get_config()
    if (cfg.get("data_format") or "channels_last") != "channels_last":
        raise ConstraintError(f"layer '{step.name}': data_format {cfg['data_format']}", "use channels_last")
    pool = tuple(int(v) for v in cfg["pool_size"])
    strides = tuple(int(v) for v in (cfg.get("strides") or pool))
    return pool, strides, cfg["padding"]


@handler("MaxPooling2D")
def max_pooling(step, low) -> None:
    low.need_input_quantizer(step.name, step.cls)
    pool, strides, padding = _geometry(step)
    groups, out_shape, _ = windows(low.shape, pool, strides, padding, step.name)
    # Keras pads max-pools with -inf: a border window takes the max of its real cells only
    first = groups[np.arange(len(groups)), (groups >= 0).argmax(axis=1)]
    groups = np.where(groups >= 0, groups, first[:, None])
    low.maxpool(step.name, groups, out_shape)
    low.layers.append((step.name, step.cls, f"max-pool {pool[0]}x{pool[1]}"))


@handler("AveragePooling2D")
def average_pooling(step, low) -> None:
    low.need_input_quantizer(step.name, step.cls)
    pool, strides, padding = _geometry(step)
    area = pool[0] * pool[1]
    if area & (area - 1):
        raise ConstraintError(
            f"layer '{step.name}': a {pool[0]}x{pool[1]} average divides by {area}, not a power of two, "
            "so it is not exact in fixed point",
            "use a 2x2 or 4x4 (power-of-two area) pool, or MaxPooling2D",
        )
    groups, out_shape, padded = windows(low.shape, pool, strides, padding, step.name)
    if padded:
        raise ConstraintError(
            f"layer '{step.name}': 'same' average pooling divides border windows by fewer cells than {area}",
            "use padding='valid', or an input size the pool divides",
        )
    if low.pending is not None:
        raise ConstraintError(
            f"layer '{step.name}' averages un-quantized values of '{low.pending.name}'",
            f"put a QActivation quantizer after '{low.pending.name}'",
        )
    n_in = low.n
    matrix = np.zeros((n_in, len(groups)), dtype=np.int64)
    for j, g in enumerate(groups):
        matrix[g, j] = 1
    shift = area.bit_length() - 1
    meta = {"pool_size": list(pool), "strides": list(strides), "output_shape": list(out_shape)}
    zeros = np.zeros(len(groups), dtype=np.int64)
    low.affine(step.name, "avgpool", matrix, shift, zeros, 0, out_shape, meta, UNIT_WEIGHT, stage=AvgPoolStage)
    low.layers.append((step.name, step.cls, f"average-pool {pool[0]}x{pool[1]}"))
