"""The chip's non-ML algorithms (micae.econt.algorithms) against the datapath document and the chip's own models."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from tests.conftest import SHARED

from micae.econt import links
from micae.econt import threshold_sum as ts
from micae.econt.algorithms import chip_algorithms, frame_fields, frame_words, literature_algorithms
from micae.econt.batcher import batcher_rank, comparator_count, merge_exchange_stages
from micae.econt.codes import CELL_4E3M, SUM_5E3M, SUM_5E4M, bit_length
from micae.econt.frame import bx_cnt, header4, used_bits
from micae.econt.mapping import stc_groups_tc, tc_mapping
from micae.errors import ConfigError, DataError

DATA = SHARED / "data"
BATCHER_REFERENCE = DATA / "econt-reference" / "bc_batcher_reference.csv"
TTBAR = DATA / "econt-public" / "ttbar_0PU.csv"
CALQ_HEAD = DATA / "econt-public" / "CALQ_output_head.csv"
MAPPING = tc_mapping()


def _read_calq(path):
    if not path.is_file():
        pytest.skip(f"{path.name} is not at {path} (clone shared/ beside the repo)")
    return np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64)


def _wafers(n: int, seed: int, lit: tuple[int, int] = (0, 48), high: int = 5000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    calq = rng.integers(1, high, size=(n, 48))
    n_lit = rng.integers(lit[0], lit[1] + 1, size=n)
    mask = np.argsort(rng.random((n, 48)), axis=1) < n_lit[:, None]
    return np.where(mask, calq, 0)


def _column(channel: int) -> int:
    """The CALQ column whose cell the chip sees on ``channel``."""
    return int(MAPPING.tc_of_channel[channel])


# --- a receiver for the frame words, written from the document's layouts (independent of the encoder code) ---


class _Bits:
    def __init__(self, words32: list[int]):
        self.bits = "".join(format(w, "032b") for w in words32)
        self.pos = 0

    def take(self, width: int) -> int:
        value = int(self.bits[self.pos : self.pos + width], 2) if width else 0
        self.pos += width
        return value


def _receive_bc(words32, elinks, drop):
    n = links.bc_cells(elinks)
    r = _Bits(words32)
    header, sum_code = r.take(4), r.take(8)
    if n < 8:
        chans = [r.take(6) for _ in range(n)]
    else:
        bitmap = r.take(48)
        chans = [c for c in range(48) if bitmap >> (47 - c) & 1]
    cells = np.zeros(48, dtype=np.int64)
    for c in chans:
        cells[c] = int(CELL_4E3M.decode(np.array([r.take(7)]))[0]) << drop
    assert set(r.bits[r.pos :]) <= {"0"}  # zero padding only
    return header, sum_code, MAPPING.to_columns(cells[None, :])[0]


def _receive_stc(words32, size, position_bits, width, n_groups):
    r = _Bits(words32)
    header = r.take(4)
    positions = [r.take(position_bits) for _ in range(n_groups)]
    codes = [r.take(width) for _ in range(n_groups)]
    return header, positions, codes


def _receive_threshold(words32, drop):
    r = _Bits(words32)
    bx, kind, sum_code = r.take(5), r.take(3), r.take(8)
    cells = np.zeros(48, dtype=np.int64)
    if kind == 0b010:
        chans = [r.take(6) for _ in range(r.take(3))]
    elif kind == 0b100:
        bitmap = r.take(48)
        chans = [c for c in range(48) if bitmap >> (47 - c) & 1]
    else:
        chans = []
    for c in chans:
        cells[c] = int(CELL_4E3M.decode(np.array([r.take(7)]))[0]) << drop
    return bx, kind, sum_code, MAPPING.to_columns(cells[None, :])[0]


# --- bit counts per e-link count -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "bits"),
    [
        ("bc", (25, 64, 90, 123, 158)),
        ("stc4", (26, 59, 92, 125, 136)),
        ("stc16", (30, 43)),
        ("stc4_7", (31, 58, 94, 112)),
        ("ctc4_7", (32, 60, 88)),
    ],
)
def test_fixed_frames_use_the_documents_bits_at_each_elink_count(name, bits):
    calq = _wafers(20, seed=1)
    for elinks, expected in enumerate(bits, start=1):
        sent = chip_algorithms(calq, elinks)[name]
        assert sent.bits_max == expected and (sent.bits == expected).all()
        assert sent.capacity_bits == 32 * elinks and (sent.words == 2 * elinks).all()
        for row in calq[:3]:
            assert used_bits(frame_fields(name, row, elinks)) == expected
            assert len(frame_words(name, row, elinks)) == elinks  # 2L 16-bit words = L e-link words
    if name != "bc":  # Best Choice goes on to 13 e-links; an STC type does not fit past its largest L
        assert name not in chip_algorithms(calq, len(bits) + 1)


def test_threshold_words_per_frame_follow_the_document():
    n = np.arange(49)
    words = ts.frame_words(n)
    assert words[0] == 1
    assert (words[1:8] == -(-(19 + 13 * n[1:8]) // 16)).all()
    assert (words[8:] == -(-(64 + 7 * n[8:]) // 16)).all() and words[8] == 8 and words[48] == 25
    # the most cells whose frame fits in one bunch crossing (2L words) at L = 1..5
    assert [int(n[words <= 2 * L].max()) for L in range(1, 6)] == list(links.THRESHOLD_FITS) == [1, 3, 5, 9, 13]
    calq = _wafers(30, seed=2)
    sent = chip_algorithms(calq, 5, threshold=0)["threshold"]  # threshold 0: every channel goes out
    assert not sent.truncated[0] and sent.truncated.any()  # 25-word frames, 10 words leave per BX: it fills up
    assert (sent.bits[~sent.truncated] == 64 + 7 * 48).all() and (sent.words[~sent.truncated] == 25).all()
    assert (sent.bits[sent.truncated] == 16).all() and sent.bits_max == 400
    for row in calq[:2]:
        fields = frame_fields("threshold", row, 5, threshold=0)
        assert used_bits(fields) == 400 and fields[1].value == 0b100


def test_repeater_only_where_the_whole_frame_fits():
    calq = _wafers(5, seed=3)
    assert "repeater" not in chip_algorithms(calq, 10)
    sent = chip_algorithms(calq, 11)["repeater"]
    assert sent.bits_max == 341 and (sent.words == 22).all() and sent.lossless_sel.all()
    assert used_bits(frame_fields("repeater", calq[0], 11)) == 341 and len(frame_words("repeater", calq[0], 11)) == 11
    with pytest.raises(ConfigError, match="does not fit on 5 e-links"):
        frame_fields("repeater", calq[0], 5)


# --- Best Choice: the sorting network ------------------------------------------------------------------------


def test_batcher_network_has_367_comparators_in_21_stages():
    stages = merge_exchange_stages()
    assert len(stages) == 21 and comparator_count() == 367
    assert all(len(set(lo) | set(hi)) == 2 * len(lo) for lo, hi in stages)  # disjoint inside a stage


def test_batcher_ranks_the_hand_examples():
    zero = np.zeros((1, 48), dtype=np.int64)
    assert batcher_rank(zero)[0, :4].tolist() == [0, 1, 2, 3]
    tie = zero.copy()
    tie[0, [10, 40]] = 7
    assert batcher_rank(tie)[0, :2].tolist() == [40, 10]
    ramp = np.arange(48)[None, :]
    assert batcher_rank(ramp)[0].tolist() == list(range(47, -1, -1))


def test_batcher_ranks_every_row_of_the_chips_network_output():
    table = _read_calq(BATCHER_REFERENCE)
    assert table.shape == (2501, 96)
    ranks = batcher_rank(table[:, :48])
    assert np.array_equal(ranks, table[:, 48:])
    # the reference is tie-heavy: a stable sort by channel index disagrees on most rows
    stable = np.argsort(-table[:, :48], axis=1, kind="stable")
    assert (stable != table[:, 48:]).any(axis=1).sum() == 2427


def test_best_choice_breaks_ties_in_network_order_not_by_channel():
    calq = np.zeros((1, 48), dtype=np.int64)
    calq[0, [_column(10), _column(40)]] = 96
    sent = chip_algorithms(calq, 1, drop_lsb=0)["bc"]  # one cell: the network's first
    assert sent.recon[0, _column(40)] == 96 and sent.recon[0, _column(10)] == 0
    fields = frame_fields("bc", calq[0], 1, drop_lsb=0)
    assert [f.value for f in fields if f.name.startswith("address")] == [40]


# --- Best Choice: frame content -------------------------------------------------------------------------------


def test_best_choice_frame_by_hand():
    calq = np.zeros(48, dtype=np.int64)
    chans = [3, 17, 30, 44, 45]
    calq[[_column(c) for c in chans]] = [400, 9, 1000, 33, 2]  # the smallest (2) is not among the 4 sent
    fields = {f.name: f for f in frame_fields("bc", calq, 2, bx=0)}  # LD: DropLSB 1
    assert fields["header"].value == header4(0) == 0b1111  # BX 0: BX_CNT 31, bits 4,2,1,0
    assert [fields[f"address_{i}"].value for i in range(4)] == [3, 17, 30, 44]
    assert [fields[f"code_ch{c}"].value for c in (3, 17, 30, 44)] == CELL_4E3M.encode(
        np.array([200, 4, 500, 16])
    ).tolist()
    assert fields["sum"].value == int(SUM_5E3M.encode(np.array([1]))[0])  # the not-sent cell, 2 >> 1
    assert frame_fields("bc", calq, 2, use_sum=True)[1].value == int(SUM_5E3M.encode(np.array([721]))[0])


def test_best_choice_sends_zero_codes_with_their_addresses():
    """The chip's frame carries n codes; the emulator's quirk (zero codes left out) is not reproduced."""
    calq = np.zeros(48, dtype=np.int64)
    calq[_column(6)] = 80
    fields = frame_fields("bc", calq, 2)
    addresses = [f.value for f in fields if f.name.startswith("address")]
    codes = {f.name: f.value for f in fields if f.name.startswith("code")}
    assert len(set(addresses)) == 4 and 6 in addresses and used_bits(fields) == 64
    assert codes.pop("code_ch6") == int(CELL_4E3M.encode(np.array([40]))[0]) and list(codes.values()) == [0, 0, 0]


def test_best_choice_can_leave_out_a_cell_that_the_drop_zeroes():
    """CALQ 1 becomes 0 after DropLSB 1 and ties with the empty channels: the network may not pick it."""
    calq = np.zeros((1, 48), dtype=np.int64)
    calq[0, _column(5)] = 1
    sent = chip_algorithms(calq, 2)["bc"]
    picked = [f.value for f in frame_fields("bc", calq[0], 2) if f.name.startswith("address")]
    assert sent.lossless_sel[0] == (5 in picked)
    assert chip_algorithms(calq, 2, drop_lsb=0)["bc"].lossless[0]


def test_best_choice_uses_a_map_from_eight_cells():
    calq = _wafers(1, seed=4, lit=(20, 20))[0]
    fields = frame_fields("bc", calq, 4)  # n = 9
    bitmap = [f for f in fields if f.name == "map"][0]
    assert bitmap.width == 48 and bin(bitmap.value).count("1") == 9
    assert not any(f.name.startswith("address") for f in fields)


@pytest.mark.parametrize("elinks", [1, 2, 3, 4, 5, 8])
def test_best_choice_frame_words_decode_to_the_reconstruction(elinks):
    calq = _wafers(40, seed=10 + elinks, high=300000)
    sent = chip_algorithms(calq, elinks)["bc"]
    for i in range(len(calq)):
        header, _, cells = _receive_bc(frame_words("bc", calq[i], elinks, bx=i), elinks, drop=1)
        assert header == header4(i)
        assert np.array_equal(cells, sent.recon[i].astype(np.int64))


def test_best_choice_decodes_exactly_when_every_charge_is_representable():
    exact = np.array([0, 1, 7, 8, 15, 16, 18, 96, 120, 15 << 14])  # 4E3M lower edges
    assert np.array_equal(CELL_4E3M.roundtrip(exact), exact)
    rng = np.random.default_rng(5)
    calq = np.zeros((200, 48), dtype=np.int64)
    for row in calq:
        cells = rng.choice(48, size=4, replace=False)
        row[cells] = rng.choice(exact[1:], size=4)
    sent = chip_algorithms(calq, 2, drop_lsb=0)["bc"]  # n = 4 >= lit cells
    assert sent.lossless.all() and sent.lossless_sel.all()
    assert np.array_equal(sent.recon.astype(np.int64), calq) and (sent.energy_kept == 1.0).all()
    doubled = chip_algorithms(2 * calq, 2, drop_lsb=1)["bc"]  # LD: even charges survive the dropped bit
    assert doubled.lossless.all()
    odd = chip_algorithms(2 * calq + (calq > 0), 2, drop_lsb=1)["bc"]  # the dropped bit is lost
    assert odd.lossless_sel.all() and not odd.lossless.any() and (odd.energy_kept < 1).all()


def test_best_choice_saturates_at_the_largest_code():
    calq = np.zeros((1, 48), dtype=np.int64)
    calq[0, 0] = (1 << 22) - 1
    sent = chip_algorithms(calq, 1, drop_lsb=0)["bc"]
    assert sent.recon[0, 0] == CELL_4E3M.max_value == 15 << 14 and not sent.lossless[0]


# --- STC -------------------------------------------------------------------------------------------------------


def _stc_wafer(size: int, group: int, idx_values: dict[int, int]) -> np.ndarray:
    calq = np.zeros(48, dtype=np.int64)
    for idx, value in idx_values.items():
        calq[_column(size * group + idx)] = value
    return calq


@pytest.mark.parametrize(
    ("name", "size", "bits", "values", "position"),
    [
        ("stc4", 4, 2, {1: 50, 3: 50}, 3),  # equal maxima on 1 and 3: the highest index
        ("stc4", 4, 2, {0: 50, 1: 50, 2: 9}, 1),
        ("stc4", 4, 2, {}, 3),  # an empty group: all equal, the highest index
        ("stc4", 4, 2, {2: 70, 3: 69}, 2),
        ("stc16", 16, 4, {4: 20, 9: 20, 2: 20}, 9),
        ("stc16", 16, 4, {15: 5, 0: 6}, 0),
    ],
)
def test_stc_positions_break_ties_to_the_highest_index(name, size, bits, values, position):
    calq = _stc_wafer(size, 1, values)
    fields = frame_fields(name, calq, 2)
    assert fields[0].name == "header"
    pos = [f for f in fields if f.name.startswith("position")]
    assert all(f.width == bits for f in pos) and pos[1].value == position
    sent = chip_algorithms(calq[None, :], 2)[name]
    assert sent.recon[0, _column(size * 1 + position)] == SUM_5E4M.roundtrip(np.array([sum(values.values())]))[0]


def test_stc_sends_the_first_groups_by_index_without_ranking():
    calq = _stc_wafer(4, 9, {0: 5120})  # group 9 is not among the 5 groups sent at L = 2
    calq[_column(0)] = 1
    sent = chip_algorithms(calq[None, :], 2)["stc4"]
    assert sent.recon[0].sum() == 1 and not sent.lossless_sel[0]
    assert chip_algorithms(calq[None, :], 4)["stc4"].lossless[0]  # 11 groups at L = 4; 5120 is a 5E4M edge
    calq[_column(36)] = 0
    calq[_column(37)] = 5000  # not a 5E4M lower edge: sent at its position, but not exact
    at4 = chip_algorithms(calq[None, :], 4)["stc4"]
    assert at4.lossless_sel[0] and not at4.lossless[0]


@pytest.mark.parametrize(
    ("name", "size", "pbits", "width"), [("stc4", 4, 2, 9), ("stc16", 16, 4, 9), ("stc4_7", 4, 2, 7)]
)
def test_stc_frame_words_decode_to_the_reconstruction(name, size, pbits, width):
    calq = _wafers(30, seed=20, high=100000)
    sent = chip_algorithms(calq, 2)[name]
    n_groups = {"stc4": 5, "stc16": 3, "stc4_7": 6}[name]
    code = SUM_5E4M if width == 9 else CELL_4E3M
    drop = 0 if width == 9 else 1
    for i in range(len(calq)):
        header, positions, codes = _receive_stc(frame_words(name, calq[i], 2, bx=i), size, pbits, width, n_groups)
        assert header == header4(i)
        cells = np.zeros(48, dtype=np.int64)
        for g, (p, c) in enumerate(zip(positions, codes)):
            cells[size * g + p] = int(code.decode(np.array([c]))[0]) << drop
        assert np.array_equal(MAPPING.to_columns(cells[None, :])[0], sent.recon[i].astype(np.int64))


def test_ctc_shares_each_sum_over_its_group_and_is_never_lossless():
    calq = _stc_wafer(4, 0, {2: 64})
    sent = chip_algorithms(calq[None, :], 2)["ctc4_7"]  # 8 groups, 7-bit code of 64 >> 1
    assert sent.recon[0, [_column(c) for c in range(4)]].tolist() == [16.0] * 4
    assert not sent.lossless_sel[0] and not sent.lossless[0] and sent.energy_kept[0] == 1.0
    assert chip_algorithms(np.zeros((1, 48), dtype=np.int64), 2)["ctc4_7"].lossless[0]  # an empty wafer


def test_chip_stc_groups_are_the_geometry_groups():
    """The chip's STC4 groups (mapping table) are the 2x2 groups micae derives from the TC geometry."""
    from micae.metrics.econt_algorithms import stc_groups

    chip = sorted(sorted(g) for g in stc_groups_tc(4).tolist())
    assert chip == sorted(g.tolist() for g in stc_groups())
    # STC16 groups are the three HGCROC quadrants, CALQ columns 16k..16k+15 (in another group order)
    assert sorted(sorted(g) for g in stc_groups_tc(16).tolist()) == [list(range(16 * k, 16 * k + 16)) for k in range(3)]


