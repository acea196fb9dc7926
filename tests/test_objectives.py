"""Training objectives (ae, vae, contractive, l1) around the hardware encoder, and dense-only encoders.

Every objective trains on digits (4-tile MICAE, conv encoder, tied weights) and on HGCAL synthetic wafers
(2-part MICAE, dense-only encoder); every trained encoder.h5 goes through the synthesize flow's integer
model with 0 mismatches, and two of them through hls4ml's C model and the compiled csim as well: the VAE
(whose C-model codes must equal the training model's mean head bit for bit) and a dense-only encoder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from micae.errors import ConfigError, ConstraintError
from micae.train.objectives import OBJECTIVES

QUICK = {"train.epochs": 1, "train.batch_size": 64, "train.patience": 5, "train.float_twin": False}
DATASETS = {
    # 4 tiles of 4x4 digits share one conv encoder; the VAE run uses the example config with its float twin
    "digits": {"config": "models/digits_micae.yaml", "dataset.n_samples": 300},
    # 2 wafers share one dense-only encoder (Flatten -> QDense -> 16 x 9 bits); the VAE trains in --mode encoder
    "hgcal": {
        "config": "models/econt_dense.yaml",
        "dataset.n_samples": 500,
        "dataset.n_parts": 2,
        "train.loss": "mse",
        "train.batch_size": 128,
    },
}
VARIANT = {
    ("digits", "vae"): {"config": "models/digits_vae.yaml", "train.float_twin": True, "train.kl_warmup": 1},
    ("hgcal", "vae"): {"train.mode": "encoder"},
    ("hgcal", "contractive"): {"train.contractive_weight": 0.01, "encoder.dense_hidden": [24]},  # a hidden QDense
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tf):
    """One tiny training run per (dataset, objective): ``{(dataset, objective): (run folder, metrics)}``.

    The training plots are not drawn (they do not depend on the objective; test_train checks them): on the
    shared 2-core machine they cost more than the training itself."""
    import micae.train.plots
    from micae.train.config import load_config
    from micae.train.run import train_run

    root = tmp_path_factory.mktemp("objectives")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(micae.train.plots, "write_training_plots", lambda *a, **k: [])
        for data, base in DATASETS.items():
            for objective in OBJECTIVES:
                over = {**QUICK, **base, **VARIANT.get((data, objective), {})}
                over.update({"name": f"{data}_{objective}", "train.objective": objective})
                cfg = load_config(over.pop("config"), over)
                out[(data, objective)] = train_run(cfg, root)
    return out


def _integer_model_level(tmp_path: Path, run_dir: Path) -> dict:
    """The synthesize flow's check steps (load, vectors): the exact integer model against QKeras, 300 vectors."""
    from micae.flow import _context
    from micae.flow.registry import CHECK_STEPS
    from micae.flow.runner import run_steps
    from micae.synthesize import SynthRequest

    req = SynthRequest(model=run_dir, hls_root=tmp_path / "hls", firmware_root=tmp_path / "fw", rtl="off", vectors=300)
    draft = run_steps(CHECK_STEPS, _context(req))
    return draft.verification["integer_model"].to_json()


def _synthesize(tmp_path: Path, run_dir: Path) -> dict:
    from micae.synthesize import SynthRequest, synthesize

    req = SynthRequest(model=run_dir, hls_root=tmp_path / "hls", firmware_root=tmp_path / "fw", rtl="off", vectors=300)
    report = synthesize(req)
    for level in ("integer_model", "c_model", "csim"):
        v = report["verification"][level]
        assert (v["vectors"], v["mismatches"], v["max_abs_lsb_error"]) == (300, 0, 0), (level, v)
    return report


