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
import os
import shutil
from pathlib import Path

import numpy as np

from micae.errors import ConstraintError, DataError
from micae.log import info
from micae.models.quantizers import QuantSpec
from micae.models.spec import EncoderSpec
from micae.train.config import RunConfig

STAGE2_ENCODER = "stage2_encoder.h5"
STAGE2_DECODER = "stage2_decoder.h5"
STACKED_MODEL = "stacked_micae.h5"
STAGE1_LATENTS = "stage1_latents.npy"
N_KEEP = 5000  # test samples kept on disk, as run.write_artifacts does


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


def check_stage2(spec: EncoderSpec, stack: dict, stage1_bits: int, input_bits: int, min_chain: float) -> dict:
    """Stage-2 and whole-chain compression, raising ConstraintError below their limits."""
    from micae.models.constraints import check_encoder_spec

    try:
        check_encoder_spec(spec, float(stack["min_compression"]))
    except ConstraintError as exc:
        raise ConstraintError(
            f"stage 2: {exc.problem}",
            "use fewer or narrower stage-2 latents (--stack-latent N, stack.latent_quant) or lower stack.min_compression",
        ) from exc
    stage2_bits = spec.latent * spec.latent_quant.bits
    chain = input_bits / stage2_bits
    if chain < min_chain:
        raise ConstraintError(
            f"stacked chain compression {chain:.3g} = {input_bits} input bits / {stage2_bits} stage-2 bits is below {min_chain:g}",
            "use fewer or narrower stage-2 latents, or raise stack.min_compression to at least 1",
        )
    return {
        "input_bits": int(input_bits),
        "stage1_latent_bits": int(stage1_bits),
        "stage2_latent_bits": int(stage2_bits),
        "stage1": input_bits / stage1_bits,
        "stage2": stage1_bits / stage2_bits,
        "chain": chain,
        "stage2_min_compression": float(stack["min_compression"]),
        "chain_min_compression": float(min_chain),
    }


def precheck(cfg: RunConfig) -> None:
    """Before stage 1 trains: refuse a stage-2 compression below its limit when it is known from the config.

    The exact check (on the trained encoder and loaded data) runs again in ``train_stacked``.
    """
    if not cfg.stack["enabled"] or cfg.train["mode"] == "frozen-encoder":
        return
    d = cfg.dataset
    n_parts = int(d.get("tiles") or 1) if d["name"] == "digits" else int(d.get("n_parts") or 1)
    enc = EncoderSpec.from_dict({k: v for k, v in cfg.raw["encoder"].items() if k != "input_shape"})
    spec2 = stage2_spec(enc, cfg.stack, n_parts, enc.latent, enc.latent_quant)
    bits1 = n_parts * enc.latent * enc.latent_quant.bits
    check_stage2(spec2, cfg.stack, bits1, bits1, 0.0)  # the chain limit needs the input bits: checked later


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


def _parts(x: np.ndarray) -> list[np.ndarray]:
    return [x[:, i] for i in range(x.shape[1])]


def _recon_parts(model, x: np.ndarray, channels: int) -> np.ndarray:
    """A model with the MICAE output (H, W, N*C) -> (samples, N, H, W, C)."""
    out = model.predict(_parts(x), batch_size=4096, verbose=0)
    n_parts = x.shape[1]
    return np.stack([out[..., i * channels : (i + 1) * channels] for i in range(n_parts)], axis=1)


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


def _move_into(stage: Path, run_dir: Path, names: list[str]) -> None:
    for name in names:
        os.replace(stage / name, run_dir / name)


def _append_history(run_dir: Path, stage: Path, phase: str) -> None:
    """Add the stage-2 epochs to the run's history.csv (phase column ``stage2``)."""
    import csv

    src = stage / f"history_{phase}.csv"
    if not src.exists():
        return
    hist = run_dir / "history.csv"
    lines = hist.read_text().splitlines() if hist.exists() else ["phase,epoch,loss,val_loss"]
    lines = [ln for ln in lines if not ln.startswith(f"{phase},")]
    for rec in csv.DictReader(src.open()):
        lines.append(f"{phase},{rec['epoch']},{rec['loss']},{rec.get('val_loss', '')}")
    tmp = stage / "history.csv"
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, hist)