# --- Threshold-Sum -----------------------------------------------------------------------------------------------


def test_threshold_sum_truncates_when_the_buffer_is_over_its_thresholds():
    """Full wafers (48 cells, 25 words) at L = 2: T1 = 48, T2 = 23, 4 words leave per bunch crossing."""
    full = np.full((12, 48), 100, dtype=np.int64)
    sent = chip_algorithms(full, 2)["threshold"]
    # buffer before each BX: 0, 21, 42 (42 + 25 > 48: truncated), 39, 36, 33, 30, 27, 24, 21 (written), 42, ..
    assert sent.truncated.tolist() == [False, False] + [True] * 7 + [False, True, True]
    assert (sent.bits[sent.truncated] == 16).all() and (sent.words[sent.truncated] == 1).all()
    assert (sent.recon[sent.truncated] == 0).all() and (sent.energy_kept[sent.truncated] == 0).all()
    assert not sent.lossless_sel[sent.truncated].any() and sent.lossless_sel[~sent.truncated].all()
    words = frame_words("threshold", full[2], 2, bx=2, preceding=full[:2])
    full_sum = int(SUM_5E3M.encode(np.array([4800]))[0])
    assert len(words) == 1 and words[0] >> 16 == bx_cnt(2) << 11 | 0b110 << 8 | full_sum
    assert words[0] & 0xFFFF == bx_cnt(2) << 11 | 0b01100110011  # the idle word fills the e-link


