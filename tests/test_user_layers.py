"""The QKeras/Keras building blocks users bring (issue 24): folded batch norm, ReLU, LeakyReLU, batch norm.

Each exact layer is the issue's small encoder (4x4x3 -> conv 3x3 stride 2 -> dense 16) through the whole
flow: 0 mismatches at every level (integer model vs QKeras, hls4ml C model, csim, RTL), comparing integer
codes on 2000 vectors (saturation and ties at every quantizer stage first). What cannot be exact is
refused with one line naming the layer as what it is, why, and the fix. The 10**6-vector runs are
bench/user_layers.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from tests import frontend_models as fm
from tests.test_frontend_graph import _qkeras_vs_integer
from tests.test_real_encoders import LEVELS, _synth

from micae.errors import ConstraintError

N = 2000


def _assert_exact(report: dict) -> None:
    levels = [lv for lv in report["verification"] if lv in LEVELS or lv.startswith("rtl")]
    assert set(LEVELS) | {"rtl_crosscheck"} <= set(levels)
    for level in levels:
        v = report["verification"][level]
        # Icarus (rtl_crosscheck) runs every tie and saturation vector plus a random subset, 1000 here
        assert v["vectors"] >= (1000 if level == "rtl_crosscheck" else N), (level, v)
        assert v["mismatches"] == 0 and v["max_abs_lsb_error"] == 0, (level, v.get("first_mismatches"))


@pytest.mark.slow
@pytest.mark.parametrize("block", ["convbn", "relu", "act_relu", "leaky", "bn", "qbn"])
def test_small_encoder_is_exact_at_every_level(tmp_path, tf, block):
    model = fm.small_encoder(block, bn=dict(epsilon=1e-10) if block == "qbn" else None)
    if block == "bn":
        fm.batchnorm_po2(tf, model)
    report = _synth(tmp_path, model, model.name, n=N)
    _assert_exact(report)
    assert report["model"]["exact"] and report["model"]["problems"] == []


def test_folded_batchnorm_equals_qkeras_and_is_not_the_unfolded_kernel(tf):
    """QConv2DBatchnorm's stage holds QKeras's folded, quantized kernel (not the raw kernel)."""
    from micae.models.extract import inspect_encoder

    model = fm.small_encoder("convbn")
    guard = inspect_encoder(model)
    assert _qkeras_vs_integer(guard, 600)[0] == 0
    layer = model.get_layer("convbn")
    folded = np.asarray(layer.kernel_quantizer_internal(layer.get_folded_weights()[0]))
    k_type = guard.encoder.stages[0].weights_type()
    raw = k_type.to_int(np.asarray(layer.kernel_quantizer_internal(layer.kernel)))
    codes = k_type.to_int(folded)
    assert not np.array_equal(codes, raw)  # the batch norm changed the weights
    stage_matrix = guard.encoder.stages[0].matrix
    assert set(np.unique(stage_matrix)) <= set(np.unique(codes)) | {0}


@pytest.mark.parametrize("block", ["relu", "act_relu", "leaky"])
def test_activation_layers_are_clips_or_shifts_equal_to_qkeras(tf, block):
    from micae.models.extract import inspect_encoder
    from micae.rtl.trace import evaluate, trace_encoder
    from micae.verify.vectors import build_vector_set

    guard = inspect_encoder(fm.small_encoder(block))
    assert _qkeras_vs_integer(guard, 600)[0] == 0
    enc = guard.encoder
    codes, _ = build_vector_set(enc, 300, seed=3)
    assert np.array_equal(evaluate(trace_encoder(enc), codes), enc.latents(codes))
    q = enc.stages[0].quantizer
    if block == "leaky":
        assert q.leak == 3 and q.clip is None
    else:
        assert q.clip == (0, q.out.max_int) and q.leak is None


@pytest.mark.parametrize("slope", [0.3, 0.2, 0.1, 1.5])
def test_leaky_relu_with_other_slopes_is_refused_with_the_fix(tf, slope):
    from micae.models.extract import inspect_encoder

    with pytest.raises(ConstraintError) as err:
        inspect_encoder(fm.small_encoder("leaky", slope=slope))
    msg = err.value.one_line()
    assert f"'leaky' (LeakyReLU, a Keras layer): slope {slope:g} is not a power of two" in msg
    assert "fix: train with a power-of-two slope such as alpha=" in msg


def test_keras_batchnorm_with_a_power_of_two_scale_folds_exactly(tf):
    """gamma / sqrt(var + eps) a power of two per channel, mean and beta on short binary grids: exact."""
    from micae.models.extract import inspect_encoder

    model = fm.small_encoder("bn")
    scale = fm.batchnorm_po2(tf, model)
    assert np.all(np.frexp(scale)[0] == 0.5), scale  # the constants are what this test is about
    guard = inspect_encoder(model)
    assert guard.problems == []
    assert _qkeras_vs_integer(guard, 600)[0] == 0
    assert ("bn", "BatchNormalization") in [(n, c) for n, c, _ in guard.encoder.layers]


def test_qbatchnorm_with_po2_quantizers_and_tiny_epsilon_folds_exactly(tf):
    """QBatchNormalization's default power-of-two quantizers (variance: even powers) with epsilon below
    float32's resolution: the scale is a power of two and mean/beta are powers of two, so exact."""
    from micae.models.extract import inspect_encoder

    guard = inspect_encoder(fm.small_encoder("qbn", bn=dict(epsilon=1e-10)))
    assert guard.problems == []
    assert _qkeras_vs_integer(guard, 1000)[0] == 0


