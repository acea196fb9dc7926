"""One name for the QAT model in what micae train prints and draws (the files keep their keys: metrics.json
``quantized``, history.csv phase ``micae``). Hand-made metrics and histories; nothing trains."""

from __future__ import annotations

import csv

import numpy as np
import pytest


def _metrics(emd: bool) -> dict:
    def m(mse, e):
        return {"mse": mse, **({"emd_mean": e, "emd_median": e / 2} if emd else {})}

    return {
        "quantized": m(0.01, 0.9),
        "baselines": {"float": m(0.009, 0.8), "pca_tied": m(0.02, 1.5), "threshold": m(0.03, 2.0)},
        "elinks": {"2": {"ae": {"emd_mean": 0.9}, "bc": {"emd_mean": 1.6}}} if emd else {},
        "bit_budget": {},
        "n_parts": 1,
        "dead_latents": [],
    }


@pytest.mark.parametrize("emd", [True, False])
def test_the_train_table_names_the_qat_model_qat_and_gives_the_emd_unit(monkeypatch, emd):
    import micae.train.shared
    from micae.cli.train import format_metrics_table

    monkeypatch.setattr(micae.train.shared, "describe_budget", lambda budget: "budget")
    table = format_metrics_table(_metrics(emd))
    rows = [line.split("  ")[0].strip() for line in table.splitlines()[2:6]]
    assert rows == ["QAT model", "float twin", "PCA (tied)", "threshold, equal-bit (micae)"], table
    assert "quantized" not in table and "micae " not in table.replace("(micae)", ""), table
    assert ("EMD in units of half a trigger-cell pitch" in table) is emd, table
    if emd:
        assert "QAT and the chip's algorithms at L = 2 on the test split (mean EMD): QAT 0.900, bc 1.600" in table


def test_the_run_plots_name_the_qat_model_and_count_epochs_from_1(tmp_path, monkeypatch):
    """The run folder's plots are drawn by the report's figures: same names, epochs from 1, the loss named."""
    import micae.report.figures as figures_module
    import micae.train.plots as plots

    figures = []
    monkeypatch.setattr(figures_module, "save", lambda fig, path, **kw: figures.append(fig))
    history = tmp_path / "history.csv"
    with history.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["phase", "epoch", "loss", "val_loss"])
        w.writerows([["micae", 0, 2.0, 2.1], ["micae", 1, 1.5, 1.7], ["float", 0, 1.9, 2.0]])
    plots.plot_loss_curves(history, tmp_path / "loss.png", "sinkhorn EMD")
    fig = figures[-1]
    titles = [ax.get_title() for ax in fig.axes]
    assert "QAT model: loss per epoch" in titles and "float twin: loss per epoch" in titles, titles
    assert fig._suptitle.get_text() == "loss: sinkhorn EMD"
    qat_axis = fig.axes[titles.index("QAT model: loss per epoch")]
    assert list(qat_axis.lines[0].get_xdata()) == [1, 2]

    x = np.random.default_rng(0).random((4, 1, 8, 8, 1))
    plots.plot_reconstructions(x, {"quantized": x, "pca_tied": x}, "image", tmp_path / "r.png", n=2)
    titles = [ax.get_title().split("\n")[0] for ax in figures[-1].axes if ax.get_title()]
    assert titles[:3] == ["input", "QAT model", "PCA (tied)"], titles
