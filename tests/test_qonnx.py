"""QONNX front end: graphs written with onnx.helper (no PyTorch) read into the integer model, compared as integers
with qonnx's own executor; what cannot be exact is refused with a one-line message naming the node and its op;
one QKeras encoder written as QONNX gives the same integers through both front ends and through the RTL."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qonnx")

from tests import qonnx_models as qm  # noqa: E402

from micae.errors import ConstraintError  # noqa: E402

N = 3000


def _read(tmp_path, model, name: str = "enc"):
    import onnx

    from micae.graph.onnx_front import QonnxReference, load_qonnx, read_qonnx

    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    wrapped = load_qonnx(path)
    return read_qonnx(wrapped, name), QonnxReference(wrapped, path)


def _vectors(encoder, n: int = N):
    from micae.verify.vectors import build_vector_set

    codes, slices = build_vector_set(encoder, n, seed=0)
    return codes, encoder.input_type.to_float(codes).reshape(-1, *encoder.input_shape)


@pytest.mark.parametrize(
    "kw",
    [{}, {"relu": False}, {"pads": (1, 0, 1, 2)}, {"maxpool": True}, {"maxpool": True, "pool_first": True}],
    ids=["relu", "signed", "pads", "maxpool", "pool_first"],
)
def test_integer_model_equals_qonnx_execution(tmp_path, kw):
    encoder, ref = _read(tmp_path, qm.encoder(seed=3, **kw))
    codes, x = _vectors(encoder)
    expected = encoder.latent_type.to_int(ref.predict(x))  # raises if qonnx's output is off the latent grid
    got = encoder.latents(codes)
    assert got.shape == expected.shape == (len(codes), 6)
    assert np.array_equal(got, expected)
    assert len(np.unique(got, axis=0)) > N // 2  # the vectors exercise the encoder, not a constant output


def test_layers_and_types_read_from_the_graph(tmp_path):
    encoder, _ = _read(tmp_path, qm.encoder(seed=0))
    roles = [(cls, role) for _, cls, role in encoder.layers]
    assert roles[1] == ("Quant", "input quantizer signed 8 bits, 7 fractional")
    assert ("Relu", "relu (clips the next Quant at 0)") in roles
    assert [s.kind for s in encoder.stages] == ["conv2d", "dense"]
    assert encoder.input_shape == (4, 4, 3)  # channels-last, as micae's hardware reads it
    conv = encoder.stages[0]
    assert (conv.out.width, conv.out.frac, conv.out.signed) == (8, 5, False) and conv.clip is None
    assert conv.weight_frac == 5 and encoder.latent_type.frac == 5


def _refused(tmp_path, model) -> str:
    with pytest.raises(ConstraintError) as err:
        _read(tmp_path, model)
    text = err.value.one_line()
    assert "\n" not in text and "(fix: " in text
    return text


def _small(**quant_kw):
    g = qm.GraphBuilder((4,))
    g.quant(8, 6)
    g.node("MatMul", g.const(np.full((4, 2), 0.25)))
    g.quant(8, 4, **quant_kw)
    return g


def test_refuses_non_power_of_two_scale(tmp_path):
    text = _refused(tmp_path, _small(scale=0.1).model((2,)))
    assert "node 'Quant_" in text and "(Quant)" in text and "scale 0.1" in text and "not a power of two" in text


def test_refuses_rounding_micae_cannot_reproduce(tmp_path):
    text = _refused(tmp_path, _small(rounding="HALF_UP").model((2,)))
    assert "(Quant): rounding mode HALF_UP" in text and "ROUND" in text


def test_refuses_weights_off_a_power_of_two_grid(tmp_path):
    g = qm.GraphBuilder((4,))
    g.quant(8, 6)
    g.node("MatMul", g.const(np.full((4, 2), 0.3)))
    g.quant(8, 4)
    text = _refused(tmp_path, g.model((2,)))
    assert "weights of node 'MatMul_" in text and "(MatMul)" in text and "are float" in text


def test_refuses_an_unsupported_op(tmp_path):
    g = qm.GraphBuilder((4,))
    g.quant(8, 6)
    g.node("MatMul", g.const(np.full((4, 2), 0.25)))
    g.node("Sigmoid")
    g.quant(8, 4)
    text = _refused(tmp_path, g.model((2,)))
    assert "(Sigmoid) is an ONNX op micae does not read" in text and "Quant" in text and "Conv" in text


def test_refuses_bipolar_activations_and_a_trailing_relu(tmp_path):
    g = qm.GraphBuilder((4,))
    g.quant(8, 6)
    g.node("MatMul", g.const(np.full((4, 2), 0.25)))
    g.node("BipolarQuant", g.const(1.0), domain=qm.QONNX_DOMAIN)
    assert "(BipolarQuant) quantizes activations to {-1, +1}" in _refused(tmp_path, g.model((2,)))
    g = _small()
    g.node("Relu")
    assert "(Relu) has no Quant after it" in _refused(tmp_path, g.model((2,)))


def test_bipolar_weights_are_read(tmp_path):
    g = qm.GraphBuilder((4,))
    g.quant(8, 6)
    w = g.const(np.array([[0.3, -2.0], [-0.1, 1.0], [0.0, 5.0], [-4.0, -0.2]]))
    out = "wb"
    g.nodes.append(g.helper.make_node("BipolarQuant", [w, g.const(0.5)], [out], name="wbq", domain=qm.QONNX_DOMAIN))
    g.node("MatMul", out)
    g.quant(10, 6)
    encoder, ref = _read(tmp_path, g.model((2,)))
    assert set(np.unique(encoder.stages[0].matrix)) == {-1, 1} and encoder.stages[0].weight_frac == 1
    codes, x = _vectors(encoder, 500)
    assert np.array_equal(encoder.latents(codes), encoder.latent_type.to_int(ref.predict(x)))


def _qkeras_encoder(seed: int = 5):
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

    x_in = tf.keras.Input((5, 5, 3), name="wafer")  # conv 3x3 s2 -> 2x2x4: the flatten order matters
    x = QActivation(quantized_bits(8, 0, alpha=1), name="in_q")(x_in)
    x = QConv2D(
        4,
        3,
        strides=2,
        kernel_quantizer=quantized_bits(6, 0, alpha=1),
        bias_quantizer=quantized_bits(6, 0, alpha=1),
        name="conv",
    )(x)
    x = QActivation(quantized_relu(8, 3), name="conv_q")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = QDense(6, kernel_quantizer=quantized_bits(7, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))(x)
    x = QActivation(quantized_bits(9, 3, alpha=1), name="latent")(x)
    model = tf.keras.Model(x_in, x, name="chip")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-1, 1, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def qkeras_pair(tmp_path_factory, tf):
    """One QKeras encoder and its QONNX graph (written by hand: qonnx 1.0 has no QKeras converter)."""
    import onnx

    model = _qkeras_encoder()
    path = tmp_path_factory.mktemp("pair") / "chip.onnx"
    onnx.save(qm.qkeras_to_qonnx(model), str(path))
    return model, path


def test_qkeras_and_qonnx_give_the_same_integers(qkeras_pair):
    from micae.graph.onnx_front import QonnxReference, load_qonnx, read_qonnx
    from micae.models.extract import inspect_encoder

    model, path = qkeras_pair
    via_keras = inspect_encoder(model, name="chip").encoder
    wrapped = load_qonnx(path)
    via_qonnx = read_qonnx(wrapped, "chip")
    codes, x = _vectors(via_keras)
    keras_codes = via_keras.latent_type.to_int(model.predict(x, verbose=0))
    qonnx_codes = via_qonnx.latent_type.to_int(QonnxReference(wrapped, path).predict(x))
    assert via_keras.latent_type == via_qonnx.latent_type
    assert np.array_equal(keras_codes, qonnx_codes)  # the two references agree
    assert np.array_equal(via_keras.latents(codes), keras_codes)
    assert np.array_equal(via_qonnx.latents(codes), qonnx_codes)
    for a, b in zip(via_keras.stages, via_qonnx.stages):  # same matrices, biases and quantizers
        assert np.array_equal(a.matrix, b.matrix) and np.array_equal(a.bias, b.bias)
        assert (a.weight_frac, a.bias_frac, a.out, a.clip) == (b.weight_frac, b.bias_frac, b.out, b.clip)


@pytest.fixture(scope="module")
def qonnx_synth(tmp_path_factory, qkeras_pair):
    """micae synth --model chip.onnx (500 vectors, 3000 RTL vectors, no vendor tools): report.json and its folders."""
    from micae.synthesize import SynthRequest, synthesize

    _, path = qkeras_pair
    root = tmp_path_factory.mktemp("synth")
    req = SynthRequest(
        model=path,
        name="chip_qonnx",
        hls_root=root / "hls",
        firmware_root=root / "fw",
        vectors=500,
        rtl_vectors=N,
        rtl="on",
        vendor="off",
        rtl_resources=False,
    )
    return synthesize(req), root / "hls" / "chip_qonnx"


@pytest.mark.slow
def test_qonnx_synth_every_level_matches_qonnx(qonnx_synth):
    """Every level of a QONNX encoder, hls4ml's C model and g++ csim included, equals qonnx's executor as integer
    codes; qonnx's executor equals QKeras on these vectors (test above), so every level gives QKeras' integers."""
    report, _ = qonnx_synth
    levels = report["verification"]
    for level in ("integer_model", "c_model", "csim", "rtl", "rtl_crosscheck"):
        assert levels[level].get("vectors"), (level, levels[level])  # compared, not skipped
        assert levels[level]["mismatches"] == 0 and levels[level]["max_abs_lsb_error"] == 0, (level, levels[level])
    assert levels["c_model"]["vectors"] == levels["csim"]["vectors"] == 500
    assert levels["rtl"]["vectors"] >= N
    assert levels["vendor_csim"]["status"] == "skipped"
    assert report["model"]["layers_taken"][:2] == ["global_in", "Quant_0"]


@pytest.mark.slow
def test_qonnx_project_is_a_vendor_ready_hls_project(qonnx_synth):
    """The project ships as the Keras route's does (tb_data, patched testbench, README, config naming the shipped
    graph), with inputs channels-last as micae's RTL reads them."""
    from micae.hls.convert_onnx import PREPARED_FILE
    from micae.hls.project import PRECISION_MARK

    _, project = qonnx_synth
    inputs = (project / "tb_data" / "tb_input_features.dat").read_text().splitlines()
    outputs = (project / "tb_data" / "tb_output_predictions.dat").read_text().splitlines()
    assert len(inputs) == len(outputs) == 500 and len(inputs[0].split()) == 75 and len(outputs[0].split()) == 6
    assert PRECISION_MARK in (project / "chip_qonnx_test.cpp").read_text()
    readme = (project / "README.md").read_text()
    assert "qonnx's executor" in readme and PREPARED_FILE in readme and "vitis" in readme.lower()
    config = (project / "hls4ml_config.yml").read_text()
    assert f"OnnxModel: {project / PREPARED_FILE}" in config and ".incomplete" not in config
    assert (project / PREPARED_FILE).exists()


