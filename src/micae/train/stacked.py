"""Stacked compression: any number of hardware encoders, each over the latents of the level below.

Stage 1 is a trained MICAE run (N tied encoders, latents concatenated). Every stacked level k >= 2
(:mod:`micae.train.stack_levels`) reads the latents of level k-1 as an image and compresses them
again with the same shallow, hardware-supported shape (quantizer -> QConv2D -> quantizer -> Flatten
-> QDense -> quantizer). Its input quantizer *is* the latent quantizer of level k-1, so on those
latents it is the identity and every level converts through the usual synthesize route with the
latents of the level below as test data. Small float decoders rebuild each level's input latents;
the frozen lower decoders then rebuild the inputs (:mod:`micae.train.stack_models`).

Levels train bottom up with everything below them frozen. Per level, ``loss: latent`` (default)
trains on the MSE of the latents of the level below; ``chain`` trains on the input reconstruction
through all frozen lower levels (the run's own loss). ``stack.fine_tune_end_to_end: true`` then
trains all stacked levels together on the input reconstruction (stage 1 stays frozen).

Files added to the run folder ``models/<name>/``: per level k ``stage<k>_encoder.h5``,
``stage<k>_decoder.h5`` and ``stage<k-1>_latents.npy`` (test-split latents of level k-1 shaped
as level k's input: its synthesize data); ``stacked_micae.h5`` (the whole chain) and a ``stacked``
section in ``metrics.json`` (:mod:`micae.train.stack_report`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from micae.errors import ConfigError, DataError
from micae.fixed.budget import bit_budget
from micae.jsonable import jsonable
from micae.log import info
from micae.models.quantizers import QuantSpec
from micae.models.spec import EncoderSpec
from micae.outputs import staged_output, staging_path
from micae.train.config import RunConfig
from micae.train.shared import N_KEEP, encoder_budget, merge_history, model_inputs, model_target, remove_leftovers
from micae.train.stack_levels import (
    FINE_TUNE_PHASE,
    STACKED_MODEL,
    check_budgets,
    decoder_file,
    encoder_file,
    is_stack_file,
    latents_file,
    level_spec,
    listed,
    plan_specs,
    resolve_levels,
)
from micae.train.stack_report import evaluate_levels, format_stacked_table, stacked_summary

__all__ = ["format_stacked_table", "precheck", "train_stacked"]

STAGE2_ENCODER = encoder_file(2)
STAGE2_DECODER = decoder_file(2)
STAGE1_LATENTS = latents_file(1)
STAGE2_MARKER = "STAGE2"  # marks a staging folder as a stack update (safe to clear on retry)


def quant_spec_of(fixed) -> QuantSpec:
    """The ``quantized_bits`` spec whose grid is the fixed-point type ``fixed``."""
    if fixed.signed:
        return QuantSpec(fixed.width, fixed.width - 1 - fixed.frac, signed=True)
    return QuantSpec(fixed.width, fixed.width - fixed.frac, signed=False)


def stage2_spec(stage1: EncoderSpec, stack: dict, n_parts: int, latent1: int, latent1_quant: QuantSpec) -> EncoderSpec:
    """The stage-2 encoder of the one-level form: input (n_parts, latent1, 1) on the stage-1 latent grid."""
    return level_spec(stage1, stack, (int(n_parts), int(latent1), 1), latent1_quant)


def check_stage2(
    spec: EncoderSpec, stack: dict, stage1: dict, min_chain: float, min_chain_bits: float | None = None
) -> dict:
    """Stage-2 and chain compression of the one-level form (:func:`~micae.train.stack_levels.check_budgets`)."""
    return check_budgets([spec], {**stack, "levels": None}, stage1, min_chain, min_chain_bits)


def precheck(cfg: RunConfig) -> None:
    """Before stage 1 trains: refuse a level whose compression is below its limit, as far as the config tells.

    The exact check (on the trained encoder and loaded data, chain included) runs again in ``train_stacked``.
    """
    if not cfg.stack["enabled"] or cfg.train["mode"] == "frozen-encoder":
        return
    d = cfg.dataset
    n_parts = int(d.get("tiles") or 1) if d["name"] == "digits" else int(d.get("n_parts") or 1)
    from micae.train.econt_config import encoder_section

    enc = EncoderSpec.from_dict({k: v for k, v in encoder_section(cfg.raw).items() if k != "input_shape"})
    specs = plan_specs(enc, cfg.stack, n_parts, enc.latent, enc.latent_quant)
    bits = enc.latent_quant.bits
    stage1 = bit_budget(enc.latent, bits, enc.latent, bits, n_parts=n_parts)  # inputs unknown yet
    check_budgets(specs, cfg.stack, stage1, 0.0)


def stage1_latents(encoder, x: np.ndarray) -> np.ndarray:
    """``x`` (samples, N, *input_shape) -> stage-1 latents as (samples, N, L, 1) images."""
    n, n_parts = x.shape[:2]
    z = encoder.predict(x.reshape(n * n_parts, *x.shape[2:]), batch_size=4096, verbose=0)
    return np.asarray(z, dtype=np.float32).reshape(n, n_parts, -1, 1)


def _check_same_test_split(run_dir: Path, x_test: np.ndarray) -> None:
    """The dataset is regenerated from the config; make sure it is the run's own test split."""
    path = run_dir / "test_data.npz"
    if not path.exists():
        return
    with np.load(path) as f:
        saved = f["x"]
    if saved.shape[1:] != x_test.shape[1:] or not np.array_equal(saved, x_test[: len(saved)]):
        raise DataError(
            f"the dataset regenerated from {run_dir / 'config.yaml'} differs from the run's test_data.npz",
            "train the stack with the same config and data the run was trained on",
        )