def _zero_code_fraction(run_dir: Path) -> float:
    """Recomputed from the saved encoder and test split: integer latent codes equal to 0."""
    from micae.models.extract import extract_encoder
    from micae.models.io import load_model
    from micae.verify.compare import values_to_codes

    enc = load_model(run_dir / "encoder.h5")
    frac = extract_encoder(enc).encoder.latent_type.frac
    x = np.load(run_dir / "test_data.npz")["x"]
    codes = values_to_codes(enc.predict(x.reshape(-1, *x.shape[2:]), verbose=0), frac)
    return float((codes == 0).mean())


@pytest.mark.slow
@pytest.mark.parametrize("data", list(DATASETS))
def test_each_objective_trains_records_and_converts(runs, data, tmp_path):
    for objective in OBJECTIVES:
        run_dir, metrics = runs[(data, objective)]
        saved = json.loads((run_dir / "metrics.json").read_text())
        assert saved["objective"] == objective
        expected_weights = {
            "ae": {},
            "vae": {"kl_weight", "kl_warmup"},
            "contractive": {"contractive_weight"},
            "l1": {"l1_weight"},
        }[objective]
        assert set(saved["objective_weights"]) == set(expected_weights)
        if objective == "contractive" and data == "hgcal":
            assert saved["objective_weights"]["contractive_weight"] == 0.01
            from micae.models.io import load_model

            names = [layer.name for layer in load_model(run_dir / "encoder.h5").layers]
            assert names == ["enc_in", "in_quant", "flatten", "hidden_0", "hidden_0_act", "dense", "latent_quant"]
        # the unweighted penalty of the last epoch, train and validation, for every trained phase
        penalty = saved["objective_penalty"]
        if objective == "ae":
            assert penalty == {}
        else:
            phases = {"micae", "float"} if (data, objective) == ("digits", "vae") else {"micae"}
            if (data, objective) == ("hgcal", "vae"):
                phases = {"cae", "micae"}  # --mode encoder: the single CAE stage, then the MICAE decoder
            assert set(penalty) == phases
            for rec in penalty.values():
                assert all(np.isfinite(v) and v >= 0 for v in rec.values()), rec
        assert np.isfinite(saved["quantized"]["mse"])
        # exact-zero latent codes: the metric equals a recount from encoder.h5 on the saved test split
        assert saved["zero_codes"]["fraction"] == pytest.approx(_zero_code_fraction(run_dir), abs=1e-12)
        assert len(saved["zero_codes"]["per_latent"]) == (16 if data == "hgcal" else 4)
        level = _integer_model_level(tmp_path / objective, run_dir)
        assert (level["vectors"], level["mismatches"]) == (300, 0), (objective, level)


