"""``econt.elinks`` / ``--elinks``: the chip's latent format per e-link count, its frame budget, the chip and
CMSSW input normalisations, the module sum beside the latents, and the errors a user can run into."""

from __future__ import annotations

import numpy as np
import pytest

from micae.errors import ConfigError, ConstraintError, DataError

CHIP_LATENT = {"bits": 9, "integer": 1, "signed": False, "relu": True}


def _load(path=None, **over):
    from micae.train.config import load_config

    return load_config(path, over)


@pytest.mark.parametrize(("elinks", "bits"), [(1, 1), (2, 3), (3, 5), (4, 7), (5, None), (9, None)])
def test_elinks_set_the_chips_latent_format(elinks, bits):
    cfg = _load("models/econt.yaml", **{"econt.elinks": elinks})
    spec = cfg.encoder_spec((4, 4, 3))
    t = spec.latent_quant.fixed_type()
    assert (t.width, t.frac, t.signed, spec.latent_quant.relu) == (9, 8, False, True)
    assert spec.output_bits == bits
    # the run folder's config.yaml reads back the same
    again = _reload(cfg)
    assert again.raw == cfg.raw and again.elinks == elinks and again.encoder_spec((4, 4, 3)) == spec
    # a config that writes the chip's latent out (as models/econt.yaml does) agrees with econt.elinks
    assert cfg.raw["encoder"]["latent_quant"] == CHIP_LATENT


def _reload(cfg):
    import tempfile
    from pathlib import Path

    from micae.train.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(cfg.to_yaml())
        return load_config(path)


def test_unset_elinks_keeps_the_encoder_section():
    cfg = _load("models/econt_full.yaml")
    assert cfg.elinks is None
    spec = cfg.encoder_spec((4, 4, 3))
    assert spec.latent_quant.signed and not spec.latent_quant.relu and spec.output_bits is None


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"econt.elinks": 0}, r"^econt.elinks = 0: must be an integer between 1 and 13, or null"),
        ({"econt.elinks": 14}, r"^econt.elinks = 14: must be an integer between 1 and 13"),
        ({"econt.elinks": "two"}, r"^econt.elinks = 'two': must be an integer"),
        ({"econt.elinks": 2.0}, r"^econt.elinks = 2.0: must be an integer"),
        ({"econt.elinks": True}, r"^econt.elinks = True: must be an integer"),
        ({"econt.elinks": 2, "dataset.name": "digits"}, r"dataset 'digits' is not HGCAL data"),
        ({"econt.elinks": 2, "encoder.latent": 8}, r"frame holds 16 latents, encoder.latent = 8"),
        ({"econt.elinks": 2, "encoder.output_bits": 5}, r"encoder.output_bits = 5 conflicts with econt.elinks = 2"),
        ({"econt.wires": 2}, r"^econt.wires = 2: unknown key; econt takes elinks"),
        ({"decoder.module_sum": "yes"}, r"^decoder.module_sum = 'yes': must be true or false"),
    ],
)
def test_config_errors_name_the_problem(over, message):
    with pytest.raises(ConfigError, match=message):
        _load(None, **over)


def test_a_config_latent_format_beside_elinks_is_refused():
    # models/econt_full.yaml sets a signed latent; --elinks must not silently override it
    with pytest.raises(ConfigError, match=r"encoder.latent_quant .* conflicts with econt.elinks = 3"):
        _load("models/econt_full.yaml", **{"econt.elinks": 3})


def test_module_sum_needs_hgcal_data_and_the_plain_objective():
    with pytest.raises(ConfigError, match=r"dataset 'digits' has none"):
        _load(None, **{"dataset.name": "digits", "decoder.module_sum": True})
    with pytest.raises(ConfigError, match=r"works with objective ae, not vae"):
        _load(None, **{"decoder.module_sum": True, "train.objective": "vae"})
    with pytest.raises(ConfigError, match=r"not supported with stacked levels"):
        _load(None, **{"decoder.module_sum": True, "stack.enabled": True})


def _micae(capsys, *argv) -> tuple[int, str]:
    """``micae ARGV`` as the console script runs it: (exit code, the one error line)."""
    from micae.cli.common import run_cli
    from micae.cli.main import main

    code = run_cli(main, [str(a) for a in argv])
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    return code, lines[0]


