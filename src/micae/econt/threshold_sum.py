"""Threshold-Sum as the chip forms it (datapath doc C1): a variable-length frame behind a 400-word buffer.

* Selection: channel i is sent when its full-precision CALQ >= THRESHV_i (default 47 = 1.35 MIP_T at 35.1
  counts per MIP_T, the emulator's value; per-channel registers allowed).
* Codes: 7-bit 4E3M of (CALQ >> DropLSB), in ascending channel order.
* Frame: ``BX_CNT(5) | type(3) | sum 5E3M (8)`` then nothing (type 000, N = 0), or ``N(3) | N x 6-bit address |
  N x code`` (type 010, N = 1..7), or ``48-bit map, channel 0 first | N x code`` (type 100, N >= 8); padded to
  16-bit words: 1 word at N = 0, ceil((19 + 13N) / 16) for 1..7, ceil((64 + 7N) / 16) from 8 (25 words at 48).
  The sum field is 5E3M of the CALQ sum of the cells not sent (USE_SUM = 0, the default; no DropLSB) or of all.
* Buffer (``BufferBlock.py:6-56``): 400 words, thresholds T1 = 24L, T2 = T1 - 25, T3 = 25 (defaults). Each
  bunch crossing, with ``Nbuf`` words waiting and a frame of ``NBXc`` words: if ``Nbuf + NBXc > T1`` the frame
  is replaced by its truncated word (type 110); else if ``Nbuf > T2`` and ``NBXc <= T3`` by the truncated word
  of type 111; otherwise it is written whole. Then 2L words leave. The truncated word is one 16-bit word,
  ``BX_CNT(5) | 11x | 5E3M of the full CALQ sum``; micae decodes a truncated wafer as empty.
  With the default T2 = T1 - 25, at L = 1 T2 = -1 and **every** frame is truncated.

micae treats the rows of a file as consecutive bunch crossings of one module, starting with an empty buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from micae.econt.codes import CELL_4E3M, SUM_5E3M
from micae.econt.frame import Field, bx_cnt
from micae.errors import ConfigError

BUFFER_WORDS = 400
T3_DEFAULT = 25
TYPE_EMPTY, TYPE_FEW, TYPE_MAP, TYPE_TRUNCATED_T1, TYPE_TRUNCATED_T2 = 0b000, 0b010, 0b100, 0b110, 0b111
HEAD_BITS = 5 + 3 + SUM_5E3M.width  # BX_CNT, type, sum
MAP_FROM = 8


def frame_bits(n_cells: np.ndarray) -> np.ndarray:
    """Bits of the untruncated frame for N cells sent: 16, 19 + 13N (1..7) or 64 + 7N (>= 8)."""
    n = np.asarray(n_cells, dtype=np.int64)
    few = HEAD_BITS + 3 + (6 + CELL_4E3M.width) * n
    many = HEAD_BITS + 48 + CELL_4E3M.width * n
    return np.where(n == 0, HEAD_BITS, np.where(n < MAP_FROM, few, many))


def frame_words(n_cells: np.ndarray) -> np.ndarray:
    """16-bit words of the untruncated frame."""
    return -(-frame_bits(n_cells) // 16)


@dataclass(frozen=True)
class BufferThresholds:
    t1: int
    t2: int
    t3: int

    @classmethod
    def default(cls, elinks: int, t1: int | None = None, t2: int | None = None, t3: int | None = None):
        """The emulator's defaults at L e-links (T1 = 24L, T2 = T1 - 25, T3 = 25), each one overridable."""
        t1 = 24 * elinks if t1 is None else t1
        t2 = t1 - 25 if t2 is None else t2
        t3 = T3_DEFAULT if t3 is None else t3
        if not 0 < t1 <= BUFFER_WORDS:
            raise ConfigError(f"Threshold-Sum buffer T1 = {t1}: the buffer holds {BUFFER_WORDS} words", "use 1..400")
        return cls(int(t1), int(t2), int(t3))


def simulate_buffer(words: np.ndarray, elinks: int, thresholds: BufferThresholds) -> tuple[np.ndarray, np.ndarray]:
    """Rows as consecutive bunch crossings -> (frame type written, 0 = whole frame / 6 = 110 / 7 = 111; Nbuf)."""
    drain = 2 * elinks
    t1, t2, t3 = thresholds.t1, thresholds.t2, thresholds.t3
    kind = np.zeros(len(words), dtype=np.int64)
    occupancy = np.zeros(len(words), dtype=np.int64)
    nbuf = 0
    for i, nbxc in enumerate(np.asarray(words, dtype=np.int64).tolist()):
        occupancy[i] = nbuf
        if nbuf + nbxc > t1:
            kind[i], nbuf = TYPE_TRUNCATED_T1, nbuf + 1
        elif nbuf > t2 and nbxc <= t3:
            kind[i], nbuf = TYPE_TRUNCATED_T2, nbuf + 1
        else:
            nbuf += nbxc
        nbuf = max(nbuf - drain, 0)
    return kind, occupancy


