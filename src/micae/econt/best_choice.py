"""Best Choice as the chip forms it (datapath doc C2): the n largest channels, fixed-length frame of 2L words.

* Input: ``min(CALQ >> DropLSB, 2**18 - 1)`` per channel (the largest 4E3M input), in the chip's channel
  (post-MUX) order.
* Selection: the first n outputs of the chip's 48-input Batcher network (:mod:`micae.econt.batcher`); the
  order among equal values is the network's, not the channel index.
* Frame: ``BX(4) | sum 5E3M (8) | n < 8: n x 6-bit channel addresses, ascending; n >= 8: 48-bit map, channel 0
  first | n x 7-bit 4E3M codes in ascending channel order | zeros`` to 2L words. Bits used: 12 + 13n (n < 8) or
  60 + 7n, i.e. 25 / 64 / 90 / 123 / 158 of 32 / 64 / 96 / 128 / 160 at L = 1..5.
* Sum field: 5E3M of the post-drop sum of the cells **not** sent (USE_SUM = 0, the chip's default) or of all 48
  (``use_sum=True``). micae's reconstruction leaves the cells not sent at 0; the field is in the frame words.
* Decoding: code -> lower bin edge, shifted left by DropLSB; every selected channel carries its code.

Emulator quirk, not followed: the emulator's formatter leaves codes equal to 0 out of its charge list while
their addresses stay (``Formatter.py:228, 245-247``), so a wafer with fewer non-zero cells than n would be
mis-paired at the receiver. micae writes the frame the chip's layout describes (n codes, zeros included); the
quirk is reported in the datapath doc (open point 8) and not visible in the public RTL material.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from micae.econt.batcher import batcher_rank
from micae.econt.codes import CELL_4E3M, SUM_5E3M
from micae.econt.frame import Field, header4

BC_INPUT_MAX = (1 << 18) - 1
ADDRESS_BITS = 6
MAP_FROM = 8  # from 8 cells on a 48-bit map replaces the addresses


def frame_bits(n: int) -> int:
    """Bits a Best Choice frame of n cells uses: header 4 + sum 8 + addresses or map + 7 per code."""
    return 4 + SUM_5E3M.width + (ADDRESS_BITS * n if n < MAP_FROM else 48) + CELL_4E3M.width * n


@dataclass(frozen=True)
class BestChoiceResult:
    """Per wafer: the channels sent (ascending), their codes, the sum code, and the decoded cells."""

    channels: np.ndarray  # (N, n) channel numbers, ascending
    codes: np.ndarray  # (N, n) 4E3M codes, same order
    sum_code: np.ndarray  # (N,) 5E3M
    recon: np.ndarray  # (N, 48) int64, channel order
    sel: np.ndarray  # (N,) bool: every lit channel was sent


def best_choice(per_channel: np.ndarray, n: int, drop_lsb: int, *, use_sum: bool = False) -> BestChoiceResult:
    """Best Choice on ``(N, 48)`` CALQ in channel order."""
    calq = np.asarray(per_channel, dtype=np.int64)
    values = np.minimum(calq >> drop_lsb, BC_INPUT_MAX)
    rows = np.arange(len(calq))[:, None]
    chosen = np.sort(batcher_rank(values)[:, :n], axis=1)
    chosen_values = values[rows, chosen]
    codes = CELL_4E3M.encode(chosen_values)
    total = values.sum(axis=1)
    sum_code = SUM_5E3M.encode(total if use_sum else total - chosen_values.sum(axis=1))
    recon = np.zeros_like(calq)
    recon[rows, chosen] = CELL_4E3M.decode(codes) << drop_lsb
    sent = np.zeros(calq.shape, dtype=bool)
    sent[rows, chosen] = True
    sel = ~((calq > 0) & ~sent).any(axis=1)
    return BestChoiceResult(channels=chosen, codes=codes, sum_code=sum_code, recon=recon, sel=sel)


def frame_fields(result: BestChoiceResult, row: int, bx: int) -> list[Field]:
    """The fields of wafer ``row``'s frame (before the zero padding to 2L words)."""
    chans = [int(c) for c in result.channels[row]]
    fields = [Field("header", header4(bx), 4), Field("sum", int(result.sum_code[row]), SUM_5E3M.width)]
    if len(chans) < MAP_FROM:
        fields += [Field(f"address_{i}", c, ADDRESS_BITS) for i, c in enumerate(chans)]
    else:
        fields.append(Field("map", sum(1 << (47 - c) for c in chans), 48))
    fields += [Field(f"code_ch{c}", int(code), CELL_4E3M.width) for c, code in zip(chans, result.codes[row])]
    return fields
