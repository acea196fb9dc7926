"""What the chip sends on ``L`` output e-links (32 bits each per bunch crossing): datapath doc B4, C2, C3, D2.

One function per fact, each for ``L`` = 1..13 (the chip has up to 13 eTx). The autoencoder frame is capped at
5 e-links (160 bits); the non-ML formats grow up to 13.
"""

from __future__ import annotations

from micae.errors import ConfigError

BITS_PER_ELINK = 32
MAX_ELINKS = 13
N_LATENTS = 16
AE_HEADER_BITS = 5  # BX_CNT (emulator; the Ecoder README says 4)
AE_SUM_BITS = 9  # the module sum in 5E4M
AE_LATENT_WIDTH = 9  # the encoder's latent: unsigned, 1 integer bit, 8 fractional bits, in [0, 2)
AE_MAX_LATENT_DATA = 146  # latent bits of a 5-e-link frame (160 - 5 - 9)

BC_CELLS = (1, 4, 6, 9, 14, 18, 23, 28, 32, 37, 41, 46, 48)
"""Best Choice cells per L = 1..13 (emulator ``linkAllocation.py``; current CMSSW cfi)."""
BC_CELLS_OLD_CMSSW = (1, 3, 6, 9, 14, 18, 23, 27, 32, 37, 41, 46)
"""The older CMSSW list (3 cells at 2 links, 27 at 8)."""
LIT_BC_CELLS = {2: 4, 3: 6, 4: 9, 5: 14}
"""Best Choice cells of the literature (Ecoder / fastml-science baselines)."""

STC_COUNTS = {
    "stc4_9": (2, 5, 8, 11, 12),
    "stc16_9": (2, 3),
    "ctc4_7": (4, 8, 12),
    "stc4_7": (3, 6, 10, 12),
}
"""Super trigger cells sent per L = 1.. for each STC type (datapath doc C3); a type has no entry past its maximum."""

THRESHOLD_FITS = (1, 3, 5, 9, 13)
"""Most Threshold-Sum cells whose frame fits in one bunch crossing at L = 1..5."""


def check_elinks(elinks: int, *, what: str = "econt.elinks", highest: int = MAX_ELINKS) -> int:
    """``elinks`` as an int in 1..``highest``, or a ConfigError that says what is allowed."""
    if isinstance(elinks, bool) or not isinstance(elinks, int) or not 1 <= elinks <= highest:
        raise ConfigError(
            f"{what} = {elinks!r}: the chip has 1 to {highest} output e-links",
            "use 2, 3, 4 or 5 (76% of the modules have 2; 2..5 give 16 latents of 3, 5, 7 or 9 bits)",
        )
    return elinks


def ae_latent_data_bits(elinks: int) -> int:
    """Latent bits the autoencoder frame holds: min(18 + 32 (L - 1), 146)."""
    return min(18 + BITS_PER_ELINK * (check_elinks(elinks) - 1), AE_MAX_LATENT_DATA)


def ae_latent_bits(elinks: int) -> int:
    """Bits per latent at L e-links: 1, 3, 5, 7, 9 at L = 1..5 (9 from 5 up): the top bits of the 9-bit latent."""
    return ae_latent_data_bits(elinks) // N_LATENTS


def ae_frame_bits(elinks: int) -> int:
    """The autoencoder frame: header + sum + latent data = 32 L bits, at most 160."""
    return AE_HEADER_BITS + AE_SUM_BITS + ae_latent_data_bits(elinks)


def ae_spare_bits(elinks: int) -> int:
    """Frame bits the 16 latents leave unused (2 at every L)."""
    return ae_latent_data_bits(elinks) - N_LATENTS * ae_latent_bits(elinks)


def bc_cells(elinks: int) -> int:
    """Cells Best Choice sends at L e-links."""
    return BC_CELLS[check_elinks(elinks) - 1]


def stc_count(kind: str, elinks: int) -> int | None:
    """Super trigger cells of type ``kind`` sent at L e-links, or None where the type does not fit."""
    counts = STC_COUNTS[kind]
    return counts[check_elinks(elinks) - 1] if elinks <= len(counts) else None
