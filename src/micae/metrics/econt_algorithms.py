"""The ECON-T non-ML algorithms, at a given output bit budget, as baselines for the encoder.

All three see what the encoder sees: each wafer's 48 ``sumlog2``-normalised charges as
unsigned integer codes of the encoder's input quantizer (default 8 bits, 7 fractional:
code = round(value * 128), saturating at 255). Each sends at most ``budget_bits`` per
wafer (default: the encoder's 16 latents x 9 bits = 144) and is reconstructed into the
48 cells; cells not sent are 0.

* **Best Choice (BC)**: the N largest cells, each as a 6-bit address + an energy code;
  N = floor(budget / (6 + energy bits)). Ties go to the lower TC index.
* **Threshold**: the cells whose input code is at least ``threshold``, largest first,
  each as 6-bit address + energy, behind a count field (the number sent varies, so the
  receiver needs it); when more pass than fit, the smallest are dropped.
* **Super Trigger Cells (STC)**: the 12 groups of 2x2 cells (:func:`stc_groups`); per
  group the sum of its 4 input codes and the 2-bit position of its largest cell (ties:
  lowest TC index). The reconstruction puts the sum in that cell. Sums are sent as the
  chip does, in 9-bit 5E4M (12 x (9 + 2) = 132 bits), or in a narrower linear code when
  the budget is smaller.

Energy codes (:class:`EnergyCode`): ``linear`` (an unsigned integer of the input code,
optionally with ``shift`` low bits dropped, rounded half up and saturating) or ``float``
(``E`` exponent and ``M`` mantissa bits in the style of the chip's 4E3M: exponent 0 holds
the value itself below 2**M, exponent e >= 1 holds (2**M + mantissa) << (e - 1); rounded
to nearest, half up, and saturating). The defaults are the chip's formats (4E3M cells,
5E4M sums); see the comment at :data:`CHIP_CELL_ENERGY` for what other codes measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np

from micae.data.geometry import N_TC, tc_coordinates
from micae.errors import ConfigError, DataError

ADDRESS_BITS = 6  # 48 cells: 6-bit address
POSITION_BITS = 2  # position of the largest cell inside a 2x2 STC group
N_QUADRANTS = 3


@dataclass(frozen=True)
class EnergyCode:
    """How one transmitted energy is coded: ``kind`` "linear" (``bits``, ``shift``) or "float" (``exp``, ``mant``)."""

    kind: str
    bits: int = 0
    shift: int = 0
    exp: int = 0
    mant: int = 0

    @property
    def width(self) -> int:
        return self.bits if self.kind == "linear" else self.exp + self.mant

    def describe(self) -> str:
        if self.kind == "linear":
            return f"{self.bits}-bit linear" + (f" (input code >> {self.shift})" if self.shift else "")
        return f"{self.width}-bit float {self.exp}E{self.mant}M"

    def max_value(self) -> int:
        if self.kind == "linear":
            return ((1 << self.bits) - 1) << self.shift
        return ((1 << (self.mant + 1)) - 1) << ((1 << self.exp) - 2)

    def roundtrip(self, n: np.ndarray) -> np.ndarray:
        """The integer the receiver decodes for input codes ``n`` (>= 0)."""
        n = np.asarray(n, dtype=np.int64)
        if self.kind == "linear":
            step = 1 << self.shift
            return np.minimum((n + step // 2) >> self.shift, (1 << self.bits) - 1) << self.shift
        if self.kind != "float":
            raise ConfigError(f"energy code kind {self.kind!r} is unknown", "use 'linear' or 'float'")
        m = self.mant
        # exponent e >= 1 covers [2**(m+e-1), 2**(m+e)) with step 2**(e-1)
        e = np.where(n < (1 << m), 0, np.floor(np.log2(np.maximum(n, 1))).astype(np.int64) - m + 1)
        step_log = np.maximum(e - 1, 0)
        rounded = ((n + ((1 << step_log) >> 1)) >> step_log) << step_log
        return np.minimum(rounded, self.max_value())


def linear_code_for(max_value: int, bits: int) -> EnergyCode:
    """A linear code of ``bits`` bits for values up to ``max_value``: exact if it fits, else low bits dropped."""
    shift = max(int(max_value).bit_length() - bits, 0)
    return EnergyCode("linear", bits=bits, shift=shift)


# Energies as the chip transmits them: BC and threshold cells in 7-bit 4E3M floats (11 cells of
# 6 + 7 bits in 144), STC sums in 9-bit 5E4M floats (12 x (9 + 2) = 132 of 144 bits). Measured on 3000
# synthetic test wafers (EMD mean, 144 bits): BC 4E3M x 11 cells 0.685, 3E4M x 11 0.685, 3E3M x 12 0.561,
# 3E2M x 13 0.458, 3E1M x 14 0.395 (fewer, coarser energies win on these showers); STC 0.556.
CHIP_CELL_ENERGY = EnergyCode("float", exp=4, mant=3)
CHIP_STC_SUM = EnergyCode("float", exp=5, mant=4)
DEFAULT_BC_ENERGY = CHIP_CELL_ENERGY
# Threshold in input codes: 1 = every cell that is non-zero after the input quantizer. Charges here are
# normalised per wafer, so a fixed ADC noise cut has no single value; higher thresholds only remove cells
# (EMD mean 0.819 / 0.825 / 0.861 for thresholds 1 / 2 / 4 with 7-bit energies).
DEFAULT_THRESHOLD = 1


def input_codes(tc: np.ndarray, bits: int = 8, frac: int = 7) -> np.ndarray:
    """``(N, 48)`` normalised charges -> unsigned input codes, round half to even, saturating (as QKeras)."""
    tc = np.asarray(tc, dtype=np.float64)
    if tc.ndim != 2 or tc.shape[1] != N_TC:
        raise DataError(f"ECON-T algorithms: expected (N, 48) trigger cells, got {tc.shape}", "pass one row per wafer")
    return np.clip(np.round(tc * (1 << frac)), 0, (1 << bits) - 1).astype(np.int64)


def _largest_first(codes: np.ndarray) -> np.ndarray:
    """Per wafer, TC indices ordered by decreasing code (ties: lower index first)."""
    return np.argsort(-codes, axis=1, kind="stable")


def best_choice(codes: np.ndarray, n_cells: int, energy: EnergyCode) -> tuple[np.ndarray, np.ndarray]:
    """Keep the ``n_cells`` largest cells; returns (reconstructed codes (N, 48), addresses (N, n_cells))."""
    addr = _largest_first(codes)[:, :n_cells]
    out = np.zeros_like(codes)
    rows = np.arange(len(codes))[:, None]
    out[rows, addr] = energy.roundtrip(codes[rows, addr])
    return out, addr


def threshold_select(
    codes: np.ndarray, threshold: int, max_cells: int, energy: EnergyCode
) -> tuple[np.ndarray, np.ndarray]:
    """Cells with code >= ``threshold``, at most ``max_cells`` (the smallest dropped); returns (codes, cells sent)."""
    order = _largest_first(codes)
    rows = np.arange(len(codes))[:, None]
    passing = codes[rows, order] >= threshold
    keep = passing & (np.arange(N_TC)[None, :] < max_cells)
    out = np.zeros_like(codes)
    kept_vals = np.where(keep, energy.roundtrip(codes[rows, order]), 0)
    out[rows, order] = kept_vals
    return out, keep.sum(axis=1)


@lru_cache(maxsize=1)
def stc_groups() -> np.ndarray:
    """``(12, 4)`` TC indices of the 2x2 super-trigger-cell groups, each row ordered by TC index.

    Derived from the TC centres of the geometry file: the 16 cells of each quadrant (TCs 16q..16q+15)
    sit on a rhombic lattice. Of the three nearest-neighbour directions of the hexagonal grid, the pair
    in which the quadrant's cells have integer coordinates filling a 4x4 box is the lattice basis; the
    groups are the cells with the same (row // 2, column // 2) in that box.
    """
    coords = tc_coordinates("cm")
    groups = []
    for q in range(N_QUADRANTS):
        cells = np.arange(16 * q, 16 * (q + 1))
        groups.extend(_quadrant_groups(cells, coords[cells]))
    out = np.array(sorted(groups), dtype=np.int64)
    if out.shape != (12, 4) or not np.array_equal(np.sort(out.ravel()), np.arange(N_TC)):
        raise DataError("the geometry file's quadrants do not split into 12 2x2 groups", "reinstall micae")
    out.setflags(write=False)
    return out


def _quadrant_groups(cells: np.ndarray, pos: np.ndarray) -> list[list[int]]:
    diff = (pos[:, None, :] - pos[None, :, :]).reshape(-1, 2)
    length = np.hypot(diff[:, 0], diff[:, 1])
    pitch = length[length > 1e-6].min()
    near = diff[np.abs(length - pitch) < 1e-3 * pitch]
    directions: list[np.ndarray] = []
    for d in near:  # one representative per line through the origin
        if not any(abs(d[0] * u[1] - d[1] * u[0]) < 1e-3 * pitch**2 for u in directions):
            directions.append(d)
    for a, b in combinations(directions, 2):
        ij = np.linalg.solve(np.stack([a, b], axis=1), (pos - pos[0]).T).T
        if not np.allclose(ij, np.round(ij), atol=1e-3):
            continue
        ij = np.round(ij).astype(np.int64)
        ij -= ij.min(axis=0)
        if ij.max(axis=0).tolist() == [3, 3] and len({tuple(v) for v in ij}) == 16:
            key = ij[:, 0] // 2 * 2 + ij[:, 1] // 2
            return [sorted(int(c) for c in cells[key == k]) for k in range(4)]
    raise DataError(f"TCs {cells[0]}..{cells[-1]} do not form a 4x4 lattice", "reinstall micae")


def super_trigger_cells(codes: np.ndarray, sum_code: EnergyCode) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """STC: returns (reconstructed codes (N, 48), group sums (N, 12), 2-bit positions (N, 12))."""
    groups = stc_groups()
    member = codes[:, groups]  # (N, 12, 4)
    sums = member.sum(axis=2)
    pos = np.argmax(member, axis=2)  # first maximum = lowest TC index
    out = np.zeros_like(codes)
    rows = np.arange(len(codes))[:, None]
    out[rows, groups[np.arange(len(groups))[None, :], pos]] = sum_code.roundtrip(sums)
    return out, sums, pos
