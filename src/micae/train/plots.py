"""Training plots (``models/<run>/plots/``): loss curves, inputs next to reconstructions, latent histograms.

They are drawn by the report's own figure functions (:mod:`micae.report.figures`), so the run folder's copies
have the report's colour bars, labels and epoch numbering (from 1); ``micae report`` adds the firmware, metric
and probing figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from micae.report.figures import latent_flags, plot_latent_histograms, plot_reconstructions, plot_training, read_history
from micae.report.run_data import loss_name


def plot_loss_curves(history_csv: Path, path: Path, loss: str | None = None) -> None:
    """Train and validation loss per epoch (from 1) and their ratio, one column per phase, the loss named."""
    plot_training(read_history(history_csv), path, loss=loss)


def write_training_plots(plot_dir: Path, ds, trained: dict, evaluation: dict) -> list[Path]:
    plot_dir.mkdir(parents=True, exist_ok=True)
    out = []
    history = plot_dir.parent / "history.csv"
    if history.exists():
        loss = loss_name(plot_dir.parent / "config.yaml") if (plot_dir.parent / "config.yaml").exists() else None
        plot_loss_curves(history, plot_dir / "loss_curves.png", loss)
        out.append(plot_dir / "loss_curves.png")
    recons = {k: v for k, v in evaluation["recons"].items() if k != "pca_joint"}
    x = np.asarray(ds.x_test)
    plot_reconstructions(x, recons, ds.layout, plot_dir / "reconstructions.png")
    latents = np.asarray(evaluation["latents"])
    flags = latent_flags(latents, None)
    for f in flags:  # no latent format here: training's own verdicts
        f["dead"] = f["dim"] in evaluation["dead_latents"]
        f["saturated"] = f["dim"] in evaluation["saturated_latents"]
    plot_latent_histograms(
        latents if latents.ndim == 3 else latents[:, None, :], flags, plot_dir / "latent_histograms.png"
    )
    out += [plot_dir / "reconstructions.png", plot_dir / "latent_histograms.png"]
    return out
