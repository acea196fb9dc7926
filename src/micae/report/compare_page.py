"""compare.html and compare.json for ``micae data compare``: generated wafers beside a real ECON-T file.

The page is a :class:`~micae.report.blocks.ReportView` rendered by the report's own template (one
self-contained HTML file, plots embedded and also written to ``plots/``); the figures use the report's
drawing helpers (:mod:`micae.report.draw`, the hexagonal wafer of :func:`draw_wafer_cells`).
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import numpy as np

from micae.data.compare import GOAL_STATISTICS, KS_GOAL, Comparison
from micae.data.hgcal_chain import ADC_PER_MIP as MIP_T_CALQ
from micae.data.wafer_stats import DESCRIPTIONS, STATISTICS, charge_bins, lit_bins
from micae.jsonable import jsonable
from micae.report.blocks import Card, Figure, ReportView, Section, Table, note, num, para
from micae.report.draw import draw_wafer_cells, figure, save

REAL, SYNTH = "tab:blue", "tab:orange"
TITLES = {
    "lit_cells": "lit TCs per wafer",
    "nonzero_charge": "non-zero CALQ",
    "tc_occupancy": "per-TC occupancy",
    "wafer_sum": "wafer sum",
}


def _labels(cmp: Comparison) -> tuple[str, str]:
    rec = cmp.record
    return (
        f"real: {rec['data']['file']} ({len(cmp.real):,})",
        f"hgcal-synth {rec['synth']['preset']} ({len(cmp.synth):,})",
    )


def _step(ax, values: np.ndarray, bins: np.ndarray, colour: str, label: str, per_unit: bool) -> None:
    """Fraction of ``values`` per bin, or per unit of x when ``per_unit`` (bins of unequal width)."""
    counts = np.histogram(values, bins)[0] / max(len(values), 1)
    if per_unit:
        counts = counts / np.diff(bins)
    ax.stairs(counts, bins, lw=1.7, color=colour, label=label)


def _integer_log_bins(top: float) -> np.ndarray:
    """Unit bins around each integer up to 32 (no empty bins between integers), then 8 per octave."""
    edges = charge_bins(top)
    return np.append(edges[:-1], max(float(top) * 1.05, edges[-2] + 1))


def plot_distributions(cmp: Comparison, path: Path) -> None:
    """Lit TCs per wafer, the non-zero CALQ spectrum (log x) and the wafer sum (log x), real beside generated."""
    ks = cmp.record["ks"]
    real_label, synth_label = _labels(cmp)
    fig, axes = figure(1, 3, figsize=(16, 4.6))
    a, b = cmp.real_stats, cmp.synth_stats
    panels = (
        ("lit_cells", lit_bins(), "non-zero TCs per wafer", "fraction of wafers"),
        (
            "nonzero_charge",
            _integer_log_bins(max(a["nonzero_charge"].max(), b["nonzero_charge"].max())),
            f"non-zero CALQ (counts; 1 MIP_T = {MIP_T_CALQ:.1f})",
            "fraction of non-zero TCs per count",
        ),
        (
            "wafer_sum",
            _integer_log_bins(max(a["wafer_sum"].max(), b["wafer_sum"].max())),
            "sum of the 48 CALQ per wafer (counts)",
            "fraction of wafers per count",
        ),
    )
    for ax, (key, bins, xlabel, ylabel) in zip(axes, panels):
        per_unit = key != "lit_cells"
        _step(ax, a[key], bins, REAL, real_label, per_unit)
        _step(ax, b[key], bins, SYNTH, synth_label, per_unit)
        if per_unit:
            ax.set_xscale("log")
            ax.set_xlim(1.5, bins[-1])
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{TITLES[key]}: KS {ks[key]:.3f}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5, loc="lower left" if per_unit else "upper right")
    save(fig, path)


def plot_occupancy(cmp: Comparison, path: Path) -> None:
    """Per-TC occupancy on the hexagonal wafer, real and generated on one colour scale, their shape ratio, bars."""
    occ_r, occ_s = cmp.real_stats["occupancy"], cmp.synth_stats["occupancy"]
    top = max(float(occ_r.max()), float(occ_s.max()), 1e-9)
    real_label, synth_label = _labels(cmp)
    fig, _ = figure(figsize=(15, 9.5))
    fig.clear()
    fig.set_layout_engine("constrained")
    axd = fig.subplot_mosaic([["real", "synth", "ratio"], ["bars", "bars", "bars"]], height_ratios=[1.5, 1])
    for key, occ, title in (("real", occ_r, real_label), ("synth", occ_s, synth_label)):
        coll = draw_wafer_cells(axd[key], occ, vmax=top, title=f"{title}\nmean occupancy {occ.mean():.3f}")
        axd[key].title.set_fontsize(10)
    fig.colorbar(coll, ax=[axd["real"], axd["synth"]], shrink=0.75, label="fraction of wafers with the TC non-zero")
    ratio = np.divide(
        occ_s / max(occ_s.mean(), 1e-12), occ_r / max(occ_r.mean(), 1e-12), out=np.ones_like(occ_r), where=occ_r > 0
    )
    coll = draw_wafer_cells(axd["ratio"], np.clip(ratio, 0.5, 1.5) - 0.5, vmax=1.0, cmap="coolwarm")
    axd["ratio"].set_title("shape ratio: (synth / its mean) / (real / its mean)", fontsize=10)
    bar = fig.colorbar(coll, ax=axd["ratio"], shrink=0.75, ticks=[0, 0.25, 0.5, 0.75, 1.0])
    bar.ax.set_yticklabels(["<=0.5", "0.75", "1", "1.25", ">=1.5"])
    ax = axd["bars"]
    tcs = np.arange(len(occ_r))
    ax.bar(tcs - 0.2, occ_r, width=0.4, color=REAL, label=real_label)
    ax.bar(tcs + 0.2, occ_s, width=0.4, color=SYNTH, label=synth_label)
    ax.set_xticks(tcs[::4])
    ax.set_xlabel("TC number (CALQ_k)")
    ax.set_ylabel("occupancy")
    ax.set_title(f"per TC; tc_occupancy KS (TC numbers of the lit TCs) {cmp.record['ks']['tc_occupancy']:.3f}")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, axis="y")
    save(fig, path, tight=False)


def _ks_table(rec: dict) -> Table:
    ks = rec["ks"]
    rows, tones = [], []
    for key in STATISTICS:
        goal = key in GOAL_STATISTICS
        met = ks[key] <= KS_GOAL
        verdict = ("met" if met else "MISSED") if goal else "reported (no goal)"
        rows.append([TITLES[key], f"{ks[key]:.3f}", f"<= {KS_GOAL:.2f}" if goal else "-", verdict, DESCRIPTIONS[key]])
        tones.append(("good" if met else "bad") if goal else "")
    return Table(["distribution", "KS", "goal", "verdict", "definition"], rows, numeric={1}, tones=tones, mark=3)


def _summary_table(rec: dict) -> Table:
    r, s = rec["summary"]["real"], rec["summary"]["synth"]
    rows = [["wafers", num(r["wafers"]), num(s["wafers"])]]
    for key, label in (("lit_cells", "lit TCs"), ("nonzero_charge", "non-zero CALQ"), ("wafer_sum", "wafer sum")):
        for p in ("p10", "p50", "p90", "p99"):
            rows.append([f"{label}, {p}", num(r[key].get(p)), num(s[key].get(p))])
    rows.append(["mean lit TCs", f"{r['lit_cells']['mean']:.2f}", f"{s['lit_cells']['mean']:.2f}"])
    occ = "mean occupancy (min-max over the 48 TCs)"
    rows.append([occ, _occ(r["occupancy"]), _occ(s["occupancy"])])
    return Table(["quantity", "real", "generated"], rows, numeric={1, 2})


def _occ(o: dict) -> str:
    return f"{o['mean']:.3f} ({o['min']:.3f}-{o['max']:.3f})"


def build_view(cmp: Comparison, plot_dir: Path) -> ReportView:
    rec = cmp.record
    ks, data, synth = rec["ks"], rec["data"], rec["synth"]
    met = all(rec["goal"]["met"].values())
    cards = [
        Card(
            TITLES[k],
            f"{ks[k]:.3f}",
            "KS; goal <= 0.10" if k in GOAL_STATISTICS else "KS; no goal",
            ("pass" if ks[k] <= KS_GOAL else "fail") if k in GOAL_STATISTICS else "muted",
        )
        for k in STATISTICS
    ]
    prov = (
        f"Real: {data['file']} (sha256 {data['sha256'][:12]}...), {data['rows']:,} rows, "
        f"{data['rows_dropped_zero_sum']:,} all-zero rows dropped. Generated: hgcal-synth preset "
        f"{synth['preset']}, seed {synth['seed']}, {synth['wafers_used']:,} non-empty wafers"
        + (
            f" ({synth['generator']['empty_wafers_dropped']:,} empty ones dropped, as upstream)."
            if "empty_wafers_dropped" in synth["generator"]
            else "."
        )
    )
    fit = synth["generator"].get("fit")
    fit_text = (
        f"The preset's free parameters were fitted to {fit['data']['file']} ({fit['data']['fit_rows']} rows) "
        "by bench/fit_synth_presets.py (summed KL divergence of the binned lit-TC, non-zero CALQ and wafer-sum "
        "distributions; KS was never the objective; the per-TC occupancy was not fitted)."
        if fit
        else "This preset was not fitted to real data."
    )
    sections = [
        Section(
            "ks",
            "Two-sample Kolmogorov-Smirnov statistics",
            [para(prov), _ks_table(rec), note(fit_text), _summary_table(rec)],
        ),
        Section(
            "spectra",
            "Distributions",
            [
                Figure(
                    "distributions.png",
                    plot_dir / "distributions.png",
                    "distributions",
                    "Fraction of wafers (or of non-zero TCs) per bin, log y; the charge axes are logarithmic.",
                )
            ],
        ),
        Section(
            "occupancy",
            "Per-TC occupancy over the wafer",
            [
                Figure(
                    "occupancy.png",
                    plot_dir / "occupancy.png",
                    "occupancy",
                    "Fraction of wafers in which each TC is non-zero, on the hexagonal wafer (TC positions of "
                    "the ECON-T geometry) and per TC number; the ratio map compares the shapes (each "
                    "normalised to its mean), which is what the tc_occupancy KS tests.",
                )
            ],
        ),
    ]
    verdict = "goal met" if met else "goal missed"
    return ReportView(
        name=f"{synth['preset']} vs {data['file']}",
        subtitle=f"micae {rec['micae_version']}, {_dt.datetime.now():%Y-%m-%d %H:%M}; KS <= {KS_GOAL:.2f} on lit TCs "
        f"and non-zero CALQ: {verdict}",
        verdict=verdict,
        ok=met,
        banners=[],
        cards=cards,
        sections=sections,
        heading=f"micae data compare: hgcal-synth {synth['preset']} vs {data['file']}",
    )


def write_compare(cmp: Comparison, out: Path) -> tuple[Path, Path]:
    """Write ``out/compare.json``, ``out/compare.html`` and ``out/plots/*.png``; returns the two paths."""
    from micae.report.render import render_html

    out = Path(out)
    plot_dir = out / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    plot_distributions(cmp, plot_dir / "distributions.png")
    plot_occupancy(cmp, plot_dir / "occupancy.png")
    js = out / "compare.json"
    js.write_text(json.dumps(jsonable(cmp.record), indent=2) + "\n")
    html = out / "compare.html"
    html.write_text(render_html(build_view(cmp, plot_dir)), encoding="utf-8")
    return html, js
