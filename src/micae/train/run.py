"""A whole training run: data -> QAT MICAE (+ float twin, PCA) -> metrics -> artifacts."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

from micae.errors import ConfigError
from micae.jsonable import jsonable
from micae.log import info
from micae.outputs import staged_output
from micae.train.config import RunConfig


def _seed_everything(seed: int) -> None:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def load_run_dataset(cfg: RunConfig):
    from micae.data import load_dataset

    d = cfg.dataset
    return load_dataset(
        d["name"],
        seed=cfg.seed,
        n_samples=d.get("n_samples"),
        path=d.get("path"),
        layout=d.get("layout", "4x4x3"),
        normalisation=d.get("normalisation", "sumlog2"),
        tiles=d.get("tiles", 4),
        input_shape=d.get("input_shape"),
        n_parts=d.get("n_parts", 1),
    )


def _parts(x):
    from micae.models.micae import split_parts

    return split_parts(x) if x.shape[1] > 1 else x[:, 0]


def _target(x):
    from micae.models.micae import concat_parts

    return concat_parts(x)


def _recon_parts(model, x, n_parts: int, channels: int) -> np.ndarray:
    out = model.predict(_parts(x), batch_size=4096, verbose=0)
    return np.stack([out[..., i * channels : (i + 1) * channels] for i in range(n_parts)], axis=1)


def _corruption(cfg: RunConfig):
    from micae.train.fit import dropout_corruption

    noise = cfg.train.get("noise")
    if not noise:
        return None
    kind, _, value = str(noise).partition(":")
    try:
        p = float(value)
    except ValueError:
        p = -1.0
    if kind != "dropout" or not 0.0 <= p < 1.0:
        raise ConfigError(
            f"noise {noise!r} is not understood", "use --noise dropout:P with 0 <= P < 1, e.g. dropout:0.1"
        )
    return dropout_corruption(p, cfg.seed)


def train_models(cfg: RunConfig, ds, work: Path) -> dict:
    """Build and train the models of ``cfg.train.mode``; returns models and training records."""

    from micae.models.decoder import build_decoder
    from micae.models.encoder import build_encoder, build_float_encoder
    from micae.models.io import load_model
    from micae.models.micae import build_micae
    from micae.train.fit import fit_phase
    from micae.train.losses import make_loss

    tr = cfg.train
    n_parts = ds.n_parts
    channels = ds.input_shape[-1]
    out_shape = (*ds.input_shape[:2], channels * n_parts)
    loss = make_loss(tr["loss"], ds.layout, n_parts, channels)
    common = dict(
        work=work,
        epochs=int(tr["epochs"]),
        batch_size=int(tr["batch_size"]),
        learning_rate=float(tr["learning_rate"]),
        loss=loss,
        patience=int(tr["patience"]),
        resume=True,
        corrupt=_corruption(cfg),
    )
    spec = cfg.encoder_spec(ds.input_shape)
    dec_spec = cfg.decoder_spec()
    phases: dict = {}

    if tr["mode"] == "frozen-encoder":
        encoder = load_model(tr["encoder_path"])
        if tuple(encoder.input_shape[1:]) != tuple(ds.input_shape):
            raise ConfigError(
                f"encoder {tr['encoder_path']} takes inputs of shape {tuple(encoder.input_shape[1:])}, the data has {ds.input_shape}",
                "use an encoder trained on the same layout",
            )
        encoder._name = "encoder"
    else:
        encoder = build_encoder(spec, min_compression=cfg.min_compression, seed=cfg.seed)
    latent = int(encoder.output_shape[-1])

    if tr["mode"] == "encoder":
        # Stage 1: a single-input CAE on every part; stage 2: its encoder, frozen, in MICAE.
        cae_dec = build_decoder(dec_spec, latent, (*ds.input_shape[:2], channels), name="cae_decoder", seed=cfg.seed)
        cae = build_micae(encoder, cae_dec, 1, name="cae")
        flat = lambda x: x.reshape(-1, 1, *x.shape[2:])  # noqa: E731
        cae_loss = make_loss(tr["loss"], ds.layout, 1, channels)
        phases["cae"] = fit_phase(
            cae,
            flat(ds.x_train)[:, 0],
            _target(flat(ds.x_train)),
            flat(ds.x_val)[:, 0],
            _target(flat(ds.x_val)),
            phase="cae",
            **{**common, "loss": cae_loss},
        )
    if tr["mode"] in ("encoder", "frozen-encoder"):
        encoder.trainable = False

    decoder = build_decoder(dec_spec, latent * n_parts, out_shape, seed=cfg.seed)
    micae = build_micae(encoder, decoder, n_parts)
    phases["micae"] = fit_phase(
        micae, _parts(ds.x_train), _target(ds.x_train), _parts(ds.x_val), _target(ds.x_val), phase="micae", **common
    )
    result = {"encoder": encoder, "micae": micae, "phases": phases, "spec": spec, "channels": channels}

    if tr.get("float_twin", True):
        f_enc = build_float_encoder(spec, seed=cfg.seed)
        f_dec = build_decoder(dec_spec, latent * n_parts, out_shape, name="float_decoder", seed=cfg.seed)
        f_model = build_micae(f_enc, f_dec, n_parts, name="float_micae")
        phases["float"] = fit_phase(
            f_model,
            _parts(ds.x_train),
            _target(ds.x_train),
            _parts(ds.x_val),
            _target(ds.x_val),
            phase="float",
            **common,
        )
        result["float"] = f_model
    return result


def evaluate_models(cfg: RunConfig, ds, trained: dict) -> dict:
    from micae.train.baselines import pca_joint, pca_tied
    from micae.train.evaluate import dead_latents, reconstruction_metrics, saturated_latents

    n_parts, channels = ds.n_parts, trained["channels"]
    encoder, spec = trained["encoder"], trained["spec"]
    latent = int(encoder.output_shape[-1])
    x = ds.x_test
    recons = {"quantized": _recon_parts(trained["micae"], x, n_parts, channels)}
    if "float" in trained:
        recons["float"] = _recon_parts(trained["float"], x, n_parts, channels)
    recons["pca_tied"] = pca_tied(ds.x_train, x, latent, cfg.seed)
    recons["pca_joint"] = pca_joint(ds.x_train, x, latent * n_parts, cfg.seed)
    metrics = {name: reconstruction_metrics(x, r, ds.layout) for name, r in recons.items()}
    lat = encoder.predict(x.reshape(-1, *ds.input_shape), batch_size=4096, verbose=0)
    lat_t = spec.latent_quant.fixed_type()
    return {
        "recons": recons,
        "metrics": metrics,
        "latents": lat.reshape(len(x), n_parts, latent),
        "dead_latents": dead_latents(lat),
        "saturated_latents": saturated_latents(lat, lat_t.min_value, lat_t.max_value),
    }


def _bit_budget(encoder, n_parts: int) -> dict:
    from micae.models.extract import extract_encoder

    budget = extract_encoder(encoder).encoder.bit_budget()
    budget["n_parts"] = n_parts
    budget["micae_latent_bits"] = budget["latent_bits"] * n_parts
    return budget


def write_artifacts(cfg: RunConfig, ds, trained: dict, evaluation: dict, out: Path, seconds: float) -> dict:
    from micae.models.io import save_model
    from micae.train.evaluate import public
    from micae.train.plots import write_training_plots

    save_model(trained["encoder"], out / "encoder.h5")
    save_model(trained["micae"], out / "micae.h5")
    if "float" in trained:
        save_model(trained["float"], out / "float_micae.h5")
    (out / "config.yaml").write_text(cfg.to_yaml())
    n_keep = min(len(ds.x_test), 5000)
    np.savez_compressed(
        out / "test_data.npz",
        x=ds.x_test[:n_keep],
        **{f"aux_{k}": v[:n_keep] for k, v in ds.aux.get("test", {}).items()},
    )
    phases = trained["phases"]
    write_history(out, list(phases))
    _write_evaluation_arrays(out, ds, evaluation, n_keep)
    budget = _bit_budget(trained["encoder"], ds.n_parts)
    m = evaluation["metrics"]
    metrics = {
        "name": cfg.name,
        "dataset": ds.name,
        "layout": ds.layout,
        "n_parts": ds.n_parts,
        "mode": cfg.train["mode"],
        "test_samples": int(len(ds.x_test)),
        "quantized": public(m["quantized"]),
        "baselines": {k: public(v) for k, v in m.items() if k != "quantized"},
        "compression_factor": budget["compression_factor"],
        "bit_budget": budget,
        "dead_latents": evaluation["dead_latents"],
        "saturated_latents": evaluation["saturated_latents"],
        "training": {
            name: {
                "seconds": round(r["seconds"], 2),
                "epochs_run": r["epochs_run"],
                "resumed_from": r["resumed_from"],
                "final_loss": (r["history"].get("loss") or [None])[-1],
                "final_val_loss": (r["history"].get("val_loss") or [None])[-1],
            }
            for name, r in phases.items()
        },
        "seconds_total": round(seconds, 2),
        "environment": {"python": platform.python_version(), "machine": platform.machine()},
        "dataset_meta": jsonable(ds.meta, max_array=64),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=lambda o: jsonable(o, max_array=64)))
    write_training_plots(out / "plots", ds, trained, evaluation)
    return metrics


def _write_evaluation_arrays(out: Path, ds, evaluation: dict, n_keep: int) -> None:
    """Per-sample metrics, latents and a few reconstructions, for the report and its plots."""
    arrays = {}
    for model, m in evaluation["metrics"].items():
        for key in ("per_sample_mse", "per_sample_emd"):
            if key in m:
                arrays[f"{model}__{key[len('per_sample_') :]}"] = np.asarray(m[key], dtype=np.float64)
    arrays["latents"] = evaluation["latents"][:n_keep]
    n_show = min(len(ds.x_test), 64)
    for model, r in evaluation["recons"].items():
        arrays[f"recon__{model}"] = r[:n_show]
    np.savez_compressed(out / "test_evaluation.npz", **arrays)


def write_history(out: Path, phases: list[str]) -> None:
    """Merge Keras' per-phase CSV logs (which survive --resume) into one history.csv."""
    import csv

    rows = ["phase,epoch,loss,val_loss"]
    for phase in phases:
        path = out / f"history_{phase}.csv"
        if not path.exists():
            continue
        for rec in csv.DictReader(path.open()):
            rows.append(f"{phase},{rec['epoch']},{rec['loss']},{rec.get('val_loss', '')}")
    (out / "history.csv").write_text("\n".join(rows) + "\n")