def test_cli_elinks_errors(capsys, monkeypatch):
    import micae.train.run

    def boom(*a, **k):
        raise AssertionError("a refused config must not train")

    monkeypatch.setattr(micae.train.run, "train_run", boom)
    code, line = _micae(capsys, "train", "--config", "models/econt.yaml", "--elinks", "two")
    assert code == 2 and line.startswith("error: econt.elinks = 'two': must be an integer between 1 and 13")
    assert "--elinks" in line  # the fix names the option
    code, line = _micae(capsys, "train", "--config", "models/econt.yaml", "--elinks", "2", "--latent-bits", "3")
    assert code == 2
    assert "(from --latent-bits) conflicts with econt.elinks = 2" in line and "drop --latent-bits" in line
    code, line = _micae(capsys, "train", "--elinks", "2", "--dataset", "digits")
    assert code == 2 and "dataset 'digits' is not HGCAL data" in line

    from micae.cli.train import build_parser, option_flags, overrides_from_args
    from micae.train.config import load_config

    args = build_parser().parse_args(["--config", "models/econt.yaml", "--elinks", "4"])
    cfg = load_config(args.config, overrides_from_args(args), args.set, flags=option_flags())
    assert (cfg.elinks, cfg.encoder_spec((4, 4, 3)).output_bits) == (4, 7)


@pytest.mark.parametrize(
    ("elinks", "bits", "frame", "frame_ratio", "latent_ratio"),
    [(2, 3, 64, 6.0, 8.0), (3, 5, 96, 4.0, 4.8), (4, 7, 128, 3.0, 384 / 112), (5, 9, 160, 2.4, 384 / 144)],
)
def test_frame_budget_per_elink_count(elinks, bits, frame, frame_ratio, latent_ratio):
    from micae.fixed.budget import bit_budget

    b = bit_budget(48, 8, 16, bits, n_parts=2, elinks=elinks)
    assert b["compression_factor"] == 3.0  # values: 48 / 16 at every L
    assert b["bit_ratio"] == pytest.approx(latent_ratio)
    assert (b["frame_header_bits"], b["frame_sum_bits"], b["frame_latent_bits"], b["frame_spare_bits"]) == (
        5,
        9,
        16 * bits,
        2,
    )
    assert b["frame_bits"] == frame == 32 * elinks == 5 + 9 + 16 * bits + 2
    assert b["frame_bit_ratio"] == pytest.approx(frame_ratio) and b["total_frame_bits"] == 2 * frame
    assert b["latent_bits"] == 16 * bits and b["input_bits"] == 384  # the keys that were there stay


def test_frame_budget_refuses_latents_that_are_not_the_frames():
    from micae.fixed.budget import bit_budget

    with pytest.raises(ConstraintError, match=r"16 latents of 9 bits; the ECON-T frame on 2 e-links holds 16 "):
        bit_budget(48, 8, 16, 9, elinks=2)
    assert "frame_bits" not in bit_budget(48, 8, 16, 9)


def test_spec_budget_and_log_line_show_the_frame():
    from micae.train.shared import describe_budget

    cfg = _load("models/econt.yaml", **{"econt.elinks": 2})
    b = cfg.check_encoder((4, 4, 3))
    assert (b["latent_bits_each"], b["frame_bits"], b["elinks"]) == (3, 64, 2)
    assert "5 header + 9 sum + 48 latent + 2 spare = 64 bits, frame bit ratio 6" in describe_budget(b)


def _charges(n: int = 400, seed: int = 3) -> np.ndarray:
    from micae.data import hgcal_synth

    charges, _ = hgcal_synth.generate(n, seed=seed)
    return charges


def test_chip_and_cmssw_normalisations_on_integer_charges():
    from micae.data import normalise
    from micae.econt.normaliser import chip_normalise, cmssw_normalise

    charges = _charges()
    charges[0, :3] = [700, 300, 23]  # a sum above 256: the chip truncates the low bits
    charges = charges[charges.sum(axis=1) > 0]
    chip, scale = normalise(charges, "chip")
    ref, ref_scale = chip_normalise(charges)
    assert np.array_equal(chip, ref) and np.array_equal(scale, ref_scale)
    assert np.array_equal(chip * 128, np.floor(chip * 128)) and chip.max() < 2  # on the 8-bit input grid
    assert chip[0, 0] == np.float32(np.floor(700 * 2.0 ** (7 - 10)) / 128)  # msb(1023 + rest) = 10, truncated
    cmssw, _ = normalise(charges, "cmssw")
    assert np.array_equal(cmssw, cmssw_normalise(charges)[0])
    assert np.array_equal(cmssw * 256, np.floor(cmssw * 256)) and not np.array_equal(cmssw, chip)
    with pytest.raises(DataError, match=r"normalisation 'chip' needs the chip's integer trigger charges"):
        normalise(charges + 0.5, "chip")
    with pytest.raises(ConfigError, match="unknown normalisation 'chipp'"):
        normalise(charges, "chipp")


