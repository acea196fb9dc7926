"""Drawing helpers shared by training plots and the HTML report (matplotlib, Agg)."""

from __future__ import annotations

import numpy as np

HGCAL_LAYOUTS = ("4x4x3", "8x8")


def figure(*args, **kwargs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save(fig, path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def draw_wafer(ax, tc: np.ndarray, vmax: float | None = None, title: str = "") -> None:
    """48 trigger-cell values drawn at their positions on the hexagonal wafer."""
    from micae.data.geometry import tc_coordinates

    xy = tc_coordinates("emd")
    ax.scatter(xy[:, 0], xy[:, 1], c=tc, s=260, marker="h", cmap="viridis", vmin=0, vmax=vmax or max(float(np.max(tc)), 1e-9), edgecolors="0.7", linewidths=0.3)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def draw_image(ax, img: np.ndarray, vmax: float | None = None, title: str = "") -> None:
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    elif img.ndim == 3:
        img = img.sum(-1)
    ax.imshow(img, cmap="gray_r", vmin=0, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


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
