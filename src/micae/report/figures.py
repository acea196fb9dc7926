"""The HTML report's plots (matplotlib, Agg), each written as one PNG.

Every ``plot_*`` function takes plain arrays and a path, so it can be tested
without a training run; the small analysis helpers next to them
(:func:`gap_trend`, :func:`latent_flags`, :func:`pca_2d`) return the numbers
the report states in words.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from micae.labels import MODEL_NAMES, PHASE_NAMES
from micae.report.draw import HGCAL_LAYOUTS, draw_image, draw_wafer_cells, figure, save

MODEL_LABELS = MODEL_NAMES
"""The report names models as the CLI and the logs do (:mod:`micae.labels`)."""
MODEL_COLOURS = {
    "quantized": "tab:blue",
    "float": "tab:orange",
    "pca_tied": "tab:green",
    "pca_joint": "tab:purple",
    "bc": "tab:red",
    "stc": "tab:brown",
    "threshold": "tab:gray",
}
MAX_POINTS = 5000


def model_label(name: str) -> str:
    return MODEL_LABELS.get(name, name)


PHASE_LABELS = PHASE_NAMES


def phase_label(phase: str) -> str:
    return PHASE_LABELS.get(phase, phase)


# ---------------------------------------------------------------- training


def read_history(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """history.csv -> ``{phase: {"epoch", "loss", "val_loss"}}`` (epochs 1-based; val NaN when absent)."""
    phases: dict[str, dict[str, list]] = {}
    with Path(path).open() as fh:
        for row in csv.DictReader(fh):
            p = phases.setdefault(row["phase"], {"epoch": [], "loss": [], "val_loss": []})
            p["epoch"].append(int(row["epoch"]) + 1)
            p["loss"].append(float(row["loss"]))
            p["val_loss"].append(float(row["val_loss"]) if row.get("val_loss") else np.nan)
    return {name: {k: np.asarray(v, dtype=float) for k, v in cols.items()} for name, cols in phases.items()}


def gap_trend(epochs: np.ndarray, train: np.ndarray, val: np.ndarray) -> dict:
    """Does the validation loss pull away from the training loss (the overfitting signature)?

    The gap is judged on the ratio ``val / train`` (scale-free, unlike the
    difference, since losses fall by orders of magnitude). It "grows" when the
    ratio rises over the second half of training (least-squares slope > 0),
    ends above 1.02 (validation worse than training) and more than 2 % above
    its lowest value. A ratio that rises towards 1 from below is the usual
    early-training lag of the epoch-averaged training loss, not overfitting.
    Fewer than 3 epochs: no verdict.
    """
    ok = np.isfinite(val) & np.isfinite(train) & (train > 0)
    ep, ratio = np.asarray(epochs)[ok], np.asarray(val)[ok] / np.asarray(train)[ok]
    out = {"epochs": int(len(ep)), "grows": None, "ratio": ratio, "epoch": ep}
    if len(ep) == 0:
        out["text"] = "no validation loss was recorded, so the train/validation gap cannot be judged."
        return out
    v = np.asarray(val)[ok]
    best = int(np.argmin(v))
    lo = int(np.argmin(ratio))
    out.update(
        first=float(ratio[0]),
        last=float(ratio[-1]),
        lowest=float(ratio[lo]),
        lowest_epoch=int(ep[lo]),
        best_val_epoch=int(ep[best]),
    )
    span = f"validation/train loss ratio {ratio[0]:.3f} at epoch {ep[0]:.0f}, {ratio[-1]:.3f} at epoch {ep[-1]:.0f}"
    if len(ep) < 3:
        out["text"] = f"only {len(ep)} epoch(s), too few to judge a trend ({span})."
        return out
    tail = max(3, len(ep) // 2)
    slope = float(np.polyfit(ep[-tail:], ratio[-tail:], 1)[0])
    grows = slope > 0 and ratio[-1] > 1.02 and ratio[-1] > 1.02 * ratio[lo]
    out.update(grows=bool(grows), slope=slope)
    rose = v[-1] > 1.02 * v[best] and best < len(v) - 1
    after = (
        f" The validation loss itself rose after epoch {ep[best]:.0f}; early stopping keeps that epoch's weights."
        if rose
        else ""
    )
    if grows:
        out["text"] = (
            f"the gap grows: the ratio rose from {ratio[lo]:.3f} (epoch {ep[lo]:.0f}) to {ratio[-1]:.3f} "
            f"(epoch {ep[-1]:.0f}), the validation loss pulls away from the training loss: "
            f"a sign of overfitting.{after}"
        )
    elif ratio[-1] <= 1.02:
        out["text"] = (
            f"the gap does not grow: the validation loss stays below or close to the training loss ({span}); "
            f"no sign of overfitting.{after}"
        )
    else:
        out["text"] = f"the gap does not grow ({span}); no sign of overfitting.{after}"
    return out


def plot_training(history: dict[str, dict[str, np.ndarray]], path: Path, loss: str | None = None) -> dict[str, dict]:
    """Loss curves (top) and the validation/train ratio (bottom), one column per phase; ``loss`` names the loss
    on the axis (epochs counted from 1, as history.csv is read).

    Returns :func:`gap_trend` per phase.
    """
    phases = list(history)
    fig, axes = figure(2, len(phases), figsize=(4.6 * len(phases), 5.6), squeeze=False, sharex="col")
    trends = {}
    for col, phase in enumerate(phases):
        h = history[phase]
        trend = gap_trend(h["epoch"], h["loss"], h["val_loss"])
        trends[phase] = trend
        top, bottom = axes[0][col], axes[1][col]
        top.plot(h["epoch"], h["loss"], "o-", ms=3, label="train")
        if np.isfinite(h["val_loss"]).any():
            top.plot(h["epoch"], h["val_loss"], "o-", ms=3, label="validation")
        top.set_yscale("log")
        top.set_ylabel("loss")
        top.set_title(f"{phase_label(phase)}: loss per epoch", fontsize=10)
        top.legend(fontsize=8)
        top.grid(alpha=0.3, which="both")
        if len(trend["ratio"]):
            colour = "tab:red" if trend["grows"] else "tab:green" if trend["grows"] is False else "0.4"
            bottom.plot(trend["epoch"], trend["ratio"], "o-", ms=3, color=colour)
            bottom.axhline(1.0, color="0.5", lw=0.8, ls="--")
            verdict = {True: "gap grows", False: "gap does not grow", None: "too few epochs to judge"}[trend["grows"]]
            bottom.set_title(f"validation / train loss: {verdict}", fontsize=10, color=colour)
        else:
            bottom.text(0.5, 0.5, "no validation loss", ha="center", va="center", transform=bottom.transAxes)
        bottom.set_xlabel("epoch (from 1)")
        bottom.set_ylabel("val loss / train loss")
        bottom.grid(alpha=0.3)
        bottom.xaxis.get_major_locator().set_params(integer=True)
    if loss:
        fig.suptitle(f"loss: {loss}", fontsize=10)
    save(fig, path)
    return trends


# ---------------------------------------------------------- reconstructions


def pick_samples(x: np.ndarray, n: int) -> np.ndarray:
    """``n`` sample indices spread from the largest to the smallest total input (non-empty first)."""
    total = x.reshape(len(x), -1).sum(axis=1)
    order = np.argsort(-total)
    order = order[total[order] > 0] if (total > 0).sum() >= n else order
    if len(order) <= n:
        return order
    return order[np.linspace(0, len(order) - 1, n).round().astype(int)]


def _draw_cell(ax, sample: np.ndarray, layout: str, part: int, vmax: float, title: str):
    """One panel: a wafer (HGCAL, one part), or the image with the MICAE tiles put back together."""
    if layout in HGCAL_LAYOUTS:
        from micae.data.geometry import unarrange

        return draw_wafer_cells(ax, unarrange(sample[part : part + 1], layout)[0], vmax=vmax, title=title)
    n_parts, side = sample.shape[0], sample.shape[1]
    k = int(round(np.sqrt(n_parts)))
    if n_parts > 1 and k * k == n_parts and sample.shape[1] == sample.shape[2]:
        from micae.data.digits import untile_images

        shown = draw_image(ax, untile_images(sample[None])[0], vmax=vmax, title=title)
        for edge in range(1, k):  # where the tiles meet: each tile went through the shared encoder alone
            ax.axhline(edge * side - 0.5, color="tab:red", lw=0.6, alpha=0.5)
            ax.axvline(edge * side - 0.5, color="tab:red", lw=0.6, alpha=0.5)
        return shown
    return draw_image(ax, sample[part], vmax=vmax, title=title)


def plot_reconstructions(
    x: np.ndarray,
    recons: dict[str, np.ndarray],
    layout: str,
    path: Path,
    *,
    scores: dict[str, np.ndarray] | None = None,
    score_name: str = "",
    labels: np.ndarray | None = None,
    n: int = 5,
) -> list[int]:
    """Inputs next to each model's reconstruction, one sample per row, colour scale shared along a row.

    ``x`` and ``recons`` are ``(samples, n_parts, H, W, C)`` and aligned; ``scores``
    (per model: one metric value per sample, or ``(samples, n_parts)`` per wafer) are printed under the model
    name. HGCAL samples with several wafers get one row per wafer (at most 3). Returns the sample indices.
    """
    m = min(len(x), *(len(r) for r in recons.values()))
    idx = pick_samples(x[:m], n)
    hgcal = layout in HGCAL_LAYOUTS
    parts = min(x.shape[1], 3) if hgcal else 1
    rows = [(int(i), p) for i in idx for p in range(parts)][: max(n, 6)]
    names = ["input", *recons]
    size = 2.0 if hgcal else 1.7
    fig, axes = figure(
        len(rows),
        len(names),
        figsize=(size * len(names) + 0.9, size * len(rows) + 0.3),
        squeeze=False,
        layout="constrained",
    )
    for r, (i, part) in enumerate(rows):
        vmax = float(x[i, part].max() if hgcal else x[i].max()) or 1.0
        for c, name in enumerate(names):
            sample = x[i] if name == "input" else recons[name][i]
            title = "input" if name == "input" else model_label(name)
            if name != "input" and scores and name in scores and i < len(scores[name]):
                score = scores[name][i]  # per sample, or (n_parts,) per wafer
                title += f"\n{score_name} {(score[part] if np.ndim(score) else score):.3g}"
            elif name == "input" and labels is not None and i < len(labels):
                title += f"\nlabel {labels[i]}"
            elif name == "input":
                title += "\n "
            shown = _draw_cell(axes[r][c], sample, layout, part, vmax, title)
        row_name = f"sample {i}" + (f", wafer {part + 1}/{x.shape[1]}" if hgcal and x.shape[1] > 1 else "")
        axes[r][0].set_ylabel(row_name, fontsize=8)
        bar = fig.colorbar(shown, ax=list(axes[r]), shrink=0.85, pad=0.01, aspect=15)
        bar.ax.tick_params(labelsize=7)
    save(fig, path, tight=False)
    return [int(i) for i in idx]


# ------------------------------------------------------------------ metrics


def plot_metric_histograms(
    per_sample: dict[str, dict[str, np.ndarray]], path: Path, units: dict[str, str] | None = None
) -> dict[str, dict[str, dict[str, int]]]:
    """Overlaid per-sample histograms, one panel per metric (``{metric: {model: values}}``).

    ``units`` names what one value belongs to when it is not a sample (e.g. ``{"emd": "wafer"}``).

    MSE spans decades, so its axis and bins are logarithmic; exact reconstructions (MSE 0) have no place on it
    and are counted in the legend instead. Non-finite values (EMD of an empty wafer is undefined) are left out.
    Returns ``{"dropped": non-finite values, "zeros": zeros not drawn}``, each per metric and model.
    """
    metrics = [k for k, v in per_sample.items() if v]
    n_models = max(len(per_sample[m]) for m in metrics)
    below = n_models > 4  # many models: the legend goes under the axes instead of over the histograms
    height = 3.6 + (0.16 * n_models + 0.4 if below else 0)
    fig, axes = figure(1, len(metrics), figsize=(5.4 * len(metrics), height), squeeze=False)
    dropped: dict[str, dict[str, int]] = {}
    zeros_drawn: dict[str, dict[str, int]] = {}
    for ax, metric in zip(axes[0], metrics):
        models = per_sample[metric]
        finite = {k: np.asarray(v, dtype=float)[np.isfinite(v)] for k, v in models.items()}
        dropped[metric] = {k: int(np.size(models[k]) - len(v)) for k, v in finite.items()}
        pooled = np.concatenate([v for v in finite.values() if len(v)] or [np.zeros(1)])
        log = metric == "mse" and (pooled > 0).any()
        if log:
            lo = float(pooled[pooled > 0].min())
            bins = np.geomspace(lo, max(float(pooled.max()), lo * 1.01), 50)
            ax.set_xscale("log")
        else:
            bins = np.linspace(float(pooled.min()), max(float(pooled.max()), float(pooled.min()) + 1e-9), 50)
        for name, values in finite.items():
            zeros = int((values == 0).sum()) if log else 0
            if zeros:  # a log axis has no 0: exact reconstructions are counted in the legend, not piled on its edge
                values = values[values > 0]
                zeros_drawn.setdefault(metric, {})[name] = zeros
            ax.hist(
                values,
                bins=bins,
                histtype="step",
                lw=1.6,
                color=MODEL_COLOURS.get(name),
                label=f"{model_label(name)}: mean {values.mean():.3g}, median {np.median(values):.3g}"
                + (f"; {zeros} with {metric.upper()} 0 not drawn" if zeros else "")
                if len(values)
                else model_label(name),
            )
        unit = (units or {}).get(metric, "sample")
        what = " (half TC pitch)" if metric == "emd" else " (normalised input)" if metric == "mse" else ""
        ax.set_xlabel(f"per-{unit} {metric.upper()}{what}" + (" (log scale)" if log else ""))
        ax.set_ylabel(f"test {unit}s")
        ax.set_title(f"{metric.upper()} on the test split", fontsize=10)
        if below:
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.17), frameon=False)
        else:
            ax.legend(fontsize=7, framealpha=0.9)
        ax.grid(alpha=0.3)
    save(fig, path)
    return {"dropped": dropped, "zeros": zeros_drawn}


def binned_mean(x: np.ndarray, values: dict[str, np.ndarray], n_bins: int = 8) -> dict:
    """Mean of each model's ``values`` (with its standard error) in ``n_bins`` equal-population bins of ``x``.

    ``x`` and every array in ``values`` are aligned (the longer ones are cut to
    the shortest). Entries whose x is not positive and finite, or whose value is
    not finite (EMD of an empty wafer), are left out per model. Bin edges are
    quantiles of the x values kept for every model, so each bin holds about the
    same number of wafers. Returns ``{"edges", "x_mean", "models": {m: {"mean", "sem", "n"}}}``.
    """
    n = min([len(x), *(len(v) for v in values.values())])
    x = np.asarray(x, dtype=np.float64)[:n]
    vals = {m: np.asarray(v, dtype=np.float64)[:n] for m, v in values.items()}
    keep = np.isfinite(x) & (x > 0)
    if keep.sum() < 2:
        return {"edges": np.array([]), "x_mean": np.array([]), "models": {}}
    edges = np.unique(np.quantile(x[keep], np.linspace(0, 1, n_bins + 1)))
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    n_b = len(edges) - 1
    x_mean = np.array([x[keep & (which == b)].mean() if (keep & (which == b)).any() else np.nan for b in range(n_b)])
    models = {}
    for m, v in vals.items():
        ok = keep & np.isfinite(v)
        mean, sem, count = np.full(n_b, np.nan), np.full(n_b, np.nan), np.zeros(n_b, dtype=int)
        for b in range(n_b):
            sel = v[ok & (which == b)]
            count[b] = len(sel)
            if len(sel):
                mean[b] = sel.mean()
                sem[b] = sel.std(ddof=1) / np.sqrt(len(sel)) if len(sel) > 1 else np.nan
        models[m] = {"mean": mean, "sem": sem, "n": count}
    return {"edges": edges, "x_mean": x_mean, "models": models}


def plot_emd_vs_charge(binned: dict, path: Path, x_label: str) -> None:
    """Mean EMD per charge bin with the error of the mean, one line per algorithm (log x axis)."""
    fig, ax = figure(1, 1, figsize=(7.2, 4.2))
    edges = binned["edges"]
    for k, (name, b) in enumerate(binned["models"].items()):
        shift = 1.0 + 0.012 * (k - (len(binned["models"]) - 1) / 2)  # side by side, error bars do not hide
        ax.errorbar(
            binned["x_mean"] * shift,
            b["mean"],
            yerr=np.nan_to_num(b["sem"]),
            fmt="o-",
            ms=4,
            lw=1.4,
            capsize=3,
            color=MODEL_COLOURS.get(name),
            label=model_label(name),
        )
    for e in edges:
        ax.axvline(e, color="0.88", lw=0.6, zorder=0)
    ax.set_xscale("log")
    ax.set_xlabel(f"{x_label} (log scale; grey lines: bin edges, equal wafer counts)")
    ax.set_ylabel("mean EMD per wafer (half TC pitch)")
    ax.set_title("Mean EMD against the wafer's total charge (error bars: standard error of the mean)", fontsize=10)
    ax.grid(alpha=0.3, which="both", axis="y")
    ax.legend(fontsize=8, framealpha=0.9)
    save(fig, path)


# ------------------------------------------------------------------ latents


def latent_flags(latents: np.ndarray, rails: tuple[float, float] | None, fraction: float = 0.5) -> list[dict]:
    """Per latent dimension (pooled over the MICAE parts): spread, rail occupancy, dead / saturated.

    Dead: constant on the test split (carries nothing). Saturated: at a rail
    (the latent format's min or max) for more than ``fraction`` of the values,
    the same rule as training's ``saturated_latents``.
    """
    lat = np.asarray(latents, dtype=float).reshape(-1, np.shape(latents)[-1])
    out = []
    for i in range(lat.shape[1]):
        v = lat[:, i]
        low = float((v <= rails[0]).mean()) if rails else None
        high = float((v >= rails[1]).mean()) if rails else None
        dead = bool(v.std() == 0)
        saturated = bool(rails is not None and (low + high) > fraction)
        out.append(
            {
                "dim": i,
                "mean": float(v.mean()),
                "std": float(v.std()),
                "min": float(v.min()),
                "max": float(v.max()),
                "distinct": int(len(np.unique(v))),
                "at_low_rail": low,
                "at_high_rail": high,
                "dead": dead,
                "saturated": saturated,
            }
        )
    return out


def plot_latent_histograms(
    latents: np.ndarray,
    flags: list[dict],
    path: Path,
    rails: tuple[float, float] | None = None,
    lsb: float | None = None,
) -> None:
    """One histogram per latent dimension over the values it takes; dead/saturated ones in red/orange.

    Bins are whole LSBs (one per code when the dimension uses at most 80 codes);
    each panel states the share of the latent format's range it spans, and the
    rails are drawn when they are in view.
    """
    lat = np.asarray(latents, dtype=float).reshape(-1, np.shape(latents)[-1])
    k = lat.shape[1]
    cols = min(k, 8)
    rows = -(-k // cols)
    fig, axes = figure(rows, cols, figsize=(1.95 * cols, 1.8 * rows + 0.2), squeeze=False)
    for i in range(rows * cols):
        ax = axes[i // cols][i % cols]
        if i >= k:
            ax.axis("off")
            continue
        f, v = flags[i], lat[:, i]
        lo, hi = float(v.min()), float(v.max())
        if lsb:
            step = lsb * max(1, -(-int(round((hi - lo) / lsb) + 1) // 80))
            bins = np.arange(lo - lsb / 2, hi + step, step)
        else:
            bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 41)
        colour = "tab:red" if f["dead"] else "tab:orange" if f["saturated"] else "tab:blue"
        ax.hist(v, bins=bins, color=colour)
        pad = max(2 * (lsb or 0), 0.05 * (hi - lo), 1e-3)
        ax.set_xlim(lo - pad, hi + pad)
        used = ""
        if rails:
            for rail in rails:
                if lo - pad <= rail <= hi + pad:
                    ax.axvline(rail, color="tab:red", lw=0.8, ls=":")
            if rails[1] > rails[0]:
                used = f", {100 * (hi - lo) / (rails[1] - rails[0]):.0f}% of range"
        word = " DEAD" if f["dead"] else " SATURATED" if f["saturated"] else ""
        ax.set_title(f"z{i}{word or used}", fontsize=8, color="tab:red" if word else "black")
        ax.set_yticks([])
        ax.tick_params(labelsize=6)
        if i // cols == rows - 1 or i + cols >= k:
            ax.set_xlabel("latent value", fontsize=7)
        if i % cols == 0:
            ax.set_ylabel("values (count)", fontsize=7)
    save(fig, path)


def pca_2d(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First two principal components of ``z`` (samples, features) and their explained-variance fractions."""
    z = np.asarray(z, dtype=float)
    centred = z - z.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    var = s**2
    total = var.sum()
    proj = centred @ vt[:2].T
    if proj.shape[1] < 2:
        proj = np.pad(proj, ((0, 0), (0, 2 - proj.shape[1])))
    frac = np.zeros(2)
    frac[: min(2, len(var))] = (var[:2] / total) if total > 0 else 0.0
    return proj, frac


def _position_colours(xy: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """RGB per point: hue = direction from the wafer centre, brightness = distance (dark at the centre)."""
    from matplotlib.colors import hsv_to_rgb

    d = xy - centre
    hue = (np.arctan2(d[:, 1], d[:, 0]) / (2 * np.pi)) % 1.0
    r = np.clip(np.hypot(d[:, 0], d[:, 1]) / radius, 0, 1)
    return hsv_to_rgb(np.stack([hue, 0.35 + 0.65 * r, 0.25 + 0.7 * r], axis=1))


def _wafer_frame_cm() -> tuple[np.ndarray, float]:
    from micae.data.geometry import tc_coordinates

    xy = tc_coordinates("cm")
    centre = xy.mean(axis=0)
    return centre, float(np.hypot(*(xy - centre).T).max()) + 1.4


def _position_key(ax, centre: np.ndarray, radius: float) -> None:
    """A key right of ``ax``: the colour of every impact position, with the trigger-cell centres on top."""
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    from micae.data.geometry import tc_coordinates

    key = make_axes_locatable(ax).append_axes("right", size="28%", pad=0.12)
    g = np.linspace(-radius, radius, 121)
    gx, gy = np.meshgrid(g, g)
    rgb = _position_colours(np.stack([gx.ravel(), gy.ravel()], 1) + centre, centre, radius).reshape(121, 121, 3)
    alpha = (np.hypot(gx, gy) <= radius).astype(float)
    key.imshow(
        np.dstack([rgb, alpha]),
        origin="lower",
        extent=(centre[0] - radius, centre[0] + radius, centre[1] - radius, centre[1] + radius),
    )
    tc = tc_coordinates("cm")
    key.plot(tc[:, 0], tc[:, 1], ".", color="white", ms=1.5)
    key.set_xticks([])
    key.set_yticks([])
    for side in key.spines.values():
        side.set_visible(False)
    key.set_title("key: impact\non the wafer", fontsize=7)


def _value_panel(fig, ax, proj: np.ndarray, v: np.ndarray, c: dict) -> int:
    """Points coloured by a value (linear or log colour bar); returns how many were left out (NaN)."""
    from matplotlib.colors import LogNorm, Normalize

    ok = np.isfinite(v) & ((v > 0) if c["kind"] == "log" else True)
    if c["kind"] == "log" and (~ok).any():
        ax.scatter(proj[~ok, 0], proj[~ok, 1], s=4, color="0.75", label=c.get("zero_label", "zero"))
        ax.legend(fontsize=7, markerscale=2.5, loc="lower right")
    if ok.any():
        lo, hi = float(v[ok].min()), float(v[ok].max())
        norm = LogNorm(lo, max(hi, lo * 1.001)) if c["kind"] == "log" else Normalize(lo, max(hi, lo + 1e-9))
        pts = ax.scatter(proj[ok, 0], proj[ok, 1], s=5, alpha=0.8, c=v[ok], cmap="viridis", norm=norm)
        bar = fig.colorbar(pts, ax=ax, pad=0.01)
        bar.set_label(c.get("unit", c["name"]), fontsize=8)
    return int((~np.isfinite(v)).sum())


def scatter_coloured(fig, ax, pts: np.ndarray, v: np.ndarray, c: dict, *, size: float, legend: dict) -> int:
    """Points ``pts`` coloured by one colouring ``c``: categories (a legend, ``legend`` its placement), impact
    positions (a hue/lightness wheel and its key) or values (a colour bar). Returns the points left out."""
    from matplotlib import colormaps

    if c["kind"] == "category":
        cats = np.unique(v)
        cmap = colormaps["tab10" if len(cats) <= 10 else "tab20"]
        for j, cat in enumerate(cats):
            sel = v == cat
            ax.scatter(pts[sel, 0], pts[sel, 1], s=size, alpha=0.7, color=cmap(j % cmap.N), label=str(cat))
        ax.legend(fontsize=7, title=c["name"], title_fontsize=7, **legend)
        return 0
    if c["kind"] == "position":
        ok = np.isfinite(v).all(axis=1)
        centre, radius = _wafer_frame_cm()
        ax.scatter(pts[ok, 0], pts[ok, 1], s=size, alpha=0.8, c=_position_colours(v[ok], centre, radius))
        _position_key(ax, centre, radius)
        return int((~ok).sum())
    return _value_panel(fig, ax, pts, v.astype(float), c)


def plot_latent_projection(latents: np.ndarray, colourings: list[dict], path: Path, seed: int = 0) -> dict:
    """2-D PCA projection of the latents, one panel per colouring.

    ``colourings``: dicts with ``name``, ``kind`` ("category", "log", "value" or
    "position") and ``values`` of shape (samples,) or, for per-wafer quantities,
    (samples, n_parts) (``position``: trailing axis 2, x/y in cm). When a
    colouring is per part, each part's latent vector is one point (so the colour
    belongs to the wafer that made it); otherwise the latents of all parts are
    concatenated into one point per sample. Points whose colour value is NaN
    are left out. Returns what was projected, the explained variance and the
    points left out per panel.
    """
    lat = np.asarray(latents, dtype=float)
    s, p, k = lat.shape
    per_part = p > 1 and any(np.shape(c["values"])[:2] == (s, p) and c["kind"] != "category" for c in colourings)
    z = lat.reshape(s * p, k) if per_part else lat.reshape(s, p * k)

    def values_of(c: dict) -> np.ndarray:
        v = np.asarray(c["values"])
        if per_part:
            tail = (2,) if c["kind"] == "position" else ()
            v = v.reshape(s * p, *tail) if v.shape[:2] == (s, p) else np.repeat(v, p, axis=0)
        return v

    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(z), MAX_POINTS, replace=False)) if len(z) > MAX_POINTS else np.arange(len(z))
    proj, frac = pca_2d(z)
    proj = proj[keep]
    fig, axes = figure(1, len(colourings), figsize=(5.0 * len(colourings), 4.4), squeeze=False)
    left_out = {}
    for ax, c in zip(axes[0], colourings):
        v = values_of(c)[keep]
        ax.set_xlabel(f"PC1 ({100 * frac[0]:.0f}% of variance)")
        ax.set_ylabel(f"PC2 ({100 * frac[1]:.0f}% of variance)")
        ax.set_title(f"coloured by {c['name']}", fontsize=10)
        ax.grid(alpha=0.3)
        ncol = 2 if c["kind"] == "category" and len(np.unique(v)) > 5 else 1
        legend = dict(markerscale=2.5, ncol=ncol, loc="best")
        left_out[c["name"]] = scatter_coloured(fig, ax, proj, v, c, size=5, legend=legend)
    save(fig, path)
    return {
        "points": "per part" if per_part else "concatenated",
        "n_points": int(len(keep)),
        "explained": [float(f) for f in frac],
        "left_out": left_out,
    }