@pytest.mark.slow
def test_qkeras_and_qonnx_give_the_same_hls_c_model_outputs(qonnx_synth, qkeras_pair, tmp_path):
    """The QKeras encoder through hls4ml's Keras reader and its QONNX graph through hls4ml's ONNX reader: the same
    integer outputs on the QONNX project's 500 test vectors (QKeras C model vs the QONNX project's g++ build)."""
    from micae.config.synth import HlsOptions
    from micae.hls.convert import c_model_predict, compile_c_model, convert
    from micae.models.extract import inspect_encoder
    from micae.verify.csim import parse_results

    model, _ = qkeras_pair
    _, project = qonnx_synth
    encoder = inspect_encoder(model, name="chip").encoder
    frac = encoder.latent_type.frac
    x = np.loadtxt(project / "tb_data" / "tb_input_features.dat").reshape(-1, 5, 5, 3)
    qonnx_codes = parse_results(project / "tb_data" / "csim_results.log", frac, 6)
    keras_hls = convert(model, encoder, tmp_path / "keras", "chip", HlsOptions())
    compile_c_model(keras_hls)
    keras_codes = encoder.latent_type.to_int(c_model_predict(keras_hls, x))
    assert np.array_equal(keras_codes, qonnx_codes)
    assert np.array_equal(keras_codes, encoder.latents(encoder.input_type.to_int(x.reshape(len(x), -1))))
    assert len(np.unique(keras_codes, axis=0)) > 250  # the vectors exercise the encoder


