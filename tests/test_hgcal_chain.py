"""The readout chain deposit -> ADC -> 4E3M -> F2F -> CALQ against the datapath doc's facts, integer for integer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from micae.data.hgcal_chain import ADC_PER_MIP, calq_from_adc, calvalue, f2f_decode, hgcroc_f2f
from micae.econt.codes import CELL_4E3M


def reference_calq(adc: int, eta: float, drop: int, half_lsb: bool = True) -> int:
    """One TC, written from the doc's text (A1, A3) with Python ints, independently of the vectorised code."""
    w = adc >> drop
    if w < 8:
        e, m = 0, w
    else:
        e = w.bit_length() - 3
        m = (w >> (e - 1)) & 7
        if e >= 16:
            e, m = 15, 7  # code 127
    value = m if e == 0 else (8 + m) << (e - 1)
    value <<= drop
    shift = max(e - 1, 0) + drop
    if half_lsb and shift > 0:
        value += 1 << (shift - 1)
    cal = round(2**11 / math.cosh(eta))
    return (value * cal) >> 11


def test_doc_facts():
    assert pytest.approx(35.1, abs=0.05) == ADC_PER_MIP  # A3: 1 MIP_T ~ 35.1 CALQ counts
    assert f2f_decode(np.array([127]), 1)[0] == 507_904 and f2f_decode(np.array([127]), 3)[0] == 2_031_616
    assert f2f_decode(np.array([0]), 1)[0] == 1 and f2f_decode(np.array([0]), 3)[0] == 4  # the code-0 quirk
    # code 8 = exponent 1, mantissa 0: 8 << D plus half an LSB 2**(0 + D - 1)
    assert f2f_decode(np.array([8]), 1)[0] == 17 and f2f_decode(np.array([8]), 3)[0] == 68
    assert calvalue(np.array([0.0]))[0] == 2048 and calvalue(np.array([1.5]))[0] == 871
    # HD at eta < 2.06: an empty TC gives CALQ 1 (CALVALUE >= 512); at 2.1 it gives 0
    assert calq_from_adc(np.array([0]), calvalue(np.array([2.0])), 3)[0] == 1
    assert calq_from_adc(np.array([0]), calvalue(np.array([2.1])), 3)[0] == 0


@pytest.mark.parametrize("drop", [1, 3])
def test_f2f_lies_in_its_bin_and_round_trips(drop):
    codes = np.arange(128)
    value = f2f_decode(codes, drop)
    np.testing.assert_array_equal(CELL_4E3M.encode(value >> drop), codes)
    lower = f2f_decode(codes, drop, half_lsb=False)
    np.testing.assert_array_equal(lower, CELL_4E3M.decode(codes) << drop)
    assert ((value - lower)[1:] > 0).all()  # every code above 0 gets its half LSB


@pytest.mark.parametrize("drop", [1, 3])
def test_calq_matches_the_scalar_reference(drop):
    rng = np.random.default_rng(drop)
    adc = np.concatenate([np.arange(300), rng.integers(0, 1 << 22, 3000), [1 << 16, (1 << 16) - 1, (1 << 19) + 5]])
    eta = rng.uniform(1.5, 3.0, len(adc))
    got = calq_from_adc(adc, calvalue(eta), drop)
    want = [reference_calq(int(a), float(e), drop) for a, e in zip(adc, eta)]
    np.testing.assert_array_equal(got, np.array(want, dtype=np.int64))
    got_cmssw = calq_from_adc(adc, calvalue(eta), drop, half_lsb=False)
    want_cmssw = [reference_calq(int(a), float(e), drop, half_lsb=False) for a, e in zip(adc, eta)]
    np.testing.assert_array_equal(got_cmssw, np.array(want_cmssw, dtype=np.int64))


def test_saturation_and_broadcast():
    big = np.array([(1 << 19) - 1, 1 << 19, 1 << 21])  # LD: w = 2**18 - 1 and above saturate to code 127
    np.testing.assert_array_equal(hgcroc_f2f(big[1:], 1), [507_904, 507_904])
    adc = np.arange(96).reshape(2, 48)
    out = calq_from_adc(adc, calvalue(np.full((2, 48), 2.0)), np.array([[1], [3]]))
    assert out.shape == (2, 48)
    np.testing.assert_array_equal(out[1], [reference_calq(int(a), 2.0, 3) for a in adc[1]])
    with pytest.raises(ValueError):
        calq_from_adc(np.array([-1]), 2048, 1)