def test_threshold_sum_truncated_type_111_above_t2():
    """Above T2 (23 words waiting) a small frame (<= T3 words) is replaced by the type-111 word."""
    calq = np.full((3, 48), 100, dtype=np.int64)
    calq[2] = 0  # an empty frame (1 word) arrives with 42 words waiting: 42 + 1 <= T1 but 42 > T2
    res = ts.threshold_sum(MAPPING.to_channels(calq), np.full(48, 47), 1, 2)
    assert res.frame_type.tolist() == [0b100, 0b100, 0b111] and res.occupancy.tolist() == [0, 21, 42]
    relaxed = ts.threshold_sum(MAPPING.to_channels(calq), np.full(48, 47), 1, 2, buffer=ts.BufferThresholds(48, 45, 25))
    assert relaxed.frame_type.tolist() == [0b100, 0b100, 0b000]


def test_threshold_sum_at_one_elink_always_truncates_with_the_default_registers():
    calq = _wafers(10, seed=6, lit=(0, 3))
    assert chip_algorithms(calq, 1)["threshold"].truncated.all()  # T2 = 24 - 25 = -1
    assert not chip_algorithms(calq, 1, buffer_t2=10)["threshold"].truncated.any()
    assert frame_fields("threshold", calq[0], 1)[1].value == 0b111
    assert frame_fields("threshold", calq[0], 1, buffer_t2=10)[1].value != 0b111


