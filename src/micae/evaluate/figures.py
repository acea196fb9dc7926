"""The evaluation page's two figures (one panel per e-link count), drawn with :mod:`micae.report.draw`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from micae.evaluate.schema import AlgorithmResult
from micae.metrics.emd import empty_reconstruction_cost
from micae.report.draw import figure, save

LABELS = {
    "ae": "AE (QAT)",
    "ae_float": "AE (float twin)",
    "bc": "BC (chip)",
    "stc4": "STC4 (chip)",
    "stc16": "STC16 (chip)",
    "stc4_7": "STC4_7 (chip)",
    "ctc4_7": "CTC4_7 (chip)",
    "threshold": "Threshold-Sum (chip)",
    "repeater": "Repeater (chip)",
    "lit_bc": "BC (literature)",
    "lit_stc16": "STC16 (literature)",
    "lit_thr_1p35": "threshold 1.35 MIP_T (literature)",
    "lit_thr_2p0": "threshold 2.0 MIP_T (literature)",
}
COLOURS = {
    "ae": "tab:blue",
    "ae_float": "tab:cyan",
    "bc": "tab:red",
    "stc4": "tab:brown",
    "stc16": "tab:olive",
    "stc4_7": "tab:pink",
    "ctc4_7": "tab:purple",
    "threshold": "tab:gray",
    "repeater": "black",
    "lit_bc": "tab:red",
    "lit_stc16": "tab:olive",
    "lit_thr_1p35": "tab:gray",
    "lit_thr_2p0": "tab:green",
}
HISTOGRAMMED = ("ae", "ae_float", "bc", "stc4", "stc16", "threshold")
EMD_AXIS = "EMD (half a trigger-cell pitch)"


def label(name: str) -> str:
    return LABELS.get(name, name)


def _style(name: str, family: str) -> dict:
    return {
        "color": COLOURS.get(name, "0.3"),
        "ls": "--" if family == "literature" else "-",
        "lw": 2.4 if family == "autoencoder" else 1.4,
        "marker": "o" if family != "literature" else "s",
        "ms": 4,
    }


def _grid(n: int, height: float):
    cols = 1 if n == 1 else 2
    rows = -(-n // cols)
    fig, axes = figure(rows, cols, figsize=(6.2 * cols, height * rows + 1.2), squeeze=False, sharey=True)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _legend(fig, handles: dict) -> None:
    fig.legend(
        list(handles.values()), list(handles), loc="lower center", ncol=min(4, len(handles)), fontsize=8,
        frameon=False,
    )  # fmt: skip


def plot_emd_vs_lit(results: dict[int, dict[str, AlgorithmResult]], path: Path) -> None:
    """Mean EMD per lit-cell bin, one line per algorithm, one panel per L."""
    fig, axes = _grid(len(results), 3.6)
    handles: dict = {}
    for ax, (L, algos) in zip(axes, sorted(results.items())):
        first = next(iter(algos.values()))
        names = [f"{b.lit_min}-{b.lit_max}" for b in first.by_occupancy]
        x = np.arange(len(names))
        for name, r in algos.items():
            y = np.array([np.nan if b.emd_mean is None else b.emd_mean for b in r.by_occupancy])
            (line,) = ax.plot(x, y, **_style(name, r.family))
            handles.setdefault(label(name), line)
        counts = [b.n for b in first.by_occupancy]
        ax.set_xticks(x, [f"{t}\n({n} w.)" for t, n in zip(names, counts)], fontsize=8)
        ax.set_xlabel("lit trigger cells per wafer (wafers in the bin)")
        ax.set_ylabel(f"mean {EMD_AXIS}")
        ax.set_title(f"L = {L} e-links", fontsize=10)
        ax.grid(alpha=0.3)
    fig.suptitle("Mean EMD against the wafer's occupancy", fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 0.97))
    _legend(fig, handles)
    save(fig, path, tight=False)


def plot_emd_histograms(emds: dict[int, dict[str, np.ndarray]], families: dict[str, str], path: Path) -> list[str]:
    """Per-wafer EMD distributions of the autoencoders and the chip's main algorithms, one panel per L
    (log counts: the empty-reconstruction wafers pile up at 13.76). Returns the names drawn."""
    cost = empty_reconstruction_cost()
    bins = np.linspace(0.0, np.ceil(cost), 57)
    fig, axes = _grid(len(emds), 3.4)
    handles: dict = {}
    drawn: list[str] = []
    for ax, (L, per_name) in zip(axes, sorted(emds.items())):
        for name in HISTOGRAMMED:
            if name not in per_name:
                continue
            style = {k: v for k, v in _style(name, families[name]).items() if k not in ("marker", "ms")}
            _, _, patches = ax.hist(per_name[name], bins=bins, histtype="step", **style)
            handles.setdefault(label(name), patches[0])
            drawn.append(name)
        ax.set_yscale("log")
        ax.axvline(cost, color="0.5", lw=0.8, ls=":")
        ax.annotate(
            "sent nothing", (cost, 0.5), xycoords=("data", "axes fraction"), fontsize=7, color="0.4",
            ha="right", va="center", rotation=90, xytext=(-3, 0), textcoords="offset points",
        )  # fmt: skip
        ax.set_xlabel(f"per-wafer {EMD_AXIS}")
        ax.set_ylabel("wafers (log scale)")
        ax.set_title(f"L = {L} e-links", fontsize=10)
        ax.grid(alpha=0.3)
    fig.suptitle("Per-wafer EMD distributions", fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    _legend(fig, handles)
    save(fig, path, tight=False)
    return sorted(set(drawn), key=HISTOGRAMMED.index)
