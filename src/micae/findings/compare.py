"""Findings 1-4: solitary encoders, a frozen pre-trained shared encoder and joint training, side by side.

All three use one dataset config, one seed, the same encoder and decoder specs and the same epochs
per phase. Each is measured in this process: wall time (``time.perf_counter``) and CPU time
(``getrusage`` of this process, every thread) of the whole run (data, training, evaluation, files),
and the wall time of the Keras fits alone. A finished approach leaves a record
(``records/<dataset>_<approach>.json``) that a resumed study reuses when its config is unchanged.
"""

from __future__ import annotations

import csv
import json
import resource
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from micae.findings.config import DatasetStudy
from micae.jsonable import jsonable
from micae.log import info
from micae.sweep.grid import fingerprint
from micae.train.config import RunConfig

MODES = {"frozen": "encoder", "joint": "joint"}
"""The train_run mode of each approach: ``encoder`` pre-trains the shared encoder as a single-input CAE
on every part, freezes it and trains a new decoder (finding 3); ``joint`` trains both from scratch."""


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@contextmanager
def measured(into: dict):
    """Fill ``into`` with ``run_wall_s`` and ``run_cpu_s`` of the block."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    yield
    into["run_wall_s"] = round(time.perf_counter() - wall, 2)
    into["run_cpu_s"] = round(cpu_seconds() - cpu, 2)


def part_mse(x: np.ndarray, recon: np.ndarray) -> list[float]:
    """Test MSE of each part of (samples, N, H, W, C) arrays."""
    return [float(((x[:, i] - recon[:, i]) ** 2).mean()) for i in range(x.shape[1])]


def mean_image_mse(ds) -> list[float]:
    """Per part: the test MSE of predicting that part's mean training image (the no-information baseline)."""
    mean = ds.x_train.mean(axis=0, keepdims=True)
    return part_mse(ds.x_test, np.broadcast_to(mean, ds.x_test.shape))


def _history_rows(path: Path) -> dict:
    """history.csv (phase,epoch,loss,val_loss) -> {phase: {loss: [...], val_loss: [...]}}."""
    out: dict = {}
    if not path.exists():
        return out
    with path.open() as f:
        for row in csv.DictReader(f):
            h = out.setdefault(row["phase"], {"loss": [], "val_loss": []})
            h["loss"].append(float(row["loss"]))
            h["val_loss"].append(float(row["val_loss"]) if row.get("val_loss") else float("nan"))
    return out


def _quality(metrics: dict) -> dict:
    keep = ("mse", "mse_median", "emd_mean", "emd_median")
    return {k: metrics[k] for k in keep if k in metrics}


def _run_params(run: Path, cfg: RunConfig, mode: str) -> dict:
    """Parameter counts of a train_run folder (read back from encoder.h5 and micae.h5)."""
    from micae.models.decoder import build_decoder
    from micae.models.io import load_model

    encoder = load_model(run / "encoder.h5").count_params()
    total = load_model(run / "micae.h5").count_params()
    if mode == "joint":
        return {"total": total, "trainable_final": total, "trained_all": total}
    enc_model = load_model(run / "encoder.h5")
    shape = tuple(enc_model.input_shape[1:])
    cae_dec = build_decoder(cfg.decoder_spec(), int(enc_model.output_shape[-1]), shape).count_params()
    return {"total": total, "trainable_final": total - encoder, "trained_all": total + cae_dec}


def run_mode(study: DatasetStudy, seed: int, approach: str, runs: Path) -> dict:
    """The frozen-encoder or joint approach as one ``micae.train.run.train_run``."""
    from micae.results.metrics import load_metrics
    from micae.train.run import train_run

    mode = MODES[approach]
    cfg = study.run_config(f"{study.label}_{approach}", seed, mode=mode)
    info(f"[{study.label}] {approach}: train_run mode={mode}, {cfg.train['epochs']} epochs per phase")
    seconds: dict = {}
    with measured(seconds):
        run, _ = train_run(cfg, runs, force=True)
    metrics = load_metrics(run)  # the run's metrics.json, typed
    seconds["fit_wall_s"] = round(sum(p.seconds for p in metrics.training.values()), 2)
    return {
        "approach": approach,
        "mode": mode,
        "run": str(run),
        "config": cfg.raw,
        "quality": _quality(metrics.quantized.to_json()),
        "seconds": seconds,
        "params": _run_params(run, cfg, mode),
        "epochs": {k: v.epochs_run for k, v in metrics.training.items()},
        "history": _history_rows(run / "history.csv"),
    }