def test_threshold_sum_frame_words_decode_to_the_reconstruction():
    calq = _wafers(60, seed=7, lit=(0, 13), high=400)  # at most 13 cells: each frame leaves in its own BX
    sent = chip_algorithms(calq, 5)["threshold"]
    assert not sent.truncated.any()
    for i in range(len(calq)):
        _, kind, sum_code, cells = _receive_threshold(frame_words("threshold", calq[i], 5, bx=i), drop=1)
        passed = calq[i] >= 47
        assert kind == (0 if not passed.any() else 0b010 if passed.sum() < 8 else 0b100)
        assert sum_code == SUM_5E3M.encode(np.array([calq[i][~passed].sum()]))[0]  # the cells not sent
        assert np.array_equal(cells, sent.recon[i].astype(np.int64))
        assert used_bits(frame_fields("threshold", calq[i], 5)) == sent.bits[i]


def test_threshold_sum_per_channel_registers_and_lossless_forms():
    calq = np.zeros((2, 48), dtype=np.int64)
    calq[:, 0] = [60, 60]
    calq[1, 1] = 30
    thr = np.full(48, 47)
    sent = chip_algorithms(calq, 3, threshold=thr, drop_lsb=0)["threshold"]
    assert sent.lossless_sel.tolist() == [True, False] and sent.lossless.tolist() == [True, False]
    thr[1] = 30
    assert chip_algorithms(calq, 3, threshold=thr, drop_lsb=0)["threshold"].lossless.tolist() == [True, True]
    with pytest.raises(ConfigError, match="THRESHV"):
        chip_algorithms(calq, 3, threshold=np.full(47, 1))


