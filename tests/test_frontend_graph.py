"""The layer-graph front end: every supported layer read into an integer model that equals QKeras bit for bit.

Each model is checked on the stress vectors (saturation and rounding ties at every
quantizer stage, then random codes), comparing integer codes.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests import frontend_models as fm

from micae.errors import ConstraintError


def _qkeras_vs_integer(guard, n: int = 300) -> tuple[int, np.ndarray, dict]:
    from micae.verify.vectors import build_vector_set

    enc = guard.encoder
    codes, slices = build_vector_set(enc, n, seed=1)
    shape = guard.keras_encoder.input_shape[1:]
    x = enc.input_type.to_float(codes).astype(np.float32).reshape(-1, *shape)
    expected = enc.latent_type.to_int(guard.keras_encoder.predict(x, verbose=0).reshape(len(x), -1))
    got = enc.latents(codes)
    return int((got != expected).any(axis=1).sum()), codes, slices


@pytest.mark.parametrize(
    "build",
    [fm.cae, fm.two_conv, fm.dense_only, fm.pooled, lambda: fm.pooled(pool="avg")],
    ids=["cae_pad_valid", "two_conv_crop_dropout", "dense_only", "maxpool", "avgpool"],
)
def test_integer_model_equals_qkeras(tf, build):
    from micae.models.extract import inspect_encoder
    from micae.verify.vectors import coverage

    guard = inspect_encoder(build())
    mismatches, codes, _ = _qkeras_vs_integer(guard)
    assert mismatches == 0
    # the vectors exercise ties and saturation at the stages that round
    cov = coverage(guard.encoder, codes)
    rounding = [c for c, s in zip(cov, guard.encoder.stages) if s.kind in ("conv2d", "dense", "avgpool")]
    assert all(c["tie_values"] > 0 for c in rounding)
    assert any(c["saturated_high"] + c["saturated_low"] > 0 for c in cov)


def test_asymmetric_padding_any_side(tf):
    from qkeras import QActivation, QConv2D, QDense, quantized_bits

    from micae.models.extract import inspect_encoder

    q = quantized_bits(6, 0, alpha=1)
    x_in = tf.keras.Input((5, 4, 2), name="x")
    x = QActivation(quantized_bits(7, 1), name="q")(x_in)
    x = tf.keras.layers.ZeroPadding2D(((2, 0), (1, 3)), name="pad")(x)
    x = QConv2D(3, (3, 2), strides=(2, 3), padding="same", kernel_quantizer=q, bias_quantizer=q, name="c")(x)
    x = QActivation(quantized_bits(8, 2), name="a")(x)
    x = tf.keras.layers.Reshape((-1,), name="r")(x)
    x = QDense(5, kernel_quantizer=q, bias_quantizer=q, name="d")(x)
    model = tf.keras.Model(x_in, QActivation(quantized_bits(9, 2), name="z")(x))
    fm._randomize(model, 7)
    guard = inspect_encoder(model)
    assert _qkeras_vs_integer(guard)[0] == 0
    assert guard.encoder.stages[0].meta["input_shape"] == [7, 8, 2]  # padded


def test_depth_is_reported_and_deep_encoders_warn(tf):
    from micae.models.extract import inspect_encoder

    shallow = inspect_encoder(fm.cae())
    assert shallow.warnings == [] and shallow.depth["conv2d"] == 1 and shallow.depth["dense"] == 1
    deep = inspect_encoder(fm.two_conv())
    assert deep.depth["conv2d"] == 2 and "2 convolution(s)" in deep.warnings[0]
    dense = inspect_encoder(fm.dense_only())
    assert dense.depth["conv2d"] == 0 and "shallow" in dense.warnings[0]


def test_encoder_cut_from_a_conditional_model(tf):
    from micae.models.extract import inspect_encoder

    model = fm.cae(conditions=True)
    guard = inspect_encoder(model, name="cae")
    assert guard.layers_taken == ["wafer", "in_q", "pad", "conv", "conv_act", "flat", "dense", "latent"]
    assert len(guard.keras_encoder.inputs) == 1 and guard.keras_encoder.output_shape == (None, 16)
    assert _qkeras_vs_integer(guard)[0] == 0
    # the cut shares the trained weights with the big model
    assert guard.keras_encoder.get_layer("conv").kernel is model.get_layer("conv").kernel
    # explicit names cut anywhere along the path
    part = inspect_encoder(model, input_layer="wafer", output_layer="conv_act")
    assert part.layers_taken[-1] == "conv_act" and part.encoder.n_latent == 4 * 4 * 8
    with pytest.raises(ConstraintError, match="output_layer 'nope' is not a layer"):
        inspect_encoder(model, output_layer="nope")
    with pytest.raises(ConstraintError, match="takes 3 tensors"):
        inspect_encoder(model, output_layer="with_conditions")


def test_elink_tail_is_an_exact_truncating_saturating_quantizer(tf):
    from micae.models.extract import inspect_encoder

    guard = inspect_encoder(fm.cae(tail_bits=5))
    enc = guard.encoder
    assert guard.layers_taken[-4:] == ["tf.math.multiply", "tf.math.floor", "tf.math.truediv", "tf.math.minimum"]
    last = enc.stages[-1]
    assert (last.rounding, last.hi_code, enc.latent_type.frac) == ("floor", 15, 4)
    mismatches, codes, _ = _qkeras_vs_integer(guard)
    assert mismatches == 0
    z = enc.latents(codes)
    assert z.max() == 15 and z.min() < 0  # the bound 1 - 2**-4 is reached; negatives pass (only minimum)


@pytest.mark.slow  # da4ml solves the 8x8 CAE's matrices
def test_masked_cells_are_dropped_and_counted_out(tf):
    from micae.models.extract import inspect_encoder
    from micae.rtl.trace import evaluate, trace_encoder

    guard = inspect_encoder(fm.cae(), input_mask="8x8")
    enc = guard.encoder
    assert enc.n_inputs == 64 and enc.n_live == 48 and enc.stages[0].n_in == 48
    budget = enc.bit_budget()
    assert (budget["input_values"], budget["masked_inputs"], budget["compression_factor"]) == (48, 16, 3.0)
    mismatches, codes, _ = _qkeras_vs_integer(guard)
    assert mismatches == 0
    dead = np.setdiff1d(np.arange(64), enc.live_columns)
    assert len(dead) == 16 and not codes[:, dead].any()  # the vectors keep dead cells zero
    traced = trace_encoder(enc)
    assert len(traced.comb.inp_qint) == 48  # 48 input ports
    assert np.array_equal(evaluate(traced, enc.live(codes)), enc.latents(codes))
    unmasked = trace_encoder(inspect_encoder(fm.cae()).encoder)
    assert traced.cost < unmasked.cost


def test_input_mask_from_file_is_checked(tf, tmp_path):
    from micae.errors import ConfigError
    from micae.models.extract import inspect_encoder

    live = np.ones((8, 8, 1), dtype=bool)
    live[0, 0, 0] = False
    np.save(tmp_path / "mask.npy", live)
    assert inspect_encoder(fm.cae(), input_mask=tmp_path / "mask.npy").encoder.n_live == 63
    np.save(tmp_path / "bad.npy", np.ones((4, 4)))
    with pytest.raises(ConfigError, match="bad.npy has shape \\(4, 4\\), the encoder input is \\(8, 8, 1\\)"):
        inspect_encoder(fm.cae(), input_mask=tmp_path / "bad.npy")


@pytest.mark.slow  # da4ml solves the 8x8 CAE's matrices
def test_rtl_trace_of_pools_tail_and_crops_matches_integer_model(tf):
    from micae.models.extract import inspect_encoder
    from micae.rtl.trace import evaluate, trace_encoder
    from micae.verify.vectors import build_vector_set

    for model in (fm.pooled(), fm.pooled(pool="avg"), fm.cae(tail_bits=5), fm.two_conv()):
        enc = inspect_encoder(model).encoder
        codes, _ = build_vector_set(enc, 200, seed=2)
        assert np.array_equal(evaluate(trace_encoder(enc), codes), enc.latents(codes)), model.name


def test_unsupported_layers_are_named_with_the_supported_list(tf):
    from qkeras import QActivation, QConv2D, quantized_bits

    from micae.models.extract import inspect_encoder

    q = quantized_bits(6, 0, alpha=1)

    def chain(*layers):
        x_in = tf.keras.Input((6, 6, 1), name="x")
        x = QActivation(quantized_bits(7, 1), name="q")(x_in)
        for layer in layers:
            x = layer(x)
        return tf.keras.Model(x_in, x)

    conv = QConv2D(2, 3, kernel_quantizer=q, bias_quantizer=q, name="c")
    with pytest.raises(ConstraintError) as err:
        inspect_encoder(
            chain(conv, QActivation(quantized_bits(7, 2)), tf.keras.layers.GlobalAveragePooling2D(name="g"))
        )
    msg = err.value.one_line()
    assert "'g' (GlobalAveragePooling2D) is a standard Keras layer micae does not support; supported:" in msg
    assert all(n in msg for n in ("Cropping2D", "ZeroPadding2D", "MaxPooling2D", "QDense", "TFOpLambda"))
    with pytest.raises(ConstraintError, match="divides by 9, not a power of two"):
        inspect_encoder(chain(tf.keras.layers.AveragePooling2D(3, name="p"), QActivation(quantized_bits(7, 2))))
    with pytest.raises(ConstraintError, match="'sigmoid'.*float activation"):
        inspect_encoder(chain(conv, tf.keras.layers.Activation("sigmoid", name="r")))
    # a ReLU is exact only as a clip of the quantizer after it
    with pytest.raises(ConstraintError, match="layer 'c' output is not quantized"):
        inspect_encoder(chain(conv, tf.keras.layers.Activation("relu", name="r")))


def test_tail_ops_outside_the_allow_list_are_refused(tf):
    from qkeras import QActivation, QDense, quantized_bits

    from micae.models.extract import inspect_encoder

    x_in = tf.keras.Input((4,), name="x")
    x = QActivation(quantized_bits(7, 1), name="q")(x_in)
    z = QActivation(quantized_bits(8, 1), name="z")(
        QDense(2, kernel_quantizer="quantized_bits(6,0,alpha=1)", use_bias=False)(x)
    )
    with pytest.raises(ConstraintError, match="scales by 3.0, not a power of two"):
        inspect_encoder(tf.keras.Model(x_in, z * 3))
    with pytest.raises(ConstraintError, match="TF op math.sqrt"):
        inspect_encoder(tf.keras.Model(x_in, tf.math.sqrt(z)))
    with pytest.raises(ConstraintError, match="not on the grid"):
        inspect_encoder(tf.keras.Model(x_in, tf.math.minimum(z, 0.3)))


def test_trainable_elink_form_equals_the_floor_form(tf):
    """micae's builder writes the tail as (z - d) -> quantizer -> minimum (it has a gradient); same values."""
    from qkeras import QActivation

    from micae.models.encoder import elink_output
    from micae.models.extract import inspect_encoder
    from micae.models.quantizers import QuantSpec

    lat = QuantSpec(9, 1)
    codes = np.resize(np.arange(-256, 256), (32, 16))
    for bits in (3, 5, 8):
        x_in = tf.keras.Input((16,), name="x")
        z = QActivation(lat.qkeras(), name="lat")(QActivation(lat.qkeras(), name="q_in")(x_in))
        ste = tf.keras.Model(x_in, elink_output(z, bits, lat))
        s = 2 ** (bits - 1)
        floor = tf.keras.Model(x_in, tf.math.minimum(tf.math.floor(z * s) / s, 1 - 1 / s))
        x = (codes / 128).astype(np.float32)
        assert np.array_equal(ste.predict(x, verbose=0), floor.predict(x, verbose=0))
        for model in (ste, floor):
            enc = inspect_encoder(model).encoder
            assert np.array_equal(enc.latents(codes), enc.latent_type.to_int(model.predict(x, verbose=0)))
        with tf.GradientTape() as tape:
            t = tf.constant(x)
            tape.watch(t)
            y = tf.reduce_sum(ste(t))
        assert float(tf.reduce_sum(tf.abs(tape.gradient(y, t)))) > 0