def _load_stage1(run_dir: Path) -> dict:
    """The finished stage-1 run: its MICAE model, frozen encoder and decoder."""
    from micae.models.io import load_model

    if not (run_dir / "metrics.json").exists():
        raise DataError(f"{run_dir} is not a finished training run (no metrics.json)", "train stage 1 first")
    micae = load_model(run_dir / "micae.h5")
    encoder1, decoder1 = micae.get_layer("encoder"), micae.get_layer("decoder")
    encoder1.trainable = False
    decoder1.trainable = False
    return {"micae": micae, "encoder": encoder1, "decoder": decoder1}


def _build_levels(cfg: RunConfig, stage1: dict, specs: list, n_parts: int) -> list[dict]:
    """Encoder, decoder, latent autoencoder and chain (stage 1 up to it) of every stacked level."""
    from micae.models.encoder import build_encoder
    from micae.train.stack_models import build_chain, build_level_autoencoder, build_level_decoder

    built: list[dict] = []
    n_in = n_parts * int(stage1["encoder"].output_shape[-1])
    for index, (spec, level) in enumerate(zip(specs, resolve_levels(cfg.stack), strict=True)):
        stage = index + 2
        enc = build_encoder(
            spec, min_compression=float(level["min_compression"]), name=f"stage{stage}_encoder", seed=cfg.seed + index
        )
        dec = build_level_decoder(
            n_in, spec.latent, int(level["decoder_units"]), seed=cfg.seed + index, name=f"stage{stage}_decoder"
        )
        pairs = [(lv["encoder"], lv["decoder"]) for lv in built] + [(enc, dec)]
        built.append(
            {
                "stage": stage,
                "level": level,
                "spec": spec,
                "encoder": enc,
                "decoder": dec,
                "ae": build_level_autoencoder(enc, dec, name=f"stage{stage}_ae"),
                "chain": build_chain(stage1["encoder"], stage1["decoder"], pairs, n_parts, name=f"chain_{stage}"),
            }
        )
        n_in = spec.latent
    return built


