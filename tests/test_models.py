"""Builders, hardware constraints, tied weights and the exactness guard."""

import numpy as np
import pytest

from micae.errors import ConstraintError
from micae.models.constraints import check_compression
from micae.models.quantizers import QuantSpec
from micae.models.spec import EncoderSpec


def test_default_spec_is_the_econt_shape(tf):
    from micae.models.encoder import build_encoder

    enc = build_encoder(EncoderSpec())
    assert enc.input_shape[1:] == (4, 4, 3)
    conv = enc.get_layer("conv")
    assert conv.filters == 8 and conv.kernel_size == (3, 3) and conv.strides == (2, 2) and conv.padding == "same"
    assert enc.output_shape[1:] == (16,)
    assert "quantized_bits(9" in str(enc.get_layer("latent_quant").quantizer)
    assert all(layer.name != "input" for layer in enc.layers)


def test_chip_budget_is_accepted_with_factor_3_and_bit_ratio_2_67():
    budget = check_compression(48, 8, 16, 9, 3.0)
    assert budget["compression_factor"] == 3.0
    assert budget["bit_ratio"] == pytest.approx(384 / 144)
    assert (budget["input_bits"], budget["latent_bits"]) == (384, 144)


def test_compression_below_limit_counts_values_and_names_the_fix():
    with pytest.raises(ConstraintError) as err:
        check_compression(48, 8, 17, 9, 3.0)
    msg = err.value.one_line()
    assert "compression factor 2.82" in msg and "48 input values / 17 latent values" in msg and "limit 3" in msg
    assert "bit ratio 2.51" in msg
    assert "fix: use at most 16 latents" in msg
    # the values count, not the bits: narrow latents do not buy more of them
    with pytest.raises(ConstraintError, match="compression factor 2.4"):
        check_compression(48, 8, 20, 4, 3.0)


def test_bit_ratio_limit_is_optional_and_names_what_fits():
    assert check_compression(48, 8, 16, 9, 3.0, min_bit_compression=None)["bit_ratio"] < 3
    with pytest.raises(ConstraintError) as err:
        check_compression(48, 8, 16, 9, 3.0, min_bit_compression=3.0)
    msg = err.value.one_line()
    assert "bit ratio 2.67" in msg and "min_bit_compression 3" in msg
    assert "at most 14 latents of 9 bits" in msg and "latents of at most 8 bits" in msg
    assert check_compression(48, 10, 16, 9, 3.0, min_bit_compression=3.0)["bit_ratio"] == pytest.approx(480 / 144)


def test_masked_inputs_do_not_count_and_parts_multiply_both_sides():
    from micae.models.constraints import check_encoder_spec

    spec = EncoderSpec(input_shape=(8, 8, 1), input_quant=QuantSpec(8, 1, signed=False))
    assert check_encoder_spec(spec)["compression_factor"] == 4.0  # 64 positions counted
    with pytest.raises(ConstraintError, match="48 live input values / 17"):
        check_encoder_spec(EncoderSpec(input_shape=(8, 8, 1), latent=17), masked_inputs=16)
    b = check_encoder_spec(spec, masked_inputs=16, n_parts=4)
    assert b["compression_factor"] == 3.0 and b["masked_inputs"] == 16
    assert (b["total_input_values"], b["total_latent_values"], b["total_latent_bits"]) == (192, 64, 576)


def test_compression_limit_is_configurable(tf):
    from micae.models.encoder import build_encoder

    spec = EncoderSpec(latent=20)
    with pytest.raises(ConstraintError, match="compression factor 2.4"):
        build_encoder(spec)
    assert build_encoder(spec, min_compression=2.4).output_shape[1:] == (20,)


def test_valid_conv_that_does_not_fit_is_refused():
    from micae.models.constraints import check_encoder_spec

    with pytest.raises(ConstraintError, match="does not fit"):
        check_encoder_spec(EncoderSpec(input_shape=(2, 2, 3), padding="valid", latent=1))


def test_micae_shares_one_encoder(tf):
    from micae.models.decoder import build_decoder
    from micae.models.encoder import build_encoder
    from micae.models.micae import build_micae
    from micae.models.spec import DecoderSpec

    spec = EncoderSpec(
        input_shape=(4, 4, 1), input_quant=QuantSpec(5, 1, signed=False), latent=4, latent_quant=QuantSpec(6, 2)
    )
    enc = build_encoder(spec)
    model = build_micae(enc, build_decoder(DecoderSpec(), 12, (4, 4, 3)), 3)
    # one encoder layer, called once per input
    encoders = [layer for layer in model.layers if layer.name == "encoder"]
    assert len(encoders) == 1 and len(encoders[0].inbound_nodes) == 3
    # the conv kernel is the very same variable for every input, and counted once
    kernel = enc.get_layer("conv").kernel
    assert sum(w is kernel for w in model.weights) == 1
    # same input on every part -> same latents per part
    x = np.random.default_rng(0).uniform(0, 1, size=(5, 4, 4, 1)).astype(np.float32)
    sub = tf.keras.Model(model.inputs, model.get_layer("latents").output)
    z = sub.predict([x, x, x], verbose=0)
    assert np.array_equal(z[:, :4], z[:, 4:8]) and np.array_equal(z[:, :4], z[:, 8:])


