"""The chip's codes, e-link table and input normaliser against the datapath document and the chip's own model."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import SHARED

from micae.econt import links
from micae.econt.codes import CELL_4E3M, SUM_5E3M, SUM_5E4M, bit_length, msb
from micae.econt.normaliser import chip_inputs, chip_normalise, cmssw_normalise, module_sum_code
from micae.errors import ConfigError, DataError

CONVERTER_REFERENCE = SHARED / "data" / "econt-reference" / "converter_reference.csv"


def test_bit_length_is_exact_up_to_35_bits():
    values = np.array([0, 1, 2, 3, 7, 8, 2**21 - 1, 2**21, 2**22 - 1, 2**35, 2**35 - 1])
    assert bit_length(values).tolist() == [int(v).bit_length() for v in values.tolist()]
    assert msb(np.array([0, 1, 255, 256])).tolist() == [0, 0, 7, 8]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (0, 0),
        (15, 15),  # below 16 the sum is sent as it is
        (16, 1 << 4 | 0),  # msb 4: exponent 1, mantissa 0
        (31, 1 << 4 | 15),
        (32, 2 << 4 | 0),
        (33, 2 << 4 | 0),  # the low bit is cut
        (100, 3 << 4 | 9),  # 100 = 0b1100100: msb 6, exponent 3, mantissa 0b1001 (bits 5..2)
        (2**22 - 1, 18 << 4 | 15),  # a 22-bit sum: exponent msb - 3 = 18
    ],
)
def test_5e4m_sum_code_by_hand(value, code):
    assert int(SUM_5E4M.encode(np.array([value]))[0]) == code


def test_5e4m_decodes_to_the_lower_bin_edge():
    assert SUM_5E4M.decode(np.array([15, 1 << 4, 3 << 4 | 9, 18 << 4 | 15])).tolist() == [15, 16, 100, 31 << 17]
    values = np.arange(0, 1 << 16)
    back = SUM_5E4M.roundtrip(values)
    assert (back <= values).all() and (values - back < np.maximum(values >> 4, 1)).all()


def test_4e3m_saturates_at_2_to_the_18():
    codes = CELL_4E3M.encode(np.array([7, 8, 2**18 - 1, 2**18, 2**30]))
    assert codes.tolist() == [7, 1 << 3, 127, 127, 127]
    assert CELL_4E3M.max_value == 15 << 14
    assert np.array_equal(CELL_4E3M.encode(CELL_4E3M.decode(np.arange(128))), np.arange(128))
    assert SUM_5E3M.width == 8 and SUM_5E4M.width == 9


def test_elink_table_matches_the_document():
    assert [links.ae_latent_bits(L) for L in range(1, 8)] == [1, 3, 5, 7, 9, 9, 9]
    assert [links.ae_frame_bits(L) for L in range(1, 7)] == [32, 64, 96, 128, 160, 160]
    assert all(links.ae_spare_bits(L) == 2 for L in range(1, 6))
    assert [links.bc_cells(L) for L in (1, 2, 3, 4, 5)] == [1, 4, 6, 9, 14]
    assert [links.stc_count("stc4_9", L) for L in (2, 5)] == [5, 12] and links.stc_count("stc16_9", 3) is None
    with pytest.raises(ConfigError, match=r"econt.elinks = 0: the chip has 1 to 13"):
        links.check_elinks(0)


def test_chip_normaliser_by_hand():
    calq = np.zeros((3, 48), dtype=np.int64)
    calq[0, :2] = [100, 28]  # sum 128, msb 7: no shift
    calq[1, 0] = 5  # sum 5, msb 2: shift left by 5
    calq[2, :3] = [1000, 999, 1]  # sum 2000, msb 10: floor(CALQ / 8)
    raw, total, top = chip_inputs(calq)
    assert total.tolist() == [128, 5, 2000] and top.tolist() == [7, 2, 10]
    assert raw[0, :2].tolist() == [100, 28] and raw[1, 0] == 160 and raw[2, :3].tolist() == [125, 124, 0]
    values, scale = chip_normalise(calq)
    assert values[1, 0] == np.float32(1.25) and scale.tolist() == [128.0, 4.0, 1024.0]
    assert chip_inputs(np.zeros((1, 48), dtype=np.int64))[0].sum() == 0  # an empty wafer stays empty


def test_cmssw_normaliser_rounds_to_1_over_256():
    charges = np.zeros((2, 48))
    charges[0, :2] = [3, 2]  # sum 5 -> divide by 4: 0.75, 0.5
    charges[1, :3] = [1, 1, 1.0 / 3]  # sum 2.33 -> divide by 2; 1/6 rounds to 43/256
    values, scale = cmssw_normalise(charges)
    assert values[0, :2].tolist() == [0.75, 0.5] and scale.tolist() == [4.0, 2.0]
    assert values[1, 2] == np.float32(43 / 256)


def test_normaliser_refuses_fractional_charges():
    with pytest.raises(DataError, match="CALQ must be integers"):
        chip_inputs(np.full((1, 48), 0.5))


def test_normaliser_and_sum_code_equal_the_chips_converter():
    """Every row of the chip's own converter output (its Catapult-HLS testbench), bit for bit."""
    if not CONVERTER_REFERENCE.is_file():
        pytest.skip(f"the chip's converter reference is not at {CONVERTER_REFERENCE} (clone shared/ beside the repo)")
    table = np.loadtxt(CONVERTER_REFERENCE, delimiter=",", skiprows=1, dtype=np.int64)
    calq, ae_in, sum_code = table[:, :48], table[:, 48:96], table[:, 96]
    assert len(table) == 4176
    raw, _, _ = chip_inputs(calq)
    assert np.array_equal(raw, ae_in)
    assert np.array_equal(module_sum_code(calq), sum_code)