def _fit(cfg: RunConfig, ds, model, z_in: dict | None, work: Path, *, phase: str, epochs, lr_scale: float = 1.0):
    """Fit ``model`` on the latents ``z_in`` (``loss: latent``) or, with ``z_in`` None, on the inputs."""
    from micae.train.fit import fit_phase
    from micae.train.losses import make_loss

    tr = cfg.train
    common = dict(
        work=work,
        epochs=int(epochs or cfg.stack["epochs"] or tr["epochs"]),
        batch_size=int(tr["batch_size"]),
        learning_rate=float(tr["learning_rate"]) * lr_scale,
        patience=int(tr["patience"]),
        resume=False,
        phase=phase,
    )
    if z_in is None:
        loss = make_loss(tr["loss"], ds.layout, ds.n_parts, ds.input_shape[-1], tr)
        x_tr, x_va = ds.x_train, ds.x_val
        data = (model_inputs(x_tr), model_target(x_tr), model_inputs(x_va), model_target(x_va))
        return fit_phase(model, *data, loss=loss, **common)
    flat = {k: v.reshape(len(v), -1) for k, v in z_in.items()}
    return fit_phase(model, z_in["train"], flat["train"], z_in["val"], flat["val"], loss="mse", **common)


def _predict(model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=4096, verbose=0), dtype=np.float32)


def _train_levels(cfg: RunConfig, ds, built: list[dict], z1: dict, work: Path) -> dict:
    """Each level in turn, every level below it frozen; then the optional end-to-end fine tune."""
    from micae.train.stack_models import set_trainable

    records, z = {}, z1
    for i, lv in enumerate(built):
        set_trainable([m for below in built[:i] for m in (below["encoder"], below["decoder"])], False)
        set_trainable([lv["encoder"], lv["decoder"]], True)
        info(f"stage {lv['stage']}: training on loss {lv['level']['loss']} (levels below frozen)")
        model, data = (lv["chain"], None) if lv["level"]["loss"] == "chain" else (lv["ae"], z)
        phase = f"stage{lv['stage']}"
        records[phase] = _fit(cfg, ds, model, data, work, phase=phase, epochs=lv["level"]["epochs"])
        if i + 1 < len(built):
            grid = tuple(built[i + 1]["encoder"].input_shape[1:])
            z = {s: _predict(lv["encoder"], v).reshape(len(v), *grid) for s, v in z.items()}
    if cfg.stack.get("fine_tune_end_to_end"):
        set_trainable([m for lv in built for m in (lv["encoder"], lv["decoder"])], True)
        info("stacked levels: fine-tuning all of them together on the input reconstruction (stage 1 frozen)")
        top = built[-1]["chain"]
        records[FINE_TUNE_PHASE] = _fit(cfg, ds, top, None, work, phase=FINE_TUNE_PHASE, epochs=None, lr_scale=0.1)
    set_trainable([m for lv in built for m in (lv["encoder"], lv["decoder"])], True)  # saved files stay trainable
    return records


def _write_levels(run_dir: Path, stacked: dict, built: list[dict], grids: list, work: Path) -> None:
    """Into the staging copy of the run: every level's files, history rows and the ``stacked`` metrics."""
    from micae.models.io import save_model

    for old in [p for p in work.iterdir() if is_stack_file(p.name)]:
        old.unlink()  # files of an earlier stack, maybe with more levels
    for lv, grid in zip(built, grids, strict=False):
        save_model(lv["encoder"], work / encoder_file(lv["stage"]))
        save_model(lv["decoder"], work / decoder_file(lv["stage"]))
        np.save(work / latents_file(lv["stage"] - 1), grid[:N_KEEP])
    save_model(built[-1]["chain"], work / STACKED_MODEL)
    hist = work / "history.csv"
    old_phases = {r.split(",", 1)[0] for r in hist.read_text().splitlines()[1:]} if hist.exists() else set()
    stale = {p for p in old_phases if p == FINE_TUNE_PHASE or (p.startswith("stage") and p[5:].isdigit())}
    merge_history(work, sorted(stale | {f"stage{lv['stage']}" for lv in built} | {FINE_TUNE_PHASE}))
    from micae.results.metrics import load_metrics

    metrics = load_metrics(run_dir)
    metrics.model_copy(update={"stacked": jsonable(stacked, max_array=64)}).write(work)
    remove_leftovers(work)
    (work / STAGE2_MARKER).unlink(missing_ok=True)