# --- literature forms ----------------------------------------------------------------------------------------------


def test_literature_forms_by_hand():
    calq = np.zeros((1, 48), dtype=np.int64)
    calq[0, [2, 9, 30, 31, 40]] = [47, 48, 70, 71, 5]
    lit = literature_algorithms(calq, 2)
    assert lit["lit_thr_1p35"].recon[0].nonzero()[0].tolist() == [9, 30, 31]  # CALQ / 35 > 1.35: 48 and up
    assert lit["lit_thr_2p0"].recon[0].nonzero()[0].tolist() == [31]  # CALQ / 35 > 2.0: 71 and up
    assert lit["lit_bc"].recon[0].nonzero()[0].tolist() == [2, 9, 30, 31]  # 4 largest, exact values
    assert lit["lit_bc"].recon[0, 2] == 47 and not lit["lit_bc"].lossless[0]  # cell 40 (5) is left out
    stc16 = lit["lit_stc16"].recon[0]
    assert stc16[9] == 95 and stc16[31] == 141 and stc16[40] == 5  # exact sums on the largest cell
    assert set(lit) == {"lit_bc", "lit_stc16", "lit_thr_1p35", "lit_thr_2p0"}
    assert "lit_bc" not in literature_algorithms(calq, 1) and "lit_bc" not in literature_algorithms(calq, 6)
    assert all(t.family == "literature" and np.array_equal(t.lossless, t.lossless_sel) for t in lit.values())