def train_run(cfg: RunConfig, out_root: Path, *, force: bool = False, resume: bool = False) -> tuple[Path, dict]:
    """Train, evaluate and write ``out_root/<name>/`` atomically."""
    from micae.models.constraints import check_encoder_spec
    from micae.outputs import check_target

    final = Path(out_root) / cfg.name
    check_target(final, force=force, resume=resume)
    start = time.perf_counter()
    _seed_everything(cfg.seed)
    info(f"loading dataset {cfg.dataset['name']}")
    ds = load_run_dataset(cfg)
    info(
        f"dataset: {len(ds.x_train)}/{len(ds.x_val)}/{len(ds.x_test)} train/val/test samples of {ds.n_parts} x {ds.input_shape}"
    )
    if cfg.train["mode"] != "frozen-encoder":
        check_encoder_spec(cfg.encoder_spec(ds.input_shape), cfg.min_compression)
    with staged_output(final, force=force, resume=resume) as work:
        trained = train_models(cfg, ds, work)
        info("evaluating on the test split (quantized, float twin, PCA)")
        evaluation = evaluate_models(cfg, ds, trained)
        metrics = write_artifacts(cfg, ds, trained, evaluation, work, time.perf_counter() - start)
        for pattern in ("*.ckpt.weights.h5", "*.final.weights.h5", "*.state.json", "history_*.csv"):
            for leftover in work.glob(pattern):
                leftover.unlink()
    return final, metrics
