"""A whole training run: data -> QAT MICAE (+ float twin, PCA, ECON-T algorithms) -> metrics -> artifacts."""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np

from micae.errors import ConfigError
from micae.jsonable import jsonable
from micae.log import info
from micae.outputs import staged_output
from micae.results.metrics import metrics_from_json
from micae.train.config import RunConfig
from micae.train.shared import (
    N_KEEP,
    describe_budget,
    encoder_budget,
    merge_history,
    model_inputs,
    model_target,
    recon_parts,
    remove_leftovers,
    training_record,
)


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
        preset=d.get("preset") or "legacy",
        rows=d.get("rows"),
    )


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


def _fit_micae(model, x_train: np.ndarray, x_val: np.ndarray, phase: str, common: dict, sums=(None, None)) -> dict:
    """Fit a MICAE-shaped model to reconstruct its own (samples, N, H, W, C) inputs (``sums``: the train and
    validation module sums of a decoder that takes them)."""
    from micae.train.fit import fit_phase

    return fit_phase(
        model,
        model_inputs(x_train, sums[0]),
        model_target(x_train),
        model_inputs(x_val, sums[1]),
        model_target(x_val),
        phase=phase,
        **common,
    )


def module_sums(cfg: RunConfig, ds, split: str) -> np.ndarray | None:
    """The decoder's module-sum input of ``split`` when ``decoder.module_sum`` is on (else None)."""
    if not cfg.decoder_spec().module_sum:
        return None
    sums = ds.aux.get(split, {}).get("module_sum")
    if sums is None:
        raise ConfigError(
            f"decoder.module_sum needs the chip's module sum, which dataset {ds.name!r} does not have "
            "(it needs integer trigger charges)",
            "give integer charges (hgcal-synth, an ECON-T CSV, an npz of CALQ), or set decoder.module_sum: false",
        )
    return sums


def _encoder(cfg: RunConfig, ds, spec):
    """The run's encoder: built from ``spec``, or the trained one of ``--mode frozen-encoder``."""
    from micae.models.encoder import build_encoder
    from micae.models.io import load_model

    if cfg.train["mode"] != "frozen-encoder":
        return build_encoder(spec, min_compression=cfg.min_compression, seed=cfg.seed)
    path = cfg.train["encoder_path"]
    encoder = load_model(path)
    if tuple(encoder.input_shape[1:]) != tuple(ds.input_shape):
        raise ConfigError(
            f"encoder {path} takes inputs of shape {tuple(encoder.input_shape[1:])}, the data has {ds.input_shape}",
            "use an encoder trained on the same layout",
        )
    encoder._name = "encoder"
    return encoder


def _fit_single_cae(cfg: RunConfig, ds, encoder, common: dict, objective=None) -> dict:
    """``--mode encoder`` stage 1: a single-input CAE trained on every part as its own sample
    (with the run's objective: ``objective`` is the encoder's ``ObjectiveModels``)."""
    from micae.models.decoder import build_decoder
    from micae.models.micae import build_micae
    from micae.train.losses import make_loss

    channels = ds.input_shape[-1]
    latent = int(encoder.output_shape[-1])
    flat = {k: v.reshape(-1, 1, *v.shape[2:]) for k, v in (("train", ds.x_train), ("val", ds.x_val))}
    sums = [module_sums(cfg, ds, split) for split in ("train", "val")]
    sums = tuple(None if s is None else np.asarray(s).reshape(-1) for s in sums)
    with_sum = sums[0] is not None
    cae_dec = build_decoder(
        cfg.decoder_spec(), latent + int(with_sum), (*ds.input_shape[:2], channels), name="cae_decoder", seed=cfg.seed
    )
    if objective is None:
        cae = build_micae(encoder, cae_dec, 1, name="cae", module_sum=with_sum)
    else:
        cae = objective.model(cae_dec, 1, name="cae", warmup=_warmup(cfg, len(flat["train"])), module_sum=with_sum)
    loss = make_loss(cfg.train["loss"], ds.layout, 1, channels, cfg.train)
    return _fit_micae(cae, flat["train"], flat["val"], "cae", {**common, "loss": loss}, sums)