def test_literature_ties():
    calq = np.zeros((1, 48), dtype=np.int64)
    calq[0, [3, 7, 20]] = [10, 10, 10]
    lit = literature_algorithms(calq, 2)
    assert lit["lit_stc16"].recon[0, 3] == 20  # np.argmax: the lowest column of the group
    calq[0, [1, 2, 4]] = 10  # six cells of 10: the 4 kept are the highest columns
    assert literature_algorithms(calq, 2)["lit_bc"].recon[0].nonzero()[0].tolist() == [3, 4, 7, 20]


# --- shared definitions, inputs and options ---------------------------------------------------------------------------


def test_transmissions_are_consistent():
    calq = _wafers(300, seed=8, lit=(1, 48), high=200000)
    for elinks in (2, 5):
        algos = {**chip_algorithms(calq, elinks), **literature_algorithms(calq, elinks)}
        for name, t in algos.items():
            assert t.name == name and t.elinks == elinks and t.recon.shape == calq.shape
            if name in ("bc", "threshold", "lit_bc", "lit_thr_1p35", "lit_thr_2p0"):
                assert (t.recon <= calq).all()  # lower bin edges never add charge to a cell
            assert ((t.energy_kept >= 0) & (t.energy_kept <= 1)).all()
            assert not (t.lossless & ~t.lossless_sel).any() and t.description
            assert t.bits_max == t.bits.max() or name != "threshold"