def test_dataset_carries_the_5e4m_module_sum():
    from micae.data import load_dataset
    from micae.econt.codes import msb

    ds = load_dataset("hgcal-synth", n_samples=600, normalisation="chip", n_parts=2, seed=1)
    aux = ds.aux["test"]
    assert aux["module_sum"].shape == aux["module_sum_code"].shape == (len(ds.x_test), 2)
    scale = aux["norm_scale"]
    x = ds.x_test.reshape(len(ds.x_test), 2, -1)
    # the true sum, from the normalised inputs and the scale (exact where msb(sum) <= 7: nothing is truncated)
    total = np.round((x * 128).sum(axis=-1) * scale / 128).astype(np.int64)
    small = scale < 256
    assert small.mean() > 0.5
    top = msb(total[small])
    expect = np.where(total[small] < 16, total[small], np.floor(total[small] * 16.0 / 2.0**top) * 2.0**top / 16)
    assert np.array_equal(aux["module_sum"][small], (expect / scale[small]).astype(np.float32))
    assert (aux["module_sum"] >= 1).all() and (aux["module_sum"] < 2).all()
    steps = aux["module_sum"][small & (total >= 16)] * 16
    assert np.array_equal(steps, np.floor(steps))  # 4 bits below the MSB: a multiple of 1/16
    ds_float = load_dataset("hgcal-synth", n_samples=50, normalisation="sumlog2")
    assert "module_sum" in ds_float.aux["test"]  # integer charges: the code exists whatever the normalisation


def test_unsigned_elink_tail_is_the_chips_truncation(tf):
    """The trainable form (z - d, quantizer) of the top-b cut of quantized_relu(9, 1) equals floor(z 2^(b-1))
    / 2^(b-1) on every 9-bit code, and the integer model reads it back exactly (no saturating minimum)."""
    from qkeras import QActivation

    from micae.models.encoder import elink_output
    from micae.models.extract import inspect_encoder
    from micae.models.quantizers import QuantSpec

    lat = QuantSpec(9, 1, signed=False, relu=True)
    codes = np.resize(np.arange(-256, 256), (32, 16))
    x = (codes / 128).astype(np.float32)
    z_ref = np.clip(np.round(x * 256) / 256, 0, 2 - 1 / 256)
    for bits in (1, 3, 5, 7, 8):
        x_in = tf.keras.Input((16,), name="x")
        z = QActivation(lat.qkeras(), name="lat")(QActivation(QuantSpec(9, 1).qkeras(), name="q_in")(x_in))
        model = tf.keras.Model(x_in, elink_output(z, bits, lat))
        s = 2 ** (bits - 1)
        got = model.predict(x, verbose=0)
        assert np.array_equal(got, np.floor(z_ref * s) / s), bits
        assert got.max() == 2 - 1 / s  # the top code is reached: no clip at 1 - 2**-(b-1)
        enc = inspect_encoder(model).encoder
        assert (enc.latent_type.width, enc.latent_type.frac, enc.latent_type.signed) == (bits, bits - 1, False)
        assert np.array_equal(enc.latents(codes), enc.latent_type.to_int(got))


def test_econt_encoder_at_two_elinks_has_live_bias_and_three_bit_output(tf):
    from micae.models.encoder import RELU_LATENT_BIAS, build_encoder
    from micae.models.extract import extract_encoder

    cfg = _load("models/econt.yaml", **{"econt.elinks": 2})
    enc = build_encoder(cfg.encoder_spec((4, 4, 3)), seed=0)
    assert np.all(enc.get_layer("dense").get_weights()[1] == RELU_LATENT_BIAS)
    t = extract_encoder(enc).encoder.latent_type
    assert (t.width, t.frac, t.signed) == (3, 2, False)


def test_liveness_penalty_acts_only_on_dead_latents(tf):
    from micae.models.encoder import build_encoder
    from micae.train.liveness import live_encoder, liveness_margin

    cfg = _load("models/econt.yaml", **{"econt.elinks": 2})
    spec = cfg.encoder_spec((4, 4, 3))
    assert liveness_margin(spec) == 0.25  # the 3-bit step: below it the link sends code 0
    enc = build_encoder(spec, seed=0)
    live = live_encoder(enc, liveness_margin(spec), 1.0)
    x = np.random.default_rng(0).uniform(0, 1, (64, 4, 4, 3)).astype(np.float32)
    assert np.array_equal(live(x).numpy(), enc(x).numpy())
    kernel, bias = enc.get_layer("dense").get_weights()
    kernel[:, :] = np.abs(kernel) + 1 / 32
    enc.get_layer("dense").set_weights([kernel, bias])
    live(x)
    assert float(sum(live.losses)) == 0.0  # every latent sends a non-zero code for some wafer
    kernel[:, 3] = -0.5  # latent 3 is negative for every wafer: dead
    enc.get_layer("dense").set_weights([kernel, bias])
    with tf.GradientTape() as tape:
        live(x)
        penalty = tf.add_n(live.losses)
    pre_max = float(tf.reduce_max(tf.keras.Model(enc.input, enc.get_layer("dense").output)(x)[:, 3]))
    assert float(penalty) == pytest.approx(0.25 - pre_max, rel=1e-5)
    grad = tape.gradient(penalty, enc.get_layer("dense").bias)
    assert grad.numpy()[3] < 0 and np.count_nonzero(grad.numpy()) == 1  # pushes latent 3 (only) up


