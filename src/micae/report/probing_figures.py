"""Latent-space probing pictures, drawn from ``probing.npz`` (written by :mod:`micae.train.probing`).

Nothing here decodes: the training run (or ``micae report`` once, for an old run) computed every
decoded array; these functions only draw them. A VAE run's prior plot is drawn from the posterior
means in ``test_evaluation.npz``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from micae.report.draw import HGCAL_LAYOUTS, draw_image, draw_wafer_cells, figure, save
from micae.report.figures import scatter_coloured
from micae.results.metrics import Metrics
from micae.results.report import SynthReport

PROBING_PLOTS = (
    "latent_map.png",
    "latent_interpolations.png",
    "latent_meshgrid.png",
    "latent_traversals.png",
    "vae_prior.png",
)


def load_probing(run_dir: Path | None) -> dict | None:
    """``{"arrays": {...}, "info": {...}}`` from a run folder's probing.npz/json, or None when absent."""
    if run_dir is None or not (Path(run_dir) / "probing.npz").is_file():
        return None
    with np.load(Path(run_dir) / "probing.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    js = Path(run_dir) / "probing.json"
    return {"arrays": arrays, "info": json.loads(js.read_text()) if js.is_file() else {}}


def dim_name(d: int, n_parts: int, per_part: int) -> str:
    """Latent ``d`` of the decoder input: ``z3``, or ``in2 z1`` (input 2's z1) for a MICAE model."""
    return f"in{d // per_part + 1} z{d % per_part}" if n_parts > 1 else f"z{d}"


def panel(ax, sample: np.ndarray, layout: str, part: int, vmax: float, title: str = ""):
    """One decoded or input sample (N, H, W, C): a wafer (HGCAL, input ``part``), else the whole image."""
    if layout in HGCAL_LAYOUTS:
        from micae.data.geometry import unarrange

        return draw_wafer_cells(ax, unarrange(sample[part : part + 1], layout)[0], vmax=vmax, title=title)
    n = sample.shape[0]
    k = int(round(np.sqrt(n)))
    if n > 1 and k * k == n and sample.shape[1] == sample.shape[2]:
        from micae.data.digits import untile_images

        img = untile_images(sample[None])[0]
    else:
        img = sample[part]
    shown = draw_image(ax, img, vmax=vmax, title=title)
    for side in ax.spines.values():
        side.set_color("0.8")
    return shown


def _vmax(*arrays: np.ndarray) -> float:
    return max(float(max(np.max(a) for a in arrays)), 1e-9)


def panel_figure(rows: int, cols: int, size: float, *, left: float = 0.6, bottom: float = 0.15, top: float = 0.3):
    """A rows x cols grid of square panels of ``size`` inches, fixed margins (inches), room for a colour bar.

    Laid out by hand: constrained layout takes twice as long on figures of a hundred panels.
    """
    gap_w, gap_h, right = 0.08, 0.26, 0.95
    width = left + cols * size + (cols - 1) * gap_w + right
    height = bottom + rows * size + (rows - 1) * gap_h + top
    fig, axes = figure(rows, cols, figsize=(width, height), squeeze=False)
    fig.subplots_adjust(
        left=left / width,
        right=(width - right) / width,
        bottom=bottom / height,
        top=(height - top) / height,
        wspace=gap_w / size,
        hspace=gap_h / size,
    )
    return fig, axes


def _colour_bar(fig, shown, axes, label: str, shrink: float = 1.0) -> None:
    """A colour bar right of ``axes`` (a row, or every panel), ``shrink`` times their height, centred."""
    boxes = [ax.get_position() for ax in axes]
    x1 = max(b.x1 for b in boxes)
    y0, y1 = min(b.y0 for b in boxes), max(b.y1 for b in boxes)
    h = (y1 - y0) * shrink
    width_in = fig.get_size_inches()[0]
    cax = fig.add_axes([x1 + 0.1 / width_in, y0 + (y1 - y0 - h) / 2, 0.12 / width_in, h])
    bar = fig.colorbar(shown, cax=cax)
    bar.ax.tick_params(labelsize=7)
    bar.set_label(label, fontsize=8)


def value_label(layout: str) -> str:
    return "normalised charge" if layout in HGCAL_LAYOUTS else "pixel value"


# ----------------------------------------------------------------- the map


def map_axes(info: dict) -> tuple[str, str]:
    n_parts, k = int(info.get("n_parts", 1)), int(info.get("latents_per_part", 2))
    if (info.get("map") or {}).get("kind") == "latents":
        return dim_name(0, n_parts, k), dim_name(1, n_parts, k)
    ex = (info.get("map") or {}).get("explained", [0, 0])
    return f"PC1 ({100 * ex[0]:.0f}% of variance)", f"PC2 ({100 * ex[1]:.0f}% of variance)"


def map_colourings(colourings: list[dict], n_parts: int) -> list[dict]:
    """The colourings for one point per sample: per-wafer values summed over the N wafers, positions dropped."""
    out = []
    for c in colourings:
        v = np.asarray(c["values"])
        if n_parts > 1 and c["kind"] != "category" and v.ndim >= 2 and v.shape[1] == n_parts:
            if c["kind"] == "position":
                continue
            c = {**c, "values": np.nansum(v, axis=1), "name": f"{c['name']} (sum over {n_parts} inputs)"}
        out.append(c)
    return out


def _grid_and_paths(ax, a: dict, kind: str) -> None:
    """The meshgrid's extent (dashed) and the interpolation paths (numbered) on a map panel."""
    s, sig = a["grid_steps"], a["basis_sigma"]
    lo, hi = s[0] * sig, s[-1] * sig
    centre = a["basis_mean"][:2] if kind == "latents" else np.zeros(2)
    x0, y0 = centre + lo
    w, h = hi - lo
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((x0, y0), w, h, fill=False, ls="--", lw=1.0, color="0.2", zorder=4))
    xy = a["map_xy"]
    for i, (pa, pb) in enumerate(a["interp_pairs"]):
        seg = xy[[pa, pb]]
        ax.plot(seg[:, 0], seg[:, 1], "-", color="black", lw=1.2, zorder=5)
        ax.plot(seg[:, 0], seg[:, 1], "o", ms=5, mfc="white", mec="black", zorder=6)
        ax.annotate(str(i + 1), seg[0], xytext=(4, 4), textcoords="offset points", fontsize=8, weight="bold")