def test_module_type_sets_drop_lsb():
    calq = np.zeros((1, 48), dtype=np.int64)
    calq[0, 0] = 1000
    assert chip_algorithms(calq, 2)["bc"].drop_lsb == 1
    hd = chip_algorithms(calq, 2, module="HD")["bc"]
    assert hd.drop_lsb == 3 and hd.recon[0, 0] == CELL_4E3M.roundtrip(np.array([125]))[0] << 3
    assert chip_algorithms(calq, 2, module="HD")["stc4"].drop_lsb == 0  # the 9-bit sums drop nothing
    with pytest.raises(ConfigError, match="module type 'XD'"):
        chip_algorithms(calq, 2, module="XD")
    with pytest.raises(ConfigError, match="DropLSB register takes 0..4"):
        chip_algorithms(calq, 2, drop_lsb=5)


@pytest.mark.parametrize(
    ("calq", "message"),
    [
        (np.zeros((2, 47)), r"expected \(N, 48\) CALQ"),
        (np.full((1, 48), 0.5), "CALQ must be integers"),
        (np.full((1, 48), -1), "CALQ must lie in 0..4194303"),
        (np.full((1, 48), 1 << 22), "CALQ must lie in 0..4194303"),
    ],
)
def test_bad_calq_gets_a_clear_error(calq, message):
    with pytest.raises(DataError, match=message):
        chip_algorithms(calq, 2)
    with pytest.raises(DataError, match=message):
        literature_algorithms(calq, 2)


def test_names_restrict_the_work_and_give_the_same_result():
    calq = _wafers(50, seed=9)
    every = chip_algorithms(calq, 2)
    some = chip_algorithms(calq, 2, names=["bc", "repeater"])  # the Repeater does not fit at L = 2
    assert set(some) == {"bc"} and np.array_equal(some["bc"].recon, every["bc"].recon)
    assert set(literature_algorithms(calq, 2, names=["lit_thr_2p0"])) == {"lit_thr_2p0"}
    with pytest.raises(ConfigError, match="unknown algorithm name"):
        chip_algorithms(calq, 2, names=["ae"])


def test_elink_count_is_checked():
    with pytest.raises(ConfigError, match="the chip has 1 to 13"):
        chip_algorithms(np.zeros((1, 48), dtype=np.int64), 0)


def test_bit_length_is_exact_across_int64():
    values = np.concatenate([2 ** np.arange(63) - 1, 2 ** np.arange(63), [2**53 + 1, 2**63 - 1]]).astype(np.int64)
    assert bit_length(values).tolist() == [int(v).bit_length() for v in values.tolist()]


