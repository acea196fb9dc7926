"""The chip's whole autoencoder block, bit for bit: CALQ and BX in, L 32-bit e-link words out (datapath doc B1-B4, C0).

The reference the block's RTL is verified against. Per bunch crossing:

1. **Normaliser** (B1, :func:`micae.econt.normaliser.chip_inputs`): SUM = the plain sum of the 48 CALQ (not
   wrapped: for CALQ < 2^22 it is below 2^28), msb = floor(log2 SUM) (0 for SUM = 0), raw_i =
   ((CALQ_i >> r) << l) mod 256 with r = min(max(msb - 7, 0), 14), l = max(7 - msb, 0): the 8-bit encoder input
   (value raw / 128), truncated.
2. **Encoder**: any function of the raw inputs (CALQ column order) giving the 16 unsigned latent codes (in the
   flow: the exact integer model of the user's encoder, its inputs arranged in the run's layout).
3. **Output stage** (B2, B4, C0): each latent cut to the top B = ``ae_latent_bits(L)`` bits of its ``W``-bit
   unsigned code (1 integer bit: the chip's 9-bit latent; a latent already B bits wide passes through), the sum
   as 9-bit 5E4M (truncating), the 5-bit BX_CNT (31 at BX = 0, else BX mod 16). The frame is
   BX_CNT | SUM | latent data, latent data = min(18 + 32 (L - 1), 146) bits holding OUT_15 .. OUT_0 (B bits each,
   MSB first) with zeros on the left. It is cut into 16-bit words, e-link k = (w[2k] << 16) | w[2k+1]. Beyond
   5 e-links the 160-bit frame is followed by zero words (fixed-size formats are zero-padded, C0).

The keep-mask register (KAEB) is modelled as "the top B bits of every latent" (the mask the issue and CMSSW's
bitsPerLink describe; the emulator sets no default, open point 10).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from micae.econt.codes import SUM_5E4M
from micae.econt.frame import ELINK_BITS, Field
from micae.econt.links import (
    AE_HEADER_BITS,
    AE_LATENT_WIDTH,
    AE_SUM_BITS,
    N_LATENTS,
    ae_latent_bits,
    ae_latent_data_bits,
    check_elinks,
)
from micae.econt.normaliser import CALQ_BITS, chip_inputs
from micae.errors import ConfigError, DataError

BX_BITS = 12
"""Width of the bunch-crossing number the RTL takes (an LHC orbit has 3564 crossings, BX 0..3563)."""
N_CALQ = 48

LatentFunction = Callable[[np.ndarray], np.ndarray]
"""``(N, 48)`` raw 8-bit input codes in CALQ column order -> ``(N, 16)`` unsigned latent codes."""


@dataclass(frozen=True)
class FrameLayout:
    """Where each field of the autoencoder frame sits at ``elinks`` e-links (positions counted from the MSB)."""

    elinks: int
    latent_bits: int
    """B: bits per latent in the frame"""

    @classmethod
    def of(cls, elinks: int) -> FrameLayout:
        return cls(check_elinks(elinks, what="--elinks"), ae_latent_bits(elinks))

    @property
    def words(self) -> int:
        """32-bit words per bunch crossing (one per e-link)."""
        return self.elinks

    @property
    def total_bits(self) -> int:
        return ELINK_BITS * self.elinks

    @property
    def data_bits(self) -> int:
        return ae_latent_data_bits(self.elinks)

    @property
    def spare_bits(self) -> int:
        """Zeros between SUM and OUT_15 (the latent data's left padding)."""
        return self.data_bits - N_LATENTS * self.latent_bits

    @property
    def tail_bits(self) -> int:
        """Zeros after OUT_0 (only beyond 5 e-links, where the frame stays 160 bits)."""
        return self.total_bits - (AE_HEADER_BITS + AE_SUM_BITS + self.data_bits)

    def fields(self) -> list[tuple[str, int, int]]:
        """``(name, msb-first start, width)`` of every field, padding included, in transmission order."""
        out, pos = [], 0
        for name, width in [
            ("BX_CNT", AE_HEADER_BITS),
            ("SUM", AE_SUM_BITS),
            ("spare", self.spare_bits),
            *((f"OUT_{j}", self.latent_bits) for j in reversed(range(N_LATENTS))),
            ("pad", self.tail_bits),
        ]:
            if width:
                out.append((name, pos, width))
            pos += width
        return out

    def lsb_of(self, start: int, width: int) -> int:
        """Bit index (0 = LSB of the whole 32 L-bit frame) of a field's least significant bit."""
        return self.total_bits - start - width


@dataclass(frozen=True)
class BlockOutput:
    """Every intermediate of the block for ``N`` bunch crossings (all int64 but ``words``)."""

    raw: np.ndarray
    """(N, 48) 8-bit encoder inputs, CALQ column order"""
    module_sum: np.ndarray
    msb: np.ndarray
    sum_code: np.ndarray
    """(N,) 9-bit 5E4M"""
    bx_cnt: np.ndarray
    latents: np.ndarray
    """(N, 16) the encoder's latent codes"""
    fields: np.ndarray
    """(N, 16) the B-bit latent fields, OUT_0 .. OUT_15"""
    words: np.ndarray
    """(N, L) uint32, e-link 0 first"""


def check_calq(calq: np.ndarray) -> np.ndarray:
    """``(N, 48)`` CALQ as int64 within the chip's 22 bits, or a DataError."""
    c = np.asarray(calq)
    if c.ndim != 2 or c.shape[1] != N_CALQ:
        raise DataError(f"ECON-T block: expected (N, 48) CALQ, got shape {c.shape}", "pass one row per wafer")
    c = c.astype(np.int64)
    if c.size and (c.min() < 0 or c.max() >= 1 << CALQ_BITS):
        raise DataError(
            f"ECON-T block: CALQ spans [{c.min()}, {c.max()}], outside the chip's 22-bit range [0, 2^22 - 1]",
            "pass the chip's integer trigger charges (CALQ)",
        )
    return c


def bx_counter(bx: np.ndarray) -> np.ndarray:
    """The 5-bit BX_CNT of every bunch crossing number: 31 at BX = 0 (the orbit marker), else BX mod 16."""
    b = np.asarray(bx, dtype=np.int64)
    if b.size and (b.min() < 0 or b.max() >= 1 << BX_BITS):
        raise DataError(
            f"ECON-T block: bunch crossings span [{b.min()}, {b.max()}], outside [0, {(1 << BX_BITS) - 1}]",
            "pass bunch-crossing numbers of one orbit (0..3563)",
        )
    return np.where(b == 0, 31, b % 16)


def cut_latents(latents: np.ndarray, width: int, bits: int) -> np.ndarray:
    """The top ``bits`` bits of ``width``-bit unsigned latent codes (unchanged when ``width == bits``; a narrower
    latent is placed in the top bits, zeros below, so 1.0 stays the field's top bit)."""
    c = np.asarray(latents, dtype=np.int64)
    if c.size and (c.min() < 0 or c.max() >= 1 << width):
        raise DataError(
            f"ECON-T block: latent codes span [{c.min()}, {c.max()}], outside {width}-bit unsigned",
            "pass the encoder's unsigned latent codes",
        )
    return c >> (width - bits) if width >= bits else c << (bits - width)


def pack_words(bx_cnt: np.ndarray, sum_code: np.ndarray, fields: np.ndarray, layout: FrameLayout) -> np.ndarray:
    """``(N, L)`` uint32 e-link words of the frames (fields: ``(N, 16)`` B-bit values OUT_0 .. OUT_15)."""
    n = len(bx_cnt)
    values = {"BX_CNT": bx_cnt, "SUM": sum_code}
    values.update({f"OUT_{j}": fields[:, j] for j in range(N_LATENTS)})
    acc = np.zeros((layout.words + 1, n), dtype=np.uint64)  # index 0 = least significant 32-bit word
    for name, start, width in layout.fields():
        if name not in values:
            continue
        v = np.asarray(values[name], dtype=np.int64)
        if v.size and (v.min() < 0 or v.max() >= 1 << width):
            raise ValueError(f"frame field {name} does not fit in {width} bits")
        word, shift = divmod(layout.lsb_of(start, width), ELINK_BITS)
        shifted = v.astype(np.uint64) << np.uint64(shift)
        acc[word] |= shifted & np.uint64(0xFFFFFFFF)
        acc[word + 1] |= shifted >> np.uint64(ELINK_BITS)
    return np.ascontiguousarray(acc[: layout.words][::-1].T).astype(np.uint32)


def unpack_fields(words: np.ndarray, layout: FrameLayout) -> dict[str, np.ndarray]:
    """The inverse of :func:`pack_words`: every field (padding included) of ``(N, L)`` e-link words, int64."""
    w = np.asarray(words, dtype=np.uint64).reshape(-1, layout.words)
    low_first = np.concatenate([w[:, ::-1], np.zeros((len(w), 1), dtype=np.uint64)], axis=1)
    out = {}
    for name, start, width in layout.fields():
        if name == "pad":  # the zero words after a 160-bit frame (L > 5): the low tail_bits of the frame
            out[name] = _tail(w, width)
            continue
        word, shift = divmod(layout.lsb_of(start, width), ELINK_BITS)
        both = low_first[:, word] | (low_first[:, word + 1] << np.uint64(ELINK_BITS))
        out[name] = ((both >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int64)
    return out


def _tail(words: np.ndarray, bits: int) -> np.ndarray:
    """The low ``bits`` bits of each frame as exact Python ints (object array; wider than 64 bits)."""
    rows = []
    for row in words.tolist():
        value = 0
        for word in row:
            value = (value << ELINK_BITS) | int(word)
        rows.append(value & ((1 << bits) - 1))
    return np.array(rows, dtype=object)


def run_block(
    calq: np.ndarray,
    bx: np.ndarray,
    encoder_latents: LatentFunction,
    elinks: int,
    *,
    latent_width: int = AE_LATENT_WIDTH,
) -> BlockOutput:
    """The whole block on ``(N, 48)`` CALQ at bunch crossings ``bx`` (N,); ``encoder_latents`` as
    :data:`LatentFunction`, its codes ``latent_width`` bits unsigned with 1 integer bit."""
    layout = FrameLayout.of(elinks)
    c = check_calq(calq)
    b = np.asarray(bx, dtype=np.int64).reshape(-1)
    if len(b) != len(c):
        raise ConfigError(f"{len(b)} bunch crossings for {len(c)} CALQ rows", "pass one BX per row")
    raw, total, top = chip_inputs(c)
    latents = np.asarray(encoder_latents(raw), dtype=np.int64)
    if latents.shape != (len(c), N_LATENTS):
        raise ConfigError(
            f"the encoder gave latents of shape {latents.shape}, the frame needs {(len(c), N_LATENTS)}",
            "wrap an encoder with 16 latents (the chip's frame)",
        )
    fields = cut_latents(latents, latent_width, layout.latent_bits)
    cnt = bx_counter(b)
    code = SUM_5E4M.encode(total)
    words = pack_words(cnt, code, fields, layout)
    return BlockOutput(raw, total, top, code, cnt, latents, fields, words)


def frame_fields(words: np.ndarray, elinks: int) -> list[Field]:
    """One frame's fields, in transmission order, from its L e-link words (for display)."""
    layout = FrameLayout.of(elinks)
    values = unpack_fields(np.asarray(words).reshape(1, -1), layout)
    return [Field(name, int(values[name][0]), width) for name, _, width in layout.fields()]


def encoder_input_codes(raw: np.ndarray, layout: str, input_type) -> np.ndarray:
    """``(N, 48)`` raw 8-bit codes (CALQ order, value raw / 128) -> the encoder's flat input codes in ``layout``
    (``"4x4x3"`` or ``"8x8"``, Keras flatten order; repeated 8x8 pixels get 0), at the encoder's
    :class:`~micae.fixed.types.FixedType` ``input_type``. Refuses a type that cannot hold every raw value exactly."""
    from micae.data.geometry import arrange
    from micae.errors import ConstraintError

    shift = input_type.frac - 7
    if shift < 0 or (255 << shift) > input_type.max_int:
        raise ConstraintError(
            f"the encoder's input ({input_type.describe()}) cannot hold the chip's 8-bit inputs (unsigned, 7 "
            "fractional bits, [0, 2)) exactly",
            "train the encoder with input_quant bits 8, integer 1, unsigned (the chip's converter output)",
        )
    img = arrange(np.asarray(raw, dtype=np.int64), layout)
    return img.reshape(len(img), -1) << shift
