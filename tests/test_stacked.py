"""Stacked two-stage compression (stage-2 encoder over stage-1 latents) and denoising training."""

from __future__ import annotations

import json
from pathlib import Path

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
    with pytest.raises(ConfigError, match="stack.bogus = 1: unknown key; stack takes"):
        load_config(DIGITS, sets=["stack.bogus=1"])
    with pytest.raises(ConfigError, match="stack.loss = 'foo': must be one of 'latent', 'chain'"):
        load_config(DIGITS, sets=["stack.loss=foo"])
    with pytest.raises(ConfigError, match="stack.latent = 0: must be an integer >= 1"):
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


# ---- stack.levels: config, specs and budgets -------------------------------------------------------

STACK3 = str(REPO / "models" / "econt_stack3.yaml")


def _levels(levels) -> list[str]:
    import yaml

    return ["stack.enabled=true", "stack.levels=" + yaml.safe_dump(levels, default_flow_style=True).strip()]


def test_the_one_section_form_is_one_level_and_levels_are_completed_from_the_section():
    from micae.train.stack_levels import resolve_levels

    one = load_config(DIGITS, sets=["stack.latent=6", "stack.loss=chain"]).stack
    assert resolve_levels(one) == [
        {k: v for k, v in one.items() if k not in ("enabled", "levels", "fine_tune_end_to_end")}
    ]
    cfg = load_config(DIGITS, sets=[*_levels([{"latent": 8}, {"latent": 4, "loss": "chain"}]), "stack.filters=2"])
    two = resolve_levels(cfg.stack)
    assert [lv["latent"] for lv in two] == [8, 4] and [lv["loss"] for lv in two] == ["latent", "chain"]
    assert all(lv["filters"] == 2 for lv in two), "keys a level leaves out come from the stack section"


@pytest.mark.parametrize(
    ("levels", "match"),
    [
        ([], r"stack.levels = \[\]: must be a non-empty list"),
        ({"latent": 8}, r"stack.levels = \{'latent': 8\}: must be a list"),
        ([{"latent": 8}, 4], r"stack.levels\[1\] = 4: must be a mapping"),
        ([{"latent": 8, "kernal": 3}], r"stack.levels\[0\].kernal = 3: unknown key; stack.levels\[0\] takes"),
        ([{"latent": 8}, {"latent": 8}], r"stack.levels\[1\].latent = 8: stage 3: does not compress the 8 stage-2"),
        ([{"latent": 8}, {"latent": 6, "min_compression": 1.5}], r"levels\[1\].latent = 6: .* \(factor 1.33, needs"),
        ([{"latent": 16}], r"stack.levels\[0\].latent = 16: stage 2: does not compress the 16 stage-1"),
        ([{"latent": 8}, {"latent": 2, "rows": 3}], r"stack.levels\[1\].rows = 3: stage 3: does not divide the 8"),
        ([{"latent": 8, "padding": "valid", "kernel": 5}], r"levels\[0\].kernel = 5: stage 2: with 'valid' .* 4x4"),
        ([{"latent": 8, "loss": "kl"}], r"stack.levels\[0\].loss = 'kl': must be one of 'latent', 'chain'"),
        ([{"latent": 8, "filters": 0}], r"stack.levels\[0\].filters = 0: must be an integer >= 1"),
        ([{"latent": 8, "latent_quant": 9}], r"stack.levels\[0\].latent_quant = 9: must be a mapping"),
        ([{"latent": 8, "epochs": 0}], r"stack.levels\[0\].epochs = 0: must be an integer >= 1"),
    ],
)
def test_bad_level_lists_raise_config_errors_naming_the_level_and_key(levels, match):
    with pytest.raises(ConfigError, match=match) as err:  # digits: stage 1 is 4 parts x 4 latents = 16
        load_config(DIGITS, sets=_levels(levels))
    assert err.value.fix


def test_one_section_form_keeps_its_messages_and_fine_tune_must_be_a_bool():
    with pytest.raises(ConfigError, match=r"stack.rows = 3: stage 2: does not divide the 16 stage-1 latents"):
        load_config(DIGITS, sets=["stack.rows=3"])
    with pytest.raises(ConfigError, match="stack.fine_tune_end_to_end = 'yes': must be true or false"):
        load_config(DIGITS, sets=["stack.fine_tune_end_to_end='yes'"])
    assert load_config(DIGITS, sets=["stack.rows=2", "stack.latent=4"]).stack["rows"] == 2