def test_packaged_mapping_is_the_chips_table():
    shared = DATA / "econt_tc_mapping.csv"
    if not shared.is_file():
        pytest.skip(f"the shared mapping table is not at {shared}")
    from importlib import resources

    assert resources.files("micae.data").joinpath("econt_tc_mapping.csv").read_text() == shared.read_text()


# --- real data: the datapath document's part E ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def ttbar():
    return _read_calq(TTBAR)


def _printed(mask: np.ndarray) -> set[float]:
    """How the document may have printed a fraction: rounded half up to 0.1 %, or first to 0.01 % and then to 0.1 %.

    The document's figures are double-rounded where it shows: BC exact D1 at L = 3 is 11033 of 38382 =
    28.745 %, printed 28.8; BC exact D0 at L = 4 is 25044 / 38382 = 65.249 %, printed 65.3.
    """
    pct = Decimal(100 * float(mask.mean()))
    twice = pct.quantize(Decimal("0.01"), ROUND_HALF_UP).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return {float(pct.quantize(Decimal("0.1"), ROUND_HALF_UP)), float(twice)}


def test_lossless_fractions_on_ttbar_reproduce_the_document(ttbar):
    """Datapath doc part E, ttbar_0PU.csv (the full file, 38,382 wafers), to its printed precision."""
    assert ttbar.shape == (38382, 48)
    doc = {  # L: BC sel, BC exact D0, D1, STC4_9 sel, exact, STC4_7 sel
        2: (88.1, 63.8, 28.7, 24.6, 22.2, 30.3),
        3: (93.9, 65.0, 28.8, 43.8, 39.3, 58.7),
        4: (97.1, 65.3, 28.8, 66.6, 59.4, 76.2),
        5: (98.9, 65.3, 28.8, 76.2, 67.5, None),
    }
    for elinks, (bc_sel, bc_d0, bc_d1, stc_sel, stc_exact, stc7_sel) in doc.items():
        ld = chip_algorithms(ttbar, elinks)
        d0 = chip_algorithms(ttbar, elinks, drop_lsb=0)
        assert bc_sel in _printed(ld["bc"].lossless_sel)
        assert bc_d0 in _printed(d0["bc"].lossless) and bc_d1 in _printed(ld["bc"].lossless)
        assert stc_sel in _printed(ld["stc4"].lossless_sel) and stc_exact in _printed(ld["stc4"].lossless)
        if stc7_sel is not None:
            assert stc7_sel in _printed(ld["stc4_7"].lossless_sel)
        assert round(100 * ld["threshold"].lossless_sel.mean(), 2) == 4.83
        assert literature_algorithms(ttbar, elinks)["lit_bc"].energy_kept.mean() >= 0.98  # "BC keeps >= 0.98"
    stc16 = chip_algorithms(ttbar, 2)["stc16"]
    assert 62.5 in _printed(stc16.lossless_sel) and 57.0 in _printed(stc16.lossless)


def test_calq_output_head_is_consistent_with_the_full_file_figures():
    """CALQ_output_head.csv is the first 4000 of the 6050 rows the document used, so its figures cannot be
    compared to the printed ones directly. What must hold whatever the other 2050 rows hold: a fraction f of
    all 6050 rows bounds the head's fraction h by 6050 f - 2050 <= 4000 h <= 6050 f. The buffer is causal,
    so the first 4000 bunch crossings are truncated exactly as in the full file and the bound holds there too.
    """
    head = _read_calq(CALQ_HEAD)
    assert head.shape == (4000, 48)
    doc = {2: (13.3, 1.6, 24.8), 3: (20.9, 3.7, 11.4), 4: (34.2, 8.4, 4.8), 5: (49.7, 11.1, 1.2)}
    for elinks, figures in doc.items():
        sent = chip_algorithms(head, elinks)
        measured = (sent["bc"].lossless_sel, sent["stc4"].lossless_sel, sent["threshold"].truncated)
        for full_pct, mask in zip(figures, measured):
            lo, hi = (full_pct - 0.05) / 100, (full_pct + 0.05) / 100
            assert 6050 * lo - 2050 <= 4000 * mask.mean() <= 6050 * hi
