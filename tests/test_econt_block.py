"""The ECON-T autoencoder block's Python reference against values worked by hand from the datapath doc (B1, B2, B4,
C0). Every expected value below is written out, not computed by the code under test."""

from __future__ import annotations

import numpy as np
import pytest

from micae.econt.block import (
    FrameLayout,
    bx_counter,
    check_calq,
    cut_latents,
    frame_fields,
    run_block,
    unpack_fields,
)
from micae.econt.codes import SUM_5E4M
from micae.errors import ConfigError, DataError

MAX_CALQ = (1 << 22) - 1


def _wafer(**cells: int) -> np.ndarray:
    row = np.zeros((1, 48), dtype=np.int64)
    for name, v in cells.items():
        row[0, int(name[1:])] = v
    return row


def _zero_encoder(raw: np.ndarray) -> np.ndarray:
    return np.zeros((len(raw), 16), dtype=np.int64)


@pytest.mark.parametrize(
    ("total", "code"),
    [
        (0, 0),
        (1, 1),
        (15, 15),  # below 16: exact
        (16, 0b00001_0000),  # msb 4: exponent 1, mantissa 16 / 2^0 mod 16 = 0
        (31, 0b00001_1111),
        (32, 0b00010_0000),  # msb 5: exponent 2, mantissa 32 / 2 mod 16 = 0
        (33, 0b00010_0000),  # truncated, not rounded
        (1000, 0b00110_1111),  # msb 9: exponent 6, mantissa floor(1000 / 32) = 31 mod 16 = 15
        (MAX_CALQ, 0b10010_1111),  # msb 21: exponent 18 (the doc's largest), mantissa 15
        (1 << 21, 0b10010_0000),
    ],
)
def test_5e4m_hand_values(total: int, code: int) -> None:
    assert int(SUM_5E4M.encode(np.array([total]))[0]) == code
    out = run_block(_wafer(c7=total), [5], _zero_encoder, 2)
    assert int(out.sum_code[0]) == code


@pytest.mark.parametrize("k", range(22))
def test_msb_and_raw_at_every_power_of_two(k: int) -> None:
    # one cell at 2^k: sum 2^k, msb k, and that cell maps to exactly 1.0 (raw 128)
    out = run_block(_wafer(c3=1 << k), [1], _zero_encoder, 3)
    assert int(out.msb[0]) == k
    assert out.raw[0, 3] == 128 and out.raw[0].sum() == 128


@pytest.mark.parametrize("k", range(1, 23))
def test_sum_two_to_k_minus_one_truncates(k: int) -> None:
    # cells 2^(k-1) and 2^(k-1) - 1: sum 2^k - 1, msb k - 1; the small cell truncates to 128 - 2^(8-k), k > 8: 127
    out = run_block(_wafer(c0=1 << (k - 1), c47=(1 << (k - 1)) - 1), [1], _zero_encoder, 2)
    assert int(out.module_sum[0]) == (1 << k) - 1 and int(out.msb[0]) == k - 1
    assert out.raw[0, 0] == 128
    assert out.raw[0, 47] == (128 - (1 << (8 - k)) if k <= 8 else 127)


@pytest.mark.parametrize(("value", "raw"), [(1, 128), (5, 160), (7, 224), (255, 255), (1000, 250), (MAX_CALQ, 255)])
def test_single_lit_cell(value: int, raw: int) -> None:
    out = run_block(_wafer(c20=value), [2], _zero_encoder, 4)
    assert out.raw[0, 20] == raw and np.count_nonzero(out.raw) == 1


def test_every_cell_at_the_22_bit_limit() -> None:
    # sum 48 (2^22 - 1) = 24 * 2^23 - 48: msb 27, the right shift caps at 14, raw = (2^22 - 1) >> 14 = 255;
    # 5E4M exponent 27 - 3 = 24, mantissa floor(sum / 2^23) mod 16 = 23 mod 16 = 7
    out = run_block(np.full((1, 48), MAX_CALQ), [9], _zero_encoder, 5)
    assert int(out.module_sum[0]) == 48 * MAX_CALQ and int(out.msb[0]) == 27
    assert (out.raw == 255).all()
    assert int(out.sum_code[0]) == 24 * 16 + 7


def test_empty_wafer() -> None:
    out = run_block(np.zeros((1, 48)), [0], _zero_encoder, 2)
    assert int(out.module_sum[0]) == 0 and int(out.msb[0]) == 0 and int(out.sum_code[0]) == 0
    assert not out.raw.any()
    # BX 0: the orbit marker 31, then 16 zero bits of sum and spare, then zero latents
    assert out.words.tolist() == [[0b11111 << 27, 0]]


