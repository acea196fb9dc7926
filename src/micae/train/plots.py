"""Training plots: loss curves, inputs next to reconstructions, latent histograms."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from micae.labels import model_name, phase_name
from micae.report.draw import draw_sample, figure, save


def plot_loss_curves(history_csv: Path, path: Path) -> None:
    rows = list(csv.DictReader(history_csv.open()))
    phases = sorted({r["phase"] for r in rows}, key=lambda p: [r["phase"] for r in rows].index(p))
    fig, axes = figure(1, len(phases), figsize=(4.5 * len(phases), 3.4), squeeze=False)
    for ax, phase in zip(axes[0], phases):
        sel = [r for r in rows if r["phase"] == phase]
        ep = [int(r["epoch"]) + 1 for r in sel]  # Keras counts from 0; epochs are counted from 1, as the report
        ax.plot(ep, [float(r["loss"]) for r in sel], label="train")
        if sel and sel[0].get("val_loss"):
            ax.plot(ep, [float(r["val_loss"]) for r in sel], label="validation")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(f"{phase_name(phase)}: train/validation loss")
        ax.legend(fontsize=8)
    save(fig, path)


def plot_reconstructions(x: np.ndarray, recons: dict[str, np.ndarray], layout: str, path: Path, n: int = 5) -> None:
    names = ["input"] + list(recons)
    idx = np.argsort(-x.reshape(len(x), -1).sum(1))[:: max(len(x) // n, 1)][:n]
    fig, axes = figure(len(idx), len(names), figsize=(2.1 * len(names), 2.0 * len(idx)), squeeze=False)
    for row, i in enumerate(idx):
        vmax = float(x[i].max()) or 1.0
        for col, name in enumerate(names):
            sample = x[i] if name == "input" else recons[name][i]
            title = ("input" if name == "input" else model_name(name)) if row == 0 else ""
            draw_sample(axes[row][col], sample, layout, title=title, vmax=vmax)
    save(fig, path)


def plot_latent_histograms(latents: np.ndarray, dead: list[int], saturated: list[int], path: Path) -> None:
    lat = latents.reshape(-1, latents.shape[-1])
    k = lat.shape[1]
    cols = min(k, 8)
    rows = -(-k // cols)
    fig, axes = figure(rows, cols, figsize=(1.9 * cols, 1.7 * rows), squeeze=False)
    for i in range(rows * cols):
        ax = axes[i // cols][i % cols]
        if i >= k:
            ax.axis("off")
            continue
        ax.hist(lat[:, i], bins=30, color="tab:red" if i in dead else ("tab:orange" if i in saturated else "tab:blue"))
        flag = " DEAD" if i in dead else (" SATURATED" if i in saturated else "")
        ax.set_title(f"z{i}{flag}", fontsize=8, color="red" if flag else "black")
        ax.tick_params(labelsize=6)
        if i // cols == rows - 1 or i + cols >= k:
            ax.set_xlabel("latent value", fontsize=6)
        if i % cols == 0:
            ax.set_ylabel("test samples", fontsize=6)
    fig.suptitle(f"{model_name('quantized')} encoder latents on the test split", fontsize=9)
    save(fig, path)


def write_training_plots(plot_dir: Path, ds, trained: dict, evaluation: dict) -> list[Path]:
    plot_dir.mkdir(parents=True, exist_ok=True)
    out = []
    history = plot_dir.parent / "history.csv"
    if history.exists():
        plot_loss_curves(history, plot_dir / "loss_curves.png")
        out.append(plot_dir / "loss_curves.png")
    recons = {k: v for k, v in evaluation["recons"].items() if k != "pca_joint"}
    plot_reconstructions(ds.x_test, recons, ds.layout, plot_dir / "reconstructions.png")
    plot_latent_histograms(
        evaluation["latents"],
        evaluation["dead_latents"],
        evaluation["saturated_latents"],
        plot_dir / "latent_histograms.png",
    )
    out += [plot_dir / "reconstructions.png", plot_dir / "latent_histograms.png"]
    return out
