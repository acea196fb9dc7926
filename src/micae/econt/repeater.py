"""The Repeater (datapath doc C4): every channel as a 7-bit 4E3M code of (CALQ >> DropLSB).

Frame: ``BX_CNT(5) | 48 x 7-bit code``, channel 0 first = 341 bits in 22 words. Each bunch crossing only the
first 2L words leave, so the whole frame needs L >= 11 e-links; at fewer it does not fit and micae leaves the
Repeater out.
"""

from __future__ import annotations

import numpy as np

from micae.econt.codes import CELL_4E3M
from micae.econt.frame import Field, bx_cnt

FRAME_BITS = 5 + 48 * CELL_4E3M.width  # 341
FRAME_WORDS = -(-FRAME_BITS // 16)  # 22
MIN_ELINKS = -(-FRAME_WORDS // 2)  # 11


def fits(elinks: int) -> bool:
    """Whether the whole frame leaves in one bunch crossing at L e-links."""
    return 2 * elinks >= FRAME_WORDS


def repeater(per_channel: np.ndarray, drop_lsb: int) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 48)`` CALQ in channel order -> (codes, decoded cells), both (N, 48) int64 in channel order."""
    codes = CELL_4E3M.encode(np.asarray(per_channel, dtype=np.int64) >> drop_lsb)
    return codes, CELL_4E3M.decode(codes) << drop_lsb


def frame_fields(codes_row: np.ndarray, bx: int) -> list[Field]:
    """The fields of one wafer's frame (before the zero padding to 22 words)."""
    return [Field("bx_cnt", bx_cnt(bx), 5)] + [Field(f"code_ch{c}", int(v), 7) for c, v in enumerate(codes_row)]
