"""Which plots a report gets: draws each one the data supports into ``plots/`` and returns the facts it found.

The returned dict maps a plot key to ``{"file": "<name>.png", ...}`` plus the
numbers the page states in words (trends, dropped values, latent flags); the
view model reads only this dict, never the arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from micae.report import run_data
from micae.report.figures import (
    binned_mean,
    latent_flags,
    plot_emd_vs_charge,
    plot_latent_histograms,
    plot_latent_projection,
    plot_metric_histograms,
    plot_reconstructions,
    plot_training,
)
from micae.report.probing_figures import make_probing_figures
from micae.report.timing_figure import plot_stage_delays
from micae.results.report import SynthReport

PLOTS = (
    "training.png",
    "metric_histograms.png",
    "emd_vs_charge.png",
    "reconstructions.png",
    "latent_histograms.png",
    "latent_projection.png",
    "timing.png",
)


def make_figures(plot_dir: Path, run: dict | None, report: SynthReport | dict) -> dict:
    """Draw every plot the report and the run support into ``plot_dir``; returns ``{key: {"file", ...facts}}``."""
    from micae.report.facts import as_report

    report = as_report(report)
    plot_dir = Path(plot_dir)
    for stale in PLOTS:  # a rebuild must not leave plots of an earlier report behind
        (plot_dir / stale).unlink(missing_ok=True)
    figs: dict = {}
    timing = report.timing
    if timing:
        plot_dir.mkdir(parents=True, exist_ok=True)
        drawn = plot_stage_delays(timing, plot_dir / "timing.png", top=report.rtl.top if report.rtl else None)
        if drawn:
            figs["timing"] = {"file": "timing.png", **drawn}
    if not run:
        return figs
    plot_dir.mkdir(parents=True, exist_ok=True)
    if run.get("history"):
        trends = plot_training(run["history"], plot_dir / "training.png", loss=run.get("loss"))
        figs["training"] = {"file": "training.png", "trends": trends, "loss": run.get("loss")}
    per_sample = run_data.per_sample_metrics(run)
    figs.update(_metric_figures(plot_dir, run, per_sample))
    if "latents" in run.get("eval", {}):
        figs.update(_latent_figures(plot_dir, run, report))
    figs.update(make_probing_figures(plot_dir, run, report))
    if "latent_map" in figs and (figs.get("latent_projection") or {}).get("points") == "concatenated":
        (plot_dir / figs.pop("latent_projection")["file"]).unlink()  # the probing map shows the same points
    return figs


def _same(a: dict, b: str, c: str) -> bool:
    return b in a and c in a and np.array_equal(a[b], a[c])


def _metric_figures(plot_dir: Path, run: dict, per_sample: dict) -> dict:
    """Histograms of the per-sample metrics, EMD against charge, inputs next to reconstructions."""
    figs: dict = {}
    values, per_wafer, n_parts = per_sample["values"], per_sample["per_wafer"], per_sample["n_parts"]
    notes = []
    if any(_same(v, "pca_joint", "pca_tied") for v in values.values()):
        values = {k: {m: a for m, a in v.items() if m != "pca_joint"} for k, v in values.items()}
        notes.append("PCA (joint) is identical to PCA (tied) for a single-input model and is not drawn.")
    if per_wafer:
        notes.append(f"EMD is computed per wafer ({n_parts} per sample), MSE per sample.")
    if values:
        drawn = plot_metric_histograms(
            values, plot_dir / "metric_histograms.png", units={"emd": "wafer"} if per_wafer else None
        )
        figs["metric_histograms"] = {"file": "metric_histograms.png", **drawn, "note": " ".join(notes)}
    charge = run_data.wafer_charge(run)
    if values.get("emd") and charge is not None and (per_wafer or n_parts == 1):
        binned = binned_mean(charge[0], values["emd"])
        if binned["models"] and len(binned["x_mean"]):
            plot_emd_vs_charge(binned, plot_dir / "emd_vs_charge.png", charge[1])
            figs["emd_vs_charge"] = {
                "file": "emd_vs_charge.png",
                "binned": binned,
                "x_label": charge[1],
                "wafers_kept": len(charge[0]),
                "wafers_total": max(len(v) for v in values["emd"].values()),
            }
    figs.update(_reconstruction_figure(plot_dir, run, values, per_wafer, n_parts))
    return figs


def _reconstruction_figure(plot_dir: Path, run: dict, values: dict, per_wafer: bool, n_parts: int) -> dict:
    data = run.get("data", {})
    recons = run_data.reconstructions(run)
    if _same(recons, "pca_joint", "pca_tied"):
        recons.pop("pca_joint")
    if not recons or "x" not in data:
        return {}
    metric = "emd" if "emd" in values else "mse"
    scores = {
        m: (v.reshape(-1, n_parts) if metric == "emd" and per_wafer else v) for m, v in values.get(metric, {}).items()
    }
    shown = plot_reconstructions(
        data["x"],
        recons,
        run_data.layout(run),
        plot_dir / "reconstructions.png",
        scores=scores,
        score_name=metric.upper(),
        labels=data.get("aux_label"),
    )
    unit = "wafer" if metric == "emd" and per_wafer else "sample"
    return {"reconstructions": {"file": "reconstructions.png", "samples": shown, "score": metric, "unit": unit}}


def _latent_figures(plot_dir: Path, run: dict, report: SynthReport) -> dict:
    """Per-dimension histograms with dead/saturated flags, and the 2-D projection."""
    lat = run["eval"]["latents"]
    if lat.ndim == 2:
        lat = lat[:, None, :]
    rails, lsb = run_data.latent_rails(report)
    flags = latent_flags(lat, rails)
    if rails is None:  # no latent format known here: trust the training run's own verdicts
        metrics = run_data.run_metrics(run)
        saturated = metrics.saturated_latents if metrics is not None else []
        for f in flags:
            f["saturated"] = f["dim"] in saturated
    plot_latent_histograms(lat, flags, plot_dir / "latent_histograms.png", rails=rails, lsb=lsb)
    figs = {"latent_histograms": {"file": "latent_histograms.png", "flags": flags, "rails": rails, "lsb": lsb}}
    colourings = run_data.colourings(run, len(lat))
    if colourings and lat.shape[1] * lat.shape[2] >= 2 and len(lat) >= 3:
        info = plot_latent_projection(lat, colourings, plot_dir / "latent_projection.png")
        figs["latent_projection"] = {
            "file": "latent_projection.png",
            **info,
            "colourings": [c["name"] for c in colourings],
            "n_parts": int(lat.shape[1]),
        }
    return figs