def plot_latent_map(prob: dict, colourings: list[dict], path: Path) -> dict:
    """The latent map (PCA scores, or the two latents), one panel per colouring, with grid and paths on top."""
    a, info = prob["arrays"], prob["info"]
    xy = a["map_xy"]
    kind = (info.get("map") or {}).get("kind", "pca")
    fig, axes = figure(1, len(colourings), figsize=(5.2 * len(colourings), 4.6), squeeze=False)
    xlabel, ylabel = map_axes(info)
    left_out = {}
    for ax, c in zip(axes[0], colourings):
        v = np.asarray(c["values"])[: len(xy)]
        pts = xy[: len(v)]
        ax.set_title(f"coloured by {c['name']}", fontsize=10)
        legend = dict(markerscale=2, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        left_out[c["name"]] = scatter_coloured(fig, ax, pts, v, c, size=6, legend=legend)
        _grid_and_paths(ax, a, kind)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    save(fig, path)
    return {"left_out": left_out, "n_points": int(len(xy)), "kind": kind}


# ------------------------------------------------------ decoded pictures


def plot_interpolations(prob: dict, layout: str, path: Path, labels: np.ndarray | None = None) -> dict:
    """One row per pair: input A, the decoded path (alpha 0 ... 1), input B; colour scale shared along a row."""
    a = prob["arrays"]
    dec, inputs, pairs, alpha = a["interp_decoded"], a["interp_inputs"], a["interp_pairs"], a["interp_alpha"]
    n_rows, n_cols = len(pairs), len(alpha) + 2
    fig, axes = panel_figure(n_rows, n_cols, 1.05 if layout in HGCAL_LAYOUTS else 0.95)
    for r, (ia, ib) in enumerate(pairs):
        vmax = _vmax(inputs[r], dec[r])
        tag = (lambda i: f" ({labels[i]})") if labels is not None else (lambda i: "")
        shown = panel(axes[r][0], inputs[r, 0], layout, 0, vmax, f"input {ia}{tag(ia)}")
        for t, al in enumerate(alpha):
            title = f"α={al:.3g}" if r == 0 else ""
            panel(axes[r][t + 1], dec[r, t], layout, 0, vmax, title)
        panel(axes[r][-1], inputs[r, 1], layout, 0, vmax, f"input {ib}{tag(ib)}")
        axes[r][0].set_ylabel(f"path {r + 1}", fontsize=8)
        for c in (0, n_cols - 1):
            for side in axes[r][c].spines.values():
                side.set_visible(True)
                side.set_color("tab:blue")
        _colour_bar(fig, shown, list(axes[r]), value_label(layout) if r == 0 else "")
    save(fig, path, tight=False)
    return {"pairs": pairs.tolist(), "steps": int(len(alpha))}


def plot_meshgrid(prob: dict, layout: str, path: Path) -> dict:
    """The decoded grid over the two leading directions: PC1 across, PC2 up; one colour scale."""
    a, info = prob["arrays"], prob["info"]
    dec, steps = a["grid_decoded"], a["grid_steps"]
    g = len(steps)
    fig, axes = panel_figure(g, g, 1.0 if layout in HGCAL_LAYOUTS else 0.85, left=0.85, bottom=0.6, top=0.1)
    vmax = _vmax(dec)
    xlabel, ylabel = map_axes(info)
    for row in range(g):
        j = g - 1 - row  # PC2 grows upwards
        for i in range(g):
            ax = axes[row][i]
            shown = panel(ax, dec[i, j], layout, 0, vmax)
            if row == g - 1:
                ax.set_xlabel(_sigma(steps[i]), fontsize=8)
            if i == 0:
                ax.set_ylabel(_sigma(steps[j]), fontsize=8)
            if abs(steps[i]) < 1e-12 and abs(steps[j]) < 1e-12:
                for side in ax.spines.values():
                    side.set_visible(True)
                    side.set_color("tab:red")
    sig = a["basis_sigma"]
    fig.supxlabel(f"{xlabel}: σ = {sig[0]:.3g}", fontsize=9, y=0.02)
    fig.supylabel(f"{ylabel}: σ = {sig[1]:.3g}", fontsize=9, x=0.02)
    _colour_bar(fig, shown, axes.ravel().tolist(), value_label(layout), shrink=0.5)
    save(fig, path, tight=False)
    return {"size": g, "span": float(steps[-1])}


def _outline_tile(ax, sample: np.ndarray, layout: str, part: int) -> None:
    """On a tiled image (MICAE digits), frame the tile of input ``part``: the one whose latent a row varies."""
    n, side = sample.shape[0], sample.shape[1]
    k = int(round(np.sqrt(n)))
    if layout in HGCAL_LAYOUTS or n == 1 or k * k != n:
        return
    from matplotlib.patches import Rectangle

    row, col = divmod(part, k)
    ax.add_patch(Rectangle((col * side - 0.5, row * side - 0.5), side, side, fill=False, color="tab:orange", lw=1.2))


def _sigma(step: float) -> str:
    return "0" if abs(step) < 1e-12 else f"{step:+.2g}σ"


def plot_traversals(prob: dict, layout: str, path: Path, labels: np.ndarray | None = None) -> dict:
    """One row per traversed latent: the reference input, then the decoded steps; one colour scale."""
    a, info = prob["arrays"], prob["info"]
    dec, dims, values, valid = a["trav_decoded"], a["trav_dims"], a["trav_values"], a["trav_valid"]
    n_parts, k = int(info.get("n_parts", 1)), int(info.get("latents_per_part", dec.shape[-1]))
    n_rows, n_cols = len(dims), values.shape[1] + 1
    fig, axes = panel_figure(n_rows, n_cols, 1.05 if layout in HGCAL_LAYOUTS else 0.95, left=0.75)
    vmax = _vmax(dec[valid], a["trav_ref_input"])
    own = a.get("trav_ref_latent")  # the reference sample's codes, held fixed in every row
    for r, d in enumerate(dims):
        part = int(d) // k if layout in HGCAL_LAYOUTS and n_parts > 1 else 0
        ref_title = "reference input" + (f" ({labels[int(a['trav_ref'])]})" if labels is not None else "")
        shown = panel(axes[r][0], a["trav_ref_input"], layout, part, vmax, ref_title if r == 0 else "")
        near = -1 if own is None else int(np.argmin(np.where(valid[r], np.abs(values[r] - own[int(d)]), np.inf)))
        for t in range(values.shape[1]):
            ax = axes[r][t + 1]
            if not valid[r, t]:
                ax.axis("off")
                continue
            panel(ax, dec[r, t], layout, part, vmax, f"{values[r, t] + 0.0:.4g}")
            _outline_tile(ax, dec[r, t], layout, int(d) // k)
            if t == near:
                for side in ax.spines.values():
                    side.set_visible(True)
                    side.set_color("tab:red")
                    side.set_linewidth(1.5)
        std = a["trav_std"][r]
        axes[r][0].set_ylabel(f"{dim_name(int(d), n_parts, k)}\nstd {std:.3g}", fontsize=8)
    _colour_bar(fig, shown, axes.ravel().tolist(), value_label(layout), shrink=0.4)
    save(fig, path, tight=False)
    return {"dims": [int(d) for d in dims]}


# ------------------------------------------------------------------- VAE


def is_vae(metrics: Metrics | None) -> bool:
    """metrics.json says the run trained a VAE (``objective: vae``, as a name or ``{"name": "vae"}``)."""
    obj = metrics.objective if metrics is not None else None
    name = obj.get("name") if isinstance(obj, dict) else obj
    return str(name or "").lower() == "vae"


def vae_stats(means: np.ndarray, logvar: np.ndarray | None) -> list[dict]:
    """Per latent (pooled over the MICAE inputs): spread of the posterior means, mean posterior sigma, mean KL."""
    mu = np.asarray(means, dtype=np.float64).reshape(-1, np.shape(means)[-1])
    lv = None if logvar is None else np.asarray(logvar, dtype=np.float64).reshape(mu.shape)
    out = []
    for d in range(mu.shape[1]):
        row = {"dim": d, "mean": float(mu[:, d].mean()), "std": float(mu[:, d].std())}
        if lv is not None:
            row["sigma"] = float(np.exp(0.5 * lv[:, d]).mean())
            row["kl"] = float(0.5 * np.mean(mu[:, d] ** 2 + np.exp(lv[:, d]) - 1.0 - lv[:, d]))
        out.append(row)
    return out


def vae_dims(stats: list[dict], n: int = 8) -> list[int]:
    """All dims when few; else the n/2 with the most and the n/2 with the least spread of the means."""
    if len(stats) <= n:
        return [s["dim"] for s in stats]
    order = sorted(stats, key=lambda s: -s["std"])
    return sorted({s["dim"] for s in order[: n // 2] + order[-(n // 2) :]})


def plot_vae_prior(
    means: np.ndarray, logvar: np.ndarray | None, stats: list[dict], dims: list[int], path: Path, lsb: float | None
) -> None:
    """Per chosen latent: histogram of the posterior means against the N(0, 1) prior (and the aggregate posterior)."""
    mu = np.asarray(means, dtype=np.float64).reshape(-1, np.shape(means)[-1])
    lv = None if logvar is None else np.asarray(logvar, dtype=np.float64).reshape(mu.shape)
    cols = min(len(dims), 4)
    rows = -(-len(dims) // cols)
    fig, axes = figure(rows, cols, figsize=(3.3 * cols, 2.7 * rows + 0.3), squeeze=False)
    grid = np.linspace(-4, 4, 401)
    prior = np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi)
    sub = np.random.default_rng(0).permutation(len(mu))[:2000]
    for n, ax in enumerate(axes.ravel()):
        if n >= len(dims):
            ax.axis("off")
            continue
        d, s = dims[n], stats[dims[n]]
        v = mu[:, d]
        lo, hi = min(-4.0, float(v.min())), max(4.0, float(v.max()))
        step = (hi - lo) / 60
        if lsb:
            step = lsb * max(1, int(np.ceil(step / lsb)))
            lo = np.floor(lo / lsb) * lsb - lsb / 2
        ax.hist(
            v, bins=np.arange(lo, hi + step, step), density=True, color="tab:blue", alpha=0.6, label="posterior means"
        )
        ax.plot(grid, prior, color="black", lw=1.4, label="prior N(0, 1)")
        if lv is not None:
            sd = np.exp(0.5 * lv[sub, d])
            agg = np.mean(np.exp(-0.5 * ((grid[:, None] - mu[sub, d]) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)), axis=1)
            ax.plot(grid, agg, color="tab:orange", lw=1.2, ls="--", label="aggregate posterior")
        title = f"z{d}: means {s['mean']:+.2f} ± {s['std']:.2f}"
        if "kl" in s:
            title += f"\nmean σ {s['sigma']:.2f}, KL {s['kl']:.3g} nats"
        ax.set_title(title, fontsize=8)
        ax.set_xlim(min(-4.0, float(v.min())), max(4.0, float(v.max())))
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
        if n == 0:
            ax.legend(fontsize=6, loc="upper left")
    save(fig, path)


# ------------------------------------------------------------ the report


def make_probing_figures(plot_dir: Path, run: dict, report: SynthReport | dict) -> dict:
    """Draw the probing pictures the run supports; returns ``{key: {"file", ...facts}}`` like make_figures.

    Keys: ``latent_map``, ``latent_interpolations``, ``latent_meshgrid``, ``latent_traversals`` (from
    probing.npz), ``vae_prior`` (VAE runs), and ``probing_missing`` (no probing.npz: the note says how).
    """
    from micae.report import run_data

    plot_dir = Path(plot_dir)
    for stale in PROBING_PLOTS:
        (plot_dir / stale).unlink(missing_ok=True)
    figs: dict = {}
    metrics = run_data.run_metrics(run)
    if is_vae(metrics) and "latents" in run.get("eval", {}):
        figs["vae_prior"] = _vae_figure(plot_dir, run, report)
    where = str(run.get("dir") or "models/<name>")
    try:
        prob = load_probing(run.get("dir"))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # a broken file must not cost the page
        figs["probing_missing"] = {"run": where, "why": f"its probing.npz/json cannot be read ({exc})"}
        return figs
    if prob is None:
        figs["probing_missing"] = {"run": where, "why": "it has no probing.npz"}
        return figs
    layout, info, a = run_data.layout(run), prob["info"], prob["arrays"]
    base = {"info": info}
    colourings = map_colourings(run_data.colourings(run, len(a["map_xy"])), int(info.get("n_parts", 1)))
    if colourings and len(a["map_xy"]) >= 3:
        facts = plot_latent_map(prob, colourings, plot_dir / "latent_map.png")
        figs["latent_map"] = {"file": "latent_map.png", **base, **facts, "colourings": [c["name"] for c in colourings]}
    if len(a["interp_pairs"]):
        labels = run.get("data", {}).get("aux_label")
        facts = plot_interpolations(prob, layout, plot_dir / "latent_interpolations.png", labels)
        figs["latent_interpolations"] = {"file": "latent_interpolations.png", **base, **facts}
    if a["grid_decoded"].size:
        facts = plot_meshgrid(prob, layout, plot_dir / "latent_meshgrid.png")
        figs["latent_meshgrid"] = {"file": "latent_meshgrid.png", **base, **facts}
    if len(a["trav_dims"]):
        labels = run.get("data", {}).get("aux_label")
        facts = plot_traversals(prob, layout, plot_dir / "latent_traversals.png", labels)
        figs["latent_traversals"] = {"file": "latent_traversals.png", **base, **facts}
    return figs


def _vae_figure(plot_dir: Path, run: dict, report: SynthReport) -> dict:
    from micae.report import run_data

    ev = run["eval"]
    means, logvar = ev["latents"], ev.get("latent_logvar")
    if logvar is not None and np.size(logvar) != np.size(means):
        logvar = None
    stats = vae_stats(means, logvar)
    dims = vae_dims(stats)
    _, lsb = run_data.latent_rails(report)
    plot_vae_prior(means, logvar, stats, dims, plot_dir / "vae_prior.png", lsb)
    return {"file": "vae_prior.png", "stats": stats, "dims": dims, "logvar": logvar is not None}
