"""Verification vectors of the ECON-T block: CALQ rows and bunch crossings, the edge cases first (issue 22).

Sources, in order (``slices`` names them): empty wafers; a sum at every msb 0..21 (one lit cell at 2^k and
random wafers with their sum in [2^k, 2^(k+1))); sums of exactly 2^k - 1 and 2^k (k = 1..22) spread over 1, 2
and many cells; single lit cells (every cell, values at the shift boundaries); CALQ at the 22-bit limit; rows of
a real file when given; random wafers over every scale (log-uniform, random occupancy) for the rest. Every row
gets a bunch crossing; the first rows of every source include BX 0 (BX_CNT 31), 15, 16 and 3563.
"""

from __future__ import annotations

import numpy as np

from micae.econt.block import N_CALQ
from micae.econt.normaliser import CALQ_BITS

MAX_CALQ = (1 << CALQ_BITS) - 1
ORBIT_BX = 3564
EDGE_BX = (0, 1, 15, 16, 17, ORBIT_BX - 1)
SINGLE_VALUES = (1, 2, 3, 127, 128, 129, 255, 256, 1000, 1 << 21, MAX_CALQ)


def _compose(total: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """One wafer whose CALQ sum is exactly ``total``, spread over ``cells`` random cells (each below 2^22)."""
    cells = max(cells, -(-total // MAX_CALQ))
    while True:
        row = np.zeros(N_CALQ, dtype=np.int64)
        where = rng.choice(N_CALQ, size=cells, replace=False)
        row[where] = rng.multinomial(total, rng.dirichlet(np.ones(cells)))
        if row.max() <= MAX_CALQ:
            return row


def _msb_rows(rng: np.random.Generator, per_msb: int) -> np.ndarray:
    rows = []
    for k in range(22):
        one = np.zeros(N_CALQ, dtype=np.int64)
        one[k % N_CALQ] = 1 << k
        rows.append(one)
        for _ in range(per_msb):
            rows.append(_compose(int(rng.integers(1 << k, 1 << (k + 1))), int(rng.integers(1, 49)), rng))
    return np.array(rows)


def _power_rows(rng: np.random.Generator) -> np.ndarray:
    rows = []
    for k in range(1, 23):
        for total in ((1 << k) - 1, 1 << k):
            for cells in (1, 2, 48):
                rows.append(_compose(total, min(cells, total), rng))
    return np.array(rows)


def _single_rows(rng: np.random.Generator) -> np.ndarray:
    rows = []
    for cell in range(N_CALQ):
        for v in (*SINGLE_VALUES, int(rng.integers(1, MAX_CALQ + 1))):
            row = np.zeros(N_CALQ, dtype=np.int64)
            row[cell] = v
            rows.append(row)
    return np.array(rows)


def _limit_rows(rng: np.random.Generator) -> np.ndarray:
    rows = [np.full(N_CALQ, MAX_CALQ), np.full(N_CALQ, MAX_CALQ - 1)]
    for n in (1, 2, 5, 24, 47):
        for _ in range(4):
            row = rng.integers(0, 1 << int(rng.integers(1, 23)), N_CALQ)
            row[rng.choice(N_CALQ, n, replace=False)] = MAX_CALQ
            rows.append(row)
    return np.array(rows, dtype=np.int64)


def random_rows(n: int, rng: np.random.Generator) -> np.ndarray:
    """Wafers over every scale: per row a log-uniform scale 2^0..2^22, a random occupancy, exponential cells."""
    scale = np.exp2(rng.uniform(0, CALQ_BITS, (n, 1)))
    lit = rng.random((n, N_CALQ)) < rng.uniform(0.02, 1.0, (n, 1))
    values = np.floor(rng.exponential(1.0, (n, N_CALQ)) * scale) * lit
    return np.minimum(values, MAX_CALQ).astype(np.int64)


def block_vectors(
    n: int, seed: int = 0, real: np.ndarray | None = None, *, per_msb: int = 8
) -> tuple[np.ndarray, np.ndarray, dict[str, slice]]:
    """``(calq (n, 48), bx (n,), slices)``: every edge source, then ``real`` rows (as many as fit), then random.

    ``n`` below the edge sources' size keeps the edge sources whole (they come first) and adds no more.
    """
    rng = np.random.default_rng(seed)
    parts = {
        "empty": np.zeros((len(EDGE_BX), N_CALQ), dtype=np.int64),
        "msb_0_21": _msb_rows(rng, per_msb),
        "sum_2k_minus_1_and_2k": _power_rows(rng),
        "single_cell": _single_rows(rng),
        "calq_22_bit_limit": _limit_rows(rng),
    }
    used = sum(len(p) for p in parts.values())
    if real is not None and n > used:
        parts["real"] = np.asarray(real, dtype=np.int64)[: n - used]
        used += len(parts["real"])
    if n > used:
        parts["random"] = random_rows(n - used, rng)
    slices, start = {}, 0
    for name, rows in parts.items():
        slices[name] = slice(start, start + len(rows))
        start += len(rows)
    calq = np.concatenate(list(parts.values()))
    bx = rng.integers(0, ORBIT_BX, len(calq))
    for s in slices.values():
        k = min(len(EDGE_BX), s.stop - s.start)
        bx[s.start : s.start + k] = EDGE_BX[:k]
    return calq, bx, slices