def train_models(cfg: RunConfig, ds, work: Path) -> dict:
    """Build and train the models of ``cfg.train.mode``; returns models and training records."""
    from micae.models.decoder import build_decoder
    from micae.models.encoder import build_float_encoder
    from micae.models.micae import build_micae
    from micae.train.losses import make_loss
    from micae.train.objectives import Objective, ObjectiveModels

    tr = cfg.train
    objective = Objective.from_train(tr)
    n_parts, channels = ds.n_parts, ds.input_shape[-1]
    out_shape = (*ds.input_shape[:2], channels * n_parts)
    common = dict(
        work=work,
        epochs=int(tr["epochs"]),
        batch_size=int(tr["batch_size"]),
        learning_rate=float(tr["learning_rate"]),
        loss=make_loss(tr["loss"], ds.layout, n_parts, channels, tr),
        patience=int(tr["patience"]),
        resume=True,
        corrupt=_corruption(cfg),
    )
    spec, dec_spec = cfg.encoder_spec(ds.input_shape), cfg.decoder_spec()
    encoder = _encoder(cfg, ds, spec)
    latent = int(encoder.output_shape[-1])
    phases: dict = {}
    heads = ObjectiveModels(objective, encoder, seed=cfg.seed, live=_live(cfg, spec, encoder))
    if tr["mode"] == "encoder":
        phases["cae"] = _fit_single_cae(cfg, ds, encoder, common, heads)
    if tr["mode"] in ("encoder", "frozen-encoder"):
        encoder.trainable = False

    sums = (module_sums(cfg, ds, "train"), module_sums(cfg, ds, "val"))
    with_sum = dec_spec.module_sum
    dec_in = latent * n_parts + (n_parts if with_sum else 0)
    decoder = build_decoder(dec_spec, dec_in, out_shape, seed=cfg.seed)
    micae = build_micae(encoder, decoder, n_parts, module_sum=with_sum)
    warm = _warmup(cfg, len(ds.x_train))
    fit_model = heads.model(decoder, n_parts, name="micae_train", warmup=warm, module_sum=with_sum)
    pre = pretrain_data(cfg, ds)
    if pre is not None:
        phases["pretrain"] = _fit_micae(fit_model, *pre["x"], "pretrain", pre["common"](common), pre["sums"])
    phases["micae"] = _fit_micae(fit_model, ds.x_train, ds.x_val, "micae", common, sums)
    result = {"encoder": encoder, "micae": micae, "phases": phases, "spec": spec, "channels": channels}
    result.update(objective=objective, vae_encoder=heads.vae_encoder)
    if tr.get("float_twin", True):
        f_enc = build_float_encoder(spec, seed=cfg.seed)
        f_dec = build_decoder(dec_spec, dec_in, out_shape, name="float_decoder", seed=cfg.seed)
        result["float"] = build_micae(f_enc, f_dec, n_parts, name="float_micae", module_sum=with_sum)
        f_live = _live(cfg, spec, f_enc, float(spec.latent_quant.fixed_type().lsb))
        f_fit = ObjectiveModels(objective, f_enc, seed=cfg.seed, live=f_live).model(
            f_dec, n_parts, name="float_train", warmup=warm, module_sum=with_sum
        )
        if pre is not None:
            f_common = pre["common"](common)
            phases["pretrain_float"] = _fit_micae(f_fit, *pre["x"], "pretrain_float", f_common, pre["sums"])
        phases["float"] = _fit_micae(f_fit, ds.x_train, ds.x_val, "float", common, sums)
    if pre is not None:
        result["pretrain"] = pre["about"]
    return result