def test_cli_refuses_a_bad_level_list_before_training(tmp_path, capsys):
    from micae.cli.common import run_cli
    from micae.cli.train import main

    bad = "stack.levels=[{latent: 8}, {latent: 8}]"
    code = run_cli(main, ["--config", STACK3, "--out", str(tmp_path), "--set", bad])
    err = capsys.readouterr().err
    assert code == 2 and "stack.levels[1].latent = 8: stage 3: does not compress the 8 stage-2 latents" in err
    assert "fix: use at most 7 latents for stage 3" in err and not any(tmp_path.iterdir()), "nothing was trained"


def test_a_rerun_clears_only_stack_files():
    from micae.train.stack_levels import encoder_file, is_stack_file, latents_file

    assert encoder_file(3) == "stage3_encoder.h5" and latents_file(2) == "stage2_latents.npy"
    assert all(
        map(is_stack_file, ["stage3_encoder.h5", "stage4_decoder.h5", "stage1_latents.npy", "stage2_latents.npy"])
    )
    assert not any(map(is_stack_file, ["encoder.h5", "micae.h5", "stage1_encoder.h5", "stacked_micae.h5", "x.npy"]))


def test_level_specs_chain_their_quantizers_and_budgets_multiply():
    from micae.train.stack_levels import check_budgets, plan_specs

    cfg = load_config(STACK3)
    s1 = cfg.encoder_spec((4, 4, 3))
    lq = QuantSpec(7, 1, signed=True)
    stack = {**cfg.stack, "levels": [{**cfg.stack["levels"][0], "latent_quant": lq.to_dict()}, cfg.stack["levels"][1]]}
    s2, s3 = plan_specs(s1, stack, n_parts=2, latent1=16, latent1_quant=s1.latent_quant)
    assert s2.input_shape == (2, 16, 1) and s2.input_quant == s1.latent_quant and s2.latent_quant == lq
    assert s3.input_shape == (2, 4, 1) and s3.input_quant == lq == s3.latent_quant, "level 3 reads level 2's grid"
    c = check_budgets([s2, s3], stack, bit_budget(48, 8, 16, 9, n_parts=2), min_chain=3.0)
    assert [r["stage"] for r in c["levels"]] == [1, 2, 3]
    assert [r["compression_factor"] for r in c["levels"]] == [3.0, 4.0, 2.0] and c["chain"] == 24.0 == 96 / 4
    assert [r["latent_bits"] for r in c["levels"]] == [288, 56, 28] and c["chain_bit_ratio"] == pytest.approx(768 / 28)
    assert [r["chain_factor"] for r in c["levels"]] == [3.0, 12.0, 24.0]
    assert c["stage3"] == 2.0 and c["stage3_latent_values"] == 4 and c["stage3_min_compression"] == 1.5
    wide = {**stack, "levels": [stack["levels"][0], {**stack["levels"][1], "latent": 6}]}
    _, s3w = plan_specs(s1, wide, 2, 16, s1.latent_quant)
    with pytest.raises(ConstraintError, match="stage 3: compression factor 1.33") as err:
        check_budgets([s2, s3w], wide, bit_budget(48, 8, 16, 9, n_parts=2), 3.0)
    assert "stack.levels[1].latent (stage 3)" in err.value.fix


# ---- end to end (slow) ------------------------------------------------------------------------------


def _tiny_digits(tmp_path, **sets):
    base = {"train.epochs": 2, "train.float_twin": False, "train.patience": 5}
    return load_config(DIGITS, sets=[f"{k}={v}" for k, v in {**base, **sets}.items()])


@pytest.fixture(scope="module")
def digits_stage1(tmp_path_factory):
    """One tiny stage-1 digits run (the stack settings do not change it); tests stack copies of it."""
    from micae.train.run import train_run

    run_dir, _ = train_run(_tiny_digits(None), tmp_path_factory.mktemp("digits") / "models")
    return run_dir


def _copy_run(run_dir, tmp_path):
    import shutil

    return Path(shutil.copytree(run_dir, tmp_path / "models" / run_dir.name))


