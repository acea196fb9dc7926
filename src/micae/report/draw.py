"""Drawing helpers shared by training plots and the HTML report (matplotlib, Agg)."""

from __future__ import annotations

import numpy as np

from micae.data.geometry import HGCAL_LAYOUTS


def figure(*args, **kwargs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save(fig, path, *, dpi: int = 90, tight: bool = True) -> None:
    """Write ``fig`` as PNG and close it; ``tight=False`` for figures using constrained layout."""
    import matplotlib.pyplot as plt

    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def draw_wafer(ax, tc: np.ndarray, vmax: float | None = None, title: str = "") -> None:
    """48 trigger-cell values drawn at their positions on the hexagonal wafer."""
    from micae.data.geometry import tc_coordinates

    xy = tc_coordinates("emd")
    ax.scatter(
        xy[:, 0],
        xy[:, 1],
        c=tc,
        s=260,
        marker="h",
        cmap="viridis",
        vmin=0,
        vmax=vmax or max(float(np.max(tc)), 1e-9),
        edgecolors="0.7",
        linewidths=0.3,
    )
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def wafer_cells(shrink: float = 0.92) -> np.ndarray:
    """``(48, 6, 2)`` hexagon corners of the trigger cells, in emd units.

    Neighbours inside a quadrant sit 2.0 apart at 30/90 degrees, so each cell is a
    flat-topped hexagon of inradius 1; ``shrink`` < 1 leaves a thin gap between cells
    (and hides the small overlap where quadrants meet at 1.8).
    """
    from micae.data.geometry import tc_coordinates

    xy = tc_coordinates("emd")
    angles = np.deg2rad(np.arange(0, 360, 60))
    corner = shrink * 2.0 / np.sqrt(3.0) * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return xy[:, None, :] + corner[None]


def draw_wafer_cells(ax, tc: np.ndarray, vmax: float | None = None, title: str = "", cmap: str = "viridis"):
    """48 trigger-cell values as tiled hexagons (they scale with the axes); returns the collection for a colour bar."""
    from matplotlib.collections import PolyCollection

    cells = wafer_cells()
    top = vmax if vmax else max(float(np.max(tc)), 1e-9)
    coll = PolyCollection(cells, array=np.asarray(tc, dtype=float), cmap=cmap, edgecolors="none")
    coll.set_clim(0.0, top)
    ax.add_collection(coll)
    lo, hi = cells.reshape(-1, 2).min(0), cells.reshape(-1, 2).max(0)
    ax.set_xlim(lo[0] - 0.3, hi[0] + 0.3)
    ax.set_ylim(lo[1] - 0.3, hi[1] + 0.3)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=8)
    return coll


def draw_image(ax, img: np.ndarray, vmax: float | None = None, title: str = ""):
    """A 2-D image (channels summed), white = 0; returns the AxesImage (for a colour bar)."""
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    elif img.ndim == 3:
        img = img.sum(-1)
    shown = ax.imshow(img, cmap="gray_r", vmin=0, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
    return shown


def draw_sample(ax, parts: np.ndarray, layout: str, title: str = "", vmax: float | None = None) -> None:
    """One MICAE sample (n_parts, H, W, C): a wafer for HGCAL layouts (first part), else the image."""
    if layout in HGCAL_LAYOUTS:
        from micae.data.geometry import unarrange

        draw_wafer(ax, unarrange(parts[:1], layout)[0], vmax=vmax, title=title)
        return
    from micae.data.digits import untile_images

    if parts.shape[0] > 1:
        img = untile_images(parts[None])[0]
    else:
        img = parts[0]
    draw_image(ax, img, vmax=vmax, title=title)