def test_hls_config_carries_micae_types_between_quantizers(tmp_path):
    """Relu -> MaxPool -> Quant: hls4ml's default fixed<16,6> would cut the accumulator the Relu and the pool pass
    on (94 of 2000 rows off in the C model, bench/qonnx_encoder.md); micae gives every layer its lossless type."""
    from micae.config.synth import HlsOptions
    from micae.hls.convert_onnx import hls_config, node_names, prepare
    from micae.hls.precision import hls_precision

    encoder, ref = _read(tmp_path, qm.encoder(seed=3, maxpool=True, pool_first=True))
    prepared = prepare(ref)
    assert prepared.get_tensor_shape(prepared.graph.input[0].name) == [1, 4, 4, 3]  # channels-last input
    ops = [n.op_type for n in prepared.graph.node]
    assert "Pad" not in ops and "Add" not in ops[: ops.index("MatMul")]  # the conv's bias Add is its bias input
    names = node_names(encoder, prepared)
    layers = hls_config(prepared, encoder, HlsOptions())["LayerName"]
    types = {t.layer: t for t in encoder.tensor_types()}
    conv = types["Conv_0"]
    assert conv.accum is not None and conv.accum.width == 17
    for ours in ("Relu_0", "MaxPool_0"):
        assert layers[names[ours]]["Precision"]["result"] == hls_precision(conv.accum) == "fixed<17,5>"
    assert layers[names["Conv_0"]]["Precision"] == {
        "weight": hls_precision(conv.weight),
        "bias": hls_precision(conv.bias),
        "accum": "fixed<17,5>",
        "result": "auto",
    }
    assert layers["global_in"]["Precision"] == {"result": "fixed<8,1,RND_CONV,SAT>"}


