"""Super Trigger Cells as the chip forms them (datapath doc C3): group sums of the first nSTC groups.

Groups are formed in the chip's channel (post-MUX) order: STC4 group k = channels 4k..4k+3 (a 2x2 group),
STC16 group k = channels 16k..16k+15 (one HGCROC). The chip sends the **first nSTC groups by index**, with no
energy ranking. Per group it sends the full-precision CALQ sum as a code and, except for CTC, the position of
the largest cell inside the group; **ties go to the highest index** inside the group.

| type | position | sum code | groups at L = 1..5 | bits used |
|---|---|---|---|---|
| STC4_9 | 2 bits | 9-bit 5E4M of the sum (no drop) | 2, 5, 8, 11, 12 | 26, 59, 92, 125, 136 |
| STC16_9 | 4 bits | 9-bit 5E4M of the sum | 2, 3 (L <= 2) | 30, 43 |
| STC4_7 | 2 bits | 7-bit 4E3M of (sum >> DropLSB) | 3, 6, 10, 12 (L <= 4) | 31, 58, 94, 112 |
| CTC4_7 | none | 7-bit 4E3M of (sum >> DropLSB) | 4, 8, 12 (L <= 3) | 32, 60, 88 |

Frame: ``BX(4) | nSTC positions | nSTC sum codes | zeros`` to 2L words. Decoding: the sum code at the lower
bin edge (shifted back by DropLSB for the 7-bit types) goes to the cell at the sent position (CMSSW's
``superTriggerCell`` energy division); CTC has no position, so its decoded sum is shared equally by the 4
cells of the group (CMSSW's ``equalShare``). Groups not sent decode to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from micae.econt import links
from micae.econt.codes import CELL_4E3M, SUM_5E4M, FloatCode
from micae.econt.frame import Field, header4


@dataclass(frozen=True)
class StcFormat:
    kind: str  # the links.STC_COUNTS key
    size: int  # cells per group
    position_bits: int  # 0 for CTC
    code: FloatCode
    drops_lsb: bool  # the 7-bit types code (sum >> DropLSB)

    def frame_bits(self, n_groups: int) -> int:
        return 4 + n_groups * (self.position_bits + self.code.width)


STC_FORMATS = {
    "stc4_9": StcFormat("stc4_9", 4, 2, SUM_5E4M, False),
    "stc16_9": StcFormat("stc16_9", 16, 4, SUM_5E4M, False),
    "stc4_7": StcFormat("stc4_7", 4, 2, CELL_4E3M, True),
    "ctc4_7": StcFormat("ctc4_7", 4, 0, CELL_4E3M, True),
}


def stc_groups_sent(kind: str, elinks: int) -> int | None:
    """Groups the chip sends for ``kind`` at L e-links, or None where the type does not fit."""
    return links.stc_count(kind, elinks)


@dataclass(frozen=True)
class StcResult:
    sums: np.ndarray  # (N, nSTC) full-precision group sums
    positions: np.ndarray  # (N, nSTC) index of the largest cell inside each group (ties: highest)
    codes: np.ndarray  # (N, nSTC) sum codes
    recon: np.ndarray  # (N, 48) channel order: int64, float64 for CTC
    sel: np.ndarray  # (N,) bool


def group_positions(groups: np.ndarray) -> np.ndarray:
    """``(..., size)`` cells -> index of the largest, ties to the highest index (the chip's rule)."""
    size = groups.shape[-1]
    return size - 1 - np.argmax(groups[..., ::-1], axis=-1)


def super_trigger_cells(per_channel: np.ndarray, fmt: StcFormat, n_groups: int, drop_lsb: int) -> StcResult:
    """The first ``n_groups`` groups of ``fmt`` on ``(N, 48)`` CALQ in channel order."""
    calq = np.asarray(per_channel, dtype=np.int64)
    n = len(calq)
    groups = calq.reshape(n, 48 // fmt.size, fmt.size)
    sent = groups[:, :n_groups]
    sums = sent.sum(axis=2)
    positions = group_positions(sent)
    drop = drop_lsb if fmt.drops_lsb else 0
    codes = fmt.code.encode(sums >> drop)
    decoded = fmt.code.decode(codes) << drop
    lit = (groups > 0).sum(axis=2)
    if fmt.position_bits:
        recon = np.zeros_like(groups)
        recon[np.arange(n)[:, None], np.arange(n_groups)[None, :], positions] = decoded
        sel = (lit[:, :n_groups] <= 1).all(axis=1) & (lit[:, n_groups:] == 0).all(axis=1)
    else:
        recon = np.zeros(groups.shape, dtype=np.float64)
        recon[:, :n_groups, :] = (decoded / fmt.size)[:, :, None]
        sel = (lit == 0).all(axis=1)
    return StcResult(sums=sums, positions=positions, codes=codes, recon=recon.reshape(n, 48), sel=sel)


def frame_fields(result: StcResult, fmt: StcFormat, row: int, bx: int) -> list[Field]:
    """The fields of wafer ``row``'s frame (before the zero padding to 2L words)."""
    fields = [Field("header", header4(bx), 4)]
    if fmt.position_bits:
        fields += [Field(f"position_{k}", int(p), fmt.position_bits) for k, p in enumerate(result.positions[row])]
    fields += [Field(f"sum_{k}", int(c), fmt.code.width) for k, c in enumerate(result.codes[row])]
    return fields
