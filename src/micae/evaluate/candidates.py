"""What one algorithm (or the run's autoencoder) sent, decoded into 48 cells: :class:`Candidate`.

The chip's algorithms and the literature's forms come as :class:`~micae.econt.transmission.Transmission`
(run on every selected row, empty ones included, because the Threshold-Sum buffer sees every bunch
crossing); :func:`from_transmission` keeps the non-empty wafers that are scored. The autoencoder's
reconstruction comes from :mod:`micae.evaluate.autoencoder`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from micae.econt.transmission import Transmission


@dataclass(frozen=True, eq=False)
class Candidate:
    """One algorithm on ``N`` wafers: ``recon`` (N, 48) float64 CALQ units in CALQ column order."""

    name: str
    family: str  # "chip", "literature" or "autoencoder"
    description: str
    recon: np.ndarray
    bits_max: int
    bits: np.ndarray | None  # (N,) frame bits of a variable-length frame, else None
    lossless: np.ndarray  # (N,) bool: every cell came back as its integer CALQ
    lossless_sel: np.ndarray | None  # (N,) bool: every lit cell sent at its position (chip / literature)
    truncated: np.ndarray | None  # (N,) bool: the buffer truncated the frame (Threshold-Sum)


def from_transmission(t: Transmission, keep: np.ndarray) -> Candidate:
    """A chip or literature transmission restricted to the rows ``keep`` (bool mask of the rows it ran on)."""
    variable = t.name == "threshold" or t.name.startswith("lit_thr")
    return Candidate(
        name=t.name,
        family=t.family,
        description=t.description,
        recon=t.recon[keep],
        bits_max=int(t.bits_max),
        bits=t.bits[keep] if variable else None,
        lossless=t.lossless[keep],
        lossless_sel=t.lossless_sel[keep],
        truncated=t.truncated[keep] if t.name == "threshold" else None,
    )


def autoencoder(name: str, description: str, calq: np.ndarray, recon: np.ndarray, frame_bits: int) -> Candidate:
    """The autoencoder's reconstruction (CALQ units, negatives clipped to 0: no cell carries negative charge).

    Lossless only where rounding every cell to the nearest integer gives its CALQ back (compared as integers).
    """
    recon = np.clip(np.asarray(recon, dtype=np.float64), 0.0, None)
    exact = (np.rint(recon).astype(np.int64) == np.asarray(calq, dtype=np.int64)).all(axis=1)
    return Candidate(
        name=name,
        family="autoencoder",
        description=description,
        recon=recon,
        bits_max=int(frame_bits),
        bits=None,
        lossless=exact,
        lossless_sel=None,
        truncated=None,
    )