def test_micae_with_module_sum_takes_the_sums_beside_the_parts(tf):
    from micae.models.decoder import build_decoder
    from micae.models.encoder import build_encoder
    from micae.models.micae import build_micae
    from micae.models.spec import DecoderSpec
    from micae.train.shared import model_inputs

    cfg = _load("models/econt.yaml", **{"econt.elinks": 3})
    enc = build_encoder(cfg.encoder_spec((4, 4, 3)), seed=0)
    model = build_micae(enc, build_decoder(DecoderSpec(), 2 * 16 + 2, (4, 4, 6)), 2, module_sum=True)
    assert [i.name for i in model.inputs] == ["part_0", "part_1", "module_sum"]
    x = np.random.default_rng(1).uniform(0, 1, (5, 2, 4, 4, 3)).astype(np.float32)
    sums = np.full((5, 2), 1.5, np.float32)
    inputs = model_inputs(x, sums)
    assert len(inputs) == 3 and inputs[2].shape == (5, 2)
    out_a = model.predict(inputs, verbose=0)
    out_b = model.predict(model_inputs(x, sums + 0.25), verbose=0)
    assert out_a.shape == (5, 4, 4, 6) and not np.array_equal(out_a, out_b)  # the decoder reads the sums


@pytest.fixture(scope="module")
def l2_run(tmp_path_factory, tf):
    """models/econt.yaml at 2 e-links, cut down: 4000 generated wafers, 5 epochs, no float twin."""
    from micae.train.config import load_config
    from micae.train.run import train_run

    root = tmp_path_factory.mktemp("elinks")
    over = {
        "name": "econt_l2",
        "econt.elinks": 2,
        "dataset.n_samples": 4000,
        "train.epochs": 5,
        "train.batch_size": 128,
        "train.float_twin": False,
    }
    run_dir, metrics = train_run(load_config("models/econt.yaml", over), root / "models", force=True)
    return root, run_dir, metrics


@pytest.mark.slow
def test_two_elink_encoder_trains_with_live_latents(l2_run):
    _, run_dir, m = l2_run
    zero = m["zero_codes"]
    assert (zero["elinks"], zero["latent_bits"]) == (2, 3)
    assert zero["fraction"] < 0.9 and max(zero["per_latent"]) < 1.0  # every latent sends non-zero codes
    assert m["dead_latents"] == []
    assert (m["bit_budget"]["frame_bits"], m["bit_budget"]["latent_bits"], m["bit_ratio"]) == (64, 48, 8.0)
    lat = np.load(run_dir / "test_evaluation.npz")["latents"]
    assert set(np.unique(lat * 4).tolist()) <= set(range(8))  # 3-bit codes, step 1/4, in [0, 1.75]


@pytest.mark.slow
def test_two_elink_encoder_verifies_bit_exactly_with_3_bit_ports(l2_run):
    import json

    from micae.synthesize import SynthRequest, synthesize

    root, run_dir, _ = l2_run
    report = synthesize(
        SynthRequest(
            model=run_dir,
            hls_root=root / "hls",
            firmware_root=root / "fw",
            vectors=300,
            rtl_vectors=3000,
            rtl="on",
            vendor="off",
            rtl_resources=False,
            pnr="off",  # the run config's pnr: nexus; place-and-route is tested in test_api, not needed here
            force=True,
        )
    )
    levels = report["verification"]
    assert {"integer_model", "c_model", "csim", "rtl", "rtl_crosscheck"} <= set(levels)
    for name in ("integer_model", "c_model", "csim", "rtl", "rtl_crosscheck"):
        assert levels[name]["mismatches"] == 0 and levels[name]["vectors"] >= 300, (name, levels[name])
    out = report["rtl"]["ports"]["output"]
    assert (out["width"], out["frac"], out["signed"], out["count"], out["bus_width"]) == (3, 2, False, 16, 48)
    assert report["model"]["latent_type"]["width"] == 3
    budget = json.loads((root / "fw" / "econt_l2" / "report.json").read_text())["model"]["bit_budget"]
    assert (budget["elinks"], budget["frame_bits"], budget["frame_bit_ratio"]) == (2, 64, 6.0)
    defines = (root / "hls" / "econt_l2" / "firmware" / "defines.h").read_text()
    assert "ap_ufixed<3,1,AP_RND_CONV,AP_SAT,0> result_t;" in defines  # hls4ml's output: 3 bits, unsigned
