"""What one algorithm sent for a set of wafers, decoded back into 48 cells: :class:`Transmission`.

Shared definitions (datapath doc part E), for every algorithm:

* ``recon``: the decoded 48 cells in CALQ units and CALQ column order. Codes decode to the lower edge of
  their bin and are shifted back by DropLSB; cells the frame does not carry are 0.
* ``lossless_sel`` ("every lit cell reaches the output with its position"): every cell with CALQ > 0 is
  carried by the frame at its own position. Best Choice: it is among the n cells sent. STC: every group that
  is sent holds at most one lit cell and every group not sent is empty (so the position names the lit cell);
  CTC has no position, so only an empty wafer qualifies. Threshold-Sum: no lit cell is below its threshold
  and the frame was not truncated by the buffer. Repeater: always.
* ``lossless`` (the *exact* form): ``lossless_sel`` and every transmitted code gives the cell's CALQ back,
  i.e. ``recon == CALQ`` in all 48 cells, compared as integers. With DropLSB 1 this fails on any odd charge.
* ``energy_kept``: ``sum(recon) / sum(CALQ)`` per wafer; 1.0 for an empty wafer (nothing to lose). Decoding
  at the lower bin edge never adds energy, so it lies in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FAMILIES = ("chip", "literature")


@dataclass(frozen=True, eq=False)
class Transmission:
    """One algorithm at one e-link count on ``N`` wafers (arrays are per wafer; see the module docstring)."""

    name: str  # the evaluation name: "bc", "stc4", "stc16", "stc4_7", "ctc4_7", "threshold", "repeater", "lit_*"
    family: str  # "chip" or "literature"
    elinks: int
    recon: np.ndarray  # (N, 48) float64, CALQ units, CALQ column order
    bits: np.ndarray  # (N,) int64: frame bits used, header and sum included, padding excluded
    bits_max: int  # the largest frame: the document's fixed size, or the most a variable frame used here
    lossless: np.ndarray  # (N,) bool: the exact form
    lossless_sel: np.ndarray  # (N,) bool: the selection form
    energy_kept: np.ndarray  # (N,) float64
    description: str  # one line: what is sent, codes, DropLSB, tie rule
    words: np.ndarray  # (N,) int64: 16-bit words the frame occupies (2L for fixed frames)
    truncated: np.ndarray  # (N,) bool: the buffer replaced the frame by its truncated word (Threshold-Sum)
    drop_lsb: int  # low bits dropped before the cell codes (0 where no code drops bits)
    capacity_bits: int  # what L e-links carry per bunch crossing: 32 L

    @property
    def n_wafers(self) -> int:
        return len(self.bits)

    @property
    def bits_mean(self) -> float:
        return float(self.bits.mean()) if self.n_wafers else 0.0

    @property
    def lossless_fraction(self) -> float:
        return float(self.lossless.mean()) if self.n_wafers else 0.0

    @property
    def lossless_sel_fraction(self) -> float:
        return float(self.lossless_sel.mean()) if self.n_wafers else 0.0

    @property
    def truncated_fraction(self) -> float:
        return float(self.truncated.mean()) if self.n_wafers else 0.0


def energy_kept(calq: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """``sum(recon) / sum(CALQ)`` per wafer, 1.0 where the wafer is empty."""
    total = calq.sum(axis=1).astype(np.float64)
    kept = np.asarray(recon, dtype=np.float64).sum(axis=1)
    return np.divide(kept, total, out=np.ones_like(total), where=total > 0)


def exact(calq: np.ndarray, recon_int: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """The exact lossless form: selection lossless and the integer reconstruction equals CALQ everywhere."""
    return sel & (np.asarray(recon_int, dtype=np.int64) == calq).all(axis=1)


def make(
    *,
    name: str,
    family: str,
    elinks: int,
    calq: np.ndarray,
    recon: np.ndarray,
    bits: np.ndarray,
    bits_max: int,
    sel: np.ndarray,
    description: str,
    words: np.ndarray,
    drop_lsb: int,
    truncated: np.ndarray | None = None,
    lossless: np.ndarray | None = None,
) -> Transmission:
    """Build a Transmission; ``lossless`` defaults to the exact form of an integer ``recon``."""
    if family not in FAMILIES:
        raise ValueError(f"family {family!r}: use one of {FAMILIES}")
    n = len(calq)
    recon = np.asarray(recon)
    if lossless is None:
        lossless = exact(calq, recon, sel)
    return Transmission(
        name=name,
        family=family,
        elinks=elinks,
        recon=recon.astype(np.float64),
        bits=np.broadcast_to(np.asarray(bits, dtype=np.int64), (n,)).copy(),
        bits_max=int(bits_max),
        lossless=np.asarray(lossless, dtype=bool),
        lossless_sel=np.asarray(sel, dtype=bool),
        energy_kept=energy_kept(calq, recon),
        description=description,
        words=np.broadcast_to(np.asarray(words, dtype=np.int64), (n,)).copy(),
        truncated=np.zeros(n, dtype=bool) if truncated is None else np.asarray(truncated, dtype=bool),
        drop_lsb=int(drop_lsb),
        capacity_bits=32 * elinks,
    )