def run_solitary(study: DatasetStudy, seed: int, runs: Path) -> dict:
    """N solitary encoders + a decoder on their concatenation (``micae.findings.solitary``)."""
    import tensorflow as tf

    from micae.findings import solitary
    from micae.models.io import save_model
    from micae.train.evaluate import public, reconstruction_metrics
    from micae.train.run import load_run_dataset
    from micae.train.shared import remove_leftovers

    cfg = study.run_config(f"{study.label}_solitary", seed, mode="joint")
    work = runs / cfg.name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    seconds: dict = {}
    with measured(seconds):
        tf.keras.utils.set_random_seed(cfg.seed)
        ds = load_run_dataset(cfg)
        info(f"[{study.label}] solitary: {ds.n_parts} encoders, {cfg.train['epochs']} epochs per phase")
        models = solitary.train_solitary(cfg, ds, work)
        concat = solitary.concat_reconstructions(models, ds.x_test)
        own = solitary.own_reconstructions(models, ds.x_test)
        quality = public(reconstruction_metrics(ds.x_test, concat, ds.layout))
        own_quality = public(reconstruction_metrics(ds.x_test, own, ds.layout))
        for i, enc in enumerate(models.encoders):
            save_model(enc, work / f"encoder_{i}.h5")
        remove_leftovers(work)
    seconds["fit_wall_s"] = round(sum(p["seconds"] for p in models.phases.values()), 2)
    return {
        "approach": "solitary",
        "mode": "solitary",
        "run": str(work),
        "config": cfg.raw,
        "quality": _quality(quality),
        "own_quality": _quality(own_quality),
        "part_mse": part_mse(ds.x_test, concat),
        "own_part_mse": part_mse(ds.x_test, own),
        "mean_image_part_mse": mean_image_mse(ds),
        "seconds": seconds,
        "params": solitary.parameter_counts(models),
        "epochs": {k: v["epochs_run"] for k, v in models.phases.items()},
        "history": {
            k: {"loss": v["history"]["loss"], "val_loss": v["history"]["val_loss"]} for k, v in models.phases.items()
        },
        "n_parts": ds.n_parts,
        "layout": ds.layout,
        "test_samples": int(len(ds.x_test)),
    }


def compare_dataset(study: DatasetStudy, seed: int, work: Path) -> dict[str, dict]:
    """Run (or reuse) the three approaches of one dataset; returns {approach: record}."""
    records_dir, runs = work / "records", work / "runs"
    records_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict] = {}
    for approach in ("solitary", "frozen", "joint"):
        mode = "joint" if approach == "solitary" else MODES[approach]
        fp = fingerprint(study.run_config(f"{study.label}_{approach}", seed, mode=mode).training_raw(), approach)
        path = records_dir / f"{study.label}_{approach}.json"
        if path.exists():
            old = json.loads(path.read_text())
            if old.get("fingerprint") == fp:
                info(f"[{study.label}] {approach}: finished earlier, reusing {path.name}")
                out[approach] = old
                continue
        record = run_solitary(study, seed, runs) if approach == "solitary" else run_mode(study, seed, approach, runs)
        record["fingerprint"] = fp
        record["run"] = str(Path(record["run"]).relative_to(work))
        q = record["quality"]
        emd = f", EMD {q['emd_mean']:.3f}" if "emd_mean" in q else ""
        info(
            f"[{study.label}] {approach}: test MSE {q['mse']:.4g}{emd}; {record['seconds']['run_wall_s']:.0f} s wall, "
            f"{record['seconds']['run_cpu_s']:.0f} s CPU"
        )
        path.write_text(json.dumps(jsonable(record), indent=1) + "\n")
        out[approach] = record
    return out