@dataclass(frozen=True)
class ThresholdResult:
    passed: np.ndarray  # (N, 48) bool, channel order
    codes: np.ndarray  # (N, 48) 4E3M codes of every channel (only the passed ones are sent)
    n_cells: np.ndarray  # (N,)
    frame_type: np.ndarray  # (N,) 3-bit type actually written (truncated types included)
    sum_code: np.ndarray  # (N,) 5E3M of the sum field of the untruncated frame
    full_sum_code: np.ndarray  # (N,) 5E3M of the full sum (the truncated word)
    bits: np.ndarray  # (N,) bits written (16 when truncated)
    words: np.ndarray  # (N,) 16-bit words written
    occupancy: np.ndarray  # (N,) words waiting in the buffer when the frame arrived
    recon: np.ndarray  # (N, 48) int64 channel order
    sel: np.ndarray  # (N,) bool

    @property
    def truncated(self) -> np.ndarray:
        return self.frame_type >= TYPE_TRUNCATED_T1


def threshold_sum(
    per_channel: np.ndarray,
    thresholds: np.ndarray,
    drop_lsb: int,
    elinks: int,
    *,
    buffer: BufferThresholds | None = None,
    use_sum: bool = False,
) -> ThresholdResult:
    """Threshold-Sum on ``(N, 48)`` CALQ in channel order with per-channel ``thresholds`` (48,) in CALQ counts."""
    calq = np.asarray(per_channel, dtype=np.int64)
    passed = calq >= np.asarray(thresholds, dtype=np.int64)[None, :]
    n_cells = passed.sum(axis=1)
    codes = CELL_4E3M.encode(calq >> drop_lsb)
    total = calq.sum(axis=1)
    sum_code = SUM_5E3M.encode(total if use_sum else total - np.where(passed, calq, 0).sum(axis=1))
    whole_bits = frame_bits(n_cells)
    whole_words = -(-whole_bits // 16)
    buffer = buffer or BufferThresholds.default(elinks)
    truncation, occupancy = simulate_buffer(whole_words, elinks, buffer)
    truncated = truncation > 0
    frame_type = np.where(n_cells == 0, TYPE_EMPTY, np.where(n_cells < MAP_FROM, TYPE_FEW, TYPE_MAP))
    frame_type = np.where(truncated, truncation, frame_type)
    keep = passed & ~truncated[:, None]
    recon = np.where(keep, CELL_4E3M.decode(codes) << drop_lsb, 0)
    sel = ~truncated & ~((calq > 0) & ~passed).any(axis=1)
    return ThresholdResult(
        passed=passed,
        codes=codes,
        n_cells=n_cells,
        frame_type=frame_type,
        sum_code=sum_code,
        full_sum_code=SUM_5E3M.encode(total),
        bits=np.where(truncated, 16, whole_bits),
        words=np.where(truncated, 1, whole_words),
        occupancy=occupancy,
        recon=recon,
        sel=sel,
    )


def frame_fields(result: ThresholdResult, row: int, bx: int) -> list[Field]:
    """The fields of wafer ``row``'s frame as written (the single truncated word when the buffer truncated it)."""
    kind = int(result.frame_type[row])
    if kind >= TYPE_TRUNCATED_T1:
        return [Field("bx_cnt", bx_cnt(bx), 5), Field("type", kind, 3), Field("sum", int(result.full_sum_code[row]), 8)]
    fields = [Field("bx_cnt", bx_cnt(bx), 5), Field("type", kind, 3), Field("sum", int(result.sum_code[row]), 8)]
    chans = np.flatnonzero(result.passed[row]).tolist()
    if 0 < len(chans) < MAP_FROM:
        fields.append(Field("n_cells", len(chans), 3))
        fields += [Field(f"address_{i}", c, 6) for i, c in enumerate(chans)]
    elif chans:
        fields.append(Field("map", sum(1 << (47 - c) for c in chans), 48))
    fields += [Field(f"code_ch{c}", int(result.codes[row, c]), CELL_4E3M.width) for c in chans]
    return fields