def _check_staging_free(run_dir: Path) -> None:
    """A leftover ``<run>.incomplete`` of an interrupted stack is cleared; one of a training run is not."""
    staging = staging_path(run_dir)
    if staging.exists() and not (staging / STAGE2_MARKER).exists():
        raise ConfigError(f"an interrupted training run left {staging}", "resume or remove it before training a stack")


def _plan(cfg: RunConfig, ds, stage1: dict) -> tuple[list, dict]:
    """The spec of every level on the trained stage-1 encoder, and the checked compression budget."""
    from micae.models.extract import extract_encoder
    from micae.train.shared import describe_budget

    budget1 = encoder_budget(stage1["encoder"], ds.n_parts, cfg.masked_inputs(ds.input_shape))
    lat1_quant = quant_spec_of(extract_encoder(stage1["encoder"]).encoder.latent_type)
    base = cfg.encoder_spec(ds.input_shape)
    specs = plan_specs(base, cfg.stack, ds.n_parts, budget1["latent_values"], lat1_quant)
    compression = check_budgets(specs, cfg.stack, budget1, cfg.min_compression, cfg.min_bit_compression)
    info(f"stage 1: {describe_budget(budget1)}")
    for row in compression["levels"][1:]:
        info(
            f"stage {row['stage']}: compression factor {row['compression_factor']:.3g}, bit ratio "
            f"{row['bit_ratio']:.3g}; chain up to it: factor {row['chain_factor']:.3g}, "
            f"bit ratio {row['chain_bit_ratio']:.3g}"
        )
    return specs, compression


def train_stacked(cfg: RunConfig, run_dir: str | Path) -> dict:
    """Train and evaluate every stacked level on a finished stage-1 run folder; returns the ``stacked`` metrics.

    Also returns the Keras models under ``"models"`` (not written to JSON): ``encoder2``/``decoder2``
    (level 2), ``chain`` (all levels) and ``levels`` (per level: ``encoder``, ``decoder``, ``ae``,
    ``chain``). The run folder is replaced by its updated copy only when everything succeeded.
    """
    import tensorflow as tf

    from micae.train.run import load_run_dataset

    run_dir = Path(run_dir)
    stage1 = _load_stage1(run_dir)
    tf.keras.utils.set_random_seed(cfg.seed)
    info("stack: loading the stage-1 dataset")
    ds = load_run_dataset(cfg)
    _check_same_test_split(run_dir, ds.x_test)
    specs, compression = _plan(cfg, ds, stage1)
    z1 = {s: stage1_latents(stage1["encoder"], ds.split(s)) for s in ("train", "val", "test")}
    z1 = {s: v.reshape(len(v), *specs[0].input_shape) for s, v in z1.items()}
    built = _build_levels(cfg, stage1, specs, ds.n_parts)
    _check_staging_free(run_dir)
    with staged_output(run_dir, force=True) as work:
        shutil.copytree(run_dir, work, dirs_exist_ok=True)
        (work / STAGE2_MARKER).write_text("stack update of the run folder in progress\n")
        records = _train_levels(cfg, ds, built, z1, work)
        info("stack: evaluating every level and the whole chain on the test split")
        evaluation = evaluate_levels(cfg, ds, stage1, built, z1)
        stacked = stacked_summary(run_dir, built, evaluation, compression, records, listed(cfg.stack))
        _write_levels(run_dir, stacked, built, evaluation["grids"]["test"], work)
    models = {"encoder2": built[0]["encoder"], "decoder2": built[0]["decoder"], "chain": built[-1]["chain"]}
    return {**stacked, "models": {**models, "levels": built}}