def pretrain_data(cfg: RunConfig, ds) -> dict | None:
    """The pre-training wafers of ``pretrain:`` (None without it): generated hgcal-synth samples in the run's
    layout, normalisation and n_parts (seed + 1), their module sums, the phase's fit options and provenance."""
    from micae.data import load_dataset

    pre = cfg.raw.get("pretrain") or {}
    epochs = int(pre.get("epochs") or 0)
    if epochs == 0:
        return None
    if cfg.train["mode"] != "joint" or cfg.stack.get("enabled"):
        raise ConfigError(
            f"pretrain.epochs {epochs}: pre-training is for train.mode joint without stacking",
            "set pretrain.epochs: 0, or train.mode: joint",
        )
    d, lr = cfg.dataset, pre.get("learning_rate")
    pds = load_dataset(
        "hgcal-synth",
        seed=cfg.seed + 1,
        n_samples=int(pre.get("n_samples") or 60000),
        layout=ds.layout,
        normalisation=d.get("normalisation", "sumlog2"),
        n_parts=ds.n_parts,
        preset=pre.get("preset") or "pileup",
    )
    about = {
        "epochs": epochs,
        "dataset": "hgcal-synth",
        "preset": pre.get("preset") or "pileup",
        "samples": {"train": len(pds.x_train), "val": len(pds.x_val)},
        "seed": cfg.seed + 1,
        "learning_rate": float(lr or cfg.train["learning_rate"]),
        "then": f"fine-tuned on {ds.name} (phase micae) with the same weights",
    }
    return {
        "x": (pds.x_train, pds.x_val),
        "sums": (module_sums(cfg, pds, "train"), module_sums(cfg, pds, "val")),
        "common": lambda common: {**common, "epochs": epochs, "learning_rate": lr or common["learning_rate"]},
        "about": about,
    }


def _live(cfg: RunConfig, spec, encoder, margin: float | None = None):
    """The liveness wrapper of a ReLU-latent encoder (``train.liveness_weight`` > 0), else None."""
    from micae.train.liveness import applies, live_encoder, liveness_margin

    weight = float(cfg.train.get("liveness_weight") or 0.0)
    if cfg.train["mode"] == "frozen-encoder" or not applies(spec, weight):
        return None
    return live_encoder(encoder, liveness_margin(spec) if margin is None else margin, weight)


def _warmup(cfg: RunConfig, n_samples: int) -> int:
    """The KL warm-up of ``train.kl_warmup`` epochs, in optimizer steps over ``n_samples``."""
    from micae.train.objectives import Objective, warmup_steps

    return warmup_steps(Objective.from_train(cfg.train), n_samples, int(cfg.train["batch_size"]))


def baseline_reconstructions(cfg: RunConfig, ds, latent: int, budget: dict) -> tuple[dict, dict]:
    """PCA (tied, joint) with the encoder's latent count; on HGCAL data also BC, STC and threshold
    within the encoder's latent bits. Returns reconstructions and the ECON-T algorithms' bit budgets."""
    from micae.data.geometry import HGCAL_LAYOUTS, arrangement_shape
    from micae.train.baselines import econt_algorithms, pca_joint, pca_tied

    x = ds.x_test
    recons = {
        "pca_tied": pca_tied(ds.x_train, x, latent, cfg.seed),
        "pca_joint": pca_joint(ds.x_train, x, latent * ds.n_parts, cfg.seed),
    }
    budgets: dict = {}
    if ds.layout in HGCAL_LAYOUTS and tuple(ds.input_shape) == arrangement_shape(ds.layout):
        econt, budgets = econt_algorithms(x, ds.layout, budget)
        recons.update(econt)
    return recons, budgets


