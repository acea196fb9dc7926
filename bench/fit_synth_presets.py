"""Fit the free parameters of an hgcal-synth physical preset to a real public file; print the record.

Usage: python bench/fit_synth_presets.py --preset pileup|nopileup [--n 40000] [--maxfev 400] [--seed 1]

What is fitted to what (the record printed at the end goes into ``micae.data.hgcal_presets``):

* data: the preset's public file from ../shared (``CALQ_output_head.csv`` for pileup, ``ttbar_0PU.csv`` for
  nopileup). The first 80 % of its rows (file order) are the fit rows; the last 20 % are held out.
* objective: the sum of KL(real || generated) over three binned distributions: lit TCs per wafer (1..48), the
  non-zero CALQ spectrum and the wafer sum (both in unit bins to 32, then 8 per octave); the generated
  histograms are smoothed by half a count per bin. The wafer sum is there because the first two alone leave
  open which component carries the charge (isolated hits or showers): a fit without it matched them (KS 0.02
  and 0.04 on ttbar_0PU.csv) with a wafer-sum KS of 0.20. Neither the KS statistic nor the per-TC occupancy
  enters the fit.
* parameters: the names in FREE below, in log space (logit for fractions, linear for thresholds), from the
  preset's current values; Nelder-Mead (adaptive, initial steps STEP / LINEAR) with common random numbers
  (one generator seed for every evaluation), ``--n`` non-empty wafers per evaluation.
* reported: the objective, and KS(real, generated) on the fit rows, the held-out rows and the whole file
  (with a fresh generator seed), next to KS(fit rows, held-out rows) of the real file itself.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from micae.data import hgcal_physics, hgcal_presets
from micae.data.econt_csv import read_econt_csv
from micae.data.wafer_stats import charge_bins, ks_statistics, lit_bins, wafer_statistics

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "econt-public"
FILES = {"pileup": "CALQ_output_head.csv", "nopileup": "ttbar_0PU.csv"}
HITS = ("hits_per_tc_eta2", "hit_spread_sigma", "hit_mip_fraction", "hit_em_scale_mipt", "hit_em_index")
FREE = {
    "pileup": ("noise_adc", "tc_threshold_adc", *HITS),
    "nopileup": (
        "noise_adc",
        "tc_threshold_adc",
        *HITS,
        "showers_per_wafer_eta2",
        "shower_et_min_gev",
        "shower_et_index",
    ),
}
FRACTIONS = ("hit_mip_fraction",)
LINEAR = {"tc_threshold_adc": 6.0}  # fitted as is (clipped at 0), initial simplex step in ADC
OFFSET = {"shower_et_index": 1.0}  # fitted as log(index - 1): the power law must stay normalisable
STEP = {"fraction": 0.8, "log": 0.4}  # initial simplex steps in logit / log space


def to_vector(prm, names) -> np.ndarray:
    out = []
    for name in names:
        v = float(getattr(prm, name)) - OFFSET.get(name, 0.0)
        if name in LINEAR:
            out.append(v)
        elif name in FRACTIONS:
            out.append(np.log(v / (1 - v)))
        else:
            out.append(np.log(max(v, 1e-4)))
    return np.array(out)


def from_vector(prm, names, vec):
    values = {}
    for name, x in zip(names, vec):
        if name in LINEAR:
            v = max(float(x), 0.0)
        elif name in FRACTIONS:
            v = float(1 / (1 + np.exp(-x)))
        else:
            v = float(np.exp(x))
        values[name] = v + OFFSET.get(name, 0.0)
    return replace(prm, **values)


def initial_simplex(x0: np.ndarray, names) -> np.ndarray:
    steps = [LINEAR.get(n, STEP["fraction"] if n in FRACTIONS else STEP["log"]) for n in names]
    return np.vstack([x0] + [x0 + np.eye(len(x0))[i] * steps[i] for i in range(len(x0))])


def histograms(stats: dict, q_edges: np.ndarray, s_edges: np.ndarray) -> tuple[np.ndarray, ...]:
    return (
        np.histogram(stats["lit_cells"], lit_bins())[0],
        np.histogram(stats["nonzero_charge"], q_edges)[0],
        np.histogram(stats["wafer_sum"], s_edges)[0],
    )


def kl(real: np.ndarray, model: np.ndarray) -> float:
    p = real / real.sum()
    q = (model + 0.5) / (model.sum() + 0.5 * len(model))
    ok = p > 0
    return float(np.sum(p[ok] * np.log(p[ok] / q[ok])))


def objective_factory(real_stats: dict, prm0, names, n: int, seed: int, log: list):
    q_edges = charge_bins(real_stats["nonzero_charge"].max())
    s_edges = charge_bins(real_stats["wafer_sum"].max())
    real_hists = histograms(real_stats, q_edges, s_edges)

    def objective(vec: np.ndarray) -> float:
        prm = from_vector(prm0, names, vec)
        try:
            q, _, _ = hgcal_physics.generate(n, seed, prm)
        except Exception:  # noqa: BLE001 - a parameter set that yields (almost) no wafers is simply bad
            return 1e3
        value = sum(kl(r, g) for r, g in zip(real_hists, histograms(wafer_statistics(q), q_edges, s_edges)))
        log.append(value)
        if len(log) % 20 == 0:
            print(f"  eval {len(log)}: objective {value:.4f}, best {min(log):.4f}", flush=True)
        return value

    return objective


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=tuple(FILES), required=True)
    ap.add_argument("--n", type=int, default=40_000, help="non-empty generated wafers per evaluation")
    ap.add_argument("--maxfev", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1, help="generator seed of the fit (common random numbers)")
    ap.add_argument("--out", help="write the record as JSON here too")
    args = ap.parse_args()
    from scipy.optimize import minimize

    path = SHARED / FILES[args.preset]
    table = read_econt_csv(path)
    q = table.charges.astype(np.int64)
    cut = int(0.8 * len(q))
    fit_stats, held_stats, all_stats = wafer_statistics(q[:cut]), wafer_statistics(q[cut:]), wafer_statistics(q)
    names = FREE[args.preset]
    prm0 = hgcal_presets.physics_params(args.preset)
    log: list[float] = []
    objective = objective_factory(fit_stats, prm0, names, args.n, args.seed, log)
    t0 = time.perf_counter()
    x0 = to_vector(prm0, names)
    start = objective(x0)
    res = minimize(
        objective,
        x0,
        method="Nelder-Mead",
        options={
            "maxfev": args.maxfev,
            "xatol": 0.01,
            "fatol": 1e-4,
            "adaptive": True,
            "initial_simplex": initial_simplex(x0, names),
        },
    )
    seconds = time.perf_counter() - t0
    prm = from_vector(prm0, names, res.x)
    check, _, _ = hgcal_physics.generate(max(args.n, 100_000), args.seed + 1000, prm)
    synth = wafer_statistics(check)
    record = {
        "data": {"file": path.name, "sha256": table.info["sha256"], "rows": len(q), "fit_rows": f"first {cut}"},
        "fitted": {name: round(getattr(prm, name), 4) for name in names},
        "objective": {"start": round(start, 5), "end": round(float(res.fun), 5), "evaluations": int(res.nfev)},
        "ks_fit_rows": _rounded(ks_statistics(fit_stats, synth)),
        "ks_held_out_rows": _rounded(ks_statistics(held_stats, synth)),
        "ks_all_rows": _rounded(ks_statistics(all_stats, synth)),
        "ks_real_fit_vs_held_out": _rounded(ks_statistics(fit_stats, held_stats)),
        "fit_seconds": round(seconds),
    }
    print(json.dumps(record, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


def _rounded(d: dict) -> dict:
    return {k: round(v, 4) for k, v in d.items()}


if __name__ == "__main__":
    main()