@pytest.mark.parametrize(
    "block,what", [("bn", "BatchNormalization, a Keras layer"), ("qbn", "QBatchNormalization, a QKeras layer")]
)
def test_batchnorm_that_cannot_be_exact_is_refused_naming_the_layer(tf, block, what):
    from micae.models.extract import inspect_encoder

    with pytest.raises(ConstraintError) as err:
        inspect_encoder(fm.small_encoder(block))  # trained-looking statistics, default epsilon 1e-3
    msg = err.value.one_line()
    assert f"layer 'bn' ({what}): its scale gamma/sqrt(variance + epsilon) = " in msg
    assert "is not a power of two" in msg and "custom" not in msg
    assert "train the convolution as QConv2DBatchnorm" in msg and "--fold-batchnorm" in msg
    assert ("epsilon=1e-10" in msg) == (block == "qbn")


def test_every_unsupported_qkeras_class_is_named_a_qkeras_layer(tf):
    """No QKeras class is ever called custom: the file loader and the guard both name it a QKeras layer."""
    from micae.graph.registry import supported_layers
    from micae.models.extract import _unsupported
    from micae.models.io import ALLOWED_LAYERS, check_model_config, qkeras_layer_classes

    unsupported = sorted(qkeras_layer_classes() - set(supported_layers()))
    assert {"QSeparableConv2D", "QDepthwiseConv2D", "QLSTM", "QDenseBatchnorm", "QAveragePooling2D"} <= set(unsupported)
    for cls in unsupported:
        # the guard (models built in memory, or files with a layer the loader lets through)
        problem, fix = _unsupported(SimpleNamespace(name="x", cls=cls))
        assert problem.startswith(f"layer 'x' ({cls}) is a QKeras layer") and "custom" not in problem + fix, problem
        assert fix
        if cls in ALLOWED_LAYERS:
            continue
        # the file loader refuses it before Keras runs, with the same words
        with pytest.raises(ConstraintError) as err:
            check_model_config({"class_name": cls, "config": {"name": "x"}}, where="model 'm'")
        msg = err.value.one_line()
        assert f"layer 'x' ({cls}) in model 'm' is a QKeras layer" in msg, msg
        assert "custom" not in msg and "(fix: " in msg


def test_unsupported_qkeras_layer_in_memory_is_named_a_qkeras_layer(tf):
    from qkeras import QActivation, QSeparableConv2D, quantized_bits

    from micae.models.extract import inspect_encoder

    x_in = tf.keras.Input((6, 6, 2), name="x")
    x = QActivation(quantized_bits(7, 1), name="q")(x_in)
    x = QSeparableConv2D(2, 3, name="sep")(x)
    x = QActivation(quantized_bits(7, 1), name="a")(x)
    with pytest.raises(ConstraintError) as err:
        inspect_encoder(tf.keras.Model(x_in, x))
    msg = err.value.one_line()
    assert "layer 'sep' (QSeparableConv2D) is a QKeras layer micae does not support" in msg
    assert "custom" not in msg and "rebuild the encoder from the supported layers: " in msg


def test_qconv2dbatchnorm_without_a_bias_quantizer_is_refused(tf):
    from qkeras import QActivation, QConv2DBatchnorm, quantized_bits

    from micae.models.extract import inspect_encoder

    x_in = tf.keras.Input((4, 4, 3), name="x")
    x = QActivation(quantized_bits(8, 1), name="q")(x_in)
    x = QConv2DBatchnorm(2, 3, kernel_quantizer=quantized_bits(6, 0, alpha=1), name="cbn")(x)
    x = QActivation(quantized_bits(8, 2), name="a")(x)
    with pytest.raises(ConstraintError, match="'cbn' \\(QConv2DBatchnorm\\) has no bias_quantizer.*fix: set bias_q"):
        inspect_encoder(tf.keras.Model(x_in, x))


@pytest.mark.slow
def test_fold_batchnorm_converts_an_inexact_batchnorm_and_reports_its_mismatches(tmp_path, tf):
    """--fold-batchnorm: the batch norm is folded into the conv (4 bits finer grids); every hardware level
    reproduces that folded integer model (same mismatch count against QKeras at every level, the fold's)."""
    from micae.flow import run_synthesis
    from micae.models.io import save_model
    from micae.synthesize import SynthRequest

    model = fm.small_encoder("bn")
    save_model(model, tmp_path / "m.h5")
    common = dict(hls_root=tmp_path / "hls", firmware_root=tmp_path / "fw", vendor="off", rtl_resources=False)
    with pytest.raises(ConstraintError, match="'bn' \\(BatchNormalization, a Keras layer\\).*--fold-batchnorm"):
        run_synthesis(SynthRequest(model=tmp_path / "m.h5", name="refused", **common))
    req = SynthRequest(
        model=tmp_path / "m.h5", name="folded", vectors=N, rtl_vectors=N, rtl="on", fold_batchnorm=True, **common
    )
    report = run_synthesis(req).to_json()
    assert report["model"]["exact"] is False
    assert "--fold-batchnorm folded it into 'conv' anyway" in report["model"]["problems"][0]
    levels = report["verification"]
    fold_errors = levels["integer_model"]["mismatches"]
    assert 0 < fold_errors < N
    for level in ("c_model", "csim", "rtl"):
        assert levels[level]["vectors"] == N
        assert levels[level]["mismatches"] == fold_errors, level
        assert levels[level]["max_abs_lsb_error"] == levels["integer_model"]["max_abs_lsb_error"], level
