"""Generated wafers against a real ECON-T file: the four distributions and their two-sample KS statistics.

The real file is read with :func:`micae.data.econt_csv.read_econt_csv` (all-zero rows dropped, as upstream);
``n`` non-empty wafers are generated with the named ``hgcal-synth`` preset (for ``legacy``, ``n`` wafers of
which the all-zero ones are dropped). :mod:`micae.data.wafer_stats` defines the distributions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from micae import __version__
from micae.data import hgcal_synth
from micae.data.econt_csv import read_econt_csv
from micae.data.hgcal_presets import check_preset
from micae.data.wafer_stats import DESCRIPTIONS, STATISTICS, ks_statistics, non_empty, wafer_statistics
from micae.errors import ConfigError

KS_GOAL = 0.10
"""Issue 20's goal: KS <= 0.10 on lit TCs per wafer and on the non-zero CALQ spectrum."""
GOAL_STATISTICS = ("lit_cells", "nonzero_charge")


@dataclass
class Comparison:
    """Both sets of wafers, their statistics, the KS figures and the provenance (``record`` is compare.json)."""

    real: np.ndarray
    synth: np.ndarray
    real_stats: dict[str, np.ndarray]
    synth_stats: dict[str, np.ndarray]
    record: dict


def _quantiles(stats: dict[str, np.ndarray]) -> dict:
    def q(key: str, ps=(10, 50, 90, 99)) -> dict:
        v = stats[key]
        return {f"p{p}": float(np.percentile(v, p)) for p in ps} if len(v) else {}

    return {
        "wafers": int(len(stats["lit_cells"])),
        "lit_cells": {**q("lit_cells"), "mean": float(np.mean(stats["lit_cells"]))},
        "nonzero_charge": q("nonzero_charge"),
        "wafer_sum": q("wafer_sum"),
        "occupancy": {
            "mean": float(np.mean(stats["occupancy"])),
            "min": float(np.min(stats["occupancy"])),
            "max": float(np.max(stats["occupancy"])),
        },
    }


def compare(preset: str, data: str | Path, n: int = 50_000, seed: int = 0) -> Comparison:
    """Generate ``n`` wafers with ``preset`` and compare them with the real file ``data``."""
    check_preset(preset)
    if int(n) != n or n < 100:
        raise ConfigError(f"--n {n} is too few generated wafers for a distribution", "pass --n 1000 or more")
    table = read_econt_csv(data)
    real = table.charges.astype(np.int64)
    synth, _, gen_info = hgcal_synth.generate_with_info(int(n), seed=seed, preset=preset)
    synth = non_empty(synth.astype(np.int64))
    if len(synth) == 0:
        raise ConfigError(f"hgcal-synth preset {preset!r} produced no non-empty wafer", "use a larger --n")
    real_stats, synth_stats = wafer_statistics(real), wafer_statistics(synth)
    ks = ks_statistics(real_stats, synth_stats)
    record = {
        "ks": ks,
        "ks_definitions": {k: f"two-sample KS (scipy.stats.ks_2samp) of: {DESCRIPTIONS[k]}" for k in STATISTICS},
        "goal": {
            "ks_max": KS_GOAL,
            "on": list(GOAL_STATISTICS),
            "met": {k: bool(ks[k] <= KS_GOAL) for k in GOAL_STATISTICS},
        },
        "data": {
            "file": Path(data).name,
            "path": table.info["path"],
            "sha256": table.info["sha256"],
            "rows": table.info["rows_read"],
            "rows_dropped_zero_sum": table.info["rows_dropped_zero_sum"],
            "rows_used": len(real),
        },
        "synth": {
            "preset": preset,
            "seed": int(seed),
            "n": int(n),
            "wafers_used": int(len(synth)),
            "generator": gen_info,
        },
        "summary": {"real": _quantiles(real_stats), "synth": _quantiles(synth_stats)},
        "micae_version": __version__,
    }
    return Comparison(real, synth, real_stats, synth_stats, record)