@pytest.mark.slow
def test_vae_saves_both_heads_and_the_prior_inputs(runs, tf):
    from micae.models.io import load_model

    for data in DATASETS:
        run_dir, _ = runs[(data, "vae")]
        ev = np.load(run_dir / "test_evaluation.npz")
        assert ev["latent_logvar"].shape == ev["latents"].shape
        assert np.isfinite(ev["latent_logvar"]).all() and ev["latent_logvar"].std() > 0
        heads = load_model(run_dir / "vae_encoder.h5")
        x = np.load(run_dir / "test_data.npz")["x"]
        mean, logvar = heads.predict(x.reshape(-1, *x.shape[2:]), batch_size=4096, verbose=0)
        # float32 Keras outputs, not integer codes: oneDNN may reassociate a sum differently from one process or
        # batch to another, so these agree to float32 rounding (the integer paths are compared exactly elsewhere)
        np.testing.assert_allclose(mean.reshape(ev["latents"].shape), ev["latents"], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(logvar.reshape(ev["latent_logvar"].shape), ev["latent_logvar"], rtol=1e-5, atol=1e-7)
        # the other objectives have no log-variance head
        other, _ = runs[(data, "ae")]
        assert "latent_logvar" not in np.load(other / "test_evaluation.npz")
        assert not (other / "vae_encoder.h5").exists()


@pytest.mark.slow
def test_vae_hardware_mean_head_equals_the_trained_mean_bit_for_bit(runs, tmp_path, tf):
    """encoder.h5 is exactly the hardware encoder; hls4ml's compiled C model gives the training model's means."""
    from micae.fixed.arith import quantize_float
    from micae.models.extract import extract_encoder
    from micae.models.io import load_model
    from micae.verify.compare import values_to_codes
    from micae.verify.csim import parse_results

    run_dir, _ = runs[("digits", "vae")]
    enc = load_model(run_dir / "encoder.h5")
    kinds = [type(layer).__name__ for layer in enc.layers]
    assert kinds == ["InputLayer", "QActivation", "QConv2D", "QActivation", "Flatten", "QDense", "QActivation"]
    assert "logvar" not in [layer.name for layer in enc.layers]

    report = _synthesize(tmp_path, run_dir)
    tb = Path(report["paths"]["hls_project"]) / "tb_data"
    x = np.loadtxt(tb / "tb_input_features.dat", ndmin=2).reshape(-1, *enc.input_shape[1:]).astype(np.float32)
    guard = extract_encoder(enc).encoder
    frac = guard.latent_type.frac
    c_model = parse_results(tb / "csim_results.log", frac, guard.n_latent)  # g++-compiled hls4ml testbench
    integer = guard.latents(quantize_float(x.reshape(len(x), -1), guard.input_type))  # the exact integer model
    mean, _ = load_model(run_dir / "vae_encoder.h5").predict(x, verbose=0)  # the training model's mean head
    trained = values_to_codes(mean, frac)
    assert len(trained) == 300
    assert np.array_equal(c_model, trained) and np.array_equal(integer, trained)


@pytest.mark.slow
def test_dense_only_encoder_converts_bit_exactly(runs, tmp_path):
    run_dir, metrics = runs[("hgcal", "l1")]
    report = _synthesize(tmp_path, run_dir)
    assert report["model"]["layers_taken"] == ["enc_in", "in_quant", "flatten", "dense", "latent_quant"]
    assert metrics["compression_factor"] == 3.0 and metrics["bit_budget"]["total_latent_bits"] == 2 * 16 * 9


def test_objective_config_errors_are_clear(tmp_path):
    from micae.train.config import load_config

    with pytest.raises(ConfigError, match=r"train.objective = 'beta': must be one of 'ae', 'vae', 'contractive', 'l1'"):
        load_config(overrides={"train.objective": "beta"})
    for key in ("kl_weight", "contractive_weight", "l1_weight", "kl_warmup"):
        with pytest.raises(ConfigError, match=rf"train.{key} = -0.5: must be (a number|an integer) >= 0"):
            load_config(overrides={"train.objective": "vae", f"train.{key}": -0.5})
    with pytest.raises(ConfigError, match="train.l1_weight = 'lots': must be a number >= 0"):
        load_config(sets=["train.l1_weight=lots"])
    with pytest.raises(ConfigError, match="frozen-encoder trains only a decoder"):
        load_config(overrides={"train.objective": "vae", "train.mode": "frozen-encoder", "train.encoder_path": "e.h5"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  objective: VAE\n")
    with pytest.raises(ConfigError, match="train.objective = 'VAE': must be one of"):
        load_config(bad)
    cfg = load_config("models/digits_vae.yaml")
    assert cfg.train["objective"] == "vae" and cfg.train["kl_warmup"] == 5


def test_cli_objective_option():
    from micae.cli.train import build_parser, overrides_from_args

    assert overrides_from_args(build_parser().parse_args(["--objective", "contractive"]))["train.objective"] == (
        "contractive"
    )
    from micae.train.config import load_config

    with pytest.raises(
        ConfigError, match="train.objective = 'sparse': must be one of .* \\(fix: correct --objective\\)"
    ):
        load_config(
            overrides=overrides_from_args(build_parser().parse_args(["--objective", "sparse"])),
            flags={"train.objective": "--objective"},
        )


def test_penalties_match_their_closed_forms(tf):
    """KL (with warm-up), L1 and the contractive Jacobian norm, against numpy on known tensors."""
    from tests.conftest import randomize_weights

    from micae.models.encoder import build_encoder
    from micae.models.spec import EncoderSpec
    from micae.train.objectives import _layers

    kl_layer, l1_layer, contractive = _layers()
    rng = np.random.default_rng(1)
    mean, logvar = rng.normal(size=(8, 6)).astype(np.float32), rng.normal(size=(8, 6)).astype(np.float32)
    kl = (0.5 * (np.exp(logvar) + mean**2 - 1 - logvar).sum(axis=1)).mean()
    layer = kl_layer(0.25, 0)
    layer([mean, logvar])
    assert float(layer.losses[0]) == pytest.approx(0.25 * kl, rel=1e-5)
    ramp = kl_layer(0.25, 4)  # warm-up over 4 steps: weight x 0, 1/4, 2/4 on the first three training steps
    got = []
    for _ in range(3):
        ramp([mean, logvar], training=True)
        got.append(float(ramp.losses[0]))
    assert got == pytest.approx([0.0, 0.25 * kl / 4, 0.25 * kl / 2], rel=1e-5)

    z = rng.normal(size=(8, 6)).astype(np.float32)
    l1 = l1_layer(0.1)
    l1(z)
    assert float(l1.losses[0]) == pytest.approx(0.1 * np.abs(z).sum(axis=1).mean(), rel=1e-5)

    # dense-only encoder, signed quantizers (straight-through identity): J = quantized kernel^T for every sample
    enc = build_encoder(EncoderSpec(conv=False), seed=0)
    randomize_weights(enc, seed=2, scale=0.5)
    dense = enc.get_layer("dense")
    wq = dense.kernel_quantizer_internal(dense.kernel).numpy()
    x = [rng.uniform(0, 1.5, size=(5, 4, 4, 3)).astype(np.float32) for _ in range(2)]
    penalty = contractive(enc, 0.5)
    penalty(x)
    assert float(penalty.losses[0]) == pytest.approx(0.5 * 2 * (wq**2).sum(), rel=1e-5)


def test_dense_only_encoder_spec_and_budget(tf):
    from micae.models.constraints import check_encoder_spec
    from micae.models.encoder import build_encoder, build_float_encoder
    from micae.models.spec import EncoderSpec

    spec = EncoderSpec.from_dict({"conv": False, "filters": 0, "dense_hidden": [24]})
    assert spec.to_dict()["dense_hidden"] == [24] and EncoderSpec.from_dict(spec.to_dict()) == spec
    enc = build_encoder(spec, seed=0)
    names = [layer.name for layer in enc.layers]
    assert names == ["enc_in", "in_quant", "flatten", "hidden_0", "hidden_0_act", "dense", "latent_quant"]
    assert [layer.name for layer in build_float_encoder(spec).layers] == [
        "enc_in",
        "flatten",
        "hidden_0",
        "dense",
    ]
    budget = check_encoder_spec(spec)
    assert (budget["compression_factor"], budget["input_bits"], budget["latent_bits"]) == (3.0, 384, 144)
    with pytest.raises(ConstraintError, match="compression factor 2.82 .* use at most 16 latents"):
        check_encoder_spec(EncoderSpec(conv=False, latent=17))
    with pytest.raises(ConstraintError, match="encoder.filters = 0 .* encoder.conv: false"):
        check_encoder_spec(EncoderSpec(filters=0))
    with pytest.raises(ConfigError, match="encoder.conv = 'no': must be true or false"):
        EncoderSpec.from_dict({"conv": "no"})
    with pytest.raises(ConfigError, match=r"encoder.dense_hidden\[1\] = 0: must be an integer >= 1"):
        EncoderSpec.from_dict({"dense_hidden": [8, 0]})