def evaluate_models(cfg: RunConfig, ds, trained: dict) -> dict:
    """Test-split reconstructions and metrics of the QAT model, its float twin and every baseline."""
    from micae.train.evaluate import dead_latents, reconstruction_metrics, saturated_latents, zero_codes

    n_parts, channels = ds.n_parts, trained["channels"]
    encoder, spec = trained["encoder"], trained["spec"]
    latent = int(encoder.output_shape[-1])
    budget = trained.get("budget") or encoder_budget(encoder, n_parts, cfg.masked_inputs(ds.input_shape), cfg.elinks)
    x = ds.x_test
    sums = module_sums(cfg, ds, "test")
    recons = {"quantized": recon_parts(trained["micae"], x, channels, sums)}
    if "float" in trained:
        recons["float"] = recon_parts(trained["float"], x, channels, sums)
    base, base_budgets = baseline_reconstructions(cfg, ds, latent, budget)
    recons.update(base)
    metrics = {name: reconstruction_metrics(x, r, ds.layout) for name, r in recons.items()}
    extra = _wafer_class_summaries(x, metrics)
    extra.update(_chip_comparison(cfg, ds, recons))
    lat = encoder.predict(x.reshape(-1, *ds.input_shape), batch_size=4096, verbose=0)
    lat_t = spec.latent_quant.fixed_type()
    if spec.output_bits:  # the rails of what leaves the encoder: the eLink tail's grid
        from micae.train.probing import encoder_latent_type

        lat_t = encoder_latent_type(encoder)
    if trained.get("vae_encoder") is not None:  # the posterior log-variances (the means are ``latents``)
        logvar = trained["vae_encoder"].predict(x.reshape(-1, *ds.input_shape), batch_size=4096, verbose=0)[1]
        extra["latent_logvar"] = logvar.reshape(len(x), n_parts, latent)
    return {
        **extra,
        "zero_codes": {**zero_codes(lat), **_elink_context(budget)},
        "recons": recons,
        "metrics": metrics,
        "bit_budget": budget,
        "baseline_bit_budgets": base_budgets,
        "latents": lat.reshape(len(x), n_parts, latent),
        "dead_latents": dead_latents(lat),
        "saturated_latents": saturated_latents(lat, lat_t.min_value, lat_t.max_value),
    }


def zero_line(zero: dict) -> str:
    """``12.3%`` (``, 16 x 3-bit latents on 2 e-links`` for an ECON-T run)."""
    where = f" ({zero['latent_bits']}-bit latents on {zero['elinks']} e-links)" if "elinks" in zero else ""
    return f"{100 * zero['fraction']:.1f}%{where}"


def _elink_context(budget: dict) -> dict:
    """What the zero codes were counted on: the e-link count and bits per latent (ECON-T runs)."""
    if budget.get("elinks") is None:
        return {}
    return {"elinks": budget["elinks"], "latent_bits": budget["latent_bits_each"]}


def _chip_comparison(cfg: RunConfig, ds, recons: dict) -> dict:
    """The ``elinks`` block (:mod:`micae.evaluate.training`): the run's autoencoder and the chip's algorithms
    at the run's e-link count on the test split, in CALQ units ({} without integer CALQ or an HGCAL layout)."""
    from micae.evaluate.training import test_split_block

    info("scoring the chip's algorithms at the run's e-link count on the test split")
    found = test_split_block(cfg, ds, recons)
    if found is None:
        return {}
    block, about = found
    return {"elinks": block.results, "elinks_about": about}


def _wafer_class_summaries(x: np.ndarray, metrics: dict) -> dict:
    """EMD by wafer occupancy and per-wafer wins of the QAT encoder (HGCAL runs; empty otherwise)."""
    from micae.metrics.wafer_classes import emd_by_occupancy, occupancy, wafer_wins

    emds = {name: m["per_sample_emd"] for name, m in metrics.items() if "per_sample_emd" in m}
    if "quantized" not in emds:
        return {}
    wafers = x.reshape(-1, *x.shape[2:])  # the per-wafer EMD order: sample-major, then part
    return {"emd_by_occupancy": emd_by_occupancy(occupancy(wafers), emds), "wafer_wins": wafer_wins(emds)}