def train_stacked(cfg: RunConfig, run_dir: str | Path) -> dict:
    """Train and evaluate stage 2 on a finished stage-1 run folder; returns the ``stacked`` metrics.

    Also returns the Keras models under ``"models"`` (not written to JSON).
    The run folder gets its new files only when everything succeeded;
    ``metrics.json`` is replaced last.
    """
    import tensorflow as tf

    from micae.models.encoder import build_encoder
    from micae.models.extract import extract_encoder, inspect_encoder
    from micae.models.io import load_model, save_model
    from micae.models.micae import concat_parts
    from micae.train.baselines import pca_joint
    from micae.train.fit import fit_phase
    from micae.train.losses import make_loss
    from micae.train.run import load_run_dataset

    run_dir = Path(run_dir)
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.exists():
        raise DataError(f"{run_dir} is not a finished training run (no metrics.json)", "train stage 1 first")
    st, tr = cfg.stack, cfg.train
    tf.keras.utils.set_random_seed(cfg.seed)

    micae = load_model(run_dir / "micae.h5")
    encoder1, decoder1 = micae.get_layer("encoder"), micae.get_layer("decoder")
    encoder1.trainable = False
    decoder1.trainable = False
    guard1 = extract_encoder(encoder1).encoder
    latent1 = guard1.n_latent

    info("stage 2: loading the stage-1 dataset")
    ds = load_run_dataset(cfg)
    _check_same_test_split(run_dir, ds.x_test)
    n_parts, channels = ds.n_parts, ds.input_shape[-1]
    budget1 = guard1.bit_budget()
    spec2 = stage2_spec(cfg.encoder_spec(ds.input_shape), st, n_parts, latent1, quant_spec_of(guard1.latent_type))
    compression = check_stage2(
        spec2, st, budget1["latent_bits"] * n_parts, budget1["input_bits"] * n_parts, cfg.min_compression
    )

    z = {split: stage1_latents(encoder1, ds.split(split)) for split in ("train", "val", "test")}
    encoder2 = build_encoder(spec2, min_compression=float(st["min_compression"]), name="stage2_encoder", seed=cfg.seed)
    decoder2 = build_stage2_decoder(n_parts * latent1, spec2.latent, int(st["decoder_units"]), seed=cfg.seed)
    ae2 = build_stage2_autoencoder(encoder2, decoder2)
    chain = build_chain(encoder1, decoder1, encoder2, decoder2, n_parts)

    stage = run_dir / ".stage2.incomplete"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    epochs = int(st["epochs"] or tr["epochs"])
    common = dict(
        work=stage,
        epochs=epochs,
        batch_size=int(tr["batch_size"]),
        learning_rate=float(tr["learning_rate"]),
        patience=int(tr["patience"]),
        resume=False,
    )
    if st["loss"] == "chain":
        loss = make_loss(tr["loss"], ds.layout, n_parts, channels)
        record = fit_phase(
            chain,
            _parts(ds.x_train),
            concat_parts(ds.x_train),
            _parts(ds.x_val),
            concat_parts(ds.x_val),
            phase="stage2",
            loss=loss,
            **common,
        )
    else:
        flat = {k: v.reshape(len(v), -1) for k, v in z.items()}
        record = fit_phase(ae2, z["train"], flat["train"], z["val"], flat["val"], phase="stage2", loss="mse", **common)

    info("stage 2: evaluating stage 1, stage 2 and the whole chain on the test split")
    x = ds.x_test
    z_test = z["test"].reshape(len(x), -1)
    z_hat = ae2.predict(z["test"], batch_size=4096, verbose=0)
    z_pca = pca_joint(z["train"], z["test"], spec2.latent, cfg.seed).reshape(len(x), -1)
    guard2 = inspect_encoder(encoder2, name="stage2_encoder")
    stacked = {
        "stage1": _metrics(x, _recon_parts(micae, x, channels), ds.layout),
        "stage2": {
            "latent_mse": float(np.mean((z_test - z_hat) ** 2)),
            "latent_mse_pca": float(np.mean((z_test - z_pca) ** 2)),
            "latent_variance": float(np.mean(np.var(z_test, axis=0))),
        },
        "end_to_end": _metrics(x, _recon_parts(chain, x, channels), ds.layout),
        "compression": compression,
        "loss": st["loss"],
        "spec": spec2.to_dict(),
        "stage2_input_shape": list(spec2.input_shape),
        "hls_route": {
            "supported": guard2.exact,
            "problems": guard2.problems,
            "synthesize": f"synthesize.py --model {run_dir / STAGE2_ENCODER} --data {run_dir / STAGE1_LATENTS}",
        },
        "training": {
            "seconds": round(record["seconds"], 2),
            "epochs_run": record["epochs_run"],
            "final_loss": (record["history"].get("loss") or [None])[-1],
            "final_val_loss": (record["history"].get("val_loss") or [None])[-1],
        },
        "files": [STAGE2_ENCODER, STAGE2_DECODER, STACKED_MODEL, STAGE1_LATENTS],
    }

    save_model(encoder2, stage / STAGE2_ENCODER)
    save_model(decoder2, stage / STAGE2_DECODER)
    save_model(chain, stage / STACKED_MODEL)
    np.save(stage / STAGE1_LATENTS, z["test"][:N_KEEP])
    metrics = json.loads(metrics_path.read_text())
    metrics["stacked"] = stacked
    (stage / "metrics.json").write_text(json.dumps(metrics, indent=2))
    _move_into(stage, run_dir, [STAGE2_ENCODER, STAGE2_DECODER, STACKED_MODEL, STAGE1_LATENTS])
    _append_history(run_dir, stage, "stage2")
    _move_into(stage, run_dir, ["metrics.json"])
    shutil.rmtree(stage, ignore_errors=True)
    return {**stacked, "models": {"encoder2": encoder2, "decoder2": decoder2, "chain": chain, "stage2_ae": ae2}}


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
        f"compression: stage 1 {c['stage1']:.2f} ({c['input_bits']} -> {c['stage1_latent_bits']} bits), "
        f"stage 2 {c['stage2']:.2f} ({c['stage1_latent_bits']} -> {c['stage2_latent_bits']} bits), chain {c['chain']:.2f}"
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