def test_bx_counter() -> None:
    assert bx_counter(np.array([0, 1, 15, 16, 17, 3563])).tolist() == [31, 1, 15, 0, 1, 3563 % 16]
    with pytest.raises(DataError, match="bunch crossings"):
        bx_counter(np.array([4096]))


def test_latent_cut_keeps_top_bits() -> None:
    codes = np.array([0, 0b111111111, 0b101000000, 0b011111111])
    assert cut_latents(codes, 9, 3).tolist() == [0, 0b111, 0b101, 0b011]
    assert cut_latents(codes, 9, 9).tolist() == codes.tolist()  # already B bits: passed through
    assert cut_latents(np.array([0b101]), 3, 5).tolist() == [0b10100]  # narrower: 1.0 stays the top bit


def test_hand_packed_frame_at_two_elinks() -> None:
    # one cell of 1000: 5E4M 0b001101111; latents 32 j + 5: top 3 bits j // 2; BX 0 -> 31
    def encoder(raw: np.ndarray) -> np.ndarray:
        assert raw[0, 0] == 250  # floor(1000 / 4)
        return np.tile(32 * np.arange(16) + 5, (len(raw), 1))

    out = run_block(_wafer(c0=1000), [0], encoder, 2)
    bits = "11111" + "001101111" + "00" + "111111110110101101100100011011010010001001000000"
    assert len(bits) == 64
    assert out.words.tolist() == [[int(bits[:32], 2), int(bits[32:], 2)]]
    assert out.words.dtype == np.uint32


def test_hand_packed_frame_at_five_elinks() -> None:
    # every cell at 2^22 - 1: 5E4M 0b110000111 (391); latents 31 j as 9 bits; BX 17 -> 1
    latents = 31 * np.arange(16)
    out = run_block(np.full((1, 48), MAX_CALQ), [17], lambda raw: np.tile(latents, (len(raw), 1)), 5)
    outs = "".join(format(31 * j, "09b") for j in reversed(range(16)))
    bits = "00001" + "110000111" + "00" + outs
    assert len(bits) == 160
    assert out.words.tolist() == [[int(bits[i : i + 32], 2) for i in range(0, 160, 32)]]
    fields = {f.name: f.value for f in frame_fields(out.words[0], 5)}
    assert fields["BX_CNT"] == 1 and fields["SUM"] == 391 and fields["spare"] == 0
    assert [fields[f"OUT_{j}"] for j in range(16)] == latents.tolist()


@pytest.mark.parametrize("elinks", [1, 2, 3, 4, 5, 6, 13])
def test_unpack_inverts_pack(elinks: int) -> None:
    rng = np.random.default_rng(elinks)
    calq = rng.integers(0, 1 << 12, size=(200, 48))
    lat = rng.integers(0, 512, size=(200, 16))
    out = run_block(calq, rng.integers(0, 3564, 200), lambda raw: lat, elinks)
    layout = FrameLayout.of(elinks)
    assert out.words.shape == (200, elinks)
    f = unpack_fields(out.words, layout)
    assert (f["BX_CNT"] == out.bx_cnt).all() and (f["SUM"] == out.sum_code).all()
    assert all((f[f"OUT_{j}"] == lat[:, j] >> (9 - layout.latent_bits)).all() for j in range(16))
    assert (f["spare"] == 0).all() and (f.get("pad", np.zeros(1)) == 0).all()


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(DataError, match="22-bit"):
        check_calq(np.full((1, 48), 1 << 22))
    with pytest.raises(DataError, match=r"\(N, 48\)"):
        check_calq(np.zeros((2, 47)))
    with pytest.raises(ConfigError, match="bunch crossings for"):
        run_block(np.zeros((2, 48)), [0], _zero_encoder, 2)
    with pytest.raises(ConfigError, match="e-links"):
        run_block(np.zeros((1, 48)), [0], _zero_encoder, 14)


def test_block_option_needs_the_rtl_route_and_an_elink_count(tmp_path) -> None:
    from types import SimpleNamespace

    from micae.config.synth import SynthOptions
    from micae.flow.steps.econt_block import _elinks

    with pytest.raises(ConfigError, match="rtl is 'off'"):
        SynthOptions(block="econt", rtl="off").check()
    SynthOptions(block="econt").check()
    with pytest.raises(ValueError, match="between 1 and 13"):
        SynthOptions(block="econt", elinks=14)
    ctx = SimpleNamespace(request=SimpleNamespace(elinks=None), run_dir=tmp_path)
    with pytest.raises(ConfigError, match="--elinks L"):
        _elinks(ctx)
    (tmp_path / "config.yaml").write_text("econt:\n  elinks: 4\n")
    assert _elinks(ctx) == (4, "econt.elinks of the run's config.yaml")
    ctx.request.elinks = 2
    assert _elinks(ctx) == (2, "--elinks")