def _refusal(tmp_path, model) -> str:
    from micae.hls.convert_onnx import refusal

    _, ref = _read(tmp_path, model)
    text = refusal(ref)
    assert text is not None and "\n" not in text and "integer model and the RTL levels are exact" in text
    return text


def test_hls_levels_refuse_what_hls4ml_cannot_convert_exactly(tmp_path):
    """micae reads these graphs exactly (integer model, RTL); hls4ml 1.3.0 cannot convert them exactly."""
    g = qm.GraphBuilder((4,))
    g.quant(8, 6)
    g.node("MatMul", g.const(np.full((4, 2), 0.25)))
    g.quant(10, 6)
    g.node("Trunc", *(g.const(v) for v in (2.0**-6, 0.0, 10.0, 7.0)), domain=qm.QONNX_DOMAIN, rounding_mode="FLOOR")
    text = _refusal(tmp_path, g.model((2,)))
    assert text.startswith("node 'Trunc_0' (Trunc): hls4ml 1.3.0's ONNX reader has no Trunc") and "FLOOR" in text
    text = _refusal(tmp_path, _small(signed=False, narrow=True).model((2,)))
    assert "node 'Quant_1' (Quant): an unsigned narrow Quant" in text and "use narrow=0" in text


def test_hls_levels_refuse_a_lone_pad_and_a_per_position_bias(tmp_path):
    g = qm.GraphBuilder((3, 4, 4))
    g.quant(8, 7)
    g.node("Conv", g.const(np.full((2, 3, 3, 3), 0.25)), kernel_shape=[3, 3])
    g.quant(8, 4)
    g.inits.append(g.helper.make_tensor("pads", g.tp.INT64, [8], [0, 0, 1, 1, 0, 0, 1, 1]))
    g.node("Pad", "pads", mode="constant")
    g.node("MaxPool", kernel_shape=[2, 2], strides=[2, 2])
    g.node("Flatten", axis=1)
    g.node("MatMul", g.const(np.full((8, 2), 0.5)))
    g.quant(8, 4)
    text = _refusal(tmp_path, g.model((2,)))
    assert "node 'Pad_0' (Pad): micae converts a Pad through hls4ml only right before a Conv" in text
    g = qm.GraphBuilder((3, 4, 4))
    g.quant(8, 7)
    g.node("Conv", g.const(np.full((2, 3, 3, 3), 0.25)), kernel_shape=[3, 3])
    g.node("Add", g.const(np.arange(8).reshape(1, 2, 2, 2) / 8.0))
    g.quant(8, 4)
    g.node("Flatten", axis=1)
    g.node("MatMul", g.const(np.full((8, 2), 0.5)))
    g.quant(8, 4)
    text = _refusal(tmp_path, g.model((2,)))
    assert "node 'Add_0' (Add): its addend varies over H and W" in text and "per-channel bias" in text


