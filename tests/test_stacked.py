"""Stacked two-stage compression (stage-2 encoder over stage-1 latents) and denoising training."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import REPO
from micae.errors import ConfigError, ConstraintError
from micae.fixed.budget import bit_budget
from micae.models.quantizers import QuantSpec
from micae.models.spec import EncoderSpec
from micae.train.config import DEFAULTS, load_config
from micae.train.fit import dropout_corruption

DIGITS = str(REPO / "models" / "digits_micae.yaml")


# ---- denoising: the corruption -------------------------------------------------------------------


def test_dropout_corruption_zeroes_inputs_and_leaves_the_original_alone():
    x = np.random.default_rng(1).uniform(0.1, 1.0, size=(2000, 4, 4, 1)).astype(np.float32)
    clean = x.copy()
    corrupt = dropout_corruption(0.2, seed=3)
    y = corrupt(x, 0)
    assert np.array_equal(x, clean), "the corruption must not modify its input (it is also the target)"
    assert y.shape == x.shape and y.dtype == x.dtype
    zeroed = (y == 0) & (x != 0)
    assert 0.18 < zeroed.mean() < 0.22
    assert np.array_equal(y[~zeroed], x[~zeroed])  # the rest passes unchanged


def test_dropout_corruption_is_seeded_per_epoch_and_handles_micae_part_lists():
    x = np.ones((500, 4, 4, 1), dtype=np.float32)
    c = dropout_corruption(0.3, seed=0)
    assert np.array_equal(c(x, 0), c(x, 0))
    assert not np.array_equal(c(x, 0), c(x, 1))
    assert not np.array_equal(c(x, 0), dropout_corruption(0.3, seed=1)(x, 0))
    parts = c([x, x], 0)
    assert len(parts) == 2 and not np.array_equal(parts[0], parts[1])  # each part drops its own values
    assert np.array_equal(dropout_corruption(0.0, seed=0)(x, 5), x)


def test_fit_phase_feeds_corrupted_inputs_but_clean_targets(tf, tmp_path):
    """One Keras fit over batches corrupted anew each epoch; targets and validation stay clean."""
    from micae.train.fit import corrupted_batches, fit_phase

    x = np.random.default_rng(0).uniform(0.5, 1.0, size=(300, 4)).astype(np.float32)
    batches = corrupted_batches(x, x.copy(), 32, dropout_corruption(0.2, seed=0), epoch=0)
    assert len(batches) == 10
    first = [batches[i] for i in range(len(batches))]
    xs = np.concatenate([b[0] for b in first])
    ys = np.concatenate([b[1] for b in first])
    assert sorted(map(tuple, ys)) == sorted(map(tuple, x)), "every clean target once per epoch"
    assert (xs == 0).mean() > 0.1 and not np.array_equal(np.sort(xs, 0), np.sort(x, 0))
    batches.on_epoch_end()
    assert not np.array_equal(batches[0][0], first[0][0]), "fresh corruption and order each epoch"

    x_in = tf.keras.Input(shape=(4,))
    model = tf.keras.Model(x_in, tf.keras.layers.Dense(4)(x_in))
    rec = fit_phase(
        model,
        x,
        x.copy(),
        x,
        x.copy(),
        work=tmp_path,
        phase="p",
        epochs=3,
        batch_size=32,
        learning_rate=1e-3,
        loss="mse",
        patience=5,
        resume=False,
        verbose=0,
        corrupt=dropout_corruption(0.2, seed=0),
    )
    assert rec["epochs_run"] == 3 and len(rec["history"]["val_loss"]) == 3


# ---- stack config, specs and compression ---------------------------------------------------------


def test_stack_section_defaults_off_and_is_validated():
    cfg = load_config(DIGITS)
    assert cfg.stack == DEFAULTS["stack"] and cfg.stack["enabled"] is False
    with pytest.raises(ConfigError, match="unknown stack option"):
        load_config(DIGITS, sets=["stack.bogus=1"])
    with pytest.raises(ConfigError, match="stack.loss"):
        load_config(DIGITS, sets=["stack.loss=foo"])
    with pytest.raises(ConfigError, match="stack.latent"):
        load_config(DIGITS, sets=["stack.latent=0"])


def test_cli_stack_flags_only_touch_the_stack_section():
    from micae.cli.train import build_parser, overrides_from_args

    plain = overrides_from_args(build_parser().parse_args([]))
    assert not any(k.startswith("stack") for k in plain)
    over = overrides_from_args(build_parser().parse_args(["--stack-latent", "6"]))
    assert over["stack.enabled"] is True and over["stack.latent"] == 6
    cfg = load_config(DIGITS, overrides_from_args(build_parser().parse_args(["--stack"])))
    assert cfg.stack["enabled"] and cfg.stack["latent"] == DEFAULTS["stack"]["latent"]


def test_stage2_spec_reads_the_stage1_latent_grid_and_reports_both_compressions():
    from micae.train.stacked import check_stage2, quant_spec_of, stage2_spec

    s1 = EncoderSpec(
        input_shape=(4, 4, 1), input_quant=QuantSpec(5, 1, signed=False), latent=4, latent_quant=QuantSpec(6, 2)
    )
    assert quant_spec_of(s1.latent_quant.fixed_type()) == QuantSpec(6, 2, signed=True)
    assert quant_spec_of(QuantSpec(8, 2, signed=False).fixed_type()) == QuantSpec(8, 2, signed=False)
    stack = {**DEFAULTS["stack"], "latent": 8}
    s2 = stage2_spec(s1, stack, n_parts=4, latent1=4, latent1_quant=s1.latent_quant)
    assert s2.input_shape == (4, 4, 1) and s2.input_quant == s1.latent_quant and s2.latent_quant == s1.latent_quant
    stage1 = bit_budget(16, 5, 4, 6, n_parts=4)  # 4 parts of 16 five-bit values -> 4 six-bit latents each
    c = check_stage2(s2, stack, stage1, min_chain=3.0)
    assert (c["input_values"], c["stage1_latent_values"], c["stage2_latent_values"]) == (64, 16, 8)
    assert c["stage1"] == 4.0 and c["stage2"] == 2.0 and c["chain"] == 8.0 == c["stage1"] * c["stage2"]
    assert c["stage1_bit_ratio"] == pytest.approx(320 / 96) and c["stage2_bit_ratio"] == pytest.approx(2.0)
    assert c["chain_bit_ratio"] == pytest.approx(320 / 48)
    with pytest.raises(ConstraintError, match="stage 2: compression factor 0.5"):
        check_stage2(stage2_spec(s1, {**stack, "latent": 32}, 4, 4, s1.latent_quant), stack, stage1, 3.0)
    loose = {**stack, "latent": 24, "min_compression": 0.5}  # stage 2 may expand, but not the chain below 3
    with pytest.raises(ConstraintError, match="chain compression factor 2.67 = 64 input values / 24") as err:
        check_stage2(stage2_spec(s1, loose, 4, 4, s1.latent_quant), loose, stage1, 3.0)
    assert "use at most 21 stage-2 latents" in err.value.one_line()
    with pytest.raises(ConstraintError, match="chain bit ratio 6.67 .* below min_bit_compression 7"):
        check_stage2(s2, stack, stage1, 3.0, min_chain_bits=7.0)


def test_cli_refuses_a_too_wide_stage2_before_training(tmp_path, capsys):
    from micae.cli.common import run_cli
    from micae.cli.train import main

    code = run_cli(main, ["--config", DIGITS, "--out", str(tmp_path), "--stack-latent", "64"])
    err = capsys.readouterr().err
    assert code == 2 and "stage 2: compression factor" in err and "fix:" in err
    assert not any(tmp_path.iterdir()), "nothing was trained"


# ---- end to end (slow) ------------------------------------------------------------------------------


def _tiny_digits(tmp_path, **sets):
    base = {"train.epochs": 2, "train.float_twin": False, "train.patience": 5}
    return load_config(DIGITS, sets=[f"{k}={v}" for k, v in {**base, **sets}.items()])


@pytest.mark.slow
def test_stacked_run_trains_loads_back_and_stage2_encoder_is_bit_exact(tmp_path):
    from micae.hls.convert import HlsOptions
    from micae.models.io import load_model
    from micae.synthesize import SynthRequest, synthesize
    from micae.train.run import train_run
    from micae.train.stacked import STAGE1_LATENTS, format_stacked_table, train_stacked

    cfg = _tiny_digits(tmp_path, **{"stack.enabled": "true", "stack.latent": 8, "stack.epochs": 3})
    run_dir, _ = train_run(cfg, tmp_path / "models")
    stacked = train_stacked(cfg, run_dir)

    metrics = json.loads((run_dir / "metrics.json").read_text())["stacked"]
    assert metrics["compression"]["stage2"] == pytest.approx(2.0)
    assert metrics["compression"]["chain"] == pytest.approx(metrics["compression"]["stage1"] * 2.0)
    for key in ("stage1", "end_to_end"):
        assert np.isfinite(metrics[key]["mse"])
    assert metrics["stage1"]["mse"] == pytest.approx(
        json.loads((run_dir / "metrics.json").read_text())["quantized"]["mse"]
    )
    assert np.isfinite(metrics["stage2"]["latent_mse"]) and metrics["hls_route"]["supported"] is True
    assert "stage2" in (run_dir / "history.csv").read_text()
    table = format_stacked_table(metrics)
    assert "end-to-end" in table and "chain" in table

    z = np.load(run_dir / STAGE1_LATENTS)
    assert z.shape[1:] == (4, 4, 1)
    enc2 = load_model(run_dir / "stage2_encoder.h5")
    assert np.array_equal(enc2.predict(z, verbose=0), stacked["models"]["encoder2"].predict(z, verbose=0))
    chain = load_model(run_dir / "stacked_micae.h5")
    x = np.load(run_dir / "test_data.npz")["x"][:50]
    parts = [x[:, i] for i in range(x.shape[1])]
    assert np.allclose(chain.predict(parts, verbose=0), stacked["models"]["chain"].predict(parts, verbose=0), atol=1e-6)

    report = synthesize(
        SynthRequest(
            model=run_dir / "stage2_encoder.h5",
            data=run_dir / STAGE1_LATENTS,
            rtl="off",
            vendor="off",
            vectors=300,
            hls_root=tmp_path / "hls",
            firmware_root=tmp_path / "firmware",
            options=HlsOptions(),
        )
    )
    assert report["ok"]
    ran = {k: v for k, v in report["verification"].items() if "mismatches" in v}
    assert {"integer_model", "c_model", "csim"} <= set(ran) and all(v["mismatches"] == 0 for v in ran.values())


@pytest.mark.slow
def test_denoising_run_trains_and_loads_back(tmp_path):
    from micae.models.io import load_model
    from micae.train.run import train_run

    cfg = _tiny_digits(tmp_path, **{"train.noise": "dropout:0.2"})
    run_dir, metrics = train_run(cfg, tmp_path / "models")
    assert load_config(run_dir / "config.yaml").train["noise"] == "dropout:0.2"
    assert metrics["training"]["micae"]["epochs_run"] == 2 and np.isfinite(metrics["quantized"]["mse"])
    x = np.load(run_dir / "test_data.npz")["x"]
    enc = load_model(run_dir / "encoder.h5")
    lat = enc.predict(x.reshape(-1, *x.shape[2:]), verbose=0).reshape(len(x), x.shape[1], -1)
    saved = np.load(run_dir / "test_evaluation.npz")["latents"]
    assert np.array_equal(lat, saved)
    micae = load_model(run_dir / "micae.h5")
    assert micae.predict([x[:, i] for i in range(x.shape[1])], verbose=0).shape == (
        len(x),
        4,
        4,
        4,
    )  # 4 tiles of 4x4, concatenated on channels