def test_report_section_shows_the_cost_beside_the_encoder_and_the_frame_fields() -> None:
    from pathlib import Path

    from micae.report.render import render_markdown
    from micae.report.view import build_view
    from micae.results.econt_block import EcontBlockSection, FrameExample, FrameField
    from micae.results.hardware import Resources
    from micae.results.levels import LevelResult
    from micae.results.report import load_report

    report = load_report(Path(__file__).parent / "fixtures" / "results-v0" / "report_pnr.json")
    out = run_block(_wafer(c0=1000), [0], lambda raw: np.tile(32 * np.arange(16) + 5, (len(raw), 1)), 2)
    fields = [FrameField(name=f.name, value=f.value, width=f.width) for f in frame_fields(out.words[0], 2)]
    example = FrameExample(
        row=0,
        source="real",
        bx=0,
        calq=_wafer(c0=1000)[0].tolist(),
        module_sum=1000,
        msb=9,
        raw=out.raw[0].tolist(),
        latents=out.latents[0].tolist(),
        fields=fields,
        words=out.words[0].tolist(),
    )
    enc_lut = report.resources.LUT
    section = EcontBlockSection(
        folder="econt_block",
        top="econt_block",
        harness="econt_block_sim",
        elinks=2,
        elinks_from="--elinks",
        latent_bits=3,
        layout="4x4x3",
        layout_from="test",
        latency_cycles=9,
        encoder_latency_cycles=3,
        clock_ns=5.0,
        vectors=10,
        sources={"real": 10},
        resources=Resources(LUT=enc_lut + 6000, FF=10, CARRY=1),
        example=example,
    )
    levels = {
        "block_csim": LevelResult(level="block_csim", vectors=1000, mismatches=0),
        "block_vendor_csim": LevelResult.skipped("block_vendor_csim", "no vitis_hls/vitis-run/vivado_hls on PATH"),
    }
    update = {"econt_block": section, "verification": {**report.verification, **levels}}
    text = render_markdown(build_view(report.model_copy(update=update), None, {}, Path(".")))
    block = text[text.index("## ECON-T block") :]
    assert "| block_csim | the block's HLS C++ (g++ with hls4ml's ap_types): L words" in block
    assert "| 0 mismatches / 1,000 vectors |" in block
    assert (
        "| block_vendor_csim | vendor C simulation of the HLS block (its shipped text vectors) | skipped: no " in block
    )
    assert "HLS C++ (a top vendor HLS synthesizes, II = 1, around the hls4ml encoder)" in block
    assert "| normaliser + output stage (difference) | 6,000 |" in block
    assert "e-link 0: 0xf9bcff6b  e-link 1: 0x646d2240" in block  # the hand-packed frame of the L = 2 test
    assert "| SUM | 9 | 111 | 001101111 |" in block


def _qonnx_encoder_file(tmp_path, shape):
    """A QONNX Quant -> Flatten -> MatMul -> Quant encoder of input ``shape`` (C, H, W): no TensorFlow needed."""
    import onnx
    from tests.qonnx_models import GraphBuilder

    g = GraphBuilder(shape)
    g.quant(8, 7)
    g.node("Flatten", axis=1)
    g.node("MatMul", g.quantized_const(np.ones((int(np.prod(shape)), 16)) / 8, 6, 5))
    g.quant(9, 8, signed=False)
    path = tmp_path / "enc.onnx"
    onnx.save(g.model((16,)), str(path))
    return path


@pytest.mark.parametrize(
    "shape, elinks, error, words",
    [
        ((3, 5, 5), 3, "ConstraintError", "inputs of shape (5, 5, 3), not one of the chip's 48-cell layouts"),
        ((3, 4, 4), None, "ConfigError", "needs the number of output e-links"),
    ],
)
def test_a_block_the_encoder_cannot_take_is_refused_before_any_tool_runs(tmp_path, shape, elinks, error, words):
    from micae.errors import MicaeError
    from micae.synthesize import SynthRequest, synthesize

    request = SynthRequest(
        model=_qonnx_encoder_file(tmp_path, shape),
        block="econt",
        elinks=elinks,
        vendor="off",
        hls_root=tmp_path / "hls",
        firmware_root=tmp_path / "fw",
    )
    with pytest.raises(MicaeError) as caught:
        synthesize(request)
    assert type(caught.value).__name__ == error and words in caught.value.one_line()
    assert not [p for p in (tmp_path / "hls").rglob("*") if p.is_file()]  # no hls4ml project was written
    assert not [p for p in (tmp_path / "fw").rglob("*.v")]  # nor any RTL