@pytest.mark.slow
def test_one_section_stacked_run_trains_and_loads_back(digits_stage1, tmp_path):
    from micae.models.io import load_model
    from micae.train.stacked import STAGE1_LATENTS, format_stacked_table, train_stacked

    cfg = _tiny_digits(tmp_path, **{"stack.enabled": "true", "stack.latent": 8, "stack.epochs": 3})
    run_dir = _copy_run(digits_stage1, tmp_path)
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
    assert metrics["form"] == "section" and [lv["stage"] for lv in metrics["levels"]] == [2]
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

    # its stage-2 encoder is built as every level's is: the conversion check runs on the levels form below


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


# ---- three stages on HGCAL wafers (slow; one trained stack shared by the tests below) --------------------


@pytest.fixture(scope="module")
def stack3(tmp_path_factory):
    """models/econt_stack3.yaml cut down: 1000 wafer pairs, 1 epoch per phase, mse; stage 3 trains on ``chain``."""
    from micae.train.run import train_run
    from micae.train.stacked import train_stacked

    sets = ["dataset.n_samples=600", "train.epochs=1", "train.float_twin=false", "train.loss=mse", "stack.epochs=1"]
    cfg = load_config(STACK3, sets=sets)
    run_dir, _ = train_run(cfg, tmp_path_factory.mktemp("stack3") / "models")
    with pytest.MonkeyPatch.context() as mp:
        frozen = _watch_stage3_weights(mp)
        stacked = train_stacked(cfg, run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"run_dir": run_dir, "stacked": stacked, "metrics": metrics, "unchanged_by_stage3": frozen}


def _watch_stage3_weights(mp) -> dict:
    """Record which models kept their weights while stage 3 trained (``loss: chain``: it backpropagates
    through stages 2 and 1, so only their freezing keeps them still)."""
    import micae.train.stacked as stacked_module

    real_fit, unchanged = stacked_module._fit, {}

    def watched_fit(cfg, ds, model, z_in, work, *, phase, **kw):
        if phase != "stage3":
            return real_fit(cfg, ds, model, z_in, work, phase=phase, **kw)
        names = ("encoder", "decoder", "stage2_encoder", "stage2_decoder", "stage3_encoder")
        before = {n: model.get_layer(n).get_weights() for n in names}
        record = real_fit(cfg, ds, model, z_in, work, phase=phase, **kw)
        for n in names:
            after = model.get_layer(n).get_weights()
            unchanged[n] = all(np.array_equal(a, b) for a, b in zip(before[n], after, strict=True))
        return record

    mp.setattr(stacked_module, "_fit", watched_fit)
    return unchanged


def _hls_check(model, data, root):
    from micae.hls.convert import HlsOptions
    from micae.synthesize import SynthRequest, synthesize

    report = synthesize(
        SynthRequest(
            model=model,
            data=data,
            rtl="off",
            vendor="off",
            vectors=300,
            hls_root=root / "hls",
            firmware_root=root / "firmware",
            options=HlsOptions(),
        )
    )
    ran = {k: v for k, v in report["verification"].items() if "mismatches" in v}
    return report, ran


@pytest.mark.slow
def test_three_stage_stack_reports_every_level_and_its_budget(stack3):
    from micae.models.io import load_model

    run_dir, s = stack3["run_dir"], stack3["metrics"]["stacked"]
    assert s["form"] == "levels" and s["n_stages"] == 3 and [lv["stage"] for lv in s["levels"]] == [2, 3]
    assert [lv["loss"] for lv in s["levels"]] == ["latent", "chain"]
    c = s["compression"]  # 2 wafers x 48 cells x 8 b -> 32 x 9 b -> 8 x 9 b -> 4 x 9 b
    assert [r["compression_factor"] for r in c["levels"]] == [3.0, 4.0, 2.0] and c["chain"] == 24.0
    assert [r["latent_bits"] for r in c["levels"]] == [288, 72, 36] and c["chain_bit_ratio"] == pytest.approx(768 / 36)
    assert [lv["budget"]["chain_factor"] for lv in s["levels"]] == [12.0, 24.0]
    for lv in s["levels"]:
        assert (
            np.isfinite(lv["latent_mse"]) and np.isfinite(lv["inputs"]["mse"]) and np.isfinite(lv["inputs"]["emd_mean"])
        )
        assert lv["hls_route"]["supported"] is True and lv["training"]["epochs_run"] == 1
        assert all((run_dir / f).is_file() for f in lv["files"])
    assert s["end_to_end"] == s["levels"][-1]["inputs"] and "emd_mean" in s["end_to_end"]
    assert s["fine_tune_end_to_end"]["epochs_run"] == 1
    assert [lv["input_shape"] for lv in s["levels"]] == [[2, 16, 1], [2, 4, 1]]
    assert stack3["unchanged_by_stage3"] == {
        "encoder": True,
        "decoder": True,
        "stage2_encoder": True,
        "stage2_decoder": True,
        "stage3_encoder": False,
    }, "stages 1 and 2 stay frozen while stage 3 trains through them"
    phases = {row.split(",")[0] for row in (run_dir / "history.csv").read_text().splitlines()[1:]}
    assert {"micae", "stage2", "stage3", "stack_finetune"} <= phases
    # stage 1 stayed frozen through every stacked phase: the chain holds the run's own stage-1 weights
    enc1 = load_model(run_dir / "encoder.h5")
    chain = load_model(run_dir / "stacked_micae.h5")
    for a, b in zip(enc1.get_weights(), chain.get_layer("encoder").get_weights(), strict=True):
        assert np.array_equal(a, b)