def _save_models_and_data(cfg: RunConfig, ds, trained: dict, out: Path) -> None:
    from micae.models.io import save_model

    save_model(trained["encoder"], out / "encoder.h5")
    save_model(trained["micae"], out / "micae.h5")
    if trained.get("vae_encoder") is not None:
        from micae.models.vae import VAE_ENCODER_FILE

        save_model(trained["vae_encoder"], out / VAE_ENCODER_FILE)
    if "float" in trained:
        save_model(trained["float"], out / "float_micae.h5")
    (out / "config.yaml").write_text(cfg.to_yaml())
    np.savez_compressed(
        out / "test_data.npz",
        x=ds.x_test[:N_KEEP],
        **{f"aux_{k}": v[:N_KEEP] for k, v in ds.aux.get("test", {}).items()},
    )


def metrics_summary(cfg: RunConfig, ds, trained: dict, evaluation: dict, seconds: float) -> dict:
    """The content of metrics.json.

    ``quantized`` and every entry of ``baselines`` (``float``, ``pca_tied``, ``pca_joint`` and, on HGCAL
    layouts, the ECON-T algorithms ``bc``, ``stc``, ``threshold``) carry the same metric keys;
    ``baseline_bit_budgets`` says what each ECON-T algorithm sends per wafer; ``compression_factor``
    (values) and ``bit_ratio`` (bits) repeat the headline figures of ``bit_budget``. On HGCAL layouts
    ``emd_by_occupancy`` and ``wafer_wins`` say where each algorithm wins (:mod:`micae.metrics.wafer_classes`).
    With integer charges, ``elinks`` holds the run's autoencoder (``ae``, ``ae_float``) and the chip's algorithms
    at the run's e-link count on the test split in CALQ units, in the form of evaluation.json's ``elinks``
    (:class:`micae.evaluate.schema.AlgorithmResult`); ``elinks_about`` says on what. The ``bc``, ``stc`` and
    ``threshold`` baselines are micae's equal-bit forms on the encoder's input codes, not the chip's.
    The per-sample arrays ``<model>__mse`` and ``<model>__emd`` are in ``test_evaluation.npz``.
    ``quantized`` and ``baselines`` compare with the normalised input the encoder reads (under the chip's
    truncating normalisation: the truncated CALQ); ``elinks`` compares with the raw CALQ. The two agree only
    for a lossless normalisation (sumlog2).
    """
    from micae.train.evaluate import public
    from micae.train.objectives import objective_summary

    m, budget = evaluation["metrics"], evaluation["bit_budget"]
    return {
        "name": cfg.name,
        "dataset": ds.name,
        "layout": ds.layout,
        "n_parts": ds.n_parts,
        "mode": cfg.train["mode"],
        **objective_summary(trained),
        "zero_codes": evaluation["zero_codes"],
        "test_samples": int(len(ds.x_test)),
        "quantized": public(m["quantized"]),
        "baselines": {k: public(v) for k, v in m.items() if k != "quantized"},
        "baseline_bit_budgets": evaluation["baseline_bit_budgets"],
        **{k: evaluation[k] for k in ("emd_by_occupancy", "wafer_wins") if k in evaluation},
        **_elinks_summary(evaluation),
        "compression_factor": budget["compression_factor"],
        "bit_ratio": budget["bit_ratio"],
        "bit_budget": budget,
        "dead_latents": evaluation["dead_latents"],
        "saturated_latents": evaluation["saturated_latents"],
        "training": {name: training_record(r) for name, r in trained["phases"].items()},
        **({"pretrain": trained["pretrain"]} if "pretrain" in trained else {}),
        "seconds_total": round(seconds, 2),
        "environment": {"python": platform.python_version(), "machine": platform.machine()},
        "dataset_meta": jsonable(ds.meta, max_array=64),
    }


