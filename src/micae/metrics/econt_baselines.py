"""BC, STC and threshold sized to an output bit budget and run on normalised wafers.

:func:`plan` turns a budget (bits per wafer) into each algorithm's parameters and bit count;
:func:`econt_baselines` runs them and returns reconstructions in the normalised units of the input.
"""

from __future__ import annotations

import numpy as np

from micae.errors import ConstraintError
from micae.metrics.econt_algorithms import (
    ADDRESS_BITS,
    CHIP_STC_SUM,
    DEFAULT_BC_ENERGY,
    DEFAULT_THRESHOLD,
    POSITION_BITS,
    EnergyCode,
    best_choice,
    input_codes,
    linear_code_for,
    stc_groups,
    super_trigger_cells,
    threshold_select,
)

NAMES = ("bc", "stc", "threshold")


def _count_bits(n: int) -> int:
    return max(int(n).bit_length(), 1)


def _threshold_cells(budget_bits: int, cell_bits: int) -> int:
    """Most cells that fit behind a count field able to say 0..n."""
    n = budget_bits // cell_bits
    while n > 0 and _count_bits(n) + n * cell_bits > budget_bits:
        n -= 1
    return n


def plan(
    budget_bits: int,
    *,
    input_bits: int = 8,
    bc_energy: EnergyCode = DEFAULT_BC_ENERGY,
    threshold: int = DEFAULT_THRESHOLD,
    stc_sum: EnergyCode | None = None,
) -> dict:
    """Parameters and bit counts of BC, STC and threshold within ``budget_bits`` per wafer."""
    max_code = (1 << input_bits) - 1
    cell_bits = ADDRESS_BITS + bc_energy.width
    n_bc = budget_bits // cell_bits
    n_groups = len(stc_groups())
    sum_bits = budget_bits // n_groups - POSITION_BITS
    n_thr = _threshold_cells(budget_bits, cell_bits)
    if min(n_bc, n_thr, sum_bits) < 1:
        raise ConstraintError(
            f"an output budget of {budget_bits} bits per wafer cannot hold one ECON-T cell "
            f"({cell_bits} bits) or {n_groups} super trigger cells",
            "compare against a larger latent budget",
        )
    stc_code = stc_sum or CHIP_STC_SUM
    if stc_code.width > sum_bits:
        stc_code = linear_code_for(4 * max_code, sum_bits)
    return {
        "bc": {
            "n_cells": n_bc,
            "energy": bc_energy.describe(),
            "bits_per_cell": cell_bits,
            "bits_per_wafer": n_bc * cell_bits,
            "_code": bc_energy,
        },
        "stc": {
            "n_groups": n_groups,
            "sum": stc_code.describe(),
            "bits_per_group": stc_code.width + POSITION_BITS,
            "bits_per_wafer": n_groups * (stc_code.width + POSITION_BITS),
            "_code": stc_code,
        },
        "threshold": {
            "threshold_code": int(threshold),
            "max_cells": n_thr,
            "energy": bc_energy.describe(),
            "count_bits": _count_bits(n_thr),
            "bits_per_cell": cell_bits,
            "bits_per_wafer_max": _count_bits(n_thr) + n_thr * cell_bits,
            "_code": bc_energy,
        },
    }


def econt_baselines(
    tc: np.ndarray,
    budget_bits: int,
    *,
    input_bits: int = 8,
    input_frac: int = 7,
    bc_energy: EnergyCode = DEFAULT_BC_ENERGY,
    threshold: int = DEFAULT_THRESHOLD,
    stc_sum: EnergyCode | None = None,
) -> tuple[dict[str, np.ndarray], dict]:
    """Run BC, STC and threshold on ``(N, 48)`` normalised wafers.

    Returns ``({name: (N, 48) float32 reconstruction}, {name: budget description})``; the threshold
    entry also gets the mean bits and cells actually sent.
    """
    p = plan(budget_bits, input_bits=input_bits, bc_energy=bc_energy, threshold=threshold, stc_sum=stc_sum)
    codes = input_codes(tc, input_bits, input_frac)
    scale = 1.0 / (1 << input_frac)
    bc, _ = best_choice(codes, p["bc"]["n_cells"], p["bc"]["_code"])
    stc, _, _ = super_trigger_cells(codes, p["stc"]["_code"])
    thr, sent = threshold_select(codes, threshold, p["threshold"]["max_cells"], p["threshold"]["_code"])
    t = p["threshold"]
    t["cells_sent_mean"] = float(sent.mean()) if len(sent) else 0.0
    t["bits_per_wafer_mean"] = float(t["count_bits"] + t["cells_sent_mean"] * t["bits_per_cell"])
    t["wafers_over_budget_dropped"] = int((((codes >= threshold).sum(axis=1)) > t["max_cells"]).sum())
    recons = {name: (r * scale).astype(np.float32) for name, r in (("bc", bc), ("stc", stc), ("threshold", thr))}
    budgets = {name: {k: v for k, v in d.items() if not k.startswith("_")} for name, d in p.items()}
    for d in budgets.values():
        d["input"] = f"{input_bits}-bit input code, {input_frac} fractional bits"
        d["budget_bits"] = int(budget_bits)
    return recons, budgets