def _chain(tf, *layers, shape=(4, 4, 3)):
    x_in = tf.keras.Input(shape=shape, name="x_in")
    x = x_in
    for layer in layers:
        x = layer(x)
    return tf.keras.Model(x_in, x, name="user_encoder")


def test_guard_refuses_auto_po2_and_names_layer(tf):
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

    from micae.models.extract import extract_encoder

    model = _chain(
        tf,
        QActivation(quantized_bits(8, 1, alpha=1), name="q_in"),
        QConv2D(
            4,
            3,
            padding="same",
            kernel_quantizer=quantized_bits(6, 0, alpha="auto_po2"),
            bias_quantizer=quantized_bits(6, 0, alpha=1),
            name="my_conv",
        ),
        QActivation(quantized_relu(8, 2), name="act"),
        tf.keras.layers.Flatten(),
        QDense(
            4, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), name="d"
        ),
        QActivation(quantized_bits(9, 2, alpha=1), name="lat"),
    )
    with pytest.raises(ConstraintError) as err:
        extract_encoder(model)
    msg = err.value.one_line()
    assert "my_conv" in msg and "auto_po2" in msg and "alpha=1" in msg


def test_guard_refuses_missing_input_quantizer(tf):
    from qkeras import QActivation, QConv2D, QDense, quantized_bits

    from micae.models.extract import extract_encoder

    q = quantized_bits(6, 0, alpha=1)
    model = _chain(
        tf,
        QConv2D(4, 3, kernel_quantizer=q, bias_quantizer=q, name="c"),
        QActivation(quantized_bits(8, 2, alpha=1)),
        tf.keras.layers.Flatten(),
        QDense(4, kernel_quantizer=q, bias_quantizer=q),
        QActivation(quantized_bits(9, 2, alpha=1)),
    )
    with pytest.raises(ConstraintError, match="input is not quantized.*QActivation\\(quantized_bits"):
        extract_encoder(model)


def test_guard_refuses_unsupported_layer_and_missing_quantizer(tf):
    from qkeras import QActivation, QConv2D, QDense, quantized_bits

    from micae.models.extract import extract_encoder

    q = quantized_bits(6, 0, alpha=1)
    pool = _chain(
        tf,
        QActivation(quantized_bits(8, 1, alpha=1)),
        QConv2D(4, 3, kernel_quantizer=q, bias_quantizer=q),
        QActivation(quantized_bits(8, 2, alpha=1)),
        tf.keras.layers.GlobalAveragePooling2D(name="pool"),
        QDense(4, kernel_quantizer=q, bias_quantizer=q),
        QActivation(quantized_bits(9, 2, alpha=1)),
    )
    with pytest.raises(ConstraintError) as err:
        extract_encoder(pool)
    msg = err.value.one_line()
    assert "layer 'pool' (GlobalAveragePooling2D) is a standard Keras layer micae does not support" in msg
    assert "supported: " in msg and "ZeroPadding2D" in msg and "MaxPooling2D" in msg
    no_q = _chain(
        tf,
        QActivation(quantized_bits(8, 1, alpha=1)),
        QConv2D(4, 3, kernel_quantizer=q, bias_quantizer=q),
        QActivation(quantized_bits(8, 2, alpha=1)),
        tf.keras.layers.Flatten(),
        QDense(4, kernel_quantizer=q, bias_quantizer=q, name="last_dense"),
    )
    with pytest.raises(ConstraintError, match="'last_dense' output is not quantized"):
        extract_encoder(no_q)


def test_guard_accepts_quantizer_inside_layer_and_matches_qkeras(tf):
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu
    from tests.conftest import randomize_weights

    from micae.fixed.arith import quantize_float
    from micae.models.extract import extract_encoder

    q = quantized_bits(6, 0, alpha=1)
    model = _chain(
        tf,
        QActivation(quantized_bits(8, 2, keep_negative=True, alpha=1), name="q_in"),
        QConv2D(4, 3, padding="valid", kernel_quantizer=q, bias_quantizer=q, activation=quantized_relu(6, 2), name="c"),
        tf.keras.layers.Flatten(),
        QDense(5, kernel_quantizer=q, bias_quantizer=q, activation=quantized_bits(7, 3, alpha=1), name="d"),
        shape=(5, 5, 2),
    )
    randomize_weights(model, seed=3)
    enc = extract_encoder(model).encoder
    assert [s.quantizer_name for s in enc.stages] == ["c", "d"]
    x = np.random.default_rng(0).uniform(-5, 5, size=(3000, 5, 5, 2)).astype(np.float32)
    codes = quantize_float(x.reshape(len(x), -1), enc.input_type)
    got = enc.latents(codes)
    expected = enc.latent_type.to_int(model.predict(x, verbose=0))
    assert np.array_equal(got, expected)


def test_spec_input_mask_and_elink_output_bits_set_the_budget():
    from micae.models.constraints import check_encoder_spec

    fields = EncoderSpec.__dataclass_fields__
    if "input_mask" not in fields or "output_bits" not in fields:
        pytest.skip("EncoderSpec has no input_mask/output_bits in this tree")
    spec = EncoderSpec(input_shape=(8, 8, 1), padding="valid", input_mask="8x8", output_bits=5)
    b = check_encoder_spec(spec)
    assert (b["input_values"], b["masked_inputs"], b["compression_factor"]) == (48, 16, 3.0)
    assert b["latent_bits"] == 16 * 5 and b["bit_ratio"] == pytest.approx(384 / 80)
