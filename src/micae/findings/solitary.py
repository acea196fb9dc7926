"""Solitary encoders: N untied encoders, each trained alone as a single-input CAE on its own part,
then frozen; their latents are concatenated (part order) and one decoder is trained on top.

This is the seed projects' first experiment (findings 1 and 2). micae's own modes always share ONE
encoder between the parts; here every part has its own encoder with its own weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from micae.train.config import RunConfig


@dataclass
class SolitaryModels:
    encoders: list  # one Keras encoder per part, frozen after its CAE phase
    caes: list  # part i's own CAE (encoder i + its decoder)
    concat: object  # N inputs -> own encoder each -> Concatenate -> decoder
    phases: dict  # fit_phase records: solo0..solo{N-1}, concat


def build_concat_model(encoders: list, decoder, *, name: str = "solitary_concat"):
    """Input ``part_i`` -> ``encoders[i]`` -> latents concatenated in part order -> ``decoder``."""
    import tensorflow as tf

    inputs = [tf.keras.Input(shape=tuple(e.input_shape[1:]), name=f"part_{i}") for i, e in enumerate(encoders)]
    latents = [e(x) for e, x in zip(encoders, inputs)]
    z = latents[0] if len(latents) == 1 else tf.keras.layers.Concatenate(name="latents")(latents)
    return tf.keras.Model(inputs, decoder(z), name=name)


def build_solitary(cfg: RunConfig, input_shape: tuple[int, ...], n_parts: int) -> tuple[list, list]:
    """N encoders (seeds ``cfg.seed + i``, so their weights differ) and their single-input CAEs."""
    from micae.models.decoder import build_decoder
    from micae.models.encoder import build_encoder
    from micae.models.micae import build_micae

    spec = cfg.encoder_spec(input_shape)
    encoders, caes = [], []
    for i in range(n_parts):
        enc = build_encoder(spec, min_compression=cfg.min_compression, name=f"encoder_{i}", seed=cfg.seed + i)
        latent = int(enc.output_shape[-1])
        dec = build_decoder(cfg.decoder_spec(), latent, tuple(input_shape), name=f"cae_decoder_{i}", seed=cfg.seed + i)
        encoders.append(enc)
        caes.append(build_micae(enc, dec, 1, name=f"cae_{i}"))
    return encoders, caes


def _common(cfg: RunConfig, work: Path, layout: str, n_parts: int, channels: int) -> dict:
    from micae.train.losses import make_loss

    tr = cfg.train
    return dict(
        work=work,
        epochs=int(tr["epochs"]),
        batch_size=int(tr["batch_size"]),
        learning_rate=float(tr["learning_rate"]),
        loss=make_loss(tr["loss"], layout, n_parts, channels),
        patience=int(tr["patience"]),
        resume=False,
    )


def train_solitary(cfg: RunConfig, ds, work: Path) -> SolitaryModels:
    """Train every part's CAE alone on that part, freeze the encoders, train a decoder on the concatenation.

    Histories go to ``work/history_solo<i>.csv`` and ``work/history_concat.csv`` (Keras CSVLogger).
    """
    from micae.log import info
    from micae.models.decoder import build_decoder
    from micae.train.fit import fit_phase
    from micae.train.shared import model_inputs, model_target

    n, shape = ds.n_parts, tuple(ds.input_shape)
    channels = shape[-1]
    encoders, caes = build_solitary(cfg, shape, n)
    phases: dict = {}
    for i, cae in enumerate(caes):
        info(f"solitary encoder {i + 1}/{n}: training a CAE on part {i} alone")
        part_train, part_val = ds.x_train[:, i : i + 1], ds.x_val[:, i : i + 1]
        phases[f"solo{i}"] = fit_phase(
            cae,
            model_inputs(part_train),
            model_target(part_train),
            model_inputs(part_val),
            model_target(part_val),
            phase=f"solo{i}",
            **_common(cfg, work, ds.layout, 1, channels),
        )
        encoders[i].trainable = False
    latent = sum(int(e.output_shape[-1]) for e in encoders)
    decoder = build_decoder(cfg.decoder_spec(), latent, (*shape[:2], channels * n), seed=cfg.seed)
    concat = build_concat_model(encoders, decoder)
    info(f"solitary encoders: training a decoder on the {n} concatenated latents ({latent} values), encoders frozen")
    phases["concat"] = fit_phase(
        concat,
        model_inputs(ds.x_train),
        model_target(ds.x_train),
        model_inputs(ds.x_val),
        model_target(ds.x_val),
        phase="concat",
        **_common(cfg, work, ds.layout, n, channels),
    )
    return SolitaryModels(encoders, caes, concat, phases)


def own_reconstructions(models: SolitaryModels, x: np.ndarray) -> np.ndarray:
    """Every part reconstructed by its own solitary CAE: (samples, N, H, W, C)."""
    from micae.train.shared import recon_parts

    channels = x.shape[-1]
    return np.concatenate([recon_parts(cae, x[:, i : i + 1], channels) for i, cae in enumerate(models.caes)], axis=1)


def concat_reconstructions(models: SolitaryModels, x: np.ndarray) -> np.ndarray:
    """The concatenation decoder's reconstruction of all parts: (samples, N, H, W, C)."""
    from micae.train.shared import recon_parts

    return recon_parts(models.concat, x, x.shape[-1])


def parameter_counts(models: SolitaryModels) -> dict:
    """Total parameters of the final model, those trainable in its last phase, and all trained ones."""
    encoders = sum(e.count_params() for e in models.encoders)
    cae_decoders = sum(c.count_params() for c in models.caes) - encoders
    total = models.concat.count_params()
    decoder = total - encoders
    return {"total": total, "trainable_final": decoder, "trained_all": encoders + cae_decoders + decoder}
