"""What a training run and a stage-2 run share: model inputs, reconstructions, records, history, budgets."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

N_KEEP = 5000
"""Test samples kept on disk (``test_data.npz``, stage-1 latents): enough for reports and synthesize."""

LEFTOVERS = ("*.ckpt.weights.h5", "*.final.weights.h5", "*.state.json", "history_*.csv")
"""Per-phase resume files that a finished run folder does not keep."""


def model_inputs(x: np.ndarray, sums: np.ndarray | None = None):
    """``x`` (samples, N, ...) -> what a MICAE-shaped Keras model takes: N arrays, or one for N = 1;
    with ``sums`` (the decoder's module-sum input, (samples,) or (samples, N)) one more array, (samples, N)."""
    if sums is not None:
        n = x.shape[1]
        return [*(x[:, i] for i in range(n)), np.asarray(sums, dtype=np.float32).reshape(len(x), n)]
    return [x[:, i] for i in range(x.shape[1])] if x.shape[1] > 1 else x[:, 0]


def model_target(x: np.ndarray) -> np.ndarray:
    """``x`` (samples, N, H, W, C) -> the MICAE output layout (samples, H, W, N*C)."""
    from micae.models.micae import concat_parts

    return concat_parts(x)


def recon_parts(model, x: np.ndarray, channels: int, sums: np.ndarray | None = None) -> np.ndarray:
    """A model with the MICAE output (H, W, N*C) -> its reconstruction as (samples, N, H, W, C)
    (``sums``: the module sums of a decoder that takes them)."""
    out = model.predict(model_inputs(x, sums), batch_size=4096, verbose=0)
    return np.stack([out[..., i * channels : (i + 1) * channels] for i in range(x.shape[1])], axis=1)


def training_record(record: dict) -> dict:
    """The JSON summary of one ``fit_phase`` result."""
    history = record["history"]
    return {
        "seconds": round(record["seconds"], 2),
        "epochs_run": record["epochs_run"],
        "resumed_from": record["resumed_from"],
        "final_loss": (history.get("loss") or [None])[-1],
        "final_val_loss": (history.get("val_loss") or [None])[-1],
    }


def merge_history(out: Path, phases: list[str], src: Path | None = None) -> None:
    """Write ``out/history.csv`` (phase,epoch,loss,val_loss) from Keras' per-phase logs.

    The logs ``history_<phase>.csv`` are read from ``src`` (default ``out``); rows of other phases
    already in ``out/history.csv`` are kept, rows of ``phases`` are replaced.
    """
    src = Path(src or out)
    hist = Path(out) / "history.csv"
    rows = hist.read_text().splitlines()[1:] if hist.exists() else []
    rows = [r for r in rows if r.split(",", 1)[0] not in phases]
    for phase in phases:
        path = src / f"history_{phase}.csv"
        if not path.exists():
            continue
        with path.open() as f:
            rows += [f"{phase},{rec['epoch']},{rec['loss']},{rec.get('val_loss', '')}" for rec in csv.DictReader(f)]
    hist.write_text("\n".join(["phase,epoch,loss,val_loss", *rows]) + "\n")


def remove_leftovers(work: Path) -> None:
    """Drop the resume files of finished phases."""
    for pattern in LEFTOVERS:
        for leftover in Path(work).glob(pattern):
            leftover.unlink()


def describe_budget(b: dict) -> str:
    """One log line: compression factor (values) and bit ratio of a :func:`micae.fixed.budget.bit_budget`."""
    masked = f" ({b['masked_inputs']} masked)" if b.get("masked_inputs") else ""
    frame = ""
    if b.get("elinks") is not None:
        frame = (
            f"; ECON-T frame on {b['elinks']} e-links: {b['frame_header_bits']} header + {b['frame_sum_bits']} sum + "
            f"{b['frame_latent_bits']} latent + {b['frame_spare_bits']} spare = {b['frame_bits']} bits, "
            f"frame bit ratio {b['frame_bit_ratio']:.3g}"
        )
    return (
        f"compression factor {b['compression_factor']:.3g} = {b['input_values']} values{masked} / "
        f"{b['latent_values']} latents; bit ratio {b['bit_ratio']:.3g} = "
        f"{b['input_values']}x{b['input_bits_each']} / {b['latent_values']}x{b['latent_bits_each']} bits"
        + frame
        + (f", x{b['n_parts']} parts" if b.get("n_parts", 1) > 1 else "")
    )


def encoder_budget(encoder, n_parts: int, masked_inputs: int = 0, elinks: int | None = None) -> dict:
    """The bit budget of a trained Keras encoder (read back through the exactness guard).

    ``masked_inputs``: input positions the data never fills (HGCAL "8x8"), when the encoder itself
    does not declare its live inputs. ``elinks``: the ECON-T e-link count, which adds the frame's counts.
    """
    from micae.fixed.budget import bit_budget
    from micae.models.extract import extract_encoder

    guard = extract_encoder(encoder).encoder
    n_in = int(guard.n_inputs)
    live = int(getattr(guard, "n_live", n_in))
    masked = max(n_in - live, int(masked_inputs))
    budget = bit_budget(
        n_in - masked,
        guard.input_type.width,
        guard.n_latent,
        guard.latent_type.width,
        n_parts=n_parts,
        masked_inputs=masked,
        elinks=elinks,
    )
    budget["micae_latent_bits"] = budget["total_latent_bits"]  # the key sweep results read
    budget["input_frac"] = int(guard.input_type.frac)
    budget["input_signed"] = bool(guard.input_type.signed)
    return budget