def test_refused_hls_levels_are_skipped_with_the_reason(tmp_path):
    """The hls step refuses before writing anything; csim and vendor skip with the same reason."""
    from micae.flow.context import FlowContext
    from micae.flow.request import SynthRequest
    from micae.flow.steps import csim, hls, vendor

    g = _small(signed=False, narrow=True)
    _, ref = _read(tmp_path, g.model((2,)))
    ctx = FlowContext(
        request=SynthRequest(model=ref.path),
        name="enc",
        model_file=ref.path,
        run_dir=None,
        hls_dir=tmp_path / "hls",
        fw_dir=tmp_path / "fw",
    )
    ctx.keras_model = ref
    results = hls.run(ctx) + csim.run(ctx) + vendor.run(ctx)
    assert [r.level for r in results] == ["c_model", "csim", "vendor_csim", "vendor_synth", "vendor_cosim"]
    assert all(r.status == "skipped" and r.reason == ctx.hls_refused for r in results)
    assert "unsigned narrow Quant" in ctx.hls_refused and ctx.hls_model is None


def test_relu_before_a_signed_quant_clips_its_codes_at_zero(tmp_path):
    g = qm.GraphBuilder((4,))
    g.quant(8, 6)
    g.node("MatMul", g.const(np.array([[0.5, -0.25], [0.75, 1.0], [-1.0, 0.125], [0.25, -0.5]])))
    g.node("Relu")
    g.quant(6, 3, narrow=True)
    encoder, ref = _read(tmp_path, g.model((2,)))
    assert encoder.stages[0].clip == (0, 31)
    codes, x = _vectors(encoder, 1000)
    got = encoder.latents(codes)
    assert got.min() == 0 and got.max() == 31
    assert np.array_equal(got, encoder.latent_type.to_int(ref.predict(x)))


def test_trunc_floors_onto_a_coarser_grid(tmp_path):
    """qonnx Trunc v1: floor(round(x / s) / 2**3) * s: 10-bit codes cut to 7 bits, the scale kept."""
    g = qm.GraphBuilder((4,))
    g.quant(8, 6)
    g.node("MatMul", g.const(np.array([[0.5, -0.25], [0.75, 1.0], [-1.0, 0.125], [0.25, -0.5]])))
    g.quant(10, 6)
    g.node("Trunc", *(g.const(v) for v in (2.0**-6, 0.0, 10.0, 7.0)), domain=qm.QONNX_DOMAIN, rounding_mode="FLOOR")
    encoder, ref = _read(tmp_path, g.model((2,)))
    assert [s.kind for s in encoder.stages] == ["dense", "requantize"]
    assert encoder.stages[1].rounding == "floor" and encoder.latent_type.frac == 6
    codes, x = _vectors(encoder, 1000)
    got = encoder.latents(codes)
    assert got.min() < -32 and got.max() > 32  # codes of the 7-bit range, not the 10-bit one
    assert np.array_equal(got, encoder.latent_type.to_int(ref.predict(x)))
