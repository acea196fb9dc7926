"""Stacked two-stage compression: a second encoder over the concatenated stage-1 latents.

Stage 1 is a trained MICAE run (N tied encoders, latents concatenated). Stage 2
reads those N x L latents as an (N, L, 1) image and compresses them again with
the same shallow, hardware-supported shape (quantizer -> QConv2D -> quantizer ->
Flatten -> QDense -> quantizer). Its input quantizer *is* the stage-1 latent
quantizer, so on stage-1 latents it is the identity and the stage-2 encoder
converts through the usual synthesize route with stage-1 latents as test data.
A small float decoder (Dense -> Dense) rebuilds the latents; the stage-1
decoder then rebuilds the inputs:

    inputs -> stage-1 encoders -> concat -> stage-2 encoder -> stage-2 decoder -> stage-1 decoder

Stage 1 stays frozen. ``stack.loss: latent`` (default) trains stage 2 on the
latent reconstruction MSE; ``chain`` trains it on the input reconstruction
through the frozen stage-1 decoder (the run's own loss).

Files added to the run folder ``models/<name>/``: ``stage2_encoder.h5``,
``stage2_decoder.h5``, ``stacked_micae.h5`` (the whole chain),
``stage1_latents.npy`` (test-split stage-1 latents, the stage-2 synthesize
data) and a ``stacked`` section in ``metrics.json``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from micae.errors import ConfigError, ConstraintError, DataError
from micae.fixed.budget import bit_budget
from micae.jsonable import jsonable
from micae.log import info
from micae.models.quantizers import QuantSpec
from micae.models.spec import EncoderSpec
from micae.outputs import staged_output, staging_path
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

STAGE2_ENCODER = "stage2_encoder.h5"
STAGE2_DECODER = "stage2_decoder.h5"
STACKED_MODEL = "stacked_micae.h5"
STAGE1_LATENTS = "stage1_latents.npy"
STAGE2_MARKER = "STAGE2"  # marks a staging folder as a stage-2 update (safe to clear on retry)


def quant_spec_of(fixed) -> QuantSpec:
    """The ``quantized_bits`` spec whose grid is the fixed-point type ``fixed``."""
    if fixed.signed:
        return QuantSpec(fixed.width, fixed.width - 1 - fixed.frac, signed=True)
    return QuantSpec(fixed.width, fixed.width - fixed.frac, signed=False)


def stage2_spec(stage1: EncoderSpec, stack: dict, n_parts: int, latent1: int, latent1_quant: QuantSpec) -> EncoderSpec:
    """The stage-2 encoder: input (n_parts, latent1, 1) on the stage-1 latent grid.

    Weight/bias/activation precisions follow stage 1; ``stack.latent_quant``
    (default: the stage-1 latent quantizer) sets the stage-2 latents.
    """
    lq = stack.get("latent_quant")
    return EncoderSpec(
        input_shape=(int(n_parts), int(latent1), 1),
        input_quant=latent1_quant,
        filters=int(stack["filters"]),
        kernel=int(stack["kernel"]),
        strides=int(stack["strides"]),
        padding=str(stack["padding"]),
        conv_weight=stage1.conv_weight,
        conv_bias=stage1.conv_bias,
        conv_act=stage1.conv_act,
        latent=int(stack["latent"]),
        dense_weight=stage1.dense_weight,
        dense_bias=stage1.dense_bias,
        latent_quant=QuantSpec.from_dict(lq) if isinstance(lq, dict) else latent1_quant,
    )


def check_stage2(
    spec: EncoderSpec, stack: dict, stage1: dict, min_chain: float, min_chain_bits: float | None = None
) -> dict:
    """Stage-2 and whole-chain compression, raising ConstraintError below their limits.

    ``stage1`` is the stage-1 bit budget (:func:`micae.fixed.budget.bit_budget`, all parts). Factors
    count values as ECON-T does (stage 2: N x L stage-1 latents / stage-2 latents; chain: live input
    values / stage-2 latents); the bit ratios stand beside them, with ``min_chain_bits`` as their
    optional limit for the chain.
    """
    from micae.models.constraints import check_encoder_spec

    try:
        b2 = check_encoder_spec(spec, float(stack["min_compression"]))
    except ConstraintError as exc:
        raise ConstraintError(
            f"stage 2: {exc.problem}",
            "use fewer stage-2 latents (--stack-latent N) or lower stack.min_compression",
        ) from exc
    in_values, in_bits = stage1["total_input_values"], stage1["total_input_bits"]
    chain = in_values / b2["latent_values"]
    chain_bits = in_bits / b2["latent_bits"]
    if chain < min_chain:
        raise ConstraintError(
            f"stacked chain compression factor {chain:.3g} = {in_values} input values / {b2['latent_values']} "
            f"stage-2 latents is below {min_chain:g} (bit ratio {chain_bits:.3g})",
            f"use at most {int(in_values // min_chain)} stage-2 latents (--stack-latent N), or lower min_compression",
        )
    if min_chain_bits is not None and chain_bits < min_chain_bits:
        raise ConstraintError(
            f"stacked chain bit ratio {chain_bits:.3g} = {in_bits} input bits / {b2['latent_bits']} stage-2 bits "
            f"is below min_bit_compression {min_chain_bits:g}",
            "use fewer or narrower stage-2 latents (stack.latent_quant), or lower or unset min_bit_compression",
        )
    return {
        "input_values": int(in_values),
        "stage1_latent_values": int(stage1["total_latent_values"]),
        "stage2_latent_values": int(b2["latent_values"]),
        "input_bits": int(in_bits),
        "stage1_latent_bits": int(stage1["total_latent_bits"]),
        "stage2_latent_bits": int(b2["latent_bits"]),
        "stage1": stage1["compression_factor"],
        "stage2": b2["compression_factor"],
        "chain": chain,
        "stage1_bit_ratio": stage1["bit_ratio"],
        "stage2_bit_ratio": b2["bit_ratio"],
        "chain_bit_ratio": chain_bits,
        "stage2_min_compression": float(stack["min_compression"]),
        "chain_min_compression": float(min_chain),
        "chain_min_bit_compression": min_chain_bits,
    }


def precheck(cfg: RunConfig) -> None:
    """Before stage 1 trains: refuse a stage-2 compression below its limit when it is known from the config.

    The exact check (on the trained encoder and loaded data, chain included) runs again in ``train_stacked``.
    """
    if not cfg.stack["enabled"] or cfg.train["mode"] == "frozen-encoder":
        return
    d = cfg.dataset
    n_parts = int(d.get("tiles") or 1) if d["name"] == "digits" else int(d.get("n_parts") or 1)
    enc = EncoderSpec.from_dict({k: v for k, v in cfg.raw["encoder"].items() if k != "input_shape"})
    spec2 = stage2_spec(enc, cfg.stack, n_parts, enc.latent, enc.latent_quant)
    bits = enc.latent_quant.bits
    stage1 = bit_budget(enc.latent, bits, enc.latent, bits, n_parts=n_parts)  # inputs unknown yet
    check_stage2(spec2, cfg.stack, stage1, 0.0)


def stage1_latents(encoder, x: np.ndarray) -> np.ndarray:
    """``x`` (samples, N, *input_shape) -> stage-1 latents as (samples, N, L, 1) images."""
    n, n_parts = x.shape[:2]
    z = encoder.predict(x.reshape(n * n_parts, *x.shape[2:]), batch_size=4096, verbose=0)
    return np.asarray(z, dtype=np.float32).reshape(n, n_parts, -1, 1)


def build_stage2_decoder(
    n_values: int, latent: int, units: int, *, seed: int | None = None, name: str = "stage2_decoder"
):
    """Float Dense(units, relu) -> Dense(n_values): stage-2 latents -> flat stage-1 latents."""
    import tensorflow as tf

    init = tf.keras.initializers.GlorotUniform(seed=seed)
    z = tf.keras.Input(shape=(latent,), name="stage2_latents")
    h = tf.keras.layers.Dense(units, activation="relu", kernel_initializer=init, name="s2_dense")(z)
    out = tf.keras.layers.Dense(n_values, kernel_initializer=init, name="s2_out")(h)
    return tf.keras.Model(z, out, name=name)


def build_stage2_autoencoder(encoder2, decoder2):
    """(N, L, 1) stage-1 latent image -> flat reconstruction of the same latents."""
    import tensorflow as tf

    x = tf.keras.Input(shape=tuple(encoder2.input_shape[1:]), name="stage1_latent_grid")
    return tf.keras.Model(x, decoder2(encoder2(x)), name="stage2_ae")


def build_chain(encoder1, decoder1, encoder2, decoder2, n_parts: int, *, name: str = "stacked_micae"):
    """inputs -> stage-1 encoders (tied) -> concat -> stage-2 encoder -> stage-2 decoder -> stage-1 decoder."""
    import tensorflow as tf

    shape = tuple(encoder1.input_shape[1:])
    latent1 = int(encoder1.output_shape[-1])
    inputs = [tf.keras.Input(shape=shape, name=f"part_{i}") for i in range(n_parts)]
    lat = [encoder1(x) for x in inputs]
    z = lat[0] if n_parts == 1 else tf.keras.layers.Concatenate(name="latents")(lat)
    grid = tf.keras.layers.Reshape((n_parts, latent1, 1), name="latent_grid")(z)
    out = decoder1(decoder2(encoder2(grid)))
    return tf.keras.Model(inputs, out, name=name)


def _metrics(x: np.ndarray, recon: np.ndarray, layout: str) -> dict:
    from micae.train.evaluate import public, reconstruction_metrics

    return public(reconstruction_metrics(x, recon, layout))


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
            "train stage 2 with the same config and data the run was trained on",
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


def _stage2_models(cfg: RunConfig, stage1: dict, spec2: EncoderSpec, n_parts: int) -> dict:
    from micae.models.encoder import build_encoder

    st = cfg.stack
    latent1 = int(stage1["encoder"].output_shape[-1])
    encoder2 = build_encoder(spec2, min_compression=float(st["min_compression"]), name="stage2_encoder", seed=cfg.seed)
    decoder2 = build_stage2_decoder(n_parts * latent1, spec2.latent, int(st["decoder_units"]), seed=cfg.seed)
    return {
        "encoder2": encoder2,
        "decoder2": decoder2,
        "stage2_ae": build_stage2_autoencoder(encoder2, decoder2),
        "chain": build_chain(stage1["encoder"], stage1["decoder"], encoder2, decoder2, n_parts),
    }


def _fit_stage2(cfg: RunConfig, ds, models: dict, z: dict, work: Path) -> dict:
    """``stack.loss: chain``: through the frozen stage-1 decoder; ``latent``: MSE on the stage-1 latents."""
    from micae.train.fit import fit_phase
    from micae.train.losses import make_loss

    st, tr = cfg.stack, cfg.train
    common = dict(
        work=work,
        epochs=int(st["epochs"] or tr["epochs"]),
        batch_size=int(tr["batch_size"]),
        learning_rate=float(tr["learning_rate"]),
        patience=int(tr["patience"]),
        resume=False,
        phase="stage2",
    )
    if st["loss"] == "chain":
        loss = make_loss(tr["loss"], ds.layout, ds.n_parts, ds.input_shape[-1])
        x_tr, x_va = ds.x_train, ds.x_val
        data = (model_inputs(x_tr), model_target(x_tr), model_inputs(x_va), model_target(x_va))
        return fit_phase(models["chain"], *data, loss=loss, **common)
    flat = {k: v.reshape(len(v), -1) for k, v in z.items()}
    return fit_phase(models["stage2_ae"], z["train"], flat["train"], z["val"], flat["val"], loss="mse", **common)


def _evaluate_stacked(cfg: RunConfig, ds, stage1: dict, models: dict, z: dict, spec2: EncoderSpec) -> dict:
    """Stage 1, stage 2 (on the latents, against PCA) and the whole chain on the test split."""
    from micae.train.baselines import pca_joint

    x, channels = ds.x_test, ds.input_shape[-1]
    z_test = z["test"].reshape(len(x), -1)
    z_hat = models["stage2_ae"].predict(z["test"], batch_size=4096, verbose=0)
    z_pca = pca_joint(z["train"], z["test"], spec2.latent, cfg.seed).reshape(len(x), -1)
    return {
        "stage1": _metrics(x, recon_parts(stage1["micae"], x, channels), ds.layout),
        "stage2": {
            "latent_mse": float(np.mean((z_test - z_hat) ** 2)),
            "latent_mse_pca": float(np.mean((z_test - z_pca) ** 2)),
            "latent_variance": float(np.mean(np.var(z_test, axis=0))),
        },
        "end_to_end": _metrics(x, recon_parts(models["chain"], x, channels), ds.layout),
    }


def _write_stage2(run_dir: Path, stacked: dict, models: dict, z_test: np.ndarray, work: Path) -> None:
    """Into the staging copy of the run: the stage-2 files, history rows and the ``stacked`` metrics."""
    from micae.models.io import save_model

    save_model(models["encoder2"], work / STAGE2_ENCODER)
    save_model(models["decoder2"], work / STAGE2_DECODER)
    save_model(models["chain"], work / STACKED_MODEL)
    np.save(work / STAGE1_LATENTS, z_test[:N_KEEP])
    merge_history(work, ["stage2"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["stacked"] = stacked
    (work / "metrics.json").write_text(json.dumps(jsonable(metrics, max_array=64), indent=2))
    remove_leftovers(work)
    (work / STAGE2_MARKER).unlink(missing_ok=True)


def _check_staging_free(run_dir: Path) -> None:
    """A leftover ``<run>.incomplete`` of an interrupted stage 2 is cleared; one of a training run is not."""
    staging = staging_path(run_dir)
    if staging.exists() and not (staging / STAGE2_MARKER).exists():
        raise ConfigError(f"an interrupted training run left {staging}", "resume or remove it before training stage 2")


def train_stacked(cfg: RunConfig, run_dir: str | Path) -> dict:
    """Train and evaluate stage 2 on a finished stage-1 run folder; returns the ``stacked`` metrics.

    Also returns the Keras models under ``"models"`` (not written to JSON). The run folder is
    replaced by its updated copy only when everything succeeded.
    """
    import tensorflow as tf

    from micae.models.extract import extract_encoder, inspect_encoder
    from micae.train.run import load_run_dataset

    run_dir = Path(run_dir)
    stage1 = _load_stage1(run_dir)
    tf.keras.utils.set_random_seed(cfg.seed)
    info("stage 2: loading the stage-1 dataset")
    ds = load_run_dataset(cfg)
    _check_same_test_split(run_dir, ds.x_test)
    budget1 = encoder_budget(stage1["encoder"], ds.n_parts, cfg.masked_inputs(ds.input_shape))
    lat1_quant = quant_spec_of(extract_encoder(stage1["encoder"]).encoder.latent_type)
    spec2 = stage2_spec(cfg.encoder_spec(ds.input_shape), cfg.stack, ds.n_parts, budget1["latent_values"], lat1_quant)
    compression = check_stage2(spec2, cfg.stack, budget1, cfg.min_compression, cfg.min_bit_compression)
    info(f"stage 1: {describe_budget(budget1)}")
    info(
        f"stage 2: compression factor {compression['stage2']:.3g}, bit ratio {compression['stage2_bit_ratio']:.3g}; "
        f"chain: factor {compression['chain']:.3g}, bit ratio {compression['chain_bit_ratio']:.3g}"
    )
    z = {split: stage1_latents(stage1["encoder"], ds.split(split)) for split in ("train", "val", "test")}
    models = _stage2_models(cfg, stage1, spec2, ds.n_parts)
    _check_staging_free(run_dir)
    with staged_output(run_dir, force=True) as work:
        shutil.copytree(run_dir, work, dirs_exist_ok=True)
        (work / STAGE2_MARKER).write_text("stage-2 update of the run folder in progress\n")
        record = _fit_stage2(cfg, ds, models, z, work)
        info("stage 2: evaluating stage 1, stage 2 and the whole chain on the test split")
        guard2 = inspect_encoder(models["encoder2"], name="stage2_encoder")
        stacked = {
            **_evaluate_stacked(cfg, ds, stage1, models, z, spec2),
            "compression": compression,
            "loss": cfg.stack["loss"],
            "spec": spec2.to_dict(),
            "stage2_input_shape": list(spec2.input_shape),
            "hls_route": {
                "supported": guard2.exact,
                "problems": guard2.problems,
                "synthesize": f"synthesize.py --model {run_dir / STAGE2_ENCODER} --data {run_dir / STAGE1_LATENTS}",
            },
            "training": training_record(record),
            "files": [STAGE2_ENCODER, STAGE2_DECODER, STACKED_MODEL, STAGE1_LATENTS],
        }
        _write_stage2(run_dir, stacked, models, z["test"], work)
    return {**stacked, "models": models}


def format_stacked_table(stacked: dict) -> str:
    """Per-stage and end-to-end losses, as in the stackable autoencoder's table."""
    s1, s2, e2e, c = stacked["stage1"], stacked["stage2"], stacked["end_to_end"], stacked["compression"]
    has_emd = "emd_mean" in e2e
    head = f"{'stacked stage':<26}{'target':<9}{'MSE':>11}" + (f"{'EMD mean':>10}{'EMD median':>12}" if has_emd else "")
    lines = [head, "-" * len(head)]

    def row(label: str, target: str, mse: float, m: dict | None) -> str:
        line = f"{label:<26}{target:<9}{mse:>11.4g}"
        if has_emd:
            line += f"{m['emd_mean']:>10.3f}{m['emd_median']:>12.3f}" if m else f"{'-':>10}{'-':>12}"
        return line

    lines.append(row("stage 1 (MICAE)", "inputs", s1["mse"], s1))
    lines.append(row("stage 2 (latent AE)", "latents", s2["latent_mse"], None))
    lines.append(row("stage 2 PCA baseline", "latents", s2["latent_mse_pca"], None))
    lines.append(row("end-to-end (both stages)", "inputs", e2e["mse"], e2e))
    lines.append(
        f"compression factor (values): stage 1 {c['stage1']:.2f} ({c['input_values']} -> {c['stage1_latent_values']}), "
        f"stage 2 {c['stage2']:.2f} (-> {c['stage2_latent_values']}), chain {c['chain']:.2f}"
    )
    lines.append(
        f"bit ratio: stage 1 {c['stage1_bit_ratio']:.2f} ({c['input_bits']} -> {c['stage1_latent_bits']} bits), "
        f"stage 2 {c['stage2_bit_ratio']:.2f} (-> {c['stage2_latent_bits']} bits), chain {c['chain_bit_ratio']:.2f}"
    )
    route = stacked["hls_route"]
    lines.append(
        "stage-2 encoder: "
        + (
            "hls-convertible (" + route["synthesize"] + ")"
            if route["supported"]
            else f"not bit-exact convertible: {route['problems'][0]}"
        )
    )
    return "\n".join(lines)
