"""Tiny end-to-end training runs on every dataset: the loss goes down, artifacts load back exactly."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from micae.errors import ConfigError


def _train(tmp_path, **over):
    from micae.train.config import load_config
    from micae.train.run import train_run

    base = {"train.epochs": 4, "train.batch_size": 64, "train.patience": 10, "train.float_twin": False}
    cfg = load_config(over.pop("config", None), {**base, **over})
    return train_run(cfg, tmp_path, force=True)


def _check_run(out, n_parts: int):
    from micae.models.io import load_model

    rows = [r for r in csv.DictReader((out / "history.csv").open()) if r["phase"] == "micae"]
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < losses[0], f"loss did not go down: {losses}"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["compression_factor"] >= 3
    for key in ("quantized", "baselines"):
        assert key in metrics
    assert {"pca_tied", "pca_joint"} <= set(metrics["baselines"])
    for png in ("loss_curves.png", "reconstructions.png", "latent_histograms.png"):
        assert (out / "plots" / png).stat().st_size > 1000
    enc = load_model(out / "encoder.h5")
    micae = load_model(out / "micae.h5")
    x = np.load(out / "test_data.npz")["x"]
    parts = [x[:, i] for i in range(n_parts)] if n_parts > 1 else x[:, 0]
    # the reloaded encoder and the encoder inside the reloaded MICAE give identical latents
    lat_file = enc.predict(x.reshape(-1, *x.shape[2:]), verbose=0)
    inner = [layer for layer in micae.layers if layer.name == "encoder"][0]
    lat_inner = inner.predict(x.reshape(-1, *x.shape[2:]), verbose=0)
    assert np.array_equal(lat_file, lat_inner)
    saved = np.load(out / "test_evaluation.npz")["latents"]
    assert np.array_equal(lat_file.reshape(saved.shape), saved)
    assert micae.predict(parts, verbose=0).shape[0] == len(x)
    return metrics


@pytest.mark.slow
def test_hgcal_synth_econt(tmp_path, tf):
    out, metrics = _train(
        tmp_path,
        config="models/econt.yaml",
        **{"dataset.n_samples": 3000, "train.loss": "telescope", "econt.elinks": 5},  # 16 x 9 bits
    )
    m = _check_run(out, 1)
    assert np.isfinite(m["quantized"]["emd_mean"]) and m["quantized"]["emd_mean"] > 0
    # the chip's budget on 5 e-links: factor 3 in values, bit ratio 384/144 beside it, the 160-bit frame
    assert m["compression_factor"] == 3.0 and m["bit_ratio"] == pytest.approx(384 / 144)
    assert (m["bit_budget"]["input_bits"], m["bit_budget"]["latent_bits"]) == (384, 144)
    assert (m["bit_budget"]["frame_bits"], m["bit_budget"]["frame_bit_ratio"]) == (160, 2.4)
    assert (m["zero_codes"]["elinks"], m["zero_codes"]["latent_bits"]) == (5, 9)
    # the ECON-T algorithms at the same 144 bits, with the same metric keys as the other baselines
    assert {"pca_tied", "pca_joint", "bc", "stc", "threshold"} <= set(m["baselines"])
    for name in ("bc", "stc", "threshold"):
        assert set(m["baselines"][name]) == set(m["baselines"]["pca_tied"])
        assert 0 < m["baselines"][name]["emd_mean"] < 5
    budgets = m["baseline_bit_budgets"]
    assert budgets["bc"]["bits_per_wafer"] == 143 and budgets["stc"]["bits_per_wafer"] == 132
    assert budgets["threshold"]["bits_per_wafer_max"] <= 144
    ev = np.load(out / "test_evaluation.npz")
    for name in ("quantized", "bc", "stc", "threshold"):
        assert ev[f"{name}__emd"].shape == ev[f"{name}__mse"].shape == (m["test_samples"],)
    # where each algorithm wins: every test wafer in one occupancy bin, BC's per-wafer record against QAT
    assert sum(b["n"] for b in m["emd_by_occupancy"]) == m["test_samples"]
    q, bc = ev["quantized__emd"], ev["bc__emd"]
    assert m["wafer_wins"]["bc"]["better"] == pytest.approx(float((q < bc).mean()))


@pytest.mark.slow
def test_digits_micae_and_frozen_encoder(tmp_path, tf):
    out, _ = _train(tmp_path, config="models/digits_micae.yaml", **{"train.epochs": 6})
    _check_run(out, 4)
    frozen, _ = _train(
        tmp_path,
        config="models/digits_micae.yaml",
        name="frozen",
        **{"train.mode": "frozen-encoder", "train.encoder_path": str(out / "encoder.h5")},
    )
    from micae.models.io import load_model

    a, b = load_model(out / "encoder.h5"), load_model(frozen / "encoder.h5")
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb), "frozen-encoder mode changed the encoder"


@pytest.mark.slow
def test_econt_csv_with_encoder_mode(tmp_path, tf):
    from micae.data.hgcal_synth import generate

    charges, _ = generate(2500, seed=3)
    path = tmp_path / "econt.csv"
    extra = np.zeros((len(charges), 3), dtype=np.int64)
    np.savetxt(path, np.hstack([charges, extra]), fmt="%d", delimiter=",")
    out, _ = _train(
        tmp_path,
        config="models/econt.yaml",
        name="csv",
        **{
            "dataset.name": "econt-csv",
            "dataset.path": str(path),
            "dataset.n_samples": None,
            "dataset.n_parts": 2,
            "train.mode": "encoder",
        },
    )
    _check_run(out, 2)
    assert [r["phase"] for r in csv.DictReader((out / "history.csv").open())][0] == "cae"


@pytest.mark.slow
def test_npz_dataset(tmp_path, tf):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(1200, 1, 8, 8, 1)).astype(np.float32) * np.linspace(0, 1, 64).reshape(1, 1, 8, 8, 1)
    np.savez(tmp_path / "user.npz", x=x.astype(np.float32))
    out, _ = _train(
        tmp_path,
        name="npz",
        **{
            "dataset.name": "npz",
            "dataset.path": str(tmp_path / "user.npz"),
            "dataset.layout": "image",
            "dataset.input_shape": [8, 8, 1],
            "encoder.input_quant": {"bits": 8, "integer": 1, "signed": False},
            "encoder.filters": 4,
            "encoder.latent": 12,
            "encoder.latent_quant": {"bits": 8, "integer": 2},
        },
    )
    _check_run(out, 1)


def test_existing_run_is_not_overwritten(tmp_path):
    from micae.train.config import load_config
    from micae.train.run import train_run

    (tmp_path / "econt").mkdir()
    (tmp_path / "econt" / "metrics.json").write_text("{}")
    with pytest.raises(ConfigError, match="already exists.*--force"):
        train_run(load_config(), tmp_path)
    assert (tmp_path / "econt" / "metrics.json").read_text() == "{}"


def test_config_errors_are_clear(tmp_path):
    from micae.train.config import load_config

    with pytest.raises(
        ConfigError, match=r"train.epoch = 3: unknown key; train takes .*\(fix: correct --set train.epoch=3\)"
    ):
        load_config(sets=["train.epoch=3"])
    with pytest.raises(ConfigError, match="frozen-encoder needs a trained encoder"):
        load_config(overrides={"train.mode": "frozen-encoder"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.slow
def test_interrupted_training_resumes(tmp_path, tf, monkeypatch):
    """Interrupted mid-phase: nothing looks complete; --resume continues from the last checkpoint."""
    import micae.train.fit as fit
    from micae.train.config import load_config
    from micae.train.run import train_run

    real_callbacks = fit._callbacks

    class Interrupt(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    monkeypatch.setattr(fit, "_callbacks", lambda *a: real_callbacks(*a) + [Interrupt()])
    cfg = load_config("models/digits_micae.yaml", {"train.epochs": 5, "train.patience": 10, "train.float_twin": False})
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, tmp_path)
    assert not (tmp_path / "digits_micae").exists()
    assert (tmp_path / "digits_micae.incomplete" / "INCOMPLETE").exists()
    with pytest.raises(ConfigError, match="interrupted run.*--resume"):
        train_run(cfg, tmp_path)
    monkeypatch.setattr(fit, "_callbacks", real_callbacks)
    out, metrics = train_run(cfg, tmp_path, resume=True)
    assert metrics["training"]["micae"]["resumed_from"] == 2
    epochs = [int(r["epoch"]) for r in csv.DictReader((out / "history.csv").open()) if r["phase"] == "micae"]
    assert epochs == [0, 1, 2, 3, 4]
    assert not (tmp_path / "digits_micae.incomplete").exists() and not (out / "INCOMPLETE").exists()


@pytest.mark.slow
def test_crash_after_training_resumes_without_retraining(tmp_path, tf, monkeypatch):
    import micae.train.run as run
    from micae.models.io import load_model
    from micae.train.config import load_config

    cfg = load_config("models/digits_micae.yaml", {"train.epochs": 3, "train.float_twin": False})
    real = run.evaluate_models
    monkeypatch.setattr(run, "evaluate_models", lambda *a: (_ for _ in ()).throw(RuntimeError("crash")))
    with pytest.raises(RuntimeError):
        run.train_run(cfg, tmp_path)
    monkeypatch.setattr(run, "evaluate_models", real)
    out, metrics = run.train_run(cfg, tmp_path, resume=True)
    assert metrics["training"]["micae"]["epochs_run"] == 0  # reused, not retrained
    assert (out / "plots" / "loss_curves.png").stat().st_size > 1000
    assert load_model(out / "encoder.h5") is not None


@pytest.mark.slow
def test_quantized_decoder_trains_and_loads_back(tmp_path, tf):
    out, _ = _train(
        tmp_path, config="models/digits_micae.yaml", name="qdec", **{"decoder.quantized": True, "train.epochs": 5}
    )
    _check_run(out, 4)
    from micae.models.io import load_model

    decoder = [layer for layer in load_model(out / "micae.h5").layers if layer.name == "decoder"][0]
    assert {type(layer).__name__ for layer in decoder.layers} >= {"QDense", "QConv2D", "QActivation"}


def test_fit_keeps_the_best_epoch_when_the_epoch_budget_ends_first(tmp_path, tf):
    """Validation wants -x while training teaches x: the best validation epoch is an early one."""
    from micae.train.fit import fit_phase

    x = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32)
    x_in = tf.keras.Input(shape=(4,))
    model = tf.keras.Model(x_in, tf.keras.layers.Dense(4, kernel_initializer="zeros")(x_in))
    rec = fit_phase(
        model,
        x,
        x,
        x,
        -x,
        work=tmp_path,
        phase="p",
        epochs=4,
        batch_size=32,
        learning_rate=0.05,
        loss="mse",
        patience=10,
        resume=False,
        verbose=0,
    )
    val = rec["history"]["val_loss"]
    assert rec["epochs_run"] == 4 and val[-1] > min(val)  # no early stop; the last epoch is not the best
    assert model.evaluate(x, -x, verbose=0) == pytest.approx(min(val), rel=1e-5)
