"""HGQ front end: tiny HGQ encoders (per-weight and per-element bit widths set at random, tests/hgq_models.py) read
into the integer model and compared as integers with HGQ's own predict; the RTL too; what cannot be exact is refused
with a one-line message naming the layer."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("HGQ")

from tests import hgq_models as hm  # noqa: E402

from micae.errors import ConstraintError  # noqa: E402

N = 2000


@pytest.fixture(scope="module")
def saved(tmp_path_factory, tf):
    """The default HGQ encoder saved with model.save (.h5), and micae's load of it."""
    from micae.models.io import load_model

    path = tmp_path_factory.mktemp("hgq") / "hgq_enc.h5"
    hm.encoder(seed=3).save(str(path))
    return path, load_model(path)


def _read(model, **kw):
    from micae.graph.hgq_front import read_hgq

    return read_hgq(model, "hgq_enc", input_int_bits=kw.pop("input_int_bits", hm.INPUT_INT_BITS), **kw)


def _check_against_hgq(model, n_out: int = 16) -> None:
    from micae.verify.vectors import build_vector_set

    encoder, problems, _ = _read(model)
    assert problems == []
    codes, _ = build_vector_set(encoder, N, seed=0)
    x = encoder.input_type.to_float(codes).reshape(-1, *encoder.input_shape)
    expected = encoder.latent_type.to_int(model.predict(x, batch_size=N, verbose=0))  # raises if off the grid
    got = encoder.latents(codes)
    assert got.shape == expected.shape == (N, n_out)
    assert np.array_equal(got, expected)
    assert len(np.unique(got, axis=0)) > N // 2  # the vectors exercise the encoder, not a constant output
    for stage, in_t, acc in zip(encoder.stages, encoder.stage_input_types(), encoder.accumulators(codes)):
        shift = stage.acc_frac(in_t) - stage.out.frac
        if shift > 0:  # HGQ's half-up rounding is hit at its exact ties (accumulators on the floor's boundary)
            assert np.count_nonzero((acc % (1 << shift) == 0).any(axis=1)) > 10, stage.name


def test_saved_model_equals_hgq_predict(saved):
    _check_against_hgq(saved[1])


@pytest.mark.parametrize(
    "kw", [{"floor": True}, {"hetero_input": False, "relu": False}], ids=["floor", "uniform_input_no_relu"]
)
def test_variants_equal_hgq_predict(tf, kw):
    _check_against_hgq(hm.encoder(seed=4, **kw))


def test_folded_batch_norm_and_activation_layer_equal_hgq_predict(tf):
    model = hm.dense_encoder(seed=2)
    encoder = _read(model).encoder
    assert [role for _, _, role in encoder.layers[1:]] == [
        "input rounded per element",
        "dense",
        "requantize per element",
        "dense",
        "latent codes onto one grid (wiring)",
    ]
    _check_against_hgq(model, n_out=4)


def test_per_weight_and_per_element_bits_are_read(saved):
    encoder = _read(saved[1]).encoder
    model = saved[1]
    conv_bits = np.round(model.get_layer("conv").kq.fbw.numpy())
    assert len(np.unique(conv_bits)) == 5  # the fixture's weights really have 5 different widths
    roles = [(cls, role) for _, cls, role in encoder.layers]
    assert roles[1:] == [
        ("HQuantize", "input rounded per element"),
        ("HConv2D", "conv2d + relu"),
        ("PFlatten", "reshape"),
        ("HDense", "dense"),
        ("HGQ grid", "latent codes onto one grid (wiring)"),
    ]
    inq, conv, dense, grid = encoder.stages
    in_bits = np.round(model.get_layer("inq").paq.fbw.numpy()).astype(int).reshape(-1)
    assert encoder.input_type.frac == in_bits.max() and encoder.input_type.width == hm.INPUT_INT_BITS + in_bits.max()
    assert not conv.out.signed and dense.out.signed  # relu: the saturation into an unsigned type
    assert np.array_equal(grid.matrix, np.diag(np.diag(grid.matrix))) and set(np.diag(grid.matrix)) > {1}
    # an input element with fewer fractional bits reads a code on its own coarser grid: HGQ's own rounding
    one = np.zeros((1, 48), dtype=np.int64)
    coarse = int(np.argmin(in_bits))
    one[0, coarse] = 1  # the finest LSB: below half of this element's LSB, so HGQ rounds it to 0
    assert inq.requantize(inq.accumulate(one, encoder.input_type), encoder.input_type)[0, coarse] == 0


