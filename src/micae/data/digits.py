"""scikit-learn's bundled 8x8 handwritten digits (offline), tiled for MICAE.

Pixels are scaled to [0, 1] (divided by 16). ``tiles`` cuts each image into
a ``k x k`` grid of square tiles (``tiles = k*k``: 1, 4, 16 or 64), numbered
row-major over the tile grid: with ``tiles=4``, tile 0 is the top-left 4x4
block, 1 top-right, 2 bottom-left, 3 bottom-right.
"""

from __future__ import annotations

import numpy as np

from micae.errors import ConfigError

IMAGE_SIDE = 8


def tile_images(images: np.ndarray, tiles: int) -> np.ndarray:
    """``(N, 8, 8)`` images to ``(N, tiles, s, s, 1)`` row-major tiles, ``s = 8 / sqrt(tiles)``."""
    k = int(round(np.sqrt(tiles)))
    if tiles < 1 or k * k != tiles or IMAGE_SIDE % k:
        raise ConfigError(
            f"digits: cannot cut 8x8 images into {tiles} equal square tiles",
            "use tiles = 1, 4, 16 or 64",
        )
    s = IMAGE_SIDE // k
    n = images.shape[0]
    # (N, k_row, s, k_col, s) -> (N, k_row, k_col, s, s): tile index = row * k + col
    out = images.reshape(n, k, s, k, s).transpose(0, 1, 3, 2, 4).reshape(n, tiles, s, s, 1)
    return np.ascontiguousarray(out)


def untile_images(x: np.ndarray) -> np.ndarray:
    """Inverse of :func:`tile_images`: ``(N, tiles, s, s, 1)`` to ``(N, 8, 8)``."""
    n, tiles, s = x.shape[0], x.shape[1], x.shape[2]
    k = int(round(np.sqrt(tiles)))
    return x.reshape(n, k, k, s, s).transpose(0, 1, 3, 2, 4).reshape(n, k * s, k * s)


def load_digits_tiled(tiles: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits as ``(x float32 (N, tiles, s, s, 1) in [0, 1], labels int64 (N,))``."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    return tile_images(images, tiles), bunch.target.astype(np.int64)
