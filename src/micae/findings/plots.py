"""The findings page's figures (matplotlib, Agg, PNG)."""

from __future__ import annotations

from pathlib import Path

from micae.findings.latent_sweep import usable
from micae.report.draw import figure, save


def log_axis(ax, values) -> None:
    """A log y axis with a few plainly labelled ticks (matplotlib labels narrow log ranges as 1.5 x 10^-1)."""
    import numpy as np
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    vals = [v for v in values if v is not None and v > 0 and np.isfinite(v)]
    ax.set_yscale("log")
    if not vals:
        return
    lo, hi = min(vals), max(vals)
    ticks = np.geomspace(lo, hi, 5) if hi > lo else [lo]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))


def sweep_figure(sweeps: dict[str, dict], checks: list[dict], tolerance: float, path: Path) -> Path:
    """Test MSE against latents per part, one panel per dataset; L_sat and the tolerance band marked."""
    labels = list(sweeps)
    fig, axes = figure(1, len(labels), figsize=(5.4 * len(labels), 3.8), squeeze=False)
    for ax, label in zip(axes[0], labels):
        pts = usable(sweeps[label]["points"])
        if not pts:
            ax.text(0.5, 0.5, "no finished point", ha="center", transform=ax.transAxes)
            continue
        lats, mse = [p["latent"] for p in pts], [p["test_mse"] for p in pts]
        ax.plot(lats, mse, "o-", color="#2a5db0", label="test MSE (joint MICAE)")
        best = min(mse)
        ax.axhspan(
            best, best * (1 + tolerance), color="#7cc48d", alpha=0.25, label=f"within {100 * tolerance:g}% of best"
        )
        sat = next((c["numbers"].get("l_sat") for c in checks if c["scope"] == label and "l_sat" in c["numbers"]), None)
        if sat is not None:
            ax.axvline(sat, color="#1b6e2f", ls="--", lw=1, label=f"L_sat = {sat}")
        ax.set_xscale("log", base=2)
        log_axis(ax, [*mse, best * (1 + tolerance)])
        ax.set_xticks(lats)
        ax.set_xticklabels([str(x) for x in lats])
        ax.set_xlabel("latents per part")
        ax.set_ylabel("test MSE")
        ax.set_title(label)
        ax.grid(alpha=0.3, which="both")
        nz = [(p["latent"], p["weights_nz"]) for p in pts if p["weights_nz"] is not None]
        if nz:
            ax2 = ax.twinx()
            ax2.plot([a for a, _ in nz], [b for _, b in nz], "s:", color="#999", ms=4, label="encoder nonzero weights")
            ax2.set_ylabel("nonzero encoder weights", color="#777")
            ax2.tick_params(axis="y", colors="#777")
            h1, l1 = ax.get_legend_handles_labels()
            h2, l2 = ax2.get_legend_handles_labels()
            ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="best")
        else:
            ax.legend(fontsize=8)
    save(fig, path, dpi=110)
    return path


def curves_figure(comparisons: dict[str, dict], path: Path) -> Path:
    """Training and validation loss per epoch: CAE (frozen run, phase cae) and MICAE (joint run)."""
    labels = list(comparisons)
    fig, axes = figure(1, len(labels), figsize=(5.4 * len(labels), 3.6), squeeze=False)
    styles = (("CAE", "frozen", "cae", "#c2571a"), ("MICAE", "joint", "micae", "#2a5db0"))
    for ax, label in zip(axes[0], labels):
        shown = []
        for model, approach, phase, color in styles:
            h = comparisons[label][approach]["history"].get(phase)
            if not h:
                continue
            epochs = range(1, len(h["loss"]) + 1)
            ax.plot(epochs, h["loss"], "-", color=color, label=f"{model} train")
            ax.plot(epochs, h["val_loss"], "--", color=color, label=f"{model} validation")
            shown += [*h["loss"], *h["val_loss"]]
        log_axis(ax, shown)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (training objective)")
        ax.set_title(label)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    save(fig, path, dpi=110)
    return path


def comparison_figure(comparisons: dict[str, dict], path: Path) -> Path:
    """Test MSE of the three approaches per dataset, relative to joint training."""
    labels = list(comparisons)
    fig, axes = figure(1, len(labels), figsize=(4.2 * len(labels), 3.0), squeeze=False)
    names = {"solitary": "solitary +\nconcat", "frozen": "frozen shared\n+ new decoder", "joint": "joint\n(tied)"}
    for ax, label in zip(axes[0], labels):
        recs = comparisons[label]
        vals = [recs[a]["quality"]["mse"] for a in names]
        ax.bar(list(names.values()), vals, color=["#7a9cc6", "#c2571a", "#2a5db0"])
        for i, val in enumerate(vals):
            ax.text(i, val, f"{val:.3g}", ha="center", va="bottom", fontsize=8)
        ax.set_ylabel("test MSE")
        ax.set_title(label)
        ax.tick_params(axis="x", labelsize=8)
    save(fig, path, dpi=110)
    return path