def _elinks_summary(evaluation: dict) -> dict:
    """metrics.json's ``elinks`` (as evaluation.json's: L -> name -> figures) and ``elinks_about``."""
    if "elinks" not in evaluation:
        return {}
    block = {str(L): {n: r.model_dump() for n, r in algos.items()} for L, algos in evaluation["elinks"].items()}
    return {"elinks": block, "elinks_about": evaluation["elinks_about"]}


def write_artifacts(cfg: RunConfig, ds, trained: dict, evaluation: dict, out: Path, seconds: float) -> dict:
    """Models, config, test data, history, per-sample evaluation, metrics.json and plots into ``out``."""
    from micae.train.plots import write_training_plots
    from micae.train.probing import probe_trained_run

    _save_models_and_data(cfg, ds, trained, out)
    merge_history(out, list(trained["phases"]))
    _write_evaluation_arrays(out, ds, evaluation, N_KEEP)
    metrics = metrics_summary(cfg, ds, trained, evaluation, seconds)
    metrics_from_json(jsonable(metrics, max_array=64)).write(out)  # typed: a writer's slip fails here, not later
    write_training_plots(out / "plots", ds, trained, evaluation)
    probe_trained_run(out, cfg, ds, trained, evaluation)  # probing.npz: decoded latent-space pictures
    return metrics


def _write_evaluation_arrays(out: Path, ds, evaluation: dict, n_keep: int) -> None:
    """Per-sample metrics (``<model>__mse``, ``<model>__emd``), latents and a few reconstructions."""
    arrays = {}
    for model, m in evaluation["metrics"].items():
        for key in ("per_sample_mse", "per_sample_emd"):
            if key in m:
                arrays[f"{model}__{key[len('per_sample_') :]}"] = np.asarray(m[key], dtype=np.float64)
    arrays["latents"] = evaluation["latents"][:n_keep]
    if "latent_logvar" in evaluation:
        arrays["latent_logvar"] = evaluation["latent_logvar"][:n_keep]
    n_show = min(len(ds.x_test), 64)
    for model, r in evaluation["recons"].items():
        arrays[f"recon__{model}"] = r[:n_show]
    np.savez_compressed(out / "test_evaluation.npz", **arrays)


def train_run(cfg: RunConfig, out_root: Path, *, force: bool = False, resume: bool = False) -> tuple[Path, dict]:
    """Train, evaluate and write ``out_root/<name>/`` atomically."""
    from micae.outputs import check_target

    final = Path(out_root) / cfg.name
    check_target(final, force=force, resume=resume)
    start = time.perf_counter()
    _seed_everything(cfg.seed)
    info(f"loading dataset {cfg.dataset['name']}")
    ds = load_run_dataset(cfg)
    info(
        f"dataset: {len(ds.x_train)}/{len(ds.x_val)}/{len(ds.x_test)} train/val/test samples "
        f"of {ds.n_parts} x {ds.input_shape}"
    )
    if cfg.train["mode"] != "frozen-encoder":
        info(f"encoder: {describe_budget(cfg.check_encoder(ds.input_shape, ds.n_parts))}")
    with staged_output(final, force=force, resume=resume) as work:
        trained = train_models(cfg, ds, work)
        trained["budget"] = encoder_budget(
            trained["encoder"], ds.n_parts, cfg.masked_inputs(ds.input_shape), cfg.elinks
        )
        info(f"trained encoder: {describe_budget(trained['budget'])}")
        info("evaluating on the test split (QAT model, float twin, PCA, ECON-T algorithms)")
        evaluation = evaluate_models(cfg, ds, trained)
        info(f"latent codes equal to 0 on the test split: {zero_line(evaluation['zero_codes'])}")
        metrics = write_artifacts(cfg, ds, trained, evaluation, work, time.perf_counter() - start)
        remove_leftovers(work)
    return final, metrics
