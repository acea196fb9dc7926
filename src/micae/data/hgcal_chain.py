"""The trigger-cell readout chain from deposited charge to ECON-T CALQ, as the chip's emulator does it.

Facts from the datapath doc (``shared/docs/econt-datapath.md``, parts A1 and A3):

* ADC LSB = 100 fC / 1024 and 3.43 fC per MIP (the emulator's value for every module), so
  1 MIP = 35.1 ADC counts; CALQ = ADC / cosh(eta), so 1 transverse MIP (MIP_T) = 35.1 CALQ counts.
* The HGCROC drops ``D`` low bits of the TC sum (D = 1 for LD modules, 3 for HD), truncating, and sends
  the 7-bit 4E3M code of the rest (:data:`micae.econt.codes.CELL_4E3M`, saturating at code 127).
* The ECON-T decodes it (float-to-fix, F2F): the lower bin edge, shifted left by D, plus half an LSB,
  ``2**(max(e - 1, 0) + D - 1)`` whenever ``max(e - 1, 0) + D > 0`` (the emulator's rule; CMSSW decodes to
  the lower edge, :func:`f2f_decode` with ``half_lsb=False``). So code 0 decodes to 1 (LD) or 4 (HD).
* Calibration: ``CALVALUE = round(2**11 / cosh eta)`` per channel, ``CALQ = floor(F2F * CALVALUE / 2**11)``.

Every function here is exact integer arithmetic on int64 arrays.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from micae.econt.codes import CELL_4E3M

FC_PER_MIP = 3.43
"""fC per MIP, the emulator's value for every module (CMSSW V10, 200 um)."""
ADC_LSB_FC = 100.0 / 1024.0
"""fC per ADC count of the linearised HGCROC charge."""
ADC_PER_MIP = FC_PER_MIP / ADC_LSB_FC
"""35.1 ADC counts per MIP: CALQ counts per transverse MIP after the 1/cosh(eta) calibration."""
DROP_BITS = {"LD": 1, "HD": 3}
"""Bits the HGCROC drops from the TC sum before the 4E3M code."""
CAL_FRAC_BITS = 11


def calvalue(eta: np.ndarray) -> np.ndarray:
    """The ECON-T calibration register per channel, ``round(2**11 / cosh eta)`` (2048 = unity)."""
    return np.rint(2.0**CAL_FRAC_BITS / np.cosh(np.asarray(eta, dtype=np.float64))).astype(np.int64)


def f2f_decode(codes: np.ndarray, drop_bits: np.ndarray | int, half_lsb: bool = True) -> np.ndarray:
    """ECON-T float-to-fix of 4E3M ``codes``: lower edge << D, plus half an LSB (emulator) unless ``half_lsb=False``."""
    c = np.asarray(codes, dtype=np.int64)
    d = np.asarray(drop_bits, dtype=np.int64)
    value = CELL_4E3M.decode(c) << d
    if not half_lsb:
        return value
    shift = np.maximum((c >> CELL_4E3M.mant_bits) - 1, 0) + d
    return value + np.where(shift > 0, np.left_shift(np.int64(1), np.maximum(shift - 1, 0)), 0)


def hgcroc_f2f(adc: np.ndarray, drop_bits: np.ndarray | int, half_lsb: bool = True) -> np.ndarray:
    """What the ECON-T's F2F gives back for integer TC sums ``adc``: drop D bits, 4E3M code, decode."""
    a = np.asarray(adc, dtype=np.int64)
    d = np.asarray(drop_bits, dtype=np.int64)
    return f2f_decode(CELL_4E3M.encode(a >> d), d, half_lsb)


_TABLE_SIZE = 1 << 16


@lru_cache(maxsize=4)
def _f2f_table(drop_bits: int, half_lsb: bool) -> np.ndarray:
    table = hgcroc_f2f(np.arange(_TABLE_SIZE), drop_bits, half_lsb)
    table.setflags(write=False)
    return table


def _f2f_fast(adc: np.ndarray, drop: np.ndarray, levels: np.ndarray, half_lsb: bool) -> np.ndarray:
    """:func:`hgcroc_f2f` by table lookup for sums below 2**16 (the bulk), directly above; ``levels``: drop values."""
    out = np.empty(adc.shape, dtype=np.int64)
    small = adc < _TABLE_SIZE
    for d in levels:
        sel = small & (drop == d)
        out[sel] = _f2f_table(int(d), half_lsb)[adc[sel]]
    big = ~small
    if big.any():
        out[big] = hgcroc_f2f(adc[big], drop[big], half_lsb)
    return out


def calq_from_adc(
    adc: np.ndarray, calval: np.ndarray, drop_bits: np.ndarray | int, half_lsb: bool = True
) -> np.ndarray:
    """CALQ of non-negative integer TC sums ``adc``: drop D bits, 4E3M, F2F decode, ``floor(F2F * CALVALUE / 2**11)``.

    ``calval`` and ``drop_bits`` broadcast against ``adc`` (e.g. ``(N, 48)`` or ``(N, 1)``).
    """
    drop = np.asarray(drop_bits, dtype=np.int64)
    a, c, d = np.broadcast_arrays(np.asarray(adc, dtype=np.int64), np.asarray(calval, dtype=np.int64), drop)
    if (a < 0).any():
        raise ValueError("calq_from_adc: TC sums must be >= 0")
    return (_f2f_fast(a, d, np.unique(drop), half_lsb) * c) >> CAL_FRAC_BITS
