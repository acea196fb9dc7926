"""The literature's forms of the non-ML algorithms (datapath doc D2), labelled as such: not what the chip sends.

The published autoencoder comparisons (``kakwok/Ecoder train.py:386-398, 874-892, 1117``; fastml-science
``sensor-data-compression/train.py``) ran the baselines on full-precision charges, in CALQ column (CMSSW
``TC_Number``) order, with no frame and no codes:

* ``lit_bc``: the n largest cells with their exact CALQ, n = 4 / 6 / 9 / 14 at L = 2 / 3 / 4 / 5 (Ecoder's
  ``nBC``; no entry at other L). Ecoder keeps the last n of ``np.argsort`` (no defined order among equal
  values); micae sorts stably, so among equal values the higher ``TC_Number`` is kept.
* ``lit_stc16``: STC16 on every module, all 3 groups of 16 (CALQ columns 16k..16k+15: the same cells as the
  chip's STC16 groups), the exact group sum on the largest cell; ties go to the lowest column (``np.argmax``),
  not the chip's highest index.
* ``lit_thr_1p35`` / ``lit_thr_2p0``: the cells above 1.35 / 2.0 MIP_T with their exact CALQ, Ecoder's strict
  ``CALQ / 35 > threshold`` (35 counts per MIP_T): CALQ >= 48 and CALQ >= 71, one count above the chip's
  THRESHV registers 47 and 70 (which cut with >=). No frame limit, no buffer.

``bits`` of a literature form is nominal: the chip frame that would carry the same cells (Best Choice frame of
n cells, the 43-bit STC16_9 frame, the Threshold-Sum frame of those cells), although no chip frame carries
unquantised values. Every lossless wafer is exact (nothing is quantised), so ``lossless == lossless_sel``.
"""

from __future__ import annotations

import numpy as np

MIP_T_COUNTS = 35.0
LITERATURE_THRESHOLDS = {"lit_thr_1p35": 1.35, "lit_thr_2p0": 2.0}


def top_cells(calq: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the n largest cells (stable sort: among equal values the higher column is kept) -> (recon, sel)."""
    keep_cols = np.argsort(calq, axis=1, kind="stable")[:, -n:]
    rows = np.arange(len(calq))[:, None]
    recon = np.zeros_like(calq)
    recon[rows, keep_cols] = calq[rows, keep_cols]
    return recon, (recon == calq).all(axis=1)


def stc16_all_groups(calq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Three groups of 16 columns, exact sums on the first largest cell -> (recon, sel)."""
    n = len(calq)
    groups = calq.reshape(n, 3, 16)
    position = np.argmax(groups, axis=2)
    recon = np.zeros_like(groups)
    recon[np.arange(n)[:, None], np.arange(3)[None, :], position] = groups.sum(axis=2)
    sel = ((groups > 0).sum(axis=2) <= 1).all(axis=1)
    return recon.reshape(n, 48), sel


def above_threshold(calq: np.ndarray, mip_t: float, counts_per_mip_t: float = MIP_T_COUNTS) -> np.ndarray:
    """Ecoder's cut ``CALQ / counts_per_mip_t > mip_t`` as a boolean mask."""
    return calq / counts_per_mip_t > mip_t