def _refused(model, **kw) -> str:
    with pytest.raises(ConstraintError) as err:
        _read(model, **kw)
    text = err.value.one_line()
    assert "\n" not in text and "(fix: " in text
    return text


def test_refuses_without_the_input_range(saved):
    text = _refused(saved[1], input_int_bits=None)
    assert "'inq' (HQuantize, an HGQ layer)" in text and "never saturates" in text and "--input-int-bits" in text


def test_refuses_what_cannot_be_exact(tf):
    from HGQ import HDense, HQuantize
    from HGQ.layers import HActivation, PMaxPool2D

    x_in = tf.keras.Input((4,))
    x = HDense(3, beta=0.0, name="d")(HQuantize(beta=0.0, name="q")(x_in))
    text = _refused(tf.keras.Model(x_in, HActivation("tanh", beta=0.0, name="act")(x)))
    assert "layer 'act' (HActivation, an HGQ layer): activation 'tanh'" in text
    x_in = tf.keras.Input((4, 4, 1))
    text = _refused(tf.keras.Model(x_in, PMaxPool2D(name="pool")(HQuantize(beta=0.0, name="q")(x_in))))
    assert "layer 'pool' (PMaxPooling2D, an HGQ layer) is not read in an HGQ encoder" in text


def test_keras_archives_are_refused_with_the_fix(tmp_path, tf):
    from micae.errors import ConfigError
    from micae.models.io import load_model

    path = tmp_path / "hgq_enc.keras"
    hm.encoder(seed=3).save(str(path))
    with pytest.raises(ConfigError) as err:
        load_model(path)
    assert "HGQ 0.2.6 cannot load back" in err.value.one_line() and "encoder.h5" in err.value.one_line()


def test_float32_sums_too_wide_for_hgq_are_problems(tf):
    from HGQ import HDense, HQuantize

    x_in = tf.keras.Input((64,))
    model = tf.keras.Model(x_in, HDense(2, beta=0.0, name="wide")(HQuantize(beta=0.0, name="q")(x_in)))
    model.get_layer("wide").kq.fbw.assign(np.full((64, 2), 12.0, np.float32))
    model.get_layer("q").paq.fbw.assign(np.full((1, 64), 12.0, np.float32))
    problems = _read(model, input_int_bits=4).problems
    assert len(problems) == 1 and problems[0].startswith("layer 'wide': HGQ sums in float32")


@pytest.mark.slow
def test_hgq_synth_rtl_matches_hgq(tmp_path, saved):
    """micae synth --model hgq_enc.h5 --input-int-bits 2: the hls4ml C model and csim (through HGQ's proxy model,
    calibrated with micae's ranges) on 500 vectors, Verilator on 2000 and Icarus equal HGQ's predict."""
    from micae.synthesize import SynthRequest, synthesize

    req = SynthRequest(
        model=saved[0],
        name="hgq_enc",
        hls_root=tmp_path / "hls",
        firmware_root=tmp_path / "fw",
        input_int_bits=hm.INPUT_INT_BITS,
        vectors=500,
        rtl_vectors=N,
        rtl="on",
        vendor="off",
        rtl_resources=False,
    )
    report = synthesize(req)
    levels = report["verification"]
    assert report["model"]["reference"] == "HGQ's predict"
    for level in ("integer_model", "c_model", "csim", "rtl", "rtl_crosscheck"):
        assert levels[level]["mismatches"] == 0 and levels[level]["max_abs_lsb_error"] == 0, (level, levels[level])
    assert levels["rtl"]["vectors"] >= N and levels["csim"]["vectors"] == 500


def test_input_range_options_are_refused_for_other_models():
    from pathlib import Path
    from types import SimpleNamespace

    from micae.errors import ConfigError
    from micae.flow.steps.load import _no_hgq_options

    ctx = SimpleNamespace(request=SimpleNamespace(input_int_bits=2, input_signed=False), model_file=Path("enc.onnx"))
    with pytest.raises(ConfigError, match="apply to HGQ models only; enc.onnx has no HGQ layers"):
        _no_hgq_options(ctx)
    _no_hgq_options(SimpleNamespace(request=SimpleNamespace(input_int_bits=None, input_signed=False)))