@pytest.mark.slow
def test_three_stage_end_to_end_metrics_are_against_the_original_inputs(stack3):
    """Recompute the chain by hand from the saved files: stage-1 encoder per wafer, stages 2-3 up, decoders down."""
    from micae.metrics.emd import emd, emd_summary
    from micae.models.io import load_model

    run_dir, s = stack3["run_dir"], stack3["metrics"]["stacked"]
    x = np.load(run_dir / "test_data.npz")["x"]  # the original inputs (samples, 2 wafers, 4, 4, 3)
    micae = load_model(run_dir / "micae.h5")
    enc1, dec1 = micae.get_layer("encoder"), micae.get_layer("decoder")
    enc = {k: load_model(run_dir / f"stage{k}_encoder.h5") for k in (2, 3)}
    dec = {k: load_model(run_dir / f"stage{k}_decoder.h5") for k in (2, 3)}
    z1 = enc1.predict(x.reshape(-1, 4, 4, 3), verbose=0).reshape(len(x), 2, 16, 1)
    z2 = enc[2].predict(z1, verbose=0).reshape(len(x), 2, 4, 1)  # stage 3 reads 8 latents as 2 rows
    assert np.array_equal(np.load(run_dir / "stage1_latents.npy"), z1)
    assert np.array_equal(np.load(run_dir / "stage2_latents.npy"), z2)
    z3 = enc[3].predict(z2, verbose=0)
    out = dec1.predict(dec[2].predict(dec[3].predict(z3, verbose=0), verbose=0), verbose=0)  # (samples, 4, 4, 6)
    recon = np.stack([out[..., :3], out[..., 3:]], axis=1)
    assert s["end_to_end"]["mse"] == pytest.approx(float(np.mean((x - recon) ** 2)), rel=1e-5)
    values = emd(x.reshape(-1, 4, 4, 3), recon.reshape(-1, 4, 4, 3), layout="4x4x3")
    assert s["end_to_end"]["emd_mean"] == pytest.approx(emd_summary(values)["mean"], rel=1e-5)
    out2 = dec1.predict(dec[2].predict(enc[2].predict(z1, verbose=0), verbose=0), verbose=0)
    recon2 = np.stack([out2[..., :3], out2[..., 3:]], axis=1)
    assert s["levels"][0]["inputs"]["mse"] == pytest.approx(float(np.mean((x - recon2) ** 2)), rel=1e-5)
    assert s["end_to_end"]["mse"] != pytest.approx(s["levels"][0]["inputs"]["mse"], rel=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("stage", [2, 3])
def test_every_stacked_level_converts_bit_exactly_on_the_latents_below(stack3, stage, tmp_path):
    run_dir = stack3["run_dir"]
    data = run_dir / f"stage{stage - 1}_latents.npy"
    report, ran = _hls_check(run_dir / f"stage{stage}_encoder.h5", data, tmp_path)
    assert report["ok"] and {"integer_model", "c_model", "csim"} <= set(ran)
    assert all(v["mismatches"] == 0 for v in ran.values())
    assert all(v["vectors"] > 0 for v in ran.values())
