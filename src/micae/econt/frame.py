"""Frames as the chip writes them: named fields, MSB first, cut into 16-bit words and paired onto e-links.

Datapath doc C0: frames are sequences of 16-bit words; each bunch crossing the buffer sends 2L words and
e-link ``k`` carries ``(word[2k] << 16) | word[2k + 1]``. BX_CNT is ``BX mod 16``, except at ``BX = 0`` (the
orbit marker) where it is 31. Threshold-Sum, its truncated word, the Repeater and the autoencoder use the full
5-bit BX_CNT; Best Choice and the STC formats use a 4-bit header, BX_CNT bits {4, 2, 1, 0} (orbit flag, BX mod 8).
"""

from __future__ import annotations

from typing import NamedTuple

WORD_BITS = 16
ELINK_BITS = 32
TX_SYNC_WORD = 0b01100110011  # the 11-bit idle pattern (emulator default)


class Field(NamedTuple):
    """One field of a frame: ``width`` bits holding ``value``, sent MSB first."""

    name: str
    value: int
    width: int


def bx_cnt(bx: int) -> int:
    """The 5-bit BX counter of bunch crossing ``bx``: 31 at ``bx = 0``, else ``bx mod 16``."""
    if bx < 0:
        raise ValueError("bunch crossing numbers are >= 0")
    return 31 if bx == 0 else bx % 16


def header4(bx: int) -> int:
    """The 4-bit header of Best Choice and STC frames: BX_CNT bits 4, 2, 1, 0."""
    c = bx_cnt(bx)
    return ((c >> 4) & 1) << 3 | (c & 0b111)


def idle_word(bx: int, sync: int = TX_SYNC_WORD) -> int:
    """The 16-bit word that fills unused Threshold-Sum words: ``BX_CNT << 11 | sync``."""
    return bx_cnt(bx) << 11 | sync


def used_bits(fields: list[Field]) -> int:
    """Bits the fields occupy (padding excluded)."""
    return sum(f.width for f in fields)


def to_bits(fields: list[Field]) -> str:
    """The frame as a '0'/'1' string, MSB first (checks every value fits its width)."""
    out = []
    for f in fields:
        if not 0 <= f.value < (1 << f.width) and f.width > 0:
            raise ValueError(f"frame field {f.name} = {f.value} does not fit in {f.width} bits")
        out.append(format(f.value, f"0{f.width}b") if f.width else "")
    return "".join(out)


def to_words16(fields: list[Field], total_bits: int | None = None) -> list[int]:
    """The frame cut into 16-bit words, zero-padded to ``total_bits`` (default: the next whole word)."""
    bits = to_bits(fields)
    if total_bits is None:
        total_bits = -(-len(bits) // WORD_BITS) * WORD_BITS
    if len(bits) > total_bits or total_bits % WORD_BITS:
        raise ValueError(f"a frame of {len(bits)} bits does not fit in {total_bits} bits of 16-bit words")
    bits = bits.ljust(total_bits, "0")
    return [int(bits[i : i + WORD_BITS], 2) for i in range(0, total_bits, WORD_BITS)]


def to_elink_words(words16: list[int], fill: int = 0) -> list[int]:
    """Pairs of 16-bit words as 32-bit e-link words ``(w[2k] << 16) | w[2k+1]``; an odd last word gets ``fill``."""
    w = list(words16) + ([fill] if len(words16) % 2 else [])
    return [(w[i] << WORD_BITS) | w[i + 1] for i in range(0, len(w), 2)]
