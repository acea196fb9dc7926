"""The ECON-T non-ML algorithms (BC, STC, threshold) on hand-made wafers, and their bit budgets."""

from __future__ import annotations

import numpy as np
import pytest

from micae.errors import ConstraintError
from micae.metrics.econt_algorithms import (
    CHIP_CELL_ENERGY,
    CHIP_STC_SUM,
    EnergyCode,
    best_choice,
    input_codes,
    stc_groups,
    super_trigger_cells,
    threshold_select,
)
from micae.metrics.econt_baselines import econt_baselines, plan

EXACT = EnergyCode("linear", bits=8)


def _wafer(cells: dict[int, int]) -> np.ndarray:
    w = np.zeros((1, 48), dtype=np.int64)
    for tc, v in cells.items():
        w[0, tc] = v
    return w


def test_float_codes_round_to_the_chip_grid_and_saturate():
    n = np.array([0, 7, 15, 16, 17, 19, 100, 255, 10**6])
    # 4E3M: exact below 16; [16, 32) in steps of 2, [64, 128) in steps of 8; half rounds up
    assert CHIP_CELL_ENERGY.roundtrip(n).tolist() == [0, 7, 15, 16, 18, 20, 104, 256, 15 << 14]
    assert CHIP_CELL_ENERGY.width == 7 and CHIP_STC_SUM.width == 9
    small = EnergyCode("float", exp=3, mant=1)  # values 0, 1, 2, 3, 4, 6, 8, 12, ... 192
    assert small.roundtrip(np.array([5, 7, 200, 255])).tolist() == [6, 8, 192, 192]
    assert EnergyCode("linear", bits=7, shift=1).roundtrip(np.array([3, 254, 255])).tolist() == [4, 254, 254]


def test_input_codes_follow_the_encoder_input_quantizer():
    x = np.zeros((1, 48))
    x[0, :4] = [1 / 128, 1.5 / 128, 2.5 / 128, 3.0]  # half to even, and saturation at 255
    assert input_codes(x, 8, 7)[0, :4].tolist() == [1, 2, 2, 255]


def test_best_choice_keeps_the_largest_cells_with_their_addresses():
    w = _wafer({3: 50, 40: 90, 17: 20, 5: 50, 22: 1})
    recon, addr = best_choice(w, 3, EXACT)
    assert addr[0].tolist() == [40, 3, 5]  # 50 vs 50: the lower address first
    assert np.flatnonzero(recon[0]).tolist() == [3, 5, 40]
    assert recon[0, [3, 5, 40]].tolist() == [50, 50, 90]
    recon7, _ = best_choice(_wafer({0: 100}), 1, CHIP_CELL_ENERGY)
    assert recon7[0, 0] == 104  # the energy is sent in the 4E3M code


def test_stc_groups_are_the_2x2_blocks_of_each_quadrant():
    # independent of the geometry derivation: TC q*16 + 4r + c sits at row r, column c of quadrant q
    expected = sorted(
        sorted(q * 16 + 4 * (2 * br + dr) + 2 * bc + dc for dr in (0, 1) for dc in (0, 1))
        for q in range(3)
        for br in (0, 1)
        for bc in (0, 1)
    )
    assert stc_groups().tolist() == expected


def test_stc_sums_positions_and_reconstruction():
    w = _wafer({0: 10, 1: 30, 4: 5, 5: 30, 42: 7, 47: 9, 20: 1})
    recon, sums, pos = super_trigger_cells(w, EnergyCode("linear", bits=10))
    groups = stc_groups().tolist()
    g0, g_last, g_mid = groups.index([0, 1, 4, 5]), groups.index([42, 43, 46, 47]), groups.index([16, 17, 20, 21])
    assert sums[0, g0] == 75 and pos[0, g0] == 1  # 30 and 30: the lower TC (1) is the position
    assert sums[0, g_last] == 16 and pos[0, g_last] == 3  # TC 47 is the 4th member
    assert sums[0, g_mid] == 1 and pos[0, g_mid] == 2
    assert int(sums.sum()) == int(w.sum())
    assert {int(i): int(recon[0, i]) for i in np.flatnonzero(recon[0])} == {1: 75, 47: 16, 20: 1}


def test_threshold_respects_the_budget_and_drops_the_smallest():
    cells = {i: 10 + i for i in range(20)}  # 20 cells pass, the budget takes 10
    cells[30] = 1  # below the threshold: never sent
    w = _wafer(cells)
    recon, sent = threshold_select(w, 2, 10, EXACT)
    assert sent.tolist() == [10]
    assert np.flatnonzero(recon[0]).tolist() == list(range(10, 20))  # the 10 smallest passing cells dropped
    few, n_few = threshold_select(_wafer({3: 5, 9: 1}), 2, 10, EXACT)
    assert n_few.tolist() == [1] and np.flatnonzero(few[0]).tolist() == [3]


def test_plan_fits_each_algorithm_into_the_encoder_bits():
    p = plan(144)  # the chip's 16 latents x 9 bits
    assert (p["bc"]["n_cells"], p["bc"]["bits_per_wafer"]) == (11, 143)  # 144 // (6 + 7)
    assert (p["stc"]["n_groups"], p["stc"]["bits_per_group"], p["stc"]["bits_per_wafer"]) == (12, 11, 132)
    t = p["threshold"]
    assert (t["max_cells"], t["count_bits"], t["bits_per_wafer_max"]) == (10, 4, 134)  # 4 + 10 x 13
    assert plan(144, bc_energy=EXACT)["bc"]["n_cells"] == 10
    narrow = plan(96)  # 8 bits per STC group: the 9-bit float no longer fits, a linear code does
    assert narrow["stc"]["bits_per_wafer"] <= 96 and narrow["stc"]["sum"].endswith("linear (input code >> 4)")
    for budget in (144, 96, 40):
        q = plan(budget)
        assert q["bc"]["bits_per_wafer"] <= budget and q["threshold"]["bits_per_wafer_max"] <= budget
    with pytest.raises(ConstraintError, match="cannot hold one ECON-T cell"):
        plan(12)


def test_econt_baselines_reconstruct_in_normalised_units():
    x = np.zeros((2, 48))
    x[0, [0, 1, 4]] = [1.0, 0.5, 0.25]
    recons, budgets = econt_baselines(x, 144)
    assert recons["bc"][0, [0, 1, 4]].tolist() == [1.0, 0.5, 0.25]  # 128, 64, 32: exact in 4E3M
    assert recons["stc"][0, 0] == 1.75 and np.count_nonzero(recons["stc"][0]) == 1
    assert not recons["threshold"][1].any()  # an empty wafer sends nothing
    assert budgets["threshold"]["cells_sent_mean"] == 1.5 and budgets["bc"]["budget_bits"] == 144
